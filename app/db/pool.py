"""The app's connection pool: role starpass_app, autocommit (each api call is its own
transaction), `promo.pepper` set on every connection for the hashing functions, and
timestamps Python cannot hold loaded as strings (app/db/timestamps.py)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db import timestamps
from app.db.cluster import app_url


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    timestamps.register(conn)


def create_pool(settings: Settings, conninfo: str | None = None) -> AsyncConnectionPool:
    kwargs: dict[str, object] = {"autocommit": True, "application_name": "starpass"}
    if pepper_options := settings.pepper_options():
        # In the startup packet, not a statement: statement logging never sees the pepper.
        kwargs["options"] = pepper_options
    return AsyncConnectionPool(
        conninfo or app_url(settings),
        min_size=settings.starpass_db_pool_min,
        max_size=settings.starpass_db_pool_max,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        configure=_configure,
        # While the database is down, calls fail fast (503) instead of queueing for 30 s.
        timeout=3.0,
        open=False,
        name="starpass",
    )
