"""`make test-ha`: failover of a Patroni cluster under redemption and purchase load.

One etcd member and three PostgreSQL 15 nodes under Patroni on this machine (own ports, one
temporary directory, everything stopped and removed afterwards), synchronous replication on,
pg_cron preloaded on every node. Clients connect with a libpq multi-host URL and
`target_session_attrs=read-write` (docs/scaling.md, "High availability", says why not HAProxy).

Under load (clients redeeming a promo code and buying plans through the `api` functions, each
step retried with the same idempotency key after a connection error), the primary node dies:
kill -9 of its Patroni and of its postmaster. The run measures the seconds until the new primary
answers, checks that every redemption and payment answered as committed is on the new primary
(zero lost), that replaying every call with its key changes nothing (nothing double-applied),
that api.check_invariants() is empty, that pg_cron ran on the old primary only and runs on the
new one afterwards, and that api.check_job_health() raised jobs.stale for the minute the
failover cost and resolved it once the job ran again. Exits non-zero when any check fails.

`python -m tests.ha` (as root the servers run as the `postgres` system user).
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from app import jobs
from app.config import Settings
from app.db.migrate import migrate
from tests.conftest import PEPPER, _free_port
from tests.harness import login_role_urls

CLIENTS = 4  # two redeem, two buy (SQL), and one HTTP client redeeming through `starpass serve`
HTTP_TOKEN = secrets.token_hex(20)
SERVICES: list[subprocess.Popen[bytes]] = []  # stopped by main()
PAUSE = 0.05  # between a client's operations: a steady load, not a benchmark
AFTER_FAILOVER = 10.0  # seconds of load on the new primary before the clients stop
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 1, 3  # Patroni: ttl >= loop_wait + 2 * retry_timeout
KILL_AT_SECOND = 53  # of a minute: the failover then spans the next minute's pg_cron runs
DATABASE = "starpass_ha"
HEARTBEAT = "ha_heartbeat"
Row = dict[str, Any]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


# -- the cluster ---------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    pg_port: int
    api_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


@dataclass
class HaCluster:
    base: Path
    bindir: Path
    passwords: dict[str, str] = field(
        default_factory=lambda: {
            "postgres": secrets.token_urlsafe(18),
            "replicator": secrets.token_urlsafe(18),
        }
    )
    etcd_port: int = field(default_factory=_free_port)
    etcd_peer_port: int = field(default_factory=_free_port)
    nodes: list[Node] = field(default_factory=list)
    etcd: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.scope = "starpass-ha-" + secrets.token_hex(3)
        for i in range(1, 4):
            directory = self.base / f"node{i}"
            self.nodes.append(Node(f"node{i}", _free_port(), _free_port(), directory))

    # The libpq URL the service would use: every node, only a read-write session will do.
    def url(self, dbname: str = DATABASE, **extra: str) -> str:
        return make_conninfo(
            "",
            host=",".join("127.0.0.1" for _ in self.nodes),
            port=",".join(str(n.pg_port) for n in self.nodes),
            user="postgres",
            password=self.passwords["postgres"],
            dbname=dbname,
            target_session_attrs="read-write",
            connect_timeout="2",
            **extra,
        )

    def node_url(self, node: Node, dbname: str = "postgres") -> str:
        return make_conninfo(
            "",
            host="127.0.0.1",
            port=str(node.pg_port),
            user="postgres",
            password=self.passwords["postgres"],
            dbname=dbname,
            connect_timeout="2",
        )

    def start(self) -> None:
        user = _service_user()
        self.base.mkdir(mode=0o700, exist_ok=True)
        if user:
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self.etcd = subprocess.Popen(
            [
                "etcd",
                "--name=ha",
                f"--data-dir={self.base / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{self.etcd_peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{self.etcd_peer_port}",
                f"--initial-cluster=ha=http://127.0.0.1:{self.etcd_peer_port}",
                "--log-level=warn",
            ],
            stdout=(self.base / "etcd.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for node in self.nodes:
            node.directory.mkdir(mode=0o700)
            config = node.directory / "patroni.yml"
            config.write_text(json.dumps(self._patroni_config(node), indent=2))  # JSON is YAML
            if user:
                os.chown(node.directory, user.pw_uid, user.pw_gid)
                os.chown(config, user.pw_uid, user.pw_gid)
            node.process = subprocess.Popen(
                ["patroni", str(config)],
                stdout=(node.directory / "patroni.log").open("wb"),
                stderr=subprocess.STDOUT,
                cwd=str(node.directory),
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
                env={
                    "PATH": f"{self.bindir}:/usr/bin:/bin",
                    "HOME": user.pw_dir if user else os.environ.get("HOME", "/tmp"),  # noqa: S108
                    "LC_ALL": "C.UTF-8",
                },
                start_new_session=True,
            )
            if node is self.nodes[0]:
                # The first node bootstraps alone, so it is the first leader; the others then
                # clone it with pg_basebackup.
                self.wait(lambda m: _role(m, "leader") == 1, "the first node to bootstrap")

    def _patroni_config(self, node: Node) -> dict[str, object]:
        return {
            "scope": self.scope,
            "name": node.name,
            "restapi": {
                "listen": f"127.0.0.1:{node.api_port}",
                "connect_address": f"127.0.0.1:{node.api_port}",
            },
            "etcd3": {"hosts": f"127.0.0.1:{self.etcd_port}"},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL,
                    "loop_wait": LOOP_WAIT,
                    "retry_timeout": RETRY_TIMEOUT,
                    "maximum_lag_on_failover": 1048576,
                    # Commits wait for one standby; only that standby may be promoted.
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": False,
                        "parameters": {
                            "shared_preload_libraries": "pg_cron",
                            "cron.database_name": "postgres",
                            "cron.use_background_workers": "on",
                            "max_worker_processes": 32,
                            "max_connections": 100,
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "128MB",
                            "timezone": "UTC",
                            "log_timezone": "UTC",
                            "log_min_error_statement": "panic",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(self.bindir),
                "pgpass": str(node.directory / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": self.passwords["postgres"]},
                    "replication": {
                        "username": "replicator",
                        "password": self.passwords["replicator"],
                    },
                },
                "parameters": {
                    "unix_socket_directories": str(node.directory),
                    "unix_socket_permissions": "0700",
                },
                "pg_hba": [
                    "local all all trust",
                    "host replication replicator 127.0.0.1/32 scram-sha-256",
                    # pg_cron's history is read through postgres_fdw by a password-less role.
                    "host postgres starpass_cron_reader 127.0.0.1/32 trust",
                    "host all all 127.0.0.1/32 scram-sha-256",
                ],
            },
            "tags": {},
        }

    def members(self) -> list[Row]:
        """Patroni's view of the cluster, from any node's REST API that answers."""
        for node in self.nodes:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{node.api_port}/cluster", timeout=1
                ) as response:
                    return list(json.loads(response.read())["members"])
            except OSError:
                continue
        return []

    def wait(self, ready: Callable[[list[Row]], bool], what: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.members()):
                return
            for node in self.nodes:
                if node.process and node.process.poll() is not None and node.process.returncode:
                    raise SystemExit(f"patroni {node.name} exited: see {node.directory}")
            time.sleep(0.5)
        raise SystemExit(f"timed out waiting for {what}: {self.members()}")

    def leader(self) -> Node:
        name = next(m["name"] for m in self.members() if m["role"] == "leader")
        return next(n for n in self.nodes if n.name == name)

    def destroy(self) -> None:
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process:
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.process.kill()
            pid = node.postmaster_pid()
            if pid and _alive(pid):
                os.kill(pid, signal.SIGQUIT)  # Patroni did not stop it: immediate shutdown
        if self.etcd:
            self.etcd.terminate()
            try:
                self.etcd.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.etcd.kill()
        shutil.rmtree(self.base, ignore_errors=True)


def _role(members: list[Row], role: str, states: tuple[str, ...] = ("running",)) -> int:
    return sum(1 for m in members if m["role"] == role and m["state"] in states)


def _healthy(members: list[Row]) -> bool:
    """One leader, its synchronous standby and a second replica, all streaming."""
    return (
        _role(members, "leader") == 1
        and _role(members, "sync_standby", ("streaming", "running")) == 1
        and _role(members, "replica", ("streaming", "running")) == 1
    )


def _service_user() -> pwd.struct_passwd | None:
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


# -- the load ------------------------------------------------------------------------------------


@dataclass
class Load:
    app_url: str
    code: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    redeemed: list[tuple[int, str, int]] = field(default_factory=list)  # user, key, id
    paid: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)  # when, SQLSTATE or class
    successes: list[tuple[float, float]] = field(default_factory=list)  # asked, answered
    failures: list[BaseException] = field(default_factory=list)
    users: itertools.count[int] = field(default_factory=lambda: itertools.count(5 * 10**9))
    http_port: int = 0
    http_answers: list[tuple[float, float, int, str]] = field(default_factory=list)
    """asked, answered, status, problem code"""
    http_errors: list[float] = field(default_factory=list)  # no answer (connection, timeout)

    def connect(self) -> psycopg.Connection[Row]:
        return psycopg.connect(
            self.app_url, autocommit=True, row_factory=dict_row, options=f"-c promo.pepper={PEPPER}"
        )

    def call(self, conn: list[psycopg.Connection[Row] | None], query: str, *args: object) -> Row:
        """One api call, retried with the same arguments (the same idempotency key) until it
        answers: a lost connection is an unknown outcome, never an answer."""
        while True:
            try:
                current = conn[0]
                if current is None or current.closed:
                    current = conn[0] = self.connect()
                asked = time.monotonic()
                row = current.execute(query, args).fetchone()
                assert row is not None
                with self.lock:
                    self.successes.append((asked, time.monotonic()))
                return row
            except psycopg.OperationalError as exc:
                with self.lock:
                    self.errors.append((time.monotonic(), exc.sqlstate or type(exc).__name__))
                if conn[0] is not None:
                    conn[0].close()
                conn[0] = None
                time.sleep(0.2)

    def redeem(self) -> None:
        conn: list[psycopg.Connection[Row] | None] = [None]
        while not self.stop.is_set():
            user, key = next(self.users), "ha-redeem-" + secrets.token_hex(8)
            row = self.call(
                conn, "SELECT * FROM api.redeem_promo_code(%s, %s, %s)", user, self.code, key
            )
            if row["promo_redemption_id"] is None:
                raise AssertionError(f"redemption refused: {row['outcome']}")
            with self.lock:
                self.redeemed.append((user, key, int(row["promo_redemption_id"])))
            time.sleep(PAUSE)

    def redeem_http(self) -> None:
        """Redemptions through the service, each retried with its key until answered 200: the
        outage as an HTTP client sees it (503 database_unavailable, then 200 again)."""
        while not self.stop.is_set():
            user, key = next(self.users), "ha-http-" + secrets.token_hex(8)
            body = json.dumps({"user_id": user, "code": self.code, "idempotency_key": key})
            while True:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.http_port}/internal/promo/redeem",
                    data=body.encode(),
                    headers={"Authorization": f"Bearer {HTTP_TOKEN}",
                             "Content-Type": "application/json"},
                )  # fmt: skip
                asked = time.monotonic()
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http://127.0.0.1 above)
                        answer = json.load(response)
                        status, code = response.status, ""
                except urllib.error.HTTPError as exc:
                    status, code = exc.code, str(json.load(exc).get("code", ""))
                except OSError:
                    with self.lock:
                        self.http_errors.append(time.monotonic())
                    time.sleep(0.2)
                    continue
                with self.lock:
                    self.http_answers.append((asked, time.monotonic(), status, code))
                if status == 200:
                    break
                if status != 503:
                    raise AssertionError(f"HTTP redemption answered {status} {code}")
                time.sleep(0.2)
            if answer["promo_redemption_id"] is None:
                raise AssertionError(f"HTTP redemption refused: {answer['outcome']}")
            with self.lock:
                self.redeemed.append((user, key, int(answer["promo_redemption_id"])))
            time.sleep(PAUSE)

    def purchase(
        self, conn: list[psycopg.Connection[Row] | None], user: int, key: str, charge: str
    ) -> tuple[Row, Row]:
        """An invoice opened with `key` and paid with `charge`: (init answer, payment answer)."""
        invoice = self.call(
            conn, "SELECT * FROM api.init_purchase(%s, 'premium_30d', NULL, %s)", user, key
        )
        paid = self.call(
            conn,
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            user,
            invoice["invoice_payload"],
            charge,
            invoice["price_stars"],
        )
        return invoice, paid

    def buy(self) -> None:
        conn: list[psycopg.Connection[Row] | None] = [None]
        while not self.stop.is_set():
            user, key = next(self.users), "ha-init-" + secrets.token_hex(8)
            charge = "ha-charge-" + secrets.token_hex(8)
            invoice, paid = self.purchase(conn, user, key, charge)
            if paid["outcome"] != "PAID":
                raise AssertionError(f"payment not settled: {paid['outcome']}")
            with self.lock:
                self.paid.append(
                    (user, key, charge, int(invoice["price_stars"]), int(paid["purchase_id"]))
                )
            time.sleep(PAUSE)

    def run(self, task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:  # reported by the main thread
            self.failures.append(exc)
            self.stop.set()


# -- the run -------------------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        log(("ok   " if ok else "FAIL ") + what)
        if not ok:
            self.failed.append(what)


def _rows(url: str, query: str, *args: object) -> list[Row]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(query, args).fetchall()


def _last_runs(url: str) -> list[Row]:
    return _rows(
        url,
        "SELECT DISTINCT ON (j.jobname) j.jobname, d.status, d.start_time"
        " FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)"
        " ORDER BY j.jobname, d.start_time DESC",
    )


def _show(title: str, rows: list[Row]) -> None:
    log(title)
    for row in rows:
        log("    " + "  ".join(f"{k}={v}" for k, v in row.items()))


def _wait_for(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(1)


def _succeeded_since(url: str, job: str, since: datetime) -> bool:
    rows = _rows(
        url,
        "SELECT 1 FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)"
        " WHERE j.jobname = %s AND d.status = 'succeeded' AND d.end_time > %s",
        job,
        since,
    )
    return bool(rows)


def _wait_for_runs(cron: str, what: str, since: datetime) -> None:
    """Until the watched job and the heartbeat both succeeded after `since`."""
    watched = f"{DATABASE}:expire_promo_reservations"
    _wait_for(
        what,
        lambda: _succeeded_since(cron, watched, since) and _succeeded_since(cron, HEARTBEAT, since),
        timeout=90,
    )


def prepare(cluster: HaCluster) -> tuple[str, str]:
    """The app database on the cluster, migrated, jobs installed; returns (app URL, code)."""
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        conn.execute(f"CREATE DATABASE {DATABASE}")
        # Which node ran pg_cron's job each minute: the port of the server it ran on.
        conn.execute(
            "CREATE TABLE public.ha_beats (at timestamptz NOT NULL DEFAULT now(), port int)"
        )
        conn.execute(
            "SELECT cron.schedule(%s, '* * * * *',"
            " 'INSERT INTO public.ha_beats (port) VALUES (current_setting(''port'')::int)')",
            (HEARTBEAT,),
        )
    admin = cluster.url()
    migrate(admin)
    roles = login_role_urls(admin)
    # An admin URL naming every node: the history link (postgres_fdw) then reads pg_cron's
    # tables on whichever node answers, before and after a failover.
    for line in jobs.install(admin):
        log("jobs: " + line)
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        # This run calls the health check itself, at the moments that matter.
        jobs._unschedule(conn, f"{DATABASE}:check_job_health")
    code = "HA" + secrets.token_hex(6).upper()
    with psycopg.connect(admin, autocommit=True, options=f"-c promo.pepper={PEPPER}") as conn:
        conn.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'ha', p_grant_days => 30,"
            " p_max_uses => 100000)",
            (code,),
        )
        # A job that missed one run is stale: the minute the failover costs shows.
        conn.execute(
            "SELECT * FROM api.set_setting('jobs.stale_after_intervals', '1', 'test-ha',"
            " 'a failover that costs a minute of pg_cron shows')"
        )
    return roles["starpass_app"], code


def run(cluster: HaCluster) -> list[str]:
    checks = Checks()
    started = time.monotonic()
    cluster.start()
    cluster.wait(_healthy, "a leader, a synchronous standby and a replica")
    log(f"cluster up in {time.monotonic() - started:.1f} s: {_members_line(cluster)}")
    app_url, code = prepare(cluster)
    admin = cluster.url()
    cron = cluster.url("postgres")
    load = Load(app_url, code, http_port=_serve(app_url))
    threads = [
        threading.Thread(target=load.run, args=(task,), daemon=True)
        for task in (*(load.redeem, load.redeem, load.buy, load.buy)[:CLIENTS], load.redeem_http)
    ]
    for thread in threads:
        thread.start()
    setup_done = _rows(cron, "SELECT now() AS now")[0]["now"]
    _wait_for_runs(cron, "pg_cron's first runs on the primary", setup_done)
    while time.gmtime().tm_sec < KILL_AT_SECOND:
        time.sleep(0.5)
    if load.failures:
        raise load.failures[0]
    old = cluster.leader()
    _show("last pg_cron runs before the failover:", _last_runs(cron))
    members = cluster.members()
    sync = next(m["name"] for m in members if m["role"] == "sync_standby")
    log(f"{_members_line(cluster)}; killing {old.name} (kill -9 patroni, then its postmaster)")
    with load.lock:
        acked_before = len(load.redeemed) + len(load.paid)
    postmaster = old.postmaster_pid()
    assert old.process is not None and postmaster is not None
    killed_at = time.monotonic()
    killed_wall = datetime.now(UTC)
    os.kill(old.process.pid, signal.SIGKILL)
    os.kill(postmaster, signal.SIGKILL)
    old.process.wait()
    _wait_for("the old postmaster gone", lambda: not _alive(postmaster), timeout=30)
    # An answer to a call asked before the kill may arrive after it: only calls asked once the
    # old primary is gone show the new one serving.
    dead_at = time.monotonic()

    _wait_for(
        "a write on the new primary",
        lambda: any(asked > dead_at for asked, _ in list(load.successes)),
        timeout=120,
    )
    served_at = min(answered for asked, answered in list(load.successes) if asked > dead_at)
    outage = served_at - killed_at
    health_raised = _rows(admin, "SELECT api.check_job_health() AS n")[0]["n"]
    new = cluster.leader()
    log(f"new primary {new.name} serves writes {outage:.1f} s after the kill")
    time.sleep(AFTER_FAILOVER)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=60)
    if load.failures:
        raise load.failures[0]
    errors = [e for e in load.errors if e[0] >= killed_at]
    last_error = max((e[0] for e in errors), default=killed_at)
    log(
        f"load: {len(load.redeemed)} redemptions and {len(load.paid)} payments answered"
        f" ({acked_before} before the kill); {len(errors)} connection errors, the last"
        f" {last_error - killed_at:.1f} s after the kill"
    )
    http_after = [a for a in load.http_answers if a[0] >= dead_at]
    unavailable = [a for a in http_after if a[2] == 503]
    http_back = min((a[1] for a in http_after if a[2] == 200), default=None)
    http_outage = (http_back - killed_at) if http_back is not None else float("nan")
    log(
        f"HTTP: {len(load.http_answers)} answers, {len(unavailable)} of them 503 after the kill"
        f" (codes {sorted({a[3] for a in unavailable})}), {len(load.http_errors)} without an"
        f" answer; the first 200 {http_outage:.1f} s after the kill"
    )
    checks.expect(
        http_back is not None
        and {a[3] for a in unavailable} <= {"database_unavailable", "overloaded"},
        "HTTP through `starpass serve`: only 503 (database_unavailable, overloaded) during the"
        " outage, then 200 again without a restart",
    )
    checks.expect(new.name == sync, f"the synchronous standby ({sync}) was promoted ({new.name})")
    checks.expect(new is not old, "a new primary")

    # Zero lost: every answered redemption and payment is on the new primary.
    redemption_ids = [r[2] for r in load.redeemed]
    found = _rows(
        admin,
        "SELECT count(*) AS n FROM promo.promo_redemptions WHERE promo_redemption_id = ANY(%s)",
        redemption_ids,
    )[0]["n"]
    checks.expect(
        found == len(redemption_ids),
        f"redemptions: {len(redemption_ids)} acknowledged, {found} found",
    )
    charges = [p[2] for p in load.paid]
    found = _rows(
        admin,
        "SELECT count(*) AS n FROM billing.payments"
        " WHERE telegram_payment_charge_id = ANY(%s) AND outcome = 'PAID'",
        charges,
    )[0]["n"]
    checks.expect(found == len(charges), f"payments: {len(charges)} acknowledged, {found} found")

    # Nothing double-applied: each user was credited 30 days once, however often its calls
    # were retried; replaying every call with its key answers the same and books nothing.
    users = [r[0] for r in load.redeemed] + [p[0] for p in load.paid]
    wrong = _rows(
        admin,
        "SELECT u.user_id, coalesce(sum(l.premium_days_delta), 0) AS days"
        " FROM unnest(%s::bigint[]) AS u (user_id)"
        " LEFT JOIN billing.ledger AS l USING (user_id) GROUP BY u.user_id"
        " HAVING coalesce(sum(l.premium_days_delta), 0) <> 30",
        users,
    )
    checks.expect(
        not wrong, f"each of {len(users)} users credited 30 days exactly once {wrong[:3]}"
    )
    ledger_before = _rows(admin, "SELECT count(*) AS n FROM billing.ledger")[0]["n"]
    replays = _replay(load)
    ledger_after = _rows(admin, "SELECT count(*) AS n FROM billing.ledger")[0]["n"]
    checks.expect(
        replays == (True, True) and ledger_after == ledger_before,
        f"replaying {len(users)} operations with their keys: same answers {replays},"
        f" ledger rows {ledger_before} -> {ledger_after}",
    )
    violations = _rows(admin, "SELECT * FROM api.check_invariants()")
    checks.expect(not violations, f"api.check_invariants() empty {violations[:3]}")

    # pg_cron: the missed minute is noticed, the jobs run on the new primary, and the alert
    # resolves once they succeed again.
    stale = _rows(
        admin,
        "SELECT details->>'job' AS job FROM ops.alert_outbox"
        " WHERE event = 'jobs.stale' AND action = 'trigger'",
    )
    checks.expect(
        "expire_promo_reservations" in {r["job"] for r in stale},
        f"api.check_job_health() on the new primary raised jobs.stale ({health_raised} raised:"
        f" {sorted(r['job'] for r in stale)})",
    )
    _wait_for_runs(cron, "pg_cron's runs on the new primary", killed_wall)
    _show("last pg_cron runs after the failover:", _last_runs(cron))
    _rows(admin, "SELECT api.check_job_health() AS n")
    resolved = _rows(
        admin,
        "SELECT count(*) AS n FROM ops.alert_outbox WHERE event = 'jobs.stale'"
        " AND action = 'resolve' AND details->>'job' = 'expire_promo_reservations'",
    )[0]["n"]
    checks.expect(resolved == 1, "jobs.stale resolved once the job succeeded on the new primary")
    beats = _rows(cron, "SELECT at, port FROM public.ha_beats ORDER BY at")
    _show("pg_cron heartbeat (the port of the node that ran it):", beats)
    before = {b["port"] for b in beats if b["at"] < killed_wall}
    after = {b["port"] for b in beats if b["at"] > killed_wall}
    per_minute = _rows(
        cron,
        "SELECT date_trunc('minute', at) AS minute, count(*) AS n FROM public.ha_beats"
        " GROUP BY 1 HAVING count(*) > 1",
    )
    checks.expect(
        before == {old.pg_port} and after == {new.pg_port} and not per_minute,
        f"pg_cron ran once a minute on the primary only: ports {before} before"
        f" ({old.name}={old.pg_port}), {after} after ({new.name}={new.pg_port})",
    )
    log(
        f"figures: outage {outage:.1f} s (kill -9 to the first committed write), HTTP"
        f" {http_outage:.1f} s (kill -9 to the first 200; {len(unavailable)} answers 503),"
        f" last client error {last_error - killed_at:.1f} s after the kill,"
        f" whole run {time.monotonic() - started:.0f} s"
    )
    return checks.failed


def _serve(app_url: str) -> int:
    """`starpass serve` on the cluster's multi-host URL (target_session_attrs=read-write);
    returns its port once /readyz answers. main() stops it."""
    port = _free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "serve", "--port", str(port)],
        env={
            **os.environ,
            "DATABASE_URL": app_url,
            "PROMO_SECRET_PEPPER": PEPPER,
            "INTERNAL_API_TOKENS_JSON": json.dumps(
                [{"name": "ha", "token": HTTP_TOKEN, "scopes": ["promo:redeem"]}]
            ),
            "STARPASS_LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    SERVICES.append(service)
    _wait_for("starpass serve ready", lambda: _ready(port), timeout=60)
    return port


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _replay(load: Load) -> tuple[bool, bool]:
    """Every answered operation again with its idempotency key: the same ids, replayed."""
    conn: list[psycopg.Connection[Row] | None] = [None]
    redeems_same = all(
        (
            row := load.call(
                conn, "SELECT * FROM api.redeem_promo_code(%s, %s, %s)", user, load.code, key
            )
        )["replayed"]
        and row["promo_redemption_id"] == rid
        for user, key, rid in load.redeemed
    )
    payments_same = True
    for user, key, charge, price, purchase in load.paid:
        invoice, paid = load.purchase(conn, user, key, charge)
        payments_same &= bool(
            invoice["replayed"]
            and invoice["price_stars"] == price
            and paid["replayed"]
            and paid["purchase_id"] == purchase
        )
    if conn[0] is not None:
        conn[0].close()
    return redeems_same, payments_same


def _members_line(cluster: HaCluster) -> str:
    return ", ".join(f"{m['name']} {m['role']}" for m in cluster.members())


def main() -> int:
    missing = [tool for tool in ("patroni", "etcd") if shutil.which(tool) is None]
    if missing:
        print(f"test-ha: {', '.join(missing)} not found (scripts/setup.sh --ha installs them)")
        return 1
    # Stopped by make (SIGTERM) or Ctrl-C, even as a background job: the cluster is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = Settings()
    cluster = HaCluster(Path(tempfile.mkdtemp(prefix="sp-ha-")), settings.starpass_pg_bindir)
    try:
        failed = run(cluster)
    except BaseException:
        log(f"test-ha aborted; patroni logs were in {cluster.base} (removed)")
        for node in cluster.nodes:
            tail = node.directory / "patroni.log"
            if tail.exists():
                print(
                    f"--- {node.name} patroni.log (tail)\n"
                    + tail.read_text(errors="replace")[-3000:]
                )
        raise
    finally:
        for service in SERVICES:
            service.terminate()
            service.wait(30)
        cluster.destroy()
    if failed:
        log(f"test-ha FAILED: {len(failed)} checks")
        return 1
    log("test-ha passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
