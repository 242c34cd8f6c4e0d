"""Races on redemption with many real connections at once: capacity, replays, per-user limits,
throttle counts, and reservations racing for the last units."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import Counter

from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase
from tests.races import run_together

_user_ids = itertools.count(7 * 10**9, 1000)


def _users(n: int) -> list[int]:
    first = next(_user_ids)
    return [first + i for i in range(n)]


def _code() -> str:
    return "RACE" + secrets.token_hex(6).upper()


def _create(conn: Conn, code: str, kind: str = "PREMIUM_GRANT", **fields: object) -> int:
    defaults: dict[str, object] = (
        {"p_grant_days": 30} if kind == "PREMIUM_GRANT" else {"p_discount_percent": 20}
    )
    args = {**defaults, **fields}
    named = ", ".join(f"{name} => %({name})s" for name in args)
    row = conn.execute(
        f"SELECT api.create_promo_code(%(code)s, %(kind)s, 'race', {named}) AS id",
        {"code": code, "kind": kind, **args},
    ).fetchone()
    assert row is not None
    return int(str(row["id"]))


def _redeem(conn: Conn, user_id: int, code: str, key: str) -> dict[str, object]:
    row = conn.execute(
        "SELECT * FROM api.redeem_promo_code(%s, %s, %s)", (user_id, code, key)
    ).fetchone()
    assert row is not None
    return row


def _key() -> str:
    return "race-" + secrets.token_hex(8)


def test_200_users_race_for_50_uses(database: ScratchDatabase, admin_conn: Conn) -> None:
    code = _code()
    campaign = _create(admin_conn, code, p_max_uses=50)
    users = _users(200)
    results = run_together(
        database.app_url, 200, lambda conn, i: _redeem(conn, users[i], code, _key())
    )
    assert Counter(r["outcome"] for r in results) == {"APPLIED": 50, "DEPLETED": 150}
    figures = admin_conn.execute(
        "SELECT used_total, applied, capacity_left FROM api.get_promo_campaign(%s)", (campaign,)
    ).fetchone()
    assert figures == {"used_total": 50, "applied": 50, "capacity_left": 0}
    granted = admin_conn.execute(
        "SELECT count(*) AS n FROM billing.ledger"
        " WHERE kind = 'PROMO_PREMIUM' AND user_id = ANY(%s)",
        (users,),
    ).fetchone()
    assert granted == {"n": 50}


def test_unlimited_campaign_serves_everyone(database: ScratchDatabase, admin_conn: Conn) -> None:
    code = _code()
    _create(admin_conn, code)
    users = _users(100)
    results = run_together(
        database.app_url, 100, lambda conn, i: _redeem(conn, users[i], code, _key())
    )
    assert Counter(r["outcome"] for r in results) == {"APPLIED": 100}


def test_50_identical_requests_make_one_redemption(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    code = _code()
    _create(admin_conn, code, p_max_uses=10)
    (user,) = _users(1)
    key = _key()
    results = run_together(database.app_url, 50, lambda conn, i: _redeem(conn, user, code, key))
    assert [r["replayed"] for r in results].count(False) == 1
    assert all(r["outcome"] == "APPLIED" for r in results)
    assert len({(r["promo_redemption_id"], r["premium_until"]) for r in results}) == 1
    rows = admin_conn.execute(
        "SELECT count(*) AS n FROM promo.promo_redemptions WHERE user_id = %s", (user,)
    ).fetchone()
    assert rows == {"n": 1}


def test_one_user_20_keys_per_user_limit_1(database: ScratchDatabase, admin_conn: Conn) -> None:
    code = _code()
    _create(admin_conn, code, p_max_uses=100, p_per_user_limit=1)
    (user,) = _users(1)
    results = run_together(database.app_url, 20, lambda conn, i: _redeem(conn, user, code, _key()))
    outcomes = Counter(r["outcome"] for r in results)
    assert outcomes["APPLIED"] == 1
    # The 19 others are refused; once 5 refusals are counted the rest are throttled.
    assert outcomes["ALREADY_REDEEMED"] == 5 and outcomes["THROTTLED"] == 14
    rows = admin_conn.execute(
        "SELECT count(*) AS n FROM promo.promo_redemptions WHERE user_id = %s", (user,)
    ).fetchone()
    assert rows == {"n": 1}


def test_20_concurrent_bad_attempts_count_at_most_5(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    (user,) = _users(1)
    results = run_together(
        database.app_url, 20, lambda conn, i: _redeem(conn, user, f"NOPE{i:04d}XYZ", _key())
    )
    assert Counter(r["outcome"] for r in results) == {"NOT_FOUND": 5, "THROTTLED": 15}
    counted = admin_conn.execute(
        "SELECT count(*) FILTER (WHERE counted) AS counted, count(*) AS logged"
        " FROM promo.promo_attempts WHERE user_id = %s",
        (user,),
    ).fetchone()
    assert counted == {"counted": 5, "logged": 20}
    state = admin_conn.execute(
        "SELECT is_blocked, failures_in_window FROM api.get_promo_throttle(%s)", (user,)
    ).fetchone()
    assert state == {"is_blocked": True, "failures_in_window": 5}


def test_reservations_race_for_the_last_units(database: ScratchDatabase, admin_conn: Conn) -> None:
    code = _code()
    campaign = _create(admin_conn, code, "PERCENT_DISCOUNT", p_max_uses=12)
    early = _users(8)
    with connect(database.app_url) as conn:
        for user in early:
            assert _redeem(conn, user, code, _key())["outcome"] == "RESERVED"
    # The first 8 holds run out (not yet expired by any job): their units are free again.
    admin_conn.execute("UPDATE ops.clock SET shift = interval '16 minutes'")
    late = _users(40)
    results = run_together(
        database.app_url, 40, lambda conn, i: _redeem(conn, late[i], code, _key())
    )
    assert Counter(r["outcome"] for r in results) == {"RESERVED": 12, "DEPLETED": 28}
    statuses = admin_conn.execute(
        "SELECT status, count(*) AS n FROM promo.promo_redemptions WHERE promo_code_id = %s"
        " GROUP BY status ORDER BY status",
        (campaign,),
    ).fetchall()
    assert statuses == [{"status": "EXPIRED", "n": 8}, {"status": "RESERVED", "n": 12}]
    held = admin_conn.execute(
        "SELECT sum(held) AS held, sum(capacity) AS capacity FROM promo.capacity_slots"
        " WHERE promo_code_id = %s",
        (campaign,),
    ).fetchone()
    assert held == {"held": 12, "capacity": 12}


def test_one_key_from_30_users_binds_to_exactly_one(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    code = _code()
    _create(admin_conn, code, p_max_uses=100)
    users = _users(30)
    key = _key()
    results = run_together(database.app_url, 30, lambda conn, i: _redeem(conn, users[i], code, key))
    assert Counter(r["outcome"] for r in results) == {"APPLIED": 1, "IDEMPOTENCY_CONFLICT": 29}
    binding = admin_conn.execute(
        "SELECT count(*) AS n FROM promo.promo_attempts WHERE idempotency_key = %s AND binding",
        (key,),
    ).fetchone()
    assert binding == {"n": 1}


def test_one_user_many_keys_on_a_discount_holds_one_reservation(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    code = _code()
    _create(admin_conn, code, "PERCENT_DISCOUNT", p_max_uses=10, p_per_user_limit=3)
    (user,) = _users(1)
    results = run_together(database.app_url, 20, lambda conn, i: _redeem(conn, user, code, _key()))
    assert Counter(r["outcome"] for r in results) == {"RESERVED": 20}
    assert len({r["promo_redemption_id"] for r in results}) == 1, "the live hold is handed back"


def test_a_pause_ends_the_wait_for_the_last_unit(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    """A redemption queued for a campaign's last unit (held by a transaction still open) sees a
    pause that commits meanwhile: it answers PAUSED at once, without waiting for the holder."""
    code = _code()
    promo_code_id = _create(admin_conn, code, p_max_uses=1)
    holder_user, waiter_user = _users(2)
    answer: dict[str, object] = {}
    with connect(database.app_url) as holder, connect(database.app_url) as waiter:
        holder.execute("BEGIN")
        assert _redeem(holder, holder_user, code, _key())["outcome"] == "APPLIED"
        pid = waiter.execute("SELECT pg_backend_pid() AS pid").fetchone()
        assert pid is not None

        def redeem() -> None:
            try:
                answer["row"] = _redeem(waiter, waiter_user, code, _key())
            except Exception as exc:  # re-raised below, in the test's thread
                answer["error"] = exc

        thread = threading.Thread(target=redeem)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the waiter sleeps in promo.take_capacity
            row = admin_conn.execute(
                "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (pid["pid"],)
            ).fetchone()
            if row is not None and row["wait_event"] == "PgSleep":
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the second redemption never waited for the held unit")
        admin_conn.execute(
            "SELECT * FROM api.set_promo_campaign_status(%s, 'PAUSED', 'ops:test', %s)",
            (promo_code_id, "flash sale stopped"),
        )
        thread.join(timeout=3)
        assert not thread.is_alive(), "the waiter kept waiting after the pause"
        holder.execute("ROLLBACK")
    assert "error" not in answer, answer
    waited = answer["row"]
    assert isinstance(waited, dict) and waited["outcome"] == "PAUSED"
    used = admin_conn.execute(
        "SELECT sum(used + held) AS n FROM promo.capacity_slots WHERE promo_code_id = %s",
        (promo_code_id,),
    ).fetchone()
    assert used is not None and used["n"] == 0
