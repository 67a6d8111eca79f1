# apron.cluster — every target installs what it needs (scripts/bootstrap.sh) and is safe to re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source scripts/env.sh &&
STAMP := .venv/.apron-requirements.sha256

.PHONY: help venv image demo demo-destroy test lint sanity unit integration molecule bench build changelog clean

help:
	@echo "make demo   - provision the embedded local-provider cluster (podman) and configure it"
	@echo "make demo-destroy [KEEP_DATA=1] - remove it (with its data volumes, CAs and keys unless KEEP_DATA=1)"
	@echo "make test   - everything CI runs: lint, sanity, unit, integration, molecule"
	@echo "make bench  - benchmarks (figures go to docs/benchmarks.md)"

venv:
	scripts/bootstrap.sh

image: venv
	scripts/build-base-image.sh

# The change_summary callback prints after the recap whether the run changed anything.
demo: venv image
	$(ENV) ANSIBLE_CALLBACKS_ENABLED=apron.cluster.change_summary \
	  ansible-playbook -i inventories/local playbooks/demo.yml

# Everything the demo made: containers, network, data volumes, the CAs, the SSH key and the
# state. KEEP_DATA=1 keeps the etcd/vault data volumes and the CAs, keys and state that go with them.
demo-destroy: venv
	$(ENV) APRON_REMOVE_DATA_VOLUMES=$(if $(KEEP_DATA),no,yes) \
	  ansible-playbook -i inventories/local playbooks/infrastructure.yml -e apron_state=absent
	@if [ -n "$(KEEP_DATA)" ]; then \
	  echo "demo-destroy: kept the data volumes and .apron/ (CAs, SSH key, state): make demo re-uses them"; \
	else \
	  rm -rf .apron/pki .apron/ssh .apron/state .apron/work .apron/logs .apron/status.json; \
	  rmdir .apron 2>/dev/null || true; \
	  echo "demo-destroy: removed the containers, the network, the data volumes and .apron/ (CAs, SSH key, state)"; \
	fi

build: venv
	$(ENV) scripts/build-collection.sh

lint: venv
	$(ENV) scripts/lint.sh

sanity: venv
	$(ENV) scripts/sanity.sh

# Both cores: one pytest-xdist worker each, a test file stays on one worker (its module fixtures,
# such as a moto server or sshd containers, start once). PYTEST_WORKERS=1 runs them serially.
PYTEST_WORKERS ?= 2
PYTEST := python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# The image lets the SSH jump tests run against real sshd containers instead of skipping.
unit: venv image
	$(ENV) $(PYTEST) tests/unit tests/static

integration: venv image
	$(ENV) $(PYTEST) tests/integration

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
