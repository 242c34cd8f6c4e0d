"""Texts come from the gettext catalogs in app/bot/locales (German by default, English for
users whose Telegram language is English); times are shown in Europe/Berlin."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n, SimpleI18nMiddleware
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "de"
BERLIN = ZoneInfo("Europe/Berlin")


def make_i18n() -> I18n:
    return I18n(path=LOCALES, default_locale=DEFAULT_LOCALE, domain="messages")


def language_middleware(i18n: I18n) -> SimpleI18nMiddleware:
    """Telegram's `en`, `en-GB` ... are English (Babel reads the language part); every other
    language, and none, gets German, the bot's first language."""
    return SimpleI18nMiddleware(i18n)


def text(key: str, **values: object) -> str:
    return _(key).format(**values)


def when(moment: datetime | None) -> str:
    """A moment in Berlin time, in the user's language (Telegram shows no time zones)."""
    if moment is None:
        return "-"
    i18n = I18n.get_current()
    locale = i18n.current_locale if i18n is not None else DEFAULT_LOCALE
    pattern = "d. MMMM y, HH:mm 'Uhr'" if locale == "de" else "d MMMM y, HH:mm '(Berlin time)'"
    return format_datetime(moment, pattern, tzinfo=BERLIN, locale=locale)
