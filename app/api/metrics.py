"""Prometheus metrics: redemptions by outcome, request latency by route, pool usage, and the
database's own figures (alert backlog, job freshness, alert deliveries per target) read at
scrape time. One metric per
meaning, units in the name (`_seconds`), counters ending in `_total`, no `_created` series;
docs/metrics.md lists them all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from app.api.keys import ADMIN_POOL, POOL
from app.api.problems import Handler
from app.logs import get_logger

log = get_logger(__name__)


# No `<name>_created` series: a counter's start time adds a series per label set that no rule
# reads (process-wide switch; this process has no other registry).
disable_created_metrics()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DatabaseFigure:
    """One kind of row of api.get_ops_metrics() (`metric, label, value`): the rows whose
    `metric` is `source` become the gauge `name`, their `label` its label `label`."""

    source: str
    name: str
    help: str
    label: str


# The database's figures, read at each scrape. Database-wide: every instance reports the same
# values (aggregate with max, never sum). A new figure: a row here and in docs/metrics.md.
DATABASE_FIGURES = (
    DatabaseFigure(
        "alert_outbox_backlog",
        "starpass_alert_outbox_alerts",
        "Alerts in the ops outbox by state: pending (not delivered yet), dead (given up)",
        "state",
    ),
    DatabaseFigure(
        "job_never_succeeded",
        "starpass_job_never_succeeded",
        "1 while a scheduled job has never succeeded, else 0 (a series for every job)",
        "job",
    ),
    DatabaseFigure(
        "job_seconds_since_success",
        "starpass_job_last_success_age_seconds",
        "Seconds since a scheduled job last succeeded (only for a job that has succeeded)",
        "job",
    ),
)


class Metrics:
    """Every metric the service exposes (docs/metrics.md lists them; a test keeps them equal)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.redemptions = Counter(
            "starpass_redemptions_total",
            "Promo redemptions by outcome (replays apart)",
            ["outcome", "replayed"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "starpass_http_request_duration_seconds",
            "HTTP request latency by method, route pattern and status",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        pool = ["pool"]
        self.pool_open = Gauge(
            "starpass_db_pool_connections",
            "Open connections of a pool (app: starpass_app, admin: starpass_admin)",
            pool,
            registry=self.registry,
        )
        self.pool_idle = Gauge(
            "starpass_db_pool_idle_connections",
            "Open connections of a pool that no request holds",
            pool,
            registry=self.registry,
        )
        self.pool_max = Gauge(
            "starpass_db_pool_max_connections",
            "The most connections a pool opens (STARPASS_DB_POOL_MAX, STARPASS_ADMIN_POOL_MAX)",
            pool,
            registry=self.registry,
        )
        self.pool_waiting = Gauge(
            "starpass_db_pool_waiting_requests",
            "Requests waiting for a connection of a pool",
            pool,
            registry=self.registry,
        )
        self.figures_up = Gauge(
            "starpass_db_figures_up",
            "1 when the database's figures of this scrape were read, 0 when it did not answer",
            registry=self.registry,
        )
        self.figures = {
            figure.source: Gauge(figure.name, figure.help, [figure.label], registry=self.registry)
            for figure in DATABASE_FIGURES
        }
        self.alerts = AlertFigures()
        self.registry.register(self.alerts)

    def observe_pools(self, pools: dict[str, AsyncConnectionPool]) -> None:
        for name, pool in pools.items():
            stats = pool.get_stats()
            self.pool_open.labels(name).set(stats.get("pool_size", 0))
            self.pool_idle.labels(name).set(stats.get("pool_available", 0))
            self.pool_max.labels(name).set(pool.max_size)
            self.pool_waiting.labels(name).set(stats.get("requests_waiting", 0))

    def record_figures(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            gauge = self.figures.get(row["metric"])
            if gauge is None:  # a figure the function gained that DATABASE_FIGURES lacks
                log.warning("metrics_unknown_database_figure", metric=row["metric"])
                continue
            gauge.labels(row["label"]).set(row["value"])

    def clear_figures(self) -> None:
        for gauge in self.figures.values():
            gauge.clear()
        self.alerts.rows = []


class AlertFigures(Collector):
    """Alert delivery per target from api.get_alert_metrics(), as of the last scrape: counters
    (starpass_alerts_delivered_total, _failed_total, _dead_total, _summaries_total) and the
    backlog (starpass_alerts_backlog{state="pending"|"held"}, the age of the oldest pending
    delivery). Database-wide: every instance reports the same figures (aggregate with max,
    not sum)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def collect(self) -> Iterator[Metric]:
        labels = ["provider", "target"]
        counters = {
            "delivered": CounterMetricFamily(
                "starpass_alerts_delivered",
                "Alert deliveries delivered (per alert and target)",
                labels=labels,
            ),
            "failed": CounterMetricFamily(
                "starpass_alerts_failed", "Failed sends (each retry counts)", labels=labels
            ),
            "dead": CounterMetricFamily(
                "starpass_alerts_dead", "Alert deliveries given up (dead)", labels=labels
            ),
            "summaries": CounterMetricFamily(
                "starpass_alerts_summaries",
                "Summary messages (several alerts in one send)",
                labels=labels,
            ),
        }
        backlog = GaugeMetricFamily(
            "starpass_alerts_backlog",
            "Alert deliveries waiting: pending (all) and held (flood control, maintenance window)",
            labels=[*labels, "state"],
        )
        oldest = GaugeMetricFamily(
            "starpass_alerts_oldest_pending_seconds",
            "Age of the oldest pending delivery (0 when none)",
            labels=labels,
        )
        for row in self.rows:
            key = [row["provider"], row["target"]]
            for name, family in counters.items():
                family.add_metric(key, row[name])
            backlog.add_metric([*key, "pending"], row["pending"])
            backlog.add_metric([*key, "held"], row["held"])
            oldest.add_metric(key, row["oldest_pending_seconds"])
        yield from counters.values()
        yield backlog
        yield oldest


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        # The route pattern, not the path: ids in paths would explode the label set.
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[METRICS].latency.labels(request.method, route, str(status)).observe(
            time.perf_counter() - started
        )


async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    m.observe_pools({"app": request.app[POOL], "admin": request.app[ADMIN_POOL]})
    m.clear_figures()  # an outage must not freeze the last figures
    try:
        async with (
            request.app[POOL].connection(timeout=2) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute("SELECT * FROM api.get_ops_metrics()")
            m.record_figures(await cur.fetchall())
            await cur.execute("SELECT * FROM api.get_alert_metrics()")
            m.alerts.rows = await cur.fetchall()
        m.figures_up.set(1)
    except psycopg.Error:
        # A scrape still answers with what the process knows; /readyz reports the database.
        m.figures_up.set(0)
        log.warning("metrics_database_figures_unavailable")
    return web.Response(
        body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
