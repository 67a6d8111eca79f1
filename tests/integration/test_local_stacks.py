# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The local provider's five stacks with real terraform and real podman systemd containers.

The tfvars come from the example model (inventories/local/model) through ``_stack_vars``, renamed
to a test cluster (own pool names, network subnet and bastion port) so that the test never
touches a demo cluster. The stacks are applied in order, re-planned (no change), checked from
outside (systemd, sshd, real ssh through the bastion with a generated key), changed (one more
worker: exactly one create; a pool label: one in-place update) and destroyed (containers and
network gone, data volumes kept).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK_ROOT = REPO / "terraform" / "local"
MODEL_DIR = Path(os.environ.get("APRON_TEST_LOCAL_MODEL", REPO / "inventories" / "local" / "model"))
STACKS = ("state", "network", "tools", "vault", "kubernetes")
IMAGE = "localhost/apron-debian:bookworm"
SUFFIX = uuid.uuid4().hex[:6]
CLUSTER = f"it{SUFFIX}"
ENVIRONMENT = f"it{SUFFIX}"
VPC_CIDR = "10.231.16.0/20"
SSH_USER = "apron"

pytestmark = [pytest.mark.slow]


def _missing() -> str | None:
    if shutil.which("terraform") is None:
        return "terraform is not on PATH"
    if shutil.which("podman") is None:
        return "podman is not installed"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the OpenSSH client (ssh, ssh-keygen) is not installed"
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        return f"base image {IMAGE} is missing (make image)"
    if not MODEL_DIR.is_dir():
        return f"the example model {MODEL_DIR.relative_to(REPO)} does not exist yet"
    try:
        from ansible_collections.apron.cluster.plugins.module_utils import _model, _stack_vars  # noqa: F401
    except ImportError as exc:
        return f"the model / _stack_vars module_utils are not importable: {exc}"
    return None


