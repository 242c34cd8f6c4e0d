"""A real login as starpass_app: the api schema works, the tables do not."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Conn


def test_app_role_cannot_read_tables(app_conn: Conn) -> None:
    assert app_conn.execute("SELECT current_user AS who").fetchone() == {"who": "starpass_app"}
    for table in ("core.users", "billing.ledger", "billing.plans", "ops.settings", "ops.clock"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(f"SELECT * FROM {table}")


def test_app_role_cannot_call_internal_helpers(app_conn: Conn) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("SELECT ops.now()")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("SELECT billing.post_ledger_entry(1, 'PROMO_PREMIUM', 1, 30)")


def test_app_role_cannot_move_the_clock(app_conn: Conn) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("UPDATE ops.clock SET frozen_at = now() + interval '1 year'")


def test_app_role_lists_plans(app_conn: Conn) -> None:
    plans = app_conn.execute("SELECT plan_code, price_stars FROM api.list_plans()").fetchall()
    assert plans == [
        {"plan_code": "premium_30d", "price_stars": 250},
        {"plan_code": "premium_90d", "price_stars": 600},
        {"plan_code": "premium_365d", "price_stars": 2000},
    ]


def test_sql_errors_carry_sqlstate_detail_and_hint(app_conn: Conn) -> None:
    with pytest.raises(psycopg.Error) as caught:
        app_conn.execute("SELECT * FROM api.touch_user(-1)")
    diag = caught.value.diag
    assert diag.sqlstate == "SP422"
    assert diag.message_primary == "invalid argument p_user_id"
    assert diag.message_detail == "user id -1 is not a Telegram user id (1 to 2^53-1)"
    assert diag.message_hint == "Pass the numeric id of the Telegram user (from.id)."
