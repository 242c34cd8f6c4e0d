"""What one redemption does inside the server, per path, in a warmed-up session (issue 15):
the relations it locks (at most 16, all by fast path) and the plan of every statement it runs
(each table read through an index).

Each test opens its own session, calls the path WARM_UP times (PL/pgSQL then runs generic
plans, which lock only what they use; the first custom plans lock every index of a table they
plan for) and measures the next call. The planner runs with bench.redeem_path.SESSION_SETTINGS:
`enable_seqscan = off` makes the plans those of a production-sized database although the test
tables are tiny (a sequential scan then shows only where no index can serve the statement),
and `jit = off` keeps such a statement from being compiled on every call. The redemptions run
as starpass_app, as the service calls them.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.redeem_path import FAST_PATH_SLOTS, SESSION_SETTINGS, locked_relations, redeem
from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase

WARM_UP = 11

# Tables a statement on the path may read without an index, and why.
# (None: ops.clock, the one single-row table, is read only by test databases' clocks.)
SEQ_SCAN_EXEMPT: dict[str, str] = {}

INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")

_users = itertools.count(8 * 10**12 + secrets.randbelow(10**6) * 10**4)

# path -> (outcome, replayed) of the measured call
PATHS = {
    "APPLIED": ("APPLIED", False),
    "RESERVED": ("RESERVED", False),
    "NOT_FOUND": ("NOT_FOUND", False),
    "ALREADY_REDEEMED": ("ALREADY_REDEEMED", False),
    "THROTTLED": ("THROTTLED", False),
    "REPLAY": ("APPLIED", True),
}


@pytest.fixture(scope="module")
def codes(database: ScratchDatabase) -> dict[str, str]:
    """A PREMIUM_GRANT and a PERCENT_DISCOUNT code with room for every call of this module."""
    made = {
        "PREMIUM_GRANT": "PATHG" + secrets.token_hex(5).upper(),
        "PERCENT_DISCOUNT": "PATHD" + secrets.token_hex(5).upper(),
    }
    with connect(database.staff_url) as conn:
        for kind, code in made.items():
            field = "p_grant_days => 30" if kind == "PREMIUM_GRANT" else "p_discount_percent => 10"
            conn.execute(
                f"SELECT api.create_promo_code(%s, %s, 'redeem path', {field},"
                " p_max_uses => 100000, p_actor => 'pytest')",
                (code, kind),
            )
    return made


@contextmanager
def session(database: ScratchDatabase, notices: list[str] | None = None) -> Iterator[Conn]:
    """A session as starpass_app with the test's planner settings; with `notices`, auto_explain
    sends the plan of every statement (nested ones too) there as a NOTICE."""
    with connect(database.admin_url) as conn:
        if notices is not None:
            conn.execute("LOAD 'auto_explain'")
            for setting in (
                "auto_explain.log_min_duration = 0",
                "auto_explain.log_nested_statements = on",
                "auto_explain.log_analyze = off",
                "auto_explain.log_verbose = on",
                "auto_explain.log_format = json",
                "auto_explain.log_level = notice",
                "client_min_messages = notice",
            ):
                conn.execute(f"SET {setting}")
            conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        for setting in SESSION_SETTINGS:
            conn.execute(setting)
        conn.execute("SET ROLE starpass_app")
        yield conn


def prepare_call(
    path: str, conn: Conn, database: ScratchDatabase, codes: dict[str, str]
) -> Callable[[], tuple[str, bool]]:
    """Sets up one call of `path` for a new user (a first redemption, a block) and returns
    the call itself."""
    user = next(_users)
    grant = codes["PREMIUM_GRANT"]
    key = f"path-{user}"
    if path == "RESERVED":
        return lambda: redeem(conn, user, codes["PERCENT_DISCOUNT"], key)
    if path == "NOT_FOUND":
        return lambda: redeem(conn, user, "NOSUCH" + secrets.token_hex(6).upper(), key)
    if path in ("ALREADY_REDEEMED", "REPLAY"):
        assert redeem(conn, user, grant, key) == ("APPLIED", False)
        again = key if path == "REPLAY" else key + "-again"
        return lambda: redeem(conn, user, grant, again)
    if path == "THROTTLED":
        with connect(database.app_url) as app, connect(database.staff_url) as staff:
            app.execute("SELECT api.touch_user(%s)", (user,))
            staff.execute(
                "SELECT api.block_promo_user(%s, now() + interval '1 day', 'pytest', 'lock path')",
                (user,),
            )
    return lambda: redeem(conn, user, grant, key)


def warm_up(path: str, conn: Conn, database: ScratchDatabase, codes: dict[str, str]) -> None:
    for _ in range(WARM_UP):
        assert prepare_call(path, conn, database, codes)() == PATHS[path]


@pytest.mark.parametrize("path", PATHS)
def test_lock_count_at_most_16_all_fast_path(
    path: str, database: ScratchDatabase, codes: dict[str, str]
) -> None:
    """Issue 15's target: PostgreSQL 15 has 16 fast-path lock slots per backend; every
    relation past them is locked in the shared lock table, which 32 clients contend on."""
    with session(database) as conn:
        warm_up(path, conn, database, codes)
        call = prepare_call(path, conn, database, codes)
        with conn.transaction():
            assert call() == PATHS[path]
            locks = locked_relations(conn)
    listing = ", ".join(f"{lock.relation}{'' if lock.fastpath else ' (slow)'}" for lock in locks)
    assert len(locks) <= FAST_PATH_SLOTS and all(lock.fastpath for lock in locks), (
        f"{path} locks {len(locks)} relations, {sum(lock.fastpath for lock in locks)} by fast"
        f" path: {listing}"
    )


def scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from scans(child)


@pytest.mark.parametrize("path", PATHS)
def test_every_statement_reads_through_an_index(
    path: str, database: ScratchDatabase, codes: dict[str, str]
) -> None:
    notices: list[str] = []
    with session(database, notices) as conn:
        warm_up(path, conn, database, codes)
        call = prepare_call(path, conn, database, codes)
        notices.clear()
        assert call() == PATHS[path]
    plans = [json.loads(text[text.index("{") :]) for text in notices if "plan:" in text]
    # The top-level call and the nested statements of even the shortest path (a replay: the
    # key's lock, its lookup, the attempt) must all arrive, or the check below checks nothing.
    assert len(plans) >= 4, f"auto_explain sent {len(plans)} plans: {notices}"
    seq_scans = []
    tables_read = set()
    for explained in plans:
        for node in scans(explained["Plan"]):
            if "Relation Name" not in node:
                continue
            table = f"{node.get('Schema', '?')}.{node['Relation Name']}"
            tables_read.add(table)
            if table in SEQ_SCAN_EXEMPT:
                continue
            # A whole-index scan (no Index Cond: enable_seqscan = off may pick one for order)
            # reads the table as a sequential scan would.
            unbounded = node["Node Type"] in INDEX_SCANS and "Index Cond" not in node
            if node["Node Type"] == "Seq Scan" or unbounded:
                query = " ".join(explained["Query Text"].split())
                seq_scans.append(f"{node['Node Type']} of {table} in: {query}")
    assert seq_scans == [], "scans without an index condition:\n" + "\n".join(seq_scans)
    # The plans are the redemption's own: it always reads the idempotency store.
    assert "promo.promo_attempts" in tables_read, sorted(tables_read)


def test_auto_explain_reports_a_sequential_scan(database: ScratchDatabase) -> None:
    """The plan check above sees a scan that no index serves (so its silence means something)."""
    notices: list[str] = []
    with session(database, notices) as conn:
        conn.execute("RESET ROLE")
        notices.clear()
        conn.execute("SELECT count(*) FROM promo.promo_attempts WHERE request_hash IS NOT NULL")
    node_types = [
        node["Node Type"]
        for text in notices
        if "plan:" in text
        for node in scans(json.loads(text[text.index("{") :])["Plan"])
    ]
    assert "Seq Scan" in node_types, notices


def test_locked_relations_sees_this_transaction_only(database: ScratchDatabase) -> None:
    with session(database) as conn, conn.transaction():
        conn.execute("RESET ROLE")
        conn.execute("SELECT 1 FROM promo.promo_codes WHERE promo_code_id = -1")
        relations = {lock.relation for lock in locked_relations(conn)}
    assert "promo.promo_codes" in relations
    assert "pg_locks" not in relations
