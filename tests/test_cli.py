"""`starpass` as an operator meets it: version and help, psql's arguments, what a job run
counts and who ran it, a port in use, a database that is down, migrate's summary, migration
status, and the audit log from the command line and over HTTP."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from app.api.schemas import AuditPage
from app.cli.main import _parser, main
from app.config import PROJECT_ROOT, Settings
from app.db.cluster import APP_ROLE, Cluster
from app.db.migrate import DB_DIR, MigrationReport, migration_status
from tests.conftest import (
    PEPPER,
    ClientForSettings,
    Conn,
    _free_port,
    connect,
    run_starpass,
    service_settings,
)
from tests.harness import ScratchDatabase, drop_database, login_role_urls, with_database

ISO_UTC = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def _env(**values: str) -> dict[str, str]:
    """The environment of a command: ours without any database or pepper setting, plus these."""
    names = ("DATABASE_", "STARPASS_", "PROMO_SECRET_PEPPER", "INTERNAL_API_TOKENS_JSON")
    base = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return {**base, "PROMO_SECRET_PEPPER": PEPPER, **values}


def _on(database: ScratchDatabase, **values: str) -> dict[str, str]:
    return _env(
        DATABASE_URL=database.app_url,
        DATABASE_ADMIN_URL=database.admin_url,
        STARPASS_ADMIN_DATABASE_URL=database.staff_url,
        **values,
    )


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_version_and_every_option_has_help_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"starpass \d+\.\d+\.\d+\n", capsys.readouterr().out)
    checked = 0
    for parser in _parsers(_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, f"{parser.prog} {action.dest}: no help text"
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert f"(default: {action.default})" in " ".join(text.split()), (
                    f"{parser.prog} {action.option_strings[0]}: its default is not shown"
                )
                checked += 1
    assert checked >= 5  # --port, --host, --actor, --limit, --language at least


def test_db_psql_passes_psql_arguments_on(database: ScratchDatabase) -> None:
    env = _on(database)
    done = run_starpass("db", "psql", "-At", "-c", "select current_user", env=env)
    assert (done.returncode, done.stdout) == (0, "postgres\n"), done.stderr
    done = run_starpass("db", "psql", "--app", "-At", "-c", "select current_user", env=env)
    assert (done.returncode, done.stdout) == (0, "starpass_app\n"), done.stderr
    # After `--` everything is psql's, even what looks like ours.
    done = run_starpass("db", "psql", "--", "-At", "-c", "select '--app'", env=env)
    assert (done.returncode, done.stdout) == (0, "--app\n"), done.stderr
    done = run_starpass("db", "url", "-c", "x", env=env)
    assert done.returncode == 2 and "unrecognized arguments: -c x" in done.stderr


def test_a_database_that_is_down_is_named_the_same_way_by_every_command(tmp_path: Path) -> None:
    env = _env(STARPASS_DB_DIR=str(tmp_path / "pg"))  # the embedded cluster, never made
    for command in (
        ("jobs", "status"),
        ("jobs", "run", "expire_promo_reservations"),
        ("db", "psql", "-c", "select 1"),
        ("db", "migrate"),
        ("audit",),
    ):
        done = run_starpass(*command, env=env)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert done.stderr == "starpass: the database is not running: run `starpass db up`\n"
    # An external server that does not answer: one line naming where the URL comes from.
    env = _env(DATABASE_URL=f"postgresql://u@127.0.0.1:{_free_port()}/x?connect_timeout=3")
    done = run_starpass("jobs", "status", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "starpass: cannot reach the database (DATABASE_URL / DATABASE_ADMIN_URL): "
    )
    assert len(done.stderr.splitlines()) == 1


def test_serve_on_a_port_in_use_says_so_in_one_line(database: ScratchDatabase) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = str(_free_port())
        done = run_starpass(
            "serve", "--port", str(port), env=_on(database, STARPASS_SANDBOX_PORT=sandbox)
        )
        assert done.returncode == 1
        assert "Traceback" not in done.stderr and "server_listening" not in done.stderr
        assert done.stderr.splitlines()[-1] == (
            f"starpass: cannot listen on 127.0.0.1:{port}: the address is already in use"
            " (another `starpass serve`?); choose a free port with --port"
        )
        # The sandbox's port taken: the hint names its setting.
        done = run_starpass(
            "serve",
            "--port",
            str(_free_port()),
            env=_on(database, STARPASS_SANDBOX_PORT=str(port)),
        )
        assert done.returncode == 1 and "Traceback" not in done.stderr
        hint = "choose a free port with STARPASS_SANDBOX_PORT"
        assert done.stderr.splitlines()[-1].endswith(hint)


def test_db_up_on_a_port_in_use_names_the_setting_and_leaves_nothing(tmp_path: Path) -> None:
    wanted = tmp_path / "pg"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(STARPASS_DB_DIR=str(wanted), STARPASS_DB_PORT=str(port))
        # As root the cluster may live elsewhere (app/db/cluster.py); where it would have been.
        settings = Settings(_env_file=None, starpass_db_dir=wanted, starpass_db_port=port)
        base = Cluster.for_project(settings).base_dir
        try:
            done = run_starpass("db", "up", env=env)
        finally:
            if base.exists() and base != wanted:
                shutil.rmtree(base)
    assert done.returncode == 1, done.stdout
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    assert "set STARPASS_DB_PORT to a free port" in done.stderr
    assert not base.exists(), "the half-made cluster was removed"


def test_the_migrate_report_lists_a_deploy_and_counts_a_new_database() -> None:
    deploy = MigrationReport(migrations=["0031.x"], functions_changed=["api.f()", "api.g()"])
    assert deploy.lines() == [
        "migration applied: 0031.x",
        "function created or changed: api.f()",
        "function created or changed: api.g()",
        "done: 1 migrations, 2 functions applied, 0 unchanged",
    ]
    new = MigrationReport(
        bootstrap=[f"b{i}" for i in range(9)],
        migrations=[f"{i:04}.m" for i in range(1, 13)],
        functions_changed=[f"api.f{i}()" for i in range(63)],
    )
    assert new.lines() == [
        "bootstrap changes: 9 (--verbose lists them)",
        "migrations applied: 12 (0001.m to 0012.m) (--verbose lists them)",
        "functions created or changed: 63 (--verbose lists them)",
        "done: 12 migrations, 63 functions applied, 0 unchanged",
    ]
    assert len(new.lines(verbose=True)) == 9 + 12 + 63 + 1


@pytest.fixture
def empty_database(pg_server: str) -> Iterator[str]:
    """A database with nothing in it (not migrated); its admin URL."""
    name = f"starpass_test_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(pg_server, name)
    drop_database(pg_server, name)


def test_migrate_on_an_empty_database_prints_a_summary_and_status_the_migrations(
    empty_database: str, tmp_path: Path
) -> None:
    env = _env(DATABASE_URL=empty_database)
    files = sorted(p.stem for p in (DB_DIR / "migrations").glob("*.sql"))
    done = run_starpass("db", "status", env=env)
    assert done.returncode == 0, done.stderr
    assert f"migrations: 0 applied, {len(files)} pending" in done.stdout
    done = run_starpass("db", "migrate", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) <= 6, done.stdout
    assert re.search(rf"^done: {len(files)} migrations, \d+ functions applied", done.stdout, re.M)
    done = run_starpass("db", "status", "--verbose", env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(
        rf"migrations: {len(files)} applied, last {files[-1]} at {ISO_UTC}, 0 pending", done.stdout
    )
    assert len(re.findall(rf"^  applied {ISO_UTC}  \S+$", done.stdout, re.M)) == len(files)
    # A new file on disk is pending until migrate applies it.
    source = tmp_path / "db"
    shutil.copytree(DB_DIR, source)
    (source / "migrations" / "9999.next.sql").write_text("-- depends:\nSELECT 1;\n")
    state = migration_status(empty_database, source)
    assert state.pending == ["9999.next"] and state.unknown == []
    (source / "migrations" / f"{files[-1]}.sql").unlink()
    assert migration_status(empty_database, source).unknown == [files[-1]]
    # As the app's role (DATABASE_URL alone on a managed server) the bookkeeping is not readable.
    app_url = login_role_urls(empty_database)[APP_ROLE]
    done = run_starpass("db", "status", env=_env(DATABASE_URL=app_url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "migrations: not readable with this URL (set DATABASE_ADMIN_URL)" in done.stdout


def _refunded_discount(database: ScratchDatabase, admin: Conn) -> int:
    """A discounted purchase, paid and refunded: the rollback job has one redemption to revoke."""
    code = "CLI" + secrets.token_hex(6).upper()
    admin.execute(
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'cli test',"
        " p_discount_percent => 10, p_max_uses => 5)",
        (code,),
    )
    user = 7 * 10**12 + secrets.randbelow(10**9)
    with connect(database.app_url) as app:
        row = app.execute(
            "SELECT promo_redemption_id FROM api.redeem_promo_code(%s, %s, %s)",
            (user, code, "cli-" + secrets.token_hex(6)),
        ).fetchone()
        assert row is not None
        invoice = app.execute(
            "SELECT * FROM api.init_purchase(%s, 'premium_30d', %s, %s)",
            (user, row["promo_redemption_id"], "cli-i-" + secrets.token_hex(6)),
        ).fetchone()
        assert invoice is not None
        charge = "cli-charge-" + secrets.token_hex(6)
        app.execute(
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            (user, invoice["invoice_payload"], charge, invoice["price_stars"]),
        )
        app.execute("SELECT * FROM api.mark_purchase_refunded(%s, 'support', 'asked')", (charge,))
    return int(str(row["promo_redemption_id"]))


def test_a_job_run_by_hand_says_what_it_counted_and_is_the_operators(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    database = new_database()
    with connect(database.admin_url) as admin:
        redemption = _refunded_discount(database, admin)
    env = _on(database)
    # The pg_cron name works as well as the bare one.
    done = run_starpass(
        "jobs", "run", f"{database.name}:run_refund_promo_rollback", "--actor", "ops:tess", env=env
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        rf"run_refund_promo_rollback: 1 promo redemption of a refunded purchase revoked"
        rf" \(run by ops:tess at {ISO_UTC}, \d+ ms\)\n",
        done.stdout,
    )
    done = run_starpass("jobs", "run", "expire_promo_reservations", "--json", env=env)
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout)
    assert ran["actor"].startswith("ops:") and ran["count"] == 0
    assert (ran["job"], ran["unit"]) == ("expire_promo_reservations", "promo reservations expired")
    with connect(database.admin_url) as admin:
        audited = admin.execute(
            "SELECT actor, action, target_id FROM ops.audit_log"
            " WHERE action IN ('promo.redemption_revoked', 'ops.job_run') ORDER BY audit_id"
        ).fetchall()
    assert audited == [
        {"actor": "ops:tess", "action": "promo.redemption_revoked", "target_id": str(redemption)},
        {"actor": "ops:tess", "action": "ops.job_run", "target_id": "run_refund_promo_rollback"},
        {"actor": ran["actor"], "action": "ops.job_run", "target_id": "expire_promo_reservations"},
    ]
    done = run_starpass("jobs", "status", env=env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert re.search(
        rf"^run_refund_promo_rollback +not scheduled +{ISO_UTC} +succeeded +\d+ ms +ops:tess$",
        rows["run_refund_promo_rollback"],
    )
    assert rows["rollover_promo_campaigns"].split()[-4:] == ["never", "-", "-", "-"]
    done = run_starpass("jobs", "run", "no_such_job", env=env)
    assert done.returncode == 1 and "unknown job 'no_such_job'; jobs: " in done.stderr


def _write_audit(admin: Conn, actor: str, at: str, n: int) -> None:
    admin.execute("UPDATE ops.clock SET frozen_at = %s", (at,))
    for i in range(n):
        admin.execute(
            "SELECT ops.write_audit(%s, 'ops.setting_changed', 'setting', %s, 'cli test')",
            (actor, f"setting.{i}"),
        )


def test_starpass_audit_filters_and_pages(database: ScratchDatabase, admin_conn: Conn) -> None:
    actor = "ops:cli-" + secrets.token_hex(4)
    _write_audit(admin_conn, actor, "2032-02-01T10:00:00Z", 3)
    env = _on(database)
    args = ("audit", "--actor", actor, "--since", "2032-02-01T00:00:00+00:00", "--limit", "2")
    done = run_starpass(*args, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["time", "(UTC)", "actor", "action", "target", "reason"]
    assert [line.split()[4] for line in lines[1:]] == ["setting.2", "setting.1"]
    assert lines[1].startswith("2032-02-01T10:00:00Z  " + actor)
    cursor = re.fullmatch(r"more: --cursor (\S+)\n", done.stderr)
    assert cursor, done.stderr
    done = run_starpass(*args, "--cursor", cursor.group(1), "--json", env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["target_id"], r["occurred_at"], r["db_role"]) for r in rows] == [
        ("setting.0", "2032-02-01T10:00:00Z", "postgres")
    ]
    assert done.stderr == "", "a short page is the last"
    done = run_starpass("audit", "--cursor", "nonsense", env=env)
    assert done.returncode == 1 and "invalid cursor" in done.stderr
    done = run_starpass("audit", "--since", "2032-02-01 10:00", env=env)
    assert done.returncode == 2 and "ISO 8601 timestamp with an offset" in done.stderr


AUDITOR = "u" * 40
PROMO_ADMIN = "p" * 40


async def test_get_internal_audit_needs_its_scope_and_pages(
    database: ScratchDatabase, admin_conn: Conn, client_for_settings: ClientForSettings
) -> None:
    actor = "ops:http-" + secrets.token_hex(4)
    _write_audit(admin_conn, actor, "2032-03-01T10:00:00Z", 3)
    tokens = [
        {"name": "auditor", "token": AUDITOR, "scopes": ["audit:read"]},
        {"name": "ops-console", "token": PROMO_ADMIN, "scopes": ["promo:admin"]},
    ]
    client = await client_for_settings(
        service_settings(database, internal_api_tokens_json=json.dumps(tokens))
    )
    url = f"/internal/audit?actor={actor}&limit=2"
    assert (await client.get(url)).status == 401
    refused = await client.get(url, headers={"Authorization": f"Bearer {PROMO_ADMIN}"})
    assert refused.status == 403, "promo:admin does not read the audit log"
    auth = {"Authorization": f"Bearer {AUDITOR}"}
    first = await client.get(url, headers=auth)
    assert first.status == 200, await first.text()
    page = AuditPage.model_validate(await first.json())
    assert [item.target_id for item in page.items] == ["setting.2", "setting.1"]
    assert page.items[0].db_role == "postgres" and page.items[0].details == {}
    assert page.next_cursor is not None
    second = await client.get(url + f"&cursor={page.next_cursor}", headers=auth)
    last = AuditPage.model_validate(await second.json())
    assert ([i.target_id for i in last.items], last.next_cursor) == (["setting.0"], None)
    ranged = await client.get(
        f"/internal/audit?actor={actor}&since=2032-03-01T10:00:00Z&until=2032-03-01T10:00:01Z",
        headers=auth,
    )
    assert len((await ranged.json())["items"]) == 3
    for query, code in (
        ("cursor=nonsense", "invalid_cursor"),
        ("since=2032-03-01T10:00:00", "invalid_query"),  # no offset
        ("since=2032-03-02T00:00:00Z&until=2032-03-01T00:00:00Z", "invalid_argument"),
        ("limit=501", "invalid_argument"),
        ("limit=-1", "invalid_query"),
        ("target_id=1", "invalid_argument"),  # without its type
        ("page=2", "invalid_query"),
    ):
        response = await client.get(f"/internal/audit?{query}", headers=auth)
        assert (response.status, (await response.json())["code"]) == (422, code), query


def test_setup_shows_pip_progress_and_is_quiet_when_set_up(tmp_path: Path) -> None:
    """scripts/setup.sh in a copy whose .venv tools are stand-ins: pip prints as pip does."""
    shutil.copytree(PROJECT_ROOT / "scripts", tmp_path / "scripts")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    stand_ins = {
        "pip": "exit 0",
        "pybabel": "exit 0",
        "python": (
            'if [ "$2" = pip ]; then printf "%s\\n" "Collecting aiohttp==3.9.5"'
            ' "  Downloading aiohttp.whl (1.2 MB)" "Collecting psycopg==3.1.19"'
            ' "Installing collected packages: psycopg, aiohttp"'
            ' "Successfully installed aiohttp-3.9.5 psycopg-3.1.19"; exit 0; fi\n'
            'echo "PROMO_SECRET_PEPPER=stand-in"'
        ),
    }
    for name, body in stand_ins.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def setup() -> str:
        done = subprocess.run(
            ["bash", "scripts/setup.sh"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = setup()
    assert "setup:   fetching aiohttp==3.9.5\nsetup:   fetching psycopg==3.1.19\n" in first
    assert "setup:   installing them\nsetup:   installed 2 packages\nsetup: .venv ready\n" in first
    assert "Downloading" not in first
    assert setup() == "", "a second run has nothing to do and says nothing"
