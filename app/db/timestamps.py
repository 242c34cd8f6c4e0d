"""Loading timestamps Python cannot hold. PostgreSQL stores years up to 294276, BC years and
±infinity; Python's datetime stops at years 1 to 9999, and psycopg raises DataError while
loading such a row, so one stored value would break every listing that includes it. The api
functions refuse such values (ops.timestamp_range) and the campaign table has CHECKs, but rows
written before or by hand must still render: they load as ISO 8601 strings instead."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import psycopg
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

# PostgreSQL's output with DateStyle ISO: '10000-01-01 11:00:00+00', '0001-12-31 10:00:00+00 BC'.
_POSTGRES_ISO = re.compile(
    r"(?P<year>[0-9]{4,})(?P<date>-[0-9]{2}-[0-9]{2})"
    r" (?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)"
    r"(?P<offset>[+-][0-9]{2}(?::[0-9]{2}){0,2})(?P<bc> BC)?"
)


def iso_8601(text: str) -> str:
    """A timestamptz as PostgreSQL wrote it, in ISO 8601: years past 9999 get a '+', 1 BC is
    year 0000 and 2 BC is -0001 (ISO counts a year 0); 'infinity', '-infinity' and any other
    DateStyle are returned as written."""
    match = _POSTGRES_ISO.fullmatch(text)
    if match is None:
        return text
    year = int(match["year"])
    if match["bc"]:
        year = 1 - year
    sign = "-" if year < 0 else "+" if year > 9999 else ""
    offset = match["offset"] if ":" in match["offset"] else match["offset"] + ":00"
    return f"{sign}{abs(year):04d}{match['date']}T{match['time']}{offset}"


class LenientTimestamptzLoader(Loader):
    """psycopg's own timestamptz loader; a value it cannot load becomes an ISO 8601 string."""

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        # The default loader from the global map (the connection's map holds this class).
        self._strict = psycopg.adapters.get_loader(oid, Format.TEXT)(oid, context)  # type: ignore[misc]

    def load(self, data: Buffer) -> datetime | str:
        try:
            value: Any = self._strict.load(data)
        except psycopg.DataError:
            return iso_8601(bytes(data).decode())
        return value  # type: ignore[no-any-return]


def register(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("timestamptz", LenientTimestamptzLoader)
