"""Typed application keys shared by the views."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.pool import DatabaseProbe

# The user-facing pool (role starpass_app) and the admin API's (role starpass_admin).
POOL = web.AppKey("pool", AsyncConnectionPool)
ADMIN_POOL = web.AppKey("admin_pool", AsyncConnectionPool)
PROBE = web.AppKey("probe", DatabaseProbe)
# The same check as starpass_admin: tells the admin pool's load from its role failing to log in.
ADMIN_PROBE = web.AppKey("admin_probe", DatabaseProbe)
SETTINGS = web.AppKey("settings", Settings)
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", str)
