"""The batch tool end to end (`starpass promo-batch`, scripts/promo_batch_tool.py) as
starpass_admin against the test database: generate, import, redeem; refused lines with their
line numbers; duplicates in the file and among campaigns; all-or-nothing, --partial, --dry-run;
a re-import changes nothing; the report (mode 0600, never overwritten) is the only place the
codes are; a big file streams in bounded memory."""

from __future__ import annotations

import csv
import logging
import os
import secrets
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.rows import tuple_row

from app import codes
from app.cli.main import main
from app.config import PROJECT_ROOT, get_settings
from bench.common import insert_single_use_codes
from tests.conftest import PEPPER, Conn, connect
from tests.harness import ScratchDatabase


@dataclass
class Run:
    code: int
    out: str
    err: str


Tool = Callable[..., Run]


@pytest.fixture
def tool(
    database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Tool]:
    """`starpass promo-batch ARGS` in this process, as the operator runs it."""
    monkeypatch.setenv("DATABASE_URL", database.app_url)
    monkeypatch.setenv("STARPASS_ADMIN_DATABASE_URL", database.staff_url)
    monkeypatch.setenv("PROMO_SECRET_PEPPER", PEPPER)
    monkeypatch.delenv("PROMO_SECRET_PEPPER_PREVIOUS", raising=False)
    get_settings.cache_clear()

    def run(*args: str | Path) -> Run:
        code = main(["promo-batch", *map(str, args)])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield run
    get_settings.cache_clear()
    root = logging.getLogger()  # the JSON handler wrote to this test's captured stderr
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "starpass-json"]


def _terms(campaign: str, prefix: str) -> list[str]:
    return [
        "--campaign",
        campaign,
        "--kind",
        "PREMIUM_GRANT",
        "--grant-days",
        "7",
        "--prefix",
        prefix,
    ]


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _prefix() -> str:
    return "B" + secrets.token_hex(3).upper().replace("0", "Q").replace("1", "W")


def _campaigns(conn: Conn, campaign: str) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM promo.promo_codes WHERE campaign = %s", (campaign,)
    )
    return int(str(row.fetchone()["n"]))  # type: ignore[index]


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def _code(prefix: str) -> str:
    return codes.generate(prefix, 1).code(0)


def test_generate_import_redeem(
    tool: Tool, tmp_path: Path, admin_conn: Conn, app_conn: Conn
) -> None:
    prefix, campaign = _prefix(), f"Batch {secrets.token_hex(4)}"
    report = tmp_path / "codes.csv"
    done = tool("generate", *_terms(campaign, prefix), "--count", "40", "--out", report)
    assert done.code == 0, done.err
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    rows = _report(report)
    assert [int(r["line"]) for r in rows] == list(range(1, 41))
    assert {r["status"] for r in rows} == {"INSERTED"} and {r["reason"] for r in rows} == {""}
    assert len({r["promo_code_id"] for r in rows}) == 40
    for r in rows:
        assert r["code"].startswith(prefix) and not codes.has_wrong_check_character(r["code"])
        assert r["printed"] == codes.printed(r["code"], prefix) and r["printed"].count("-") == 4
    assert _campaigns(admin_conn, campaign) == 40
    slots = admin_conn.execute(
        "SELECT count(*) AS n, sum(capacity) AS c FROM promo.capacity_slots"
        " WHERE promo_code_id = ANY(%s::bigint[])",
        ([int(r["promo_code_id"]) for r in rows],),
    ).fetchone()
    assert slots is not None and (slots["n"], slots["c"]) == (40, 40)
    audit = admin_conn.execute(
        "SELECT db_role, details FROM ops.audit_log WHERE action = 'promo.codes_imported'"
        " AND details->>'campaign' = %s",
        (campaign,),
    ).fetchall()
    assert [(a["db_role"], a["details"]["inserted"]) for a in audit] == [("starpass_admin", 40)]  # type: ignore[index]

    # The same file again: every line DUPLICATE with its campaign, nothing new.
    again = tool(
        "import", "--file", report, *_terms(campaign, prefix), "--out", tmp_path / "again.csv"
    )
    assert again.code == 1
    repeated = _report(tmp_path / "again.csv")
    assert [(r["line"], r["promo_code_id"], r["status"], r["reason"]) for r in repeated] == [
        (str(int(r["line"]) + 1), r["promo_code_id"], "DUPLICATE", "duplicate_code") for r in rows
    ]
    assert _campaigns(admin_conn, campaign) == 40

    # A code of the report redeems; its typo is INVALID_CODE.
    first = rows[0]
    redeemed = app_conn.execute(
        "SELECT outcome, promo_code_id FROM api.redeem_promo_code(%s, %s, %s)",
        (7_100_000_001, first["printed"].lower(), "batch-redeem-" + secrets.token_hex(4)),
    ).fetchone()
    assert redeemed == {"outcome": "APPLIED", "promo_code_id": int(first["promo_code_id"])}
    typo = first["code"][:-1] + ("A" if first["code"][-1] != "A" else "B")
    refused = app_conn.execute(
        "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
        (7_100_000_002, typo, "batch-typo-" + secrets.token_hex(4)),
    ).fetchone()
    assert refused == {"outcome": "INVALID_CODE"}

    # The codes are in the report only: not in the tool's output, not in the database.
    generated = [r["code"] for r in rows]
    for output in (done.out + done.err, again.out + again.err):
        assert not [c for c in generated if c in output]
    assert '"promo_batch_progress"' in done.err  # progress, as JSON lines off a terminal
    stored = admin_conn.execute(
        "SELECT string_agg(t, ' ') AS t FROM ("
        " SELECT row_to_json(c)::text AS t FROM promo.promo_codes AS c"
        " UNION ALL SELECT row_to_json(a)::text FROM ops.audit_log AS a"
        " UNION ALL SELECT row_to_json(p)::text FROM promo.promo_attempts AS p) AS x"
    ).fetchone()
    assert stored is not None and not [c for c in generated if c in str(stored["t"])]


