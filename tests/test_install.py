"""A non-editable install works: the wheel built from this tree carries its SQL files, and its
`starpass` migrates an empty database and serves against DATABASE_URL, away from the checkout."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from app.config import PROJECT_ROOT
from tests.conftest import PEPPER, _free_port
from tests.harness import drop_database, login_role_urls, with_database

# What a fresh clone has, plus the compiled catalogs set-up made: no venv, caches or local state.
_NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "var", ".env", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def _wheel_venv(tmp_path: Path) -> Path:
    """A venv with only the wheel installed; its dependencies come from the project's venv."""
    source = tmp_path / "src"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=_NOT_SHIPPED)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("starpass-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # Appended to sys.path without running that directory's .pth files, so the editable
    # install of the checkout stays out: `app` is the wheel's.
    deps = sysconfig.get_paths()["purelib"]
    Path(purelib.stdout.strip(), "project-deps.pth").write_text(deps + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    return venv


def test_the_wheel_migrates_and_serves_against_database_url(pg_server: str, tmp_path: Path) -> None:
    venv = _wheel_venv(tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "STARPASS_", "PROMO_", "INTERNAL_", "TELEGRAM_", "PG"))
    }
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"

    where = _run(
        venv / "bin" / "python",
        "-c",
        "import app.config, app.db.migrate as m; print(m.DB_DIR); print(app.config.PROJECT_ROOT)",
        env=env,
        cwd=workdir,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(venv), f"SQL files from {where[0]}, not the wheel"
    assert (Path(where[0]) / "functions" / "api" / "redeem_promo_code.sql").is_file()
    assert not (Path(where[0]) / "tests").exists(), "the pgTAP tests are not shipped"
    assert Path(where[1]) == workdir, "outside a checkout, .env and var/ are the working dir's"

    name = f"starpass_wheel_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin_url = with_database(pg_server, name)
    try:
        migrated = _run(
            venv / "bin" / "starpass",
            "db",
            "migrate",
            env={**env, "DATABASE_URL": admin_url},
            cwd=workdir,
            timeout=180,
        )
        assert "migrations applied: " in migrated.stdout and "(0001.schemas to " in migrated.stdout
        assert "functions applied" in migrated.stdout

        roles = login_role_urls(admin_url)
        port = _free_port()
        serve_env = {
            **env,
            "DATABASE_URL": roles["starpass_app"],
            "STARPASS_ADMIN_DATABASE_URL": roles["starpass_admin"],
            "PROMO_SECRET_PEPPER": PEPPER,
            "STARPASS_SANDBOX_PORT": str(_free_port()),
        }
        server = subprocess.Popen(
            [venv / "bin" / "starpass", "serve", "--port", str(port)],
            env=serve_env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            status = _wait_ready(f"http://127.0.0.1:{port}/readyz", server)
        finally:
            server.terminate()
            _, stderr = server.communicate(timeout=30)
        assert status == 200, stderr
    finally:
        drop_database(pg_server, name)
    assert not list(workdir.iterdir()), "nothing written into the working directory"


def _wait_ready(url: str, server: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 30
    status = 0
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
                return int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            pass
        time.sleep(0.2)
    return status
