#!/usr/bin/env python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Regenerate meta/schemas/apron.io_v1alpha1.schema.json from plugins/module_utils/_model_schema.py.

Usage: scripts/gen-schema.py [--check]   (--check: exit 1 if the file is out of date)
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "plugins" / "module_utils" / "_model_schema.py"
TARGET = ROOT / "meta" / "schemas" / "apron.io_v1alpha1.schema.json"


def render() -> str:
    # _model_schema.py imports nothing from the collection: load it by path.
    spec = importlib.util.spec_from_file_location("_apron_model_schema", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return json.dumps(module.SCHEMA, indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/gen-schema.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
