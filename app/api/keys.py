"""Typed application keys shared by the views."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from app.config import Settings

POOL = web.AppKey("pool", AsyncConnectionPool)
SETTINGS = web.AppKey("settings", Settings)
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", str)
