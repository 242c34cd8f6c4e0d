"""RFC 9457 problem details for every error response, and the middleware that ensures it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from app.logs import get_logger

PROBLEM_TYPE_BASE = "https://starpass.dev/problems/"
log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> web.Response:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return web.json_response(
        body, status=status, headers=headers, content_type="application/problem+json"
    )


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def code_for_status(status: int) -> str:
    """The problem code of an HTTP error aiohttp raises or answers itself."""
    return _HTTP_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = code_for_status(exc.status)
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return problem(exc.status, code, exc.reason, headers=headers or None)
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return problem(500, "internal_error", "An unexpected error occurred; it has been logged.")
