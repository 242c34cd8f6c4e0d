"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web

from app.api.errors import database_unavailable
from app.api.keys import PROBE

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    # The probe's own connection, not the pool: a saturated pool is load, not an outage, and a
    # load balancer that drops this instance for it would push its load onto the others.
    if not await request.app[PROBE].reachable(max_age=0):  # a fresh answer (or one under way)
        return database_unavailable(
            "The database is not reachable; the service recovers by itself when it is back."
        )
    return web.json_response({"status": "ready"})
