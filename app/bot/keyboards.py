"""Inline keyboards. Button texts are translated; callback data carries ids only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from app.bot.callbacks import DELETE_CONFIRM, PROMO_OPEN, PlanChosen, RewardChosen, TermsAccepted
from app.bot.texts import text
from app.vocabulary import RewardChoice


def plans(rows: Iterable[dict[str, Any]], *, promo_button: bool = True) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for plan in rows:
        builder.button(
            text=text("button.plan", days=plan["premium_days"], price=plan["price_stars"]),
            callback_data=PlanChosen(plan=plan["plan_code"]),
        )
    if promo_button:
        builder.button(text=text("button.promo_open"), callback_data=PROMO_OPEN)
    builder.adjust(1)
    return builder.as_markup()


def discounted_plans(quotes: Iterable[dict[str, Any]], redemption_id: int) -> InlineKeyboardMarkup:
    """The discount CTA: each plan at the reserved price, the usual price beside it."""
    builder = InlineKeyboardBuilder()
    for quote in quotes:
        builder.button(
            text=text(
                "button.plan_discount",
                days=quote["premium_days"],
                price=quote["price_stars"],
                base=quote["base_price_stars"],
            ),
            callback_data=PlanChosen(plan=quote["plan_code"], rid=redemption_id),
        )
    builder.adjust(1)
    return builder.as_markup()


def accept_terms(version: str, plan: str, redemption_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text("button.accept_terms"),
        callback_data=TermsAccepted(version=version, plan=plan, rid=redemption_id),
    )
    return builder.as_markup()


def reward_choice(reward_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for choice in get_args(RewardChoice):
        builder.button(
            text=text(f"button.reward_{choice}"),
            callback_data=RewardChosen(reward=reward_id, choice=choice),
        )
    builder.adjust(1)
    return builder.as_markup()


def confirm_delete() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text("button.delete_confirm"), callback_data=DELETE_CONFIRM)
    return builder.as_markup()
