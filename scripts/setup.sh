#!/usr/bin/env bash
# Idempotent set-up for `make run` / `make test`: system packages, .venv, the package, .env.
# Quick when everything is already there: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${STARPASS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
APT_PACKAGES=(postgresql-15 postgresql-15-cron postgresql-15-pgtap pgtap pgbouncer python3-venv)
PYTHON=${PYTHON:-python3}

missing=()
# `make bench` (scripts/setup.sh --bench) also drives HTTP with wrk and counts instructions
# with valgrind (bench/instructions.py).
if [ "${1:-}" = "--bench" ]; then
  APT_PACKAGES+=(wrk valgrind)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
fi
# `make test-ha` (scripts/setup.sh --ha) runs a Patroni cluster: Patroni, its etcd client
# module and one etcd member (tests/ha.py).
if [ "${1:-}" = "--ha" ]; then
  APT_PACKAGES+=(patroni python3-etcd etcd-server)
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  /usr/bin/python3 -c 'import etcd' >/dev/null 2>&1 || missing+=(python3-etcd)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
fi
[ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || missing+=(postgresql-15-cron)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null 2>&1 || missing+=(pgtap)
# `make test` runs the HTTP and bot suites once more through a PgBouncer (tests/pooler.py).
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || missing+=(pgbouncer)
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run as root:  apt-get install -y ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
fi

# Re-install only when the dependency declarations changed since the last install.
stamp=.venv/.starpass-installed
if [ ! -x .venv/bin/pip ]; then
  echo "setup: creating .venv"
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the package and its pinned dependencies into .venv (the first time"
  echo "setup: about a minute: downloads, then builds; one line per package)"
  # pip's progress, one line per package it fetches, then how many it installed; its warnings
  # and errors go to stderr unfiltered. `set -o pipefail` keeps pip's exit status.
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
      -c constraints.txt -e '.[dev]' \
    | awk '/^Collecting / { print "setup:   fetching " $2; fflush() }
           /^Installing collected packages/ { print "setup:   installing them"; fflush() }
           /^Successfully installed/ { print "setup:   installed " NF - 2 " packages"; fflush() }'
  echo "$want" > "$stamp"
  echo "setup: .venv ready"
fi

# The bot's texts: each gettext catalog compiled when its .po is newer than its .mo (git-ignored).
for po in app/bot/locales/*/LC_MESSAGES/messages.po; do
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    .venv/bin/pybabel compile -i "$po" -o "$mo" >/dev/null
  fi
done

if [ ! -f .env ]; then
  (umask 077 && .venv/bin/python -m app.cli.main dev-env > .env.tmp)
  mv .env.tmp .env
  echo "setup: wrote .env with freshly generated DEVELOPMENT secrets (PROMO_SECRET_PEPPER, API tokens);"
  echo "setup: they are for this machine only, never for production."
fi
