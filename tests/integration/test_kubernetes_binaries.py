"""The `binaries` entry point of apron.cluster.kubernetes through ansible-playbook against
localhost (connection local, a temporary kubernetes_bin_dir and controller cache).

Every refusal changes nothing (the bin dir is not even created). No tarball here carries anything
named like a Kubernetes binary, and no Kubernetes binary is imitated: the install path is exercised
with the real node tarball when APRON_KUBERNETES_ARTIFACTS_DIR supplies it, and the install action
(diff, check mode, idempotence) with copies of /bin/true under neutral names."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKER = ["kubelet", "kube-proxy", "kubectl"]
NODE_TARBALL = "kubernetes/v1.36.0/kubernetes-node-linux-amd64.tar.gz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ansible-playbook") is None and not (REPO / ".venv/bin/ansible-playbook").exists(),
                       reason="ansible-playbook is not installed (make venv)"),
]

PLAY = """
- name: The binaries entry point
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install the Kubernetes binaries
      ansible.builtin.include_role:
        name: apron.cluster.kubernetes
        tasks_from: binaries
      vars:
        kubernetes_binaries_wanted: {wanted}
    - name: Record the fact
      ansible.builtin.copy:
        content: "{{{{ {{'missing': kubernetes_binaries_missing}} | to_json }}}}"
        dest: "{result}"
        mode: "0644"
      check_mode: false
"""


def playbook(tmp_path, extra, wanted=None, check=False, diff=False):
    """Runs the entry point; returns (CompletedProcess, recorded fact or None)."""
    exe = shutil.which("ansible-playbook") or str(REPO / ".venv/bin/ansible-playbook")
    result = tmp_path / "result.json"
    if result.exists():
        result.unlink()
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(wanted=json.dumps(wanted or WORKER), result=result))
    extra = dict({"kubernetes_bin_dir": str(tmp_path / "bin"), "kubernetes_artifacts_cache_dir": str(tmp_path / "cache"),
                  "ansible_python_interpreter": "{{ ansible_playbook_python }}"}, **extra)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".collections"))
    cmd = [exe, "-i", "localhost,", str(play), "-e", json.dumps(extra)]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600, check=False)
    proc.output = proc.stdout + proc.stderr
    return proc, (json.loads(result.read_text()) if result.exists() else None)


def flat(text):
    """The output with the YAML callback's line wrapping undone."""
    return " ".join(text.split())


def nothing_changed(tmp_path):
    """No bin dir created on the host, no file in the controller's cache."""
    assert not (tmp_path / "bin").exists()
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_offline_without_the_tarball_is_refused_before_any_change(tmp_path):
    (tmp_path / "artifacts").mkdir()
    proc, fact = playbook(tmp_path, {"kubernetes_artifacts_source": "offline",
                                     "kubernetes_artifacts_dir": str(tmp_path / "artifacts")})
    assert proc.returncode != 0 and fact is None
    assert ("kubernetes_artifacts_dir: %s/%s does not exist on the controller" % (tmp_path / "artifacts", NODE_TARBALL)
            in flat(proc.output)), proc.output
    assert "Nothing was installed." in flat(proc.output)
    nothing_changed(tmp_path)


def test_offline_file_with_the_wrong_checksum_is_refused(tmp_path):
    art = tmp_path / "artifacts"
    (art / NODE_TARBALL).parent.mkdir(parents=True)
    (art / NODE_TARBALL).write_bytes(b"a truncated download, not the upstream file\n")
    proc, fact = playbook(tmp_path, {"kubernetes_artifacts_source": "offline", "kubernetes_artifacts_dir": str(art)})
    out = flat(proc.output)
    assert proc.returncode != 0 and fact is None
    assert "kubernetes_artifacts_dir: %s has sha512:" % (art / NODE_TARBALL) in out, proc.output
    assert "(published upstream, recorded in the release manifest)" in out
    nothing_changed(tmp_path)
    # against a checksum the user supplied, the refusal names that variable
    proc, _fact = playbook(tmp_path, {"kubernetes_artifacts_source": "offline", "kubernetes_artifacts_dir": str(art),
                                      "kubernetes_artifact_overrides": {"kubernetes-1.36.0": {"checksums": {
                                          "node-amd64": "sha512:" + "0" * 128}}}})
    assert "(your kubernetes_artifact_overrides.kubernetes-1.36.0.checksums.node-amd64)" in flat(proc.output), proc.output
    nothing_changed(tmp_path)


