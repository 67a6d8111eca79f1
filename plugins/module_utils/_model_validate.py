# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Validation of the cluster model: the JSON Schema (own checker, exact field paths, no
``jsonschema`` needed) and the semantic checks. Every check appends to ``errors``; nothing
stops at the first problem."""
from __future__ import annotations

import copy
import difflib
import ipaddress
import re

from ansible_collections.apron.cluster.plugins.module_utils import _model_defaults as D
from ansible_collections.apron.cluster.plugins.module_utils._model_errors import (
    MISSING,
    ModelError,
    ModelWarning,
    format_path,
    show,
)
from ansible_collections.apron.cluster.plugins.module_utils._model_schema import (
    API_VERSION,
    CIDR_PATTERN,
    KINDS,
    PROVIDER_TYPES,
    SCHEMA,
)
from ansible_collections.apron.cluster.plugins.module_utils._model_types import Resource

# ======================================================================= formats

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_HOSTNAME_LABEL = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")


def qualified_name_problem(value):
    """Why ``value`` is not a Kubernetes qualified name (label key, taint key), None if it is.
    The rules of k8s.io/apimachinery IsQualifiedName."""
    parts = value.split("/")
    if len(parts) > 2:
        return "at most one '/' (between the prefix and the name)"
    if len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return "a prefix before the '/'"
        if len(prefix) > 253:
            return "a prefix of at most 253 characters (it has %d)" % len(prefix)
        if not _DNS1123_SUBDOMAIN.match(prefix):
            return "a prefix that is a DNS subdomain: lower-case letters, digits, '-' and '.', " \
                   "starting and ending with a letter or digit (not %s)" % show(prefix)
    else:
        name = parts[0]
    if not name:
        return "a name (after the prefix)" if len(parts) == 2 else "a non-empty name"
    if len(name) > 63:
        return "a name of at most 63 characters (it has %d)" % len(name)
    if not _QUALIFIED_NAME_PART.match(name):
        return "a name of letters, digits, '-', '_' and '.', starting and ending with a letter or digit " \
               "(not %s)" % show(name)
    return None


def label_value_problem(value):
    """Why ``value`` is not a Kubernetes label value (also a taint value), None if it is."""
    if value == "":
        return None
    if len(value) > 63:
        return "at most 63 characters (it has %d)" % len(value)
    if not _QUALIFIED_NAME_PART.match(value):
        return "only letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    return None


def host_address_problem(value):
    """Why ``value`` is not an address SSH can connect to (IPv4, IPv6 or a DNS name), None if it is."""
    if not value or value != value.strip() or any(ch.isspace() for ch in value):
        return "no spaces"
    if value.startswith("[") and value.endswith("]"):
        return "an IPv6 address without brackets"
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is not None:
        if address.is_unspecified:
            return "the address of a host (%s is the unspecified address)" % value
        if address.is_multicast:
            return "the address of a host (%s is a multicast address)" % value
        return None
    if "/" in value:
        return "an address, not a network (no /prefix length)"
    if re.match(r"^[^:]+:[0-9]+$", value) or re.match(r"^\[.*\]:[0-9]+$", value):
        return "an address without a port (the SSH port is Provider.spec.static.sshPort)"
    if ":" in value:
        return "a valid IPv6 address"
    if re.match(r"^[0-9.]+$", value):
        return "a valid IPv4 address: four numbers 0..255 without leading zeros"
    name = value[:-1] if value.endswith(".") else value
    if len(name) > 253:
        return "a DNS name of at most 253 characters"
    for label in name.split("."):
        if len(label) > 63:
            return "a DNS name whose labels have at most 63 characters"
        if not _HOSTNAME_LABEL.match(label):
            return "a DNS name: labels of letters, digits and '-', separated by '.'"
    if re.match(r"^[0-9]+$", name.split(".")[-1]):
        return "a valid IPv4 address or a DNS name whose last label is not all digits"
    return None


# format name (in the schema) -> problem function (None when the value is fine)
FORMATS = {
    "k8s-qualified-name": qualified_name_problem,
    "k8s-label-value": label_value_problem,
    "host-address": host_address_problem,
}


def suggest(value, choices):
    """The choice ``value`` is probably a typo of (None if none is close)."""
    if not isinstance(value, str):
        return None
    choices = [c for c in choices if isinstance(c, str)]
    for choice in choices:
        if choice.lower() == value.lower() and choice != value:
            return choice
    found = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _did_you_mean(value, choices):
    match = suggest(value, choices)
    return "; did you mean %s?" % match if match else ""

# ======================================================================= schema


def _type_ok(name, value):
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "null":
        return value is None
    return True


def _deref(schema, root):
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("only local $ref are supported: %s" % ref)
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _describe(schema, root):
    schema = _deref(schema, root)
    if "description" in schema:
        return schema["description"]
    if "enum" in schema:
        return "one of %s" % ", ".join(str(v) for v in schema["enum"])
    types = schema.get("type")
    if isinstance(types, list):
        return " or ".join(types)
    return types or "a value"


def schema_errors(schema, value, path=(), root=None):
    """Check ``value`` against ``schema``; return [(path tuple, value, expected), ...]."""
    root = SCHEMA if root is None else root
    errors = []
    _check(schema, value, tuple(path), errors, root)
    return errors


def _check(schema, value, path, errors, root):
    schema = _deref(schema, root)
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(name, value) for name in names):
            expected = "type %s" % " or ".join(names)
            if "description" in schema:
                expected += " (%s)" % schema["description"]
            errors.append((path, value, expected))
            return
    if "const" in schema and value != schema["const"]:
        errors.append((path, value, "exactly %s" % show(schema["const"])))
    if "enum" in schema and value not in schema["enum"]:
        errors.append((path, value, "one of %s%s" % (", ".join(str(v) for v in schema["enum"]),
                                                     _did_you_mean(value, schema["enum"]))))
    if isinstance(value, str) and schema.get("format") in FORMATS:
        problem = FORMATS[schema["format"]](value)
        if problem:
            errors.append((path, value, "%s: %s" % (schema.get("description") or schema["format"], problem)))
    elif isinstance(value, str):
        too_short = "minLength" in schema and len(value) < schema["minLength"]
        too_long = "maxLength" in schema and len(value) > schema["maxLength"]
        bad = "pattern" in schema and re.search(schema["pattern"], value) is None
        if too_short or too_long or bad:
            if "description" in schema:
                errors.append((path, value, schema["description"]))
            elif too_short:
                errors.append((path, value, "a string of at least %d character(s)" % schema["minLength"]))
            elif too_long:
                errors.append((path, value, "a string of at most %d characters" % schema["maxLength"]))
            else:
                errors.append((path, value, "a string matching %s" % schema["pattern"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]):
            errors.append((path, value, schema.get("description") or "a number in %s..%s" % (
                schema.get("minimum", "-inf"), schema.get("maximum", "inf"))))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append((path, value, "a list of at least %d item(s)" % schema["minItems"]))
        if schema.get("uniqueItems"):
            seen = []
            for index, item in enumerate(value):
                if item in seen:
                    errors.append((path + (index,), item, "each item once in the list (duplicate)"))
                else:
                    seen.append(item)
        if "items" in schema:
            for index, item in enumerate(value):
                _check(schema["items"], item, path + (index,), errors, root)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                sub = properties.get(key)
                expected = "a required field"
                if sub is not None:
                    expected += " (%s)" % _describe(sub, root)
                errors.append((path + (key,), MISSING, expected))
        additional = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                _check(properties[key], item, path + (key,), errors, root)
            elif additional is False:
                errors.append((path + (key,), item, "no field %s here%s (allowed: %s)" % (
                    show(key), _did_you_mean(key, properties), ", ".join(sorted(properties)))))
            elif isinstance(additional, dict):
                if not isinstance(key, str):
                    errors.append((path + (str(key),), key, "string keys"))
                _check(additional, item, path + (key,), errors, root)
        if "propertyNames" in schema:
            for key in value:
                _check(schema["propertyNames"], key, path + (key,), errors, root)
    for sub in schema.get("allOf", ()):
        _check(sub, value, path, errors, root)
    if "if" in schema:
        probe = []
        _check(schema["if"], value, path, probe, root)
        if not probe and "then" in schema:
            _check(schema["then"], value, path, errors, root)
        elif probe and "else" in schema:
            _check(schema["else"], value, path, errors, root)


# Fields that place a resource in the model: when one of them is wrong, the checks that count a
# parent's members (clusters of an environment, pools of a cluster) cannot be trusted.
LINK_FIELDS = {
    "Provider": ("type",),
    "Environment": ("provider", "mode", "hub"),
    "Cluster": ("environment", "type"),
    "InstancePool": ("cluster", "role"),
}
_SUGGESTION = re.compile(r"; did you mean (.+?)\?")


def guess_kind(data):
    """The kind a rejected document was probably meant to be (from its kind or its spec), or None."""
    kind = data.get("kind")
    if isinstance(kind, str):
        match = kind if kind in KINDS else suggest(kind, KINDS)
        if match:
            return match
    spec = data.get("spec")
    if isinstance(spec, dict):
        if "cluster" in spec or "role" in spec:
            return "InstancePool"
        if "environment" in spec:
            return "Cluster"
        if "provider" in spec:
            return "Environment"
        if spec.get("type") in PROVIDER_TYPES:
            return "Provider"
    return None


class Rejected(object):
    """A document that did not become a resource (wrong kind, no name ...) and what it probably was:
    references to it and the counts it would have been part of follow from ``error``."""

    def __init__(self, kind, name, spec, error):
        self.kind = kind
        self.name = name
        self.spec = spec if isinstance(spec, dict) else {}
        self.error = error

    def link(self):
        """The parent name it names (spec.environment / spec.cluster / spec.provider), if any."""
        for key in ("cluster", "environment", "provider"):
            if isinstance(self.spec.get(key), str):
                return self.spec[key]
        return None


def check_document(file, index, data, lines, line, errors, rejected=None):
    """Schema-check one YAML document; return a Resource (or None when it cannot be one, then a
    :class:`Rejected` is appended to ``rejected``)."""
    def make(parts, value, expected, ref=None):
        found = None
        probe = tuple(parts)
        while probe and found is None:
            found = lines.get(probe)
            probe = probe[:-1]
        return ModelError(file, ref, parts, value, expected, line=found or line)

    if not isinstance(data, dict):
        errors.append(make((), data, "a mapping with apiVersion, kind, metadata and spec (document %d)" % (index + 1)))
        return None
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if kind in KINDS:
        ref = "%s/%s" % (kind, name if isinstance(name, str) else "<document %d>" % (index + 1))
    else:
        ref = "<document %d>" % (index + 1)
    problems = schema_errors(SCHEMA, data)
    made = []
    misspelt = {}  # intended path (a misspelt field's probable name) -> the unknown-field error
    for parts, value, expected in problems:
        if parts == ("apiVersion",) and value is not MISSING:
            expected = "exactly %s" % API_VERSION
        error = make(parts, value, expected, ref)
        made.append((tuple(parts), error))
        match = _SUGGESTION.search(expected)
        if value is not MISSING and expected.startswith("no field ") and match:
            misspelt[tuple(parts[:-1]) + (match.group(1),)] = error
    for parts, error in made:
        if error.value is MISSING and error.follows is None:
            error.follows = follow_on(parts, misspelt)
    errors.extend(error for dummy, error in made)
    if kind not in KINDS or not isinstance(name, str) or not name:
        if rejected is not None:
            root = next((error for parts, error in made if parts[:1] in (("kind",), ("metadata",))),
                        made[0][1] if made else None)
            rejected.append(Rejected(guess_kind(data), name if isinstance(name, str) else None, data.get("spec"), root))
        return None
    document = prune(data, [parts for parts, value, dummy in problems if value is not MISSING])
    if not isinstance(document.get("spec"), dict):
        document["spec"] = {}
    resource = Resource(kind, name, file, document, lines=lines, line=line, index=index)
    resource.valid = not problems
    resource.misspelt = misspelt
    resource.schema_errors = dict(made)
    resource.link_errors = [error for parts, error in made
                            if parts[:1] == ("kind",) or parts[:2] == ("metadata", "name")
                            or (len(parts) >= 2 and parts[0] == "spec" and parts[1] in LINK_FIELDS[kind])
                            or parts == ("spec",)]
    return resource


def follow_on(parts, misspelt):
    """The unknown-field error a problem at ``parts`` follows from (a misspelt field above it), or None."""
    parts = tuple(parts)
    for intended, error in misspelt.items():
        if parts[:len(intended)] == intended:
            return error
    return None


_PRUNED = object()


def prune(data, paths):
    """A copy of ``data`` without the values at ``paths`` (reported by the schema already), so that
    inheritance and the semantic checks only ever see well-typed values."""
    data = copy.deepcopy(data)
    for parts in sorted(set(tuple(p) for p in paths), key=len, reverse=True):
        if not parts:
            continue
        node = data
        for key in parts[:-1]:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        last = parts[-1]
        if isinstance(node, dict) and last in node:
            del node[last]
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = _PRUNED
    return _drop_pruned(data)


def _drop_pruned(node):
    if isinstance(node, dict):
        return dict((k, _drop_pruned(v)) for k, v in node.items())
    if isinstance(node, list):
        return [_drop_pruned(v) for v in node if v is not _PRUNED]
    return node


# ======================================================================= semantics


def describe_source(source):
    """A provenance source as it reads in a message."""
    if source.startswith("builtin:"):
        return "the built-in default (%s)" % source
    return source


def _foreign(resource, source):
    """Whether ``source`` is not the resource's own document (an inherited or built-in value)."""
    return bool(source) and not source.startswith(resource.ref + " ") and not source.startswith("computed:")


