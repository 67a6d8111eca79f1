#!/usr/bin/env bash
# Static checks: ansible-lint (production profile), terraform fmt, changelog fragments,
# collection build + ansible-doc rendering of every plugin. Fails on the first broken check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s\n' "$*"; }

step "ansible-lint (production profile)"
ansible-lint --offline -q

step "terraform fmt -check"
terraform fmt -check -recursive -diff terraform/

step "antsibull-changelog lint"
antsibull-changelog lint

step "collection build, install and ansible-doc"
scripts/build-collection.sh
