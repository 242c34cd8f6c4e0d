"""Faults under load (`make test-faults`): PostgreSQL restarted, and its postmaster killed with
SIGKILL, while HTTP clients redeem. Only 503 while it is down, the service recovers by itself,
and every redemption is all or nothing: each key answered once is answered the same again, no
user is credited twice, the invariants hold."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from app.api.app import create_app
from app.config import Settings
from app.db.cluster import Cluster
from app.db.migrate import migrate
from tests.conftest import PEPPER, connect
from tests.harness import throwaway_cluster
from tests.test_http_promo import REDEEM, TOKENS, _campaign, auth

CLIENTS = 16
UNAVAILABLE = {"database_unavailable", "overloaded"}


@pytest.fixture
def durable_cluster() -> Iterator[Cluster]:
    """A cluster of the test's own with production's durability (fsync, synchronous_commit on):
    the other tests' clusters acknowledge commits before WAL is flushed, which a kill -9 loses."""
    cluster = throwaway_cluster(Settings(_env_file=None), durable=True)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def _kill_postmaster(cluster: Cluster) -> None:
    """SIGKILL to the postmaster, as a crash or the OOM killer would; its backends follow."""
    pid = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    # The orphaned backends notice the postmaster's death and exit; then it may start again.
    while cluster.is_running() and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.parametrize("fault", ["restart", "kill -9"])
async def test_redemptions_under_http_load_survive_the_database_going_down(
    durable_cluster: Cluster, fault: str
) -> None:
    own_cluster = durable_cluster
    admin_url = own_cluster.admin_url("postgres")
    await asyncio.to_thread(migrate, admin_url)
    settings = Settings(
        database_url=admin_url,
        promo_secret_pepper=SecretStr(PEPPER),
        internal_api_tokens_json=json.dumps(TOKENS),
        _env_file=None,
    )
    answers: dict[str, tuple[int, int]] = {}  # key -> (user, redemption id)
    unavailable: list[str] = []
    stop = asyncio.Event()
    async with TestClient(TestServer(create_app(settings))) as client:
        code, _ = await _campaign(client, max_uses=100000)

        async def redeem(user: int, key: str) -> int:
            body = {"user_id": user, "code": code, "idempotency_key": key}
            while True:  # a 503 is retried with the same key, as the problem's Retry-After asks
                response = await client.post(
                    "/internal/promo/redeem", json=body, headers=auth(REDEEM)
                )
                answer = await response.json()
                if response.status == 200:
                    assert answer["outcome"] == "APPLIED", answer
                    return int(answer["promo_redemption_id"])
                assert response.status == 503, (response.status, answer)
                unavailable.append(answer["code"])
                await asyncio.sleep(0.2)

        async def user_loop(worker: int) -> None:
            for n in itertools.count():
                if stop.is_set():
                    return
                user, key = 10**9 + worker * 10**6 + n, f"fault-{worker}-{n}-{secrets.token_hex(4)}"
                answers[key] = (user, await redeem(user, key))

        workers = [asyncio.create_task(user_loop(w)) for w in range(CLIENTS)]
        await asyncio.sleep(2)
        before = len(answers)
        if fault == "restart":
            await asyncio.to_thread(own_cluster.stop)
        else:
            await asyncio.to_thread(_kill_postmaster, own_cluster)
        await asyncio.sleep(3)  # down: every request in these seconds is a 503
        await asyncio.to_thread(own_cluster.start)
        back = time.monotonic()
        while len(answers) < before + 3 * CLIENTS:  # served again, without a restart of ours
            assert time.monotonic() - back < 30, "the service did not recover"
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*workers)

        assert unavailable, "the outage was seen as 503"
        assert set(unavailable) <= UNAVAILABLE
        # All or nothing: every key again gives the same redemption, nothing new is applied.
        replays = {key: await redeem(user, key) for key, (user, _) in answers.items()}
        assert replays == {key: rid for key, (_, rid) in answers.items()}
    with connect(admin_url) as admin:
        users = [user for user, _ in answers.values()]
        booked = admin.execute(
            "SELECT count(*) AS entries, count(DISTINCT user_id) AS users FROM billing.ledger"
            " WHERE user_id = ANY(%s)",
            (users,),
        ).fetchone()
        assert booked == {"entries": len(users), "users": len(users)}, "each user credited once"
        redemptions = admin.execute(
            "SELECT count(*) AS n FROM promo.promo_redemptions WHERE user_id = ANY(%s)", (users,)
        ).fetchone()
        assert redemptions == {"n": len(users)}
        assert admin.execute("SELECT * FROM api.check_invariants()").fetchall() == []
