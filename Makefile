# The two commands: `make run` and `make test`. Everything else is a helper they share.
SHELL := /bin/bash
VENV := .venv
STARPASS := $(VENV)/bin/starpass
PYTHON := $(VENV)/bin/python

.PHONY: setup setup-ha run test test-ha test-faults db psql lint pgtap pytest test-pooled bench schema

setup:
	@scripts/setup.sh

# The set-up of `make test`: also Patroni and etcd for the failover test (tests/ha.py).
setup-ha:
	@scripts/setup.sh --ha

# Where `make run` listens: `make run HOST=0.0.0.0 PORT=9000`.
HOST ?= 127.0.0.1
PORT ?= 8080

run: setup
	@$(STARPASS) db up
	@$(STARPASS) db migrate
	@exec $(STARPASS) serve --host $(HOST) --port $(PORT)

db: setup
	@$(STARPASS) db up
	@$(STARPASS) db migrate
	@$(STARPASS) db url

# db/schema.sql: the schema of a database freshly migrated on the embedded cluster (a test
# fails when the file is stale).
schema: setup
	@$(STARPASS) db up >/dev/null
	@$(STARPASS) db schema --fresh > db/schema.sql.tmp && mv db/schema.sql.tmp db/schema.sql
	@echo "wrote db/schema.sql"

psql: setup
	@$(STARPASS) db psql

lint: setup
	$(VENV)/bin/ruff check app tests bench scripts
	$(VENV)/bin/ruff format --check app tests bench scripts
	$(VENV)/bin/mypy

# The HTTP and bot suites, run a second time with the service behind a PgBouncer in
# transaction mode (STARPASS_TEST_POOLED=1, tests/conftest.py).
POOLED_TESTS := tests/test_http_promo.py tests/test_http_input.py tests/test_http_hardening.py \
  tests/test_http_server.py tests/test_http_schemathesis.py tests/test_bot.py \
  tests/test_purchases.py tests/test_web.py tests/test_replicas.py

# One throwaway cluster for both runners; each run exits non-zero when any test fails, and
# the run fails when it left anything in the working tree (tests write only to temp dirs).
# The failover test (make test-ha, about 3 minutes, mostly waiting for pg_cron's minutes) runs
# beside them on its own Patroni cluster; its report is printed at the end.
test: setup-ha lint
	@before=$$(git status --porcelain --untracked-files=all 2>/dev/null); \
	ha_log=$$(mktemp -t starpass-ha.XXXXXX); \
	$(PYTHON) -m tests.ha > "$$ha_log" 2>&1 & ha_pid=$$!; \
	$(PYTHON) -m tests.harness -- bash -c '\
	  pg_prove --ext .sql -r --timer db/tests; pgtap=$$?; \
	  $(VENV)/bin/pytest; pytest=$$?; \
	  STARPASS_TEST_POOLED=1 $(VENV)/bin/pytest $(POOLED_TESTS); pooled=$$?; \
	  [ $$pgtap -eq 0 ] || echo "pgTAP FAILED (exit $$pgtap): see its summary above"; \
	  [ $$pooled -eq 0 ] || echo "pytest through PgBouncer FAILED (exit $$pooled): see above"; \
	  exit $$(( pgtap || pytest || pooled ))'; status=$$?; \
	wait $$ha_pid; ha=$$?; echo "--- make test-ha (ran beside the suite):"; cat "$$ha_log"; \
	rm -f "$$ha_log"; [ $$ha -eq 0 ] || { echo "test-ha FAILED (exit $$ha)"; status=1; }; \
	after=$$(git status --porcelain --untracked-files=all 2>/dev/null); \
	if [ "$$before" != "$$after" ]; then \
	  echo "make test changed the working tree (git status --porcelain):"; \
	  diff <(echo "$$before") <(echo "$$after") | sed -n "s/^> /  /p"; status=1; \
	fi; exit $$status

# Patroni failover under load: etcd and three PostgreSQL nodes of its own (tests/ha.py).
test-ha: setup-ha
	@$(PYTHON) -m tests.ha

# Faults under load and hostile input; `make test` runs all of them in its pytest run too.
FAULT_TESTS := tests/test_faults.py tests/test_http_hardening.py tests/test_alert_dispatch.py \
  tests/test_telegram_update_races.py tests/test_http_schemathesis.py tests/test_ledger_properties.py

test-faults: setup
	@$(PYTHON) -m tests.harness -- $(VENV)/bin/pytest $(FAULT_TESTS)

pgtap: setup
	@$(PYTHON) -m tests.harness -- pg_prove --ext .sql -r --timer db/tests

pytest: setup
	@$(VENV)/bin/pytest

test-pooled: setup
	@STARPASS_TEST_POOLED=1 $(PYTHON) -m tests.harness -- $(VENV)/bin/pytest $(POOLED_TESTS)

bench:
	@scripts/setup.sh --bench
	@$(PYTHON) -m bench