_REASON = _missing()
if _REASON:
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=_REASON)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd, check=False, **kwargs) -> subprocess.CompletedProcess:
    """A command's result with its output captured; the caller asserts on the return code."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(cmd, check=check, **kwargs)


class Cluster:
    """A test cluster: tfvars per stack, terraform runs with state and data dirs in tmp."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.key = tmp / "id_ed25519"
        self.ssh_port = free_port()
        self.vars: dict[str, dict] = {}
        self.pool_names: dict[str, str] = {}

    # -- tfvars ---------------------------------------------------------------------------
    def build_vars(self):
        from ansible_collections.apron.cluster.plugins.module_utils._model import load_model
        from ansible_collections.apron.cluster.plugins.module_utils._stack_vars import stack_variables

        model = load_model([str(MODEL_DIR)])
        example = next(iter(sorted(model.clusters)))
        public_key = self.key.with_suffix(".pub").read_text().strip()
        for index, stack in enumerate(STACKS):
            remote = {"backend": "local",
                      "stacks": {s: {"path": str(self.state_path(s))} for s in STACKS[:index]}}
            tfvars = stack_variables(model, example, stack, remote_state=remote, base_dir=str(self.tmp))
            self.vars[stack] = self.rename(tfvars, example, public_key)

    def rename(self, tfvars: dict, example: str, public_key: str) -> dict:
        """The example cluster -> the test cluster: names, subnet, port, key."""
        tfvars = copy.deepcopy(tfvars)
        provider = tfvars["apron_provider"]
        provider.update({"ssh_port": self.ssh_port, "ssh_user": SSH_USER, "ssh_key_path": str(self.key)})
        tfvars["apron_environment"]["name"] = ENVIRONMENT
        cluster = tfvars["apron_cluster"]
        cluster["name"] = CLUSTER
        cluster["network"]["vpc_cidr"] = VPC_CIDR
        for zone in cluster["network"].get("zones") or []:
            zone["private_cidr"] = None
            zone["public_cidr"] = None
        pools = {}
        for name, pool in tfvars["apron_instance_pools"].items():
            new = f"{CLUSTER}-{name}"
            self.pool_names[pool["role"]] = new
            pool = dict(pool, name=new, cluster=CLUSTER)
            pools[new] = pool
        tfvars["apron_instance_pools"] = pools
        tfvars["apron_ssh_public_keys"] = [public_key]
        return tfvars

    # -- terraform ------------------------------------------------------------------------
    def state_path(self, stack: str) -> Path:
        return self.tmp / "state" / ENVIRONMENT / CLUSTER / stack / "terraform.tfstate"

    def env(self, stack: str, extra: dict | None = None) -> dict:
        env = dict(os.environ)
        env.update({"TF_DATA_DIR": str(self.tmp / "work" / stack / ".terraform"), "TF_IN_AUTOMATION": "1",
                    "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1"})
        env.pop("APRON_REMOVE_DATA_VOLUMES", None)
        env.update(extra or {})
        return env

    def tfvars_file(self, stack: str, tfvars: dict | None = None) -> Path:
        path = self.tmp / "work" / stack / "terraform.tfvars.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tfvars if tfvars is not None else self.vars[stack], indent=2))
        return path

    def tf(self, stack: str, *args, tfvars: dict | None = None, check=True, var_file=True, extra_env=None):
        work = self.tmp / "work" / stack
        if not (work / ".terraform").is_dir():
            self.state_path(stack).parent.mkdir(parents=True, exist_ok=True)
            init = run(["terraform", f"-chdir={STACK_ROOT / stack}", "init", "-input=false", "-no-color",
                        f"-backend-config=path={self.state_path(stack)}"], env=self.env(stack))
            assert init.returncode == 0, init.stdout + init.stderr
        cmd = ["terraform", f"-chdir={STACK_ROOT / stack}", *args, "-no-color"]
        if var_file:
            cmd.append(f"-var-file={self.tfvars_file(stack, tfvars)}")
        result = run(cmd, env=self.env(stack, extra_env), timeout=900)
        if check:
            assert result.returncode == 0, f"terraform {' '.join(args)} ({stack}) failed:\n{result.stdout}\n{result.stderr}"
        return result

    def apply(self, stack: str, tfvars: dict | None = None):
        return self.tf(stack, "apply", "-input=false", "-auto-approve", tfvars=tfvars)

    def destroy(self, stack: str, check=True, extra_env=None):
        return self.tf(stack, "destroy", "-input=false", "-auto-approve", check=check, extra_env=extra_env)

    def plan_actions(self, stack: str, tfvars: dict | None = None) -> dict[str, list[str]]:
        plan = self.tmp / "work" / stack / "test.tfplan"
        self.tf(stack, "plan", "-input=false", f"-out={plan}", tfvars=tfvars)
        shown = self.tf(stack, "show", "-json", str(plan), var_file=False)
        actions: dict[str, list[str]] = {}
        for change in json.loads(shown.stdout).get("resource_changes", []):
            key = "-".join(change["change"]["actions"])
            if key != "no-op":
                actions.setdefault(key, []).append(change["address"])
        return actions

    def outputs(self, stack: str) -> dict:
        shown = self.tf(stack, "output", "-json", var_file=False)
        return {k: v["value"] for k, v in json.loads(shown.stdout).items()}

    # -- inspection -----------------------------------------------------------------------
    def instances(self) -> dict:
        result = {}
        for stack in ("tools", "vault", "kubernetes"):
            result.update(self.outputs(stack).get("instances") or {})
        return result

    def ssh(self, address: str, command: str, bastion=False) -> subprocess.CompletedProcess:
        opts = ["-i", str(self.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                # The stacks record every instance's host keys next to the admin key: no TOFU.
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.tmp / 'known_hosts'}",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]
        jump = ["ssh", *opts, "-p", str(self.ssh_port), "-W", "%h:%p", f"{SSH_USER}@127.0.0.1"]
        if bastion:
            cmd = ["ssh", *opts, "-p", str(self.ssh_port), f"{SSH_USER}@127.0.0.1", command]
        else:
            cmd = ["ssh", *opts, "-o", f"ProxyCommand={' '.join(jump)}", f"{SSH_USER}@{address}", command]
        return run(cmd, timeout=60)


def podman_names(kind: str) -> set[str]:
    if kind == "container":
        out = run(["podman", "ps", "-a", "--filter", f"label=apron.io/cluster={CLUSTER}", "--format", "{{.Names}}"])
    elif kind == "volume":
        out = run(["podman", "volume", "ls", "--filter", f"label=apron.io/cluster={CLUSTER}", "--format", "{{.Name}}"])
    else:
        out = run(["podman", "network", "ls", "--filter", f"label=apron.io/cluster={CLUSTER}", "--format", "{{.Name}}"])
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local-stacks")
    c = Cluster(tmp)
    keygen = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "apron-it", "-f", str(c.key)])
    assert keygen.returncode == 0, keygen.stderr
    c.build_vars()
    try:
        yield c
    finally:
        # Whatever happened: destroy in reverse order, then remove what the test created.
        for stack in reversed(STACKS):
            if c.state_path(stack).exists():
                c.destroy(stack, check=False)
        for name in podman_names("container"):
            run(["podman", "rm", "-f", "-t", "5", name])
        for name in podman_names("network"):
            run(["podman", "network", "rm", name])
        for name in podman_names("volume"):
            run(["podman", "volume", "rm", name])


