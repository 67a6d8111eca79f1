# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Testinfra checks for apron.cluster.bastion.

The SSH tests are real logins from the test host (the Molecule controller) to the bastion's
address on the scenario's podman network, through the bastion's nftables firewall: a key login
works (also as a ProxyJump hop), password and root logins are refused although the accounts have
a valid password / an authorised key, and a second container on the same network (not an admin
CIDR) cannot even open the SSH port.
"""

import crypt
import os
import re
import shutil
import subprocess

import pytest
import testinfra.utils.ansible_runner

# The Molecule instances are podman containers: testinfra's podman backend (podman exec) is much
# faster than going through ansible for every command.
testinfra_hosts = [
    f"podman://{name}"
    for name in testinfra.utils.ansible_runner.AnsibleRunner(
        os.environ["MOLECULE_INVENTORY_FILE"]
    ).get_hosts("all")
]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
ALICE_KEY = os.path.join(EPHEMERAL, "id_alice")
ROOT_KEY = os.path.join(EPHEMERAL, "id_root")
PASSWORD = "correct-horse-battery"  # the fixture password set by prepare.yml
NETWORK = "apron-molecule-bastion"
IMAGE = "localhost/apron-debian:bookworm"

SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
    "-o", "ControlMaster=no",
    "-o", "ControlPath=none",
]

MODERN_CIPHERS = [
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
]
MODERN_KEX = [
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
]
MODERN_MACS = [
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "umac-128-etm@openssh.com",
]


def _ssh(address, user, *command, key=None, password=None, extra=()):
    args = ["ssh", *SSH_OPTS, *extra]
    if key:
        args += ["-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                 "-o", "PreferredAuthentications=publickey"]
    if password is not None:
        args = ["sshpass", "-p", password, *args, "-o", "PubkeyAuthentication=no",
                "-o", "PreferredAuthentications=password,keyboard-interactive",
                "-o", "NumberOfPasswordPrompts=1"]
    args += [f"{user}@{address}", *command]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def address(host):
    out = host.check_output("ip -4 -o addr show dev eth0")
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    assert match, out
    return match.group(1)


@pytest.fixture(scope="module")
def sshd_t(host):
    """The effective sshd configuration: `sshd -T` as a dict of lower-case keys."""
    out = host.check_output("sshd -T")
    conf = {}
    for line in out.splitlines():
        key, _sep, value = line.partition(" ")
        conf[key] = value
    return conf


# --- sshd configuration ----------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [
    ("permitrootlogin", "no"),
    ("passwordauthentication", "no"),
    ("kbdinteractiveauthentication", "no"),
    ("permitemptypasswords", "no"),
    ("pubkeyauthentication", "yes"),
    ("authenticationmethods", "publickey"),
    ("hostbasedauthentication", "no"),
    ("allowtcpforwarding", "local"),
    ("allowstreamlocalforwarding", "no"),
    ("x11forwarding", "no"),
    ("allowagentforwarding", "no"),
    ("permittunnel", "no"),
    ("gatewayports", "no"),
    ("permituserenvironment", "no"),
    ("logingracetime", "30"),
    ("maxauthtries", "3"),
    ("maxsessions", "10"),
    ("clientaliveinterval", "300"),
    ("clientalivecountmax", "2"),
    ("loglevel", "VERBOSE"),
    ("allowgroups", "apron-admins"),
])
def test_sshd_effective_setting(sshd_t, key, value):
    assert sshd_t.get(key) == value, f"sshd -T: {key} {sshd_t.get(key)!r}"


def test_sshd_only_modern_algorithms(sshd_t):
    assert sshd_t["ciphers"].split(",") == MODERN_CIPHERS
    assert sshd_t["kexalgorithms"].split(",") == MODERN_KEX
    assert sshd_t["macs"].split(",") == MODERN_MACS
    for weak in ("cbc", "3des", "arcfour"):
        assert weak not in sshd_t["ciphers"]
    assert "sha1" not in sshd_t["kexalgorithms"]
    assert "hmac-sha1" not in sshd_t["macs"]
    assert "ssh-rsa," not in sshd_t["hostkeyalgorithms"] + ","


def test_sshd_config_file(host):
    f = host.file("/etc/ssh/sshd_config")
    assert f.user == "root" and f.group == "root"
    assert f.mode == 0o600
    # No drop-in can override the hardened settings.
    assert not re.search(r"(?im)^\s*Include\b", f.content_string)
    assert host.run("sshd -t").rc == 0


def test_sshd_running(host):
    ssh = host.service("ssh")
    assert ssh.is_running
    assert ssh.is_enabled


# --- real logins from the test host -----------------------------------------------------------

def test_key_login_succeeds(address):
    result = _ssh(address, "alice", "id", "-un", key=ALICE_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alice"


def test_proxyjump_through_the_bastion(address):
    """ProxyJump = a direct-tcpip channel, allowed by AllowTcpForwarding local."""
    jump = " ".join(["ssh", *SSH_OPTS, "-i", ALICE_KEY, "-o", "IdentitiesOnly=yes",
                     "-o", "BatchMode=yes", "-W", "%h:%p", f"alice@{address}"])
    result = _ssh("127.0.0.1", "alice", "echo", "jumped", key=ALICE_KEY,
                  extra=("-o", f"ProxyCommand={jump}"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jumped"


def test_remote_forwarding_refused(address):
    result = _ssh(address, "alice", "true", key=ALICE_KEY,
                  extra=("-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:40022:127.0.0.1:22"))
    assert result.returncode != 0
    assert "forwarding failed" in result.stderr.lower() or "administratively prohibited" in result.stderr.lower(), result.stderr


def test_agent_forwarding_refused(address):
    result = _ssh(address, "alice", "echo ${SSH_AUTH_SOCK:-none}", key=ALICE_KEY, extra=("-A",))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


def test_fixture_password_is_real(host):
    """The refused password login below is meaningful: alice and root do have this password."""
    for user in ("alice", "root"):
        hashed = host.check_output(f"getent shadow {user}").split(":")[1]
        assert hashed.startswith("$6$")
        assert crypt.crypt(PASSWORD, hashed) == hashed, user


@pytest.mark.skipif(shutil.which("sshpass") is None, reason="sshpass is not installed on the test host")
@pytest.mark.parametrize("user", ["alice", "root"])
def test_password_login_refused(address, user):
    result = _ssh(address, user, "true", password=PASSWORD)
    assert result.returncode != 0
    assert "Permission denied (publickey)" in result.stderr, result.stderr


def test_root_key_login_refused(host, address):
    # root has this key in /root/.ssh/authorized_keys (prepare.yml): only PermitRootLogin stops it.
    pub = open(ROOT_KEY + ".pub", encoding="utf-8").read().split()[1]
    assert pub in host.file("/root/.ssh/authorized_keys").content_string
    result = _ssh(address, "root", "true", key=ROOT_KEY)
    assert result.returncode == 255
    assert "Permission denied" in result.stderr, result.stderr


def test_login_is_audited(host, address):
    assert _ssh(address, "alice", "true", key=ALICE_KEY).returncode == 0
    fingerprint = subprocess.run(["ssh-keygen", "-lf", ALICE_KEY + ".pub"], capture_output=True,
                                 text=True, check=True).stdout.split()[1]
    log = host.check_output("journalctl -u ssh --no-pager -o cat")
    assert re.search(rf"Accepted publickey for alice from \S+ port \d+ ssh2: ED25519 {re.escape(fingerprint)}", log), log[-2000:]
    assert "Failed password" not in log  # passwords never even reach the password check


def test_admin_sudo_is_recorded(host, address):
    result = _ssh(address, "alice", "sudo", "-n", "id", "-u", key=ALICE_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
    assert host.run("test -n \"$(find /var/log/sudo-io/alice -name log -type f)\"").rc == 0


# --- users, keys, sudo ------------------------------------------------------------------------

def test_admin_user_and_keys(host):
    alice = host.user("alice")
    assert alice.exists
    assert "apron-admins" in alice.groups
    ssh_dir = host.file("/home/alice/.ssh")
    assert ssh_dir.mode == 0o700 and ssh_dir.user == "alice"
    keys = host.file("/home/alice/.ssh/authorized_keys")
    assert keys.mode == 0o600
    assert keys.user == "alice" and keys.group == "alice"
    pub = open(ALICE_KEY + ".pub", encoding="utf-8").read().split()[1]
    lines = [line for line in keys.content_string.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1 and pub in lines[0]
    assert not host.user("mallory").exists


def test_sudoers(host):
    f = host.file("/etc/sudoers.d/apron-bastion")
    assert f.mode == 0o440
    assert f.user == "root" and f.group == "root"
    assert "%apron-admins ALL=(ALL:ALL) NOPASSWD: ALL" in f.content_string
    assert host.run("visudo -c").rc == 0


# --- firewall ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nft_capable(host):
    """apron-bastion-1 has CAP_NET_ADMIN, apron-bastion-2 deliberately has not."""
    return host.run("nft list tables").rc == 0


def test_capabilities_as_configured(host, nft_capable):
    name = host.backend.get_hostname()
    assert nft_capable == name.endswith("-1"), name


def test_nftables_ruleset_file(host, nft_capable):
    f = host.file("/etc/nftables.conf")
    assert f.mode == 0o700
    content = f.content_string
    assert "table inet apron_bastion" in content
    assert "policy drop" in content
    assert "ip saddr @admin_v4" in content and "ip6 saddr @admin_v6" in content
    if nft_capable:
        assert host.run("nft -c -f /etc/nftables.conf").rc == 0


def test_nftables_not_applied_without_capability(host, nft_capable):
    if nft_capable:
        pytest.skip("this host may manage nftables")
    # Rendered (above) but left alone: the service is not active and has not failed.
    assert host.run("systemctl is-active --quiet nftables").rc != 0
    assert host.run("systemctl is-failed --quiet nftables").rc != 0


def test_nftables_live_ruleset(host, nft_capable):
    if not nft_capable:
        pytest.skip("no CAP_NET_ADMIN on this host: the ruleset cannot be applied")
    gateway = host.check_output("ip -4 route show default").split()[2]
    live = host.check_output("nft list table inet apron_bastion")
    assert re.search(r"hook input priority filter; policy drop;", live), live
    assert re.search(r"set admin_v4 \{[^}]*elements = \{ " + re.escape(gateway), live), live
    assert "fd00:213:47::/64" in live
    assert re.search(r"tcp dport 22 ip saddr @admin_v4 ct state new accept", live), live
    assert host.service("nftables").is_enabled


def test_outsider_reaches_ssh_only_without_firewall(address, nft_capable):
    """A container on the same network, not in an admin CIDR, cannot open port 22 of the
    firewalled bastion — and can on the one without CAP_NET_ADMIN (so the probe itself works)."""
    probe = (f"timeout 5 bash -c '</dev/tcp/{address}/22' && echo open || echo closed")
    result = subprocess.run(
        ["podman", "run", "--rm", "--network", NETWORK,
         IMAGE, "bash", "-c", probe],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("closed" if nft_capable else "open")


# --- time sync, updates, audit ----------------------------------------------------------------

def test_chrony(host):
    conf = host.file("/etc/chrony/chrony.conf")
    assert "pool 2.debian.pool.ntp.org iburst" in conf.content_string
    assert host.run("chronyd -p -f /etc/chrony/chrony.conf").rc == 0
    assert host.service("chrony").is_enabled
    if host.run("systemd-detect-virt --container").rc == 0:
        # Skipped (not failed) by ConditionCapability=CAP_SYS_TIME.
        state = host.check_output("systemctl show chrony -p ActiveState -p ConditionResult")
        assert "ActiveState=inactive" in state and "ConditionResult=no" in state, state
    else:
        assert host.service("chrony").is_running


def test_unattended_upgrades_security_only(host):
    assert host.package("unattended-upgrades").is_installed
    periodic = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    assert 'APT::Periodic::Update-Package-Lists "1";' in periodic
    origins = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    patterns = re.findall(r'Unattended-Upgrade::Origins-Pattern:: "([^"]*)";', origins)
    assert patterns, origins
    assert all("label=Debian-Security" in p for p in patterns), patterns
    assert host.run("apt-config dump Unattended-Upgrade::Allowed-Origins").stdout.strip() == ""


def test_audit(host):
    assert host.file("/var/log/journal").is_directory
    assert "Storage=persistent" in host.file("/etc/systemd/journald.conf.d/10-apron-bastion.conf").content_string
    rules = host.file("/etc/audit/rules.d/50-apron-bastion.rules")
    assert rules.mode == 0o600
    assert "-k apron_exec" in rules.content_string
    assert host.run("systemctl is-failed --quiet auditd").rc != 0  # skipped in a container, not failed


def test_no_failed_units(host):
    assert host.check_output("systemctl list-units --failed --no-legend --plain") == ""
