"""The aiohttp application behind `starpass serve`."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import psycopg
import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from psycopg_pool import AsyncConnectionPool

from app.alerts import dispatcher
from app.api import health, metrics, routes
from app.api.bodies import InvalidBody
from app.api.errors import POOL_WAIT_ERRORS, problem_from_db_error, problem_from_pool_wait
from app.api.keys import (
    ADMIN_POOL,
    ADMIN_PROBE,
    POOL,
    PROBE,
    READ_POOL,
    REQUEST_ID,
    SETTINGS,
)
from app.api.problems import Handler, occurrence, problem, problem_middleware
from app.bot import webhook
from app.bot.webhook import BotConfig, bot_config
from app.config import Settings
from app.db.api import PoolWaitFailed
from app.db.cluster import ADMIN_ROLE, role_url
from app.db.pool import DatabaseProbe, create_pool
from app.logs import configure_logging, get_logger

MAX_BODY_BYTES = 16 * 1024
# The replica pool's application_name (pg_stat_activity on the standby tells it apart).
REPLICA_APPLICATION_NAME = "starpass_admin-replica"
# nginx's status for "the client closed the connection before the answer": never sent (there is
# no one to send it to), but logged and counted under it, apart from the server's own errors.
CLIENT_CLOSED_REQUEST = 499
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = get_logger("app.access")
log = get_logger("app.server")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    with (
        structlog.contextvars.bound_contextvars(request_id=request_id),
        occurrence(request.app[SETTINGS].starpass_problem_type_base, request_id),
    ):
        response = await handler(request)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def api_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bad input and database refusals become problems through one mapping (docs/errors.md)."""
    try:
        return await handler(request)
    except InvalidBody as exc:
        return exc.response
    except POOL_WAIT_ERRORS as exc:
        # Asked as the pool's own role: an admin pool whose role cannot log in is not load,
        # even while starpass_app gets through.
        admin = isinstance(exc, PoolWaitFailed) and exc.pool in (
            request.app[ADMIN_POOL],
            request.app[READ_POOL],
        )
        probe = request.app[ADMIN_PROBE] if admin else request.app[PROBE]
        return problem_from_pool_wait(await probe.reachable())
    except psycopg.Error as exc:
        return problem_from_db_error(exc)


@web.middleware
async def body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The body is read before the view, within the body timeout: a client that announces a
    body and trickles it gets 408 and the connection is closed; one that disconnects before the
    body is complete is a client abort (logged as one line, counted as 499), not a 500."""
    if request.body_exists:
        try:
            async with asyncio.timeout(request.app[SETTINGS].starpass_http_body_timeout_seconds):
                await request.read()  # kept by aiohttp: the view's read() returns it
        except TimeoutError:
            response = problem(408, "request_timeout", "The request body did not arrive in time.")
            response.force_close()
            return response
        except ConnectionResetError:
            log.warning("client_aborted", method=request.method, path=request.path)
            return web.Response(status=CLIENT_CLOSED_REQUEST)
    return await handler(request)


class AccessLogger(AbstractAccessLogger):
    """One structured line per request; never the body, query string or headers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        access_log.info(
            "http_request",
            request_id=request.get(REQUEST_ID),
            method=request.method,
            path=request.path,
            status=response.status,
            duration_ms=round(duration * 1000, 2),
        )


def create_app(
    settings: Settings,
    pool: AsyncConnectionPool | None = None,
    admin_pool: AsyncConnectionPool | None = None,
    probe: DatabaseProbe | None = None,
    bot: BotConfig | None = None,
    alerts: bool = True,
) -> web.Application:
    """The service. The bot is mounted when `bot` is given, else from TELEGRAM_BOT_TOKEN;
    without either there is no /telegram/webhook (`starpass serve` then uses the sandbox).
    The alert dispatcher runs beside it when an alert target is configured (and `alerts`)."""
    # JSON logs with plain tracebacks (never frame locals, which can hold codes or tokens),
    # whoever builds the app.
    configure_logging(settings.starpass_log_level)
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics.metrics_middleware,
            problem_middleware,
            api_errors_middleware,
            body_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[POOL] = pool or create_pool(settings)
    app[ADMIN_POOL] = admin_pool or create_pool(settings, role=ADMIN_ROLE)
    app[READ_POOL] = (
        create_pool(
            settings,
            settings.database_replica_url,
            role=ADMIN_ROLE,
            application_name=REPLICA_APPLICATION_NAME,
        )
        if settings.database_replica_url
        else app[ADMIN_POOL]
    )
    app[health.PEPPER_STATE] = health.PepperState()
    app[PROBE] = probe or DatabaseProbe(settings)
    app[ADMIN_PROBE] = DatabaseProbe(settings, role_url(settings, ADMIN_ROLE))
    routes.register(app)  # every operation of the route table (app/api/routes.py)
    bot = bot or bot_config(settings)
    if bot is not None:
        webhook.mount(app, bot, app[POOL])
    app[metrics.METRICS] = metrics.Metrics()
    routing = settings.alert_routing
    if alerts and routing is not None:
        dispatcher.mount(app, settings, routing)
    app.cleanup_ctx.append(_pool_lifecycle)
    return app


async def _pool_lifecycle(app: web.Application) -> AsyncIterator[None]:
    pool, admin_pool = app[POOL], app[ADMIN_POOL]
    # Start serving even while the database is down: /readyz reports it, the pools reconnect.
    await pool.open(wait=False)
    await admin_pool.open(wait=False)
    read_pool = app[READ_POOL]
    if read_pool is not admin_pool:
        await read_pool.open(wait=False)
    log.info(
        "server_started",
        pool_min=pool.min_size,
        pool_max=pool.max_size,
        admin_pool_max=admin_pool.max_size,
    )
    yield
    if read_pool is not admin_pool:
        await read_pool.close()
    await admin_pool.close()
    await pool.close()
    app[PROBE].close()
    app[ADMIN_PROBE].close()
    log.info("server_stopped")
