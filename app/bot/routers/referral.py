"""The referrer's reward choice. The reward row lock in `api.choose_referral_reward` makes the
first choice win: a double tap, a second choice or a redelivered update edits the message to
the same result and grants nothing more."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from psycopg_pool import AsyncConnectionPool

from app.bot import keyboards
from app.bot.callbacks import RewardChosen
from app.bot.edits import edit_text
from app.bot.texts import text, when
from app.db import bot as db


async def reward_chosen(
    callback: CallbackQuery, callback_data: RewardChosen, pool: AsyncConnectionPool
) -> None:
    user_id = callback.from_user.id
    row = await db.choose_referral_reward(
        pool, user_id=user_id, reward_id=callback_data.reward, choice=callback_data.choice
    )
    assert row is not None
    markup: InlineKeyboardMarkup | None = None
    if row["outcome"] != "CHOSEN":
        message = text(f"reward.{row['outcome']}")
    elif row["choice"] == "PREMIUM_DAYS":
        message = text("reward.PREMIUM_DAYS", until=when(row["premium_until"]))
    else:
        message = text("reward.DISCOUNT", until=when(row["reserved_until"]))
        quotes = await db.quote_discount(
            pool, user_id=user_id, promo_redemption_id=row["promo_redemption_id"]
        )
        markup = keyboards.discounted_plans(quotes, row["promo_redemption_id"]) if quotes else None
    await edit_text(callback, message, markup)


def build() -> Router:
    """A fresh router: aiogram attaches a router to one dispatcher only."""
    router = Router(name="referral")
    router.callback_query.register(reward_chosen, RewardChosen.filter())
    return router
