"""Refunds through the internal API: the intent is recorded, Telegram refunds the Stars, the
purchase is marked refunded. Safe to retry at any point."""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiohttp import web

from app.api import bodies
from app.api.keys import ACTOR, ADMIN_POOL
from app.api.problems import problem
from app.api.promo import _int, render
from app.bot.webhook import BOT
from app.db import bot as db


async def refund(request: web.Request) -> web.Response:
    purchase_id = _int(request, "purchase_id")
    body = await bodies.parse(request, bodies.RefundBody)
    if BOT not in request.app:
        return problem(503, "telegram_unavailable", "The bot is not configured on this instance.")
    pool, actor = request.app[ADMIN_POOL], request[ACTOR]
    purchase = await db.request_purchase_refund(
        pool, purchase_id=purchase_id, actor=actor, reason=body.reason
    )
    assert purchase is not None
    if purchase["status"] == "PAID":
        try:
            await request.app[BOT].refund_star_payment(
                user_id=purchase["user_id"],
                telegram_payment_charge_id=purchase["telegram_payment_charge_id"],
            )
        except TelegramRetryAfter as exc:
            return problem(
                503,
                "telegram_rate_limited",
                "Telegram asks to wait before the next call; retry the refund.",
                headers={"Retry-After": str(exc.retry_after)},
            )
        except TelegramBadRequest as exc:
            # Refunded before (by us or in Telegram's apps): done, record it.
            if "CHARGE_ALREADY_REFUNDED" not in exc.message:
                return problem(
                    502,
                    "telegram_refused",
                    f"Telegram refused the refund: {exc.message}",
                    purchase_id=purchase_id,
                )
        except TelegramAPIError as exc:
            return problem(
                503,
                "telegram_unavailable",
                f"Telegram did not answer the refund ({type(exc).__name__}); retry it.",
                headers={"Retry-After": "5"},
            )
    row = await db.mark_purchase_refunded(
        pool, charge_id=purchase["telegram_payment_charge_id"], actor=actor, reason=body.reason
    )
    return render(row)
