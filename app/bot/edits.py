"""Editing a message the user pressed a button on, quietly when nothing changed."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def edit_text(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A double tap or a redelivered update edits to the same text: Telegram answers "message
    is not modified", which means the message already shows the result."""
    if not isinstance(callback.message, Message):
        # Too old for Telegram to hand over: answer in a new message instead.
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
