# Two commands for a newcomer:  `make run` (the app on the bundled data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The inner loop: no browser, Spark or slow tests, at most 10 examples per property test, on
# two workers (under a minute on 2 cores). `make test` runs everything: the CI command.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	PREAUTH_TEST_FAST=1 $(BIN)/python -m pytest -q -n 2 -m "not e2e and not spark and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m preauth bench --rows 1000000 --format json

clean:
	rm -rf $(VENV) .pytest_cache artifacts