class _Checker(object):
    def __init__(self, model, errors, rejected=()):
        self.model = model
        self.errors = errors
        self.rejected = list(rejected)
        self.broken = {}  # resource ref -> the root error that makes its place in the model uncertain
        self.parent = {}  # resource ref -> its (probable) parent's name; None when unknown

    def provenance(self, resource, parts):
        """The source of the value at ``parts`` (a list item: the source of its list)."""
        parts = tuple(parts)
        while parts:
            source = resource.provenance.get(format_path(parts))
            if source or not isinstance(parts[-1], int):
                return source
            parts = parts[:-1]
        return None

    def origin(self, resource, dotted):
        """'' for the resource's own value, else ', the built-in default (...)' / ', from Environment/...'."""
        source = self.provenance(resource, ("spec",) + tuple(dotted.split(".")))
        if not _foreign(resource, source):
            return ""
        return ", " + describe_source(source) if source.startswith("builtin:") else ", from " + source

    def pruned(self, resource, *dotted):
        """The schema error (or misspelt field) that left the value at one of the ``dotted`` paths below
        spec out, so that a default or nothing stands in for it: checks using it follow from that error."""
        for path in dotted:
            parts = ("spec",) + tuple(path.split(".")) if isinstance(path, str) else tuple(path)
            for k in range(len(parts), 0, -1):
                if parts[:k] in resource.schema_errors:
                    return resource.schema_errors[parts[:k]]
            root = follow_on(parts, resource.misspelt)
            if root is not None:
                return root
        return None

    def error(self, resource, parts, value, expected, follows=None):
        if isinstance(parts, str):
            parts = tuple(parts.split("."))
        line = resource.line_of(parts)
        own = self.provenance(resource, parts)
        if _foreign(resource, own) and value not in (None, [], {}, "", MISSING):
            expected = "%s (value from %s)" % (expected, describe_source(own))
        if follows is None:
            follows = self.pruned(resource, parts)
        err = ModelError(resource.file, resource.ref, parts, value, expected, line=line, follows=follows)
        self.errors.append(err)
        return err

    def warn(self, resource, parts, value, message):
        self.model.warnings.append(ModelWarning(resource.file, resource.ref, parts, value, message,
                                                line=resource.line_of(parts)))

    def unsure(self, env=None, cluster=None):
        """The root error that makes the members of ``env`` (its clusters and their pools) or of
        ``cluster`` (its pools) uncertain, or None: counting them then gives follow-on errors."""
        model = self.model
        envs = set([env.name]) if env is not None else set()
        names = set([cluster.name]) if cluster is not None else set(cl.name for cl in model.clusters_of(env))
        if envs:
            for cl in model.clusters.values():
                if cl.ref in self.broken and self.parent.get(cl.ref) in envs | set([None]):
                    return self.broken[cl.ref]
        for pool in model.pools.values():
            if pool.ref in self.broken and self.parent.get(pool.ref) in names | set([None]):
                return self.broken[pool.ref]
        for rej in self.rejected:
            if rej.kind is None or (rej.kind == "InstancePool" and rej.link() in names | set([None])) or (
                    envs and rej.kind == "Cluster" and rej.link() in envs | set([None])):
                return rej.error
        return None


