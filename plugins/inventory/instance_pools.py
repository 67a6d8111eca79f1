# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: instance_pools
short_description: Hosts of the instance pools of an apron cluster model
version_added: 0.1.0
author:
  - apron maintainers (@apron-io)
description:
  - Builds the inventory from an C(apron.io/v1alpha1) cluster model (Provider, Environment, Cluster,
    InstancePool) and the instances that really exist, found by one of three backends.
  - V(terraform) reads the C(instances) output of the C(tools), C(vault) and C(kubernetes) stacks from
    their Terraform state (local files or S3). A stack whose state does not exist yet is reported, not an error.
  - V(aws_ec2) describes the EC2 instances of the model's amazon environments, one paginated
    C(DescribeInstances) call per region, filtered server side on the tag C(apron.io/environment) and on
    the instance state C(running).
  - V(static) takes the hosts listed in the pools (C(InstancePool.spec.hosts)).
  - Groups are C(bastion), C(vault), C(etcd), C(master), C(worker) (by role), C(environment_<name>) with
    child groups C(cluster_<name>) with child groups C(pool_<name>), and C(zone_<zone>); characters other
    than letters, digits and C(_) in names become C(_).
  - Every host gets one namespaced variable C(apron) (environment, cluster, pool, role, zone, index,
    private_address, public_address, instance_id, region, provider, pool_spec, cluster_spec, and the values
    the roles default to - admin_users, admin_cidrs, hub, data_mount, controller_dir) and
    C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_ssh_private_key_file) (when the provider
    has a key) and C(ansible_ssh_common_args). Hosts that are not directly reachable get a C(ProxyCommand)
    through their environment's bastion that uses the same identity file, port and known-hosts settings.
  - Declared pool members that were not discovered are reported in a warning and in the group variable
    C(apron_pool_status) of C(pool_<name>) (V({declared, discovered, missing, unexpected})).
  - With the V(terraform) backend, pools that the amazon C(kubernetes) stack runs as auto scaling groups
    (master, worker) are not reported missing (Terraform's state does not list their instances); a warning
    names the group and C(apron_pool_status) carries C(untracked). Use the V(aws_ec2) backend on amazon.
  - Discovered instances whose environment, cluster or pool is not in the model are B(not) added to the
    inventory (there is no pool or cluster spec to give them); they are reported in a warning and listed in
    C(apron_inventory_report.unmodelled) on the group C(all). Discovered members of a modelled pool beyond
    its declared count are added and listed as C(unexpected).
  - The inventory source must be a YAML file whose name ends in C(.apron.yml) or C(.apron.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - boto3 and botocore (backend V(aws_ec2), and V(terraform) with state in S3)
options:
  plugin:
    description: Marks the file as a source for this plugin.
    type: str
    required: true
    choices: [apron.cluster.instance_pools]
  model:
    description:
      - The cluster model, one or more files or directories of C(*.yml)/C(*.yaml) documents.
      - Relative paths are relative to the directory of the inventory source file.
    type: list
    elements: str
    required: true
  backend:
    description: Where the instances are discovered.
    type: str
    choices: [terraform, aws_ec2, static]
    default: terraform
  base_dir:
    description:
      - The project directory that holds C(.apron/) (default state directory, SSH key and known hosts of
        the local provider). Relative C(sshKeyPath) values of the model are relative to it.
      - Defaults to the nearest parent of the first model path holding C(galaxy.yml) or C(.git), else the
        current directory (the rule of the C(terraform_stack) module).
      - A source outside any project (no C(galaxy.yml) or C(.git) above its model) whose local Terraform
        states are not found there is an error that names the directory searched and the options
        (O(base_dir), O(state_dir), C(Environment.spec.state.path)) that point it at the state.
    type: str
  state_dir:
    description:
      - Backend V(terraform), local state - read C(<state_dir>/<environment>/<cluster>/<stack>/terraform.tfstate)
        instead of the locations the model declares (C(Environment.spec.state)).
      - Relative to the directory of the inventory source file.
    type: str
  state_bucket:
    description:
      - Backend V(terraform) - read the states from this S3 bucket (key C(<environment>/<cluster>/<stack>/terraform.tfstate))
        instead of the locations the model declares.
    type: str
  state_region:
    description: Backend V(terraform), S3 state - the bucket's region (default the model's C(Environment.spec.state.region)).
    type: str
  regions:
    description:
      - Backend V(aws_ec2) - the regions to describe.
      - Defaults to the regions of the model's amazon providers (C(Provider.spec.amazon.regions)).
    type: list
    elements: str
  endpoint_url:
    description:
      - An EC2/S3 compatible endpoint (for example a moto server) for the backends V(aws_ec2) and V(terraform)
        (S3 state).
      - Defaults to the model's C(Environment.spec.state.endpointURL) / C(Provider.spec.amazon.endpointURL).
    type: str
    env:
      - name: APRON_AWS_ENDPOINT_URL
  profile:
    description: The AWS profile (default the model's C(Provider.spec.amazon.profile), else the boto3 default chain).
    type: str
    env:
      - name: APRON_AWS_PROFILE
  page_size:
    description: Backend V(aws_ec2) - instances per C(DescribeInstances) page (5 to 1000).
    type: int
    default: 1000
  proxy_jump:
    description:
      - Reach hosts that are not directly reachable through their environment's bastion
        (C(ansible_ssh_common_args) with a C(ProxyCommand)).
    type: bool
    default: true
  private_key_file:
    description:
      - SSH identity file for every host and for the jump through the bastion.
      - Defaults to the provider's C(sshKeyPath) (local and static providers; local default
        C(<base_dir>/.apron/ssh/id_ed25519)). Relative to O(base_dir).
    type: str
  host_key_checking:
    description:
      - C(StrictHostKeyChecking) for the jump through the bastion and for the target connection.
      - V(accept-new) records unknown host keys and refuses changed ones.
    type: str
    choices: [accept-new, 'yes', 'no']
    default: accept-new
  known_hosts_file:
    description:
      - C(UserKnownHostsFile) for the jump and the target connection.
      - Defaults to C(<base_dir>/.apron/ssh/known_hosts) for the local provider, to the SSH default elsewhere.
    type: str
notes:
  - The cache stores what the backend discovered, not the built inventory; the model is read on every run,
    so a changed model is reflected without refreshing the cache.
  - The instance names are C(<pool>-<index>). For V(aws_ec2) the index comes from the tag C(apron.io/index),
    else from a C(Name) tag of the form C(<pool>-<index>); untagged instances take the lowest free indexes
    in launch order.
seealso:
  - name: apron.cluster inventory documentation
    description: Backends, variables, groups and the reports in detail.
    link: https://github.com/apron-io/apron.cluster/blob/main/docs/inventory.md
"""

EXAMPLES = r"""
# inventories/local/dev.apron.yml - the local (podman) provider, state from terraform_stack
plugin: apron.cluster.instance_pools
model: model/
backend: terraform

---
# inventories/aws-example/single/staging.apron.yml - EC2 instances, cached for an hour
plugin: apron.cluster.instance_pools
model: model/
backend: aws_ec2
regions: [eu-west-1]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/apron-inventory
cache_timeout: 3600

---
# Static hosts, without the jump through the bastion, with extra groups and variables
plugin: apron.cluster.instance_pools
model: model.yml
backend: static
proxy_jump: false
compose:
  node_labels: apron.pool_spec.labels
keyed_groups:
  - key: apron.pool_spec.size
    prefix: size
groups:
  control_plane: apron.role in ['etcd', 'master']
"""

import os
import shlex

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model
from ansible_collections.apron.cluster.plugins.module_utils._model_defaults import PROVIDER as PROVIDER_DEFAULTS
from ansible_collections.apron.cluster.plugins.module_utils._project import find_project_dir
from ansible_collections.apron.cluster.plugins.plugin_utils import _discovery as disc

display = Display()

ROLE_GROUPS = ("bastion", "vault", "etcd", "master", "worker")
AMAZON_SSH_USER = "admin"
LOCAL_DEFAULTS = PROVIDER_DEFAULTS["local"]
SOURCE_SUFFIXES = (".apron.yml", ".apron.yaml")


def admin_cidrs(provider_type, provider_settings, cluster_spec):
    """The networks administrators (and Ansible) reach the bastion from, as the model knows them.

    amazon: ``Provider.spec.amazon.adminCIDRs``; local: the cluster's network (the controller reaches
    the bastion's published port from the podman network's gateway); static: none (the model has no
    such field: set ``bastion_admin_cidrs``)."""
    if provider_type == "amazon":
        return list((provider_settings or {}).get("adminCIDRs") or [])
    if provider_type == "local":
        cidr = ((cluster_spec or {}).get("network") or {}).get("vpcCIDR")
        return [cidr] if cidr else []
    return []


def _under(base, path):
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def _pct(text):
    """Escape ssh's ``%`` tokens in a literal part of a ProxyCommand."""
    return str(text).replace("%", "%%")


