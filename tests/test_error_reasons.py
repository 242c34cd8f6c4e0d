"""Refusals by condition: the reasons the SQL functions raise (CONSTRAINT field) are the ones
docs/errors.md lists, reach psycopg as diag.constraint_name and become the problem `code`."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from app.api.errors import SQLSTATE_STATUS, problem_from_db_error
from app.config import PROJECT_ROOT
from tests.conftest import Conn

SCHEMAS = ["api", "core", "billing", "promo", "referral", "ops"]
# One row of the reason table, the reason with its anchor (a problem's `type` points at it):
# | <a id="reason"></a>`reason` | `SQLSTATE` | HTTP status | meaning | raised by |
DOC_ROW = re.compile(r'^\| <a id="([a-z0-9_]+)"></a>`\1` \| `(SP\w+)` \| (\d{3}) \|', re.MULTILINE)


def _raised(conn: Conn) -> set[tuple[str, str]]:
    """(reason, SQLSTATE) of every RAISE in the project's PL/pgSQL function bodies."""
    rows = conn.execute(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'"
        " WHERE n.nspname = ANY(%s)",
        (SCHEMAS,),
    ).fetchall()
    found: set[tuple[str, str]] = set()
    for row in rows:
        for piece in re.split(r"\bRAISE\b", str(row["prosrc"]), flags=re.IGNORECASE)[1:]:
            statement = re.split(r";[ \t]*\n", piece, maxsplit=1)[0]
            state = re.search(r"ERRCODE\s*=\s*'(SP\w+)'", statement, re.IGNORECASE)
            reason = re.search(r"CONSTRAINT\s*=\s*'(\w+)'", statement, re.IGNORECASE)
            if state and reason:
                found.add((reason.group(1), state.group(1)))
    return found


def test_the_documented_reasons_are_the_raised_ones(admin_conn: Conn) -> None:
    documented = DOC_ROW.findall((PROJECT_ROOT / "docs" / "errors.md").read_text())
    assert len({reason for reason, _, _ in documented}) == len(documented), "a reason twice"
    raised = _raised(admin_conn)
    assert len(raised) >= 30
    assert {(reason, state) for reason, state, _ in documented} == raised
    for reason, state, status in documented:
        assert int(status) == SQLSTATE_STATUS[state][0], reason


def test_a_reason_reaches_psycopg_and_the_problem_code(admin_conn: Conn) -> None:
    # complete_purchase refuses to run under REPEATABLE READ (its locks rely on re-reads).
    admin_conn.autocommit = False
    try:
        admin_conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.Error) as caught:
            admin_conn.execute(
                "SELECT * FROM api.complete_purchase(1, 'payload', 'charge', 'XTR', 1)"
            )
    finally:
        admin_conn.rollback()
        admin_conn.autocommit = True
    assert caught.value.sqlstate == "SP409"
    assert caught.value.diag.constraint_name == "read_committed_required"
    response = problem_from_db_error(caught.value)
    assert response.status == 409 and response.text is not None
    body = json.loads(response.text)
    assert body["code"] == "read_committed_required"
    assert body["type"] == "docs/errors.md#read_committed_required"


def test_a_refusal_without_a_reason_keeps_its_sqlstate_code(admin_conn: Conn) -> None:
    with pytest.raises(psycopg.Error) as caught:
        admin_conn.execute(
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'x'; END $$"
        )
    response = problem_from_db_error(caught.value)
    assert response.text is not None and json.loads(response.text)["code"] == "conflict"


def test_a_check_violation_is_not_taken_for_a_reason(admin_conn: Conn) -> None:
    # PostgreSQL's own errors name constraints too: only class SP carries reasons.
    with pytest.raises(psycopg.Error) as caught:
        admin_conn.execute("UPDATE ops.clock SET singleton = false")
    assert caught.value.diag.constraint_name
    with pytest.raises(psycopg.Error):
        problem_from_db_error(caught.value)