def test_refused_lines_carry_their_line_numbers(
    tool: Tool, tmp_path: Path, admin_conn: Conn
) -> None:
    prefix, campaign = _prefix(), f"Lines {secrets.token_hex(4)}"
    good, other = _code(prefix), _code(prefix)
    typo = good[:-1] + ("A" if good[-1] != "A" else "B")
    source = _write(
        tmp_path / "in.csv",
        [
            b"\xef\xbb\xbfbatch,Code\r\n",  # a BOM and CRLF line ends; the column by name
            f"1,{codes.printed(good, prefix).lower()}\r\n".encode(),
            b"2\r\n",  # one field
            b'3,"' + good.encode() + b"\r\n",  # an open quote
            b"4,\xff\xfe\r\n",  # not UTF-8
            b"5," + b"A" * 5000 + b"\r\n",  # too long
            b"\r\n",  # blank: skipped
            b"7,XX\r\n",
            f"8,{typo}\r\n".encode(),
            b"9,OTHER1234\r\n",
            f'10,"{other}"\r\n'.encode(),  # quoted is fine
        ],
    )
    out = tmp_path / "report.csv"
    done = tool("import", "--file", source, *_terms(campaign, prefix), "--partial", "--out", out)
    assert done.code == 1
    got = [(r["line"], r["status"], r["reason"]) for r in _report(out)]
    assert got == [
        ("2", "INSERTED", ""),
        ("3", "INVALID", "wrong_field_count"),
        ("4", "INVALID", "malformed_csv"),
        ("5", "INVALID", "not_utf8"),
        ("6", "INVALID", "line_too_long"),
        ("8", "INVALID", "code_too_short"),
        ("9", "INVALID", "check_character"),
        ("10", "INVALID", "prefix_mismatch"),
        ("11", "INSERTED", ""),
    ]
    assert _report(out)[0]["code"] == good  # the canonical form
    for line, status, reason in got[1:-1]:
        assert f"line {line}: {status} {reason}" in done.err
    assert _campaigns(admin_conn, campaign) == 2


