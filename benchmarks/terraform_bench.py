# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Wall time of a no-change run over the five stacks: apron.cluster.terraform_stack vs community.general.terraform.

Both run the same stacks, the same state files and the same variables (community.general.terraform reads the
tfvars file terraform_stack generated). Every variant is one ansible-playbook run with five tasks; the
figure is the median of --runs runs (variants interleaved so machine noise hits all of them alike).

Stacks: the real terraform/local stacks (podman) when they and the base image are there, else the
provider-free stand-ins under tests/integration/fixtures/terraform/stacks/local (the report says which).
Writes benchmarks/results/terraform.md.

    source scripts/env.sh && python benchmarks/terraform_bench.py [--runs 5] [--fixtures]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "integration" / "fixtures" / "terraform"
STACKS = ["state", "network", "tools", "vault", "kubernetes"]
CLUSTER = "benchtf"

MODEL = """\
---
apiVersion: apron.io/v1alpha1
kind: Provider
metadata: {name: benchtf-local}
spec:
  type: local
  local: {image: localhost/apron-debian:bookworm, sshPort: 2295, sshKeyPath: ssh/id_ed25519}
---
apiVersion: apron.io/v1alpha1
kind: Environment
metadata: {name: benchtf}
spec:
  provider: benchtf-local
  project: apron
  contact: bench@apron.invalid
  mode: single
  privateZone: benchtf.apron.internal
  adminUsers: []
  state: {backend: local, path: state}
---
apiVersion: apron.io/v1alpha1
kind: Cluster
metadata: {name: benchtf}
spec:
  environment: benchtf
  network:
    vpcCIDR: 10.95.0.0/20
    zones: [{name: local-a, privateCIDR: 10.95.0.0/24}]
"""
POOLS = "".join("""---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: benchtf-%s}
spec: {cluster: benchtf, role: %s, count: 1, zones: [local-a]}
""" % (role, role) for role in ("bastion", "vault", "etcd", "master", "worker"))


