"""The one mapping from database errors to HTTP problems (docs/errors.md)."""

from __future__ import annotations

import psycopg
from aiohttp import web
from psycopg_pool import PoolTimeout, TooManyRequests

from app.api.problems import problem
from app.db.api import refusal_reason
from app.logs import get_logger

log = get_logger(__name__)

# SQLSTATE -> (HTTP status, problem code). A refusal of class SP names its condition (its
# reason, docs/errors.md): that is the problem code; the code here is the fallback.
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


# A request that found no free pool connection in time, or found the pool's queue full.
POOL_WAIT_ERRORS = (PoolTimeout, TooManyRequests)


def database_unavailable(
    detail: str = "The database is not reachable; retry shortly.",
) -> web.Response:
    return problem(503, "database_unavailable", detail, headers={"Retry-After": "5"})


def problem_from_pool_wait(database_reachable: bool) -> web.Response:
    """A pool wait that failed is an outage only when the database does not answer either;
    otherwise every connection is busy: `overloaded`, which a caller retries after a second."""
    if not database_reachable:
        return database_unavailable()
    # Not logged: a line per refused request would add load exactly when there is too much.
    return problem(
        503,
        "overloaded",
        "Every database connection is busy; retry shortly.",
        headers={"Retry-After": "1"},
    )


def problem_from_db_error(exc: psycopg.Error) -> web.Response:
    state = exc.sqlstate or ""
    if state in SQLSTATE_STATUS:
        status, code = SQLSTATE_STATUS[state]
        code = refusal_reason(exc) or code
        if status >= 500:
            log.error(
                "database_refused", sqlstate=state, reason=code, message=exc.diag.message_primary
            )
        detail = exc.diag.message_primary or "database refused the request"
        if exc.diag.message_detail and status < 500:
            detail = f"{detail}: {exc.diag.message_detail}"
        headers = {"Retry-After": "1"} if status == 503 else None
        return problem(status, code, detail, headers=headers)
    if isinstance(exc, psycopg.DataError) or state.startswith("22"):
        # A value PostgreSQL cannot hold (a NUL byte, an out-of-range number): the caller's input.
        return problem(422, "invalid_argument", "A value in the request cannot be stored as given.")
    if isinstance(exc, psycopg.OperationalError):  # connection lost, pool closed
        return database_unavailable()
    raise exc
