"""Typed application keys shared by the views."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.pool import DatabaseProbe

# The user-facing pool (role starpass_app) and the admin API's (role starpass_admin).
POOL = web.AppKey("pool", AsyncConnectionPool)
ADMIN_POOL = web.AppKey("admin_pool", AsyncConnectionPool)
# What the read-only admin endpoints use: a pool on DATABASE_REPLICA_URL (a hot standby) when
# it is set, else the admin pool itself. Nothing that writes may take it.
READ_POOL = web.AppKey("read_pool", AsyncConnectionPool)
PROBE = web.AppKey("probe", DatabaseProbe)
# The same check as starpass_admin: tells the admin pool's load from its role failing to log in.
ADMIN_PROBE = web.AppKey("admin_probe", DatabaseProbe)
SETTINGS = web.AppKey("settings", Settings)
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", str)
