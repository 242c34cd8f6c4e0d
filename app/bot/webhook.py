"""The bot on the service's aiohttp application: /telegram/webhook, the secret token checked,
every update claimed once in the database, handlers in one Router per feature."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import psycopg
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from app.api.problems import problem
from app.bot.middlewares import CallbackAnswers, HonorRetryAfter, UpdateBusy, UpdateOnce
from app.bot.routers import checkout, promo, referral, start, support
from app.bot.sandbox import SANDBOX_TOKEN
from app.bot.texts import language_middleware, make_i18n
from app.config import Settings
from app.logs import get_logger

WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# What the bot must receive; pre_checkout_query is easy to forget and then payments time out.
ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query"]
BOT = web.AppKey("bot", Bot)
log = get_logger(__name__)


@dataclass(frozen=True)
class BotConfig:
    token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_base_url: str = ""
    sandbox: bool = False


class BotConfigError(ValueError):
    """Names the variable that is missing or wrong, never its value."""


def bot_config(settings: Settings) -> BotConfig | None:
    """The bot's settings, or None without TELEGRAM_BOT_TOKEN (then `starpass serve` uses the
    sandbox)."""
    if settings.telegram_bot_token is None:
        return None
    if settings.telegram_webhook_secret is None:
        raise BotConfigError(
            "TELEGRAM_WEBHOOK_SECRET is not set: Telegram's calls to the webhook are"
            " authenticated with it"
        )
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not WEBHOOK_SECRET.fullmatch(secret):
        raise BotConfigError(
            "TELEGRAM_WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z a-z 0-9 _ -"
        )
    return BotConfig(
        token=settings.telegram_bot_token.get_secret_value(),
        webhook_secret=secret,
        api_base_url=settings.telegram_api_base_url,
    )


def sandbox_config(api_base_url: str) -> BotConfig:
    return BotConfig(SANDBOX_TOKEN, secrets.token_urlsafe(32), api_base_url, sandbox=True)


def api_server(base_url: str) -> TelegramAPIServer:
    """Telegram's test environment lives under /bot<token>/test/<method>: a base URL ending
    in /test selects it."""
    base = base_url.rstrip("/")
    if base.endswith("/test"):
        root = base.removesuffix("/test")
        return TelegramAPIServer(
            base=f"{root}/bot{{token}}/test/{{method}}",
            file=f"{root}/file/bot{{token}}/test/{{path}}",
        )
    return TelegramAPIServer.from_base(base)


def make_bot(config: BotConfig) -> Bot:
    session = AiohttpSession(api=api_server(config.api_base_url), timeout=10)
    session.middleware(HonorRetryAfter())
    return Bot(config.token, session=session, default=DefaultBotProperties())


def make_dispatcher(pool: AsyncConnectionPool) -> Dispatcher:
    dispatcher = Dispatcher(pool=pool)
    dispatcher.update.outer_middleware(UpdateOnce(pool))
    language_middleware(make_i18n()).setup(dispatcher)
    dispatcher.callback_query.middleware(CallbackAnswers())
    # support last: its catch-all answers whatever no other router took.
    dispatcher.include_routers(
        start.build(), promo.build(), checkout.build(), referral.build(), support.build()
    )
    return dispatcher


class TelegramWebhook(SimpleRequestHandler):
    """Telegram retries an update until it gets a 2xx. So: 401 for a wrong secret; 200 for an
    update that can never be handled (logged); 500 only when handling failed, which every
    handler makes safe to repeat (idempotent by update, callback, charge or reward id)."""

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot
        ):
            return problem(401, "unauthorized", "The webhook secret token is missing or wrong.")
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError) as exc:
            log.warning("telegram_update_malformed", error=type(exc).__name__)
            return web.json_response({})
        try:
            # feed_update, not feed_webhook_update: that one answers 200 after 55 s and goes on
            # in the background, where a failure would never be delivered again.
            await self.dispatcher.feed_update(self.bot, update, **self.data)
        except UpdateBusy:
            # Another delivery (another replica) is handling it now: never 200, or it is lost.
            log.info("telegram_update_busy", update_id=update.update_id)
            response = problem(
                503, "update_in_progress", "Another delivery of this update is being handled."
            )
            response.headers["Retry-After"] = "30"
            return response
        except TelegramForbiddenError:
            # The user blocked the bot: nothing can reach them, and a retry cannot change that.
            log.warning("telegram_user_unreachable", update_id=update.update_id)
        except psycopg.Error as exc:
            if not (exc.sqlstate or "").startswith("SP4"):
                return _failed(update)
            # A contract violation (e.g. tampered callback data) is the same on every retry.
            log.warning(
                "telegram_update_refused", update_id=update.update_id, sqlstate=exc.sqlstate
            )
        except Exception:
            return _failed(update)
        return web.json_response({})


def _failed(update: Update) -> web.Response:
    log.exception("telegram_update_failed", update_id=update.update_id)
    return problem(500, "internal_error", "The update was not handled; Telegram retries it.")


def mount(app: web.Application, config: BotConfig, pool: AsyncConnectionPool) -> Bot:
    bot = make_bot(config)
    TelegramWebhook(
        make_dispatcher(pool), bot, handle_in_background=False, secret_token=config.webhook_secret
    ).register(app, path=WEBHOOK_PATH)
    app[BOT] = bot
    return bot


async def set_webhook(bot: Bot, url: str, secret: str) -> None:
    # Never drop_pending_updates: updates waiting at Telegram are payments and presses.
    await bot.set_webhook(
        url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False
    )
