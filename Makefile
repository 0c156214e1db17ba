# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test lint format migrate serve bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

migrate: $(VENV)/.installed
	$(FLASK) db upgrade

run: migrate
	$(FLASK) serve

# The web app under gunicorn (several workers, no scheduler in them: see
# tracker/gunicorn_conf.py) and one `worker` process that sends the reminders.
# Ctrl-C or SIGTERM stops both.
serve: migrate
	@$(FLASK) worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn --config python:tracker.gunicorn_conf app:app

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --configfile pyproject.toml --severity-level medium --recursive tracker app.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite twice: on SQLite, then on PostgreSQL (TEST_BACKEND switches the default
# database of every test; tests that name their databases already ran on both).
test: lint
	$(BIN)/python -m pytest -q
	TEST_BACKEND=postgresql $(BIN)/python -m pytest -q

# Every benchmark in bench/, one after another (figures recorded in bench/RESULTS.md).
bench: $(VENV)/.installed-dev
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

screenshots: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/browser/test_screenshots.py --screenshots docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