def env():
    e = dict(os.environ)
    e.setdefault("TF_CLI_CONFIG_FILE", "/dev/null")
    if not os.path.exists(e["TF_CLI_CONFIG_FILE"]):
        e["TF_CLI_CONFIG_FILE"] = "/dev/null"
    e["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    return e


def real_stacks_ready():
    if any(not list((ROOT / "terraform" / "local" / s).glob("*.tf")) for s in STACKS):
        return "terraform/local is incomplete"
    if not shutil.which("podman"):
        return "podman is missing"
    if subprocess.run(["podman", "image", "exists", "localhost/apron-debian:bookworm"], check=False).returncode != 0:
        return "the base image is missing"
    return None


def playbook(path, tasks):
    path.write_text(json.dumps([{"name": "bench", "hosts": "localhost", "connection": "local",
                                 "gather_facts": False, "tasks": tasks}], indent=1))
    return path


def run(cmd, timeout=1800):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("command failed: %s\n%s\n%s" % (" ".join(cmd), proc.stdout[-5000:], proc.stderr[-2000:]))
    return elapsed, proc.stdout


def changed_count(stdout):
    recap = stdout.split("PLAY RECAP")[-1]
    for part in recap.split():
        if part.startswith("changed="):
            return int(part.split("=")[1])
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fixtures", action="store_true", help="use the provider-free fixture stacks")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "terraform.md"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    reason = "--fixtures given" if args.fixtures else real_stacks_ready()
    stacks_dir = (FIXTURES / "stacks") if reason else (ROOT / "terraform")
    which = ("provider-free fixture stacks tests/integration/fixtures/terraform/stacks/local (%s)" % reason
             if reason else "the real terraform/local stacks (podman containers, network, volumes)")
    tmp = Path(tempfile.mkdtemp(prefix="apron-tfbench-"))
    model = tmp / "model"
    model.mkdir()
    (model / "model.yml").write_text(MODEL + POOLS)
    (tmp / "ssh").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "ssh" / "id_ed25519")], check=True)
    infra = ["ansible-playbook", str(ROOT / "playbooks" / "infrastructure.yml"), "-e", "apron_cluster=" + CLUSTER,
             "-e", "apron_model=" + str(model), "-e", "apron_base_dir=" + str(tmp),
             "-e", "apron_stacks_dir=" + str(stacks_dir)]
    print("stacks: %s\nwork: %s" % (which, tmp), flush=True)
    try:
        setup, _out = run(infra)
        print("initial apply: %.1fs" % setup, flush=True)
        work = tmp / ".apron" / "work" / CLUSTER / CLUSTER
        state = model / "state" / CLUSTER / CLUSTER

        def cg_tasks(data_dirs, force_init):
            tasks = []
            for stack in STACKS:
                tasks.append({
                    "name": "community.general.terraform " + stack,
                    "community.general.terraform": {
                        "project_path": str(stacks_dir / "local" / stack),
                        "state": "present",
                        "variables_files": [str(work / stack / "variables.tfvars.json")],
                        "backend_config": {"path": str(state / stack / "terraform.tfstate")},
                        "force_init": force_init,
                        "lock_timeout": 60,
                    },
                    "environment": {"TF_DATA_DIR": str(tmp / data_dirs / stack)},
                })
            return tasks

        cg_init = playbook(tmp / "cg-init.json", cg_tasks("cg-data-init", True))
        cg_reuse = playbook(tmp / "cg-reuse.json", cg_tasks("cg-data-reuse", True))
        # the reuse variant: initialise its data dirs once, then run without force_init
        run(["ansible-playbook", str(cg_reuse)])
        cg_reuse = playbook(tmp / "cg-reuse-run.json", cg_tasks("cg-data-reuse", False))
        variants = [
            ("apron.cluster.terraform_stack (playbooks/infrastructure.yml)", infra),
            ("community.general.terraform, force_init: true (init every run)", ["ansible-playbook", str(cg_init)]),
            ("community.general.terraform, initialised data dirs (no init)", ["ansible-playbook", str(cg_reuse)]),
        ]
        times = dict((name, []) for name, _cmd in variants)
        changed = dict((name, set()) for name, _cmd in variants)
        run(variants[1][1])     # warm-up (first init of its data dirs)
        for i in range(args.runs):
            for name, cmd in variants:
                elapsed, out = run(cmd)
                times[name].append(elapsed)
                changed[name].add(changed_count(out))
            print("run %d: %s" % (i + 1, ", ".join("%.2fs" % times[n][-1] for n, _cmd in variants)), flush=True)
    finally:
        try:
            run(infra + ["-e", "apron_state=absent"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    load_after = os.getloadavg()
    cpu = os.cpu_count()
    tf_version = subprocess.run(["terraform", "version"], capture_output=True, text=True, env=env(), check=False).stdout.split("\n")[0]
    lines = [
        "# Terraform: no-change run over the five stacks",
        "",
        "Generated by `benchmarks/terraform_bench.py` on %s (%s, %s CPUs, Python %s, %s)." % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), platform.platform(), cpu,
            platform.python_version(), tf_version),
        "",
        "Stacks: %s. Model: one cluster, one instance per role (5 pools)." % which,
        "Each figure is the wall time of one `ansible-playbook` run over the five stacks (state, network, tools,",
        "vault, kubernetes) of an already-applied cluster; median of %d interleaved runs. terraform_stack runs" % args.runs,
        "as `playbooks/infrastructure.yml` (model mode: it loads the model, computes the variables, checks the",
        "dependencies, renders the plan and writes the summary: nine tasks); community.general.terraform runs five",
        "tasks reading the tfvars files terraform_stack generated, with the same state files.",
        "",
        "Load average (1/5/15 min) before: %.1f/%.1f/%.1f, after: %.1f/%.1f/%.1f — the machine is shared; compare" % (
            load_before + load_after),
        "the variants with each other (they are interleaved), not with runs made under another load.",
        "",
        "| variant | median (s) | min (s) | max (s) | changed tasks |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, _cmd in variants:
        values = times[name]
        counts = ",".join(str(c) for c in sorted(changed[name], key=str))
        row = (name, statistics.median(values), min(values), max(values), counts)
        lines.append("| %s | %.2f | %.2f | %.2f | %s |" % row)
    base = statistics.median(times[variants[0][0]])
    lines += [
        "",
        "terraform_stack runs `plan -detailed-exitcode -out` + `show -json` per stack, skips `init` when the",
        "backend hash in its work dir is unchanged and never calls `apply` for a no-change plan. The",
        "community.general module with `force_init: true` runs `init` on every run; without it (data dirs",
        "initialised beforehand) it runs `version` + `validate` + `workspace list` + `plan` + `output`; it renders no diff.",
        "Time of community.general.terraform relative to terraform_stack: " +
        ", ".join("%s %.0f%%" % (name.split(",")[1].strip() if "," in name else name,
                                 100.0 * statistics.median(times[name]) / base) for name, _cmd in variants[1:]) + ".",
        "",
    ]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