def proxy_command(host, port, user, key=None, host_key_checking=None, known_hosts=None):
    """The ProxyCommand that reaches ``%h:%p`` through ``user@host:port`` with the same identity."""
    argv = ["ssh"]
    if key:
        argv += ["-i", key, "-o", "IdentitiesOnly=yes"]
    if port:
        argv += ["-p", str(port)]
    if host_key_checking:
        argv += ["-o", "StrictHostKeyChecking=%s" % host_key_checking]
    if known_hosts:
        argv += ["-o", "UserKnownHostsFile=%s" % known_hosts]
    argv += ["-o", "BatchMode=yes"]
    if user:
        argv += ["-l", user]
    argv += ["-W", "%h:%p", str(host)]
    # ssh runs the command with the user's shell after expanding %-tokens: quote for the shell and
    # escape % in everything but the -W tokens.
    parts = []
    for arg in argv:
        parts.append(arg if arg == "%h:%p" else _pct(shlex.quote(arg)))
    return " ".join(parts)


class _EnvContext(object):
    """Connection settings of one environment (from its provider) and its bastion."""

    __slots__ = ("name", "provider_type", "user", "port", "key", "known_hosts", "host_key_checking",
                 "bastion", "bastion_name", "local_port")

    def __init__(self, name, provider_type, user, port, key, known_hosts, host_key_checking, local_port=None):
        self.name = name
        self.provider_type = provider_type
        self.user = user
        self.port = port
        self.key = key
        self.known_hosts = known_hosts
        self.host_key_checking = host_key_checking
        self.local_port = local_port
        self.bastion = None  # (host, port)
        self.bastion_name = None  # its inventory host name

    def ssh_options(self):
        opts = []
        if self.host_key_checking:
            opts += ["-o", "StrictHostKeyChecking=%s" % self.host_key_checking]
        if self.known_hosts:
            opts += ["-o", "UserKnownHostsFile=%s" % self.known_hosts]
        return opts


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """apron.cluster.instance_pools: the model's instance pools as an inventory."""

    NAME = "apron.cluster.instance_pools"

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(SOURCE_SUFFIXES) and os.path.isfile(path)
        return False

    # ------------------------------------------------------------------ options & model
    def _source_dir(self, path):
        return os.path.dirname(os.path.abspath(path))

    def _load_model(self, path):
        paths = self.get_option("model") or []
        if isinstance(paths, str):
            paths = [paths]
        if not paths:
            raise AnsibleParserError("%s: option 'model' is empty: expected a model file or directory" % path)
        base = self._source_dir(path)
        resolved = [_under(base, str(p)) for p in paths]
        try:
            model = load_model(resolved)
        except ModelValidationError as exc:
            errors = getattr(exc, "errors", None) or [exc]
            lines = "\n".join("  - %s" % err for err in errors)
            raise AnsibleParserError("%s: the cluster model %s is invalid (%d error%s):\n%s" % (
                path, ", ".join(resolved), len(errors), "" if len(errors) == 1 else "s", lines))
        return model, resolved

    def _discover(self, model, path, base_dir):
        backend = self.get_option("backend")
        source_dir = self._source_dir(path)
        try:
            if backend == "static":
                from ansible_collections.apron.cluster.plugins.plugin_utils import _discovery_static as impl
                return impl.discover(model)
            if backend == "aws_ec2":
                from ansible_collections.apron.cluster.plugins.plugin_utils import _discovery_aws as impl
                return impl.discover(model, regions=self.get_option("regions"),
                                     endpoint_url=self.get_option("endpoint_url"),
                                     profile=self.get_option("profile"), page_size=self.get_option("page_size"))
            if backend == "terraform":
                from ansible_collections.apron.cluster.plugins.plugin_utils import _discovery_terraform as impl
                state_dir = self.get_option("state_dir")
                return impl.discover(model, base_dir,
                                     state_dir=_under(source_dir, state_dir) if state_dir else None,
                                     state_bucket=self.get_option("state_bucket"),
                                     state_region=self.get_option("state_region"),
                                     endpoint_url=self.get_option("endpoint_url"),
                                     profile=self.get_option("profile"))
        except disc.DiscoveryError as exc:
            raise AnsibleParserError("%s: backend %s: %s" % (path, backend, exc))
        raise AnsibleParserError("%s: unknown backend %r: expected one of %s" % (path, backend, ", ".join(disc.BACKENDS)))

    # ------------------------------------------------------------------ entry point
    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        try:
            self._read_config_data(path)
        except AnsibleParserError:
            raise
        except AnsibleError as exc:
            hint = ""
            if "'backend'" in str(exc):
                hint = " (expected one of %s)" % ", ".join(disc.BACKENDS)
            raise AnsibleParserError("%s: %s%s" % (path, exc, hint))
        backend = self.get_option("backend")
        if backend not in disc.BACKENDS:
            raise AnsibleParserError("%s: unknown backend %r: expected one of %s"
                                     % (path, backend, ", ".join(disc.BACKENDS)))
        model, model_paths = self._load_model(path)
        base_dir = self.get_option("base_dir")
        guessed = False
        if base_dir:
            base_dir = _under(self._source_dir(path), base_dir)
        else:
            base_dir = find_project_dir(model_paths[0])
            guessed = base_dir is None
            base_dir = base_dir or os.getcwd()

        cache_key = self.get_cache_key(path)
        user_cache_setting = self.get_option("cache")
        attempt_to_read_cache = user_cache_setting and cache
        cache_needs_update = user_cache_setting and not cache
        discovery = None
        if attempt_to_read_cache:
            try:
                discovery = disc.Discovery.from_dict(self._cache[cache_key])
            except KeyError:
                cache_needs_update = True
            except (ValueError, TypeError, AttributeError):
                discovery = None
                cache_needs_update = True
        if discovery is not None:
            fresh = self._discover_query(model, backend)
            if fresh is not None and discovery.query is not None and not _same_query(fresh, discovery.query):
                display.vvv("apron.cluster.instance_pools: cached discovery is for another query, refreshing")
                discovery = None
                cache_needs_update = True
        from_cache = discovery is not None
        if discovery is None:
            discovery = self._discover(model, path, base_dir)
        if guessed and not discovery.instances:
            self._check_state_found(model, path, model_paths, base_dir, discovery)
        if cache_needs_update:
            self._cache[cache_key] = discovery.to_dict()
        display.vvv("apron.cluster.instance_pools: %s: %d instance(s) from %s%s (%s)" % (
            path, len(discovery.instances), backend, " (cache)" if from_cache else "", discovery.stats))
        self._model_paths = list(model_paths)
        self._populate(model, discovery, base_dir, from_cache)

    def _check_state_found(self, model, path, model_paths, base_dir, discovery):
        """A source outside any project found no local state: say where it looked and how to point it."""
        if self.get_option("backend") != "terraform" or self.get_option("state_dir") or self.get_option("state_bucket"):
            return
        declared_state = [env.name for env in model.environments.values()
                          if (env.effective.get("state") or {}).get("path")]
        local = [item for item in discovery.unapplied if not str(item.get("location", "")).startswith("s3://")]
        if declared_state or not local or len(local) != len(discovery.unapplied):
            return
        raise AnsibleParserError(
            "%s: no Terraform state found: the source and its model (%s) are outside a project (no galaxy.yml or "
            ".git above them), so the states were looked for under the current directory %s (for example %s). "
            "Point the source at the project that ran playbooks/infrastructure.yml with the option "
            "'base_dir: /path/to/project' (its .apron/state is read), or at the state directory with "
            "'state_dir: /path/to/.apron/state', or set Environment.spec.state.path in the model"
            % (path, ", ".join(model_paths), os.path.join(base_dir, ".apron", "state"), local[0].get("location")))

    def _discover_query(self, model, backend):
        """What the cached discovery must have been made for (backend, the model's environments or clusters,
        the regions): a cache written for another model or configuration is not used."""
        if backend == "aws_ec2":
            from ansible_collections.apron.cluster.plugins.plugin_utils import _discovery_aws as impl
            return {"backend": backend, "environments": impl.model_environments(model),
                    "regions": list(self.get_option("regions") or impl.model_regions(model))}
        if backend == "terraform":
            return {"backend": backend, "clusters": sorted(model.clusters)}
        return None

    # ------------------------------------------------------------------ building
    def _env_context(self, model, env, base_dir):
        provider = model.provider_of(env)
        ptype = provider.effective.get("type") if provider is not None else None
        settings = (provider.effective.get(ptype) or {}) if provider is not None and ptype else {}
        key = self.get_option("private_key_file")
        known_hosts = self.get_option("known_hosts_file")
        local_port = None
        if ptype == "local":
            user = settings.get("sshUser") or LOCAL_DEFAULTS["sshUser"]
            port = 22
            local_port = settings.get("sshPort") or LOCAL_DEFAULTS["sshPort"]
            key = key or settings.get("sshKeyPath") or LOCAL_DEFAULTS["sshKeyPath"]
            known_hosts = known_hosts or os.path.join(base_dir, ".apron", "ssh", "known_hosts")
        elif ptype == "static":
            user = settings.get("sshUser")
            port = settings.get("sshPort") or 22
            key = key or settings.get("sshKeyPath")
        else:
            user = AMAZON_SSH_USER
            port = 22
        key = _under(base_dir, key) if key else None
        known_hosts = _under(base_dir, known_hosts) if known_hosts else None
        return _EnvContext(env.name if env is not None else None, ptype, user, port, key, known_hosts,
                           self.get_option("host_key_checking"), local_port)

    def _role_values(self, model, env, ctx, base_dir):
        """What the roles default to from the model, per environment (a function of the cluster)."""
        espec = env.effective if env is not None else {}
        provider = model.provider_of(env) if env is not None else None
        ptype = ctx.provider_type if ctx is not None else None
        settings = (provider.effective.get(ptype) or {}) if provider is not None and ptype else {}
        users = _plain_copy(espec.get("adminUsers") or [])
        hub = espec.get("hub")
        controller_dir = os.path.join(base_dir, ".apron")
        cidrs = {}

        def values(cluster):
            name = cluster.name if cluster is not None else None
            if name not in cidrs:
                cidrs[name] = admin_cidrs(ptype, settings, cluster.effective if cluster is not None else None)
            return {"admin_users": users, "admin_cidrs": cidrs[name], "hub": hub, "controller_dir": controller_dir}
        return values

    def _populate(self, model, discovery, base_dir, from_cache):
        inventory = self.inventory
        result = disc.reconcile(model, discovery.instances, discovery.untracked)
        proxy_jump = self.get_option("proxy_jump")

        for group in ROLE_GROUPS:
            inventory.add_group(group)
        env_ctx = {}
        for env_name in sorted(model.environments):
            env = model.environments[env_name]
            env_ctx[env_name] = self._env_context(model, env, base_dir)
            inventory.add_group("environment_%s" % disc.safe_group(env_name))
        cluster_specs = {}
        for cluster_name in sorted(model.clusters):
            cluster = model.clusters[cluster_name]
            group = inventory.add_group("cluster_%s" % disc.safe_group(cluster_name))
            env = model.environment_of(cluster)
            if env is not None:
                inventory.add_child("environment_%s" % disc.safe_group(env.name), group)
            cluster_specs[cluster_name] = _plain_copy(cluster.effective)
        pool_specs = {}
        for pool_name in sorted(model.pools):
            pool = model.pools[pool_name]
            group = inventory.add_group("pool_%s" % disc.safe_group(pool_name))
            cluster = model.cluster_of(pool)
            if cluster is not None:
                inventory.add_child("cluster_%s" % disc.safe_group(cluster.name), group)
            pool_specs[pool_name] = _plain_copy(pool.effective)
            inventory.set_variable(group, "apron_pool_status", result.status.get(pool_name))

        # addresses first: the bastion of each environment is needed for everyone else's jump
        plans = []
        seen = {}
        for member in result.members:
            rec = member.record
            pool = member.pool
            cluster = model.cluster_of(pool)
            env = model.environment_of(cluster) if cluster is not None else None
            ctx = env_ctx.get(env.name) if env is not None else None
            if ctx is None:
                ctx = self._env_context(model, env, base_dir)
            if member.name in seen:
                result.duplicates.append(rec)
                continue
            seen[member.name] = True
            role = pool.effective.get("role")
            direct = bool(rec.get("ssh_host"))
            if direct:
                host, port = rec["ssh_host"], rec.get("ssh_port") or ctx.port
            elif role == "bastion" and ctx.provider_type == "local":
                host, port = "127.0.0.1", ctx.local_port
                direct = True
            elif role == "bastion":
                host, port = rec.get("public_address") or rec.get("private_address"), ctx.port
                direct = True
            else:
                host, port = rec.get("private_address") or rec.get("public_address"), ctx.port
            if role == "bastion" and ctx.bastion is None and host:
                ctx.bastion = (host, port)
                ctx.bastion_name = member.name
            plans.append((member, cluster, env, ctx, role, host, port, direct))
        for ctx in env_ctx.values():
            if ctx.bastion is None and ctx.provider_type == "local":
                ctx.bastion = ("127.0.0.1", ctx.local_port)

        role_defaults = {}
        for env_name, ctx in list(env_ctx.items()) + [(None, None)]:
            role_defaults[env_name] = self._role_values(model, model.environments.get(env_name) if env_name else None,
                                                        ctx, base_dir)

        self._base_dir = base_dir
        no_bastion = set()
        construct = bool(self.get_option("compose") or self.get_option("groups") or self.get_option("keyed_groups"))
        for member, cluster, env, ctx, role, host, port, direct in plans:
            rec = member.record
            name = member.name
            inventory.add_host(name, group="pool_%s" % disc.safe_group(member.pool.name))
            if role in ROLE_GROUPS:
                inventory.add_host(name, group=role)
            else:
                inventory.add_host(name, group=inventory.add_group(disc.safe_group(role)))
            zone = rec.get("zone")
            if zone:
                inventory.add_host(name, group=inventory.add_group("zone_%s" % disc.safe_group(zone)))
            apron = {
                "environment": env.name if env is not None else None,
                "cluster": cluster.name if cluster is not None else None,
                "pool": member.pool.name,
                "role": role,
                "zone": zone,
                "index": member.index,
                "private_address": rec.get("private_address"),
                "public_address": rec.get("public_address"),
                "instance_id": rec.get("instance_id"),
                "region": rec.get("region"),
                "provider": ctx.provider_type,
                "backend": discovery.backend,
                "pool_spec": pool_specs[member.pool.name],
                "cluster_spec": cluster_specs.get(cluster.name) if cluster is not None else None,
            }
            apron.update(role_defaults[env.name if env is not None else None](cluster))
            apron["data_mount"] = rec.get("data_mount")
            jump = ctx.bastion_name if (proxy_jump and not direct and ctx.bastion is not None) else None
            apron["ssh"] = {"jump_host": jump, "known_hosts_file": ctx.known_hosts,
                            "host_key_checking": ctx.host_key_checking}
            inventory.set_variable(name, "apron", apron)
            if host:
                inventory.set_variable(name, "ansible_host", host)
            if port:
                inventory.set_variable(name, "ansible_port", int(port))
            if ctx.user:
                inventory.set_variable(name, "ansible_user", ctx.user)
            if ctx.key:
                inventory.set_variable(name, "ansible_ssh_private_key_file", ctx.key)
            args = ctx.ssh_options()
            if proxy_jump and not direct:
                if ctx.bastion is not None:
                    args += ["-o", "ProxyCommand=" + proxy_command(
                        ctx.bastion[0], ctx.bastion[1], ctx.user, ctx.key, ctx.host_key_checking, ctx.known_hosts)]
                else:
                    no_bastion.add(ctx.name)
            if args:
                inventory.set_variable(name, "ansible_ssh_common_args", " ".join(shlex.quote(a) for a in args))

            if construct:
                self._construct(name)

        self._report(model, discovery, result, no_bastion, from_cache)

    def _construct(self, name):
        strict = self.get_option("strict")
        host = self.inventory.get_host(name)
        hostvars = host.get_vars()
        try:
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            hostvars = host.get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
        except AnsibleError as exc:
            raise AnsibleParserError("host %s: compose/groups/keyed_groups failed: %s" % (name, exc))

    def _report(self, model, discovery, result, no_bastion, from_cache):
        for note in discovery.notes:
            display.warning("apron.cluster.instance_pools: %s" % note)
        missing = []
        unexpected = []
        for pool_name in sorted(result.status):
            status = result.status[pool_name]
            if status["missing"]:
                missing.extend(status["missing"])
                display.warning("apron.cluster.instance_pools: pool %s: %d of %d declared member(s) not discovered: %s"
                                % (pool_name, len(status["missing"]), status["declared"], ", ".join(status["missing"])))
            if status["unexpected"]:
                unexpected.extend(status["unexpected"])
                display.warning("apron.cluster.instance_pools: pool %s: %d discovered member(s) beyond the declared "
                                "count %d (added): %s" % (pool_name, len(status["unexpected"]), status["declared"],
                                                          ", ".join(status["unexpected"])))
        unmodelled = [_describe(rec) for rec in result.unmodelled]
        if unmodelled:
            display.warning("apron.cluster.instance_pools: %d discovered instance(s) not in the model (not added): %s"
                            % (len(unmodelled), ", ".join(unmodelled)))
        duplicates = [_describe(rec) for rec in result.duplicates]
        if duplicates:
            display.warning("apron.cluster.instance_pools: %d instance(s) with a host name already taken (not added): %s"
                            % (len(duplicates), ", ".join(duplicates)))
        for env_name in sorted(n for n in no_bastion if n):
            display.warning("apron.cluster.instance_pools: environment %s: no bastion discovered, its hosts get no "
                            "ProxyCommand" % env_name)
        self.inventory.set_variable("all", "apron_inventory_report", {
            "backend": discovery.backend,
            "from_cache": from_cache,
            "missing": missing,
            "unexpected": unexpected,
            "unmodelled": unmodelled,
            "duplicates": duplicates,
            "unapplied": [item.get("stack") for item in discovery.unapplied],
            "untracked": dict(discovery.untracked),
            "notes": list(discovery.notes),
            "stats": dict(discovery.stats),
            "model": list(getattr(self, "_model_paths", [])),
            "base_dir": getattr(self, "_base_dir", None),
        })


def _describe(rec):
    bits = [rec.get("hostname") or rec.get("name") or rec.get("instance_id") or "?"]
    where = ["%s=%s" % (key, rec.get(key)) for key in ("environment", "cluster", "pool") if rec.get(key)]
    if rec.get("source"):
        where.append(rec["source"])
    return "%s (%s)" % (bits[0], ", ".join(where)) if where else bits[0]


def _same_query(fresh, cached):
    return all(cached.get(key) == value for key, value in fresh.items())


def _plain_copy(value):
    """A copy of model data made of plain dicts/lists (one per pool/cluster, shared by its hosts)."""
    if isinstance(value, dict):
        return dict((key, _plain_copy(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain_copy(item) for item in value]
    return value
