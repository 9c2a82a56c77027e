# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install migrate demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=1 $(BIN)/python manage.py seed_demo --origin http://$(HOST):$(PORT)

# Embedded default: SQLite and the in-memory channel layer, one process, which also runs the background
# worker (CHAT_WORKER_IN_SERVER: the queued e-mails and the sweeps, docs/operations.md). daphne (chatplatform/serve.py) as in
# production, access log off (it would hold client addresses: docs/security.md).
run: export CHAT_WORKER_IN_SERVER = 1
run: demo
	@echo ""
	@echo "  Demo shop (visitor):   http://$(HOST):$(PORT)/demo/"
	@echo "  Expert dashboard:      http://$(HOST):$(PORT)/dashboard/   (alice or bob)"
	@echo "  Community managers:    http://$(HOST):$(PORT)/admin/       (carol)"
	@echo "  Password for all three demo sign-ins: demo-pass-123"
	@echo "  The background worker (e-mails, sweeps) runs inside the server and stops with it."
	@echo ""
	DEBUG=1 ALLOWED_HOSTS="$(HOST),localhost,127.0.0.1" $(BIN)/python -m chatplatform.serve -v 0 -b $(HOST) -p $(PORT) chatplatform.asgi:application

test: install
	$(BIN)/python -m pytest

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