def test_all_or_nothing_partial_and_duplicates(
    tool: Tool, tmp_path: Path, admin_conn: Conn
) -> None:
    prefix, campaign = _prefix(), f"Dups {secrets.token_hex(4)}"
    existing = _code(prefix)
    admin_conn.execute(
        "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', %s, p_grant_days => 7, p_max_uses => 1)",
        (existing, campaign),
    )
    new = [_code(prefix) for _ in range(3)]
    source = _write(
        tmp_path / "in.csv",
        [b"code\n", *(f"{c}\n".encode() for c in new), f"{new[1]}\n{existing}\n".encode()],
    )
    whole = tool("import", "--file", source, *_terms(campaign, prefix), "--out", tmp_path / "a.csv")
    assert whole.code == 1 and "nothing imported" in whole.out
    assert [(r["status"], r["reason"]) for r in _report(tmp_path / "a.csv")] == [
        ("VALID", "batch_refused"),
        ("VALID", "batch_refused"),
        ("VALID", "batch_refused"),
        ("DUPLICATE", "duplicate_in_file"),
        ("DUPLICATE", "duplicate_code"),
    ]
    assert _campaigns(admin_conn, campaign) == 1  # rolled back as a whole

    part = tool(
        "import",
        "--file",
        source,
        *_terms(campaign, prefix),
        "--partial",
        "--out",
        tmp_path / "p.csv",
    )
    assert part.code == 1
    rows = _report(tmp_path / "p.csv")
    assert [r["status"] for r in rows] == ["INSERTED"] * 3 + ["DUPLICATE"] * 2
    assert rows[3]["promo_code_id"] == rows[1]["promo_code_id"]  # the line it repeats
    existing_id = admin_conn.execute(
        "SELECT max(promo_code_id) AS id FROM promo.promo_codes"
        " WHERE campaign = %s AND prefix IS NULL",
        (campaign,),
    ).fetchone()
    assert existing_id is not None and rows[4]["promo_code_id"] == str(existing_id["id"])
    assert _campaigns(admin_conn, campaign) == 4


def test_dry_run_changes_nothing(tool: Tool, tmp_path: Path, admin_conn: Conn) -> None:
    prefix, campaign = _prefix(), f"Dry {secrets.token_hex(4)}"

    def state() -> object:
        return admin_conn.execute(
            "SELECT (SELECT count(*) FROM promo.promo_codes) AS c,"
            " (SELECT count(*) FROM promo.capacity_slots) AS s,"
            " (SELECT count(*) FROM ops.audit_log) AS a,"
            " (SELECT last_value FROM promo.promo_codes_promo_code_id_seq) AS q"
        ).fetchone()

    before = state()
    generated = tool(
        "generate",
        *_terms(campaign, prefix),
        "--count",
        "25",
        "--dry-run",
        "--out",
        tmp_path / "g.csv",
    )
    assert generated.code == 0 and "dry run" in generated.out
    rows = _report(tmp_path / "g.csv")
    assert {(r["status"], r["reason"], r["promo_code_id"]) for r in rows} == {
        ("VALID", "dry_run", "")
    }
    imported = tool(
        "import",
        "--file",
        tmp_path / "g.csv",
        *_terms(campaign, prefix),
        "--dry-run",
        "--out",
        tmp_path / "i.csv",
    )
    assert imported.code == 0
    assert state() == before


def test_the_report_is_private_and_never_overwritten(tool: Tool, tmp_path: Path) -> None:
    prefix, campaign = _prefix(), f"Private {secrets.token_hex(4)}"
    taken = tmp_path / "taken.csv"
    taken.write_text("earlier codes\n")
    done = tool("generate", *_terms(campaign, prefix), "--count", "2", "--out", taken)
    assert done.code == 2 and "never overwrites" in done.err
    assert taken.read_text() == "earlier codes\n"
    # A refused argument: nothing written, no partial file left.
    refused = tool(
        "generate", "--campaign", campaign, "--kind", "PREMIUM_GRANT", "--grant-days", "0",
        "--prefix", prefix, "--count", "2", "--out", tmp_path / "new.csv",
    )  # fmt: skip
    assert refused.code == 2 and "invalid argument p_grant_days" in refused.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.csv"]
    missing = tool(
        "import",
        "--file",
        tmp_path / "none.csv",
        *_terms(campaign, prefix),
        "--out",
        tmp_path / "r.csv",
    )
    assert missing.code == 2 and "none.csv" in missing.err


def test_the_script_at_the_known_path(database: ScratchDatabase, tmp_path: Path) -> None:
    """scripts/promo_batch_tool.py is `starpass promo-batch` by another name."""
    prefix = _prefix()
    env = {
        **os.environ,
        "DATABASE_URL": database.app_url,
        "STARPASS_ADMIN_DATABASE_URL": database.staff_url,
        "PROMO_SECRET_PEPPER": PEPPER,
    }
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "promo_batch_tool.py"), "generate",
         *_terms(f"Script {prefix}", prefix), "--count", "3", "--out", str(tmp_path / "r.csv")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 INSERTED" in done.stdout
    assert [r["status"] for r in _report(tmp_path / "r.csv")] == ["INSERTED"] * 3


