"""The batch tool's database side (`starpass promo-batch`, scripts/promo_batch_tool.py): one
transaction as starpass_admin with the pepper set, in which `api.open_promo_import` creates the
staging table, COPY fills it with the lines, and `api.import_promo_codes` hashes, checks and
inserts them and answers one row per line. Python never hashes, checks or decides anything
here; it moves lines in and rows out, a block at a time (bounded memory at any batch size)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg.errors import Diagnostic
from psycopg.rows import tuple_row

from app.config import Settings
from app.db.cluster import ADMIN_ROLE, role_url
from app.db.pool import Pepper, connection_kwargs
from app.vocabulary import ImportMode, ImportStatus

# Rows per COPY write: a few hundred kilobytes in flight.
BLOCK_ROWS = 8192
STAGE = "COPY pg_temp.promo_import (line, code, problem) FROM STDIN"
IMPORT = (
    "SELECT line, promo_code_id, status, reason, code FROM api.import_promo_codes("
    "p_batch_id => %(batch_id)s, p_kind => %(kind)s, p_campaign => %(campaign)s,"
    " p_grant_days => %(grant_days)s, p_discount_percent => %(discount_percent)s,"
    " p_max_uses => %(max_uses)s, p_per_user_limit => %(per_user_limit)s,"
    " p_starts_at => %(starts_at)s, p_ends_at => %(ends_at)s, p_prefix => %(prefix)s,"
    " p_actor => %(actor)s, p_mode => %(mode)s)"
)

Conn = psycopg.Connection[Any]
# (line, code as read, problem the tool found in the line or None)
StagedLine = tuple[int, str | None, str | None]


@dataclass(frozen=True)
class Terms:
    """What every code of the batch gets (api.import_promo_codes' arguments)."""

    kind: str
    campaign: str
    grant_days: int | None = None
    discount_percent: int | None = None
    max_uses: int | None = 1
    per_user_limit: int = 1
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    prefix: str | None = None
    actor: str | None = None


class LineResult(NamedTuple):
    line: int
    promo_code_id: int | None
    status: ImportStatus
    reason: str | None
    code: str | None  # canonical, as the database hashed it (None: the line holds no code)


def connect(settings: Settings, conninfo: str | None = None) -> Conn:
    """As starpass_admin (the operators' surface); the pepper is set per transaction
    (`open_import`), as everywhere, so the tool works through a pooler in transaction mode."""
    return psycopg.connect(
        conninfo or role_url(settings, ADMIN_ROLE),
        **connection_kwargs(settings, "starpass-promo-batch"),  # type: ignore[arg-type]
    )


def copy_text(value: str | None) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def open_import(conn: Conn, pepper: Pepper | None = None) -> uuid.UUID:
    """In the caller's transaction (the staging table lives until its end), which gets the
    pepper(s) for its duration (`set_config(…, true)`; None: the session has them)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        if pepper is not None:
            cur.execute(pepper[0], pepper[1])
        # A batch runs as long as it needs: the role's 60 s statement limit is for the admin API.
        cur.execute("SET LOCAL statement_timeout = 0")
        row = cur.execute("SELECT api.open_promo_import()").fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def stage(conn: Conn, lines: Iterable[StagedLine], staged: Callable[[int], None]) -> int:
    """COPY the lines into the staging table, a block at a time; `staged(n)` after each."""
    total = 0
    with conn.cursor() as cur, cur.copy(STAGE) as copy:
        block: list[str] = []
        for line, code, problem in lines:
            block.append(f"{line}\t{copy_text(code)}\t{copy_text(problem)}\n")
            if len(block) == BLOCK_ROWS:
                copy.write("".join(block).encode())
                total += len(block)
                staged(len(block))
                block.clear()
        if block:
            copy.write("".join(block).encode())
            total += len(block)
            staged(len(block))
    return total


def import_codes(
    conn: Conn, batch_id: uuid.UUID, terms: Terms, mode: ImportMode
) -> Iterator[LineResult]:
    """The answer of api.import_promo_codes, line by line, streamed with COPY (a million rows
    in about a second; none of the values needs COPY's escapes: codes are canonical)."""
    params = {**asdict(terms), "batch_id": batch_id, "mode": mode}
    with conn.cursor() as cur, cur.copy(f"COPY ({IMPORT}) TO STDOUT", params) as copy:
        for data in copy:
            line, promo_code_id, status, reason, code = bytes(data).decode()[:-1].split("\t")
            yield LineResult(
                int(line),
                None if promo_code_id == "\\N" else int(promo_code_id),
                status,  # type: ignore[arg-type]  # the domain's values
                None if reason == "\\N" else reason,
                None if code == "\\N" else code,
            )


def check_terms(conn: Conn, terms: Terms, pepper: Pepper | None = None) -> None:
    """Has the database check the terms (an import of no line, rolled back), so that a wrong
    argument is refused before a single code is generated or read."""
    with conn.transaction(force_rollback=True):
        batch_id = open_import(conn, pepper)
        for _ in import_codes(conn, batch_id, terms, "DRY_RUN"):
            pass


def on_notice(conn: Conn, note: Callable[[str], None]) -> None:
    """The function's progress messages (RAISE NOTICE 'promo import: …')."""

    def handler(diag: Diagnostic) -> None:
        if diag.message_primary and diag.message_primary.startswith("promo import:"):
            note(diag.message_primary.removeprefix("promo import:").strip())

    conn.add_notice_handler(handler)
