# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Built-in defaults of the cluster model (modeled on Tarmak): per role, per provider,
size aliases, volume types and network defaults. Plain data, no logic beyond lookups."""
from __future__ import annotations

import copy

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_releases as _releases

# The supported minors and the default version belong to the release manifest (one owner).
SUPPORTED_KUBERNETES_MINORS = _releases.SUPPORTED_KUBERNETES_MINORS
DEFAULT_KUBERNETES_VERSION = _releases.DEFAULT_KUBERNETES_VERSION

# Size aliases -> instance types, per provider type. Any other string passes through.
SIZES = {
    "amazon": {"tiny": "t3.small", "small": "t3.medium", "medium": "m5.large", "large": "m5.xlarge"},
}
SIZE_ALIASES = ("tiny", "small", "medium", "large")

# Volume type aliases -> provider volume types. Any other string passes through.
VOLUME_TYPES = {
    "amazon": {"ssd": "gp3", "hdd": "st1"},
}

NETWORK = {
    "vpcCIDR": "10.98.0.0/20",
    "existingVPC": None,
    "podCIDR": "10.234.0.0/16",
    "serviceCIDR": "10.254.0.0/16",
    "clusterDomain": "cluster.local",
    "overlay": "calico",
}


def _vol(name, size):
    return {"name": name, "sizeGiB": size, "type": "ssd"}


# Per-role defaults (the table in docs/model.md).
ROLES = {
    "bastion": {"count": 1, "size": "tiny", "volumes": [_vol("root", 16)]},
    "vault": {"count": 3, "size": "tiny", "volumes": [_vol("root", 16), _vol("data", 5)]},
    "etcd": {"count": 3, "size": "small", "volumes": [_vol("root", 16), _vol("data", 5)]},
    "master": {"count": 1, "size": "medium", "volumes": [_vol("root", 16)]},
    "worker": {"count": 3, "size": "medium", "volumes": [_vol("root", 16), _vol("docker", 50)]},
}
STATEFUL_ROLES = ("etcd", "vault")
# Roles that live on the hub in multi-cluster environments (or on the single cluster).
HUB_ROLES = ("bastion", "vault")

# Every pool, every role.
POOL_COMMON = {"labels": {}, "taints": []}

# Per provider type, applied after the role defaults.
POOL_BY_PROVIDER = {
    "amazon": {"image": "debian-12"},
    # local: every role defaults to one instance; the image comes from Provider.spec.local.image.
    "local": {"count": 1},
    "static": {},
}

PROVIDER = {
    "amazon": {"profile": None, "roleArn": None, "keyName": None, "adminCIDRs": [], "acknowledgeOpenToInternet": False,
               "endpointURL": None},
    "local": {
        "image": "localhost/apron-debian:bookworm",
        "sshPort": 2222,
        "sshUser": "apron",
        "sshKeyPath": ".apron/ssh/id_ed25519",
    },
    "static": {"sshUser": "apron", "sshPort": 22, "sshKeyPath": None},
}

CLUSTER = {
    "type": "cluster",
    "kubernetesVersion": DEFAULT_KUBERNETES_VERSION,
    "network": NETWORK,
    "apiServer": {"exposure": "private", "allowedCIDRs": [], "acknowledgeOpenToInternet": False},
    "features": {
        "oidc": {"enabled": False, "issuerURL": None, "clientID": None},
        "auditLogging": {"enabled": True},
        "encryptionAtRest": {"enabled": True},
        "podSecurity": {"enforce": "baseline"},
    },
    "addons": [{"name": "calico"}, {"name": "coredns"}],
}

ENVIRONMENT = {
    "contact": None,
    "mode": "single",
    "hub": None,
    "adminUsers": [],
    "defaults": {},
}


def role_defaults(role):
    return copy.deepcopy(ROLES.get(role, {}))


def provider_defaults(provider_type):
    return copy.deepcopy(PROVIDER.get(provider_type, {}))


def instance_type(provider_type, size):
    """The instance type of a size alias for a provider type (other strings pass through)."""
    return SIZES.get(provider_type, {}).get(size, size)


def volume_type(provider_type, type_):
    return VOLUME_TYPES.get(provider_type, {}).get(type_, type_)


def state_defaults(provider_type, environment, project, primary_region):
    """Default remote-state settings: s3 for amazon, the local backend elsewhere."""
    if provider_type == "amazon":
        prefix = "%s-%s" % (project, environment)
        return {
            "backend": "s3",
            "bucket": "%s-state" % prefix,
            "region": primary_region,
            "lockTable": "%s-lock" % prefix,
            "kmsKeyAlias": "alias/%s" % prefix,
            "endpointURL": None,
            "path": None,
        }
    return {
        "backend": "local",
        "bucket": None,
        "region": None,
        "lockTable": None,
        "kmsKeyAlias": None,
        "endpointURL": None,
        "path": None,
    }
