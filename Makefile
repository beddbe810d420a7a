# Kervan — operator and developer entry points. Every target does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv services test lint bench chaos demo relay worker sandbox status clean

help:
	@echo "make demo    - fresh demo store -> relay -> workers -> sandbox Trendyol, end to end"
	@echo "make test    - lint, the PHP extension's tests and the whole Python suite on the local services"
	@echo "make package - dist/kervan.ocmod.zip for the OpenCart Extension Installer"
	@echo "make bench   - benchmarks with same-run baselines (QUICK=1 for a short run)"
	@echo "make chaos   - kill processes, restart services, break the sandbox under load; print the invariants"
	@echo "make status  - the fleet at a glance (uses kervan.ini / KERVAN_* settings)"
	@echo "make relay | make worker ROLE=catalog CHANNEL=trendyol | make sandbox"

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

services: $(STAMP)
	@$(BIN)/kervan check

lint: $(STAMP)
	$(BIN)/ruff check .

test: services lint php-test
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Faults against the real fleet under load, then the invariants (DURATION in seconds, default 300).
DURATION ?= 300
chaos: services
	$(BIN)/kervan chaos --duration $(DURATION)

# Benchmarks against a baseline measured in the same run; QUICK=1 for the short form.
bench: services
	QUICK=$(QUICK) $(BIN)/python -m bench.run

demo: services
	$(BIN)/kervan demo

relay: services
	$(BIN)/kervan relay

ROLE ?= catalog
CHANNEL ?= trendyol
worker: services
	$(BIN)/kervan worker $(ROLE) --channel $(CHANNEL)

sandbox: $(STAMP)
	$(BIN)/kervan sandbox trendyol

status: $(STAMP)
	$(BIN)/kervan status

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

# --- OpenCart extension (opencart_extension/, tests/php/) -------------------------------------
# make package   dist/kervan.ocmod.zip for OpenCart 4.0.2.x / 4.1.x (schema/migrations/*.sql → system/sql/)
# make php       php -l on every PHP file (installs the Debian PHP packages when missing)
# make php-test  php -l + PHPUnit against the local MariaDB, once per OpenCart version
.PHONY: package php php-test

package:
	$(PYTHON) opencart_extension/build.py dist/kervan.ocmod.zip

php:
	tests/php/run.sh --lint

php-test:
	tests/php/run.sh
# --- end OpenCart extension -------------------------------------------------------------------
