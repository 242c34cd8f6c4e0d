"""Callback data: ids only (Telegram allows 64 bytes; umlauts would count twice)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

PROMO_OPEN = "promo:open"
DELETE_CONFIRM = "delete:yes"


class PlanChosen(CallbackData, prefix="plan"):
    """Buy a plan; `rid` is the promo redemption (discount reservation) it uses, 0 for none."""

    plan: str
    rid: int = 0


class TermsAccepted(CallbackData, prefix="terms"):
    """The terms of `version` accepted; the purchase the user started goes on."""

    version: str
    plan: str
    rid: int = 0


class RewardChosen(CallbackData, prefix="reward"):
    reward: int
    choice: str  # a RewardChoice (app/vocabulary.py); the database refuses others
