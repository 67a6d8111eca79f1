# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The cluster model (apron.io/v1alpha1): public facade.

::

    model = load_model(paths)      # file(s) and/or directories of *.yml / *.yaml
    # raises ModelValidationError(errors=[ModelError, ...]) with *every* error at once
    model.providers / .environments / .clusters / .pools   # dict name -> Resource
    pool = model.pools["staging-etcd"]
    pool.effective     # fully resolved spec: built-in defaults + environment defaults + own spec
    pool.provenance    # "spec.count" -> "builtin:role/etcd" | "Environment/staging (file:line)" | ...
    model.cluster_of(pool), model.environment_of(cluster), model.provider_of(environment)
    model.instances()  # declared instances: <pool>-<index>, zones round-robin
    model.to_dict()    # plain data, JSON-serialisable

Depends on PyYAML and the standard library only; Python 3.8 syntax (module_utils).
"""
from __future__ import annotations

import os

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False
    YAML_IMPORT_ERROR = exc

from ansible_collections.apron.cluster.plugins.module_utils._model_errors import (  # noqa: F401 (re-exported)
    MISSING,
    ModelError,
    ModelValidationError,
    ModelWarning,
    format_path,
)
from ansible_collections.apron.cluster.plugins.module_utils import _model_resolve as R
from ansible_collections.apron.cluster.plugins.module_utils import _model_validate as V
from ansible_collections.apron.cluster.plugins.module_utils._model_schema import API_VERSION, KINDS, SCHEMA
from ansible_collections.apron.cluster.plugins.module_utils._model_types import Model, Resource  # noqa: F401 (re-exported)

__all__ = ["load_model", "Model", "Resource", "ModelError", "ModelValidationError", "ModelWarning", "MISSING",
           "API_VERSION", "KINDS", "format_path"]

YAML_SUFFIXES = (".yml", ".yaml")


# ---------------------------------------------------------------------- loading

class _Recursive(Exception):
    def __init__(self, parts, line):
        super(_Recursive, self).__init__(parts)
        self.parts = parts
        self.line = line


def _walk(node, parts, lines, errors, file, stack=()):
    """Record the line of every key / list item below ``node``; report duplicate keys."""
    if id(node) in stack:
        raise _Recursive(parts, node.start_mark.line + 1)
    stack = stack + (id(node),)
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            sub = parts + (key,)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                errors.append(ModelError(file, None, sub, key,
                                         "each key once in a mapping (first at line %d)" % seen[key], line=line))
            seen.setdefault(key, line)
            lines[sub] = line
            _walk(value_node, sub, lines, errors, file, stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sub = parts + (index,)
            lines[sub] = item.start_mark.line + 1
            _walk(item, sub, lines, errors, file, stack)


def _read_documents(file, errors):
    """Yield (index, data, lines, line) per non-empty YAML document of ``file``."""
    try:
        with open(file, "rb") as handle:
            text = handle.read().decode("utf-8")
    except (IOError, OSError) as exc:
        errors.append(ModelError(file, None, "", None, "a readable file (%s)" % exc))
        return
    except UnicodeDecodeError as exc:
        errors.append(ModelError(file, None, "", None, "UTF-8 text (%s)" % exc))
        return
    loader = yaml.SafeLoader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines = {}
            dup_errors = []
            try:
                _walk(node, (), lines, dup_errors, file)
            except _Recursive as exc:
                errors.append(ModelError(file, None, exc.parts, None, "no recursive YAML alias (document %d)" % (index + 1),
                                         line=exc.line))
                index += 1
                continue
            data = loader.construct_document(node)
            line = node.start_mark.line + 1
            yield index, data, lines, line, dup_errors
            index += 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = "%s%s" % (problem, (" (%s)" % context) if context else "")
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        errors.append(ModelError(file, None, "", "line %s column %s" % (line, column),
                                 "valid YAML: %s" % detail, line=line))
    finally:
        loader.dispose()


def model_files(paths, errors):
    """Expand ``paths`` (files and directories: their *.yml/*.yaml, sorted, not recursive)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    files = []
    for path in paths:
        path = os.fspath(path)
        if isinstance(path, bytes):
            path = path.decode("utf-8")
        path = os.path.normpath(path)
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, entry) for entry in os.listdir(path)
                if entry.endswith(YAML_SUFFIXES) and not entry.startswith(".")
                and os.path.isfile(os.path.join(path, entry)))
            if not found:
                errors.append(ModelError(path, None, "", path, "a directory with *.yml or *.yaml model files"))
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            errors.append(ModelError(path, None, "", path, "an existing model file or directory"))
    seen = set()
    unique = []
    for file in files:
        key = os.path.realpath(file)
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique


def load_model(paths, validate=True):
    """Load, validate and resolve the model from ``paths`` (a file/directory or a list of them).

    Raises ModelValidationError with every error found. With ``validate=False`` the semantic
    checks are skipped (schema and loading errors still raise)."""
    if not HAS_YAML:  # pragma: no cover
        raise ModelValidationError([ModelError("-", None, "", None, "PyYAML importable (%s)" % YAML_IMPORT_ERROR)])
    errors = []
    model = Model()
    model.files = model_files(paths, errors)
    resources = []
    rejected = []
    for file in model.files:
        before = len(errors)
        documents = 0
        for index, data, lines, line, dup_errors in _read_documents(file, errors):
            errors.extend(dup_errors)
            if data is None:
                continue
            documents += 1
            resource = V.check_document(file, index, data, lines, line, errors, rejected)
            if resource is not None:
                resources.append(resource)
        if not documents and len(errors) == before:
            model.warnings.append(ModelWarning(file, None, "", None,
                                               "empty model file: no YAML document in it (only comments or "
                                               "nothing), it adds nothing to the model"))
    if not resources and not errors:
        errors.append(ModelError(", ".join(model.files) or "-", None, "", None,
                                 "at least one %s document" % API_VERSION))

    # unique names per kind
    for resource in resources:
        registry = model.by_kind(resource.kind)
        if resource.name in registry:
            first = registry[resource.name]
            errors.append(ModelError(resource.file, resource.ref, "metadata.name", resource.name,
                                     "a name unique among %s resources (also defined at %s:%s)" % (
                                         resource.kind, first.file, first.line),
                                     line=resource.line_of(("metadata", "name"))))
            continue
        registry[resource.name] = resource

    _resolve(model)
    if validate:
        V.check_model(model, errors, rejected)
    if errors:
        raise ModelValidationError(_sorted(errors), model.warnings)
    return model


def _resolve(model):
    for provider in model.providers.values():
        layers = R.resolve_provider(provider)
        provider.effective, provider.provenance = layers.effective, layers.provenance
    for env in model.environments.values():
        provider = model.providers.get(env.spec.get("provider")) if isinstance(env.spec, dict) else None
        layers = R.resolve_environment(env, provider)
        env.effective, env.provenance = layers.effective, layers.provenance
    for cluster in model.clusters.values():
        env = model.environments.get(cluster.spec.get("environment")) if isinstance(cluster.spec, dict) else None
        layers = R.resolve_cluster(cluster, env)
        cluster.effective, cluster.provenance = layers.effective, layers.provenance
    for pool in model.pools.values():
        cluster = model.clusters.get(pool.spec.get("cluster")) if isinstance(pool.spec, dict) else None
        env = model.environment_of(cluster) if cluster is not None else None
        provider = model.provider_of(env) if env is not None else None
        layers = R.resolve_pool(pool, cluster, env, provider)
        pool.effective, pool.provenance = layers.effective, layers.provenance
    for resource in model.resources():
        resource.effective = _ordered(resource.effective, SCHEMA["$defs"]["%sSpec" % resource.kind])


def _ordered(value, schema):
    """``value`` with its keys in the schema's order (unknown / computed keys last, as they came)."""
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value
    while "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    properties = schema.get("properties") or {}
    out = {}
    for key in properties:
        if key in value:
            out[key] = _ordered(value[key], properties[key])
    for key in value:
        if key not in out:
            out[key] = value[key]
    return out


def _sorted(errors):
    unique = []
    seen = set()
    for err in errors:
        key = str(err)
        if key not in seen:
            seen.add(key)
            unique.append(err)
    order = dict((id(err), i) for i, err in enumerate(unique))
    return sorted(unique, key=lambda e: (str(e.file), e.line or 0, order[id(e)]))
