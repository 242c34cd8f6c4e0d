"""/start (with the deep link `ref_<code>`): welcome, premium status, plans, promo button."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.deep_linking import create_start_link
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards
from app.bot.texts import text, when
from app.db import bot as db


async def start(
    message: Message, command: CommandObject, pool: AsyncConnectionPool, bot: Bot
) -> None:
    user = message.from_user
    assert user is not None
    argument = command.args or ""
    greeting = await db.greet_user(
        pool,
        user_id=user.id,
        username=user.username,
        first_name=user.first_name[:64] if user.first_name else None,
        language_code=user.language_code,
        referral_code=argument.removeprefix("ref_") if argument.startswith("ref_") else None,
    )
    assert greeting is not None
    lines = [text("start.welcome", name=user.first_name or "")]
    if greeting["referral_outcome"]:
        lines.append(text(f"referral.{greeting['referral_outcome']}"))
    lines.append(
        text("start.premium_active", until=when(greeting["premium_until"]))
        if greeting["is_premium"]
        else text("start.premium_none")
    )
    link = await create_start_link(bot, f"ref_{greeting['referral_code']}")
    lines += [text("start.referral_link", link=link), text("start.choose_plan")]
    await message.answer("\n\n".join(lines), reply_markup=keyboards.plans(greeting["plans"]))


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    return router
