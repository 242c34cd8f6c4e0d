"""`starpass jobs install|status|run`: the `api` job functions on pg_cron.

pg_cron lives in its own database (`cron.database_name`, `postgres` by default); jobs are
scheduled by name with `cron.schedule_in_database` into the app database, as the jobs role. Job
names carry the app database's name, so several app databases can share one cluster. The
health check reads pg_cron's history back through postgres_fdw as a read-only role.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str
    every: timedelta
    command: str
    # What the count the function returns counts (singular, plural), for `starpass jobs run`.
    unit: tuple[str, str]
    # The command of a run by hand: the jobs that audit their changes take the operator.
    manual: str | None = None

    def counted(self, n: int) -> str:
        return f"{n} {self.unit[0] if n == 1 else self.unit[1]}"


JOBS = (
    Job(
        "expire_promo_reservations",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.expire_promo_reservations(10000)",
        ("promo reservation expired", "promo reservations expired"),
    ),
    Job(
        "run_refund_promo_rollback",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.run_refund_promo_rollback(1000)",
        (
            "promo redemption of a refunded purchase revoked",
            "promo redemptions of refunded purchases revoked",
        ),
        "SELECT api.run_refund_promo_rollback(1000, p_actor => %(actor)s)",
    ),
    Job(
        "run_promo_bruteforce_guard",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.run_promo_bruteforce_guard()",
        ("campaign paused as abused", "campaigns paused as abused"),
        "SELECT api.run_promo_bruteforce_guard(p_actor => %(actor)s)",
    ),
    Job(
        "rollover_promo_campaigns",
        "*/5 * * * *",
        timedelta(minutes=5),
        "SELECT api.rollover_promo_campaigns()",
        ("campaign expired or depleted", "campaigns expired or depleted"),
    ),
    Job(
        "check_job_health",
        "*/5 * * * *",
        timedelta(minutes=5),
        "SELECT api.check_job_health()",
        ("job alert raised", "job alerts raised"),
    ),
    Job(
        "prune_history",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.prune_history(10000)",
        ("row past retention pruned", "rows past retention pruned"),
    ),
    Job(
        "cancel_abandoned_purchases",
        "*/15 * * * *",
        timedelta(minutes=15),
        "SELECT api.cancel_abandoned_purchases(1000)",
        ("abandoned purchase cancelled", "abandoned purchases cancelled"),
    ),
)
JOB_USER = "starpass_jobs"
READER_ROLE = "starpass_cron_reader"
Conn = psycopg.Connection[tuple[object, ...]]


def cron_name(database: str, job: Job) -> str:
    return f"{database}:{job.name}"


def cron_database(app: Conn) -> str | None:
    """The database pg_cron lives in, or None when pg_cron is not loaded on this server."""
    row = app.execute("SELECT current_setting('cron.database_name', true)").fetchone()
    return str(row[0]) if row and row[0] else None


def install(admin_url: str) -> list[str]:
    """Schedules every job (an upsert by name), unschedules ours that are gone, registers them
    in ops.jobs and sets up the read-only path to pg_cron's history. Reports what changed."""
    report: list[str] = []
    with psycopg.connect(admin_url, autocommit=True) as app:
        database = str(app.info.dbname)
        cron_db = cron_database(app)
        if cron_db is None:
            return [
                "pg_cron is not loaded on this server: jobs not scheduled "
                "(run them with `starpass jobs run NAME`)"
            ]
        with psycopg.connect(make_conninfo(admin_url, dbname=cron_db), autocommit=True) as cron:
            if not cron.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone():
                return [f"pg_cron is not installed in database {cron_db}: jobs not scheduled"]
            existing = {
                str(name): (str(schedule), str(command), str(username))
                for name, schedule, command, username in cron.execute(
                    "SELECT jobname, schedule, command, username FROM cron.job"
                    " WHERE jobname LIKE %s",
                    (database + ":%",),
                )
            }
            wanted = {cron_name(database, job): job for job in JOBS}
            for name, job in wanted.items():
                if existing.get(name) != (job.schedule, job.command, JOB_USER):
                    if name in existing and existing[name][2] != JOB_USER:
                        # pg_cron keys jobs by (name, user): another user's would stay beside it.
                        _unschedule(cron, name)
                    cron.execute(
                        "SELECT cron.schedule_in_database(%s, %s, %s, %s, %s)",
                        (name, job.schedule, job.command, database, JOB_USER),
                    )
                    report.append(f"scheduled {name} ({job.schedule})")
            for name in sorted(set(existing) - set(wanted)):
                _unschedule(cron, name)
                report.append(f"unscheduled {name} (no longer a job)")
            _grant_reader(cron)
        _link_history(app, admin_url, cron_db)
        _register(app, wanted)
    return report or [f"jobs up to date: {len(JOBS)} scheduled"]


