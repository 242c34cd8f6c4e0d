"""Real logins as each login role: the api functions of its surface work; tables, helpers and
other surfaces' functions do not."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase


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


def _refused(conn: Conn, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


ADMIN_CALLS = (
    "SELECT api.create_promo_code('PRIVTEST1234', 'PREMIUM_GRANT', 'priv', p_grant_days => 1)",
    "SELECT * FROM api.adjust_premium_days(1, 30, 'me', 'free premium')",
    "SELECT * FROM api.block_promo_user(1, now() + interval '1 day', 'me', 'spite')",
    "SELECT * FROM api.set_setting('promo.throttle_max_failures', '1000000', 'me', 'off')",
    "SELECT * FROM api.list_promo_campaigns()",
    "SELECT * FROM api.retry_alert(1, 'me')",
    "SELECT api.raise_test_alert('jobs.failed', 'error', 'me')",
)
ALERT_CALLS = (
    "SELECT * FROM api.claim_alerts(10)",
    "SELECT * FROM api.claim_alert_deliveries('{generic}')",
    "SELECT * FROM api.ack_alert_delivery(1, 1)",
)
JOB_CALLS = ("SELECT api.expire_promo_reservations(10)", "SELECT api.run_promo_bruteforce_guard()")
USER_CALLS = ("SELECT * FROM api.redeem_promo_code(1, 'ANYCODE123', 'privilege-key-1')",)


@pytest.mark.parametrize("statement", ADMIN_CALLS + ALERT_CALLS + JOB_CALLS)
def test_app_role_cannot_do_what_operators_jobs_or_the_dispatcher_do(
    app_conn: Conn, statement: str
) -> None:
    _refused(app_conn, statement)


@pytest.mark.parametrize("statement", USER_CALLS + ALERT_CALLS + JOB_CALLS)
def test_admin_role_cannot_redeem_claim_alerts_or_run_jobs(
    staff_conn: Conn, statement: str
) -> None:
    _refused(staff_conn, statement)


@pytest.mark.parametrize("role", ["starpass_jobs", "starpass_alerts"])
def test_jobs_and_alerts_roles_cannot_administer_or_redeem(
    database: ScratchDatabase, role: str
) -> None:
    with connect(database.role_urls[role]) as conn:
        for statement in ADMIN_CALLS + USER_CALLS:
            _refused(conn, statement)
        for statement in ALERT_CALLS if role == "starpass_jobs" else JOB_CALLS:
            _refused(conn, statement)


def test_each_role_runs_its_own_surface(database: ScratchDatabase, staff_conn: Conn) -> None:
    with connect(database.jobs_url) as jobs:
        assert jobs.execute("SELECT api.expire_promo_reservations(10) AS n").fetchone() is not None
    with connect(database.role_urls["starpass_alerts"]) as alerts:
        # Past the privilege check: the function itself refuses an alert that does not exist.
        with pytest.raises(psycopg.Error) as refused:
            alerts.execute("SELECT * FROM api.ack_alert_delivery(-1, 1)")
        assert refused.value.sqlstate in {"SP404", "SP422"}
    assert staff_conn.execute("SELECT count(*) AS n FROM api.list_settings()").fetchone()


def test_the_audit_log_records_the_login_role_beside_the_named_actor(
    staff_conn: Conn, admin_conn: Conn
) -> None:
    code = "ROLE" + secrets.token_hex(5).upper()
    row = staff_conn.execute(
        "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'role audit', p_grant_days => 1,"
        " p_actor => 'someone-else') AS id",
        (code,),
    ).fetchone()
    assert row is not None
    audit = admin_conn.execute(
        "SELECT actor, db_role FROM ops.audit_log WHERE action = 'promo.campaign_created'"
        " AND target_id = %s",
        (str(row["id"]),),
    ).fetchall()
    assert audit == [{"actor": "someone-else", "db_role": "starpass_admin"}]


@pytest.mark.parametrize(
    ("role", "statement_timeout"),
    [("starpass_app", "10s"), ("starpass_admin", "1min"), ("starpass_jobs", "10min")],
)
def test_login_roles_get_their_statement_timeout(
    database: ScratchDatabase, role: str, statement_timeout: str
) -> None:
    with connect(database.role_urls[role]) as conn:
        shown = conn.execute("SHOW statement_timeout").fetchone()
        idle = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert shown == {"statement_timeout": statement_timeout}
    assert idle is not None and idle["idle_in_transaction_session_timeout"] != "0"
