"""The Python literals equal the database's domains (migration 0019), value for value and in
order: a value added to a domain's CHECK fails here until app/vocabulary.py follows."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest

from app import vocabulary
from tests.conftest import Conn

MIRRORS: dict[str, Any] = {
    "promo.campaign_kind": vocabulary.CampaignKind,
    "promo.campaign_status": vocabulary.CampaignStatus,
    "promo.redeem_outcome": vocabulary.AttemptOutcome,
    "promo.import_mode": vocabulary.ImportMode,
    "promo.import_status": vocabulary.ImportStatus,
    "referral.reward_choice": vocabulary.RewardChoice,
    "ops.alert_severity": vocabulary.AlertSeverity,
    "ops.alert_state": vocabulary.AlertState,
    "ops.alert_action": vocabulary.AlertAction,
    "ops.alert_provider": vocabulary.AlertProvider,
}
LITERAL = re.compile(r"'((?:[^']|'')*)'")


def domain_values(conn: Conn, domain: str) -> list[str]:
    """The literals of the domain's CHECK constraints, read from pg_constraint."""
    rows = conn.execute(
        "SELECT pg_get_constraintdef(c.oid) AS definition FROM pg_constraint AS c"
        " WHERE c.contypid = %s::regtype AND c.contype = 'c' ORDER BY c.conname",
        [domain],
    ).fetchall()
    assert len(rows) == 1, f"{domain}: expected one CHECK, found {rows}"
    definition = str(rows[0]["definition"])
    assert definition.startswith("CHECK ((VALUE = ANY (ARRAY["), definition
    return [m.replace("''", "'") for m in LITERAL.findall(definition)]


@pytest.mark.parametrize("domain", sorted(MIRRORS))
def test_literal_equals_domain(admin_conn: Conn, domain: str) -> None:
    assert list(get_args(MIRRORS[domain])) == domain_values(admin_conn, domain)


def test_subsets_stay_within_their_domain(admin_conn: Conn) -> None:
    statuses = domain_values(admin_conn, "promo.campaign_status")
    assert set(get_args(vocabulary.SettableStatus)) < set(statuses)
    outcomes = domain_values(admin_conn, "promo.redeem_outcome")
    assert list(get_args(vocabulary.RedeemOutcome)) == [
        o for o in outcomes if o != "IDEMPOTENCY_CONFLICT"
    ]


def test_a_changed_domain_is_noticed(admin_conn: Conn) -> None:
    """The comparison can fail: with a value added to a domain, the literal differs."""
    with admin_conn.transaction(force_rollback=True):
        admin_conn.execute("ALTER DOMAIN promo.campaign_kind DROP CONSTRAINT campaign_kind_check")
        admin_conn.execute(
            "ALTER DOMAIN promo.campaign_kind ADD CONSTRAINT campaign_kind_check"
            " CHECK (VALUE IN ('PREMIUM_GRANT', 'PERCENT_DISCOUNT', 'STARS_BONUS'))"
        )
        values = domain_values(admin_conn, "promo.campaign_kind")
    assert values == ["PREMIUM_GRANT", "PERCENT_DISCOUNT", "STARS_BONUS"]
    assert list(get_args(vocabulary.CampaignKind)) != values


KEY_SAMPLES = [
    "abcdefgh",
    "k" * 128,
    "A-Z.a_z:0-9",
    "6f1c2a9e-5b8d-4e2f-9a71-3c0d8e4b2f10",
    "abcdefg",
    "k" * 129,
    "key with spaces",
    "schlüssel-1",
    "abcdefgh\n",
    "abcd/efgh",
    "",
]


def test_the_key_pattern_is_the_databases(admin_conn: Conn) -> None:
    """IDEMPOTENCY_KEY_PATTERN states the rule of ops.is_idempotency_key, the CHECK of the domain
    ops.idempotency_key: the same characters and lengths, and the same verdict on keys good and
    bad."""
    row = admin_conn.execute(
        "SELECT pg_get_function_sqlbody('ops.is_idempotency_key(text)'::regprocedure) AS body"
    ).fetchone()
    assert row is not None
    body = str(row["body"])
    assert LITERAL.findall(body) == [f"^[{vocabulary.IDEMPOTENCY_KEY_CHARACTERS}]+$"]
    lengths = re.findall(r"char_length\(p_key\) [<>]= (\d+)", body)
    assert tuple(int(n) for n in lengths) == vocabulary.IDEMPOTENCY_KEY_LENGTH, body
    verdicts = admin_conn.execute(
        "SELECT k, ops.is_idempotency_key(k) AS ok"
        " FROM unnest(%s::text[]) WITH ORDINALITY AS s(k, n) ORDER BY n",
        [KEY_SAMPLES],
    ).fetchall()
    pattern = re.compile(vocabulary.IDEMPOTENCY_KEY_PATTERN)
    assert [r["ok"] for r in verdicts] == [bool(pattern.fullmatch(k)) for k in KEY_SAMPLES]
    assert [r["ok"] for r in verdicts].count(True) == 4
