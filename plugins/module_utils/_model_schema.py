# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The JSON Schema of the apron.io/v1alpha1 cluster model, as a Python dict.

This is the single source of truth: ``meta/schemas/apron.io_v1alpha1.schema.json`` is
generated from it by ``scripts/gen-schema.py`` (a unit test keeps both in sync).
Only a small, well-defined subset of JSON Schema (draft 2020-12) is used so that
``_model_validate`` can check it without the ``jsonschema`` library and report exact
field paths: type, enum, const, pattern, minLength, maxLength, minimum, maximum, minItems,
uniqueItems, items, properties, required, additionalProperties, propertyNames,
$ref (local ``#/$defs/...``), allOf and if/then, and ``format`` with the apron formats
``k8s-qualified-name``, ``k8s-label-value`` and ``host-address`` (checked exactly in Python;
other validators treat an unknown format as an annotation, the pattern next to it still applies).
"""
from __future__ import annotations

import copy

API_VERSION = "apron.io/v1alpha1"
KINDS = ("Provider", "Environment", "Cluster", "InstancePool")
ROLES = ("bastion", "vault", "etcd", "master", "worker")
PROVIDER_TYPES = ("amazon", "local", "static")

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_DESCRIPTION = (
    "a DNS-1123 label: at most 63 lower-case letters, digits or '-', starting and ending "
    "with a letter or digit"
)
CIDR_PATTERN = r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"
KUBERNETES_VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+$"
AWS_REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"

# Kubernetes label keys, taint keys and annotation keys: a qualified name (optional DNS-1123
# subdomain prefix of at most 253 characters and '/', then a name of at most 63 characters).
# ``format`` names the exact check of _model_validate (FORMATS); the pattern is for editors.
QUALIFIED_NAME_PATTERN = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                          r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
QUALIFIED_NAME_DESCRIPTION = (
    "a Kubernetes qualified name: an optional DNS subdomain prefix (at most 253 lower-case letters, digits, "
    "'-' or '.') and '/', then a name of at most 63 letters, digits, '-', '_' or '.' starting and ending "
    "with a letter or digit (e.g. apron.io/pool)"
)
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_VALUE_DESCRIPTION = (
    "a Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' or '.' starting and ending "
    "with a letter or digit (a string: quote true, 1.0 ...)"
)
HOST_ADDRESS_DESCRIPTION = "an IPv4 address, an IPv6 address or a DNS name (no port, no prefix length)"


def _name(description=DNS1123_DESCRIPTION):
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": 63,
        "pattern": DNS1123_LABEL,
        "description": description,
    }


def _cidr(description="an IPv4 network in CIDR notation, e.g. 10.98.0.0/20"):
    return {"type": "string", "pattern": CIDR_PATTERN, "description": description}


def _nullable(schema):
    schema = copy.deepcopy(schema)
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    schema["type"] = list(types) + ["null"]
    return schema


def _qualified_name():
    return {"type": "string", "format": "k8s-qualified-name", "pattern": QUALIFIED_NAME_PATTERN,
            "maxLength": 317, "description": QUALIFIED_NAME_DESCRIPTION}


def _label_value():
    return {"type": "string", "format": "k8s-label-value", "pattern": LABEL_VALUE_PATTERN, "maxLength": 63,
            "description": LABEL_VALUE_DESCRIPTION}


def _labels(description="map Kubernetes label key -> value"):
    return {"type": "object", "propertyNames": _qualified_name(), "additionalProperties": _label_value(),
            "description": description}


_ACKNOWLEDGE_OPEN = {
    "type": "boolean",
    "description": "true to allow a CIDR open to the whole internet in the list next to it (0.0.0.0/0, ::/0, "
                   "or any network wider than /8 (IPv4) or /16 (IPv6)); a warning is printed",
}

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_BOOL = {"type": "boolean"}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535, "description": "a TCP port 1..65535"}


def _object(properties, required=(), description=None):
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _string_map(description):
    return {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": description,
    }


# ---------------------------------------------------------------- Provider
_AMAZON = _object(
    {
        "regions": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": AWS_REGION_PATTERN, "description": "an AWS region name, e.g. eu-west-1"},
            "description": "AWS regions; the first is the primary region",
        },
        "profile": _NULLABLE_STRING,
        "roleArn": {"type": ["string", "null"], "pattern": r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
                    "description": "an IAM role ARN, e.g. arn:aws:iam::123456789012:role/apron"},
        "keyName": _NULLABLE_STRING,
        "adminCIDRs": {"type": "array", "items": _cidr(), "description": "who may reach the bastion over SSH"},
        "acknowledgeOpenToInternet": copy.deepcopy(_ACKNOWLEDGE_OPEN),
        "endpointURL": {"type": ["string", "null"], "pattern": r"^https?://", "description": "an http(s) URL"},
    },
    required=["regions"],
)

_LOCAL = _object(
    {
        "image": {"type": "string", "minLength": 1},
        "sshPort": _PORT,
        "sshUser": _name("a user name (DNS-1123 label)"),
        "sshKeyPath": {"type": "string", "minLength": 1,
                       "description": "path of the private key (relative to the repository / working directory)"},
    }
)

_STATIC = _object(
    {
        "sshUser": _name("a user name (DNS-1123 label)"),
        "sshPort": _PORT,
        "sshKeyPath": _NULLABLE_STRING,
    }
)

_PROVIDER_SPEC = _object(
    {
        "type": {"type": "string", "enum": list(PROVIDER_TYPES)},
        "amazon": _AMAZON,
        "local": _LOCAL,
        "static": _STATIC,
    },
    required=["type"],
)

# ---------------------------------------------------------------- Cluster settings
_ZONE = _object(
    {
        "name": _name("a zone name (DNS-1123 label)"),
        "privateCIDR": _nullable(_cidr()),
        "publicCIDR": _nullable(_cidr()),
    },
    required=["name"],
)

_EXISTING_VPC = _object(
    {
        "vpcId": {"type": "string", "pattern": r"^vpc-[0-9a-f]+$", "description": "a VPC id, e.g. vpc-0abc123"},
        "privateSubnetIds": _string_map("map zone -> subnet id"),
        "publicSubnetIds": _string_map("map zone -> subnet id"),
    },
    required=["vpcId"],
)

_NETWORK = _object(
    {
        "vpcCIDR": _cidr(),
        "existingVPC": _nullable(_EXISTING_VPC),
        "zones": {"type": "array", "minItems": 1, "items": _ZONE},
        "podCIDR": _cidr(),
        "serviceCIDR": _cidr(),
        "clusterDomain": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                          "description": "a DNS domain, e.g. cluster.local"},
        "overlay": {"type": "string", "enum": ["calico", "flannel", "cilium"]},
    }
)

_API_SERVER = _object(
    {
        "exposure": {"type": "string", "enum": ["private", "public"]},
        "allowedCIDRs": {"type": "array", "items": _cidr()},
        "acknowledgeOpenToInternet": copy.deepcopy(_ACKNOWLEDGE_OPEN),
    }
)

_FEATURES = _object(
    {
        "oidc": _object(
            {
                "enabled": _BOOL,
                "issuerURL": {"type": ["string", "null"], "pattern": r"^https://", "description": "an https URL"},
                "clientID": _NULLABLE_STRING,
            }
        ),
        "auditLogging": _object({"enabled": _BOOL}),
        "encryptionAtRest": _object({"enabled": _BOOL}),
        "podSecurity": _object({"enforce": {"type": "string", "enum": ["privileged", "baseline", "restricted"]}}),
    }
)

_ADDON = _object(
    {
        "name": _name("an addon name"),
        "version": _NULLABLE_STRING,
        "values": {"type": "object"},
    },
    required=["name"],
)

_CLUSTER_SETTINGS = {
    "kubernetesVersion": {
        "type": "string",
        "pattern": KUBERNETES_VERSION_PATTERN,
        "description": "a full Kubernetes version x.y.z as a string, e.g. \"1.36.0\"",
    },
    "network": _NETWORK,
    "apiServer": _API_SERVER,
    "features": _FEATURES,
    "addons": {"type": "array", "items": _ADDON},
}

_CLUSTER_SPEC = _object(
    dict(
        {
            "environment": _name("the name of an Environment"),
            "type": {"type": "string", "enum": ["cluster", "hub"]},
        },
        **copy.deepcopy(_CLUSTER_SETTINGS)
    ),
    required=["environment"],
)

# ---------------------------------------------------------------- InstancePool settings
_VOLUME = _object(
    {
        "name": _name("a volume name"),
        "sizeGiB": {"type": "integer", "minimum": 1, "maximum": 16384, "description": "an integer number of GiB (1..16384)"},
        "type": {"type": "string", "minLength": 1, "description": "ssd, hdd or a provider volume type"},
    },
    required=["name", "sizeGiB"],
)

_TAINT = _object(
    {
        "key": _qualified_name(),
        "value": _nullable(_label_value()),
        "effect": {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
    },
    required=["key", "effect"],
)

_COUNT = {"type": "integer", "minimum": 0, "maximum": 1000, "description": "an integer 0..1000"}

_POOL_SETTINGS = {
    "count": _COUNT,
    "minCount": _COUNT,
    "maxCount": _COUNT,
    "size": {"type": "string", "minLength": 1, "description": "tiny, small, medium, large or an instance type"},
    "zones": {"type": "array", "minItems": 1, "uniqueItems": True, "items": _name("a zone name (DNS-1123 label)")},
    "volumes": {"type": "array", "items": _VOLUME},
    "labels": _labels(),
    "taints": {"type": "array", "items": _TAINT},
    "image": {"type": "string", "minLength": 1},
}

_HOST = _object(
    {
        "name": _name("a host name (DNS-1123 label)"),
        "address": {"type": "string", "format": "host-address", "minLength": 1,
                    "description": HOST_ADDRESS_DESCRIPTION},
        "zone": _name("a zone name (DNS-1123 label)"),
    },
    required=["name", "address"],
)

_POOL_SPEC = _object(
    dict(
        {
            "cluster": _name("the name of a Cluster"),
            "role": {"type": "string", "enum": list(ROLES)},
            "hosts": {"type": "array", "items": _HOST},
        },
        **copy.deepcopy(_POOL_SETTINGS)
    ),
    required=["cluster", "role"],
)

# ---------------------------------------------------------------- Environment
_ADMIN_USER = _object(
    {
        "name": _name("a user name (DNS-1123 label)"),
        "keys": {"type": "array", "items": {"type": "string", "pattern": r"^(ssh-|ecdsa-|sk-)",
                                            "description": "an OpenSSH public key line"}},
    },
    required=["name"],
)

_STATE = _object(
    {
        "backend": {"type": "string", "enum": ["s3", "local"]},
        "bucket": {"type": ["string", "null"], "pattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                   "description": "an S3 bucket name"},
        "region": {"type": ["string", "null"], "pattern": AWS_REGION_PATTERN, "description": "an AWS region name"},
        "lockTable": _NULLABLE_STRING,
        "kmsKeyAlias": {"type": ["string", "null"], "pattern": r"^alias/", "description": "a KMS alias, alias/..."},
        "endpointURL": {"type": ["string", "null"], "pattern": r"^https?://", "description": "an http(s) URL"},
        "path": {"type": ["string", "null"],
                 "description": "local backend: state directory (relative to the model file's directory)"},
    }
)

_ENV_DEFAULTS = _object(
    {
        "cluster": _object(copy.deepcopy(_CLUSTER_SETTINGS)),
        "instancePools": _object(
            dict(
                {"all": _object(copy.deepcopy(_POOL_SETTINGS))},
                **dict((role, _object(copy.deepcopy(_POOL_SETTINGS))) for role in ROLES)
            )
        ),
    }
)

_ENVIRONMENT_SPEC = _object(
    {
        "provider": _name("the name of a Provider"),
        "project": _name("a project name"),
        "contact": _NULLABLE_STRING,
        "mode": {"type": "string", "enum": ["single", "multi"]},
        "hub": _nullable(_name("the name of the hub Cluster")),
        "privateZone": {"type": ["string", "null"], "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                        "description": "a DNS domain"},
        "adminUsers": {"type": "array", "items": _ADMIN_USER},
        "state": _STATE,
        "defaults": _ENV_DEFAULTS,
    },
    required=["provider"],
)

# ---------------------------------------------------------------- documents
_METADATA = _object(
    {
        "name": _name(),
        "labels": _labels(),
        "annotations": {"type": "object", "propertyNames": _qualified_name(), "additionalProperties": {"type": "string"},
                        "description": "map Kubernetes annotation key -> value"},
    },
    required=["name"],
)


def _document(kind, spec_ref):
    return _object(
        {
            "apiVersion": {"type": "string", "const": API_VERSION},
            "kind": {"type": "string", "const": kind},
            "metadata": {"$ref": "#/$defs/Metadata"},
            "spec": {"$ref": spec_ref},
        },
        required=["apiVersion", "kind", "metadata", "spec"],
    )


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://apron.io/schemas/apron.io_v1alpha1.schema.json",
    "title": "apron.cluster model apron.io/v1alpha1 (Provider, Environment, Cluster, InstancePool)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"type": "string", "const": API_VERSION},
        "kind": {"type": "string", "enum": list(KINDS)},
    },
    "allOf": [
        {
            "if": {"type": "object", "required": ["kind"], "properties": {"kind": {"const": kind}}},
            "then": {"$ref": "#/$defs/%s" % kind},
        }
        for kind in KINDS
    ],
    "$defs": {
        "Metadata": _METADATA,
        "Provider": _document("Provider", "#/$defs/ProviderSpec"),
        "ProviderSpec": _PROVIDER_SPEC,
        "Environment": _document("Environment", "#/$defs/EnvironmentSpec"),
        "EnvironmentSpec": _ENVIRONMENT_SPEC,
        "Cluster": _document("Cluster", "#/$defs/ClusterSpec"),
        "ClusterSpec": _CLUSTER_SPEC,
        "InstancePool": _document("InstancePool", "#/$defs/InstancePoolSpec"),
        "InstancePoolSpec": _POOL_SPEC,
    },
}


def schema():
    """A deep copy of the schema (callers may not mutate the module constant)."""
    return copy.deepcopy(SCHEMA)
