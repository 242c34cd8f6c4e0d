"""Webhook smoke tests: real HTTP into /telegram/webhook, a real database, and the local Bot
API sandbox for every call the bot makes (app/bot/sandbox.py)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from app.api.app import create_app
from app.bot.callbacks import PlanChosen, RewardChosen, TermsAccepted
from app.bot.sandbox import Failure, Sandbox, create_sandbox_app
from app.bot.webhook import WEBHOOK_PATH, BotConfig, sandbox_config
from tests.conftest import Conn, _free_port, service_settings
from tests.harness import ScratchDatabase

REFUNDER = "f" * 40
TOKENS = [{"name": "support-desk", "token": REFUNDER, "scopes": ["purchases:refund"]}]


@dataclass
class Chat:
    sandbox: Sandbox
    service_url: str
    config: BotConfig

    async def send(self, user_id: int, text: str, language: str = "de") -> list[dict[str, Any]]:
        start = len(self.sandbox.calls)
        delivery = await self.sandbox.deliver(self.sandbox.typed_update(user_id, text, language))
        assert delivery["status"] == 200, delivery
        return self.sandbox.calls[start:]

    async def press(self, user_id: int, data: str) -> list[dict[str, Any]]:
        start = len(self.sandbox.calls)
        delivery = await self.sandbox.deliver(self.sandbox.press_update(user_id, data))
        assert delivery["status"] == 200, delivery
        return self.sandbox.calls[start:]

    async def pay(self, user_id: int) -> list[dict[str, Any]]:
        start = len(self.sandbox.calls)
        for delivery in await self.sandbox.pay(user_id):
            assert delivery["status"] == 200, delivery
        return self.sandbox.calls[start:]


@pytest.fixture
async def chat(database: ScratchDatabase) -> AsyncIterator[Chat]:
    sandbox = Sandbox()
    sandbox_runner = web.AppRunner(create_sandbox_app(sandbox))
    await sandbox_runner.setup()
    sandbox_port = _free_port()
    await web.TCPSite(sandbox_runner, "127.0.0.1", sandbox_port).start()
    config = sandbox_config(f"http://127.0.0.1:{sandbox_port}")
    settings = service_settings(database, internal_api_tokens_json=json.dumps(TOKENS))
    runner = web.AppRunner(create_app(settings, bot=config))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sandbox.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    sandbox.webhook_secret = config.webhook_secret
    try:
        yield Chat(sandbox, f"http://127.0.0.1:{port}", config)
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()


def _user() -> int:
    return 7 * 10**12 + secrets.randbelow(10**9)


def _sent(calls: list[dict[str, Any]], method: str = "sendMessage") -> list[dict[str, Any]]:
    return [c["params"] for c in calls if c["method"] == method]


def _buttons(params: dict[str, Any]) -> list[dict[str, str]]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _code(staff: Conn, kind: str = "PERCENT_DISCOUNT", **extra: object) -> str:
    code = "BOT" + secrets.token_hex(5).upper()
    fields = {"p_discount_percent": 25} if kind == "PERCENT_DISCOUNT" else {"p_grant_days": 7}
    fields.update(extra)  # type: ignore[arg-type]
    args = ", ".join(f"{k} => %({k})s" for k in fields)
    staff.execute(
        f"SELECT api.create_promo_code(%(code)s, %(kind)s, 'bot test', {args})",
        {"code": code, "kind": kind, **fields},
    )
    return code


async def _buy(chat: Chat, user: int, data: str) -> list[dict[str, Any]]:
    """Press a plan button, accept the terms if asked, pay the invoice."""
    calls = await chat.press(user, data)
    asked = [m for m in _sent(calls) if any("terms:" in b["callback_data"] for b in _buttons(m))]
    if asked:
        calls += await chat.press(user, _buttons(asked[0])[0]["callback_data"])
    assert _sent(calls, "sendInvoice"), calls
    return calls + await chat.pay(user)


async def _buy_first_plan(chat: Chat, user: int) -> list[dict[str, Any]]:
    """/start, then buy the first plan of the welcome message at its full price."""
    welcome = _sent(await chat.send(user, "/start"))[0]
    plan = next(b for b in _buttons(welcome) if b["callback_data"].startswith("plan:"))
    return await _buy(chat, user, plan["callback_data"])


async def test_promo_discount_from_code_to_paid_premium(
    chat: Chat, staff_conn: Conn, admin_conn: Conn
) -> None:
    code = _code(staff_conn, p_max_uses=10)
    user = _user()
    reply = _sent(await chat.send(user, f"/promo {code}"))
    assert len(reply) == 1 and "25 % Rabatt" in reply[0]["text"]
    buttons = _buttons(reply[0])
    assert buttons[0]["text"] == "30 Tage für 188 ⭐ statt 250 ⭐"
    rid = PlanChosen.unpack(buttons[0]["callback_data"]).rid
    assert rid > 0

    calls = await _buy(chat, user, buttons[0]["callback_data"])
    invoice = _sent(calls, "sendInvoice")[0]
    assert invoice["currency"] == "XTR" and invoice["prices"] == [
        {"label": invoice["title"], "amount": 188}
    ]
    answers = _sent(calls, "answerPreCheckoutQuery")
    assert [str(a["ok"]).lower() for a in answers] == ["true"]
    confirmation = _sent(calls)[-1]["text"]
    assert confirmation.startswith("💫 Danke für deinen Kauf! Dein Premium läuft bis ")

    trail = admin_conn.execute(
        "SELECT p.status, r.status AS redemption,"
        " (SELECT sum(stars_delta) FROM billing.ledger l WHERE l.user_id = p.user_id"
        "  AND l.kind = 'PURCHASE_PAYMENT') AS stars,"
        " (SELECT sum(used) FROM promo.capacity_slots s"
        "  WHERE s.promo_code_id = r.promo_code_id) AS used"
        " FROM billing.purchases p JOIN promo.promo_redemptions r USING (promo_redemption_id)"
        " WHERE p.user_id = %s",
        (user,),
    ).fetchall()
    assert trail == [{"status": "PAID", "redemption": "CONSUMED", "stars": 188, "used": 1}]

    # Telegram delivers the successful_payment update again: 200, no second credit.
    payment = next(u for u in _delivered(chat) if "successful_payment" in u.get("message", {}))
    again = await chat.sandbox.deliver(payment)
    assert again["status"] == 200
    credits = admin_conn.execute(
        "SELECT count(*) AS n FROM billing.ledger WHERE user_id = %s AND kind = 'PURCHASE_PAYMENT'",
        (user,),
    ).fetchone()
    assert credits == {"n": 1}


def _delivered(chat: Chat) -> list[dict[str, Any]]:
    return chat.sandbox.delivered


async def test_referral_reward_is_granted_once_however_often_it_is_pressed(
    chat: Chat, admin_conn: Conn
) -> None:
    referrer, referee = _user(), _user()
    welcome = _sent(await chat.send(referrer, "/start"))[0]
    match = re.search(r"start=(ref_[A-Z0-9]+)", welcome["text"])
    assert match, welcome["text"]
    registered = _sent(await chat.send(referee, f"/start {match.group(1)}"))[0]
    assert "Du wurdest von einem Freund eingeladen" in registered["text"]

    plan = next(b for b in _buttons(registered) if b["callback_data"].startswith("plan:"))
    calls = await _buy(chat, referee, plan["callback_data"])
    offer = next(m for m in _sent(calls) if int(m["chat_id"]) == referrer)
    assert offer["text"].startswith("🎁")
    premium = next(b for b in _buttons(offer) if b["callback_data"].endswith(":PREMIUM_DAYS"))

    first = chat.sandbox.press_update(referrer, premium["callback_data"])
    for update in (first, first):  # the same update delivered twice
        assert (await chat.sandbox.deliver(update))["status"] == 200
    calls = await chat.press(referrer, premium["callback_data"])  # and a second tap
    # The second tap replays the first result: the same edit, which Telegram refuses as "message
    # is not modified" (the sandbox does too) and the bot takes quietly (the delivery was 200).
    edits = _sent(calls, "editMessageText")
    assert len(edits) == 1 and edits[0]["text"].startswith("Belohnung gewählt: Premium")
    grants = admin_conn.execute(
        "SELECT count(*) AS n FROM billing.ledger WHERE user_id = %s AND kind = 'REFERRAL_PREMIUM'",
        (referrer,),
    ).fetchone()
    assert grants == {"n": 1}
    pressed = {
        u["callback_query"]["id"]
        for u in chat.sandbox.delivered
        if "callback_query" in u and u["callback_query"]["from"]["id"] == referrer
    }
    answered = {
        str(c["params"]["callback_query_id"])
        for c in chat.sandbox.calls
        if c["method"] == "answerCallbackQuery"
    }
    assert pressed <= answered, "every callback query is answered"


async def test_wrong_secret_malformed_update_and_unknown_command(chat: Chat) -> None:
    url = chat.service_url + WEBHOOK_PATH
    update = chat.sandbox.text_update(_user(), "/start")
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 401
                assert response.content_type == "application/problem+json"
        secret = {"X-Telegram-Bot-Api-Secret-Token": chat.config.webhook_secret}
        async with session.post(url, json={"update_id": "x", "message": 5}, headers=secret) as r:
            assert r.status == 200
    calls = await chat.send(_user(), "/gibtsnicht")
    assert _sent(calls)[0]["text"].startswith("Das kann ich:")


async def test_english_users_get_english_texts(chat: Chat) -> None:
    calls = await chat.send(_user(), "/promo NOSUCHCODE1", language="en")
    assert _sent(calls)[0]["text"] == "We don't know this promo code. Check the spelling."


async def test_rate_limited_bot_api_call_is_retried_after_retry_after(chat: Chat) -> None:
    chat.sandbox.failures["sendMessage"] = Failure(
        429, "Too Many Requests: retry after 1", retry_after=1, times=1
    )
    calls = await chat.send(_user(), "/privacy")
    sends = _sent(calls)
    assert len(sends) == 2 and sends[1]["text"].startswith("Datenschutzhinweis")


async def test_precheckout_refuses_a_wrong_amount_in_german(chat: Chat) -> None:
    user = _user()
    welcome = _sent(await chat.send(user, "/start"))[0]
    plan = next(b for b in _buttons(welcome) if b["callback_data"].startswith("plan:"))
    calls = await chat.press(user, plan["callback_data"])
    calls += await chat.press(user, _buttons(_sent(calls)[0])[0]["callback_data"])  # terms
    invoice = chat.sandbox.last_invoice(user)
    assert invoice is not None
    query = {
        "update_id": chat.sandbox.next_id(),
        "pre_checkout_query": {
            "id": "q-wrong-amount",
            "from": {"id": user, "is_bot": False, "first_name": "T"},
            "currency": "XTR",
            "total_amount": 1,
            "invoice_payload": invoice["invoice_payload"],
        },
    }
    assert (await chat.sandbox.deliver(query))["status"] == 200
    answer = next(
        c["params"]
        for c in chat.sandbox.calls
        if c["method"] == "answerPreCheckoutQuery"
        and c["params"]["pre_checkout_query_id"] == "q-wrong-amount"
    )
    assert str(answer["ok"]).lower() == "false"
    assert answer["error_message"] == "Der Betrag stimmt nicht mit der Rechnung überein."


async def test_refund_through_the_internal_api_is_idempotent(chat: Chat, admin_conn: Conn) -> None:
    user = _user()
    await _buy_first_plan(chat, user)
    purchase = admin_conn.execute(
        "SELECT purchase_id FROM billing.purchases WHERE user_id = %s AND status = 'PAID'", (user,)
    ).fetchone()
    assert purchase is not None
    url = f"{chat.service_url}/internal/purchases/{purchase['purchase_id']}/refund"
    headers = {"Authorization": f"Bearer {REFUNDER}"}
    async with aiohttp.ClientSession() as session:
        for attempt in range(2):
            async with session.post(url, json={"reason": "ticket 42"}, headers=headers) as r:
                body = await r.json()
                assert r.status == 200, body
                assert body["outcome"] == "REFUNDED" and body["replayed"] is (attempt == 1)
    refunds = [c for c in chat.sandbox.calls if c["method"] == "refundStarPayment"]
    assert len(refunds) == 1, "a refunded purchase is not refunded with Telegram again"
    # Telegram then sends the refunded_payment message: recorded already, the user is told.
    for _ in range(100):
        told = [m for m in _sent(chat.sandbox.calls) if m["text"].startswith("↩️")]
        if told:
            break
        await asyncio.sleep(0.05)
    assert told and int(told[0]["chat_id"]) == user
    assert any("refunded_payment" in u.get("message", {}) for u in chat.sandbox.delivered)
    status = admin_conn.execute(
        "SELECT status FROM billing.purchases WHERE purchase_id = %s", (purchase["purchase_id"],)
    ).fetchone()
    assert status == {"status": "REFUNDED"}


def test_callback_data_fits_telegrams_64_bytes(admin_conn: Conn) -> None:
    """The longest values the database allows (plan codes <= 20, terms versions <= 16
    characters, bigint ids) still pack into Telegram's 64 bytes."""
    plan_limit = admin_conn.execute(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE conname = 'plans_code_fits_callback'"
    ).fetchone()
    assert plan_limit and "<= 20" in str(plan_limit["def"])
    terms = admin_conn.execute(
        "SELECT core.is_user_profile(NULL, NULL, NULL, repeat('v', 16), now()) AS sixteen,"
        "       core.is_user_profile(NULL, NULL, NULL, repeat('v', 17), now()) AS seventeen"
    ).fetchone()
    assert terms == {"sixteen": True, "seventeen": False}
    longest = {"plan": "p" * 20, "rid": 2**63 - 1}
    assert len(PlanChosen(**longest).pack().encode()) <= 64
    assert len(TermsAccepted(version="v" * 16, **longest).pack().encode()) <= 64
    assert len(RewardChosen(reward=2**63 - 1, choice="PREMIUM_DAYS").pack().encode()) <= 64
    with pytest.raises(ValueError):
        PlanChosen(plan="ä" * 40, rid=1).pack()  # umlauts are two bytes each


