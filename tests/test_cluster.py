"""The embedded cluster's addressing, and running it as root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg

from app.config import Settings
from app.db.cluster import Cluster, _reachable_base_dir
from app.libpq import libpq_option
from tests.harness import ScratchDatabase, throwaway_cluster


def test_socket_path_stays_short_for_deep_checkouts(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 12)
    cluster = Cluster(base_dir=deep, port=65000, bindir=Path("/usr/lib/postgresql/15/bin"))
    socket_file = cluster.socket_dir / f".s.PGSQL.{cluster.port}"
    assert len(str(deep)) > 300
    assert len(str(socket_file)) < 100


def test_socket_dir_depends_on_the_cluster(tmp_path: Path) -> None:
    one = Cluster(base_dir=tmp_path / "one", port=5432, bindir=Path("/x"))
    two = Cluster(base_dir=tmp_path / "two", port=5432, bindir=Path("/x"))
    assert one.socket_dir != two.socket_dir


def test_private_home_checkout_falls_back_when_root(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    preferred = private / "checkout" / "var" / "pg"
    chosen = _reachable_base_dir(preferred)
    if os.geteuid() == 0:
        # As root the server runs as `postgres`, which cannot enter a 0700 root directory.
        assert chosen.parent == Path("/var/lib/starpass")
    else:
        assert chosen == preferred


def test_cluster_lifecycle_and_privacy() -> None:
    cluster = throwaway_cluster(Settings(_env_file=None))
    try:
        assert cluster.init() is True
        assert cluster.init() is False, "init is idempotent"
        assert cluster.start() is True
        assert cluster.start() is False, "start is idempotent"
        assert stat.S_IMODE(cluster.socket_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(cluster.credentials_file.stat().st_mode) == 0o600
        with psycopg.connect(cluster.admin_url("postgres")) as conn:
            row = conn.execute(
                "SELECT current_setting('shared_preload_libraries'),"
                " current_setting('cron.use_background_workers')"
            ).fetchone()
        assert row == ("pg_cron", "on")
        assert cluster.stop() is True
        assert cluster.is_running() is False
    finally:
        cluster.destroy()
    assert not cluster.base_dir.exists()


def test_pepper_with_spaces_survives_the_startup_options(database: ScratchDatabase) -> None:
    pepper = "a pepper with spaces \\ and a backslash, long enough"
    with psycopg.connect(database.app_url, options=libpq_option("promo.pepper", pepper)) as conn:
        row = conn.execute("SELECT current_setting('promo.pepper')").fetchone()
    assert row == (pepper,)
