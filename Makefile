# The two commands that matter, with their set-up inside:
#   make check   run the claim checks (python -m checks; extra flags: make check ARGS="--only 'ww.*'")
#   make test    run the tests (python -m pytest -n 2 -q; extra flags: make test ARGS="-m slow")
#   make lint    ruff (lint and format check) and mypy, with the versions pinned in the lint extra
# On first use each creates .venv with the CPU build of torch and installs the project with its test and lint extras (and,
# where they install, the optional peers, zoo and cvc5 extras);
# it reinstalls only when pyproject.toml is newer than the last install. On a CUDA machine, pass the torch
# requirement of your CUDA build: make test TORCH="torch==2.13.0 --index-url <your CUDA wheel index>".

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
ARGS ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cnnverify-installed

.PHONY: check test lint venv

check: $(STAMP)
	$(PY) -m checks $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -n 2 -q $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[test,lint]"
	$(PY) -m pip install -q -e ".[peers,zoo,cvc5]" || echo "note: optional extras peers/zoo/cvc5 did not install; their tests skip"
	touch $(STAMP)
