# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The stack declaration scan (_terraform_config): variables, sensitivity, defaults, backend, typos."""
from __future__ import annotations

import json

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_config as tfconfig

TRICKY = r'''
# variable "commented" { sensitive = true }
/* variable "block_commented" { sensitive = true } */
variable "a" {
  type = object({ x = string })
  default = { x = "${var.b} }{" }
  sensitive = true
  validation {
    condition     = length(var.a.x) > 0
    error_message = "sensitive = true"
  }
}
locals {
  s = <<EOT
variable "fake" {
EOT
}
variable b { default = "lit\"q" }
variable "c" {
  default = "x${var.b}"
}
variable "replicas" {
  type = number
}
terraform {
  required_version = ">= 1.5"
  backend "s3" {}
}
'''


def test_scan_text_blocks_comments_heredocs_and_templates():
    found = tfconfig.scan_text(TRICKY)
    assert sorted(found["variables"]) == ["a", "b", "c", "replicas"]
    assert found["variables"]["a"]["sensitive"] is True and found["variables"]["a"]["default"] is None
    assert found["variables"]["b"] == {"sensitive": False, "required": False, "default": 'lit"q', "file": "main.tf"}
    assert found["variables"]["c"]["default"] is None           # a template, not a literal
    assert found["variables"]["replicas"]["required"] is True
    assert found["backend"] == "s3" and found["backend_file"] == "main.tf"
    assert tfconfig.sensitive_names(found) == ["a"]


def test_scan_json_files(tmp_path):
    (tmp_path / "vars.tf.json").write_text(json.dumps({
        "variable": {"token": {"sensitive": True, "default": "t0ken"}, "size": {}},
        "terraform": [{"backend": {"local": {}}}]}))
    (tmp_path / "broken.tf.json").write_text("{not json")
    (tmp_path / "README.md").write_text('variable "x" {}')
    found = tfconfig.scan_stack(str(tmp_path))
    assert found["variables"]["token"] == {"sensitive": True, "required": False, "default": "t0ken",
                                           "file": "vars.tf.json"}
    assert found["variables"]["size"]["required"] is True
    assert found["backend"] == "local" and found["files"] == ["broken.tf.json", "vars.tf.json"]


def test_scan_missing_directory():
    assert tfconfig.scan_stack("/nonexistent/stack")["files"] == []


def test_undeclared_variables_and_typo_messages():
    found = tfconfig.scan_text(TRICKY)
    assert tfconfig.undeclared_variables(["replica", "zzz", "a"], found) == [("replica", "replicas"), ("zzz", None)]
    assert tfconfig.undeclared_message("replica", "replicas") == (
        "variables: `replica` is not declared by the stack; did you mean `replicas`?")
    assert "Terraform ignores it" in tfconfig.undeclared_message("zzz", None)
    # nothing known about the stack: no guesses
    assert tfconfig.undeclared_variables(["x"], tfconfig.scan_stack("/nonexistent")) == []