async def test_reconcile_records_a_refund_made_in_telegram_and_alerts_unknown_charges(
    chat: Chat, admin_conn: Conn, database: ScratchDatabase
) -> None:
    from app.bot.reconcile import reconcile
    from app.bot.webhook import make_bot
    from app.db.pool import create_pool

    user = _user()
    await _buy_first_plan(chat, user)
    charge = chat.sandbox.transactions[-1]["id"]
    chat.sandbox.refunded.add(charge)  # refunded in Telegram's app; no update reached us
    chat.sandbox.transactions.append(
        {"id": "never-recorded-1", "amount": 5, "date": 0, "user_id": user, "payload": "x"}
    )
    bot = make_bot(chat.config)
    pool = create_pool(service_settings(database), role="starpass_admin")
    await pool.open()
    try:
        outcomes = await reconcile(bot, pool)
    finally:
        await pool.close()
        await bot.session.close()
    assert outcomes["REFUND_RECORDED"] == 1 and outcomes["UNKNOWN_CHARGE"] == 1
    status = admin_conn.execute(
        "SELECT status FROM billing.purchases WHERE telegram_payment_charge_id = %s", (charge,)
    ).fetchone()
    assert status == {"status": "REFUNDED"}
    alert = admin_conn.execute(
        "SELECT count(*) AS n FROM ops.alert_outbox WHERE event = 'payments.unknown_charge'"
        " AND (details->>'user_id')::bigint = %s",
        (user,),
    ).fetchone()
    assert alert == {"n": 1}


