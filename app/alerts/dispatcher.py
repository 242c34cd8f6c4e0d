"""The alert dispatcher: routes new alerts to their targets, claims sends (one per free target),
posts them, and records the answer (docs/alerts.md, "Delivery").

At least once: a send is leased; the provider's 2xx is acked afterwards, so a dispatcher that
dies between the two sends again after the lease ran out, with the same dedup key (PagerDuty
folds the repeat into one incident; the generic webhook and Slack receive the key to do the
same). A NOTIFY on channel ops_alerts wakes the dispatcher; polling every
STARPASS_ALERTS_POLL_SECONDS is the source of truth (a NOTIFY is lost while nobody listens).
Several dispatchers may run at once: the database hands each send to one of them and keeps the
rate limits between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.alerts.policy import Routing, Target
from app.alerts.providers import (
    Send,
    Verdict,
    backoff,
    classify,
    classify_exception,
    payload_for,
)
from app.config import Settings
from app.db import alerts as db
from app.db.cluster import ALERTS_ROLE, role_url
from app.db.pool import connection_kwargs, create_pool
from app.logs import get_logger

CHANNEL = "ops_alerts"
ROUTE_BATCH = 100
ROUTE_BATCHES = 10
log = get_logger(__name__)


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        routing: Routing,
        pool: AsyncConnectionPool | None = None,
        name: str = "dispatcher",
        listen_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.routing = routing
        self.pool = pool or create_pool(settings, role=ALERTS_ROLE)
        self._own_pool = pool is None
        self.name = name
        self._listen_url = listen_url or role_url(settings, ALERTS_ROLE)
        self._wake = asyncio.Event()
        self._ready_at: dict[str, float] = {}  # target -> monotonic time it may send again
        self._session: aiohttp.ClientSession | None = None

    @property
    def targets(self) -> list[str]:
        return sorted(self.routing.targets)

    # The loop.

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: route, send, wait (for a NOTIFY, the next free target, or the
        poll interval). A database or network outage is logged and waited out."""
        if self._own_pool:
            await self.pool.open(wait=False)
        listener = asyncio.create_task(self._listen(stop))
        log.info(
            "alerts_dispatcher_started",
            dispatcher=self.name,
            targets={t.name: t.fingerprint for t in self.routing.targets.values()},
        )
        try:
            async with self._http():
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        wait = await self._step_until(stop)
                    except (psycopg.Error, PoolTimeout, OSError) as exc:
                        log.warning(
                            "alerts_dispatch_failed", dispatcher=self.name, error=type(exc).__name__
                        )
                        wait = self.settings.starpass_alerts_poll_seconds
                    await _first_of(stop, self._wake, wait)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if self._own_pool:
                await self.pool.close()
            log.info("alerts_dispatcher_stopped", dispatcher=self.name)

    async def _step_until(self, stop: asyncio.Event) -> float:
        """A step; on stop, the sends under way get the HTTP timeout to finish (their answers
        recorded), then are abandoned: their leases bring them back to another dispatcher."""
        step = asyncio.ensure_future(self.step())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([step, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                grace = self.settings.starpass_alerts_http_timeout_seconds + 1
                await asyncio.wait([step], timeout=grace)
            if not step.done():
                step.cancel()
                log.warning("alerts_sends_abandoned", dispatcher=self.name)
                with contextlib.suppress(asyncio.CancelledError):
                    await step
                return 0.0
            return step.result()
        finally:
            stopping.cancel()

    async def step(self) -> float:
        """One round: route what is new, send once to every free target. Returns how long to
        wait before the next round (unless woken)."""
        await self.route_new()
        rows = await db.claim_deliveries(
            self.pool,
            self.targets,
            limit=len(self.targets),
            lease_seconds=self.settings.starpass_alerts_lease_seconds,
        )
        if rows:
            async with self._http():
                results = await asyncio.gather(
                    *(self.deliver(Send.from_row(row)) for row in rows), return_exceptions=True
                )
            # Every send ran to its end; a failure to record one (the database went away) is
            # the loop's to wait out, and the send's lease brings it back.
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        return self._next_wait()

    async def route_new(self) -> int:
        """Routes alerts that have no targets yet, by the policy (all of a burst, up to
        ROUTE_BATCHES batches, so that what waits for a target is sent together); how many."""
        routed = 0
        for _ in range(ROUTE_BATCHES):
            batch = await self._route_batch()
            routed += batch
            if batch < ROUTE_BATCH:
                break
        return routed

    async def _route_batch(self) -> int:
        rows = await db.claim_alerts(
            self.pool, ROUTE_BATCH, self.settings.starpass_alerts_lease_seconds
        )
        for row in rows:
            route = self.routing.route(row["event"])
            test = bool(row["details"].get("test"))
            await db.route_alert(
                self.pool,
                row["alert_id"],
                route.targets,
                None if test else route.flood_limit,
                None if test else route.repeat_interval_seconds,
            )
            log.info(
                "alert_routed",
                alert_id=row["alert_id"],
                alert_event=row["event"],
                action=row["action"],
                tier=route.tier,
                targets=list(route.targets),
            )
        return len(rows)

    def _next_wait(self) -> float:
        now = time.monotonic()
        poll = self.settings.starpass_alerts_poll_seconds
        self._ready_at = {t: at for t, at in self._ready_at.items() if at > now}
        soonest = min(self._ready_at.values(), default=now + poll)
        # A moment after the target frees up: the database's clock decides, not ours.
        return min(poll, max(soonest - now, 0.0) + 0.005)

    # One send.

    async def deliver(self, send: Send) -> None:
        target = self.routing.targets.get(send.target)
        if target is None:  # not claimed for targets we do not know; a safeguard
            await self._fail(send, Verdict(False, True, "target not configured here"))
            return
        verdict = await self.post(send, target)
        if verdict.delivered:
            await self.acknowledge(send, target, verdict)
        else:
            await self._fail(send, verdict)

    async def post(self, send: Send, target: Target) -> Verdict:
        timeout = self.settings.starpass_alerts_http_timeout_seconds
        payload = payload_for(send, target, self.routing)
        try:
            async with (
                self._http() as session,
                session.post(
                    target.url,
                    json=payload,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as response,
            ):
                body = await response.text(errors="replace")
                return classify(target.provider, response.status, body[:200], response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_exception(exc, timeout)

    async def acknowledge(self, send: Send, target: Target, verdict: Verdict) -> None:
        row = await db.ack_delivery(self.pool, send.delivery_id, send.attempts)
        assert row is not None
        self._ready_at[send.target] = time.monotonic() + row["send_again_in"]
        log.info(
            "alert_delivered",
            **self._fields(send),
            target_fp=target.fingerprint,
            action=send.action,
            status=verdict.status,
        )

    async def _fail(self, send: Send, verdict: Verdict) -> None:
        settings = self.settings
        dead = not verdict.retry or send.attempts >= settings.starpass_alerts_max_attempts
        retry_in: float | None = None
        if not dead:
            retry_in = backoff(
                send.attempts,
                settings.starpass_alerts_backoff_base_seconds,
                settings.starpass_alerts_backoff_max_seconds,
                random.random(),  # noqa: S311 - jitter, not a secret
            )
            if verdict.retry_after is not None:
                retry_in = max(retry_in, verdict.retry_after)  # at least what the provider asked
        fallback = self.routing.fallback_for(send.target) if dead else None
        row = await db.fail_delivery(
            self.pool,
            send.delivery_id,
            send.attempts,
            verdict.error,
            retry_in,
            fallback,
            verdict.retry_after,
        )
        assert row is not None
        self._ready_at[send.target] = time.monotonic() + row["send_again_in"]
        (log.error if dead else log.warning)(
            "alert_dead" if dead else "alert_send_failed",
            **self._fields(send),
            error=verdict.error,
            retry_in=None if retry_in is None else round(retry_in, 3),
            fallback=fallback if row["fallbacks"] else None,
        )

    # Plumbing.

    def _fields(self, send: Send) -> dict[str, object]:
        """What a log line says about a send: names and counts, never a URL or a body."""
        return {
            "dispatcher": self.name,
            "delivery_id": send.delivery_id,
            "target": send.target,
            "kind": send.kind,
            "alerts": len(send.alerts),
            "attempts": send.attempts,
        }

    @contextlib.asynccontextmanager
    async def _http(self) -> AsyncIterator[aiohttp.ClientSession]:
        """One client session for the dispatcher's life (opened by `run`, or for one step)."""
        if self._session is not None:
            yield self._session
            return
        self._session = aiohttp.ClientSession(headers={"User-Agent": "starpass-alerts"})
        try:
            yield self._session
        finally:
            session, self._session = self._session, None
            await session.close()

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN ops_alerts on a connection of its own; each NOTIFY wakes the loop. Reconnects
        after a failure (and wakes once then: what was raised meanwhile is polled anyway)."""
        kwargs: dict[str, Any] = connection_kwargs(self.settings, "starpass-alerts-listen")
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._listen_url, **kwargs
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()
                    async for _ in conn.notifies():
                        self._wake.set()
            except psycopg.Error as exc:
                log.warning("alerts_listen_failed", dispatcher=self.name, error=type(exc).__name__)
                await _first_of(stop, asyncio.Event(), self.settings.starpass_alerts_poll_seconds)


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


DISPATCHER = web.AppKey("alert_dispatcher", Dispatcher)


def mount(app: web.Application, settings: Settings, routing: Routing) -> Dispatcher:
    """Runs a dispatcher beside the service (`starpass serve`) for the application's life."""
    dispatcher = Dispatcher(settings, routing, name="serve")
    app[DISPATCHER] = dispatcher

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        yield
        stop.set()
        await task

    app.cleanup_ctx.append(lifecycle)
    return dispatcher
