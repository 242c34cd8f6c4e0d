"""The service through a PgBouncer in transaction mode (tests/pooler.py): the pepper is set
per transaction, so a server connection another client used carries no pepper of its, and no
statement is prepared on a server connection another client's transaction may get."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from pydantic import SecretStr

from app.db import api
from app.db.cluster import ADMIN_ROLE
from app.db.pool import connection_kwargs, create_pool
from tests.conftest import PEPPER, service_settings
from tests.harness import ScratchDatabase, role_passwords
from tests.pooler import PgBouncer

OTHER_PEPPER = "another-pepper-9876543210-fedcba-zyxwvu"
PEPPER_NOW = "SELECT current_setting('promo.pepper', true) AS pepper, pg_backend_pid() AS pid"


async def test_pepper_is_per_transaction_on_a_shared_server_connection(
    pg_server: str, database: ScratchDatabase
) -> None:
    with PgBouncer(pg_server, role_passwords(), pool_size=1) as bouncer:
        url = bouncer.url(database.app_url)
        settings = service_settings(database, database_url=url)
        other = service_settings(
            database, database_url=url, promo_secret_pepper=SecretStr(OTHER_PEPPER)
        )
        pools = [create_pool(settings), create_pool(other)]
        for pool in pools:
            await pool.open()
        try:
            seen: list[tuple[Any, ...]] = []
            for _ in range(3):
                for pool in pools:
                    async with api.connection(pool) as conn:
                        row = await (await conn.execute(PEPPER_NOW)).fetchone()
                        assert row is not None
                        seen.append(row)
            assert [p for p, _ in seen] == [PEPPER, OTHER_PEPPER] * 3
            assert len({pid for _, pid in seen}) == 1  # one server connection served them all
            # A client that sets no pepper, after both, on that same server connection.
            async with await psycopg.AsyncConnection.connect(
                url,
                **connection_kwargs(settings),  # type: ignore[arg-type]
            ) as bare:
                bare_row = await (await bare.execute(PEPPER_NOW)).fetchone()
            assert bare_row is not None
            pepper, pid = bare_row
            assert pid == seen[0][1]
            assert not pepper
        finally:
            for pool in pools:
                await pool.close()


async def test_no_statement_is_prepared_on_a_server_connection(
    pg_server: str, database: ScratchDatabase
) -> None:
    """Many calls of one statement from more clients than server connections: a prepared
    statement (psycopg prepares after 5 runs by default) would be missing on, or clash with
    one of, the server connections another client's transaction gets."""
    with PgBouncer(pg_server, role_passwords(), pool_size=2) as bouncer:
        url = bouncer.url(database.staff_url)
        settings = service_settings(database, starpass_admin_database_url=url)
        pools = [create_pool(settings, role=ADMIN_ROLE) for _ in range(3)]
        for pool in pools:
            await pool.open()
        try:

            async def calls(pool: object) -> None:
                for user_id in range(20):
                    row = await api.get_promo_throttle(pool, user_id + 1)  # type: ignore[arg-type]
                    assert row is not None

            await asyncio.gather(*(calls(pool) for pool in pools))
        finally:
            for pool in pools:
                await pool.close()
