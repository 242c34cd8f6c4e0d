"""The app's connection pool: role starpass_app, autocommit (each api call is its own
transaction), and `promo.pepper` set on every connection for the hashing functions."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.cluster import app_url


def connection_kwargs(settings: Settings) -> dict[str, object]:
    """How every app connection is opened, pooled or not."""
    kwargs: dict[str, object] = {"autocommit": True, "application_name": "starpass"}
    if pepper_options := settings.pepper_options():
        # In the startup packet, not a statement: statement logging never sees the pepper.
        kwargs["options"] = pepper_options
    return kwargs


def create_pool(settings: Settings, conninfo: str | None = None) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        conninfo or app_url(settings),
        min_size=settings.starpass_db_pool_min,
        max_size=settings.starpass_db_pool_max,
        kwargs=connection_kwargs(settings),
        check=AsyncConnectionPool.check_connection,
        # While the database is down, calls fail fast (503) instead of queueing for 30 s.
        timeout=3.0,
        open=False,
        name="starpass",
    )
