# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test screenshots install migrate demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

# The compiled translation catalogues (git-ignored .mo files), rebuilt when a .po changes: polib, no gettext needed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
locale/%.mo: locale/%.po $(STAMP)
	DEBUG=1 $(BIN)/python manage.py build_catalogues -v 0

install: $(STAMP) $(CATALOGUES)

migrate: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

# HOST=0.0.0.0 (or ::) listens on every address: links then name this machine's network address, and
# any Host header is allowed (DEBUG only; a wildcard bind is a development server shared on a network).
WILDCARD_HOST = $(filter 0.0.0.0 :: [::],$(HOST))
LINK_HOST = $(shell $(BIN)/python -m chatplatform.devrun address $(HOST))

demo: migrate
	DEBUG=1 $(BIN)/python manage.py seed_demo --origin http://$(LINK_HOST):$(PORT)

# Embedded default: SQLite and the in-memory channel layer, one process, which also runs the background
# worker (CHAT_WORKER_IN_SERVER: the queued e-mails and the sweeps, docs/operations.md). daphne (chatplatform/serve.py) as in
# production, access log off (it would hold client addresses: docs/security.md).
run: export CHAT_WORKER_IN_SERVER = 1
# The demo's manager signs in with a password only: two-factor sign-in is off for this development
# server alone (CHAT_MANAGER_MFA, docs/security.md: never off in production).
run: export CHAT_MANAGER_MFA = 0
# The links, or one line saying the port is taken and how to pick another (chatplatform/devrun.py).
run: demo
	@$(BIN)/python -m chatplatform.devrun links $(HOST) $(PORT)
	DEBUG=1 ALLOWED_HOSTS="$(if $(WILDCARD_HOST),*,$(HOST),localhost,127.0.0.1)" $(BIN)/python -m chatplatform.serve -v 0 -b $(HOST) -p $(PORT) chatplatform.asgi:application

test: install
	$(BIN)/python -m pytest

# Rewrites docs/screenshots/*.png from the browser tests (`make test` leaves them as they are).
screenshots: install
	SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

# The benchmark (not part of `make test`): needs PostgreSQL and Redis, see docs/performance.md.
# `make bench QUICK=1` is a small run (< 3 minutes); BENCH_ARGS passes more flags to bench/run.py.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(if $(QUICK),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3