def test_apply_all_stacks_in_order(cluster):
    for stack in STACKS:
        cluster.apply(stack)
    network = cluster.outputs("network")["network"]
    assert network["network_name"] == f"apron-{CLUSTER}"
    assert network["cidr"] == VPC_CIDR
    assert set(network["subnets"]) == set(network["zones"])
    assert cluster.outputs("state")["state"]["backend"] == "local"

    instances = cluster.instances()
    expected = {f"{pool['name']}-{i}"
                for stack in ("tools", "vault", "kubernetes")
                for pool in cluster.vars[stack]["apron_instance_pools"].values()
                for i in range(pool["count"])}
    assert set(instances) == expected
    keys = {"name", "environment", "cluster", "pool", "role", "zone", "index", "private_address",
            "public_address", "ssh_host", "ssh_port", "data_mount"}
    addresses = set()
    for name, inst in instances.items():
        assert set(inst) == keys, name
        assert inst["name"] == name and inst["cluster"] == CLUSTER and inst["environment"] == ENVIRONMENT
        assert inst["public_address"] is None
        assert inst["zone"] in network["zones"]
        addresses.add(inst["private_address"])
        assert inst["data_mount"] == {"etcd": "/var/lib/apron/etcd", "vault": "/var/lib/apron/vault"}.get(inst["role"]), name
        if inst["role"] == "bastion":
            assert (inst["ssh_host"], inst["ssh_port"]) == ("127.0.0.1", cluster.ssh_port)
        else:
            assert inst["ssh_host"] is None and inst["ssh_port"] is None
    assert len(addresses) == len(instances), "private addresses must be unique"
    assert podman_names("container") == set(instances)
    assert podman_names("network") == {f"apron-{CLUSTER}"}


def test_replan_is_a_no_op(cluster):
    for stack in STACKS:
        result = cluster.tf(stack, "plan", "-input=false", "-detailed-exitcode", check=False)
        assert result.returncode == 0, f"{stack} is not converged:\n{result.stdout}\n{result.stderr}"


def test_containers_run_systemd_sshd_and_carry_labels(cluster):
    for name, inst in cluster.instances().items():
        state = run(["podman", "exec", name, "systemctl", "is-system-running"])
        assert state.stdout.strip() == "running", f"{name}: {state.stdout} {state.stderr}"
        sshd = run(["podman", "exec", name, "systemctl", "is-active", "ssh"])
        assert sshd.stdout.strip() == "active", name
        labels = json.loads(run(["podman", "inspect", "--format", "{{json .Config.Labels}}", name]).stdout)
        for key in ("environment", "cluster", "pool", "role", "zone"):
            assert labels[f"apron.io/{key}"] == str(inst[key]), (name, key)
        hostname = run(["podman", "exec", name, "hostname"])
        assert hostname.stdout.strip() == name
    with socket.create_connection(("127.0.0.1", cluster.ssh_port), timeout=5) as sock:
        assert sock.recv(64).startswith(b"SSH-2.0-")


