"""What Telegram requires of a Stars seller and German law of any service: /paysupport that
reaches a person, /terms, /privacy (Datenschutzhinweis), /deletedata; and /help, also for
anything the bot does not understand."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards, prompts
from app.bot.callbacks import DELETE_CONFIRM
from app.bot.edits import edit_text
from app.bot.keys import message_key
from app.bot.texts import text
from app.db import bot as db


async def paysupport(message: Message) -> None:
    prompt, force_reply = prompts.ask("paysupport", "paysupport.placeholder")
    await message.answer(prompt, reply_markup=force_reply)


async def paysupport_message(message: Message, pool: AsyncConnectionPool) -> None:
    assert message.from_user is not None
    row = await db.open_payment_support(
        pool,
        user_id=message.from_user.id,
        message=(message.text or "")[:2000],
        idempotency_key=message_key(message),
    )
    assert row is not None
    if row["outcome"] == "IDEMPOTENCY_CONFLICT":  # a key of another user's message: not ours
        await message.answer(text("error.generic"))
        return
    await message.answer(text("paysupport.recorded", ticket=row["support_request_id"]))


async def terms(message: Message, pool: AsyncConnectionPool) -> None:
    assert message.from_user is not None
    status = await db.get_terms_status(pool, message.from_user.id)
    assert status is not None
    await message.answer(text("terms", version=status["terms_version"]))


async def privacy(message: Message) -> None:
    await message.answer(text("privacy"))


async def delete_data(message: Message) -> None:
    await message.answer(text("delete.confirm"), reply_markup=keyboards.confirm_delete())


async def delete_confirmed(callback: CallbackQuery, pool: AsyncConnectionPool) -> None:
    row = await db.delete_user_data(pool, callback.from_user.id)
    assert row is not None
    await edit_text(callback, text(f"delete.{row['outcome']}"))


async def stale_button(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """A press no other router takes (a button of an older version of the bot): answered, so
    it stops spinning, with a word why nothing happens."""
    callback_answer.text = text("callback.stale")


async def help_text(message: Message) -> None:
    """/help, unknown commands and anything else the bot does not understand."""
    await message.answer(text("help"))


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="support")
    router.message.register(paysupport, Command("paysupport"))
    router.message.register(paysupport_message, F.text, prompts.answers("paysupport"))
    router.message.register(terms, Command("terms"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(delete_data, Command("deletedata"))
    router.callback_query.register(delete_confirmed, F.data == DELETE_CONFIRM)
    router.callback_query.register(stale_button)
    router.message.register(help_text)
    return router
