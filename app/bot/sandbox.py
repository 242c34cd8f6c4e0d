"""A local Bot API for tests and offline play: it answers like Telegram (form-encoded input,
`{"ok": true, "result": ...}` with real objects, errors as `{"ok": false, "error_code",
"description"}`), records every call, and acts as Telegram towards the webhook: it delivers
updates (messages, button presses, pre-checkout queries, payments, refunds) with the secret
token that setWebhook registered.

Sandbox endpoints (beside /bot<token>/<method> and /bot<token>/test/<method>):
  POST /sandbox/updates  {"user_id", "text"} | {"user_id", "press": data} | {"user_id", "pay": true}
                         delivers it and answers {"deliveries": [...], "calls": [...]}
  POST /sandbox/fail     {"method", "error_code", "description", "retry_after", "times"}
  GET  /sandbox/calls    every recorded call (?chat_id= for one chat)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_USER = {
    "id": 1000000001,
    "is_bot": True,
    "first_name": "Starpass",
    "username": "starpass_sandbox_bot",
}
SANDBOX_TOKEN = f"{BOT_USER['id']}:sandbox-development-token"
JSON_FIELDS = {"reply_markup", "prices", "allowed_updates", "entities", "link_preview_options"}


@dataclass
class Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class Sandbox:
    calls: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    allowed_updates: list[str] | None = None
    failures: dict[str, Failure] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    answered_callbacks: set[str] = field(default_factory=set)
    refunded: set[str] = field(default_factory=set)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    prompts: set[tuple[int, int]] = field(default_factory=set)
    # Update ids are unique per bot at Telegram; a random start keeps sandboxes that share a
    # database (tests, restarts of `make run`) from looking like redeliveries of each other.
    _ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(secrets.randbelow(2**40) + 1)
    )

    def next_id(self) -> int:
        return next(self._ids)

    # -- the Bot API -------------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append({"method": method, "params": params, "at": time.time()})
        failure = self.failures.get(method)
        if failure is not None and failure.times > 0:
            failure.times -= 1
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.error_code,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return body
        handler = getattr(self, f"m_{method.lower()}", None)
        if handler is None:
            return {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        result = handler(params)
        if isinstance(result, tuple):  # an error
            return {"ok": False, "error_code": result[0], "description": result[1]}
        return {"ok": True, "result": result}

    def m_getme(self, params: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = params["url"]
        self.webhook_secret = params.get("secret_token")
        self.allowed_updates = params.get("allowed_updates")
        return True

    def m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = None
        return True

    def m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
            "allowed_updates": self.allowed_updates or [],
        }

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self.next_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def m_sendmessage(self, params: dict[str, Any]) -> Any:
        content = {"text": params["text"]}
        markup = params.get("reply_markup") or {}
        # Telegram's Message carries inline keyboards only; a force_reply prompt is remembered
        # here so that the next text in the chat is sent as its reply.
        if "inline_keyboard" in markup:
            content["reply_markup"] = markup
        message = self._message(int(params["chat_id"]), **content)
        if markup.get("force_reply"):
            self.prompts.add((message["chat"]["id"], message["message_id"]))
        return message

    def m_editmessagetext(self, params: dict[str, Any]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return 400, "Bad Request: message to edit not found"
        markup = params.get("reply_markup")
        if message.get("text") == params["text"] and message.get("reply_markup") == markup:
            return 400, (
                "Bad Request: message is not modified: specified new message content and"
                " reply markup are exactly the same as a current content and reply markup"
                " of the message"
            )
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    def m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query = str(params["callback_query_id"])
        if query in self.answered_callbacks:
            return (
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_callbacks.add(query)
        return True

    def m_sendinvoice(self, params: dict[str, Any]) -> Any:
        prices = params["prices"]
        if params.get("currency") != "XTR" or len(prices) != 1:
            return 400, "Bad Request: Stars invoices need currency XTR and exactly one price"
        return self._message(
            int(params["chat_id"]),
            invoice={
                "title": params["title"],
                "description": params["description"],
                "start_parameter": params.get("start_parameter", ""),
                "currency": "XTR",
                "total_amount": int(prices[0]["amount"]),
            },
            invoice_payload=params["payload"],
        )

    def m_answerprecheckoutquery(self, params: dict[str, Any]) -> Any:
        return True

    def m_refundstarpayment(self, params: dict[str, Any]) -> Any:
        charge = str(params["telegram_payment_charge_id"])
        payment = next((t for t in self.transactions if t["id"] == charge), None)
        if payment is None or payment["user_id"] != int(params["user_id"]):
            return 400, "Bad Request: CHARGE_NOT_FOUND"
        if charge in self.refunded:
            return 400, "Bad Request: CHARGE_ALREADY_REFUNDED"
        self.refunded.add(charge)
        asyncio.get_running_loop().create_task(self._deliver_refund(payment))
        return True

    def m_getstartransactions(self, params: dict[str, Any]) -> Any:
        rows = []
        for t in self.transactions:
            partner = {
                "type": "user",
                "transaction_type": "invoice_payment",
                "user": {"id": t["user_id"], "is_bot": False, "first_name": "User"},
            }
            base = {"id": t["id"], "amount": t["amount"], "date": t["date"]}
            rows.append({**base, "source": partner})
            if t["id"] in self.refunded:  # a refund is listed as a transaction to the user
                rows.append({**base, "receiver": partner})
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 100))
        return {"transactions": rows[offset : offset + limit]}

    # -- acting as Telegram towards the webhook ---------------------------------------------

    def _user(self, user_id: int, language: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": "Testnutzer",
            "language_code": language,
        }

    async def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        if not self.webhook_url:
            raise web.HTTPConflict(text="no webhook set: the bot has not called setWebhook yet")
        self.delivered.append(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.webhook_url,
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response,
        ):
            return {
                "update_id": update["update_id"],
                "status": response.status,
                "body": await response.text(),
            }

    def text_update(
        self, user_id: int, text: str, language: str = "de", reply_to: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.next_id(),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id, language),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"update_id": self.next_id(), "message": message}

    def typed_update(self, user_id: int, text: str, language: str = "de") -> dict[str, Any]:
        """What the user types next: after a prompt that asked for a reply (the promo code, a
        support message) it is that reply, as Telegram's apps send it."""
        last = self.last_message(user_id)
        asked = last if last and (user_id, last["message_id"]) in self.prompts else None
        return self.text_update(user_id, text, language, reply_to=asked)

    def press_update(self, user_id: int, data: str, language: str = "de") -> dict[str, Any]:
        # The newest message of ours in that chat whose keyboard has this button.
        message = next(
            (
                m
                for (chat, _), m in sorted(self.messages.items(), reverse=True)
                if chat == user_id and data in json.dumps(m.get("reply_markup", {}))
            ),
            None,
        )
        message = message or self._message(user_id, text="(button)")
        return {
            "update_id": self.next_id(),
            "callback_query": {
                "id": str(self.next_id()),
                "from": self._user(user_id, language),
                "chat_instance": str(user_id),
                "data": data,
                "message": message,
            },
        }

    def last_message(self, user_id: int) -> dict[str, Any] | None:
        return next(
            (m for (chat, _), m in sorted(self.messages.items(), reverse=True) if chat == user_id),
            None,
        )

    def last_invoice(self, user_id: int) -> dict[str, Any] | None:
        return next(
            (
                m
                for (chat, _), m in sorted(self.messages.items(), reverse=True)
                if chat == user_id and "invoice" in m
            ),
            None,
        )

    async def pay(self, user_id: int, language: str = "de") -> list[dict[str, Any]]:
        """What Telegram does when the user pays the newest invoice: pre-checkout, and on ok
        the successful_payment message."""
        invoice = self.last_invoice(user_id)
        if invoice is None:
            raise web.HTTPConflict(text="no invoice in this chat: press a plan button first")
        amount, payload = invoice["invoice"]["total_amount"], invoice["invoice_payload"]
        query_id = str(self.next_id())
        deliveries = [
            await self.deliver(
                {
                    "update_id": self.next_id(),
                    "pre_checkout_query": {
                        "id": query_id,
                        "from": self._user(user_id, language),
                        "currency": "XTR",
                        "total_amount": amount,
                        "invoice_payload": payload,
                    },
                }
            )
        ]
        answer = next(
            (
                c["params"]
                for c in reversed(self.calls)
                if c["method"] == "answerPreCheckoutQuery"
                and str(c["params"].get("pre_checkout_query_id")) == query_id
            ),
            None,
        )
        if not answer or str(answer.get("ok")).lower() != "true":
            return deliveries
        charge = f"sandbox-charge-{self.next_id()}"
        self.transactions.append(
            {
                "id": charge,
                "amount": amount,
                "date": int(time.time()),
                "user_id": user_id,
                "payload": payload,
            }
        )
        deliveries.append(
            await self.deliver(
                self.text_update(user_id, "", language)
                | {
                    "message": {
                        **self.text_update(user_id, "", language)["message"],
                        "text": None,
                        "successful_payment": {
                            "currency": "XTR",
                            "total_amount": amount,
                            "invoice_payload": payload,
                            "telegram_payment_charge_id": charge,
                            "provider_payment_charge_id": "",
                        },
                    }
                }
            )
        )
        return deliveries

    async def _deliver_refund(self, payment: dict[str, Any]) -> None:
        update = self.text_update(payment["user_id"], "")
        update["message"].pop("text")
        update["message"]["refunded_payment"] = {
            "currency": "XTR",
            "total_amount": payment["amount"],
            "invoice_payload": payment["payload"],
            "telegram_payment_charge_id": payment["id"],
        }
        await self.deliver(update)