def test_a_big_file_streams(tool: Tool, tmp_path: Path) -> None:
    """200,000 lines take no more memory than 2,000: the file is read, staged, answered and
    reported a block at a time. Measured as the peak of Python's allocations (tracemalloc): a
    list of the lines alone would be about 30 MiB."""
    prefix = _prefix()
    block = codes.generate(prefix, 200_000)
    with (tmp_path / "big.csv").open("w") as f:
        f.write("code\n")
        f.writelines(f"{block.code(i)}\n" for i in range(len(block)))
    with (tmp_path / "small.csv").open("w") as f:
        f.write("code\n")
        f.writelines(f"{codes.generate(prefix, 1).code(0)}\n" for _ in range(2000))
    del block
    peak = {}
    tracemalloc.start()
    try:
        for name in ("small", "big"):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            done = tool(
                "import", "--file", tmp_path / f"{name}.csv",
                *_terms(f"Stream {name} {prefix}", prefix),
                "--out", tmp_path / f"{name}-report.csv",
            )  # fmt: skip
            peak[name] = tracemalloc.get_traced_memory()[1] - base
            assert done.code == 0, done.err
    finally:
        tracemalloc.stop()
    assert sum(1 for _ in (tmp_path / "big-report.csv").open()) == 200_001
    assert peak["big"] - peak["small"] < 8 * 2**20, peak


def test_a_batch_that_grows_the_campaigns_leaves_fresh_statistics(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Queries right after a big import (api.check_invariants) are planned from statistics that
    know the new rows: a batch that grows the campaigns by more than a tenth analyzes them and
    their slots; a smaller one leaves that to autovacuum."""
    db = new_database()

    def estimates() -> tuple[float, float]:
        with connect(db.admin_url) as conn, conn.cursor(row_factory=tuple_row) as cur:
            row = cur.execute(
                "SELECT (SELECT reltuples FROM pg_class WHERE oid = 'promo.promo_codes'::regclass),"
                " (SELECT reltuples FROM pg_class WHERE oid = 'promo.capacity_slots'::regclass)"
            ).fetchone()
        assert row is not None
        return float(row[0]), float(row[1])

    with connect(db.admin_url) as loader:
        insert_single_use_codes(loader, "Stats big", "STATSBIG", 1000)
    campaigns, slots = estimates()
    assert campaigns >= 1000 and slots >= 1000
    with connect(db.admin_url) as loader:
        insert_single_use_codes(loader, "Stats small", "STATSSMALL", 50)
    assert estimates() == (campaigns, slots)


def test_a_guess_on_a_batch_prefix_reads_a_handful_of_rows(database: ScratchDatabase) -> None:
    """A batch gives thousands of campaigns one public prefix; a NOT_FOUND guess on it is
    attributed to one of them (promo.campaign_by_prefix) by one index probe per candidate
    prefix, not by reading every campaign with that prefix."""
    prefix = _prefix()
    with connect(database.admin_url) as loader:
        insert_single_use_codes(loader, f"Guessed {prefix}", prefix + "CODE", 5000, prefix=prefix)
        loader.execute("ANALYZE promo.promo_codes")
    with connect(database.admin_url) as conn, conn.transaction():
        for i in range(12):  # past PL/pgSQL's custom plans
            row = conn.execute(
                "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
                (7_200_000_000 + i, f"{prefix}GUESS{i}X", f"guess-{prefix}-{i}"),
            ).fetchone()
            assert row == {"outcome": "NOT_FOUND"}
        read = conn.execute(
            "SELECT t.seq_tup_read, t.idx_tup_fetch FROM pg_stat_xact_user_tables AS t"
            " WHERE t.relid = 'promo.promo_codes'::regclass"
        ).fetchone()
    assert read is not None
    # Per guess a row or two (the attributed campaign), not one per campaign of the batch
    # (before: a scan of every campaign with one of the prefixes, 450 ms at two million).
    assert read["seq_tup_read"] == 0 and int(str(read["idx_tup_fetch"])) <= 12 * 2, read
