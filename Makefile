# The two commands: `make run` (set up, generate data, run the pipeline) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
LAKEHOUSE := .venv/bin/lakehouse
SCALE ?= demo
BENCH_SCALE ?= demo
PYTEST_ARGS ?=
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: help setup run test test-unit lint format bench stop lock doctor clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## install system packages, uv and both pinned environments (idempotent)
	@bash scripts/bootstrap.sh

doctor: setup  ## check the machine
	@$(LAKEHOUSE) doctor

run: setup  ## the main job: simulate the world, start Airflow + Superset + SMTP, run the pipeline in Airflow (SCALE=tiny: quick look)
	@bash scripts/run.sh $(SCALE)

test: setup  ## the whole test suite (what CI runs)
	@$(LAKEHOUSE) doctor
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup  ## fast tests only
	@$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

lint: setup  ## ruff (lint + format check) and mypy on the core
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy

format: setup  ## apply ruff's fixes and formatting
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .

bench: setup  ## benchmarks at demo scale (BENCH_SCALE=bench for the 10x entries)
	@$(LAKEHOUSE) bench --scale $(BENCH_SCALE)

stop:  ## stop every service `lakehouse` started
	@if [ -x $(LAKEHOUSE) ]; then $(LAKEHOUSE) down; fi

lock:  ## re-resolve requirements/*.in into the committed lock files
	uv pip compile requirements/main.in -o requirements/main.lock --python-version 3.11 -q
	uv pip compile requirements/superset.in -o requirements/superset.lock --python-version 3.11 -q

clean: stop  ## remove runtime state (var/ or LAKEHOUSE_HOME) — asks first
	@home=$$($(LAKEHOUSE) paths --json | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["home"])'); \
	read -p "delete $$home? [y/N] " ok && [ "$$ok" = y ] && rm -rf "$$home"
