"""RFC 9457 problem details for every error response, and the middleware that ensures it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

from app.config import DEFAULT_PROBLEM_TYPE_BASE
from app.logs import get_logger

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Occurrence:
    """What a problem of the current request refers to: docs/errors.md (STARPASS_PROBLEM_TYPE_BASE)
    and the request id (none for a request refused before it got one)."""

    type_base: str = DEFAULT_PROBLEM_TYPE_BASE
    request_id: str | None = None


_OUTSIDE_REQUESTS = Occurrence()
_OCCURRENCE: ContextVar[Occurrence] = ContextVar("problem_occurrence")


@contextmanager
def occurrence(type_base: str, request_id: str | None = None) -> Iterator[None]:
    """The problems made within the block point at `type_base` and name `request_id`."""
    token = _OCCURRENCE.set(Occurrence(type_base, request_id))
    try:
        yield
    finally:
        _OCCURRENCE.reset(token)


def problem_type(code: str, type_base: str = DEFAULT_PROBLEM_TYPE_BASE) -> str:
    """The `type` of a problem: the code's anchor in docs/errors.md."""
    return f"{type_base}#{code}"


def request_instance(request_id: str) -> str:
    """The `instance` of a problem: the request it answered (its X-Request-Id)."""
    return f"urn:starpass:request:{request_id}"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> web.Response:
    current = _OCCURRENCE.get(_OUTSIDE_REQUESTS)
    body: dict[str, object] = {
        "type": problem_type(code, current.type_base),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if current.request_id is not None:
        body["instance"] = request_instance(current.request_id)
    body.update(extra)
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
