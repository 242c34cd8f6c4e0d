"""Jobs racing live traffic and themselves on real connections: every row changes once and
every invariant still holds."""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from collections.abc import Callable

from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase
from tests.races import run_together

_user_ids = itertools.count(9 * 10**9, 1000)


def _one(conn: Conn, query: str, *params: object) -> dict[str, object]:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def test_two_expiry_runs_and_redemptions_change_each_reservation_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    code = "JOB" + secrets.token_hex(6).upper()
    campaign = _one(
        admin_conn,
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'expiry job race',"
        " p_discount_percent => 10, p_max_uses => 60) AS id",
        code,
    )["id"]
    holders = [next(_user_ids) for _ in range(40)]
    for user in holders:
        app_conn.execute(
            "SELECT * FROM api.redeem_promo_code(%s, %s, %s)",
            (user, code, "h-" + secrets.token_hex(6)),
        )
    admin_conn.execute("UPDATE ops.clock SET shift = interval '16 minutes'")
    # The job expires every stale hold in the shared database, other tests' ones included.
    others = _one(
        admin_conn,
        "SELECT count(*) AS n FROM promo.promo_redemptions WHERE status = 'RESERVED'"
        " AND reserved_until <= ops.now() AND promo_code_id <> %s",
        campaign,
    )["n"]
    newcomers = [next(_user_ids) for _ in range(30)]

    def act(conn: Conn, i: int) -> object:
        if i < 2:  # two concurrent runs of the job
            return _one(conn, "SELECT api.expire_promo_reservations(1000) AS n")["n"]
        return _one(
            conn,
            "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
            newcomers[i - 2],
            code,
            "n-" + secrets.token_hex(6),
        )["outcome"]

    results = run_together(lambda i: database.jobs_url if i < 2 else database.app_url, 32, act)
    expired_by_jobs = sum(int(str(r)) for r in results[:2])
    outcomes = Counter(results[2:])
    assert outcomes == {"RESERVED": 30}, "60 units: 40 stale holds freed, 30 newcomers fit"
    statuses = dict(
        (str(r["status"]), int(str(r["n"])))
        for r in admin_conn.execute(
            "SELECT status, count(*) AS n FROM promo.promo_redemptions WHERE promo_code_id = %s"
            " GROUP BY status",
            (campaign,),
        ).fetchall()
    )
    # Every stale hold expired exactly once, by a job run or by a redemption reclaiming it.
    assert statuses == {"EXPIRED": 40, "RESERVED": 30}
    assert expired_by_jobs <= 40 + int(str(others))
    slots = _one(
        admin_conn,
        "SELECT sum(held) AS held FROM promo.capacity_slots WHERE promo_code_id = %s",
        campaign,
    )
    assert slots == {"held": 30}