async def test_a_stale_button_is_answered_and_a_command_is_not_taken_for_a_code(
    chat: Chat, admin_conn: Conn
) -> None:
    user = _user()
    calls = await chat.press(user, "plan-of-an-old-bot-version:1")
    answers = _sent(calls, "answerCallbackQuery")
    assert len(answers) == 1 and answers[0]["text"].startswith("Dieser Knopf ist nicht mehr")
    await chat.send(user, "/promo")  # the prompt; the next text is its reply ...
    calls = await chat.send(user, "/terms")  # ... unless it is a command
    assert _sent(calls)[0]["text"].startswith("Bedingungen (Version")
    attempts = admin_conn.execute(
        "SELECT count(*) AS n FROM promo.promo_attempts WHERE user_id = %s", (user,)
    ).fetchone()
    assert attempts == {"n": 0}, "no redemption attempt was made of the command"


async def test_a_redelivered_support_message_opens_one_ticket(chat: Chat, admin_conn: Conn) -> None:
    user = _user()
    await chat.send(user, "/paysupport")
    await chat.send(user, "Zahlung doppelt abgebucht")
    message = chat.sandbox.delivered[-1]
    assert (await chat.sandbox.deliver(message))["status"] == 200  # delivered again
    claim = admin_conn.execute(
        "DELETE FROM core.telegram_updates WHERE update_id = %s RETURNING update_id",
        (message["update_id"],),
    ).fetchone()
    assert claim is not None  # forget the dedup entry: the handler itself must be idempotent
    assert (await chat.sandbox.deliver(message))["status"] == 200
    tickets = admin_conn.execute(
        "SELECT count(*) AS n FROM billing.support_requests WHERE user_id = %s", (user,)
    ).fetchone()
    assert tickets == {"n": 1}


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "TELEGRAM_WEBHOOK_SECRET is not set"),
        ("has spaces in it", "TELEGRAM_WEBHOOK_SECRET:"),
    ],
)
def test_a_bot_token_needs_a_valid_webhook_secret(secret: str | None, message: str) -> None:
    from pydantic import SecretStr

    from app.bot.webhook import BotConfigError, bot_config
    from app.config import Settings

    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr("123456:" + "k" * 35),
        telegram_webhook_secret=SecretStr(secret) if secret else None,
    )
    with pytest.raises(BotConfigError, match=message) as refused:
        bot_config(settings)
    assert "k" * 8 not in str(refused.value) and (
        secret is None or secret not in str(refused.value)
    )


