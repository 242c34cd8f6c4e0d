"""Is PROMO_SECRET_PEPPER the pepper the campaigns were hashed with? (`api.check_pepper`)

With a wrong pepper every valid code answers NOT_FOUND and users get throttled, so
`starpass serve` refuses to start and `/readyz` fails while it does not match. The messages
name the variables, never a value."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import class_row

from app.config import Settings
from app.db.cluster import app_url
from app.db.pool import connection_kwargs, peppered_sync
from app.logs import get_logger

CHECK_PEPPER_SQL = (
    "SELECT ok, outcome, current_matches, previous_matches, other_peppers FROM api.check_pepper()"
)
START_CONNECT_TIMEOUT_SECONDS = 5
MISMATCH_MESSAGE = (
    "PROMO_SECRET_PEPPER does not match the pepper the live campaigns were created with"
    " (nor does PROMO_SECRET_PEPPER_PREVIOUS): every promo code would answer NOT_FOUND."
    " Configure the pepper the campaigns were created with; see docs/runbooks/pepper.md."
)
UNKNOWN_PEPPER_MESSAGE = (
    "some live campaigns were created with a pepper that is neither PROMO_SECRET_PEPPER nor"
    " PROMO_SECRET_PEPPER_PREVIOUS: their codes answer NOT_FOUND (an unfinished rotation?);"
    " see docs/runbooks/pepper.md."
)
# The check cannot run: no api schema or function (not migrated) or no EXECUTE grant. The
# service then behaves as before the check existed and logs why.
NOT_CHECKABLE = (
    psycopg.errors.InvalidSchemaName,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.InsufficientPrivilege,
)
log = get_logger(__name__)


@dataclass(frozen=True)
class PepperCheck:
    """One row of api.check_pepper()."""

    ok: bool
    outcome: str  # MATCH, NO_CAMPAIGNS, UNKNOWN_PEPPER (a warning) or MISMATCH (not ok)
    current_matches: bool
    previous_matches: bool
    other_peppers: int

    def log(self) -> None:
        if not self.ok:
            log.error("pepper_mismatch", other_peppers=self.other_peppers, detail=MISMATCH_MESSAGE)
        elif self.outcome == "UNKNOWN_PEPPER":
            log.warning(
                "pepper_unknown_campaigns",
                other_peppers=self.other_peppers,
                detail=UNKNOWN_PEPPER_MESSAGE,
            )


def _not_checkable(exc: psycopg.Error) -> None:
    # The class and SQLSTATE only: libpq's text may quote a piece of the connection string.
    log.warning("pepper_check_skipped", error=type(exc).__name__, sqlstate=exc.sqlstate)


def check_at_start(settings: Settings) -> PepperCheck | None:
    """The check `starpass serve` runs before listening. None when it cannot run (the database
    is unreachable or not migrated): the service starts as before and /readyz reports."""
    try:
        with (
            psycopg.connect(
                app_url(settings),
                connect_timeout=START_CONNECT_TIMEOUT_SECONDS,
                **connection_kwargs(settings),  # type: ignore[arg-type]
            ) as conn,
            peppered_sync(conn, settings),
            conn.cursor(row_factory=class_row(PepperCheck)) as cur,
        ):
            result = cur.execute(CHECK_PEPPER_SQL).fetchone()
    except psycopg.Error as exc:
        _not_checkable(exc)
        return None
    if result is not None:
        result.log()
    return result


async def check(conn: AsyncConnection[object]) -> PepperCheck | None:
    """The same check on a pooled connection (readiness). None when it cannot run
    (NOT_CHECKABLE); connection errors propagate."""
    try:
        async with conn.cursor(row_factory=class_row(PepperCheck)) as cur:
            await cur.execute(CHECK_PEPPER_SQL)
            return await cur.fetchone()
    except NOT_CHECKABLE as exc:
        _not_checkable(exc)
        return None
