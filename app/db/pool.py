"""The app's connection pool: role starpass_app, autocommit (each api call is its own
transaction), and `promo.pepper` set on every connection for the hashing functions."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.cluster import app_url


def create_pool(settings: Settings, conninfo: str | None = None) -> AsyncConnectionPool:
    pepper = settings.promo_secret_pepper

    async def configure(conn: AsyncConnection) -> None:
        if pepper is not None:
            await conn.execute(
                "SELECT pg_catalog.set_config('promo.pepper', %s, false)",
                (pepper.get_secret_value(),),
            )

    return AsyncConnectionPool(
        conninfo or app_url(settings),
        min_size=settings.starpass_db_pool_min,
        max_size=settings.starpass_db_pool_max,
        kwargs={"autocommit": True, "application_name": "starpass"},
        configure=configure,
        check=AsyncConnectionPool.check_connection,
        open=False,
        name="starpass",
    )
