"""Prompts that ask for the user's next message (a promo code, a support request) with
ForceReply: the answer is recognised by what it replies to, so no state is kept between updates
and any replica can take it."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import ForceReply, Message

from app.bot.texts import text


def ask(prompt_key: str, placeholder_key: str) -> tuple[str, ForceReply]:
    return text(prompt_key), ForceReply(input_field_placeholder=text(placeholder_key))


def answers(prompt_key: str) -> Callable[[Message], bool]:
    """A filter: the message replies to the bot's own prompt `prompt_key`, and is not a command
    (a /command sent as a reply is that command, not the answer)."""

    def is_answer(message: Message) -> bool:
        asked = message.reply_to_message
        return bool(
            asked
            and asked.from_user
            and asked.from_user.is_bot
            and asked.text == text(prompt_key)
            and not (message.text or "").startswith("/")
        )

    return is_answer
