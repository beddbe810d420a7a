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
	@echo "make install | migrate | start/stop/restart ROLE= CHANNEL= | replay IDS= | alerts  - operations (deploy/README.md)"

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
	QUICK=$(QUICK) ONLY=$(ONLY) $(BIN)/python -m bench.run

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

# --- operations (deploy/README.md) ------------------------------------------------------------
# make install                      .venv, then Kervan's tables and the broker topology
# make migrate                      the same without re-creating the venv
# make start|stop|restart ROLE=relay|scheduler|gateway [GATEWAY_PORT=8780]
# make start|stop|restart ROLE=catalog CHANNEL=trendyol      one worker unit (kervan-worker@ROLE-CHANNEL)
#                                   without ROLE=: every Kervan unit; SYSTEMCTL="sudo systemctl" if needed
# make replay IDS="3 4" | QUEUE=kervan.catalog.trendyol | REASON="unknown event"
# make alerts                       what is wrong now; sends new alerts and resolutions like the scheduler
.PHONY: install migrate start stop restart replay alerts

SYSTEMCTL ?= systemctl
GATEWAY_PORT ?= 8780
ifneq ($(filter command line environment,$(origin ROLE)),)
KERVAN_UNITS = $(if $(filter relay scheduler,$(ROLE)),kervan-$(ROLE).service,$(if $(filter gateway,$(ROLE)),kervan-gateway@$(GATEWAY_PORT).service,kervan-worker@$(ROLE)-$(CHANNEL).service))
else
KERVAN_UNITS = kervan-relay.service kervan-scheduler.service 'kervan-worker@*.service' 'kervan-gateway@*.service'
endif

install: migrate

migrate: $(STAMP)
	$(BIN)/kervan migrate

start stop restart:
	@if [ -d /run/systemd/system ]; then \
		echo "$(SYSTEMCTL) $@ $(KERVAN_UNITS)"; $(SYSTEMCTL) $@ $(KERVAN_UNITS); \
	else \
		echo "systemd is not running on this machine: there are no Kervan units to $@ (deploy/systemd/)."; \
		echo "Run a process in the foreground instead (make relay, make worker ROLE=catalog CHANNEL=trendyol)"; \
		echo "or the whole fleet in containers: docker compose -f deploy/compose.yml up"; \
		exit 1; \
	fi

replay: $(STAMP)
	$(BIN)/kervan replay $(IDS) $(if $(QUEUE),--queue '$(QUEUE)') $(if $(REASON),--reason '$(REASON)')

alerts: $(STAMP)
	$(BIN)/kervan alerts --check
# --- end operations -----------------------------------------------------------------------------
