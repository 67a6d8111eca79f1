# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Invalid models: every case names the file, the resource, the exact field path and what was expected."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model

from tests.helpers.model import base_model, doc, find, pool, write


def _env(files):
    return find(files, "Environment", "dev")["spec"]


def _cluster(files):
    return find(files, "Cluster", "dev")["spec"]


def _pool(files, name):
    return find(files, "InstancePool", name)["spec"]


def _zones(files):
    return _cluster(files)["network"]["zones"]


def multi(files, hub_zones=("local-a", "local-b", "local-c")):
    """Turn the base model into a multi-cluster environment: hub 'hub' holds bastion+vault."""
    env = _env(files)
    env["mode"] = "multi"
    env["hub"] = "hub"
    files["hub.yml"] = [
        doc("Cluster", "hub", {"environment": "dev", "type": "hub", "network": {
            "vpcCIDR": "10.97.0.0/20",
            "zones": [{"name": z} for z in hub_zones]}}),
    ]
    for item in files["pools.yml"]:
        if item["spec"]["role"] in ("bastion", "vault"):
            item["spec"]["cluster"] = "hub"
    return files


def m_name(f):
    find(f, "InstancePool", "dev-etcd")["metadata"]["name"] = "Dev_Etcd"


def m_duplicate(f):
    f["pools.yml"].append(pool("dev-etcd", "worker"))


def m_env_provider(f):
    _env(f)["provider"] = "nope"


def m_cluster_env(f):
    _cluster(f)["environment"] = "nope"


def m_pool_cluster(f):
    _pool(f, "dev-worker")["cluster"] = "nope"


def m_two_bastions(f):
    f["pools.yml"].append(pool("dev-bastion2", "bastion"))


def m_no_bastion(f):
    f["pools.yml"] = [p for p in f["pools.yml"] if p["spec"]["role"] != "bastion"]


def m_etcd_even(f):
    _pool(f, "dev-etcd")["count"] = 2


def m_vault_even(f):
    _pool(f, "dev-vault")["count"] = 4


def m_etcd_autoscale(f):
    spec = _pool(f, "dev-etcd")
    del spec["count"]
    spec["minCount"], spec["maxCount"] = 3, 5


def m_min_gt_max(f):
    _pool(f, "dev-worker").update(minCount=5, maxCount=2)


def m_no_root(f):
    _pool(f, "dev-master")["volumes"] = [{"name": "data", "sizeGiB": 5}]


def m_multi_no_hub(f):
    multi(f)
    del _env(f)["hub"]


def m_hub_zone_cover(f):
    multi(f, hub_zones=("local-a", "local-b"))


def m_nonhub_bastion(f):
    multi(f)
    _pool(f, "dev-bastion")["cluster"] = "dev"


def m_single_two_clusters(f):
    f["cluster2.yml"] = [doc("Cluster", "other", {"environment": "dev", "network": {
        "vpcCIDR": "10.96.0.0/20", "zones": [{"name": "local-a"}]}})]


def m_subnet_outside(f):
    _zones(f)[0]["privateCIDR"] = "10.99.0.0/24"


def m_subnet_overlap(f):
    _zones(f)[1]["privateCIDR"] = "10.98.0.128/25"


def m_pod_overlaps_vpc(f):
    _cluster(f)["network"]["podCIDR"] = "10.98.4.0/22"


def m_service_overlaps_pod(f):
    _cluster(f)["network"].update(podCIDR="10.234.0.0/16", serviceCIDR="10.234.128.0/17")


def m_bad_cidr(f):
    _cluster(f)["network"]["vpcCIDR"] = "10.98.0.0/33"


def m_host_bits(f):
    _zones(f)[2]["publicCIDR"] = "10.98.8.129/26"


def m_local_zone(f):
    _zones(f)[0]["name"] = "zone-a"


def m_amazon_zone(f):
    f["provider.yml"] = [doc("Provider", "local", {"type": "amazon", "amazon": {"regions": ["eu-west-1"]}})]
    for i, zone in enumerate(_zones(f)):
        zone["name"] = "eu-west-1" + "abc"[i]
    _zones(f)[2]["name"] = "us-east-1c"
    for item in f["pools.yml"]:
        item["spec"].pop("zones", None)


def m_k8s_unsupported(f):
    _cluster(f)["kubernetesVersion"] = "1.29.1"