def test_expiry_never_expires_a_paid_reservation(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    """Payments complete while the expiry job runs on the same (stale) reservations."""
    code = "PAYJOB" + secrets.token_hex(5).upper()
    admin_conn.execute(
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'expiry vs payment',"
        " p_discount_percent => 20, p_max_uses => 20)",
        (code,),
    )
    buyers = [next(_user_ids) for _ in range(10)]
    invoices = []
    for buyer in buyers:
        rid = _one(
            app_conn,
            "SELECT promo_redemption_id FROM api.redeem_promo_code(%s, %s, %s)",
            buyer,
            code,
            "b-" + secrets.token_hex(6),
        )["promo_redemption_id"]
        invoices.append(
            _one(
                app_conn,
                "SELECT * FROM api.init_purchase(%s, 'premium_30d', %s, %s)",
                buyer,
                rid,
                "i-" + secrets.token_hex(6),
            )
        )
    admin_conn.execute("UPDATE ops.clock SET shift = interval '16 minutes'")

    def act(conn: Conn, i: int) -> object:
        if i >= 10:
            return _one(conn, "SELECT api.expire_promo_reservations(1000) AS n")["n"]
        return _one(
            conn,
            "SELECT outcome FROM api.complete_purchase(%s, %s, %s, 'XTR', 200)",
            buyers[i],
            invoices[i]["invoice_payload"],
            "c-" + secrets.token_hex(6),
        )["outcome"]

    results = run_together(lambda i: database.jobs_url if i >= 10 else database.app_url, 12, act)
    assert results[:10] == ["PAID"] * 10
    rows = admin_conn.execute(
        "SELECT r.status, r.consumed_at IS NOT NULL AS consumed,"
        " r.expired_at IS NOT NULL AS expired"
        " FROM billing.purchases p JOIN promo.promo_redemptions r USING (promo_redemption_id)"
        " WHERE p.user_id = ANY(%s)",
        (buyers,),
    ).fetchall()
    # Each reservation was either consumed by its payment or expired first (and then the
    # payment was honoured with an alert), never both.
    assert all(not (r["consumed"] and r["expired"]) for r in rows)
    expired = sum(1 for r in rows if r["status"] == "EXPIRED")
    lost = _one(
        admin_conn,
        "SELECT count(*) AS n FROM ops.alert_outbox WHERE event = 'payments.reservation_lost'"
        " AND (details->>'purchase_id')::bigint IN"
        " (SELECT purchase_id FROM billing.purchases WHERE user_id = ANY(%s))",
        buyers,
    )
    assert lost["n"] == expired


def _guarded_campaign(admin: Conn, **fields: object) -> tuple[str, str, int]:
    """(prefix, code, id) of a fresh PREMIUM_GRANT campaign with a public prefix."""
    prefix = "G" + secrets.token_hex(4).upper()
    code = prefix + secrets.token_hex(4).upper()
    named = "".join(f", {name} => %({name})s" for name in fields)
    row = admin.execute(
        f"SELECT api.create_promo_code(%(code)s, 'PREMIUM_GRANT', 'guard race', p_grant_days => 1,"
        f" p_prefix => %(prefix)s{named}) AS id",
        {"code": code, "prefix": prefix, **fields},
    ).fetchone()
    assert row is not None
    return prefix, code, int(str(row["id"]))


def _redeem(conn: Conn, user_id: int, code: str) -> str:
    return str(
        _one(
            conn,
            "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
            user_id,
            code,
            "g-" + secrets.token_hex(8),
        )["outcome"]
    )


def _after_guard(admin: Conn, cid: int) -> tuple[str, int]:
    """The campaign's status after a guard run, and how many autopause alerts name it."""
    admin.execute("SELECT api.run_promo_bruteforce_guard()")
    status = _one(admin, "SELECT status FROM promo.promo_codes WHERE promo_code_id = %s", cid)
    alerts = _one(
        admin,
        "SELECT count(*) AS n FROM ops.alert_outbox WHERE event = 'promo.campaign_autopaused'"
        " AND (details->>'promo_code_id')::bigint = %s",
        cid,
    )
    return str(status["status"]), int(str(alerts["n"]))


def test_a_flash_promo_sold_out_in_a_race_is_not_paused_by_the_guard(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    _, code, cid = _guarded_campaign(admin_conn, p_max_uses=1)
    users = [next(_user_ids) for _ in range(200)]
    results = run_together(database.app_url, 200, lambda conn, i: _redeem(conn, users[i], code))
    assert Counter(results) == {"APPLIED": 1, "DEPLETED": 199}
    assert _after_guard(admin_conn, cid) == ("ACTIVE", 0)


def test_users_retrying_their_own_code_are_not_guessing(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    _, code, cid = _guarded_campaign(admin_conn)
    users = [next(_user_ids) for _ in range(10)]
    assert [_redeem(app_conn, user, code) for user in users] == ["APPLIED"] * 10
    results = run_together(database.app_url, 50, lambda conn, i: _redeem(conn, users[i % 10], code))
    assert Counter(results) == {"ALREADY_REDEEMED": 50}
    assert _after_guard(admin_conn, cid) == ("ACTIVE", 0)


def test_guesses_on_a_prefix_from_many_users_pause_the_campaign(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    prefix, _, cid = _guarded_campaign(admin_conn)
    users = [next(_user_ids) for _ in range(60)]
    results = run_together(
        database.app_url,
        60,
        lambda conn, i: _redeem(conn, users[i], prefix + secrets.token_hex(5).upper()),
    )
    assert Counter(results) == {"NOT_FOUND": 60}
    assert _after_guard(admin_conn, cid) == ("PAUSED", 1)


def test_pruning_races_redemptions_and_itself_and_deletes_only_what_retention_lets_go(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Four prune runs in small batches race 28 users redeeming and guessing, 32 days after a
    first round of traffic: every old refusal and replay is deleted exactly once, every
    redemption's binding attempt and every new attempt stays, and the throttle counts what it
    counted before."""
    db = new_database()
    code = "RET" + secrets.token_hex(6).upper()
    with connect(db.admin_url) as admin, connect(db.app_url) as app:
        admin.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'retention race',"
            " p_grant_days => 30)",
            (code,),
        )
        for user in range(1, 41):  # the first round: a grant, its replay and two guesses each
            key = f"old-grant-{user}"
            for _ in range(2):
                app.execute("SELECT api.redeem_promo_code(%s, %s, %s)", (user, code, key))
            for guess in range(2):
                app.execute(
                    "SELECT api.redeem_promo_code(%s, %s, %s)",
                    (user, f"WRONG{guess}", f"old-guess-{user}-{guess}"),
                )
        admin.execute("UPDATE ops.clock SET shift = interval '32 days'")
        old = _one(admin, "SELECT max(attempt_id) AS id FROM promo.promo_attempts")["id"]

    def act(conn: Conn, i: int) -> object:
        if i < 4:
            pruned = []
            while n := int(str(_one(conn, "SELECT api.prune_history(7) AS n")["n"])):
                pruned.append(n)
            return sum(pruned)
        user = 1000 + i
        outcomes = [
            _one(conn, "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
                 user, code if n == 0 else f"NOPE{n}", f"new-{user}-{n}")["outcome"]
            for n in range(4)
        ]  # fmt: skip
        return outcomes

    results = run_together(lambda i: db.jobs_url if i < 4 else db.app_url, 32, act)
    with connect(db.admin_url) as admin:
        pruned_by_runs = sum(int(str(r)) for r in results[:4])
        assert pruned_by_runs == 40 * 3, "each old replay and guess once, by one of the runs"
        left = _one(
            admin,
            "SELECT count(*) FILTER (WHERE attempt_id <= %s) AS old,"
            " count(*) FILTER (WHERE attempt_id <= %s AND binding"
            "                  AND promo_redemption_id IS NOT NULL) AS kept,"
            " count(*) FILTER (WHERE attempt_id > %s) AS new FROM promo.promo_attempts",
            old, old, old,
        )  # fmt: skip
        assert left == {"old": 40, "kept": 40, "new": 28 * 4}
        assert all(r == ["APPLIED", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"] for r in results[4:])
        counted = _one(
            admin,
            "SELECT count(*) AS n FROM promo.promo_attempts WHERE counted AND user_id >= 1000",
        )["n"]
        assert counted == 28 * 3, "the new guesses still count for the throttle"
        assert admin.execute("SELECT * FROM api.check_invariants()").fetchall() == []