def _register(app: Conn, wanted: dict[str, Job]) -> None:
    """ops.jobs as an upsert: a job whose schedule, command and interval are unchanged keeps its
    installed_at, so a job that never succeeds turns stale however often deploys run."""
    with app.transaction():
        app.execute(
            "DELETE FROM ops.jobs WHERE NOT job_name = ANY(%s)",
            ([job.name for job in wanted.values()],),
        )
        for name, job in wanted.items():
            app.execute(
                "INSERT INTO ops.jobs AS j"
                " (job_name, cron_name, schedule, command, every, installed_at)"
                " VALUES (%s, %s, %s, %s, %s, ops.now())"
                " ON CONFLICT (job_name) DO UPDATE"
                " SET cron_name = excluded.cron_name, schedule = excluded.schedule,"
                " command = excluded.command, every = excluded.every,"
                " installed_at = excluded.installed_at"
                " WHERE (j.cron_name, j.schedule, j.command, j.every)"
                " IS DISTINCT FROM (excluded.cron_name, excluded.schedule, excluded.command,"
                " excluded.every)",
                (job.name, name, job.schedule, job.command, job.every),
            )


def _grant_reader(cron: Conn) -> None:
    cron.execute(
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'starpass_cron_reader') THEN
                CREATE ROLE starpass_cron_reader LOGIN BYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
    )
    cron.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(str(cron.info.dbname)), sql.Identifier(READER_ROLE)
        )
    )
    cron.execute(f"GRANT USAGE ON SCHEMA cron TO {READER_ROLE}")
    cron.execute(f"GRANT SELECT ON cron.job, cron.job_run_details TO {READER_ROLE}")


def _link_history(app: Conn, admin_url: str, cron_db: str) -> None:
    """postgres_fdw from the app database to pg_cron's tables, used by api.check_job_health()."""
    params = conninfo_to_dict(admin_url)
    options = {"dbname": cron_db, **{k: str(params[k]) for k in ("host", "port") if params.get(k)}}
    app.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw WITH SCHEMA extensions")
    if not app.execute(
        "SELECT 1 FROM pg_foreign_server WHERE srvname = 'starpass_cron'"
    ).fetchone():
        app.execute(
            sql.SQL(
                "CREATE SERVER starpass_cron FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})"
            ).format(
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v))
                    for k, v in options.items()
                )
            )
        )
    app.execute("GRANT USAGE ON FOREIGN SERVER starpass_cron TO starpass_owner")
    # The read-only role logs in over the server's local trust; only a superuser may waive the
    # password, and does so for this one mapping.
    app.execute(
        "CREATE USER MAPPING IF NOT EXISTS FOR starpass_owner SERVER starpass_cron"
        f" OPTIONS (user '{READER_ROLE}', password_required 'false')"
    )
    app.execute("CREATE SCHEMA IF NOT EXISTS cron_remote AUTHORIZATION starpass_owner")
    app.execute("REVOKE ALL ON SCHEMA cron_remote FROM PUBLIC")
    if app.execute("SELECT to_regclass('cron_remote.job_run_details')").fetchone() == (None,):
        app.execute("SET ROLE starpass_owner")
        try:
            app.execute(
                "IMPORT FOREIGN SCHEMA cron LIMIT TO (job, job_run_details)"
                " FROM SERVER starpass_cron INTO cron_remote"
            )
        finally:
            app.execute("RESET ROLE")


def job_named(name: str) -> Job:
    """The job by its bare name or by its pg_cron name (`<database>:<name>`)."""
    bare = name.rpartition(":")[2]
    job = next((j for j in JOBS if j.name == bare), None)
    if job is None:
        raise RuntimeError(f"unknown job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")
    return job


