# apron.cluster — every target installs what it needs (scripts/bootstrap.sh) and is safe to re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source scripts/env.sh &&
STAMP := .venv/.apron-requirements.sha256

.PHONY: help venv image demo demo-destroy test lint sanity unit integration molecule bench build changelog clean

help:
	@echo "make demo   - provision the embedded local-provider cluster (podman) and configure it"
	@echo "make test   - everything CI runs: lint, sanity, unit, integration, molecule"
	@echo "make bench  - benchmarks (figures go to docs/benchmarks.md)"

venv:
	scripts/bootstrap.sh

image: venv
	scripts/build-base-image.sh

demo: venv image
	$(ENV) ansible-playbook -i inventories/local playbooks/demo.yml

demo-destroy: venv
	$(ENV) ansible-playbook -i inventories/local playbooks/infrastructure.yml -e apron_state=absent

build: venv
	$(ENV) scripts/build-collection.sh

lint: venv
	$(ENV) scripts/lint.sh

sanity: venv
	$(ENV) scripts/sanity.sh

# The image lets the SSH jump tests run against real sshd containers instead of skipping.
unit: venv image
	$(ENV) python -m pytest -q tests/unit tests/static

integration: venv image
	$(ENV) python -m pytest -q tests/integration

molecule: venv image
	$(ENV) scripts/molecule.sh

# The order puts the cheap checks first so a broken change fails fast.
test: venv
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory molecule
	@echo "make test: all suites passed"

bench: venv image
	$(ENV) scripts/bench.sh

changelog: venv
	$(ENV) antsibull-changelog lint

clean:
	rm -rf build tests/output .pytest_cache