def test_ssh_through_the_bastion(cluster):
    instances = cluster.instances()
    bastion = next(i for i in instances.values() if i["role"] == "bastion")
    direct = cluster.ssh(bastion["private_address"], "hostname && sudo -n true && echo sudo-ok", bastion=True)
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.split() == [bastion["name"], "sudo-ok"]
    etcd = next(i for i in instances.values() if i["role"] == "etcd")
    hop = cluster.ssh(etcd["private_address"], "hostname && sudo -n true && echo sudo-ok && findmnt -no TARGET /var/lib/apron/etcd")
    assert hop.returncode == 0, hop.stderr
    assert hop.stdout.split() == [etcd["name"], "sudo-ok", "/var/lib/apron/etcd"]
    # Root and password logins are off.
    root = run(["ssh", "-i", str(cluster.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={cluster.tmp / 'known_hosts'}", "-p", str(cluster.ssh_port),
                "root@127.0.0.1", "true"], timeout=30)
    assert root.returncode != 0
    assert "Permission denied" in root.stderr, root.stderr


def test_known_hosts_hold_every_instance(cluster):
    known = (cluster.tmp / "known_hosts").read_text().splitlines()
    names = {line.split()[0] for line in known}
    for inst in cluster.instances().values():
        assert inst["private_address"] in names, inst["name"]
        if inst["role"] == "bastion":
            assert f"[127.0.0.1]:{cluster.ssh_port}" in names
        key = run(["podman", "exec", inst["name"], "cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout.split()[1]
        assert f"{inst['private_address']} ssh-ed25519 {key}" in known, inst["name"]


def test_create_is_idempotent_when_state_is_lost(cluster):
    """The creation script keeps a running container with the same spec (e.g. state lost)."""
    name = next(n for n, i in cluster.instances().items() if i["role"] == "master")
    before = run(["podman", "inspect", "--format", "{{.Id}}", name]).stdout.strip()
    # -backup keeps terraform's timestamped backup out of the stack's source directory.
    cluster.tf("kubernetes", "state", "rm", f"-backup={cluster.tmp / 'state-rm.backup'}",
               f'module.instances.terraform_data.instance["{name}"]', var_file=False)
    result = cluster.apply("kubernetes")
    assert "already exists with the same spec" in result.stdout
    assert run(["podman", "inspect", "--format", "{{.Id}}", name]).stdout.strip() == before
    assert cluster.tf("kubernetes", "plan", "-detailed-exitcode", check=False).returncode == 0


def test_label_change_updates_in_place_and_new_worker_is_one_create(cluster):
    tfvars = copy.deepcopy(cluster.vars["kubernetes"])
    master_pool = cluster.pool_names["master"]
    tfvars["apron_instance_pools"][master_pool]["labels"] = {"apron.io/test": "changed"}
    actions = cluster.plan_actions("kubernetes", tfvars)
    assert set(actions) == {"update"}, actions
    assert all(master_pool in address for address in actions["update"]), actions

    worker_pool = cluster.pool_names["worker"]
    tfvars = copy.deepcopy(cluster.vars["kubernetes"])
    count = tfvars["apron_instance_pools"][worker_pool]["count"]
    tfvars["apron_instance_pools"][worker_pool]["count"] = count + 1
    actions = cluster.plan_actions("kubernetes", tfvars)
    assert actions == {"create": [f'module.instances.terraform_data.instance["{worker_pool}-{count}"]']}
    cluster.apply("kubernetes", tfvars)
    cluster.vars["kubernetes"] = tfvars
    assert f"{worker_pool}-{count}" in podman_names("container")
    assert cluster.tf("kubernetes", "plan", "-detailed-exitcode", check=False).returncode == 0
    new = cluster.instances()[f"{worker_pool}-{count}"]
    hop = cluster.ssh(new["private_address"], "hostname")
    assert hop.returncode == 0 and hop.stdout.strip() == new["name"], hop.stderr


def test_unknown_zone_is_a_clear_plan_error(cluster):
    tfvars = copy.deepcopy(cluster.vars["kubernetes"])
    tfvars["apron_instance_pools"][cluster.pool_names["worker"]]["zones"] = ["nowhere-1"]
    result = cluster.tf("kubernetes", "plan", "-input=false", tfvars=tfvars, check=False)
    assert result.returncode != 0
    assert "zone 'nowhere-1' is not a zone of the cluster network" in " ".join(result.stderr.split())


def test_network_state_without_output_is_a_clear_plan_error(cluster):
    """A network state without its output (never applied, or destroyed): the plan names the cause."""
    tfvars = copy.deepcopy(cluster.vars["kubernetes"])
    tfvars["apron_remote_state"]["stacks"]["network"] = {"path": str(cluster.state_path("state"))}
    result = cluster.tf("kubernetes", "plan", "-input=false", tfvars=tfvars, check=False)
    assert result.returncode != 0
    assert "apply the network stack of cluster" in " ".join(result.stderr.split()), result.stderr


def test_network_refuses_destroy_while_instances_exist(cluster):
    result = cluster.tf("network", "plan", "-destroy", "-input=false", check=False)
    assert result.returncode == 0  # planning is fine; the script guards the real destroy
    script = STACK_ROOT / "scripts" / "podman-network.sh"
    guarded = run([str(script), "destroy"], env={**os.environ, "APRON_NETWORK": f"apron-{CLUSTER}",
                                                 "APRON_CLUSTER": CLUSTER})
    assert guarded.returncode != 0
    assert "still has containers attached" in guarded.stderr
    assert podman_names("network") == {f"apron-{CLUSTER}"}


def test_destroy_removes_containers_and_network_keeps_data(cluster):
    stateful = {f"{n}-data" for n, i in cluster.instances().items() if i["role"] in ("etcd", "vault")}
    assert stateful, "the example model has etcd/vault instances"
    assert podman_names("volume") == stateful
    etcd = sorted(n for n, i in cluster.instances().items() if i["role"] == "etcd")[0]
    marker = run(["podman", "exec", etcd, "sh", "-c", f"echo {SUFFIX} > /var/lib/apron/etcd/apron-test-marker"])
    assert marker.returncode == 0, marker.stderr
    for stack in reversed(STACKS):
        cluster.destroy(stack)
    assert podman_names("container") == set()
    assert podman_names("network") == set()
    assert podman_names("volume") == stateful, "data volumes survive a destroy unless APRON_REMOVE_DATA_VOLUMES=yes"
    assert (cluster.tmp / "known_hosts").read_text().strip() == "", "destroy removes the host keys it recorded"


def test_reapply_reattaches_data_and_explicit_removal(cluster):
    """After a full destroy, a new apply finds the kept volumes; APRON_REMOVE_DATA_VOLUMES=yes removes them."""
    cluster.apply("network")
    cluster.apply("kubernetes")
    etcd = sorted(n for n, i in cluster.outputs("kubernetes")["instances"].items() if i["role"] == "etcd")[0]
    marker = run(["podman", "exec", etcd, "cat", "/var/lib/apron/etcd/apron-test-marker"])
    assert marker.stdout.strip() == SUFFIX, "the etcd data volume was re-attached with its data"
    etcd_volumes = {v for v in podman_names("volume") if "-etcd-" in v}
    assert etcd_volumes
    cluster.destroy("kubernetes", extra_env={"APRON_REMOVE_DATA_VOLUMES": "yes"})
    assert not etcd_volumes & podman_names("volume"), "APRON_REMOVE_DATA_VOLUMES=yes removes the data volumes"
    assert podman_names("volume"), "the vault stack's volume (not destroyed here) is untouched"
    cluster.destroy("network")
    assert podman_names("network") == set()