@dataclass(frozen=True)
class JobStatus:
    """A job's schedule and its last run, by pg_cron or by hand (`by`: pg_cron or the actor)."""

    job: str
    schedule: str
    last_run: datetime | None
    status: str
    duration: timedelta | None
    by: str

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (
            self.job,
            self.schedule,
            iso(self.last_run) if self.last_run else "never",
            self.status,
            f"{round(self.duration.total_seconds() * 1000)} ms" if self.duration else "-",
            self.by,
        )


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset, to the second: 2030-01-31T12:00:00Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status(admin_url: str) -> list[JobStatus]:
    """Every job with its schedule (when pg_cron has it) and its last run, whichever is newer:
    pg_cron's (cron.job_run_details) or one by hand (ops.job_runs)."""
    runs: dict[str, tuple[datetime, str, timedelta | None, str]] = {}
    schedules: dict[str, str] = {}
    with psycopg.connect(admin_url, autocommit=True) as app:
        database = str(app.info.dbname)
        cron_db = cron_database(app)
        if app.execute("SELECT to_regclass('ops.job_runs')").fetchone() != (None,):
            for name, started, state, took, actor in app.execute(
                "SELECT DISTINCT ON (job_name) job_name, started_at, status,"
                " finished_at - started_at, actor FROM ops.job_runs"
                " ORDER BY job_name, job_run_id DESC"
            ):
                runs[str(name)] = (started, str(state), took, str(actor))
    if cron_db is not None:
        with psycopg.connect(make_conninfo(admin_url, dbname=cron_db)) as cron:
            for name, schedule, started, state, took in cron.execute(
                """
                SELECT j.jobname, j.schedule, d.start_time, d.status, d.end_time - d.start_time
                FROM cron.job AS j
                LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details AS r WHERE r.jobid = j.jobid
                                   ORDER BY r.runid DESC LIMIT 1) AS d ON true
                WHERE j.jobname LIKE %s ORDER BY j.jobname
                """,
                (database + ":%",),
            ):
                bare = str(name).removeprefix(database + ":")
                schedules[bare] = str(schedule)
                manual = runs.get(bare)
                if started is not None and (manual is None or started > manual[0]):
                    runs[bare] = (started, str(state), took, "pg_cron")
    rows = []
    # Ours in their order, then any other job pg_cron runs in this database.
    names = [job.name for job in JOBS] + sorted(set(schedules) - {job.name for job in JOBS})
    for name in names:
        run = runs.get(name)
        rows.append(
            JobStatus(
                name,
                schedules.get(name, "not scheduled"),
                run[0] if run else None,
                run[1] if run else "-",
                run[2] if run else None,
                run[3] if run else "-",
            )
        )
    return rows


@dataclass(frozen=True)
class JobRun:
    job: Job
    count: int
    actor: str
    started_at: datetime
    duration: timedelta

    def line(self) -> str:
        took = round(self.duration.total_seconds() * 1000)
        return (
            f"{self.job.name}: {self.job.counted(self.count)}"
            f" (run by {self.actor} at {iso(self.started_at)}, {took} ms)"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "job": self.job.name,
            "count": self.count,
            "unit": self.job.unit[1],
            "actor": self.actor,
            "started_at": iso(self.started_at),
            "duration_ms": round(self.duration.total_seconds() * 1000),
        }


def run(admin_url: str, name: str, actor: str) -> JobRun:
    """Runs one job now in the app database (for operators, and servers without pg_cron), as
    `actor`: recorded in ops.job_runs (`starpass jobs status` shows it) and audited as them; the
    jobs that audit their changes do so under the actor too. A failed run is recorded as failed."""
    job = job_named(name)
    record = "SELECT ops.record_job_run(%s, %s, %s, %s, %s), clock_timestamp()"
    with psycopg.connect(admin_url, autocommit=True) as app:
        row = app.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        started: datetime = row[0]
        try:
            with app.transaction():
                result = app.execute(job.manual or job.command, {"actor": actor}).fetchone()
                count = int(result[0]) if result and result[0] is not None else 0
                done = app.execute(record, (job.name, actor, started, count, None)).fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate is None:  # the connection is gone: nothing to record it in
                raise
            error = f"{exc.sqlstate}: {exc.diag.message_primary or exc}"
            # The job's error is the one to show, even when the record is refused too (an
            # actor that is not one fails both).
            with contextlib.suppress(psycopg.Error):
                app.execute(record, (job.name, actor, started, None, error))
            raise
    assert done is not None
    return JobRun(job, count, actor, started, done[1] - started)


def uninstall(admin_url: str) -> list[str]:
    """Unschedules this database's jobs (before dropping it)."""
    with psycopg.connect(admin_url, autocommit=True) as app:
        database = str(app.info.dbname)
        cron_db = cron_database(app)
    if cron_db is None:
        return []
    with psycopg.connect(make_conninfo(admin_url, dbname=cron_db), autocommit=True) as cron:
        names = [
            str(r[0])
            for r in cron.execute(
                "SELECT jobname FROM cron.job WHERE jobname LIKE %s", (database + ":%",)
            )
        ]
        for name in names:
            _unschedule(cron, name)
    return [f"unscheduled {name}" for name in names]


def _unschedule(cron: Conn, name: str) -> None:
    # By id: unscheduling by name only finds the caller's own jobs, and ours run as the jobs role.
    cron.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = %s", (name,))
