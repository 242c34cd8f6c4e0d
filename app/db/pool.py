"""The service's connection pools, one per database role it acts as (starpass_app for what
users trigger, starpass_admin for the admin API): autocommit (each api call is its own
transaction), `promo.pepper` set on every connection for the hashing functions, and
timestamps Python cannot hold loaded as strings (app/db/timestamps.py)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db import timestamps
from app.db.cluster import ADMIN_ROLE, APP_ROLE, role_url


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    timestamps.register(conn)


def connection_kwargs(settings: Settings, role: str = APP_ROLE) -> dict[str, object]:
    """How every app connection is opened, pooled or not."""
    kwargs: dict[str, object] = {"autocommit": True, "application_name": role}
    if pepper_options := settings.pepper_options():
        # In the startup packet, not a statement: statement logging never sees the pepper.
        kwargs["options"] = pepper_options
    return kwargs


def create_pool(
    settings: Settings, conninfo: str | None = None, role: str = APP_ROLE
) -> AsyncConnectionPool:
    sizes = (
        (0, settings.starpass_admin_pool_max)
        if role == ADMIN_ROLE
        else (settings.starpass_db_pool_min, settings.starpass_db_pool_max)
    )
    return AsyncConnectionPool(
        conninfo or role_url(settings, role),
        min_size=sizes[0],
        max_size=sizes[1],
        kwargs=connection_kwargs(settings, role),
        check=AsyncConnectionPool.check_connection,
        configure=_configure,
        # While the database is down, calls fail fast (503) instead of queueing for 30 s.
        timeout=3.0,
        open=False,
        name=role,
    )
