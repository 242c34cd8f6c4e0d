"""The one mapping from database errors to HTTP problems (docs/errors.md)."""

from __future__ import annotations

import psycopg
from aiohttp import web

from app.api.problems import problem
from app.logs import get_logger

log = get_logger(__name__)

# SQLSTATE -> (HTTP status, stable problem code)
SQLSTATE_STATUS: dict[str, tuple[int, str]] = {
    "SP422": (422, "invalid_argument"),
    "SP404": (404, "not_found"),
    "SP409": (409, "conflict"),
    "SPDUP": (409, "duplicate_code"),
    "SP500": (500, "misconfigured"),
    "55P03": (503, "busy"),
    "57014": (503, "busy"),
    "42501": (403, "forbidden"),
}


def problem_from_db_error(exc: psycopg.Error) -> web.Response:
    state = exc.sqlstate or ""
    if state in SQLSTATE_STATUS:
        status, code = SQLSTATE_STATUS[state]
        if status >= 500:
            log.error("database_refused", sqlstate=state, message=exc.diag.message_primary)
        detail = exc.diag.message_primary or "database refused the request"
        if exc.diag.message_detail and status < 500:
            detail = f"{detail}: {exc.diag.message_detail}"
        headers = {"Retry-After": "1"} if status == 503 else None
        return problem(status, code, detail, headers=headers)
    if isinstance(exc, psycopg.DataError) or state.startswith("22"):
        # A value PostgreSQL cannot hold (a NUL byte, an out-of-range number): the caller's input.
        return problem(422, "invalid_argument", "A value in the request cannot be stored as given.")
    if isinstance(exc, psycopg.OperationalError):  # connection lost, pool timeout
        return problem(
            503,
            "database_unavailable",
            "The database is not reachable; retry shortly.",
            headers={"Retry-After": "5"},
        )
    raise exc