async def test_a_payment_handled_again_after_a_lost_claim_credits_once(
    chat: Chat, admin_conn: Conn
) -> None:
    """Below the update dedup: the handlers themselves are idempotent (RETRY path)."""
    user = _user()
    await _buy_first_plan(chat, user)
    payment = next(
        u for u in chat.sandbox.delivered if "successful_payment" in u.get("message", {})
    )
    admin_conn.execute(
        "UPDATE core.telegram_updates SET handled_at = NULL, claimed_at = NULL"
        " WHERE update_id = %s",
        (payment["update_id"],),
    )  # as if the first delivery had died after settling, before finishing, its lease run out
    start = len(chat.sandbox.calls)
    assert (await chat.sandbox.deliver(payment))["status"] == 200
    assert _sent(chat.sandbox.calls[start:])[0]["text"].startswith("💫 Danke"), "told again"
    credits = admin_conn.execute(
        "SELECT count(*) AS n FROM billing.ledger WHERE user_id = %s AND kind = 'PURCHASE_PAYMENT'",
        (user,),
    ).fetchone()
    assert credits == {"n": 1}


async def test_a_delivery_while_another_holds_the_update_is_503_and_not_handled(
    chat: Chat, admin_conn: Conn
) -> None:
    """BUSY: another replica is handling this update_id now; the answer is never 200."""
    update = chat.sandbox.typed_update(_user(), "/start", "en")
    admin_conn.execute(
        "INSERT INTO core.telegram_updates (update_id, received_at, claimed_at)"
        " VALUES (%s, ops.now(), ops.now())",
        (update["update_id"],),
    )  # claimed by a delivery still in flight
    start = len(chat.sandbox.calls)
    delivery = await chat.sandbox.deliver(update)
    assert delivery["status"] == 503, delivery
    assert chat.sandbox.calls[start:] == [], "not handled here"
    admin_conn.execute(
        "UPDATE core.telegram_updates SET claimed_at = NULL WHERE update_id = %s",
        (update["update_id"],),
    )  # its lease ran out
    assert (await chat.sandbox.deliver(update))["status"] == 200
    assert len(_sent(chat.sandbox.calls[start:])) == 1, "handled once, by the retry"


