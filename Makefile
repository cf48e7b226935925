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
# Deployment tools (SAM CLI, cfn-lint, checkov) live in their own virtualenv: their pins never
# constrain the product's.
TOOLS_VENV := .venv-tools
TOOLS := $(TOOLS_VENV)/bin
TOOLS_STAMP := $(TOOLS_VENV)/.installed
# The Lambda runtime's Python, which `sam build` needs on PATH (found through pyenv if need be).
RUNTIME_PYTHON_DIR := $(shell python3.13 -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null || \
	ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin 2>/dev/null | tail -n 1)
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(CURDIR)/layers/wechat:$(CURDIR)/local
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv run sim test test-fast lint typecheck gates build deploy sync logs delete openapi bench capacity soak lock clean

help:
	@echo "make run   - the whole product on this machine (no AWS, no Docker); RELAXED=1 lifts the local limits, ARGS=... passes options"
	@echo "make test  - every test and check"
	@echo "make test-fast - unit, domain and contract tests (under a minute), while you work"
	@echo "make sim   - only the WeChat simulator"
	@echo "make build - sam build (native) into .aws-sam/build, for sam deploy"
	@echo "make deploy [ENV=prod] - check region, credentials and the AppSecret, build, then sam deploy (a first deployment asks for the AppID, saved in samconfig.toml)"
	@echo "make sync  - sam sync --watch to the dev stack"
	@echo "make logs [ENV=prod] - sam logs of every function of the stack, followed"
	@echo "make delete [ENV=prod] - sam delete the stack"
	@echo "make openapi - regenerate docs/openapi-v1.yaml and docs/openapi-v2.yaml from the handlers"
	@echo "make bench - cold start, warm overhead, I/O, token under load; writes docs/benchmarks.md"
	@echo "make capacity ARGS=\"--peak 2000 --sustained 800\" - what a target rate needs and what to ask AWS and WeChat for (docs/capacity.md)"
	@echo "make soak  - many users while AWS, WeChat and Lambda fail at random, then the checker (ARGS=\"--minutes 2 --seed 7\")"
	@echo "make lock  - re-pin requirements after editing requirements/*.in"

# $(call make_venv,DIR,REQUIREMENTS): a virtualenv at DIR from pinned REQUIREMENTS.
define make_venv
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.11 or newer is required on PATH (or set PYTHON=...)" >&2; exit 1; fi
	@echo "creating $(1) with $(PYTHON)"
	@$(PYTHON) -m venv $(1)
	@$(1)/bin/python -m pip install --quiet "pip==26.3"
	@$(1)/bin/python -m pip install --quiet --require-virtualenv -r $(2)
	@touch $(1)/.installed
endef

$(STAMP): requirements/dev.txt
	$(call make_venv,$(VENV),requirements/dev.txt)
	@# The local stack, the simulator and the layer importable from anywhere with .venv/bin/python
	@# (python -m devstack, python -m wechat_sim as the README writes them).
	@printf '%s\n' "$(CURDIR)/layers/wechat" "$(CURDIR)/local" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/wechat-face-local.pth"

$(TOOLS_STAMP): requirements/tools.txt
	$(call make_venv,$(TOOLS_VENV),requirements/tools.txt)

venv: $(STAMP) $(TOOLS_STAMP)

# make run ARGS="--parameter-overrides LookupLimitPerHour=5"; make run RELAXED=1 lifts the
# per-address and per-user limits for fuzzing and load tests (deployed stacks keep the defaults);
# make run CONTAINERS=host.docker.internal (or a Linux docker0 address) writes what
# `sam local invoke` needs to run a function against this run (docs/local.md, "sam local invoke").
run: $(STAMP)
	$(BIN)/python -m devstack $(if $(RELAXED),--relaxed-limits) $(if $(CONTAINERS),--containers $(CONTAINERS)) $(ARGS)

sim: $(STAMP)
	$(BIN)/python -m wechat_sim $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The deployment gates: the template must pass SAM's validation, cfn-lint with the serverless
