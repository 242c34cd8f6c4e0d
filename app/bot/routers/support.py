"""What Telegram requires of a Stars seller and German law of any service: /paysupport that
reaches a person, /terms, /privacy (Datenschutzhinweis), /deletedata; and /help, also for
anything the bot does not understand."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ForceReply, Message
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards
from app.bot.callbacks import DELETE_CONFIRM
from app.bot.edits import edit_text
from app.bot.texts import text
from app.db import bot as db


async def paysupport(message: Message) -> None:
    await message.answer(
        text("paysupport"),
        reply_markup=ForceReply(input_field_placeholder=text("paysupport.placeholder")),
    )


def _is_support_answer(message: Message) -> bool:
    asked = message.reply_to_message
    return bool(
        asked and asked.from_user and asked.from_user.is_bot and asked.text == text("paysupport")
    )


async def paysupport_message(message: Message, pool: AsyncConnectionPool) -> None:
    assert message.from_user is not None
    row = await db.open_payment_support(
        pool, user_id=message.from_user.id, message=(message.text or "")[:2000]
    )
    assert row is not None
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


async def help_text(message: Message) -> None:
    """/help, unknown commands and anything else the bot does not understand."""
    await message.answer(text("help"))


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="support")
    router.message.register(paysupport, Command("paysupport"))
    router.message.register(paysupport_message, F.text, _is_support_answer)
    router.message.register(terms, Command("terms"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(delete_data, Command("deletedata"))
    router.callback_query.register(delete_confirmed, F.data == DELETE_CONFIRM)
    router.message.register(help_text)
    return router
