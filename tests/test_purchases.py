"""The money path end to end, and its races on real connections: one charge id completed 20
times at once, payment against reservation expiry, manual rollback against the batch, and 20
concurrent reward choices."""

from __future__ import annotations

import itertools
import secrets
from collections import Counter

from tests.conftest import Conn
from tests.harness import ScratchDatabase
from tests.races import run_together

_user_ids = itertools.count(8 * 10**9, 1000)


def _row(conn: Conn, query: str, *params: object) -> dict[str, object]:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def _key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def _discount_reservation(conn: Conn, admin: Conn, user: int, percent: int = 25) -> int:
    code = "PAY" + secrets.token_hex(6).upper()
    admin.execute(
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'pay test',"
        " p_discount_percent => %s, p_max_uses => 5)",
        (code, percent),
    )
    row = _row(conn, "SELECT * FROM api.redeem_promo_code(%s, %s, %s)", user, code, _key("r"))
    assert row["outcome"] == "RESERVED"
    return int(str(row["promo_redemption_id"]))


def _invoice(conn: Conn, user: int, plan: str, redemption: int | None) -> dict[str, object]:
    return _row(
        conn, "SELECT * FROM api.init_purchase(%s, %s, %s, %s)", user, plan, redemption, _key("i")
    )


def test_a_discounted_purchase_end_to_end(
    app_conn: Conn, staff_conn: Conn, admin_conn: Conn
) -> None:
    referrer, buyer = next(_user_ids), next(_user_ids)
    app_conn.execute("SELECT api.touch_user(%s)", (referrer,))
    code = _row(app_conn, "SELECT api.get_referral_code(%s) AS c", referrer)["c"]
    assert _row(app_conn, "SELECT * FROM api.register_referral(%s, %s)", buyer, code) == {
        "outcome": "REGISTERED",
        "referrer_user_id": referrer,
    }
    redemption = _discount_reservation(app_conn, admin_conn, buyer)
    invoice = _invoice(app_conn, buyer, "premium_90d", redemption)
    # 600 Stars at 25 % off: 450.
    assert (invoice["base_price_stars"], invoice["discount_percent"], invoice["price_stars"]) == (
        600,
        25,
        450,
    )
    again = _invoice(app_conn, buyer, "premium_90d", redemption)
    assert again["purchase_id"] == invoice["purchase_id"] and again["replayed"] is True

    pre = _row(
        app_conn,
        "SELECT * FROM api.precheckout_purchase(%s, %s, 'XTR', %s)",
        buyer,
        invoice["invoice_payload"],
        450,
    )
    assert pre["ok"] is True and pre["refusal"] is None

    charge = _key("charge")
    paid = _row(
        app_conn,
        "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', 450)",
        buyer,
        invoice["invoice_payload"],
        charge,
    )
    assert paid["outcome"] == "PAID" and paid["replayed"] is False
    assert paid["referrer_user_id"] == referrer and paid["referral_reward_id"] is not None
    status = _row(
        admin_conn,
        "SELECT r.status AS redemption, p.status AS purchase FROM promo.promo_redemptions r"
        " JOIN billing.purchases p ON p.promo_redemption_id = r.promo_redemption_id"
        " WHERE r.promo_redemption_id = %s",
        redemption,
    )
    assert status == {"redemption": "CONSUMED", "purchase": "PAID"}

    choice = _row(
        app_conn,
        "SELECT * FROM api.choose_referral_reward(%s, %s, 'DISCOUNT')",
        referrer,
        paid["referral_reward_id"],
    )
    assert choice["outcome"] == "CHOSEN" and choice["promo_redemption_id"] is not None
    # The referrer's personal discount works through the normal purchase flow: 30 % off 250.
    personal = _invoice(app_conn, referrer, "premium_30d", int(str(choice["promo_redemption_id"])))
    assert personal["price_stars"] == 175

    refund = _row(
        app_conn, "SELECT * FROM api.mark_purchase_refunded(%s, 'support', 'asked')", charge
    )
    assert refund["outcome"] == "REFUNDED" and refund["replayed"] is False
    rollback = _row(
        staff_conn,
        "SELECT * FROM api.rollback_refunded_promo(%s, 'support', %s)",
        invoice["purchase_id"],
        _key("rb"),
    )
    assert rollback["outcome"] == "REVOKED"