def test_unsupported_version_and_missing_checksum_are_refused(tmp_path):
    proc, _fact = playbook(tmp_path, {"kubernetes_version": "1.34.3", "kubernetes_artifacts_source": "offline",
                                      "kubernetes_artifacts_dir": str(tmp_path)})
    assert "kubernetes_version: Kubernetes 1.34.3 is not supported (supported: 1.35.x, 1.36.x, 1.37.x" in flat(proc.output)
    proc, _fact = playbook(tmp_path, {"kubernetes_version": "1.37.0", "kubernetes_artifacts_source": "offline",
                                      "kubernetes_artifacts_dir": str(tmp_path)})
    assert "Set kubernetes_artifact_overrides.kubernetes-1.37.0.checksums.node-amd64" in flat(proc.output), proc.output
    nothing_changed(tmp_path)


def test_url_without_internet_says_use_offline(tmp_path):
    proc, _fact = playbook(tmp_path, {"kubernetes_artifacts_source": "url"})
    if proc.returncode == 0:
        pytest.skip("dl.k8s.io was reachable: the url source installed the binaries (nothing to refuse)")
    out = flat(proc.output)
    assert "could not download https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz: " in out, proc.output
    assert "use kubernetes_artifacts_source=offline with kubernetes_artifacts_dir" in out
    nothing_changed(tmp_path)


