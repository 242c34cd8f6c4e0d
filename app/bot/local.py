"""Playing the bot offline: `starpass serve` without TELEGRAM_BOT_TOKEN runs the sandbox Bot
API beside the service and points the bot's webhook at the service; `starpass chat` sends the
sandbox a message, a button press or a payment and prints what the bot did."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from app.api.server import start_site
from app.bot.sandbox import create_sandbox_app


@asynccontextmanager
async def sandbox_running(port: int) -> AsyncIterator[str]:
    """The sandbox on 127.0.0.1:port for the block; yields its base URL."""
    runner = web.AppRunner(create_sandbox_app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await start_site(site, "127.0.0.1", port, "STARPASS_SANDBOX_PORT")
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def post_update(port: int, spec: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/sandbox/updates",
        data=json.dumps(spec).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=70) as response:  # noqa: S310 - local sandbox
            result: dict[str, Any] = json.load(response)
            return result
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"sandbox: {exc.read().decode(errors='replace')}") from None
    except OSError as exc:
        raise RuntimeError(
            f"no sandbox on 127.0.0.1:{port} ({exc}): start `make run` without"
            " TELEGRAM_BOT_TOKEN first"
        ) from None


def render(result: dict[str, Any]) -> list[str]:
    """What the bot did, as a person would see it: messages, buttons (with what to pass to
    --press), invoices and pre-checkout answers."""
    lines: list[str] = []
    for delivery in result["deliveries"]:
        if delivery["status"] != 200:
            lines.append(f"! webhook answered {delivery['status']}: {delivery['body'][:200]}")
    for call in result["calls"]:
        method, params = call["method"], call["params"]
        to = params.get("chat_id", "")
        if method in {"sendMessage", "editMessageText"}:
            verb = "bot" if method == "sendMessage" else "bot (edited)"
            lines.append(f"{verb} → {to}: {params['text']}")
            markup = params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    lines.append(f"    [{button['text']}]  --press '{button['callback_data']}'")
            if markup.get("force_reply"):
                lines.append("    (answer by sending the next text as a reply: just send it)")
        elif method == "sendInvoice":
            amount = params["prices"][0]["amount"]
            lines.append(f"invoice → {to}: {params['title']}, {amount} ⭐  (pay with --pay)")
        elif method == "answerPreCheckoutQuery":
            ok = str(params.get("ok")).lower() == "true"
            lines.append(
                "pre-checkout: ok" if ok else f"pre-checkout refused: {params.get('error_message')}"
            )
        elif method == "refundStarPayment":
            lines.append(f"refund of {params['telegram_payment_charge_id']}")
    return lines or ["(the bot did not answer)"]
