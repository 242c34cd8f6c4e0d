"""Stars checkout: plan or discount button → terms (once) → `api.init_purchase` → sendInvoice;
pre_checkout_query → `api.precheckout_purchase` → answerPreCheckoutQuery, well inside
Telegram's 10 s; successful_payment → `api.complete_purchase`; refunded_payment →
`api.mark_purchase_refunded`."""

from __future__ import annotations

import asyncio

import psycopg
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards
from app.bot.callbacks import PlanChosen, TermsAccepted
from app.bot.keys import callback_key
from app.bot.texts import text, when
from app.db import bot as db
from app.db.api import refusal_reason
from app.logs import get_logger

log = get_logger(__name__)
# Telegram cancels the payment when pre-checkout is not answered within 10 s.
PRECHECKOUT_DB_SECONDS = 6.0
# The refusals of `api.init_purchase` a press can meet (docs/errors.md): an old button names a
# plan or a discount that is gone, used or already behind another open invoice.
PURCHASE_UNAVAILABLE = frozenset(
    {
        "plan_not_found",
        "plan_withdrawn",
        "reservation_not_found",
        "reservation_not_usable",
        "reservation_backs_purchase",
    }
)


async def plan_chosen(
    callback: CallbackQuery, callback_data: PlanChosen, bot: Bot, pool: AsyncConnectionPool
) -> None:
    terms = await db.get_terms_status(pool, callback.from_user.id)
    assert terms is not None
    if not terms["terms_accepted"]:
        await bot.send_message(
            callback.from_user.id,
            text("terms.ask"),
            reply_markup=keyboards.accept_terms(
                terms["terms_version"], callback_data.plan, callback_data.rid
            ),
        )
        return
    await _send_invoice(callback, callback_data.plan, callback_data.rid, bot, pool)


async def terms_accepted(
    callback: CallbackQuery, callback_data: TermsAccepted, bot: Bot, pool: AsyncConnectionPool
) -> None:
    row = await db.accept_terms(
        pool, user_id=callback.from_user.id, terms_version=callback_data.version
    )
    assert row is not None
    if row["outcome"] == "OUTDATED":
        await bot.send_message(callback.from_user.id, text("terms.OUTDATED"))
        return
    await _send_invoice(callback, callback_data.plan, callback_data.rid, bot, pool)


async def _send_invoice(
    callback: CallbackQuery, plan: str, redemption_id: int, bot: Bot, pool: AsyncConnectionPool
) -> None:
    try:
        # The press is the request: a redelivered press reopens the same purchase.
        purchase = await db.init_purchase(
            pool,
            user_id=callback.from_user.id,
            plan_code=plan,
            promo_redemption_id=redemption_id or None,
            idempotency_key=callback_key(callback),
        )
    except psycopg.Error as exc:
        if refusal_reason(exc) not in PURCHASE_UNAVAILABLE:
            raise
        await bot.send_message(callback.from_user.id, text("purchase.unavailable"))
        return
    assert purchase is not None
    if purchase["outcome"] == "IDEMPOTENCY_CONFLICT":
        # The press's key opened another purchase before (a redelivered press that now names
        # other arguments): no invoice for it; the user starts afresh.
        await bot.send_message(callback.from_user.id, text("purchase.unavailable"))
        return
    await bot.send_invoice(
        chat_id=callback.from_user.id,
        title=purchase["title"],
        description=text("invoice.description", days=purchase["premium_days"]),
        payload=purchase["invoice_payload"],
        currency="XTR",
        prices=[LabeledPrice(label=purchase["title"], amount=purchase["price_stars"])],
    )


async def pre_checkout(query: PreCheckoutQuery, bot: Bot, pool: AsyncConnectionPool) -> None:
    # Answered here by a direct call, never queued; a slow or failing database is a refusal
    # the user can retry, not a silence that Telegram turns into a failed payment.
    try:
        row = await asyncio.wait_for(
            db.precheckout_purchase(
                pool,
                user_id=query.from_user.id,
                invoice_payload=query.invoice_payload,
                currency=query.currency,
                total_amount=query.total_amount,
            ),
            PRECHECKOUT_DB_SECONDS,
        )
    except (psycopg.Error, TimeoutError) as exc:
        log.warning("precheckout_failed", error=type(exc).__name__)
        await bot.answer_pre_checkout_query(
            query.id, ok=False, error_message=text("precheckout.error")
        )
        return
    assert row is not None
    if row["ok"]:
        await bot.answer_pre_checkout_query(query.id, ok=True)
    else:
        await bot.answer_pre_checkout_query(
            query.id, ok=False, error_message=text(f"precheckout.{row['refusal']}")
        )


async def successful_payment(
    message: Message, bot: Bot, pool: AsyncConnectionPool, delivery: str
) -> None:
    payment = message.successful_payment
    assert payment is not None and message.from_user is not None
    row = await db.complete_purchase(
        pool,
        user_id=message.from_user.id,
        invoice_payload=payment.invoice_payload,
        charge_id=payment.telegram_payment_charge_id,
        currency=payment.currency,
        total_amount=payment.total_amount,
    )
    assert row is not None
    if row["outcome"] != "PAID":
        # MISMATCH, DUPLICATE, UNKNOWN_PURCHASE, or IDEMPOTENCY_CONFLICT (this charge id came
        # before with other details): nothing was granted, operators are alerted.
        await message.answer(text(f"payment.{row['outcome']}"))
        return
    await message.answer(text("payment.PAID", until=when(row["premium_until"])))
    # The referrer hears of it once: not again on a replay of a delivery that finished.
    if row["referral_reward_id"] and (not row["replayed"] or delivery == "RETRY"):
        try:
            await bot.send_message(
                row["referrer_user_id"],
                text("reward.offer"),
                reply_markup=keyboards.reward_choice(row["referral_reward_id"]),
            )
        except TelegramForbiddenError:
            # The referrer blocked the bot: the reward stays OFFERED (operators see it in
            # referral.rewards); the payer's purchase is done either way.
            log.warning("referral_offer_undeliverable", reward_id=row["referral_reward_id"])


async def refunded_payment(message: Message, pool: AsyncConnectionPool) -> None:
    refund = message.refunded_payment
    assert refund is not None
    try:
        row = await db.mark_purchase_refunded(
            pool,
            charge_id=refund.telegram_payment_charge_id,
            actor="telegram",
            reason="refunded_payment from Telegram",
        )
    except psycopg.Error as exc:
        if refusal_reason(exc) != "paid_purchase_not_found":
            raise
        # A payment that settled nothing was refunded: already an operator's case (alerted).
        log.warning("refund_of_unsettled_payment")
        return
    assert row is not None
    until = row["premium_until"]
    await message.answer(
        text("refund.REFUNDED", until=when(until) if until else text("refund.none"))
    )


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="checkout")
    # Answered before the handler: the invoice may wait on Telegram's rate limit, the button
    # should not spin meanwhile.
    answer_first = {"callback_answer": {"pre": True}}
    router.callback_query.register(plan_chosen, PlanChosen.filter(), flags=answer_first)
    router.callback_query.register(terms_accepted, TermsAccepted.filter(), flags=answer_first)
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, F.successful_payment)
    router.message.register(refunded_payment, F.refunded_payment)
    return router
