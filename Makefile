# Kervan — operator and developer entry points. Every target does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv services test lint demo relay worker sandbox status clean

help:
	@echo "make demo    - fresh demo store -> relay -> workers -> sandbox Trendyol, end to end"
	@echo "make test    - lint and the whole test suite on the local MariaDB, RabbitMQ and Redis"
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

test: services lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

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