# rules, and checkov (findings that do not fit are suppressed in the template, with a reason).
gates: $(TOOLS_STAMP)
	$(TOOLS)/sam validate --lint --region us-east-1 --template template.yaml
	$(TOOLS)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(TOOLS)/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download

test: lint typecheck gates
	$(BIN)/pytest

# While working: the unit (domain rules, validators, the local IAM evaluator) and contract (the
# WeChat client against the simulator) tests; `make test` is still what a change must pass.
test-fast: $(STAMP)
	$(BIN)/pytest -q -n 2 -m "not slow and not local_aws" tests/unit tests/domain tests/contract

bench: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m bench

# What a target rate needs, and what to ask AWS and WeChat for (docs/capacity.md), e.g.
# make capacity ARGS="--peak 2000 --sustained 800 --hours 10 --face-api 2 --region ap-east-1"
capacity: $(STAMP)
	$(BIN)/python -m tools.capacity $(or $(ARGS),--peak 100)

# make soak ARGS="--users 12 --minutes 2 --fault-rate 0.3 --face-api-version 2 --seed 7 --write"
soak: $(STAMP)
	$(BIN)/python -m soak $(ARGS)

openapi: $(STAMP)
	$(BIN)/python tools/openapi.py

build: $(TOOLS_STAMP)
	@if [ -z "$(RUNTIME_PYTHON_DIR)" ]; then echo "error: sam build needs python3.13 (the Lambda runtime) on PATH, e.g. pyenv install 3.13" >&2; exit 1; fi
	PATH="$(RUNTIME_PYTHON_DIR):$$PATH" $(TOOLS)/sam build --cached --cache-dir .aws-sam/cache $(BUILD_ARGS)
	@# Ship bytecode: Lambda cannot write it (read-only /opt and /var/task), so without it every
	@# cold start compiles every module. unchecked-hash: zip timestamps would invalidate it.
	$(RUNTIME_PYTHON_DIR)/python3.13 -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build

# The SAM workflow, each a thin wrapper of the pinned SAM CLI with samconfig.toml's ENV section.
ENV ?= dev
SAM := $(TOOLS)/sam

# Each target checks what it needs before it builds or asks anything (tools/preflight.py: region,
# credentials; for deploy also the runtime's Python, a first deployment's few answers, saved in
# samconfig.toml, and the AppSecret in SSM), each failure with one clear message.
PREFLIGHT = $(BIN)/python tools/preflight.py

deploy: $(STAMP) $(TOOLS_STAMP)
	@mkdir -p .aws-sam && $(PREFLIGHT) deploy $(ENV) --runtime-python-dir "$(RUNTIME_PYTHON_DIR)" > .aws-sam/region-$(ENV)
	@$(MAKE) --no-print-directory build
	$(SAM) deploy --config-env $(ENV) --region $$(cat .aws-sam/region-$(ENV))

sync: $(STAMP) $(TOOLS_STAMP)
	@if [ "$(ENV)" = prod ]; then echo "error: make sync is for a dev stack (sam sync skips CloudFormation change sets); make deploy ENV=prod" >&2; exit 1; fi
	@if [ -z "$(RUNTIME_PYTHON_DIR)" ]; then echo "error: sam sync builds with python3.13 (the Lambda runtime) on PATH, e.g. pyenv install 3.13" >&2; exit 1; fi
	@region=$$($(PREFLIGHT) access $(ENV)) && \
		PATH="$(RUNTIME_PYTHON_DIR):$$PATH" $(SAM) sync --watch --config-env $(ENV) --region $$region

logs: $(STAMP) $(TOOLS_STAMP)
	@region=$$($(PREFLIGHT) access $(ENV)) && $(SAM) logs --config-env $(ENV) --region $$region $(ARGS)

delete: $(STAMP) $(TOOLS_STAMP)
	@region=$$($(PREFLIGHT) access $(ENV)) && $(SAM) delete --config-env $(ENV) --region $$region

lock: $(STAMP)
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file layers/wechat/requirements.txt requirements/layer.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file layers/spans/requirements.txt requirements/spans.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements/dev.txt requirements/dev.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements/tools.txt requirements/tools.in

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
