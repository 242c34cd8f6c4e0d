"""A PgBouncer in transaction mode in front of the test server (Debian's `pgbouncer` 1.18).

`PgBouncer(server_url, passwords)` writes its configuration into a temporary directory,
listens on a free port of 127.0.0.1, authenticates clients with SCRAM against the login
roles' passwords (the same ones the server knows, so it logs in to the server with them
too) and passes every database name through to the server. As root it runs as the
`postgres` system user, as the cluster does (PgBouncer refuses root, and the cluster's
socket directory is that user's). `url(direct_url)` is the same login through the pooler.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from psycopg.conninfo import conninfo_to_dict, make_conninfo

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
START_TIMEOUT_SECONDS = 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncer:
    def __init__(self, server_url: str, passwords: dict[str, str], pool_size: int = 20) -> None:
        server = conninfo_to_dict(server_url)
        self.server_host = str(server.get("host") or "/var/run/postgresql")
        self.server_port = int(server.get("port") or 5432)
        self.passwords = dict(passwords)
        self.pool_size = pool_size
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="starpass-pgbouncer-"))
        self.log_file = self.dir / "pgbouncer.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        server = f"host={self.server_host} port={self.server_port}"
        return (
            "[databases]\n"
            f"* = {server}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {self.dir / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "min_pool_size = 0\n"
            "reserve_pool_size = 0\n"
            "max_client_conn = 4000\n"
            "max_db_connections = 0\n"
            # A client waits this long for a server connection before PgBouncer gives up.
            "query_wait_timeout = 30\n"
            "server_check_delay = 1\n"
            f"logfile = {self.log_file}\n"
            f"pidfile = {self.dir / 'pgbouncer.pid'}\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
            "log_pooler_errors = 1\n"
        )

    def start(self) -> PgBouncer:
        (self.dir / "pgbouncer.ini").write_text(self._config())
        users = "".join(f"{_quote(u)} {_quote(p)}\n" for u, p in self.passwords.items())
        userlist = self.dir / "userlist.txt"
        userlist.write_text(users)
        userlist.chmod(0o600)
        user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if user:
            for path in (self.dir, userlist, self.dir / "pgbouncer.ini"):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._process = subprocess.Popen(
            [PGBOUNCER, "-q", str(self.dir / "pgbouncer.ini")],
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
        self.stop()
        raise RuntimeError(f"pgbouncer did not start:\n{log}")

    def url(self, direct_url: str) -> str:
        """The same login (user, password, database) through the pooler."""
        params = conninfo_to_dict(direct_url)
        return make_conninfo(
            "",
            host="127.0.0.1",
            port=str(self.port),
            dbname=params.get("dbname"),
            user=params.get("user"),
            password=params.get("password") or self.passwords.get(str(params.get("user"))),
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