def probable(value, names):
    """The name a dangling reference ``value`` was probably meant to be: a close match, else the only one."""
    names = sorted(names)
    match = suggest(value, names)
    if match:
        return match
    return names[0] if len(names) == 1 else None


_LINKS = (
    ("Environment", "provider", "Provider", "a Provider"),
    ("Cluster", "environment", "Environment", "an Environment"),
    ("InstancePool", "cluster", "Cluster", "a Cluster"),
)


def _check_links(c):
    """References (environment -> provider, cluster -> environment, pool -> cluster). A dangling one is
    a root error (or follows from the rejected document it names); its probable target is recorded so
    that the counts it upsets are marked as following from it instead of blaming other resources."""
    model = c.model
    for kind, field, target_kind, article in _LINKS:
        registry = model.by_kind(target_kind)
        for res in model.by_kind(kind).values():
            broken = res.link_errors[0] if res.link_errors else None
            value = res.effective.get(field)
            if isinstance(value, str) and value not in registry:
                expected = "the name of %s in the model (known: %s)%s" % (
                    article, ", ".join(sorted(registry)) or "none", _did_you_mean(value, registry))
                follows = None
                for rej in c.rejected:
                    if rej.name == value and rej.kind in (target_kind, None) and rej.error is not None:
                        expected += "; the document named %s at %s was rejected (see the error there)" % (
                            value, rej.error.location())
                        follows = rej.error
                        break
                target = registry.get(probable(value, registry) or "")
                name_error = target.schema_errors.get(("metadata", "name")) if target is not None else None
                if follows is None and name_error is not None:
                    expected = "the name of %s in the model (known: %s); probably %s, whose name is invalid " \
                               "(see the error there)" % (article, ", ".join(sorted(registry)), target.ref)
                    follows = name_error
                err = c.error(res, ("spec", field), value, expected, follows=follows)
                broken = broken or err
                c.parent[res.ref] = probable(value, registry)
            else:
                c.parent[res.ref] = value if isinstance(value, str) else None
            if broken is not None:
                c.broken[res.ref] = broken


