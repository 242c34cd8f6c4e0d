"""The internal promo API: each view parses, calls one `api` function, renders."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from app.api import bodies
from app.api.keys import ACTOR, ADMIN_POOL, POOL, READ_POOL
from app.api.metrics import METRICS
from app.api.problems import problem
from app.db import api as db

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
ASCII_DIGITS = re.compile(r"[0-9]{1,32}")  # bounded, so int() never meets a huge string


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def render(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        data, status=status, headers=headers, dumps=lambda d: json.dumps(d, default=_json)
    )


def _ascii_int(raw: str, low: int, high: int) -> int | None:
    """`raw` as an integer from `low` to `high` if it is ASCII digits only, else None.

    Not int() or str.isdigit(): they accept '\u00b2', fullwidth digits, '+5', '5_0', ' 5'."""
    if not ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _int(request: web.Request, name: str) -> int:
    """A positive bigint from the path; anything else is a 422, never a database error."""
    value = _ascii_int(request.match_info[name], 1, BIGINT_MAX)
    if value is None:
        raise bodies.InvalidBody(
            problem(422, "invalid_path", f"{name} must be an integer from 1 to {BIGINT_MAX}")
        )
    return value


def page_limit(request: web.Request, parameters: set[str]) -> int:
    """The `limit` of a list endpoint's query (default 50), after refusing parameters other
    than `parameters` and `limit`; only that it is an integer is checked here, its bounds are
    the SQL function's to refuse."""
    unknown = set(request.query) - parameters - {"limit"}
    if unknown:
        raise bodies.InvalidBody(
            problem(422, "invalid_query", f"unknown parameters: {', '.join(sorted(unknown))}")
        )
    limit = _ascii_int(request.query.get("limit", "50"), 0, INT_MAX)
    if limit is None:
        raise bodies.InvalidBody(
            problem(422, "invalid_query", "limit is an integer (ASCII digits)")
        )
    return limit


def _idempotency_conflict(detail: str) -> web.Response:
    """The outcome IDEMPOTENCY_CONFLICT of any function of the idempotency protocol: the key
    was bound to other arguments. Nothing was changed; the caller needs a new key."""
    return problem(409, "idempotency_conflict", detail, outcome="IDEMPOTENCY_CONFLICT")


async def redeem(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.RedeemBody)
    key = bodies.idempotency_key(request, body.idempotency_key)
    row = await db.redeem_promo_code(
        request.app[POOL], user_id=body.user_id, code=body.code, idempotency_key=key
    )
    assert row is not None
    request.app[METRICS].redemptions.labels(row["outcome"], str(row["replayed"]).lower()).inc()
    if row["outcome"] == "THROTTLED":
        wait = max(1, int((row["blocked_until"] - datetime.now(UTC)).total_seconds()) + 1)
        return render(row, status=429, headers={"Retry-After": str(wait)})
    if row["outcome"] == "IDEMPOTENCY_CONFLICT":
        return _idempotency_conflict("This idempotency key was used for another user or code.")
    return render(row)


async def create_campaign(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.CreateCampaignBody)
    campaign = await db.create_promo_code(
        request.app[ADMIN_POOL], **body.model_dump(), actor=request[ACTOR]
    )
    return render(campaign, status=201)


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode() + b"==="))["before"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise bodies.InvalidBody(
            problem(422, "invalid_cursor", "The cursor is not one this API gave out.")
        ) from None
    if type(value) is not int or not 1 <= value <= BIGINT_MAX:
        raise bodies.InvalidBody(
            problem(422, "invalid_cursor", "The cursor is not one this API gave out.")
        )
    return value


async def list_campaigns(request: web.Request) -> web.Response:
    query = request.query
    # Only what Python must understand is checked here (limit is an integer, the cursor is
    # ours); statuses, kind, q and the page size are api.list_promo_campaigns's to refuse.
    limit = page_limit(request, {"status", "kind", "q", "cursor"})
    rows = await db.list_promo_campaigns(
        request.app[READ_POOL],
        status=query.getall("status", []) or None,
        kind=query.get("kind"),
        q=query.get("q"),
        limit=limit,
        before_id=_cursor(query.get("cursor")),
    )
    next_cursor = None
    if len(rows) == limit:
        token = json.dumps({"before": rows[-1]["promo_code_id"]}).encode()
        next_cursor = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return render({"items": rows, "next_cursor": next_cursor})


async def get_campaign(request: web.Request) -> web.Response:
    return render(
        await db.get_promo_campaign(request.app[READ_POOL], _int(request, "promo_code_id"))
    )


async def set_status(request: web.Request) -> web.Response:
    promo_code_id = _int(request, "promo_code_id")
    body = await bodies.parse(request, bodies.StatusBody)
    campaign = await db.set_promo_campaign_status(
        request.app[ADMIN_POOL],
        promo_code_id=promo_code_id,
        status=body.status,
        actor=request[ACTOR],
        reason=body.reason,
    )
    return render(campaign)


async def refund_rollback(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.RollbackBody)
    key = bodies.idempotency_key(request, body.idempotency_key)
    row = await db.rollback_refunded_promo(
        request.app[ADMIN_POOL],
        purchase_id=body.purchase_id,
        actor=request[ACTOR],
        idempotency_key=key,
        reason=body.reason,
    )
    assert row is not None
    if row["outcome"] == "IDEMPOTENCY_CONFLICT":
        return _idempotency_conflict("This idempotency key was used for another purchase.")
    return render(row)


async def get_throttle(request: web.Request) -> web.Response:
    return render(await db.get_promo_throttle(request.app[READ_POOL], _int(request, "user_id")))


async def reset_throttle(request: web.Request) -> web.Response:
    # The reason's rules (1 to 1000 characters once blanks are trimmed) are the function's.
    row = await db.reset_promo_throttle(
        request.app[ADMIN_POOL],
        user_id=_int(request, "user_id"),
        actor=request[ACTOR],
        reason=request.query.get("reason", ""),
    )
    return render(row)
