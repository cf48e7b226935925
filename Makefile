# The two commands a newcomer needs: `make run` and `make test`.
# Everything runs from a virtualenv this Makefile creates from pinned requirements.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python >= 3.11 on PATH, unless PYTHON is given.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/layers/wechat:$(CURDIR)/local
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv run sim test lint typecheck unit lock clean

help:
	@echo "make run   - the whole product on this machine (no AWS, no Docker)"
	@echo "make test  - every test and check"
	@echo "make sim   - only the WeChat simulator"
	@echo "make lock  - re-pin requirements after editing requirements/*.in"

$(STAMP): requirements/dev.txt
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.11 or newer is required on PATH (or set PYTHON=...)" >&2; exit 1; fi
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet "pip==26.3"
	@$(BIN)/python -m pip install --quiet --require-virtualenv -r requirements/dev.txt
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack

sim: $(STAMP)
	$(BIN)/python -m wechat_sim

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

lock: $(STAMP)
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file layers/wechat/requirements.txt requirements/layer.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements/dev.txt requirements/dev.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