def _network(cidr):
    if not isinstance(cidr, str):
        return None
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        return None


def _cidr_problem(cidr):
    """Why ``cidr`` is not a valid network (None if it is, or if the schema reports it already)."""
    if not isinstance(cidr, str) or not re.match(CIDR_PATTERN, cidr):
        return None
    address, prefix = cidr.rsplit("/", 1)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "%s is not an IPv4 or IPv6 address" % address
    if int(prefix) > ip.max_prefixlen:
        return "a prefix length of at most %d for IPv%d" % (ip.max_prefixlen, ip.version)
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return "no host bits set: the network is %s" % ipaddress.ip_network(cidr, strict=False)
    return None


# A network wider than this (a shorter prefix) counts as open to the whole internet: no single
# organisation holds more than an IPv4 /8; IPv4-mapped IPv6 (::ffff:0:0/96) counts as IPv4.
OPEN_PREFIX = {4: 8, 6: 16}
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def _too_wide(net):
    if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(_MAPPED):
        return net.prefixlen - 96 < OPEN_PREFIX[4]
    return net.prefixlen < OPEN_PREFIX[net.version]


def open_to_internet(cidrs):
    """``{index: range}`` for the CIDRs of ``cidrs`` that open to the whole internet: 0.0.0.0/0, ::/0,
    any network wider than /8 (IPv4) or /16 (IPv6), also when several of them together form one
    (0.0.0.0/1 + 128.0.0.0/1: both, with the range they form). A network inside another listed one
    is not blamed."""
    nets = [(i, _network(cidr)) for i, cidr in enumerate(cidrs or [])]
    nets = [(i, net) for i, net in nets if net is not None]
    wide = {}
    for version in (4, 6):
        family = [(i, net) for i, net in nets if net.version == version]
        for merged in ipaddress.collapse_addresses([net for dummy, net in family]):
            if not _too_wide(merged):
                continue
            for i, net in family:
                inside_other = any(j != i and net != other and net.subnet_of(other) or (net == other and j < i)
                                   for j, other in family)
                if net.subnet_of(merged) and not inside_other:
                    wide[i] = merged
    return wide


def _check_open(c, resource, parts, cidrs, ack_parts, what):
    """Open-to-the-internet CIDRs need the acknowledgement field next to them (then: a warning)."""
    ack = resource.get(".".join(ack_parts[1:])) is True
    wide = open_to_internet(cidrs)
    for i in sorted(wide):
        net = _network(cidrs[i])
        covers = "it covers more than a /%d" % OPEN_PREFIX[net.version]
        if wide[i] != net:
            covers = "with the others it covers %s" % wide[i]
        if ack:
            c.warn(resource, parts + (i,), cidrs[i], "%s is open to the whole internet (%s; acknowledged by %s)" % (
                what, covers, format_path(ack_parts)))
        else:
            c.error(resource, parts + (i,), cidrs[i],
                    "a CIDR that does not open %s to the whole internet (%s), or %s: true to allow it "
                    "knowingly" % (what, covers, format_path(ack_parts)))
    if ack and not wide:
        c.warn(resource, ack_parts, True, "has no effect: no CIDR opens %s to the whole internet "
                                          "(remove it, or it will silently allow the next one)" % what)


