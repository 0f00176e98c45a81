# The few commands people type. `make run` and `make test` work on a fresh machine:
# they create .venv and install everything they need first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install test-tools run test bench lint format migrations-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the pinned requirements change.
$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Front-end libraries (the chart library) from npm, exactly as package-lock.json pins them.
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP)

# A local .env with DEBUG on and fresh random secrets: the embedded demo defaults.
.env: | $(BIN)/python
	@$(BIN)/python -c "import secrets; print('DEBUG=true'); print('SECRET_KEY=' + secrets.token_urlsafe(50)); print('OVERLAY_TOKEN=' + secrets.token_urlsafe(24))" > $@
	@echo "Wrote .env (DEBUG on, a random SECRET_KEY and OVERLAY_TOKEN) for local use."

run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Serving Brainstorm: admin http://$(HOST):$(PORT)/admin/ · API docs http://$(HOST):$(PORT)/api/docs/"
	@# The scheduler and the background jobs' worker run beside the server and stop with it.
	$(BIN)/python manage.py run_scheduler & scheduler=$$!; \
	$(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$scheduler $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -m brainstorm.serve -b $(HOST) -p $(PORT) brainstorm.asgi:application

# Programs the tests drive, from Debian (as root, with apt) when missing: Chromium for the browser
# tests, Prometheus for the test that scrapes a live server and evaluates the dashboard and alerts.
test-tools:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium for the browser tests (apt-get)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v prometheus >/dev/null 2>&1 || { \
		echo "Installing Prometheus for the monitoring test (apt-get)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			prometheus >/dev/null; }

# DATABASE_URL and REDIS_URL choose the database and channel layer (SQLite and in-memory when unset).
test: install test-tools
	$(BIN)/pytest $(PYTEST_ARGS)

# The event-day load on the real server (Daphne, PostgreSQL, Redis on loopback) against baselines
# measured in the same run: docs/performance.md. Not part of `make test`. BENCH_DATABASE_URL and
# BENCH_REDIS_URL choose where (a database it drops and creates, and a Redis database it empties).
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: $(STAMP)
	DJANGO_SETTINGS_MODULE=brainstorm.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) node_modules staticfiles .test-db.sqlite3*
