"""The app's connection pool: role starpass_app, autocommit (each api call is its own
transaction), and `promo.pepper` set on every connection for the hashing functions."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.cluster import app_url, libpq_option


def create_pool(settings: Settings, conninfo: str | None = None) -> AsyncConnectionPool:
    kwargs: dict[str, object] = {"autocommit": True, "application_name": "starpass"}
    if settings.promo_secret_pepper is not None:
        # In the startup packet, not a statement: statement logging never sees the pepper.
        kwargs["options"] = libpq_option(
            "promo.pepper", settings.promo_secret_pepper.get_secret_value()
        )
    return AsyncConnectionPool(
        conninfo or app_url(settings),
        min_size=settings.starpass_db_pool_min,
        max_size=settings.starpass_db_pool_max,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        open=False,
        name="starpass",
    )