def test_preinstalled_stage_lists_the_missing_and_goes_on(tmp_path):
    proc, fact = playbook(tmp_path, {"kubernetes_artifacts_source": "preinstalled", "kubernetes_mode": "stage"})
    assert proc.returncode == 0, proc.output
    assert fact == {"missing": WORKER}
    assert "[WARNING]: staged without: kubelet, kube-proxy, kubectl" in proc.output
    assert "changed=1" in proc.output  # only the test's own record task


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the real kubectl client on PATH")
def test_preinstalled_stage_counts_a_present_binary(tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copy2(shutil.which("kubectl"), tmp_path / "bin" / "kubectl")   # the real upstream client
    proc, fact = playbook(tmp_path, {"kubernetes_artifacts_source": "preinstalled", "kubernetes_mode": "stage"})
    assert proc.returncode == 0, proc.output
    assert fact == {"missing": ["kubelet", "kube-proxy"]}


def test_preinstalled_start_is_refused_naming_the_files(tmp_path):
    proc, fact = playbook(tmp_path, {"kubernetes_artifacts_source": "preinstalled", "kubernetes_mode": "start"})
    out = flat(proc.output)
    assert proc.returncode != 0 and fact is None
    assert ("kubernetes_mode=start needs the Kubernetes 1.36.0 binaries, and these are missing (not executable): "
            "{0}/kubelet, {0}/kube-proxy, {0}/kubectl".format(tmp_path / "bin")) in out, proc.output
    assert "kubernetes_artifacts_source=offline with kubernetes_artifacts_dir" in out
    assert not (tmp_path / "bin").exists()


INSTALL = """
- name: The install action
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install
      apron.cluster.kubernetes_binaries:
        binaries: {binaries}
        bin_dir: {bin_dir}
        version: 1.36.0
"""


def test_install_action_diff_check_and_idempotence(tmp_path):
    """The action that copies the verified binaries, with neutral names (copies of /bin/true, /bin/false)."""
    src = tmp_path / "src"
    src.mkdir()
    binaries = {}
    for name, real in (("apron-test-a", "/bin/true"), ("apron-test-b", "/bin/false")):
        shutil.copy2(real, src / name)
        binaries[name] = {"src": str(src / name), "sha256": hashlib.sha256((src / name).read_bytes()).hexdigest()}
    play = tmp_path / "install.yml"
    play.write_text(INSTALL.format(binaries=json.dumps(binaries), bin_dir=tmp_path / "bin"))
    exe = shutil.which("ansible-playbook") or str(REPO / ".venv/bin/ansible-playbook")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".collections"))

    def run(*flags):
        proc = subprocess.run([exe, "-i", "localhost,", str(play), "-e", "ansible_python_interpreter=" + sys.executable]
                              + list(flags), env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    (tmp_path / "bin").mkdir()
    out = run("--check", "--diff")
    assert "-apron-test-a: absent" in out and "+apron-test-a: sha256:%s 0755 root:root (Kubernetes 1.36.0)" % (
        binaries["apron-test-a"]["sha256"]) in out
    assert "changed=1" in out and not list((tmp_path / "bin").iterdir())
    assert "changed=1" in run("--diff")
    for name in binaries:
        st = (tmp_path / "bin" / name).stat()
        assert oct(st.st_mode & 0o777) == "0o755" and st.st_uid == 0 and st.st_gid == 0
    assert "changed=0" in run("--diff") and "changed=0" in run("--check", "--diff")
    # another version of one binary (other content) is replaced; a changed mode is fixed
    shutil.copy2("/bin/false", tmp_path / "bin" / "apron-test-a")
    (tmp_path / "bin" / "apron-test-b").chmod(0o700)
    out = run("--check", "--diff")
    assert "-apron-test-a: sha256:%s 0755 root:root" % hashlib.sha256(Path("/bin/false").read_bytes()).hexdigest() in out
    assert "-apron-test-b: sha256:%s 0700 root:root" % binaries["apron-test-b"]["sha256"] in out
    run()
    assert (tmp_path / "bin" / "apron-test-a").read_bytes() == Path("/bin/true").read_bytes()
    assert "changed=0" in run()


def supplied_artifacts_dir():
    directory = os.environ.get("APRON_KUBERNETES_ARTIFACTS_DIR", "")
    return directory if directory and (Path(directory) / NODE_TARBALL).is_file() else None


@pytest.mark.skipif(supplied_artifacts_dir() is None,
                    reason="needs kubernetes-node-linux-amd64.tar.gz v1.36.0 (set APRON_KUBERNETES_ARTIFACTS_DIR)")
def test_offline_install_from_the_real_node_tarball(tmp_path):
    extra = {"kubernetes_artifacts_source": "offline", "kubernetes_artifacts_dir": supplied_artifacts_dir(),
             "kubernetes_mode": "start"}
    proc, fact = playbook(tmp_path, extra, check=True, diff=True)
    assert proc.returncode == 0, proc.output
    assert fact == {"missing": []}                          # what the install task would install counts in --check
    assert "-kubelet: absent" in proc.output and not (tmp_path / "bin").exists()
    proc, fact = playbook(tmp_path, extra, diff=True)
    assert proc.returncode == 0 and fact == {"missing": []}, proc.output
    for name in WORKER:
        st = (tmp_path / "bin" / name).stat()
        assert oct(st.st_mode & 0o777) == "0o755" and st.st_uid == 0
    version = subprocess.run([str(tmp_path / "bin" / "kubelet"), "--version"], capture_output=True, text=True,
                             timeout=60, check=False)
    assert "v1.36.0" in version.stdout
    for flags in ({}, {"check": True, "diff": True}):       # second run and check: nothing changes or downloads
        proc, fact = playbook(tmp_path, extra, **flags)
        assert proc.returncode == 0 and "changed=1 " in proc.output, proc.output  # the test's own record task only
