"""Pip bootstrap for ansible-test on machines that cannot reach ci-files.testing.ansible.com.

ansible-test creates its sanity virtual environments without pip and then runs a cached
``get-pip.py`` to install the pinned pip. That download is unreachable here, so
scripts/bootstrap.sh places this file in ansible-test's cache instead. It does what
get-pip.py does, with the pip that ships inside Python (ensurepip) as the starting point:
install the requested packages (pip==X, and setuptools/wheel unless told not to).
"""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
if "--no-setuptools" not in sys.argv:
    args.append("setuptools")
if "--no-wheel" not in sys.argv:
    args.append("wheel")
# In a child process: ensurepip.bootstrap() would set PIP_CONFIG_FILE=/dev/null in this one,
# hiding the machine's pip configuration (index, certificates) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