def _version_supported(version):
    match = re.match(r"^1\.([0-9]+)\.[0-9]+$", version or "")
    return bool(match) and int(match.group(1)) in D.SUPPORTED_KUBERNETES_MINORS


SUPPORTED_VERSIONS_TEXT = "a supported Kubernetes version 1.%d.x .. 1.%d.x (full x.y.z)" % (
    D.SUPPORTED_KUBERNETES_MINORS[0], D.SUPPORTED_KUBERNETES_MINORS[-1])


def _zone_problem(ptype, zone, regions):
    """None if ``zone`` is valid for the provider type, else the expectation."""
    if not isinstance(zone, str):
        return "a zone name"
    if ptype == "amazon":
        regions = [r for r in (regions or []) if isinstance(r, str)]
        for region in regions:
            if re.match(r"^%s[a-z]$" % re.escape(region), zone):
                return None
        return "an availability zone <region><letter> of one of the provider's regions (%s)" % ", ".join(regions)
    if ptype == "local":
        if re.match(r"^local-[a-z]$", zone):
            return None
        return "a local zone local-[a-z] (e.g. local-a)"
    # static: any DNS-1123 name, which the schema checks for every zone name already
    return None


def _region_of(zone, regions):
    for region in regions or []:
        if isinstance(region, str) and isinstance(zone, str) and re.match(r"^%s[a-z]$" % re.escape(region), zone):
            return region
    return None


def check_model(model, errors, rejected=()):
    """The semantic checks; errors go to ``errors``, warnings to ``model.warnings``. ``rejected``: the
    documents that did not become resources (their names explain dangling references)."""
    c = _Checker(model, errors, rejected)
    _check_links(c)
    for provider in model.providers.values():
        _check_provider(c, provider)
    for env in model.environments.values():
        _check_environment(c, env)
    for cluster in model.clusters.values():
        _check_cluster(c, cluster)
    for pool in model.pools.values():
        _check_pool(c, pool)
    _check_host_addresses(c)


def _check_provider(c, provider):
    spec = provider.effective
    ptype = spec.get("type")
    for other in PROVIDER_TYPES:
        if ptype is not None and other != ptype and isinstance(provider.spec, dict) and other in provider.spec:
            c.error(provider, ("spec", other), provider.spec[other],
                    "no %s settings on a provider of type %s (only spec.%s)" % (other, ptype, ptype))
    if ptype == "amazon":
        for i, cidr in enumerate(spec.get("amazon", {}).get("adminCIDRs") or []):
            problem = _cidr_problem(cidr)
            if problem:
                c.error(provider, ("spec", "amazon", "adminCIDRs", i), cidr, "a valid CIDR (%s)" % problem)
        amazon = spec.get("amazon", {})
        if amazon.get("profile") and amazon.get("roleArn"):
            c.error(provider, ("spec", "amazon", "roleArn"), amazon.get("roleArn"),
                    "either spec.amazon.profile or spec.amazon.roleArn, not both")
        _check_open(c, provider, ("spec", "amazon", "adminCIDRs"), amazon.get("adminCIDRs") or [],
                    ("spec", "amazon", "acknowledgeOpenToInternet"), "SSH to the bastion")