def m_k8s_not_full(f):
    _cluster(f)["kubernetesVersion"] = "1.32"


def m_k8s_float(f):
    _cluster(f)["kubernetesVersion"] = 1.32


def m_pool_zone_subset(f):
    _pool(f, "dev-etcd")["zones"] = ["local-a", "local-d"]


def m_static_hosts(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"].pop()


def m_unknown_field(f):
    _pool(f, "dev-etcd")["cout"] = 3


def m_unknown_nested(f):
    _cluster(f)["network"]["vpcCidr"] = "10.98.0.0/20"


def m_wrong_type(f):
    _pool(f, "dev-etcd")["count"] = "three"


def m_api_version(f):
    find(f, "Cluster", "dev")["apiVersion"] = "apron.io/v1"


def m_kind(f):
    f["extra.yml"] = [doc("Pool", "x", {})]


def m_missing_role(f):
    del _pool(f, "dev-master")["role"]


def m_defaults_unknown_role(f):
    _env(f)["defaults"]["instancePools"]["wroker"] = {"size": "small"}


def m_provider_block(f):
    f["provider.yml"][0]["spec"]["amazon"] = {"regions": ["eu-west-1"]}


def m_hub_type(f):
    multi(f)
    f["hub.yml"][0]["spec"]["type"] = "cluster"


def m_role_enum(f):
    _pool(f, "dev-worker")["role"] = "database"


def m_taint_effect(f):
    _pool(f, "dev-worker")["taints"] = [{"key": "a", "value": "b", "effect": "Never"}]


def m_env_default_even(f):
    del _pool(f, "dev-etcd")["count"]
    _env(f)["defaults"]["instancePools"]["etcd"] = {"count": 4}


def m_hub_in_single(f):
    _cluster(f)["type"] = "hub"


def m_s3_no_bucket(f):
    _env(f)["state"] = {"backend": "s3", "bucket": None, "region": "eu-west-1", "lockTable": "t"}


def m_static_zone(f):
    f["provider.yml"] = [doc("Provider", "local", {"type": "static"})]
    _zones(f)[0]["name"] = "DC_1"


def m_multi_vpc_overlap(f):
    multi(f)
    f["hub.yml"][0]["spec"]["network"]["vpcCIDR"] = "10.98.0.0/16"


def m_zone_cidrs_mixed(f):
    del _zones(f)[1]["privateCIDR"]


def m_instance_name_too_long(f):
    find(f, "InstancePool", "dev-worker")["metadata"]["name"] = "w" * 62


def m_metadata_type(f):
    find(f, "InstancePool", "dev-worker")["metadata"]["labels"] = {"a": 1}


def m_count_negative(f):
    _pool(f, "dev-worker")["count"] = -1


def to_amazon(f):
    """The base model on the amazon provider (zones eu-west-1a..c)."""
    f["provider.yml"] = [doc("Provider", "local", {"type": "amazon", "amazon": {"regions": ["eu-west-1"]}})]
    for i, zone in enumerate(_zones(f)):
        zone["name"] = "eu-west-1" + "abc"[i]
    for item in f["pools.yml"]:
        item["spec"].pop("zones", None)
    return f


def to_static(f, addresses=None):
    """The base model on a static provider: every pool lists its hosts (distinct addresses)."""
    f["provider.yml"] = [doc("Provider", "local", {"type": "static", "static": {"sshUser": "admin"}})]
    for number, item in enumerate(f["pools.yml"]):
        spec = item["spec"]
        spec.pop("minCount", None)
        spec.pop("maxCount", None)
        spec["count"] = spec.get("count", 1)
        spec["hosts"] = [{"name": "%s-%d" % (item["metadata"]["name"], i), "address": "192.0.2.%d" % (10 * number + i + 1)}
                         for i in range(spec["count"])]
    return f


def m_label_key_prefix(f):
    _pool(f, "dev-worker")["labels"] = {"Apron.io/pool": "worker"}


def m_label_key_long(f):
    _pool(f, "dev-worker")["labels"] = {"apron.io/" + "n" * 64: "x"}


def m_label_key_slashes(f):
    _pool(f, "dev-worker")["labels"] = {"a/b/c": "x"}


def m_label_value(f):
    _pool(f, "dev-worker")["labels"] = {"team": "-ops"}


def m_label_value_long(f):
    _pool(f, "dev-worker")["labels"] = {"team": "v" * 64}


def m_label_env_default(f):
    _env(f)["defaults"]["instancePools"]["all"]["labels"] = {"bad key": "x"}


def m_metadata_label(f):
    find(f, "Cluster", "dev")["metadata"]["labels"] = {"tier": "not ok"}


def m_taint_key(f):
    _pool(f, "dev-worker")["taints"] = [{"key": "dedicated/", "effect": "NoSchedule"}]


def m_taint_value(f):
    _pool(f, "dev-worker")["taints"] = [{"key": "dedicated", "value": "gpu nodes", "effect": "NoSchedule"}]


def m_taint_duplicate(f):
    _pool(f, "dev-worker")["taints"] = [
        {"key": "gpu", "value": "a", "effect": "NoSchedule"},
        {"key": "gpu", "value": "b", "effect": "NoExecute"},
        {"key": "gpu", "value": "c", "effect": "NoSchedule"},
    ]


def m_host_ipv4(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][1]["address"] = "192.0.2.300"


def m_host_port(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][1]["address"] = "192.0.2.30:22"


def m_host_network(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][1]["address"] = "192.0.2.0/24"


def m_host_dns(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][1]["address"] = "etcd_1.example.com"


def m_host_unspecified(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][1]["address"] = "::"


def m_host_duplicate_in_pool(f):
    to_static(f)
    _pool(f, "dev-etcd")["hosts"][2]["address"] = _pool(f, "dev-etcd")["hosts"][0]["address"]


def m_host_duplicate_across_pools(f):
    to_static(f)
    _pool(f, "dev-master")["hosts"][0]["address"] = "2001:db8::1"
    _pool(f, "dev-worker")["hosts"][0]["address"] = "2001:DB8:0::1"


def m_host_duplicate_dns(f):
    to_static(f)
    _pool(f, "dev-master")["hosts"][0]["address"] = "node1.example.com"
    _pool(f, "dev-worker")["hosts"][0]["address"] = "NODE1.example.com."


def m_admin_open(f):
    to_amazon(f)
    f["provider.yml"][0]["spec"]["amazon"]["adminCIDRs"] = ["203.0.113.0/24", "0.0.0.0/0"]


def m_api_open_halves(f):
    _cluster(f)["apiServer"] = {"exposure": "public", "allowedCIDRs": ["0.0.0.0/1", "128.0.0.0/1"]}


def m_api_open_ipv6(f):
    _cluster(f)["apiServer"] = {"exposure": "public", "allowedCIDRs": ["10.0.0.0/8", "::/0"]}


def m_api_open_from_env(f):
    _env(f)["defaults"]["cluster"]["apiServer"] = {"exposure": "public", "allowedCIDRs": ["0.0.0.0/0"]}


def m_subnet_outside_default_vpc(f):
    del _cluster(f)["network"]["vpcCIDR"]
    _zones(f)[0]["privateCIDR"] = "10.97.0.0/24"


# (mutation, file, resource, path, text in expected, value)
CASES = [
    (m_name, "pools.yml", "InstancePool/Dev_Etcd", "metadata.name", "DNS-1123", "Dev_Etcd"),
    (m_duplicate, "pools.yml", "InstancePool/dev-etcd", "metadata.name", "unique among InstancePool", "dev-etcd"),
    (m_env_provider, "environment.yml", "Environment/dev", "spec.provider", "name of a Provider", "nope"),
    (m_cluster_env, "cluster.yml", "Cluster/dev", "spec.environment", "name of an Environment", "nope"),
    (m_pool_cluster, "pools.yml", "InstancePool/dev-worker", "spec.cluster", "name of a Cluster", "nope"),
    (m_two_bastions, "environment.yml", "Environment/dev", "spec", "exactly one bastion", ["dev-bastion", "dev-bastion2"]),
    (m_no_bastion, "environment.yml", "Environment/dev", "spec", "exactly one bastion", []),
    (m_etcd_even, "pools.yml", "InstancePool/dev-etcd", "spec.count", "odd count", 2),
    (m_vault_even, "pools.yml", "InstancePool/dev-vault", "spec.count", "odd count", 4),
    (m_etcd_autoscale, "pools.yml", "InstancePool/dev-etcd", "spec.maxCount", "stateful", 5),
    (m_min_gt_max, "pools.yml", "InstancePool/dev-worker", "spec.minCount", "minCount <= maxCount", 5),
    (m_no_root, "pools.yml", "InstancePool/dev-master", "spec.volumes", "root", ["data"]),
    (m_multi_no_hub, "environment.yml", "Environment/dev", "spec.hub", "hub Cluster", None),
    (m_hub_zone_cover, "cluster.yml", "Cluster/dev", "spec.network.zones[2].name", "hub hub covers", "local-c"),
    (m_nonhub_bastion, "pools.yml", "InstancePool/dev-bastion", "spec.role", "non-hub cluster", "bastion"),
    (m_single_two_clusters, "environment.yml", "Environment/dev", "spec.mode", "mode multi", "single"),
    (m_subnet_outside, "cluster.yml", "Cluster/dev", "spec.network.zones[0].privateCIDR", "within spec.network.vpcCIDR", "10.99.0.0/24"),
    (m_subnet_overlap, "cluster.yml", "Cluster/dev", "spec.network.zones[1].privateCIDR",
     "not overlapping spec.network.zones[0].privateCIDR", "10.98.0.128/25"),
    (m_pod_overlaps_vpc, "cluster.yml", "Cluster/dev", "spec.network.podCIDR", "not overlapping spec.network.vpcCIDR", "10.98.4.0/22"),
    (m_service_overlaps_pod, "cluster.yml", "Cluster/dev", "spec.network.serviceCIDR", "not overlapping spec.network.podCIDR", "10.234.128.0/17"),
    (m_bad_cidr, "cluster.yml", "Cluster/dev", "spec.network.vpcCIDR", "valid CIDR", "10.98.0.0/33"),
    (m_host_bits, "cluster.yml", "Cluster/dev", "spec.network.zones[2].publicCIDR", "host bits set", "10.98.8.129/26"),
    (m_local_zone, "cluster.yml", "Cluster/dev", "spec.network.zones[0].name", "local-[a-z]", "zone-a"),
    (m_amazon_zone, "cluster.yml", "Cluster/dev", "spec.network.zones[2].name", "provider's regions (eu-west-1)", "us-east-1c"),
    (m_k8s_unsupported, "cluster.yml", "Cluster/dev", "spec.kubernetesVersion", "1.35.x .. 1.37.x", "1.29.1"),
    (m_k8s_not_full, "cluster.yml", "Cluster/dev", "spec.kubernetesVersion", "full Kubernetes version x.y.z", "1.32"),
    (m_k8s_float, "cluster.yml", "Cluster/dev", "spec.kubernetesVersion", "type string", 1.32),
    (m_pool_zone_subset, "pools.yml", "InstancePool/dev-etcd", "spec.zones[1]", "zone of Cluster/dev", "local-d"),
    (m_static_hosts, "pools.yml", "InstancePool/dev-etcd", "spec.hosts", "3 hosts (spec.count is 3)", 2),
    (m_unknown_field, "pools.yml", "InstancePool/dev-etcd", "spec.cout", "no field cout here; did you mean count?", 3),
    (m_unknown_nested, "cluster.yml", "Cluster/dev", "spec.network.vpcCidr", "no field vpcCidr here; did you mean vpcCIDR?", "10.98.0.0/20"),
    (m_wrong_type, "pools.yml", "InstancePool/dev-etcd", "spec.count", "type integer", "three"),
    (m_api_version, "cluster.yml", "Cluster/dev", "apiVersion", "exactly apron.io/v1alpha1", "apron.io/v1"),
    (m_kind, "extra.yml", "<document 1>", "kind", "one of Provider, Environment, Cluster, InstancePool", "Pool"),
    (m_missing_role, "pools.yml", "InstancePool/dev-master", "spec.role", "a required field", None),
    (m_defaults_unknown_role, "environment.yml", "Environment/dev", "spec.defaults.instancePools.wroker",
     "no field wroker here; did you mean worker?", {"size": "small"}),
    (m_provider_block, "provider.yml", "Provider/local", "spec.amazon", "type local", {"regions": ["eu-west-1"]}),
    (m_hub_type, "hub.yml", "Cluster/hub", "spec.type", "hub (Environment/dev names it", "cluster"),
    (m_role_enum, "pools.yml", "InstancePool/dev-worker", "spec.role", "one of bastion, vault, etcd, master, worker", "database"),
    (m_taint_effect, "pools.yml", "InstancePool/dev-worker", "spec.taints[0].effect", "one of NoSchedule", "Never"),
    (m_env_default_even, "pools.yml", "InstancePool/dev-etcd", "spec.count", "value from Environment/dev", 4),
    (m_hub_in_single, "cluster.yml", "Cluster/dev", "spec.type", "only in multi-cluster", "hub"),
    (m_s3_no_bucket, "environment.yml", "Environment/dev", "spec.state.bucket", "backend is s3", None),
    (m_static_zone, "cluster.yml", "Cluster/dev", "spec.network.zones[0].name", "zone name (DNS-1123 label)", "DC_1"),
    (m_multi_vpc_overlap, "hub.yml", "Cluster/hub", "spec.network.vpcCIDR", "not overlapping Cluster/dev", "10.98.0.0/16"),
    (m_zone_cidrs_mixed, "cluster.yml", "Cluster/dev", "spec.network.zones[1].privateCIDR", "all zones or for none", None),
    (m_instance_name_too_long, "pools.yml", "InstancePool/" + "w" * 62, "metadata.name", "at most 63 characters", "w" * 62),
    (m_metadata_type, "pools.yml", "InstancePool/dev-worker", "metadata.labels.a", "type string", 1),
    (m_count_negative, "pools.yml", "InstancePool/dev-worker", "spec.count", "0..1000", -1),
    # Kubernetes label and taint rules
    (m_label_key_prefix, "pools.yml", "InstancePool/dev-worker", "spec.labels.Apron.io/pool",
     "a prefix that is a DNS subdomain", "Apron.io/pool"),
    (m_label_key_long, "pools.yml", "InstancePool/dev-worker", "spec.labels.apron.io/" + "n" * 64,
     "a name of at most 63 characters (it has 64)", "apron.io/" + "n" * 64),
    (m_label_key_slashes, "pools.yml", "InstancePool/dev-worker", "spec.labels.a/b/c", "at most one '/'", "a/b/c"),
    (m_label_value, "pools.yml", "InstancePool/dev-worker", "spec.labels.team", "Kubernetes label value", "-ops"),
    (m_label_value_long, "pools.yml", "InstancePool/dev-worker", "spec.labels.team", "at most 63 characters (it has 64)",
     "v" * 64),
    (m_label_env_default, "environment.yml", "Environment/dev", "spec.defaults.instancePools.all.labels.bad key",
     "Kubernetes qualified name", "bad key"),
    (m_metadata_label, "cluster.yml", "Cluster/dev", "metadata.labels.tier", "Kubernetes label value", "not ok"),
    (m_taint_key, "pools.yml", "InstancePool/dev-worker", "spec.taints[0].key", "a name (after the prefix)", "dedicated/"),
    (m_taint_value, "pools.yml", "InstancePool/dev-worker", "spec.taints[0].value", "Kubernetes label value", "gpu nodes"),
    (m_taint_duplicate, "pools.yml", "InstancePool/dev-worker", "spec.taints[2]", "each key and effect pair once (also spec.taints[0]",
     {"key": "gpu", "value": "c", "effect": "NoSchedule"}),
    # static host addresses
    (m_host_ipv4, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[1].address", "four numbers 0..255", "192.0.2.300"),
    (m_host_port, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[1].address", "without a port", "192.0.2.30:22"),
    (m_host_network, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[1].address", "not a network", "192.0.2.0/24"),
    (m_host_dns, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[1].address", "a DNS name: labels of letters",
     "etcd_1.example.com"),
    (m_host_unspecified, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[1].address", "unspecified address", "::"),
    (m_host_duplicate_in_pool, "pools.yml", "InstancePool/dev-etcd", "spec.hosts[2].address",
     "an address no other host has (spec.hosts[0] has 192.0.2.21)", "192.0.2.21"),
    (m_host_duplicate_across_pools, "pools.yml", "InstancePool/dev-worker", "spec.hosts[0].address",
     "an address no other host has (InstancePool/dev-master spec.hosts[0] at ", "2001:DB8:0::1"),
    (m_host_duplicate_dns, "pools.yml", "InstancePool/dev-worker", "spec.hosts[0].address",
     "has node1.example.com)", "NODE1.example.com."),
    # open to the internet without the acknowledgement
    (m_admin_open, "provider.yml", "Provider/local", "spec.amazon.adminCIDRs[1]",
     "does not open SSH to the bastion to the whole internet", "0.0.0.0/0"),
    (m_api_open_halves, "cluster.yml", "Cluster/dev", "spec.apiServer.allowedCIDRs[1]",
     "spec.apiServer.acknowledgeOpenToInternet: true", "128.0.0.0/1"),
    (m_api_open_ipv6, "cluster.yml", "Cluster/dev", "spec.apiServer.allowedCIDRs[1]", "more than a /16", "::/0"),
    (m_api_open_from_env, "cluster.yml", "Cluster/dev", "spec.apiServer.allowedCIDRs[0]", "(value from Environment/dev (",
     "0.0.0.0/0"),
    # a value compared against a built-in default says so
    (m_subnet_outside_default_vpc, "cluster.yml", "Cluster/dev", "spec.network.zones[0].privateCIDR",
     "within spec.network.vpcCIDR (10.98.0.0/20, the built-in default (builtin:network))", "10.97.0.0/24"),
]


def _errors(tmp_path, mutate):
    files = base_model()
    mutate(files)
    directory = write(tmp_path / "model", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    return directory, info.value.errors


@pytest.mark.parametrize("mutate,file,resource,path,expected,value", CASES, ids=[c[0].__name__ for c in CASES])
def test_invalid_model(tmp_path, mutate, file, resource, path, expected, value):
    directory, errors = _errors(tmp_path, mutate)
    matching = [e for e in errors if e.resource == resource and e.path == path]
    assert matching, "no error at %s %s; got:\n%s" % (resource, path, "\n".join(map(str, errors)))
    err = next((e for e in matching if expected in e.expected), None)
    assert err is not None, "expected %r in one of %s" % (expected, [e.expected for e in matching])
    assert err.file == str(directory / file)
    data = err.to_dict()
    assert data["value"] == value
    # the line points into the file, at the field (or its closest existing parent)
    assert isinstance(err.line, int) and err.line >= 1
    assert err.line <= len((directory / file).read_text().splitlines())
    text = str(err)
    assert text.startswith("%s:%d: %s: %s: " % (err.file, err.line, resource, path))
    assert ": expected " in text


def test_at_least_25_distinct_cases():
    assert len(set((c[3], c[4]) for c in CASES)) >= 70


def test_error_line_is_the_field(tmp_path):
    directory, errors = _errors(tmp_path, m_etcd_even)
    err = next(e for e in errors if e.path == "spec.count")
    line = (directory / "pools.yml").read_text().splitlines()[err.line - 1]
    assert line.strip() == "count: 2"


def test_malformed_yaml_names_file_and_line(tmp_path):
    files = base_model()
    files["broken.yml"] = "apiVersion: apron.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: [unclosed\nspec: {}\n"
    directory = write(tmp_path / "model", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    errors = [e for e in info.value.errors if e.file == str(directory / "broken.yml")]
    assert len(errors) == 1
    assert errors[0].line == 5
    assert errors[0].expected.startswith("valid YAML")
    assert str(errors[0]).startswith(str(directory / "broken.yml") + ":5: ")


def test_duplicate_yaml_key(tmp_path):
    files = base_model()
    files["dup.yml"] = ("apiVersion: apron.io/v1alpha1\nkind: InstancePool\nmetadata: {name: dev-extra}\n"
                        "spec:\n  cluster: dev\n  role: worker\n  role: master\n")
    directory = write(tmp_path / "model", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    err = next(e for e in info.value.errors if e.file.endswith("dup.yml"))
    assert err.path == "spec.role" and err.line == 7 and "first at line 6" in err.expected


def test_non_mapping_document(tmp_path):
    files = base_model()
    files["list.yml"] = "- a\n- b\n"
    directory = write(tmp_path / "model", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    err = next(e for e in info.value.errors if e.file.endswith("list.yml"))
    assert err.value == ["a", "b"] and "a mapping" in err.expected


@pytest.mark.parametrize("paths", [[], ["/nonexistent/model"], "/nonexistent/file.yml"])
def test_missing_paths(paths):
    with pytest.raises(ModelValidationError) as info:
        load_model(paths)
    assert info.value.errors


def test_empty_directory(tmp_path):
    with pytest.raises(ModelValidationError) as info:
        load_model(str(tmp_path))
    assert "a directory with *.yml" in info.value.errors[0].expected