SANDBOX = web.AppKey("sandbox", Sandbox)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        raw: dict[str, Any] = await request.json()
    else:
        raw = dict(await request.post())
    params: dict[str, Any] = {}
    for key, value in raw.items():
        params[key] = json.loads(value) if key in JSON_FIELDS and isinstance(value, str) else value
    return params


async def bot_api(request: web.Request) -> web.Response:
    body = await request.app[SANDBOX].call(request.match_info["method"], await _params(request))
    return web.json_response(body, status=200 if body["ok"] else body["error_code"])


async def post_update(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    spec = await request.json()
    user_id, language = int(spec["user_id"]), spec.get("language", "de")
    start = len(sandbox.calls)
    if spec.get("pay"):
        deliveries = await sandbox.pay(user_id, language)
    elif "press" in spec:
        deliveries = [await sandbox.deliver(sandbox.press_update(user_id, spec["press"], language))]
    else:
        update = sandbox.typed_update(user_id, spec["text"], language)
        deliveries = [await sandbox.deliver(update)]
    await asyncio.sleep(0.05)  # a refund's refunded_payment arrives just after
    return web.json_response({"deliveries": deliveries, "calls": sandbox.calls[start:]})


async def post_failure(request: web.Request) -> web.Response:
    spec = await request.json()
    request.app[SANDBOX].failures[spec["method"]] = Failure(
        int(spec.get("error_code", 429)),
        spec.get("description", "Too Many Requests: retry after 1"),
        spec.get("retry_after"),
        int(spec.get("times", 1)),
    )
    return web.json_response({"ok": True})


async def get_calls(request: web.Request) -> web.Response:
    calls = request.app[SANDBOX].calls
    if "chat_id" in request.query:
        calls = [c for c in calls if str(c["params"].get("chat_id")) == request.query["chat_id"]]
    return web.json_response(calls)


def create_sandbox_app(sandbox: Sandbox | None = None) -> web.Application:
    app = web.Application()
    app[SANDBOX] = sandbox or Sandbox()
    app.router.add_route("*", "/bot{token}/test/{method}", bot_api)
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_post("/sandbox/updates", post_update)
    app.router.add_post("/sandbox/fail", post_failure)
    app.router.add_get("/sandbox/calls", get_calls)
    return app
