"""A project-local PostgreSQL 15 cluster: the embedded database of `make run` and of the tests.

initdb and postgres refuse to run as root; as root the cluster runs as the `postgres` system
user. Unix socket paths are limited to about 100 bytes, so the socket lives in a short
directory under /tmp named after a hash of the data directory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.config import Settings

SUPERUSER = "postgres"
APP_DATABASE = "starpass"
APP_ROLE = "starpass_app"
ADMIN_ROLE = "starpass_admin"
JOBS_ROLE = "starpass_jobs"
ALERTS_ROLE = "starpass_alerts"
# One login role per surface (db/bootstrap.sql creates them, db/grants.sql says what each runs).
LOGIN_ROLES = (APP_ROLE, ADMIN_ROLE, JOBS_ROLE, ALERTS_ROLE)
SERVICE_USER = "postgres"


class ClusterError(RuntimeError):
    pass


def build_url(user: str, database: str, host: str, port: int, password: str | None = None) -> str:
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    query = urlencode({"host": host, "port": port}, safe="/")
    return f"postgresql://{auth}@/{quote(database, safe='')}?{query}"


@dataclass
class Cluster:
    base_dir: Path
    port: int
    bindir: Path
    listen_tcp: bool = True
    durable: bool = True
    # Server settings over the defaults below (e.g. a benchmark's shared_preload_libraries).
    extra_config: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_project(cls, settings: Settings) -> Cluster:
        return cls(
            base_dir=_reachable_base_dir(settings.starpass_db_dir),
            port=settings.starpass_db_port,
            bindir=settings.starpass_pg_bindir,
        )

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    @property
    def credentials_file(self) -> Path:
        return self.base_dir / "credentials.json"

    @property
    def socket_dir(self) -> Path:
        digest = hashlib.sha256(str(self.base_dir.resolve()).encode()).hexdigest()[:12]
        return Path("/tmp") / f"starpass-{digest}"  # noqa: S108 - short on purpose, mode 0700

    # -- lifecycle ---------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        result = self._run_pg(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def init(self) -> bool:
        """Create the cluster once; returns whether it was created now."""
        if self.is_initialized():
            return False
        if not (self.bindir / "initdb").exists():
            raise ClusterError(
                f"{self.bindir}/initdb not found: install postgresql-15 "
                "(apt-get install -y postgresql-15 postgresql-15-cron postgresql-15-pgtap pgtap)"
            )
        self._make_private_dir(self.base_dir)
        passwords = {role: secrets.token_urlsafe(24) for role in (SUPERUSER, *LOGIN_ROLES)}
        _write_private(self.credentials_file, json.dumps(passwords, indent=2) + "\n")
        with tempfile.NamedTemporaryFile("w", dir=self.base_dir, delete=False) as pwfile:
            pwfile.write(passwords[SUPERUSER] + "\n")
        self._give_to_service_user(Path(pwfile.name))
        try:
            self._run_pg(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile.name}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    *([] if self.durable else ["--no-sync"]),
                ]
            )
        finally:
            os.unlink(pwfile.name)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'starpass.conf'\n")
        return True

    def start(self) -> bool:
        """Start the server when it is not running; returns whether it was started now."""
        if self.is_running():
            return False
        if self.listen_tcp and _port_in_use(self.port):
            raise ClusterError(self._port_hint())
        self._make_private_dir(self.socket_dir)
        conf = self.data_dir / "starpass.conf"
        conf.write_text(self._server_config())
        self._give_to_service_user(conf)
        result = self._run_pg(
            [
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
            ],
            check=False,
        )
        if result.returncode != 0:
            tail = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            hint = f"\n{self._port_hint()}" if "Address already in use" in tail else ""
            raise ClusterError(
                f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{tail}{hint}"
            )
        return True

    def _port_hint(self) -> str:
        return (
            f"port {self.port} on 127.0.0.1 is in use (another PostgreSQL, or a second checkout):"
            " set STARPASS_DB_PORT to a free port (in .env or the environment)"
        )

    def up(self) -> tuple[bool, bool]:
        """init and start: (created now, started now). A cluster created now that does not
        start is removed again, so the next `db up` starts afresh rather than from half a
        cluster (a start-up failure of an older cluster leaves it as it was)."""
        created = self.init()
        try:
            return created, self.start()
        except ClusterError:
            if created:
                self.stop(mode="immediate")
                shutil.rmtree(self.data_dir, ignore_errors=True)
                for path in (self.credentials_file, self.log_file):
                    path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.base_dir.rmdir()  # only when nothing else is in it
            raise

    def stop(self, mode: str = "fast") -> bool:
        if not self.is_running():
            return False
        self._run_pg(["pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data_dir)])
        return True

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def ensure_pg_cron(self) -> None:
        """pg_cron lives in `postgres`, where cron.database_name points (docs/jobs.md)."""
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
            # Only the app database is for the app: no logins into the maintenance databases.
            conn.execute("REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC")

    def ensure_app_database(self) -> bool:
        self.ensure_pg_cron()
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)
            ).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(APP_DATABASE)))
            return True

    def set_role_passwords(self) -> None:
        """Lets TCP clients on 127.0.0.1 log in as the login roles (socket logins are trusted).
        Each is set once: a second migrate changes nothing. A cluster made before a role existed
        gets that role's password added to credentials.json."""
        passwords = json.loads(self.credentials_file.read_text())
        missing = {role: secrets.token_urlsafe(24) for role in LOGIN_ROLES if role not in passwords}
        if missing:
            passwords.update(missing)
            _write_private(self.credentials_file, json.dumps(passwords, indent=2) + "\n")
        with psycopg.connect(self.url(SUPERUSER, "postgres"), autocommit=True) as conn:
            for role in LOGIN_ROLES:
                row = conn.execute(
                    "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = %s", (role,)
                ).fetchone()
                if row is None or row[0]:
                    continue
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(passwords[role])
                    )
                )

    # -- addresses ---------------------------------------------------------------------------

    def url(self, user: str = APP_ROLE, database: str = APP_DATABASE) -> str:
        return build_url(user, database, str(self.socket_dir), self.port)

    def admin_url(self, database: str = APP_DATABASE) -> str:
        return self.url(SUPERUSER, database)

    # -- internals ---------------------------------------------------------------------------

    def _server_config(self) -> str:
        lines = {
            "listen_addresses": "'127.0.0.1'" if self.listen_tcp else "''",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "shared_preload_libraries": "'pg_cron'",
            "cron.database_name": "'postgres'",
            "cron.use_background_workers": "on",
            "max_worker_processes": "32",
            "max_connections": "300",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            # A failed statement is not logged: a DBA's literal promo code would end up there.
            "log_min_error_statement": "panic",
            "log_parameter_max_length_on_error": "0",
            "log_timezone": "'UTC'",
            "timezone": "'UTC'",
        }
        if not self.durable:
            lines.update({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        lines.update(self.extra_config)
        body = "".join(f"{key} = {value}\n" for key, value in lines.items())
        return (
            "# Written by `starpass db up` on every start; edit app/db/cluster.py instead.\n" + body
        )

    def _service_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise ClusterError(
                f"running as root needs the '{SERVICE_USER}' system user to run PostgreSQL "
                "(it comes with the postgresql-15 package)"
            ) from None

    def _run_pg(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._service_user()
        command = [str(self.bindir / args[0]), *args[1:]]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd="/",
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
            check=False,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def _make_private_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Refuse a planted symlink or someone else's directory (the socket lives in /tmp).
        info = path.lstat()
        user = self._service_user()
        allowed_owners = {os.geteuid()} | ({user.pw_uid} if user else set())
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in allowed_owners:
            raise ClusterError(f"{path} exists but is not a directory of ours; remove it")
        path.chmod(0o700)
        self._give_to_service_user(path)

    def _give_to_service_user(self, path: Path) -> None:
        user = self._service_user()
        if user:
            os.chown(path, user.pw_uid, user.pw_gid)


def _port_in_use(port: int) -> bool:
    """Whether 127.0.0.1:port is taken, bound as PostgreSQL binds (SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _reachable_base_dir(preferred: Path) -> Path:
    """As root, PostgreSQL runs as `postgres`, which must be able to reach the data directory.

    A checkout under a private home directory (e.g. /root) is not reachable; then the cluster
    lives under /var/lib/starpass, in a directory named after the checkout so it stays stable.
    """
    if (
        os.geteuid() != 0
        or (preferred / "data" / "PG_VERSION").exists()
        or _traversable_by_service_user(preferred)
    ):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/starpass") / digest


def _traversable_by_service_user(path: Path) -> bool:
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return True  # Cluster._service_user reports the missing user with its own message.
    ancestor = path.resolve()
    while not ancestor.exists():
        ancestor = ancestor.parent
    result = subprocess.run(
        ["test", "-x", str(ancestor)],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
        check=False,
    )
    return result.returncode == 0


def app_url(settings: Settings) -> str:
    """Where the app connects as starpass_app: DATABASE_URL, else the embedded cluster."""
    return settings.database_url or Cluster.for_project(settings).url()


def role_url(settings: Settings, role: str) -> str:
    """Where a process part connects as its login role: the role's own URL setting, else
    DATABASE_URL with that user and without its password (libpq then reads ~/.pgpass or
    PGPASSFILE), else the embedded cluster."""
    if role == APP_ROLE:
        return app_url(settings)
    explicit = {
        ADMIN_ROLE: settings.starpass_admin_database_url,
        ALERTS_ROLE: settings.starpass_alerts_database_url,
    }.get(role)
    if explicit:
        return explicit
    if settings.database_url:
        params = {k: v for k, v in conninfo_to_dict(settings.database_url).items() if v is not None}
        params.pop("password", None)
        params["user"] = role
        return make_conninfo(**params)  # type: ignore[arg-type]
    return Cluster.for_project(settings).url(role)


def admin_url(settings: Settings) -> str:
    """Where migrations and DBAs connect: DATABASE_ADMIN_URL, DATABASE_URL, else embedded."""
    return (
        settings.database_admin_url
        or settings.database_url
        or Cluster.for_project(settings).admin_url()
    )


def libpq_environment(url: str) -> dict[str, str]:
    """PG* variables for a URL, so child processes get credentials without a command line."""
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "dbname": "PGDATABASE",
        "password": "PGPASSWORD",
        "sslmode": "PGSSLMODE",
        "options": "PGOPTIONS",
    }
    params = conninfo_to_dict(url)
    return {env: str(params[key]) for key, env in names.items() if params.get(key) is not None}
