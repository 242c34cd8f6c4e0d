"""`starpass db schema`: the schema of a migrated database as one normalised SQL text.

`db/schema.sql` is its output for a fresh database (`make schema` rewrites it), so a table's final
shape can be read without replaying the migrations; a test fails when the file is stale.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from app.db.cluster import libpq_environment
from app.db.migrate import migrate

HEADER = (
    "-- The schema of a freshly migrated Starpass database: `starpass db schema --fresh` (a\n"
    "-- schema-only pg_dump, normalised). Generated, do not edit: `make schema` rewrites it, and\n"
    "-- tests/test_schema_dump.py fails when it differs from what the migrations build.\n"
)
# What varies between servers, versions or runs and says nothing about the schema: the banner
# and version lines, the random key of \restrict (15.14+), and the session settings pg_dump
# emits (before the first object, and before the first table).
_BANNER = re.compile(
    r"^(-- Dumped (from|by) .*|-- PostgreSQL database dump( complete)?|\\(un)?restrict .*"
    r"|SET default_(tablespace|table_access_method) = .*;)$"
)
_PREAMBLE = re.compile(
    r"^(SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\('search_path', '', false\);)$"
)
_FRAMED = re.compile(r"^-- (Name: .*|PostgreSQL database dump( complete)?)$")


def pg_dump_path(bindir: Path) -> str:
    """pg_dump of the configured PostgreSQL 15 binaries, else the one on PATH."""
    candidate = bindir / "pg_dump"
    return str(candidate) if candidate.is_file() else (shutil.which("pg_dump") or "pg_dump")


def dump(admin_url: str, bindir: Path) -> str:
    """The normalised schema-only dump of the database the URL names (yoyo's bookkeeping left
    out); credentials go to pg_dump in its environment, never on its command line."""
    result = subprocess.run(
        [pg_dump_path(bindir), "--schema-only", "--exclude-schema=yoyo", "--no-tablespaces"],
        env={"PATH": "/usr/bin:/bin", **libpq_environment(admin_url)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return normalise(result.stdout)


def dump_fresh(admin_url: str, bindir: Path) -> str:
    """The dump of a database the migrations just built: created beside the one the URL
    names (on the same server, by the same superuser), migrated, dumped and dropped."""
    name = f"starpass_schema_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        fresh_url = make_conninfo(admin_url, dbname=name)
        migrate(fresh_url)
        return dump(fresh_url, bindir)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def normalise(text: str) -> str:
    """Without the noise; each object's `-- Name: ...` header on one line (its `--` frame
    dropped); at most one blank line in a row. Function bodies are left as they are."""
    lines = [line.rstrip() for line in text.splitlines()]
    kept: list[str] = []
    in_preamble = True
    for i, line in enumerate(lines):
        if line.startswith("-- Name: "):
            in_preamble = False
        framing = line == "--" and any(
            _FRAMED.match(lines[j]) for j in (i - 1, i + 1) if 0 <= j < len(lines)
        )
        if framing or _BANNER.match(line) or (in_preamble and _PREAMBLE.match(line)):
            continue
        kept.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return HEADER + "\n" + body + "\n"
