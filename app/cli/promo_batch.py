"""`starpass promo-batch generate|import` (also scripts/promo_batch_tool.py): batches of
single-use promo codes, through one database transaction each (app/db/batch.py).

What Python does here is file handling only: generate random codes (app/codes.py), read and
split the CSV lines, show progress, write the report. The database normalizes, checks, hashes,
finds duplicates, inserts and decides what a batch with refused lines does. The report (mode
0600, never overwritten) is the only place the codes exist: nothing is logged but counts."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, get_args

import psycopg

from app import codes
from app.cli.actor import operator
from app.cli.arguments import timestamp
from app.config import Settings
from app.db import batch
from app.db.api import refusal_reason
from app.db.pool import pepper_statement
from app.logs import configure_logging, get_logger
from app.vocabulary import CampaignKind, ImportMode, ImportStatus

MAX_COUNT = 10_000_000
GENERATE_BLOCK = 100_000  # codes generated at a time (about 2 MB)
MAX_LINE_BYTES = 4096  # a longer line is refused (line_too_long), never read whole
REPORT_COLUMNS = ("line", "code", "printed", "promo_code_id", "status", "reason")
SHOWN_REFUSALS = 20
LOG_EVERY_SECONDS = 5.0


class BatchError(Exception):
    """A problem with the command line or a file: exit code 2, nothing written anywhere."""


# ---- the command line -------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    tool = commands.add_parser(
        "promo-batch",
        help="generate or import a batch of single-use promo codes (report with the codes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = tool.add_subparsers(required=True, metavar="ACTION")

    generate = actions.add_parser(
        "generate", help="create COUNT random codes with a check character, one campaign each"
    )
    _terms_arguments(generate, prefix_required=True)
    generate.add_argument("--count", type=_count, required=True, help=f"1 to {MAX_COUNT:,}")
    generate.add_argument(
        "--groups",
        type=int,
        choices=range(codes.MIN_GROUPS, codes.MAX_GROUPS + 1),
        default=codes.MIN_GROUPS,
        help=f"groups of four after the prefix ({codes.MIN_GROUPS}: "
        f"{codes.random_bits(codes.MIN_GROUPS):.0f} random bits; each more adds "
        f"{codes.random_bits(codes.MIN_GROUPS + 1) - codes.random_bits(codes.MIN_GROUPS):.1f})",
    )
    _output_arguments(generate)
    generate.set_defaults(handler=_handled(cmd_generate), needs_database=True)

    load = actions.add_parser(
        "import", help="import the codes of a CSV file (a header with a column 'code')"
    )
    _terms_arguments(load, prefix_required=False)
    load.add_argument("--file", type=Path, required=True, help="CSV, UTF-8, comma-separated")
    load.add_argument(
        "--partial", action="store_true", help="import the valid lines even if others are refused"
    )
    _output_arguments(load)
    load.set_defaults(handler=_handled(cmd_import), needs_database=True)


def _terms_arguments(parser: argparse.ArgumentParser, prefix_required: bool) -> None:
    terms = parser.add_argument_group("campaign terms (each code becomes one campaign)")
    terms.add_argument("--campaign", required=True, help="campaign name (must not contain codes)")
    terms.add_argument(
        "--kind", required=True, choices=get_args(CampaignKind), help="what each code gives"
    )
    terms.add_argument("--grant-days", type=int, help="for PREMIUM_GRANT: 1 to 3660")
    terms.add_argument("--discount-percent", type=int, help="for PERCENT_DISCOUNT: 1 to 99")
    terms.add_argument("--max-uses", type=int, default=1, help="uses of each code")
    terms.add_argument("--per-user-limit", type=int, default=1, help="uses of one code by one user")
    terms.add_argument("--starts-at", type=timestamp, help="ISO 8601 with offset; default now")
    terms.add_argument("--ends-at", type=timestamp, help="ISO 8601 with offset; default never")
    terms.add_argument(
        "--prefix",
        required=prefix_required,
        help="the codes' public prefix, 2 to 16 letters or digits"
        + ("" if prefix_required else " (every code must start with it)"),
    )
    terms.add_argument("--actor", help="audit actor (default ops:<login name>)")


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="the report (CSV, mode 0600; must not exist)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and report only: the database is unchanged"
    )


def _count(value: str) -> int:
    count = int(value)
    if not 1 <= count <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{count} is outside 1 to {MAX_COUNT:,}")
    return count


def _terms(args: argparse.Namespace) -> batch.Terms:
    return batch.Terms(
        kind=args.kind,
        campaign=args.campaign,
        grant_days=args.grant_days,
        discount_percent=args.discount_percent,
        max_uses=args.max_uses,
        per_user_limit=args.per_user_limit,
        starts_at=args.starts_at,
        ends_at=args.ends_at,
        prefix=args.prefix,
        actor=args.actor or operator(),
    )


# ---- the commands -----------------------------------------------------------------------------


def _handled(command: Callable[[Settings, argparse.Namespace], int]) -> Callable[..., int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return command(settings, args)
        except BatchError as exc:
            print(f"starpass promo-batch: {exc}", file=sys.stderr)
            return 2

    return run


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    terms = _terms(args)
    mode: ImportMode = "DRY_RUN" if args.dry_run else "ALL_OR_NOTHING"

    def generated(progress: Progress) -> Iterator[batch.StagedLine]:
        prefix = codes.normalize_code(args.prefix) or ""  # the database accepted it
        line = 0
        while line < args.count:
            block = codes.generate(prefix, min(GENERATE_BLOCK, args.count - line), args.groups)
            for i in range(len(block)):
                line += 1
                yield line, block.code(i), None
            progress.update(line)

    return _run(settings, terms, mode, args.out, ("generating", args.count, "codes"), generated)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    terms = _terms(args)
    mode: ImportMode = (
        "DRY_RUN" if args.dry_run else "PARTIAL" if args.partial else "ALL_OR_NOTHING"
    )
    source = CodeFile(args.file)

    def staged(progress: Progress) -> Iterator[batch.StagedLine]:
        for staged_line in source:
            yield staged_line
            progress.update(source.position)
        progress.update(source.position)

    return _run(settings, terms, mode, args.out, ("reading", source.size, "bytes"), staged)


def _run(
    settings: Settings,
    terms: batch.Terms,
    mode: ImportMode,
    out: Path,
    first_phase: tuple[str, int, str],
    lines: Callable[[Progress], Iterator[batch.StagedLine]],
) -> int:
    """Stage the lines, import them, write the report, commit (or not), in that order: the
    report is in place only once the database has what it says. The report's codes are the
    canonical forms the database answers with (what it hashed), so neither the generated codes
    nor the file are kept or read again meanwhile."""
    configure_logging(settings.starpass_log_level)
    progress = Progress()
    began = time.monotonic()
    report = Report(out)
    prefix = (codes.normalize_code(terms.prefix) or "") if terms.prefix else ""
    counts: Counter[str] = Counter()
    refusals: list[batch.LineResult] = []
    try:
        with batch.connect(settings) as conn:
            pepper = pepper_statement(settings)
            batch.check_terms(conn, terms, pepper)  # a wrong argument before any work
            batch.on_notice(conn, progress.note)
            with conn.transaction() as tx:
                batch_id = batch.open_import(conn, pepper)
                progress.start(*first_phase)
                staged = batch.stage(conn, lines(progress), lambda n: None)
                progress.finish()
                progress.start("importing", None, "")
                for result in batch.import_codes(conn, batch_id, terms, mode):
                    if not counts:
                        progress.finish()
                        progress.start("report", staged, "lines")
                    report.write(result, prefix)
                    counts[result.status] += 1
                    if result.status in ("DUPLICATE", "INVALID") and len(refusals) < SHOWN_REFUSALS:
                        refusals.append(result)
                    progress.advance(1)
                progress.finish()
                report.close()
                if not counts["INSERTED"]:
                    raise psycopg.Rollback(tx)  # nothing was inserted: a dry run, a refused batch
            report.publish()
    except psycopg.Error as exc:
        report.discard()
        return _database_refusal(exc)
    except BaseException:
        report.discard()
        raise
    _summary(batch_id, mode, counts, refusals, staged, time.monotonic() - began, out)
    return 0 if counts["INSERTED"] + counts["VALID"] == staged and staged else 1


def _database_refusal(exc: psycopg.Error) -> int:
    diag = exc.diag
    reason = refusal_reason(exc)
    lines = [f"starpass promo-batch: {diag.message_primary or exc}"]
    lines += [f"  {part}" for part in (diag.message_detail, diag.message_hint) if part]
    if reason:
        lines.append(f"  reason: {reason}")
    print(*lines, sep="\n", file=sys.stderr)
    return 2 if (exc.sqlstate or "") == "SP422" else 1


def _summary(
    batch_id: object,
    mode: ImportMode,
    counts: Counter[str],
    refusals: list[batch.LineResult],
    staged: int,
    seconds: float,
    out: Path,
) -> None:
    statuses = ", ".join(f"{counts[s]:,} {s}" for s in get_args(ImportStatus) if counts[s])
    rate = staged / seconds if seconds > 0 else 0.0
    took = f"{staged:,} lines in {seconds:.1f} s ({rate:,.0f}/s)"
    print(f"batch {batch_id} ({mode}): {took}: {statuses}")
    refused = counts["DUPLICATE"] + counts["INVALID"]
    for r in refusals:
        print(f"  line {r.line}: {r.status} {r.reason}", file=sys.stderr)
    if refused > len(refusals):
        print(
            f"  ... {refused - len(refusals):,} more refused lines in the report", file=sys.stderr
        )
    if mode == "DRY_RUN":
        print("dry run: the database is unchanged")
    elif refused and not counts["INSERTED"]:
        print(
            "nothing imported: fix the refused lines and run again"
            + (" (or --partial to import the valid ones)" if mode == "ALL_OR_NOTHING" else "")
        )
    print(f"report: {out} (mode 0600, the only copy of these codes: keep it safe)")


# ---- the import file --------------------------------------------------------------------------


class CodeFile:
    """The lines of an import file, read one at a time (any size, bounded memory): line 1 is
    a header with a column `code`; every other non-empty line is staged with its number, its
    code, or a problem (not_utf8, malformed_csv, wrong_field_count, line_too_long) the
    database then reports as INVALID. `position` is how far the last pass has read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = 0
        try:
            self.size = path.stat().st_size
            with path.open("rb") as f:
                header = f.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise BatchError(f"{path}: {exc.strerror}") from None
        fields = _fields(header.decode("utf-8-sig", errors="replace").rstrip("\r\n"))
        names = [f.strip().lower() for f in fields or []]
        if "code" not in names:
            raise BatchError(f"{path}: line 1: expected a header with a column 'code'")
        self.column = names.index("code")
        self.width = len(names)

    def __iter__(self) -> Iterator[batch.StagedLine]:
        with self.path.open("rb") as f:
            f.readline(MAX_LINE_BYTES + 1)
            number = 1
            while raw := f.readline(MAX_LINE_BYTES + 1):
                number += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    while (rest := f.readline(MAX_LINE_BYTES + 1)) and not rest.endswith(b"\n"):
                        pass
                    self.position = f.tell()
                    yield number, None, "line_too_long"
                    continue
                self.position = f.tell()
                if raw in (b"\n", b"\r\n"):
                    continue
                yield (number, *self._code(raw))

    def _code(self, raw: bytes) -> tuple[str | None, str | None]:
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            return None, "not_utf8"
        fields = _fields(text) if "\x00" not in text else None
        if fields is None:
            return None, "malformed_csv"
        if len(fields) != self.width:
            return None, "wrong_field_count"
        return fields[self.column], None