async def test_concurrent_deliveries_of_one_update_are_handled_once(chat: Chat) -> None:
    """Many deliveries of one update_id at once (as on several replicas): one handler run;
    the others are 503 (BUSY) while it is in flight, or 200 (DUPLICATE) after it finished."""
    update = chat.sandbox.typed_update(_user(), "/start", "en")
    start = len(chat.sandbox.calls)
    deliveries = await asyncio.gather(*(chat.sandbox.deliver(update) for _ in range(20)))
    statuses = sorted(d["status"] for d in deliveries)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses
    assert len(_sent(chat.sandbox.calls[start:])) == 1, "exactly one handler run"
    after = len(chat.sandbox.calls)
    assert (await chat.sandbox.deliver(update))["status"] == 200
    assert chat.sandbox.calls[after:] == [], "DUPLICATE after it finished"


async def test_tampered_callback_data_is_answered_not_retried(chat: Chat) -> None:
    user = _user()
    update = chat.sandbox.press_update(user, "reward:1:EVERYTHING")
    delivery = await chat.sandbox.deliver(update)
    assert delivery["status"] == 200, "a refusal that repeats on every retry is not a 500"
    answered = [
        c
        for c in chat.sandbox.calls
        if c["method"] == "answerCallbackQuery"
        and str(c["params"]["callback_query_id"]) == update["callback_query"]["id"]
    ]
    assert len(answered) == 1


