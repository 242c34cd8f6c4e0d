"""Cross-cutting rules for every update and every Bot API call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, AnswerPreCheckoutQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import CallbackQuery, TelegramObject, Update
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware
from psycopg_pool import AsyncConnectionPool

from app.db import bot as db
from app.logs import get_logger

log = get_logger(__name__)
HARMLESS_ANSWER_ERRORS = ("query is too old", "query ID is invalid")
# Deliveries of one update that failed before it is given up (Telegram retries for 24 hours).
MAX_ATTEMPTS = 10


class UpdateBusy(Exception):
    """Another delivery of this update holds its lease: not handled here; the webhook answers
    non-2xx so Telegram delivers it again."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} is being handled by another delivery")
        self.update_id = update_id


class UpdateOnce(BaseMiddleware):
    """Claims each update_id in the database before handling it. Telegram delivers at least
    once: an update handled already is answered 200 and nothing else; one whose earlier
    delivery did not finish is handled again (every handler is idempotent), with
    data["delivery"] = "RETRY"."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        if event.pre_checkout_query is not None:
            # Answered within Telegram's 10 s or the payment fails: no claim before it (its
            # check writes nothing a repeat could double, and Telegram does not resend it).
            data["delivery"] = "NEW"
            return await handler(event, data)
        claim = await db.claim_telegram_update(self.pool, event.update_id)
        assert claim is not None
        if claim["outcome"] == "DUPLICATE":
            log.info("telegram_update_duplicate", update_id=event.update_id)
            return None
        if claim["outcome"] == "BUSY":
            raise UpdateBusy(event.update_id)
        if claim["attempts"] > MAX_ATTEMPTS:
            # Failing every time (a bug, a dependency gone): stop the redelivery loop, loudly.
            # A payment among them is still found by `starpass payments reconcile`.
            log.error(
                "telegram_update_abandoned", update_id=event.update_id, attempts=claim["attempts"]
            )
            await db.finish_telegram_update(self.pool, event.update_id)
            return None
        data["delivery"] = claim["outcome"]
        try:
            result = await handler(event, data)
        except BaseException:
            # Telegram delivers again: let that delivery handle it now, not after the lease.
            await asyncio.shield(self._release(event.update_id, claim["attempts"]))
            raise
        await db.finish_telegram_update(self.pool, event.update_id)
        return result

    async def _release(self, update_id: int, attempts: int) -> None:
        try:
            await db.release_telegram_update(self.pool, update_id, attempts)
        except Exception:  # the lease then simply runs out
            log.warning("telegram_update_release_failed", update_id=update_id, exc_info=True)


class CallbackAnswers(CallbackAnswerMiddleware):
    """Every callback query is answered (the button stops spinning), even when its handler
    fails; answering one that Telegram already forgot is harmless."""

    async def answer(self, event: CallbackQuery, callback_answer: CallbackAnswer) -> None:  # type: ignore[override]
        try:
            await super().answer(event, callback_answer)
        except TelegramBadRequest as exc:
            if not any(harmless in exc.message for harmless in HARMLESS_ANSWER_ERRORS):
                raise


class HonorRetryAfter(BaseRequestMiddleware):
    """A 429 from the Bot API says how long to wait; aiogram does not retry by itself. Answers
    Telegram waits for (pre-checkout, callbacks) wait briefly; other calls up to 10 s."""

    ATTEMPTS = 3
    URGENT = (AnswerPreCheckoutQuery, AnswerCallbackQuery)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        # Telegram waits 60 s for the webhook's answer: two waits must fit well inside it.
        limit = 2 if isinstance(method, self.URGENT) else 10
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.ATTEMPTS or exc.retry_after > limit:
                    raise
                log.warning(
                    "telegram_rate_limited",
                    method=method.__api_method__,
                    retry_after=exc.retry_after,
                    attempt=attempt,
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover
