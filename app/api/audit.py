"""Reading the audit log over HTTP: GET /internal/audit (scope `audit:read`, in the route
table app/api/routes.py)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from app.api.bodies import ISO_TIMESTAMP, InvalidBody
from app.api.keys import ADMIN_POOL
from app.api.problems import problem
from app.api.promo import page_limit, render
from app.db import api as db

FILTERS = ("actor", "action", "target_type", "target_id")


def _timestamp(raw: str | None) -> datetime | None:
    """An ISO 8601 timestamp with its offset, or None; its range is the function's to check."""
    if raw is None:
        return None
    try:
        if ISO_TIMESTAMP.fullmatch(raw):
            return datetime.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidBody(
        problem(
            422,
            "invalid_query",
            "since and until are ISO 8601 timestamps with an offset: 2030-01-31T12:00:00Z",
        )
    )


async def list_audit(request: web.Request) -> web.Response:
    query = request.query
    limit = page_limit(request, {*FILTERS, "since", "until", "cursor"})
    # Filter lengths, the range, the page size and the cursor are api.list_audit's to refuse.
    rows = await db.list_audit(
        request.app[ADMIN_POOL],
        **{name: query.get(name) for name in FILTERS},
        since=_timestamp(query.get("since")),
        until=_timestamp(query.get("until")),
        limit=limit,
        cursor=query.get("cursor"),
    )
    next_cursor = rows[-1]["cursor"] if len(rows) == limit else None
    items = [{k: v for k, v in row.items() if k != "cursor"} for row in rows]
    return render({"items": items, "next_cursor": next_cursor})
