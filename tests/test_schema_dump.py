"""db/schema.sql is what the migrations build: a fresh database's normalised schema dump."""

from __future__ import annotations

import difflib

from app.config import PROJECT_ROOT, Settings
from app.db import schema

SCHEMA_FILE = PROJECT_ROOT / "db" / "schema.sql"


def test_db_schema_sql_is_the_schema_the_migrations_build(pg_server: str) -> None:
    # What `make schema` writes: a database migrated beside the server's `postgres`, dumped.
    built = schema.dump_fresh(pg_server, Settings(_env_file=None).starpass_pg_bindir)
    committed = SCHEMA_FILE.read_text()
    if built != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), built.splitlines(), "db/schema.sql", "migrated", lineterm=""
        )
        shown = "\n".join(list(diff)[:60])
        raise AssertionError(f"db/schema.sql is stale: run `make schema`\n{shown}")


def test_the_dump_drops_what_varies_and_keeps_the_bodies() -> None:
    raw = "\n".join(
        [
            "--",
            "-- PostgreSQL database dump",
            "--",
            "",
            "\\restrict AbC123",
            "",
            "-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)",
            "-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)",
            "",
            "SET statement_timeout = 0;",
            "SELECT pg_catalog.set_config('search_path', '', false);",
            "",
            "--",
            "-- Name: f(); Type: FUNCTION; Schema: ops; Owner: starpass_owner",
            "--",
            "",
            "CREATE FUNCTION ops.f() RETURNS void",
            "    LANGUAGE sql",
            "    AS $$",
            "UPDATE t",
            "SET a = 1;",
            "--",
            "$$;",
            "",
            "",
            "",
            "SET default_tablespace = '';",
            "--",
            "-- PostgreSQL database dump complete",
            "--",
            "",
            "\\unrestrict AbC123",
        ]
    )
    body = schema.normalise(raw).removeprefix(schema.HEADER)
    assert body == (
        "\n-- Name: f(); Type: FUNCTION; Schema: ops; Owner: starpass_owner\n\n"
        "CREATE FUNCTION ops.f() RETURNS void\n    LANGUAGE sql\n    AS $$\nUPDATE t\n"
        "SET a = 1;\n--\n$$;\n"
    )
