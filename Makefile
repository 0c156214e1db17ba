# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test lint format migrate serve bench bench-tools screenshots clean

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

# Every benchmark in bench/, one after another (figures recorded in bench/RESULTS.md),
# or those in BENCH.
# The scale benchmarks also measure PostgreSQL in BENCH_POSTGRES_URL, a database they
# empty first (created here when missing); bench/load.py drives the load with Debian's
# wrk and hey, installed here when missing.
BENCH_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/keepwarm_bench
export BENCH_POSTGRES_URL

BENCH ?= bench/*.py
bench: $(VENV)/.installed-dev bench-tools
	@for script in $(BENCH); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

bench-tools:
	@command -v wrk >/dev/null && command -v hey >/dev/null || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey >/dev/null || \
		{ echo "make bench needs wrk and hey: apt-get install -y wrk hey" >&2; exit 1; }
	@if [ "$(BENCH_POSTGRES_URL)" = "postgresql+psycopg://postgres@127.0.0.1:5432/keepwarm_bench" ]; then \
		psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'keepwarm_bench'" | grep -q 1 || \
		createdb -h 127.0.0.1 -U postgres keepwarm_bench; fi

screenshots: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/browser/test_screenshots.py --screenshots docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
