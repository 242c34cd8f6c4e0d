"""Prometheus metrics: redemptions by outcome, request latency by route, pool usage, and the
database's own figures (alert backlog, job freshness, alert deliveries per target) read at
scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg.rows import dict_row

from app.api.auth import requires
from app.api.keys import POOL
from app.api.problems import Handler
from app.logs import get_logger

log = get_logger(__name__)


class Metrics:
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
            "HTTP request latency by route",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.pool = Gauge(
            "starpass_db_pool_connections",
            "Pool connections by state",
            ["state"],
            registry=self.registry,
        )
        self.scrape_ok = Gauge(
            "starpass_ops_scrape_success",
            "1 when the database figures below are current",
            registry=self.registry,
        )
        self.ops = Gauge(
            "starpass_ops",
            "Database figures: alert_outbox_backlog{state}, job_never_succeeded{job},"
            " job_seconds_since_success{job} (only for a job that has succeeded)",
            ["metric", "label"],
            registry=self.registry,
        )

        self.alerts = AlertFigures()
        self.registry.register(self.alerts)


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


routes = web.RouteTableDef()


@routes.get("/metrics")
@requires("metrics")  # a bearer token with the `metrics` scope: the figures are not public
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    stats = request.app[POOL].get_stats()
    m.pool.labels("size").set(stats.get("pool_size", 0))
    m.pool.labels("available").set(stats.get("pool_available", 0))
    m.pool.labels("waiting").set(stats.get("requests_waiting", 0))
    m.ops.clear()  # an outage must not freeze the last figures
    m.alerts.rows = []
    try:
        async with (
            request.app[POOL].connection(timeout=2) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute("SELECT * FROM api.get_ops_metrics()")
            for row in await cur.fetchall():
                m.ops.labels(row["metric"], row["label"]).set(row["value"])
            await cur.execute("SELECT * FROM api.get_alert_metrics()")
            m.alerts.rows = await cur.fetchall()
        m.scrape_ok.set(1)
    except psycopg.Error:
        # A scrape still answers with what the process knows; /readyz reports the database.
        m.scrape_ok.set(0)
        log.warning("metrics_database_figures_unavailable")
    return web.Response(
        body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