def test_one_charge_id_completed_20_times_credits_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    """A discounted purchase by a referred user: the slot, reservation and reward paths run
    under the race too."""
    referrer, buyer = next(_user_ids), next(_user_ids)
    app_conn.execute("SELECT api.touch_user(%s)", (referrer,))
    code = _row(app_conn, "SELECT api.get_referral_code(%s) AS c", referrer)["c"]
    app_conn.execute("SELECT * FROM api.register_referral(%s, %s)", (buyer, code))
    redemption = _discount_reservation(app_conn, admin_conn, buyer)
    invoice = _invoice(app_conn, buyer, "premium_30d", redemption)
    charge = _key("charge")
    results = run_together(
        database.app_url,
        20,
        lambda conn, i: _row(
            conn,
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            buyer,
            invoice["invoice_payload"],
            charge,
            invoice["price_stars"],
        ),
    )
    assert Counter((r["outcome"], r["replayed"]) for r in results) == {
        ("PAID", False): 1,
        ("PAID", True): 19,
    }
    assert len({(r["premium_until"], r["referral_reward_id"]) for r in results}) == 1
    state = _row(
        admin_conn,
        "SELECT r.status, s.used, s.held,"
        " (SELECT count(*) FROM billing.ledger"
        "   WHERE user_id = %s AND ref_type = 'purchase') AS rows,"
        " (SELECT count(*) FROM referral.rewards WHERE referee_user_id = %s) AS rewards"
        " FROM promo.promo_redemptions r JOIN promo.capacity_slots s USING (promo_code_id, slot_no)"
        " WHERE r.promo_redemption_id = %s",
        buyer,
        buyer,
        redemption,
    )
    assert state == {"status": "CONSUMED", "used": 1, "held": 0, "rows": 2, "rewards": 1}


def test_two_charges_for_one_invoice_settle_it_once(
    database: ScratchDatabase, app_conn: Conn
) -> None:
    buyer = next(_user_ids)
    app_conn.execute("SELECT api.touch_user(%s)", (buyer,))
    invoice = _invoice(app_conn, buyer, "premium_30d", None)
    results = run_together(
        database.app_url,
        2,
        lambda conn, i: _row(
            conn,
            "SELECT outcome FROM api.complete_purchase(%s, %s, %s, 'XTR', 250)",
            buyer,
            invoice["invoice_payload"],
            _key("charge"),
        ),
    )
    assert sorted(str(r["outcome"]) for r in results) == ["DUPLICATE", "PAID"]


