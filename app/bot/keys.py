"""Idempotency keys derived from what Telegram sends, for the api functions that take one."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message


def message_key(message: Message) -> str:
    """A message is (chat, message id) for ever: unlike update ids, which Telegram may pick
    anew after a week without updates, it cannot come back meaning another message."""
    return f"tg-msg:{message.chat.id}:{message.message_id}"


def callback_key(callback: CallbackQuery) -> str:
    return f"tg-callback:{callback.id}"
