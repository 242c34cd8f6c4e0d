"""Typed application keys shared by the views."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.pool import DatabaseProbe

POOL = web.AppKey("pool", AsyncConnectionPool)
PROBE = web.AppKey("probe", DatabaseProbe)
SETTINGS = web.AppKey("settings", Settings)
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", str)
