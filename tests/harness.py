"""Throwaway PostgreSQL for the test runners.

`python -m tests.harness -- CMD...` starts a private cluster (pg_cron preloaded), creates a
migrated database with pgTAP for pg_prove (PG* variables), exports the server's admin URL as
STARPASS_TEST_SERVER_URL so pytest reuses the server, runs CMD and removes the cluster.
With DATABASE_URL set (a superuser URL of a disposable server) no cluster is started.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from app.config import Settings
from app.db.cluster import ADMIN_ROLE, APP_ROLE, JOBS_ROLE, LOGIN_ROLES, Cluster, libpq_environment
from app.db.migrate import migrate
from app.jobs import uninstall as uninstall_jobs

SERVER_URL_VARIABLE = "STARPASS_TEST_SERVER_URL"


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    admin_url: str  # a superuser
    role_urls: dict[str, str]  # a real login as each login role

    @property
    def app_url(self) -> str:
        return self.role_urls[APP_ROLE]

    @property
    def staff_url(self) -> str:
        """As starpass_admin: what the admin API and operators' tools connect as."""
        return self.role_urls[ADMIN_ROLE]

    @property
    def jobs_url(self) -> str:
        """As starpass_jobs: what pg_cron runs the jobs as."""
        return self.role_urls[JOBS_ROLE]


def throwaway_cluster(
    settings: Settings, durable: bool = False, extra_config: dict[str, str] | None = None
) -> Cluster:
    """A private cluster in a temporary directory; fsync off unless `durable` (benchmarks);
    `extra_config` adds or overrides server settings."""
    return Cluster(
        base_dir=Path(tempfile.mkdtemp(prefix="starpass-test-")),
        port=5432,  # only names the socket file: the socket directory is private to this cluster
        bindir=settings.starpass_pg_bindir,
        listen_tcp=False,
        durable=durable,
        extra_config=dict(extra_config or {}),
    )


@contextmanager
def scratch_server(settings: Settings | None = None) -> Iterator[str]:
    """Yields a superuser URL (database `postgres`) of a server the tests may use freely."""
    external = os.environ.get(SERVER_URL_VARIABLE) or os.environ.get("DATABASE_URL")
    if external:
        _require_superuser(external)
        yield external
        return
    cluster = throwaway_cluster(settings or Settings())
    try:
        cluster.init()
        cluster.start()
        cluster.ensure_pg_cron()
        yield cluster.admin_url("postgres")
    finally:
        cluster.destroy()


def _require_superuser(url: str) -> None:
    """The tests create databases and set the starpass_app password: only on a disposable
    server, reached as a superuser (never the app's own DATABASE_URL)."""
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        raise SystemExit(
            "tests: DATABASE_URL must be a superuser URL of a disposable server (the tests "
            "create databases and set the login roles' passwords there); unset it to use a "
            "throwaway cluster"
        )


def with_database(server_url: str, name: str) -> str:
    return make_conninfo(server_url, dbname=name)


def create_database(
    server_url: str, prefix: str = "starpass_test", pgtap: bool = False
) -> ScratchDatabase:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Tests pin and shift time through ops.clock, which only such a database reads.
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET starpass.test_clock = on").format(sql.Identifier(name))
        )
    admin_url = with_database(server_url, name)
    migrate(admin_url)
    if pgtap:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap WITH SCHEMA public")
    return ScratchDatabase(name=name, admin_url=admin_url, role_urls=login_role_urls(admin_url))


def drop_database(server_url: str, name: str) -> None:
    uninstall_jobs(with_database(server_url, name))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


_ROLE_PASSWORD = secrets.token_urlsafe(24)


def role_passwords() -> dict[str, str]:
    """Each login role's password on the test server (what a pooler in front of it checks)."""
    return dict.fromkeys(LOGIN_ROLES, _ROLE_PASSWORD)


def login_role_urls(admin_url: str) -> dict[str, str]:
    """Real logins as each login role on the same server (password for TCP servers)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role in LOGIN_ROLES:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(_ROLE_PASSWORD)
                )
            )
    return {
        role: make_conninfo(admin_url, user=role, password=_ROLE_PASSWORD) for role in LOGIN_ROLES
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m tests.harness -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    with scratch_server() as server_url:
        database = create_database(server_url, prefix="starpass_pgtap", pgtap=True)
        env = {
            **os.environ,
            **libpq_environment(database.admin_url),
            SERVER_URL_VARIABLE: server_url,
        }
        try:
            return subprocess.run(argv, env=env, check=False).returncode
        finally:
            drop_database(server_url, database.name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
