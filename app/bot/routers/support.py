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

router = Router(name="support")


@router.message(Command("paysupport"))
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


@router.message(F.text, _is_support_answer)
async def paysupport_message(message: Message, pool: AsyncConnectionPool) -> None:
    assert message.from_user is not None
    row = await db.open_payment_support(
        pool, user_id=message.from_user.id, message=(message.text or "")[:2000]
    )
    assert row is not None
    await message.answer(text("paysupport.recorded", ticket=row["support_request_id"]))


@router.message(Command("terms"))
async def terms(message: Message, pool: AsyncConnectionPool) -> None:
    assert message.from_user is not None
    status = await db.get_terms_status(pool, message.from_user.id)
    assert status is not None
    await message.answer(text("terms", version=status["terms_version"]))


@router.message(Command("privacy"))
async def privacy(message: Message) -> None:
    await message.answer(text("privacy"))


@router.message(Command("deletedata"))
async def delete_data(message: Message) -> None:
    await message.answer(text("delete.confirm"), reply_markup=keyboards.confirm_delete())


@router.callback_query(F.data == DELETE_CONFIRM)
async def delete_confirmed(callback: CallbackQuery, pool: AsyncConnectionPool) -> None:
    row = await db.delete_user_data(pool, callback.from_user.id)
    assert row is not None
    await edit_text(callback, text(f"delete.{row['outcome']}"))


@router.message()
async def help_text(message: Message) -> None:
    """/help, unknown commands and anything else the bot does not understand."""
    await message.answer(text("help"))