def _check_environment(c, env):
    model = c.model
    spec = env.effective
    clusters = model.clusters_of(env)
    mode = spec.get("mode")
    hub_name = spec.get("hub")
    state = spec.get("state") or {}
    if state.get("backend") == "s3":
        for key in ("bucket", "region", "lockTable"):
            if not state.get(key):
                c.error(env, ("spec", "state", key), state.get(key), "a value when spec.state.backend is s3")
    if state.get("backend") == "local" and state.get("bucket"):
        c.error(env, ("spec", "state", "bucket"), state.get("bucket"), "no bucket with the local state backend")

    # counts are uncertain (follow-on errors) while a cluster or pool that may belong here is broken
    unsure = c.unsure(env=env)
    if not clusters:
        c.error(env, ("spec",), None, "at least one Cluster with spec.environment: %s" % env.name, follows=unsure)
    bastions = [p for cl in clusters for p in model.pools_of(cl, "bastion")]
    if len(bastions) != 1:
        c.error(env, ("spec",), sorted(p.name for p in bastions),
                "exactly one bastion InstancePool in the environment (found %d)" % len(bastions), follows=unsure)
    vaults = [p for cl in clusters for p in model.pools_of(cl, "vault")]
    if len(vaults) > 1:
        c.error(env, ("spec",), sorted(p.name for p in vaults),
                "at most one vault InstancePool in the environment (found %d)" % len(vaults), follows=unsure)

    if mode == "single":
        if hub_name is not None:
            c.error(env, ("spec", "hub"), hub_name, "no hub in a single-cluster environment (mode: single)")
        if len(clusters) > 1:
            c.error(env, ("spec", "mode"), mode, "mode multi with a hub: %d clusters reference this environment (%s)" % (
                len(clusters), ", ".join(sorted(cl.name for cl in clusters))))
        for cl in clusters:
            if cl.effective.get("type") == "hub":
                c.error(cl, ("spec", "type"), "hub", "cluster (a hub exists only in multi-cluster environments)")
        if len(clusters) == 1:
            cl = clusters[0]
            for role in D.HUB_ROLES:
                if role == "bastion" and not bastions:
                    continue  # "exactly one bastion InstancePool in the environment (found 0)" says it
                if not model.pools_of(cl, role):
                    c.error(cl, ("spec",), None,
                            "a %s InstancePool in the only cluster of single-cluster environment %s" % (role, env.name),
                            follows=unsure)
    elif mode == "multi":
        hub = model.clusters.get(hub_name) if isinstance(hub_name, str) else None
        hub_error = None
        if hub_name is None:
            hub_error = c.error(env, ("spec", "hub"), None, "the name of the hub Cluster (mode: multi)%s" % (
                "; the hub is probably %s" % _only_hub(clusters).name if _only_hub(clusters) is not None else ""))
            hub = _only_hub(clusters)
        elif hub is None or hub.effective.get("environment") != env.name:
            names = sorted(cl.name for cl in clusters)
            hub_error = c.error(env, ("spec", "hub"), hub_name,
                                "the name of a Cluster of type hub in this environment (known: %s)%s" % (
                                    ", ".join(names) or "none", _did_you_mean(hub_name, names)))
            # go on with the hub it was probably meant to be, so nothing else is blamed for the typo
            match = suggest(hub_name, names)
            hub = model.clusters[match] if match else _only_hub(clusters)
        elif hub.effective.get("type") != "hub":
            c.error(hub, ("spec", "type"), hub.effective.get("type"), "hub (Environment/%s names it as spec.hub)" % env.name)
        misplaced = {}  # role -> the error of a bastion/vault pool on a non-hub cluster
        for cl in sorted(clusters, key=lambda item: item is hub) if hub is not None else ():
            if cl is hub:
                for role in D.HUB_ROLES:
                    if not model.pools_of(cl, role):
                        c.error(cl, ("spec",), None, "a %s InstancePool on hub cluster %s" % (role, cl.name),
                                follows=hub_error or misplaced.get(role) or unsure)
                for pool in model.pools_of(cl):
                    if pool.effective.get("role") not in D.HUB_ROLES:
                        c.error(pool, ("spec", "role"), pool.effective.get("role"),
                                "bastion or vault: the hub %s runs only shared tools" % cl.name, follows=hub_error)
                continue
            if cl.effective.get("type") == "hub":
                c.error(cl, ("spec", "type"), "hub", "cluster (the environment's hub is %s)" % hub.name,
                        follows=hub_error)
            for role in D.HUB_ROLES:
                for pool in model.pools_of(cl, role):
                    misplaced.setdefault(role, c.error(
                        pool, ("spec", "role"), role,
                        "no %s pool on non-hub cluster %s: the hub %s provides it" % (role, cl.name, hub.name),
                        follows=hub_error))
        if hub is not None and hub.effective.get("environment") == env.name:
            hub_zones = set(_zone_names(hub))
            for cl in clusters:
                if cl is hub:
                    continue
                for i, zone in enumerate(_zone_names(cl)):
                    if zone not in hub_zones:
                        c.error(cl, ("spec", "network", "zones", i, "name"), zone,
                                "a zone the hub %s covers (%s)" % (hub.name, ", ".join(sorted(hub_zones))),
                                follows=hub_error)
        # VPCs of one environment are peered with the hub: they must not overlap
        nets = []
        for cl in clusters:
            net = _network(cl.get("network.vpcCIDR"))
            if net is None:
                continue
            for other, other_net in nets:
                if net.overlaps(other_net):
                    c.error(cl, ("spec", "network", "vpcCIDR"), str(net),
                            "a VPC CIDR not overlapping Cluster/%s (%s) of the same environment" % (other.name, other_net))
            nets.append((cl, net))


def _only_hub(clusters):
    hubs = [cl for cl in clusters if cl.effective.get("type") == "hub"]
    return hubs[0] if len(hubs) == 1 else None


def _zone_names(cluster):
    zones = cluster.get("network.zones") or []
    return [z.get("name") for z in zones if isinstance(z, dict) and isinstance(z.get("name"), str)]


