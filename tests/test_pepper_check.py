"""A wrong PROMO_SECRET_PEPPER is detected: `starpass serve` refuses to start and /readyz
fails while it matches no live campaign; the right or the previous pepper is ready."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator

import psycopg
import pytest
from aiohttp import web
from pydantic import SecretStr

from app.api import server
from app.api.health import PEPPER_STATE
from app.cli.main import main
from app.config import PROJECT_ROOT, Settings, get_settings
from app.db.pepper import check_at_start
from app.libpq import libpq_option
from tests.conftest import ClientForSettings, _free_port, leaks, run_starpass, service_settings
from tests.harness import ScratchDatabase, create_database, drop_database

PEPPER_A = "Vx8q2Lm9Zt4Rk7Wp3Nc6Hb1Jd5Ag0SeYa7"
PEPPER_B = "Qy7s3Gf8Ue2Oa9Xi4Mw6Tl1Kr5Dz0VbHc4"
PEPPER_C = "Bn5d8Ej2Ys7Ph4Zc9Fv3Wq6Lx1Rt0MkGp2"


def _settings(database: ScratchDatabase, pepper: str, previous: str | None = None) -> Settings:
    return service_settings(
        database,
        promo_secret_pepper=SecretStr(pepper),
        promo_secret_pepper_previous=SecretStr(previous) if previous else None,
        starpass_db_pool_min=1,
    )


def _create_campaign(
    database: ScratchDatabase, code: str, pepper: str, previous: str | None = None
) -> None:
    """Campaign admin (superuser connection), the code hashed under `pepper`."""
    options = libpq_option("promo.pepper", pepper)
    if previous:
        options += " " + libpq_option("promo.pepper_previous", previous)
    with psycopg.connect(database.admin_url, autocommit=True, options=options) as conn:
        conn.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', %s, p_grant_days => 7)",
            (code, f"pepper check {code[:4]}"),
        )


@pytest.fixture(scope="module")
def campaigns_under_a(pg_server: str) -> Iterator[ScratchDatabase]:
    """A database of its own whose live campaign is hashed under PEPPER_A."""
    db = create_database(pg_server)
    _create_campaign(db, "PEPPERCHECK2030A", PEPPER_A)
    yield db
    drop_database(pg_server, db.name)


async def test_right_pepper_is_ready(
    client_for_settings: ClientForSettings, campaigns_under_a: ScratchDatabase
) -> None:
    settings = _settings(campaigns_under_a, PEPPER_A)
    check = check_at_start(settings)
    assert check is not None and check.ok and check.outcome == "MATCH"
    ready = await (await client_for_settings(settings)).get("/readyz")
    assert ready.status == 200 and await ready.json() == {"status": "ready"}


async def test_wrong_pepper_fails_readiness(
    client_for_settings: ClientForSettings, campaigns_under_a: ScratchDatabase
) -> None:
    settings = _settings(campaigns_under_a, PEPPER_B)
    check = check_at_start(settings)
    assert check is not None and not check.ok and check.outcome == "MISMATCH"
    client = await client_for_settings(settings)
    for _ in range(2):  # the first probe checks, the second answers from the cached result
        down = await client.get("/readyz")
        assert down.status == 503
        assert down.content_type == "application/problem+json"
        body = await down.json()
        assert body["code"] == "pepper_mismatch"
        assert "PROMO_SECRET_PEPPER" in body["detail"]
        assert leaks(PEPPER_B, await down.text()) == []
    assert (await client.get("/healthz")).status == 200, "liveness does not depend on it"


def test_serve_refuses_to_start_with_a_wrong_pepper(campaigns_under_a: ScratchDatabase) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROMO_SECRET_PEPPER")},
        "DATABASE_URL": campaigns_under_a.app_url,
        "PROMO_SECRET_PEPPER": PEPPER_B,
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Were the check missing, the server would run: the timeout fails the test then.
    done = run_starpass("serve", "--port", str(port), env=env)
    assert done.returncode == 2, done.stderr
    assert "starpass: refusing to start: PROMO_SECRET_PEPPER does not match" in done.stderr
    assert leaks(PEPPER_B, done.stdout + done.stderr) == []


async def test_previous_pepper_matching_is_ready(
    client_for_settings: ClientForSettings, campaigns_under_a: ScratchDatabase
) -> None:
    """A rotation just begun: the new pepper hashed nothing yet, the previous one matches."""
    settings = _settings(campaigns_under_a, PEPPER_B, previous=PEPPER_A)
    check = check_at_start(settings)
    assert check is not None and check.ok
    assert (check.current_matches, check.previous_matches) == (False, True)
    assert (await (await client_for_settings(settings)).get("/readyz")).status == 200


async def test_any_pepper_is_ready_without_campaigns_until_one_appears(
    client_for_settings: ClientForSettings, new_database: Callable[[], ScratchDatabase]
) -> None:
    database = new_database()  # only the internal referral campaign, which is ignored
    settings = _settings(database, PEPPER_B)
    check = check_at_start(settings)
    assert check is not None and check.ok and check.outcome == "NO_CAMPAIGNS"
    client = await client_for_settings(settings)
    assert (await client.get("/readyz")).status == 200

    _create_campaign(database, "PEPPERCHECK2030N", PEPPER_A)  # another process, another pepper
    client.app[PEPPER_STATE].expire()  # as if the cache interval had passed
    down = await client.get("/readyz")
    assert down.status == 503 and (await down.json())["code"] == "pepper_mismatch"


async def test_a_third_pepper_is_a_warning_not_a_refusal(
    client_for_settings: ClientForSettings, new_database: Callable[[], ScratchDatabase]
) -> None:
    """Campaigns under A and C; the service runs with C alone (PREVIOUS forgotten)."""
    database = new_database()
    _create_campaign(database, "PEPPERCHECK2030X", PEPPER_A)
    _create_campaign(database, "PEPPERCHECK2030Y", PEPPER_C, previous=PEPPER_A)
    settings = _settings(database, PEPPER_C)
    check = check_at_start(settings)
    assert check is not None and check.ok
    assert (check.outcome, check.other_peppers) == ("UNKNOWN_PEPPER", 1)
    assert (await (await client_for_settings(settings)).get("/readyz")).status == 200


def test_serve_starts_while_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens once the socket is closed
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{closed_port}/none")
    monkeypatch.setenv("PROMO_SECRET_PEPPER", PEPPER_B)
    # No bot token: serve also starts the Bot API sandbox; on a free port, not the default.
    monkeypatch.setenv("STARPASS_SANDBOX_PORT", str(_free_port()))
    started: list[web.Application] = []

    async def serve(app: web.Application, *args: object) -> None:
        started.append(app)

    monkeypatch.setattr(server, "serve", serve)
    get_settings.cache_clear()
    try:
        assert check_at_start(get_settings()) is None
        assert main(["serve"]) == 0
    finally:
        get_settings.cache_clear()
    assert len(started) == 1, "serve went on to run the app"


def test_the_runbook_queries_run(campaigns_under_a: ScratchDatabase) -> None:
    """The SQL of docs/runbooks/pepper.md, as written, in a session with the pepper set."""
    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "pepper.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", runbook, re.S)
    assert blocks
    options = libpq_option("promo.pepper", PEPPER_A)
    with psycopg.connect(campaigns_under_a.admin_url, autocommit=True, options=options) as conn:
        for block in blocks:
            for statement in filter(str.strip, block.split(";")):
                conn.execute(statement)
        row = conn.execute("SELECT outcome FROM api.check_pepper()").fetchone()
    assert row == ("MATCH",)
