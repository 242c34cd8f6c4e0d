"""The idempotency protocol under concurrency, on real connections released at once: 32 requests
with one key create once and replay the identical row to the rest, without an error; 32 requests
with one key and different arguments bind it exactly once, the rest answer IDEMPOTENCY_CONFLICT."""

from __future__ import annotations

import itertools
import secrets
from collections import Counter

from tests.conftest import Conn
from tests.harness import ScratchDatabase
from tests.races import run_together

WORKERS = 32
_user_ids = itertools.count(9 * 10**9, 1000)


def _row(conn: Conn, query: str, *params: object) -> dict[str, object]:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def _bindings(admin: Conn, scope: str, key: str) -> int:
    return int(
        str(
            _row(
                admin,
                "SELECT count(*) AS n FROM ops.idempotency_keys"
                " WHERE scope = %s AND idempotency_key = %s",
                scope,
                key,
            )["n"]
        )
    )


def _invoice(conn: Conn, user: int) -> dict[str, object]:
    return _row(
        conn,
        "SELECT * FROM api.init_purchase(%s, 'premium_30d', NULL, %s)",
        user,
        f"race-invoice-{secrets.token_hex(8)}",
    )


def _complete(
    conn: Conn, user: int, invoice: dict[str, object], charge: str, amount: object
) -> dict[str, object]:
    """The successful_payment for `invoice` with this charge id and amount (in Stars)."""
    return _row(
        conn,
        "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
        user,
        invoice["invoice_payload"],
        charge,
        amount,
    )


def _without_replayed(row: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k != "replayed"}


def test_32_inits_with_one_key_open_one_purchase(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    user, key = next(_user_ids), f"race-init-{secrets.token_hex(8)}"
    rows = run_together(
        database.app_url,
        WORKERS,
        lambda conn, i: _row(
            conn, "SELECT * FROM api.init_purchase(%s, 'premium_90d', NULL, %s)", user, key
        ),
    )
    assert Counter((r["outcome"], r["replayed"]) for r in rows) == {
        ("OPENED", False): 1,
        ("OPENED", True): WORKERS - 1,
    }
    # Every replay is the first answer, column for column.
    assert len({tuple(_without_replayed(r).items()) for r in rows}) == 1
    opened = _row(
        admin_conn, "SELECT count(*) AS n FROM billing.purchases WHERE idempotency_key = %s", key
    )
    assert opened == {"n": 1}
    assert _bindings(admin_conn, "billing.init_purchase", key) == 1


def test_32_completions_with_one_charge_id_settle_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    user = next(_user_ids)
    invoice = _invoice(app_conn, user)
    charge = f"race-charge-{secrets.token_hex(8)}"
    rows = run_together(
        database.app_url,
        WORKERS,
        lambda conn, i: _complete(conn, user, invoice, charge, invoice["price_stars"]),
    )
    assert Counter((r["outcome"], r["replayed"]) for r in rows) == {
        ("PAID", False): 1,
        ("PAID", True): WORKERS - 1,
    }
    assert len({tuple(_without_replayed(r).items()) for r in rows}) == 1
    booked = _row(
        admin_conn,
        "SELECT (SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = %s)"
        " AS payments, (SELECT count(*) FROM billing.ledger WHERE ref_type = 'purchase'"
        " AND ref_id = %s) AS ledger",
        charge,
        invoice["purchase_id"],
    )
    assert booked == {"payments": 1, "ledger": 2}


def test_32_inits_with_one_key_and_different_arguments_bind_it_once(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    """Each worker is another user: exactly one opens a purchase, every other one is told the
    key is taken, and nothing else is written."""
    users = [next(_user_ids) for _ in range(WORKERS)]
    key = f"race-conflict-{secrets.token_hex(8)}"
    rows = run_together(
        database.app_url,
        WORKERS,
        lambda conn, i: _row(
            conn, "SELECT * FROM api.init_purchase(%s, 'premium_30d', NULL, %s)", users[i], key
        ),
    )
    assert Counter((r["outcome"], r["replayed"]) for r in rows) == {
        ("OPENED", False): 1,
        ("IDEMPOTENCY_CONFLICT", False): WORKERS - 1,
    }
    assert all(r["purchase_id"] is None for r in rows if r["outcome"] == "IDEMPOTENCY_CONFLICT")
    winner = next(users[i] for i, r in enumerate(rows) if r["outcome"] == "OPENED")
    purchases = admin_conn.execute(
        "SELECT user_id FROM billing.purchases WHERE user_id = ANY(%s)", (users,)
    ).fetchall()
    assert purchases == [{"user_id": winner}]
    assert _bindings(admin_conn, "billing.init_purchase", key) == 1


def test_32_completions_of_one_charge_id_with_different_amounts_settle_once(
    database: ScratchDatabase, app_conn: Conn, admin_conn: Conn
) -> None:
    """A charge id reported with 32 different amounts: one is recorded (a MISMATCH or the PAID
    one), the others are conflicts that record nothing but raise one critical alert."""
    user = next(_user_ids)
    invoice = _invoice(app_conn, user)
    charge = f"race-amounts-{secrets.token_hex(8)}"
    price = int(str(invoice["price_stars"]))
    rows = run_together(
        database.app_url,
        WORKERS,
        lambda conn, i: _complete(conn, user, invoice, charge, price - i),
    )
    outcomes = Counter(str(r["outcome"]) for r in rows)
    assert outcomes["IDEMPOTENCY_CONFLICT"] == WORKERS - 1
    assert sum(outcomes[o] for o in ("PAID", "MISMATCH")) == 1
    assert not any(r["replayed"] for r in rows)
    state = _row(
        admin_conn,
        "SELECT (SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = %s)"
        " AS payments, (SELECT count(*) FROM ops.alert_outbox"
        "   WHERE event = 'payments.charge_id_conflict'"
        "     AND details->>'telegram_payment_charge_id' = %s) AS conflict_alerts",
        charge,
        charge,
    )
    assert state == {"payments": 1, "conflict_alerts": 1}
    assert (
        _bindings(
            admin_conn,
            "billing.complete_purchase",
            str(
                _row(
                    admin_conn,
                    "SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex') AS k",
                    charge,
                )["k"]
            ),
        )
        == 1
    )
