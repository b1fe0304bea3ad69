# Switchboard developer and CI entry points.
#   make demo    run the embedded demo (sqlite, no external services)
#   make test    the test suite; extra pytest args via ARGS="-k chat -x"
#   make check   lint, format check and type check
#   make bench   run every benchmark
#   make screenshots  refresh the pictures in docs/ from a demo hub (1024 and 1440 px)
#   make clean   remove caches and build artifacts (make distclean also drops .venv)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: help venv venv-base services demo test check bench screenshots clean distclean

help:
	@sed -n '2,8s/^# \{0,1\}//p' Makefile

venv:
	@bash scripts/venv.sh dev

venv-base:
	@bash scripts/venv.sh base

services:
	@bash scripts/services.sh

demo: venv-base
	$(VENV)/bin/switchboard demo

test: venv services
	$(PY) -m pytest -q $(ARGS)

check: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: venv
	$(PY) -m bench

screenshots: venv
	PYTHONPATH=$(CURDIR) $(PY) scripts/screenshots.py

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist test-results \
		*.db *.db-wal *.db-shm

distclean: clean
	rm -rf $(VENV) *.egg-info