def _check_cluster(c, cluster):
    model = c.model
    spec = cluster.effective
    env_name = spec.get("environment")
    env = model.environments.get(env_name)
    provider = model.provider_of(env) if env is not None else None
    ptype = provider.effective.get("type") if provider is not None else None
    regions = provider.get("amazon.regions") if provider is not None else None

    version = spec.get("kubernetesVersion")
    if isinstance(version, str) and re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", version) and not _version_supported(version):
        c.error(cluster, ("spec", "kubernetesVersion"), version, SUPPORTED_VERSIONS_TEXT)

    network = spec.get("network") if isinstance(spec.get("network"), dict) else {}
    zones = network.get("zones")
    if not zones:
        c.error(cluster, ("spec", "network", "zones"), zones if zones is not None else MISSING,
                "a list of at least one zone {name, privateCIDR, publicCIDR}")
        zones = []
    cidrs = {}
    for key in ("vpcCIDR", "podCIDR", "serviceCIDR"):
        value = network.get(key)
        if value is None:
            continue
        problem = _cidr_problem(value)
        if problem:
            c.error(cluster, ("spec", "network", key), value, "a valid CIDR (%s)" % problem)
        elif _network(value) is not None:
            cidrs[key] = _network(value)
    vpc = cidrs.get("vpcCIDR")
    for a, b in (("podCIDR", "vpcCIDR"), ("serviceCIDR", "vpcCIDR"), ("serviceCIDR", "podCIDR")):
        if a in cidrs and b in cidrs and cidrs[a].overlaps(cidrs[b]):
            c.error(cluster, ("spec", "network", a), str(cidrs[a]),
                    "a CIDR not overlapping spec.network.%s (%s%s)" % (b, cidrs[b], c.origin(cluster, "network." + b)),
                    follows=c.pruned(cluster, "network." + a, "network." + b))

    seen_names = {}
    subnets = []
    zone_regions = set()
    for i, zone in enumerate(zones):
        if not isinstance(zone, dict):
            continue
        name = zone.get("name")
        if name in seen_names:
            c.error(cluster, ("spec", "network", "zones", i, "name"), name,
                    "a zone name unique in the cluster (also spec.network.zones[%d])" % seen_names[name])
        elif isinstance(name, str):
            seen_names[name] = i
        problem = _zone_problem(ptype, name, regions)
        if problem and isinstance(name, str):
            c.error(cluster, ("spec", "network", "zones", i, "name"), name, problem)
        region = _region_of(name, regions) if ptype == "amazon" else None
        if region:
            zone_regions.add(region)
        for key in ("privateCIDR", "publicCIDR"):
            value = zone.get(key)
            if value is None:
                continue
            parts = ("spec", "network", "zones", i, key)
            problem = _cidr_problem(value)
            if problem:
                c.error(cluster, parts, value, "a valid CIDR (%s)" % problem)
                continue
            net = _network(value)
            if net is None:
                continue
            if vpc is not None and not (net.version == vpc.version and net.subnet_of(vpc)):
                c.error(cluster, parts, value, "a subnet within spec.network.vpcCIDR (%s%s)" % (
                    vpc, c.origin(cluster, "network.vpcCIDR")), follows=c.pruned(cluster, parts, "network.vpcCIDR"))
            for other_parts, other in subnets:
                if net.overlaps(other):
                    c.error(cluster, parts, value, "a subnet not overlapping %s (%s)" % (format_path(other_parts), other))
            subnets.append((parts, net))
    if len(zone_regions) > 1:
        c.error(cluster, ("spec", "network", "zones"), sorted(seen_names),
                "zones of a single region (found %s)" % ", ".join(sorted(zone_regions)))
    given = [i for i, z in enumerate(zones) if isinstance(z, dict) and (z.get("privateCIDR") or z.get("publicCIDR"))]
    if given and cluster.valid:
        for i, zone in enumerate(zones):
            if isinstance(zone, dict) and not zone.get("privateCIDR"):
                c.error(cluster, ("spec", "network", "zones", i, "privateCIDR"), zone.get("privateCIDR", MISSING),
                        "a privateCIDR: subnets are given for all zones or for none (then allocated from vpcCIDR)")
    unallocated = [z for z in zones if isinstance(z, dict) and not z.get("privateCIDR")]
    if not given and unallocated and vpc is not None and network.get("existingVPC") is None:
        c.error(cluster, ("spec", "network", "zones"), [z.get("name") for z in zones if isinstance(z, dict)],
                "zones with privateCIDR/publicCIDR (the VPC %s is too small to allocate them)" % vpc)

    existing = network.get("existingVPC")
    if isinstance(existing, dict):
        if ptype is not None and ptype != "amazon":
            c.error(cluster, ("spec", "network", "existingVPC"), existing,
                    "null (existingVPC is for the amazon provider; this one is %s)" % ptype)
        for key in ("privateSubnetIds", "publicSubnetIds"):
            for zone in (existing.get(key) or {}):
                if zone not in seen_names:
                    c.error(cluster, ("spec", "network", "existingVPC", key, zone), zone,
                            "a zone of spec.network.zones (%s)" % ", ".join(sorted(seen_names)))

    api = spec.get("apiServer") or {}
    for i, cidr in enumerate(api.get("allowedCIDRs") or []):
        problem = _cidr_problem(cidr)
        if problem:
            c.error(cluster, ("spec", "apiServer", "allowedCIDRs", i), cidr, "a valid CIDR (%s)" % problem)
    # a private API server is reached from the VPC only, whatever its allowedCIDRs say
    _check_open(c, cluster, ("spec", "apiServer", "allowedCIDRs"),
                (api.get("allowedCIDRs") or []) if api.get("exposure") == "public" else [],
                ("spec", "apiServer", "acknowledgeOpenToInternet"), "the public API server")
    oidc = (spec.get("features") or {}).get("oidc") or {}
    if oidc.get("enabled"):
        for key in ("issuerURL", "clientID"):
            if not oidc.get(key):
                c.error(cluster, ("spec", "features", "oidc", key), oidc.get(key),
                        "a value when spec.features.oidc.enabled is true")
    addons = spec.get("addons") or []
    seen = {}
    for i, addon in enumerate(addons):
        name = addon.get("name") if isinstance(addon, dict) else None
        if name in seen:
            c.error(cluster, ("spec", "addons", i, "name"), name, "each addon once (also spec.addons[%d])" % seen[name])
        elif name is not None:
            seen[name] = i

    if spec.get("type") != "hub" and env is not None and (
            env.effective.get("mode") == "single" or env.effective.get("hub") != cluster.name):
        unsure = c.unsure(cluster=cluster)
        for role in ("etcd", "master"):
            if not model.pools_of(cluster, role):
                c.error(cluster, ("spec",), None, "%s %s InstancePool for Kubernetes cluster %s" % (
                    "an" if role == "etcd" else "a", role, cluster.name), follows=unsure)


