"""Liveness and readiness probes."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import psycopg
from aiohttp import web

from app.api.errors import database_unavailable
from app.api.keys import POOL, PROBE
from app.api.problems import problem
from app.db import pepper
from app.db.pepper import PepperCheck
from app.db.pool import peppered, pool_pepper

# A probe waits this long at most for a pool connection for the pepper check: under load the
# check waits for a quieter moment instead of making the probe slow (load balancers time out).
PEPPER_CHECK_WAIT_SECONDS = 0.2
# How long a pepper check answers readiness probes before the next probe checks again, and how
# soon a check that found the pool busy is tried again.
PEPPER_CHECK_SECONDS = 30.0
PEPPER_RETRY_SECONDS = 5.0


@dataclass
class PepperState:
    """The last api.check_pepper() result; None while not checked or not checkable."""

    result: PepperCheck | None = None
    checked_at: float = -math.inf

    def due(self, now: float) -> bool:
        return now - self.checked_at >= PEPPER_CHECK_SECONDS

    def record(self, result: PepperCheck | None, now: float) -> None:
        if result is not None and result != self.result:
            result.log()  # on a change only, not on every probe
        self.result, self.checked_at = result, now

    def defer(self, now: float) -> None:
        self.checked_at = now - PEPPER_CHECK_SECONDS + PEPPER_RETRY_SECONDS

    def expire(self) -> None:
        self.checked_at = -math.inf


PEPPER_STATE = web.AppKey("pepper_state", PepperState)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    # The probe's own connection, not the pool: a saturated pool is load, not an outage, and a
    # load balancer that drops this instance for it would push its load onto the others.
    if not await request.app[PROBE].reachable(max_age=0):  # a fresh answer (or one under way)
        return database_unavailable(
            "The database is not reachable; the service recovers by itself when it is back."
        )
    state = request.app[PEPPER_STATE]
    now = time.monotonic()
    if state.due(now):
        # A busy pool (or a database gone since the probe) keeps the last answer for a few
        # seconds.
        state.defer(now)
        with contextlib.suppress(psycopg.Error):
            pool = request.app[POOL]
            async with (
                pool.connection(timeout=PEPPER_CHECK_WAIT_SECONDS) as conn,
                peppered(conn, pool_pepper(pool)),
            ):
                state.record(await pepper.check(conn), now)
    if state.result is not None and not state.result.ok:
        # Not transient: the process must be restarted with the right pepper (no Retry-After).
        return problem(503, "pepper_mismatch", pepper.MISMATCH_MESSAGE)
    return web.json_response({"status": "ready"})
