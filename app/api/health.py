"""Liveness and readiness probes."""

from __future__ import annotations

import psycopg
from aiohttp import web

from app.api.keys import POOL
from app.api.problems import problem

READINESS_TIMEOUT_SECONDS = 2.0
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        async with request.app[POOL].connection(timeout=READINESS_TIMEOUT_SECONDS) as conn:
            await conn.execute("SELECT 1")
    except psycopg.Error:  # also the pool's PoolTimeout, and PoolClosed during shutdown
        return problem(
            503,
            "database_unavailable",
            "The database is not reachable; the service recovers by itself when it is back.",
            headers={"Retry-After": "5"},
        )
    return web.json_response({"status": "ready"})
