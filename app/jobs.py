"""`starpass jobs install|status|run`: the `api` job functions on pg_cron.

pg_cron lives in its own database (`cron.database_name`, `postgres` by default); jobs are
scheduled by name with `cron.schedule_in_database` into the app database, as the jobs role. Job
names carry the app database's name, so several app databases can share one cluster. The
health check reads pg_cron's history back through postgres_fdw as a read-only role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str
    every: timedelta
    command: str


JOBS = (
    Job(
        "expire_promo_reservations",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.expire_promo_reservations(10000)",
    ),
    Job(
        "run_refund_promo_rollback",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.run_refund_promo_rollback(1000)",
    ),
    Job(
        "run_promo_bruteforce_guard",
        "* * * * *",
        timedelta(minutes=1),
        "SELECT api.run_promo_bruteforce_guard()",
    ),
    Job(
        "rollover_promo_campaigns",
        "*/5 * * * *",
        timedelta(minutes=5),
        "SELECT api.rollover_promo_campaigns()",
    ),
    Job("check_job_health", "*/5 * * * *", timedelta(minutes=5), "SELECT api.check_job_health()"),
    Job(
        "cancel_abandoned_purchases",
        "*/15 * * * *",
        timedelta(minutes=15),
        "SELECT api.cancel_abandoned_purchases(1000)",
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


def status(admin_url: str) -> list[tuple[str, str, str, str, str]]:
    """(job, schedule, last run start, last status, duration) for every registered job."""
    with psycopg.connect(admin_url, autocommit=True) as app:
        database = str(app.info.dbname)
        cron_db = cron_database(app)
        if cron_db is None:
            return []
        with psycopg.connect(make_conninfo(admin_url, dbname=cron_db)) as cron:
            rows = cron.execute(
                """
                SELECT j.jobname, j.schedule,
                       coalesce(to_char(d.start_time, 'YYYY-MM-DD HH24:MI:SS'), 'never'),
                       coalesce(d.status, '-'),
                       coalesce(round(extract(epoch FROM d.end_time - d.start_time) * 1000)::text
                                || ' ms', '-')
                FROM cron.job AS j
                LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details AS r WHERE r.jobid = j.jobid
                                   ORDER BY r.runid DESC LIMIT 1) AS d ON true
                WHERE j.jobname LIKE %s ORDER BY j.jobname
                """,
                (database + ":%",),
            ).fetchall()
    return [tuple(str(v) for v in row) for row in rows]  # type: ignore[misc]


def run(admin_url: str, name: str) -> str:
    """Runs one job now in the app database (for operators, and servers without pg_cron)."""
    job = next((j for j in JOBS if j.name == name), None)
    if job is None:
        raise RuntimeError(f"unknown job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")
    with psycopg.connect(admin_url, autocommit=True) as app:
        row = app.execute(job.command).fetchone()
    return f"{name}: {row[0] if row else 'done'}"


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