async def test_a_refund_telegram_already_made_counts_as_done(chat: Chat, admin_conn: Conn) -> None:
    user = _user()
    await _buy_first_plan(chat, user)
    chat.sandbox.refunded.add(chat.sandbox.transactions[-1]["id"])  # refunded in Telegram's app
    purchase = admin_conn.execute(
        "SELECT purchase_id FROM billing.purchases WHERE user_id = %s AND status = 'PAID'", (user,)
    ).fetchone()
    assert purchase is not None
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{chat.service_url}/internal/purchases/{purchase['purchase_id']}/refund",
            json={"reason": "refunded in the app"},
            headers={"Authorization": f"Bearer {REFUNDER}"},
        ) as response,
    ):
        body = await response.json()
    assert response.status == 200 and body["outcome"] == "REFUNDED", body


async def test_telegram_refusing_a_refund_is_a_problem_and_changes_nothing(
    chat: Chat, admin_conn: Conn
) -> None:
    user = _user()
    await _buy_first_plan(chat, user)
    purchase = admin_conn.execute(
        "SELECT purchase_id FROM billing.purchases WHERE user_id = %s AND status = 'PAID'", (user,)
    ).fetchone()
    assert purchase is not None
    url = f"{chat.service_url}/internal/purchases/{purchase['purchase_id']}/refund"
    headers = {"Authorization": f"Bearer {REFUNDER}"}
    failures = [
        (Failure(400, "Bad Request: CHARGE_NOT_FOUND", None, 1), 502, "telegram_refused"),
        (Failure(429, "Too Many Requests: retry after 1", 1, 5), 503, "telegram_rate_limited"),
    ]
    async with aiohttp.ClientSession() as session:
        for failure, status, code in failures:
            chat.sandbox.failures["refundStarPayment"] = failure
            async with session.post(url, json={"reason": "ticket 7"}, headers=headers) as r:
                body = await r.json()
                assert (r.status, body["code"]) == (status, code), body
                assert r.content_type == "application/problem+json"
    still = admin_conn.execute(
        "SELECT status FROM billing.purchases WHERE purchase_id = %s", (purchase["purchase_id"],)
    ).fetchone()
    assert still == {"status": "PAID"}, "nothing is recorded as refunded that Telegram refused"


async def test_a_delivery_whose_handling_failed_is_handled_by_the_next_at_once(
    chat: Chat, admin_conn: Conn
) -> None:
    """The failed delivery gives its lease back: Telegram's redelivery is RETRY right away,
    not 503 update_in_progress until the 90 s lease runs out."""
    update = chat.sandbox.typed_update(_user(), "/start", "en")
    chat.sandbox.failures["sendMessage"] = Failure(
        500, "Internal Server Error", retry_after=None, times=1
    )
    failed = await chat.sandbox.deliver(update)
    assert failed["status"] >= 500, failed
    row = admin_conn.execute(
        "SELECT attempts, claimed_at, handled_at FROM core.telegram_updates WHERE update_id = %s",
        (update["update_id"],),
    ).fetchone()
    assert row == {"attempts": 1, "claimed_at": None, "handled_at": None}, "lease given back"
    start = len(chat.sandbox.calls)
    assert (await chat.sandbox.deliver(update))["status"] == 200
    assert len(_sent(chat.sandbox.calls[start:])) == 1, "handled by the redelivery"
    row = admin_conn.execute(
        "SELECT attempts, handled_at IS NOT NULL AS handled FROM core.telegram_updates"
        " WHERE update_id = %s",
        (update["update_id"],),
    ).fetchone()
    assert row == {"attempts": 2, "handled": True}
