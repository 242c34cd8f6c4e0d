"""/promo <code>, and `/promo` or the "Promo-Code einlösen" button asking for the code, which
the user sends as a reply. One text per outcome; a discount shows the plans at its price."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards, prompts
from app.bot.callbacks import PROMO_OPEN
from app.bot.keys import message_key
from app.bot.texts import text, when
from app.db import api as db_api
from app.db import bot as db


async def redeem(message: Message, code: str, pool: AsyncConnectionPool) -> None:
    user = message.from_user
    assert user is not None
    # The message is the key: Telegram's redelivery of the same update replays the answer.
    row = await db_api.redeem_promo_code(
        pool, user_id=user.id, code=code, idempotency_key=message_key(message)
    )
    assert row is not None
    outcome = row["outcome"]
    if outcome == "APPLIED":
        await message.answer(text("redeem.APPLIED", until=when(row["premium_until"])))
    elif outcome == "RESERVED":
        await offer_discount(message, user.id, row["promo_redemption_id"], "redeem.RESERVED", pool)
    elif outcome == "THROTTLED":
        await message.answer(text("redeem.THROTTLED", until=when(row["blocked_until"])))
    else:
        await message.answer(text(f"redeem.{outcome}"))


async def offer_discount(
    message: Message, user_id: int, redemption_id: int, key: str, pool: AsyncConnectionPool
) -> None:
    """The discount CTA: every plan at the held price, and until when it is held."""
    quotes = await db.quote_discount(pool, user_id=user_id, promo_redemption_id=redemption_id)
    if not quotes:
        await message.answer(text("redeem.no_plans"))
        return
    await message.answer(
        text(key, percent=quotes[0]["discount_percent"], until=when(quotes[0]["reserved_until"])),
        reply_markup=keyboards.discounted_plans(quotes, redemption_id),
    )


async def promo_command(
    message: Message, command: CommandObject, pool: AsyncConnectionPool
) -> None:
    if not (command.args or "").strip():
        prompt, force_reply = prompts.ask("promo.ask", "promo.placeholder")
        await message.answer(prompt, reply_markup=force_reply)
        return
    await redeem(message, command.args or "", pool)


async def promo_reply(message: Message, pool: AsyncConnectionPool) -> None:
    await redeem(message, message.text or "", pool)


async def promo_open(callback: CallbackQuery) -> None:
    if callback.message is not None:
        prompt, force_reply = prompts.ask("promo.ask", "promo.placeholder")
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.message.chat.id, prompt, reply_markup=force_reply
        )


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="promo")
    router.message.register(promo_command, Command("promo"))
    router.message.register(promo_reply, F.text, prompts.answers("promo.ask"))
    router.callback_query.register(promo_open, F.data == PROMO_OPEN)
    return router
