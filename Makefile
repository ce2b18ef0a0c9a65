PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python

.PHONY: test lint typecheck settings settings-check demo demo-eval bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The linter and the type checker run first: a finding fails the build like a failing test.
lint: $(VENV)/.installed
	$(PY) -m ruff check .

# The type checker: clean on llm_consortium/ (the configuration is in pyproject.toml).
typecheck: $(VENV)/.installed
	$(PY) -m mypy

# The classes that hold the settings (the YAML schema, the -o options, the run Settings),
# typed for the checker: cog writes their fields from the settings table, settings_spec.py.
SETTINGS_CLASSES = llm_consortium/saved/config.py llm_consortium/adapter/models.py llm_consortium/types.py

# After adding or changing a row of the settings table: rewrite those fields.
settings: $(VENV)/.installed
	$(PY) -m cogapp -r $(SETTINGS_CLASSES)

# Fails when the classes differ from what the table writes.
settings-check: $(VENV)/.installed
	$(PY) -m cogapp --check --check-fail-msg "the settings table changed: run make settings" $(SETTINGS_CLASSES)

# Bytecode written first: the suite starts many `llm` processes, and where
# PYTHONDONTWRITEBYTECODE is set each would compile the package again. Workers steal
# tests from each other, so the long soaks do not leave one worker idle at the end.
test: lint typecheck settings-check
	$(PY) -m compileall -q llm_consortium
	$(PY) -m pytest -q -n 2 --dist worksteal

# A two-round consortium run against a canned loopback backend; no API key needed.
demo: $(VENV)/.installed
	$(PY) demo/demo.py

# `llm consortiums eval` on demo/eval-sample.jsonl, same canned loopback backend.
demo-eval: $(VENV)/.installed
	$(PY) demo/demo_eval.py

# Measurements for the README's Performance section; not part of `make test`.
bench: $(VENV)/.installed
	$(PY) bench/run.py
