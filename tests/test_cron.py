"""Jobs on the real pg_cron of the test cluster: install is idempotent and removes jobs that
are gone, pg_cron really runs them, and the health check reports failed and stale jobs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from app import jobs
from app.api.metrics import DATABASE_FIGURES
from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase


def _cron(db: ScratchDatabase) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(make_conninfo(db.admin_url, dbname="postgres"), autocommit=True)


def test_install_schedules_every_job_once_and_removes_old_ones(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    db = new_database()
    first = jobs.install(db.admin_url)
    assert len([line for line in first if line.startswith("scheduled ")]) == len(jobs.JOBS)
    assert jobs.install(db.admin_url) == [f"jobs up to date: {len(jobs.JOBS)} scheduled"]
    with _cron(db) as cron:
        cron.execute(
            "SELECT cron.schedule_in_database(%s, '* * * * *', 'SELECT 1', %s)",
            (f"{db.name}:renamed_job", db.name),
        )
    assert jobs.install(db.admin_url) == [f"unscheduled {db.name}:renamed_job (no longer a job)"]
    assert [row.job for row in jobs.status(db.admin_url)] == [job.name for job in jobs.JOBS]
    assert {row.schedule for row in jobs.status(db.admin_url)} == {
        "* * * * *",
        "*/5 * * * *",
        "*/15 * * * *",
    }
    run = jobs.run(db.admin_url, f"{db.name}:rollover_promo_campaigns", "ops:test")
    assert run.line().startswith(
        "rollover_promo_campaigns: 0 campaigns expired or depleted (run by ops:test at "
    )


def test_jobs_run_as_the_jobs_role_and_an_older_install_is_moved_over(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    db = new_database()
    expire = next(job for job in jobs.JOBS if job.name == "expire_promo_reservations")
    with _cron(db) as cron:  # as an install before the role split left it
        cron.execute(
            "SELECT cron.schedule_in_database(%s, %s, %s, %s, 'starpass_app')",
            (f"{db.name}:{expire.name}", expire.schedule, expire.command, db.name),
        )
    jobs.install(db.admin_url)
    with _cron(db) as cron:
        users = cron.execute(
            "SELECT jobname, username FROM cron.job WHERE jobname LIKE %s", (db.name + ":%",)
        ).fetchall()
    assert len(users) == len(jobs.JOBS), "one job per name, none left under the old user"
    assert {str(user) for _, user in users} == {"starpass_jobs"}


def test_pg_cron_runs_the_jobs_and_health_reports_failures(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    db = new_database()
    jobs.install(db.admin_url)
    with _cron(db) as cron:
        # The test calls the health check itself: the scheduled one (every 5 minutes) would
        # raise the alerts first when the minute falls on a multiple of 5.
        jobs._unschedule(cron, f"{db.name}:check_job_health")
    with _cron(db) as cron:  # a test-only job that always fails
        cron.execute(
            "SELECT cron.schedule_in_database(%s, '* * * * *', 'SELECT 1/0', %s, 'starpass_app')",
            (f"{db.name}:always_fails", db.name),
        )
    with connect(db.admin_url) as app:
        app.execute(
            "INSERT INTO ops.jobs (job_name, cron_name, schedule, command, every, installed_at)"
            " VALUES ('always_fails', %s, '* * * * *', 'SELECT 1/0', interval '1 minute', now())",
            (f"{db.name}:always_fails",),
        )
    deadline = time.monotonic() + 80  # pg_cron runs at the start of each minute
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {r.job: r.status for r in jobs.status(db.admin_url)}
        if (
            statuses.get("expire_promo_reservations") == "succeeded"
            and statuses.get("always_fails") == "failed"
        ):
            break
        time.sleep(2)
    assert statuses.get("expire_promo_reservations") == "succeeded", statuses
    assert statuses.get("always_fails") == "failed", statuses
    with connect(db.admin_url) as app:
        assert app.execute("SELECT api.check_job_health() AS n").fetchone() == {"n": 1}
        alert = app.execute(
            "SELECT event, details->>'job' AS job FROM ops.alert_outbox WHERE event LIKE 'jobs.%'"
        ).fetchall()
        assert alert == [{"event": "jobs.failed", "job": "always_fails"}]
        assert app.execute("SELECT api.check_job_health() AS n").fetchone() == {"n": 0}, "deduped"
        # A job without a success for 3 of its intervals is stale.
        app.execute(
            "INSERT INTO ops.jobs (job_name, cron_name, schedule, command, every, installed_at)"
            " VALUES ('never_runs', 'nowhere:never_runs', '* * * * *', 'SELECT 1',"
            " interval '1 minute', now() - interval '4 minutes')"
        )
        assert app.execute("SELECT api.check_job_health() AS n").fetchone() == {"n": 1}
        stale = app.execute(
            "SELECT details->>'job' AS job FROM ops.alert_outbox WHERE event = 'jobs.stale'"
        ).fetchall()
        assert stale == [{"job": "never_runs"}]
        # /metrics: an age only for a job that has succeeded; job_never_succeeded for every job.
        figures = {
            (str(r["metric"]), str(r["label"])): float(str(r["value"]))
            for r in app.execute("SELECT * FROM api.get_ops_metrics()").fetchall()
        }
        assert figures[("job_never_succeeded", "expire_promo_reservations")] == 0
        assert figures[("job_seconds_since_success", "expire_promo_reservations")] >= 0
        assert figures[("job_never_succeeded", "never_runs")] == 1
        assert ("job_seconds_since_success", "never_runs") not in figures
        assert ("job_seconds_since_success", "always_fails") not in figures
        # Each kind of row is a metric of its own on /metrics (app/api/metrics.py).
        assert {metric for metric, _ in figures} == {f.source for f in DATABASE_FIGURES}


def _installed(app: Conn) -> dict[str, datetime]:
    rows = app.execute("SELECT job_name, installed_at FROM ops.jobs").fetchall()
    return {str(r["job_name"]): r["installed_at"] for r in rows}  # type: ignore[misc]


def test_reinstalling_keeps_installed_at_so_a_job_that_never_succeeds_turns_stale(
    new_database: Callable[[], ScratchDatabase], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = new_database()
    jobs.install(db.admin_url)
    with _cron(db) as cron:  # the test runs the health check itself (see the test above)
        jobs._unschedule(cron, f"{db.name}:check_job_health")
    with connect(db.admin_url) as app:
        first = _installed(app)
        # An hour of frequent deploys later, with no job ever succeeding (the clock moves, pg_cron
        # has at most run one minute's worth of jobs, which the hour makes stale as well).
        app.execute("UPDATE ops.clock SET shift = interval '1 hour'")
        jobs.install(db.admin_url)
        jobs.install(db.admin_url)
        again = _installed(app)
        assert again == first, "an unchanged job keeps its installed_at"
        assert app.execute("SELECT api.check_job_health() AS n").fetchone() == {"n": len(jobs.JOBS)}
        stale = app.execute(
            "SELECT details->>'job' AS job FROM ops.alert_outbox WHERE event = 'jobs.stale'"
        ).fetchall()
        assert sorted(str(r["job"]) for r in stale) == sorted(job.name for job in jobs.JOBS)
        # A job whose command changes is installed anew: its staleness counts from now.
        changed = dataclasses.replace(jobs.JOBS[0], command=jobs.JOBS[0].command + " -- v2")
        monkeypatch.setattr(jobs, "JOBS", (changed, *jobs.JOBS[1:]))
        assert f"scheduled {db.name}:{changed.name} ({changed.schedule})" in jobs.install(
            db.admin_url
        )
        moved = _installed(app)
        assert moved[changed.name] > first[changed.name]
        assert {k: v for k, v in moved.items() if k != changed.name} == {
            k: v for k, v in first.items() if k != changed.name
        }
        app.execute("UPDATE ops.clock SET shift = interval '0'")