def test_payment_against_reservation_expiry(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    """Payments race redemptions that reclaim expired holds: a paid reservation is consumed
    once and never expired afterwards."""
    buyers = [next(_user_ids) for _ in range(10)]
    code = "EXP" + secrets.token_hex(6).upper()
    admin_conn.execute(
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'expiry race',"
        " p_discount_percent => 10, p_max_uses => 10)",
        (code,),
    )
    invoices = []
    for buyer in buyers:
        row = _row(
            app_conn, "SELECT * FROM api.redeem_promo_code(%s, %s, %s)", buyer, code, _key("r")
        )
        invoices.append(
            _invoice(app_conn, buyer, "premium_30d", int(str(row["promo_redemption_id"])))
        )
    # Every hold has run out; now 10 payments race 10 newcomers who may reclaim expired holds.
    admin_conn.execute("UPDATE ops.clock SET shift = interval '16 minutes'")
    newcomers = [next(_user_ids) for _ in range(10)]

    def act(conn: Conn, i: int) -> str:
        if i % 2 == 0:
            inv = invoices[i // 2]
            return str(
                _row(
                    conn,
                    "SELECT outcome FROM api.complete_purchase(%s, %s, %s, 'XTR', 225)",
                    buyers[i // 2],
                    inv["invoice_payload"],
                    _key("c"),
                )["outcome"]
            )
        return str(
            _row(
                conn,
                "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
                newcomers[i // 2],
                code,
                _key("n"),
            )["outcome"]
        )

    outcomes = run_together(database.app_url, 20, act)
    assert [o for i, o in enumerate(outcomes) if i % 2 == 0] == ["PAID"] * 10
    rows = admin_conn.execute(
        "SELECT p.status AS purchase, r.status AS redemption FROM billing.purchases p"
        " JOIN promo.promo_redemptions r USING (promo_redemption_id) WHERE p.user_id = ANY(%s)",
        (buyers,),
    ).fetchall()
    # Each paid purchase either consumed its reservation or, reclaimed first, left it EXPIRED
    # with an alert; never both, never consumed twice; the slots count exactly the consumed.
    statuses = Counter(str(r["redemption"]) for r in rows)
    assert all(r["purchase"] == "PAID" for r in rows)
    assert set(statuses) <= {"CONSUMED", "EXPIRED"}
    lost = _row(
        admin_conn,
        "SELECT count(*) AS n FROM ops.alert_outbox WHERE event = 'payments.reservation_lost'"
        " AND (details->>'purchase_id')::bigint IN"
        " (SELECT purchase_id FROM billing.purchases WHERE user_id = ANY(%s))",
        buyers,
    )
    assert lost["n"] == statuses["EXPIRED"]
    consumed = _row(
        admin_conn,
        "SELECT count(*) FILTER (WHERE r.status IN ('APPLIED', 'CONSUMED', 'REVOKED'))"
        "   AS used_by_rows,"
        " (SELECT sum(used) FROM promo.capacity_slots s"
        "   WHERE s.promo_code_id = c.promo_code_id) AS used"
        " FROM promo.promo_codes c JOIN promo.promo_redemptions r USING (promo_code_id)"
        " WHERE c.campaign = 'expiry race' GROUP BY c.promo_code_id",
    )
    assert consumed["used"] == consumed["used_by_rows"] == statuses["CONSUMED"]


def test_manual_rollback_racing_the_batch_revokes_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    buyer = next(_user_ids)
    redemption = _discount_reservation(app_conn, admin_conn, buyer)
    invoice = _invoice(app_conn, buyer, "premium_30d", redemption)
    charge = _key("charge")
    app_conn.execute(
        "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
        (buyer, invoice["invoice_payload"], charge, invoice["price_stars"]),
    )
    app_conn.execute("SELECT * FROM api.mark_purchase_refunded(%s, 'support', 'asked')", (charge,))

    def act(conn: Conn, i: int) -> object:
        if i % 2:
            return _row(conn, "SELECT api.run_refund_promo_rollback(50) AS n")["n"]
        return _row(
            conn,
            "SELECT outcome FROM api.rollback_refunded_promo(%s, 'support', %s)",
            invoice["purchase_id"],
            _key("rb"),
        )["outcome"]

    results = run_together(lambda i: database.jobs_url if i % 2 else database.staff_url, 12, act)
    manual = Counter(r for r in results if isinstance(r, str))
    assert manual["REVOKED"] <= 1 and set(manual) <= {"REVOKED", "ALREADY_REVOKED"}
    assert _row(
        admin_conn,
        "SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = %s",
        redemption,
    ) == {"status": "REVOKED"}
    audits = _row(
        admin_conn,
        "SELECT count(*) AS n FROM ops.audit_log WHERE action = 'promo.redemption_revoked'"
        " AND target_id = %s",
        str(redemption),
    )
    assert audits == {"n": 1}


def test_20_concurrent_reward_choices_grant_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    referrer, buyer = next(_user_ids), next(_user_ids)
    app_conn.execute("SELECT api.touch_user(%s)", (referrer,))
    code = _row(app_conn, "SELECT api.get_referral_code(%s) AS c", referrer)["c"]
    app_conn.execute("SELECT * FROM api.register_referral(%s, %s)", (buyer, code))
    invoice = _invoice(app_conn, buyer, "premium_30d", None)
    reward = _row(
        app_conn,
        "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', 250)",
        buyer,
        invoice["invoice_payload"],
        _key("charge"),
    )["referral_reward_id"]
    choices = ["PREMIUM_DAYS", "DISCOUNT"]
    results = run_together(
        database.app_url,
        20,
        lambda conn, i: _row(
            conn,
            "SELECT * FROM api.choose_referral_reward(%s, %s, %s)",
            referrer,
            reward,
            choices[i % 2],
        ),
    )
    assert [r["replayed"] for r in results].count(False) == 1
    assert len({(r["choice"], r["premium_until"], r["promo_redemption_id"]) for r in results}) == 1
    granted = _row(
        admin_conn,
        "SELECT (SELECT count(*) FROM billing.ledger"
        "        WHERE kind = 'REFERRAL_PREMIUM' AND ref_id = %s)"
        " + (SELECT count(*) FROM referral.rewards WHERE referral_reward_id = %s"
        "    AND promo_redemption_id IS NOT NULL) AS n",
        reward,
        reward,
    )
    assert granted == {"n": 1}
