# slotbook: `make run` starts it, `make test` proves it. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8080
DB ?= ./slotbook.db

.PHONY: setup system-packages run serve web test lint format clean bench crash screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## the terminal app on its own embedded server; sample data on first run
	$(VENV)/bin/slotbook --demo $(ARGS)

serve: setup  ## the server with tokens required (making them: docs/api.md#tokens-and-who-may-do-what)
	$(PY) -m backend serve --host $(HOST) --port $(PORT) --db $(DB)

web: setup  ## the app in web browsers, at http://127.0.0.1:8088, over its own server (docs/using.md#in-a-web-browser-slotbook-web)
	$(VENV)/bin/slotbook-web $(ARGS)

system-packages:  ## the Debian programs the suite drives: installed as root or with sudo, else named
	scripts/system-packages test

# Two workers more than there are cores: a third of the suite's time is spent waiting on the
# servers, processes and browsers it drives, which more workers fill (on two cores: 8.9 minutes
# with four, 9.4 with three, 10.5 with two).
TEST_WORKERS ?= $(shell expr $$(nproc) + 2)

test: setup system-packages  ## in parallel, a worker per core and two more (PYTEST_ARGS="-n 0" runs it in one process)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal --cov --cov-report= $(PYTEST_ARGS)
	@echo "Coverage of the server and the wire contract (at least 95%):"
	$(PY) -m coverage report --include='backend/*,shared/*' --fail-under=95
	@echo "Coverage of the terminal app (at least 90%):"
	$(PY) -m coverage report --include='tui/*' --fail-under=90

bench: setup  ## measure; prints a table and writes bench/RESULTS.md (wrk, installed as make test does)
	scripts/system-packages bench
	$(PY) -m bench.run $(ARGS)

crash: setup  ## SIGKILL a loaded server ten times; check it lost nothing it acknowledged
	$(PY) -m tests.crash $(ARGS)

screenshots: setup  ## the README's pictures, in docs/ (rsvg-convert and chromium, installed as make test does)
	scripts/system-packages screenshots
	$(PY) -m tests.tui.screenshots
	$(PY) -m tests.e2e.web_screenshot
	$(PY) -m tests.e2e.booking_screenshot

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
