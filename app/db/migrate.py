"""`starpass db migrate`: bootstrap, yoyo migrations, function files, grants; reports what changed.

Runs under a session advisory lock so concurrent deploys take turns. Function files are
re-applied on every run because yoyo only runs hooks when a migration is pending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from app.config import sql_dir

DB_DIR = sql_dir()
OWNER_ROLE = "starpass_owner"
OUR_SCHEMAS = ("api", "core", "billing", "promo", "referral", "ops")
# pg_advisory_lock key: 'starpass' in ASCII, so operators can spot it in pg_locks.
MIGRATION_LOCK_KEY = 0x7374617270617373

log = logging.getLogger(__name__)


@dataclass
class MigrationReport:
    bootstrap: list[str] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)
    functions_changed: list[str] = field(default_factory=list)
    functions_unchanged: int = 0
    privileges_changed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.bootstrap or self.migrations or self.functions_changed or self.privileges_changed
        )

    def lines(self, verbose: bool = False) -> list[str]:
        """What changed: every item with `verbose`; otherwise a long list (a new database's
        dozens of migrations and functions) is one line with its count, a short one (a
        deploy's few) is listed."""
        out = _items("bootstrap", self.bootstrap, "bootstrap changes", verbose, 3)
        out += _items("migration applied", self.migrations, "migrations applied", verbose, 3)
        out += _items(
            "function created or changed",
            self.functions_changed,
            "functions created or changed",
            verbose,
            5,
        )
        out += _items(
            "privileges changed", self.privileges_changed, "privileges changed", verbose, 5
        )
        if not self.changed:
            out.append(
                f"database is up to date: no pending migrations, "
                f"{self.functions_unchanged} functions unchanged, privileges unchanged"
            )
        else:
            out.append(
                f"done: {len(self.migrations)} migrations, "
                f"{len(self.functions_changed)} functions applied, "
                f"{self.functions_unchanged} unchanged"
            )
        return out


def _items(label: str, items: list[str], plural: str, verbose: bool, at_most: int) -> list[str]:
    if verbose or len(items) <= at_most:
        return [f"{label}: {item}" for item in items]
    span = f" ({items[0]} to {items[-1]})" if label.startswith("migration") else ""
    return [f"{plural}: {len(items)}{span} (--verbose lists them)"]


def migrate(admin_url: str, db_dir: Path = DB_DIR) -> MigrationReport:
    report = MigrationReport()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            report.bootstrap = _bootstrap(conn, db_dir)
            report.migrations = _apply_migrations(admin_url, db_dir)
            _apply_functions(conn, report, db_dir)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return report


def _bootstrap(conn: psycopg.Connection[tuple[object, ...]], db_dir: Path) -> list[str]:
    notices: list[str] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        if message.startswith("bootstrap: "):
            notices.append(message.removeprefix("bootstrap: "))

    conn.add_notice_handler(collect)
    try:
        conn.execute((db_dir / "bootstrap.sql").read_text())
    finally:
        conn.remove_notice_handler(collect)
    return notices


def yoyo_url(admin_url: str) -> str:
    """yoyo's URL for the same server: every migration runs as the owner role."""
    params = {k: str(v) for k, v in conninfo_to_dict(admin_url).items() if v is not None}
    database = params.pop("dbname", "")
    params["options"] = (params.get("options", "") + f" -c role={OWNER_ROLE}").strip()
    params["schema"] = "yoyo"
    return f"postgresql+psycopg:///{quote(database, safe='')}?{urlencode(params)}"


def _apply_migrations(admin_url: str, db_dir: Path) -> list[str]:
    backend = get_backend(yoyo_url(admin_url))
    migrations = read_migrations(str(db_dir / "migrations"))
    # Our advisory lock already serializes migrate runs; a yoyo lock row left by a crashed run
    # would otherwise stall every later deploy.
    backend.break_lock()
    with backend.lock():
        pending = backend.to_apply(migrations)
        for migration in pending:
            log.info("applying migration %s", migration.id)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


_SNAPSHOT = """
SELECT p.oid::regprocedure::text,
       md5(pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid, 'pg_proc'), '')),
       coalesce(p.proacl::text, '')
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


def _snapshot(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, str]]:
    rows = conn.execute(_SNAPSHOT, {"schemas": list(OUR_SCHEMAS)}).fetchall()
    return {str(name): (str(body), str(acl)) for name, body, acl in rows}


def _apply_functions(
    conn: psycopg.Connection[tuple[object, ...]], report: MigrationReport, db_dir: Path
) -> None:
    with conn.transaction():
        before = _snapshot(conn)
        conn.execute(f"SET LOCAL ROLE {OWNER_ROLE}")
        # Bodies may call functions from files applied later; pgTAP tests exercise every body.
        conn.execute("SET LOCAL check_function_bodies = off")
        conn.execute("SET LOCAL search_path = pg_catalog, pg_temp")
        for path in sorted((db_dir / "functions").rglob("*.sql")):
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                raise RuntimeError(f"{path.relative_to(db_dir.parent)}: {exc}") from exc
        _validate_bodies(conn)
        stale = [str(row[0]) for row in conn.execute(_STALE, {"schemas": list(OUR_SCHEMAS)})]
        if stale:
            raise RuntimeError(
                "functions without a source file (an old signature?): "
                + ", ".join(stale)
                + "; drop them in a migration (docs/architecture.md, Migrate). Nothing was changed."
            )
        conn.execute((db_dir / "grants.sql").read_text())
        after = _snapshot(conn)

    for name, (body, acl) in sorted(after.items()):
        old = before.get(name)
        if old is None or old[0] != body:
            report.functions_changed.append(name)
        else:
            report.functions_unchanged += 1
        if old is not None and old[1] != acl:
            report.privileges_changed.append(name)


def _validate_bodies(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """With every file loaded, check each body as CREATE FUNCTION would: a typo or a missing
    table fails the deploy here instead of on the first call."""
    conn.execute("SET LOCAL check_function_bodies = on")
    rows = conn.execute(_BODIES, {"schemas": list(OUR_SCHEMAS)}).fetchall()
    for oid, name, language in rows:
        validator = "plpgsql_validator" if language == "plpgsql" else "fmgr_sql_validator"
        try:
            with conn.transaction():
                conn.execute(f"SELECT pg_catalog.{validator}(%s)", (oid,))
        except psycopg.Error as exc:
            raise RuntimeError(f"{name}: {exc}") from exc


_BODIES = """
SELECT p.oid, p.oid::regprocedure::text, l.lanname
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_language AS l ON l.oid = p.prolang
WHERE n.nspname = ANY(%(schemas)s) AND l.lanname IN ('plpgsql', 'sql')
"""

# Functions this run did not (re)write: neither from a file nor a CHECK helper a migration
# defined (a trigger function has its file, like every other function). CREATE OR REPLACE
# rewrites the pg_proc row, so its xmin is this transaction.
_STALE = """
SELECT p.oid::regprocedure::text
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s)
  AND p.xmin::text <> (pg_catalog.txid_current() %% 4294967296)::text
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.refobjid = p.oid AND d.classid = 'pg_constraint'::regclass)
  AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[tuple[str, datetime]]  # in the order they were applied, with the time (UTC)
    pending: list[str]  # files not applied yet, in file order
    unknown: list[str]  # applied, but no file has that name (another branch's, or renamed)


def migration_status(admin_url: str, db_dir: Path = DB_DIR) -> MigrationStatus:
    """Which migrations the database has, and which files it has not applied yet."""
    files = sorted(path.stem for path in (db_dir / "migrations").glob("*.sql"))
    with psycopg.connect(admin_url) as conn:
        if conn.execute("SELECT to_regclass('yoyo._yoyo_migration')").fetchone() == (None,):
            rows: list[tuple[object, ...]] = []
        else:
            rows = conn.execute(
                "SELECT migration_id, applied_at_utc FROM yoyo._yoyo_migration"
                " ORDER BY applied_at_utc, migration_id"
            ).fetchall()
    applied = [(str(name), _utc(when)) for name, when in rows]
    done = {name for name, _ in applied}
    return MigrationStatus(
        applied=applied,
        pending=[name for name in files if name not in done],
        unknown=[name for name, _ in applied if name not in set(files)],
    )


def _utc(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