def _fields(text: str) -> list[str] | None:
    if '"' not in text:
        return text.split(",")
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


# ---- the report -------------------------------------------------------------------------------


class Report:
    """The report CSV: written under a temporary name in the same directory, created with mode
    0600 (never loosened by a chmod afterwards, so no moment exists where others could read
    it), linked to its name only once the transaction committed; an existing file is never
    overwritten (it may be the only copy of earlier codes)."""

    def __init__(self, path: Path) -> None:
        if path.exists():
            raise BatchError(f"{path} exists: the tool never overwrites a report")
        self.path = path
        self.partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise BatchError(f"{path}: {exc.strerror}") from None
        # Open across calls (closed by close() or discard()), hence no `with`.
        self._file: IO[str] = io.open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115, UP020
        self._file.write(",".join(REPORT_COLUMNS) + "\n")
        self._block: list[str] = []

    def write(self, result: batch.LineResult, prefix: str) -> None:
        # No field needs CSV quoting: codes are canonical (A-Z, 0-9), the printed form adds
        # hyphens, statuses and reasons are words.
        code = result.code
        self._block.append(
            f"{result.line},{code or ''},{codes.printed(code, prefix) if code else ''},"
            f"{'' if result.promo_code_id is None else result.promo_code_id},"
            f"{result.status},{result.reason or ''}\n"
        )
        if len(self._block) >= 8192:
            self._file.write("".join(self._block))
            self._block.clear()

    def close(self) -> None:
        self._file.write("".join(self._block))
        self._block.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def publish(self) -> None:
        try:
            os.link(self.partial, self.path)
        except FileExistsError:
            raise BatchError(
                f"{self.path} appeared during the run; the report is {self.partial}"
            ) from None
        os.unlink(self.partial)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.partial.unlink(missing_ok=True)


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """A bar on a terminal (stderr); otherwise a structured log line every few seconds
    (`promo_batch_progress` with phase, done, total, unit, rate)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.log = get_logger("app.promo_batch")
        self.phase, self.unit = "", ""
        self.total: int | None = None
        self.done = 0
        self.began = self.shown = 0.0

    def start(self, phase: str, total: int | None, unit: str) -> None:
        self.phase, self.total, self.unit = phase, total, unit
        self.done = 0
        self.began = self.shown = time.monotonic()
        self._show(force=True)

    def update(self, done: int) -> None:
        self.done = done
        self._show()

    def advance(self, n: int) -> None:
        self.done += n
        self._show()

    def note(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\033[K  {text}\n")
            self._show(force=True)
        else:
            self.log.info("promo_batch_progress", phase=self.phase, note=text)

    def finish(self) -> None:
        self._show(force=True, final=True)
        if self.tty:
            self.stream.write("\n")

    def _show(self, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        interval = 0.1 if self.tty else LOG_EVERY_SECONDS
        if not force and now - self.shown < interval:
            return
        self.shown = now
        elapsed = now - self.began
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if not self.tty:
            if self.done or final:
                self.log.info(
                    "promo_batch_progress",
                    phase=self.phase,
                    done=self.done,
                    total=self.total,
                    unit=self.unit,
                    rate=round(rate),
                    seconds=round(elapsed, 1),
                )
            return
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 30)
            counts = f"{self.done:,}/{self.total:,} {self.unit}"
            line = f"{self.phase:<10} [{bar:<30}] {share:4.0%} {counts} {rate:,.0f}/s"
        else:
            line = f"{self.phase:<10} {elapsed:5.1f} s"
        self.stream.write(f"\r\033[K{line}")
        self.stream.flush()
