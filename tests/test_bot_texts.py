"""Every outcome the bot can be told has a text in German and in English; every key the code
uses exists in both catalogs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.bot.texts import LOCALES
from tests.conftest import Conn
from tests.test_vocabulary import domain_values

CODE = Path(__file__).resolve().parent.parent / "app" / "bot"
OUTCOMES = {
    "precheckout": [
        "UNKNOWN_PAYLOAD",
        "OTHER_USER",
        "ALREADY_PAID",
        "CANCELLED",
        "WRONG_CURRENCY",
        "WRONG_AMOUNT",
        "PLAN_WITHDRAWN",
        "RESERVATION_EXPIRED",
    ],
    "reward": ["PREMIUM_DAYS", "DISCOUNT", "NOT_YOURS", "NOT_FOUND", "CANCELLED"],
    "referral": [
        "REGISTERED",
        "UNKNOWN_CODE",
        "SELF_REFERRAL",
        "ALREADY_REFERRED",
        "ALREADY_PAID",
        "CYCLE",
    ],
    # complete_purchase's answer beyond the stored outcomes: a charge id seen with other details.
    "payment": ["IDEMPOTENCY_CONFLICT"],
    "delete": ["DELETED", "NOTHING_STORED"],
    "terms": ["OUTDATED"],
}


def _catalog(language: str) -> dict[str, str]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_outcome_has_a_text(language: str, admin_conn: Conn) -> None:
    catalog = _catalog(language)
    # The vocabularies the database enforces, from their domains (migration 0019).
    wanted = [f"redeem.{o}" for o in domain_values(admin_conn, "promo.redeem_outcome")]
    wanted += [f"payment.{o}" for o in domain_values(admin_conn, "billing.payment_outcome")]
    wanted += [f"{family}.{o}" for family, outcomes in OUTCOMES.items() for o in outcomes]
    missing = [key for key in wanted if not catalog.get(key) or catalog[key] == key]
    assert missing == []


def test_every_key_in_the_code_is_in_both_catalogs() -> None:
    used = set()
    for path in CODE.rglob("*.py"):
        source = path.read_text()
        used |= set(re.findall(r'(?:text|ask|answers)\(\s*"([a-z_]+(?:\.[A-Za-z_]+)?)"', source))
        used |= set(re.findall(r'ask\(\s*"[^"]+",\s*"([a-z_]+(?:\.[A-Za-z_]+)?)"', source))
    assert len(used) > 30
    for language in ("de", "en"):
        catalog = _catalog(language)
        assert sorted(k for k in used if not catalog.get(k)) == [], language


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    german, english = _catalog("de"), _catalog("en")
    assert german.keys() == english.keys()
    for key in german:
        assert set(re.findall(r"\{(\w+)\}", german[key])) == set(
            re.findall(r"\{(\w+)\}", english[key])
        ), key