def _check_pool(c, pool):
    model = c.model
    spec = pool.effective
    role = spec.get("role")
    cluster_name = spec.get("cluster")
    cluster = model.clusters.get(cluster_name)
    env = model.environment_of(cluster) if cluster is not None else None
    provider = model.provider_of(env) if env is not None else None
    ptype = provider.effective.get("type") if provider is not None else None

    count, low, high = spec.get("count"), spec.get("minCount"), spec.get("maxCount")
    ints = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (count, low, high))
    if ints:
        if low > high:
            c.error(pool, ("spec", "minCount"), low, "minCount <= maxCount (%d)" % high)
        elif not low <= count <= high:
            c.error(pool, ("spec", "count"), count, "a count within minCount..maxCount (%d..%d)" % (low, high))
        if role in D.STATEFUL_ROLES and low != high:
            c.error(pool, ("spec", "maxCount"), high,
                    "maxCount == minCount (%d): %s pools are stateful and do not autoscale" % (low, role))
        if role in D.STATEFUL_ROLES and count % 2 == 0:
            c.error(pool, ("spec", "count"), count, "an odd count (1, 3, 5...): %s needs a quorum" % role)
        if role == "bastion" and count != 1:
            c.error(pool, ("spec", "count"), count, "1 (one bastion instance per environment)")
        if role in ("etcd", "vault", "master") and count < 1:
            c.error(pool, ("spec", "count"), count, "at least 1 %s instance" % role)

    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        last = "%s-%d" % (pool.name, count - 1)
        if len(last) > 63:
            c.error(pool, ("metadata", "name"), pool.name,
                    "a shorter name: instance names <pool>-<index> (e.g. %s) must be DNS-1123 labels of at most 63 characters"
                    % last)

    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        names = [v.get("name") for v in volumes if isinstance(v, dict)]
        if "root" not in names:
            c.error(pool, ("spec", "volumes"), names, "a volume named root (every pool needs a root volume)")
        seen = {}
        for i, name in enumerate(names):
            if name in seen:
                c.error(pool, ("spec", "volumes", i, "name"), name, "each volume name once (also spec.volumes[%d])" % seen[name])
            else:
                seen[name] = i
        if role in D.STATEFUL_ROLES and "data" not in names:
            c.error(pool, ("spec", "volumes"), names, "a volume named data (%s keeps its state on it)" % role)

    cluster_zones = _zone_names(cluster) if cluster is not None else []
    zones = spec.get("zones")
    if isinstance(zones, list) and cluster is not None and cluster_zones:
        for i, zone in enumerate(zones):
            if zone not in cluster_zones:
                c.error(pool, ("spec", "zones", i), zone,
                        "a zone of Cluster/%s spec.network.zones (%s)" % (cluster.name, ", ".join(cluster_zones)))

    hosts = spec.get("hosts") or []
    if ptype == "static":
        if not hosts:
            c.error(pool, ("spec", "hosts"), hosts, "the list of hosts of this pool (static provider)")
        elif isinstance(count, int) and len(hosts) != count:
            c.error(pool, ("spec", "hosts"), len(hosts), "%d hosts (spec.count is %d%s)" % (
                count, count, c.origin(pool, "count")), follows=c.pruned(pool, "hosts", "count"))
        if ints and low != high:
            c.error(pool, ("spec", "maxCount"), high, "maxCount == minCount: static pools do not autoscale")
        seen = {}
        for i, host in enumerate(hosts):
            if not isinstance(host, dict):
                continue
            if host.get("zone") is not None and isinstance(zones, list) and host.get("zone") not in zones:
                c.error(pool, ("spec", "hosts", i, "zone"), host.get("zone"),
                        "a zone of the pool's spec.zones (%s%s)" % (
                            ", ".join(str(z) for z in zones), c.origin(pool, "zones")))
            name = host.get("name")
            if name in seen:
                c.error(pool, ("spec", "hosts", i, "name"), name, "each host once (also spec.hosts[%d])" % seen[name])
            else:
                seen[name] = i
    elif hosts and ptype is not None:
        c.error(pool, ("spec", "hosts"), hosts, "no hosts: only static providers list hosts (this one is %s)" % ptype)

    # Kubernetes refuses two taints with the same key and effect
    seen = {}
    for i, taint in enumerate(spec.get("taints") or []):
        if not isinstance(taint, dict) or not isinstance(taint.get("key"), str):
            continue
        key = (taint.get("key"), taint.get("effect"))
        if key in seen:
            c.error(pool, ("spec", "taints", i), taint,
                    "each key and effect pair once (also spec.taints[%d]; Kubernetes refuses duplicates)" % seen[key])
        else:
            seen[key] = i


def _address_key(address):
    """``address`` normalised for comparison: IP addresses by value, DNS names case-insensitive."""
    try:
        return ("ip", ipaddress.ip_address(address))
    except ValueError:
        return ("dns", address.lower().rstrip("."))


def _check_host_addresses(c):
    """The same host address twice in a pool or across the pools of one provider (one network)."""
    model = c.model
    seen = {}
    for pool in model.pools.values():
        provider = model.provider_of(pool)
        scope = provider.ref if provider is not None else pool.ref
        for i, host in enumerate(pool.effective.get("hosts") or []):
            if not isinstance(host, dict) or not isinstance(host.get("address"), str) \
                    or host_address_problem(host["address"]):
                continue
            key = (scope, _address_key(host["address"]))
            if key not in seen:
                seen[key] = (pool, i)
                continue
            other, j = seen[key]
            if other is pool:
                where = "spec.hosts[%d]" % j
            else:
                where = "%s spec.hosts[%d] at %s:%s" % (other.ref, j, other.file, other.line_of(("spec", "hosts", j)))
            c.error(pool, ("spec", "hosts", i, "address"), host["address"],
                    "an address no other host has (%s has %s)" % (where, show(other.effective["hosts"][j]["address"])))
