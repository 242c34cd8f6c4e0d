"""`starpass`: serve the application and operate its database."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from pydantic import ValidationError

from app import jobs as app_jobs
from app.cli import alerts as cli_alerts
from app.cli import promo_batch
from app.cli.actor import operator
from app.cli.arguments import timestamp
from app.config import Settings, describe_settings_error, get_settings
from app.db import cluster as db_cluster
from app.db.cluster import APP_DATABASE, LOGIN_ROLES, Cluster, ClusterError, libpq_environment
from app.db.migrate import migrate, migration_status
from app.db.pepper import MISMATCH_MESSAGE, check_at_start
from app.logs import configure_logging, get_logger

if TYPE_CHECKING:
    from aiohttp import web

# The HTTP and bot stacks (aiohttp, aiogram: seconds of imports) load only in the commands that
# use them, so `starpass jobs status` and the like start at once.

DATABASE_DOWN = "the database is not running: run `starpass db up`"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    # Only `db psql` takes arguments of another program (psql's); anywhere else they are errors.
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and not getattr(args, "passes_on", False):
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on[1:] if passed_on[:1] == ["--"] else passed_on
    try:
        settings = get_settings()
    except ValidationError as exc:
        # One line per environment variable with the reason; never a value (it may be secret).
        lines = describe_settings_error(exc)
        print("starpass: invalid configuration:", *lines, sep="\n  ", file=sys.stderr)
        return 2
    # Every command that needs the database says so the same way when the embedded one is
    # down, before libpq's socket error could (psql's own included).
    if getattr(args, "needs_database", False):
        cluster = _embedded(settings)
        if cluster is not None and not cluster.is_running():
            print(f"starpass: {DATABASE_DOWN}", file=sys.stderr)
            return 1
    try:
        result: int = args.handler(settings, args)
    except psycopg.OperationalError as exc:
        if exc.sqlstate is not None:  # the server answered: not a connection failure
            print(f"starpass: {exc}", file=sys.stderr)
            return 1
        cluster = _embedded(settings)
        if cluster is not None and not cluster.is_running():
            print(f"starpass: {DATABASE_DOWN}", file=sys.stderr)
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = "the embedded cluster" if cluster else "DATABASE_URL / DATABASE_ADMIN_URL"
            print(f"starpass: cannot reach the database ({where}): {first}", file=sys.stderr)
        return 1
    except (ClusterError, psycopg.Error, RuntimeError) as exc:
        print(f"starpass: {exc}", file=sys.stderr)
        return 1
    return result


class _Help(argparse.HelpFormatter):
    """Each option's help ends with its default, when it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS, [])
        if shown and action.option_strings and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse's parser with the formatter above, for every subcommand too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)


def _version() -> str:
    try:
        return metadata.version("starpass")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="starpass", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"starpass {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument(
        "--no-alerts", action="store_true", help="without the alert dispatcher (run it alone)"
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="the database: embedded cluster, migrations, psql")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser("up", help="create and start the embedded cluster").set_defaults(
        handler=cmd_db_up
    )
    db_commands.add_parser("down", help="stop the embedded cluster").set_defaults(
        handler=cmd_db_down
    )
    status = db_commands.add_parser(
        "status", help="is the database up, and where; applied and pending migrations"
    )
    status.add_argument(
        "--verbose", action="store_true", help="list every applied migration with its time"
    )
    status.set_defaults(handler=cmd_db_status)
    url = db_commands.add_parser("url", help="print the app's connection URL")
    url.add_argument("--admin", action="store_true", help="the superuser URL instead")
    url.add_argument("--role", choices=LOGIN_ROLES, help="the URL of this login role instead")
    url.set_defaults(handler=cmd_db_url)
    psql_cmd = db_commands.add_parser(
        "psql",
        help="psql as admin (or --app, --role), pepper set; other arguments go to psql",
        usage="%(prog)s [--app | --role ROLE] [--] [PSQL ARGUMENTS ...]",
        description="psql on the database, as the superuser unless --app or --role; the pepper"
        " is set. Every other argument goes to psql as it is: `starpass db psql -c 'select 1'`,"
        " `starpass db psql -- -At -c 'select 1'` (after `--` even --app and --role are"
        " psql's).",
        allow_abbrev=False,  # psql's --a... options must not be taken for --app
    )
    psql_cmd.add_argument("--app", action="store_true", help="connect as starpass_app")
    psql_cmd.add_argument("--role", choices=LOGIN_ROLES, help="connect as this login role")
    psql_cmd.set_defaults(handler=cmd_db_psql, passes_on=True, needs_database=True)
    migrate_cmd = db_commands.add_parser("migrate", help="apply migrations, functions, grants")
    migrate_cmd.add_argument(
        "--verbose", action="store_true", help="list every change, not only how many"
    )
    migrate_cmd.set_defaults(handler=cmd_db_migrate, needs_database=True)
    schema = db_commands.add_parser(
        "schema", help="print the database's schema, normalised (db/schema.sql: `make schema`)"
    )
    schema.add_argument(
        "--fresh",
        action="store_true",
        help="the schema of a new database migrated beside it, then dropped (db/schema.sql)",
    )
    schema.set_defaults(handler=cmd_db_schema, needs_database=True)
    reset = db_commands.add_parser("reset", help="drop and recreate the embedded app database")
    reset.add_argument("--yes", action="store_true", help="confirm: all data is lost")
    reset.add_argument("--verbose", action="store_true", help="list every change of the migrate")
    reset.set_defaults(handler=cmd_db_reset)

    jobs = commands.add_parser("jobs", help="the scheduled jobs on pg_cron")
    job_commands = jobs.add_subparsers(required=True, metavar="ACTION")
    job_commands.add_parser("install", help="schedule every job (idempotent)").set_defaults(
        handler=cmd_jobs_install, needs_database=True
    )
    job_commands.add_parser(
        "status", help="each job's schedule and last run (by pg_cron or by hand: who)"
    ).set_defaults(handler=cmd_jobs_status, needs_database=True)
    run = job_commands.add_parser("run", help="run one job now, recorded and audited as you")
    run.add_argument(
        "name",
        metavar="NAME",
        help="the job: "
        + ", ".join(job.name for job in app_jobs.JOBS)
        + " (or its pg_cron name, <database>:NAME)",
    )
    run.add_argument("--actor", default=operator(), help="who runs it, as the audit log records it")
    run.add_argument("--json", action="store_true", help="one JSON object instead of a sentence")
    run.set_defaults(handler=cmd_jobs_run, needs_database=True)

    audit = commands.add_parser(
        "audit", help="read the audit log, newest first (as starpass_admin)"
    )
    audit.add_argument("--actor", help="who acted, exactly (e.g. ops:anna, dev-admin)")
    audit.add_argument(
        "--action", help="an action (promo.campaign_paused) or a prefix ending in a dot (promo.)"
    )
    audit.add_argument("--target-type", help="the kind of object: promo_code, user, purchase, ...")
    audit.add_argument("--target-id", help="the object's id (with --target-type)")
    audit.add_argument(
        "--since", type=timestamp, help="from this time on, ISO 8601 with offset (included)"
    )
    audit.add_argument(
        "--until", type=timestamp, help="before this time, ISO 8601 with offset (excluded)"
    )
    audit.add_argument("--limit", type=int, default=50, help="rows per page, 1 to 500")
    audit.add_argument("--cursor", help="where the page starts: the cursor the last page printed")
    audit.add_argument("--json", action="store_true", help="one JSON object per row")
    audit.set_defaults(handler=cmd_audit, needs_database=True)

    chat = commands.add_parser(
        "chat", help="talk to the bot offline, through the sandbox of `make run` (no bot token)"
    )
    chat.add_argument("--user", type=int, required=True, help="the Telegram user id to act as")
    chat.add_argument("--language", default="de", help="the user's language_code (de, en, ...)")
    chat.add_argument("text", nargs="?", help="a message, e.g. /start or '/promo CODE'")
    chat.add_argument("--press", metavar="CALLBACK", help="press the button with this data")
    chat.add_argument("--pay", action="store_true", help="pay the newest invoice")
    chat.set_defaults(handler=cmd_chat)

    telegram = commands.add_parser("telegram", help="the bot's registration at Telegram")
    telegram_commands = telegram.add_subparsers(required=True, metavar="ACTION")
    telegram_commands.add_parser(
        "set-webhook", help="point Telegram at PUBLIC_BASE_URL/telegram/webhook (with the secret)"
    ).set_defaults(handler=cmd_telegram_set_webhook)
    telegram_commands.add_parser(
        "delete-webhook", help="stop Telegram's deliveries (pending updates are kept)"
    ).set_defaults(handler=cmd_telegram_delete_webhook)

    payments = commands.add_parser("payments", help="payments against Telegram's records")
    payment_commands = payments.add_subparsers(required=True, metavar="ACTION")
    payment_commands.add_parser(
        "reconcile", help="compare getStarTransactions with our payments; record missed refunds"
    ).set_defaults(handler=cmd_payments_reconcile, needs_database=True)

    cli_alerts.add_parser(commands)

    tokens = commands.add_parser(
        "tokens", help="the internal API's tokens (INTERNAL_API_TOKENS_JSON)"
    )
    token_commands = tokens.add_subparsers(required=True, metavar="ACTION")
    show = token_commands.add_parser(
        "show", help="print one token, e.g. the development token set-up wrote into .env"
    )
    show.add_argument("name", help="the token's name (its audit actor), e.g. dev-admin")
    show.set_defaults(handler=cmd_tokens_show)

    promo_batch.add_parser(commands)

    commands.add_parser("openapi", help="print the OpenAPI document").set_defaults(
        handler=cmd_openapi
    )
    commands.add_parser("dev-env", help="print a .env with fresh development secrets").set_defaults(
        handler=cmd_dev_env
    )
    return parser


def _embedded(settings: Settings) -> Cluster | None:
    """The embedded cluster, or None when DATABASE_URL points elsewhere."""
    if settings.database_url:
        return None
    return Cluster.for_project(settings)


def cmd_db_up(settings: Settings, args: argparse.Namespace) -> int:
    cluster = _embedded(settings)
    if cluster is None:
        print("DATABASE_URL is set: using that server, not starting one")
        return 0
    created, started = cluster.up()
    if created:
        print(f"created cluster in {cluster.data_dir}")
    print("started PostgreSQL" if started else "PostgreSQL already running")
    if cluster.ensure_app_database():
        print(f"created database {APP_DATABASE}")
    return 0


def cmd_db_down(settings: Settings, args: argparse.Namespace) -> int:
    cluster = _embedded(settings)
    if cluster is None:
        print("DATABASE_URL is set: nothing embedded to stop")
        return 0
    print("stopped PostgreSQL" if cluster.stop() else "PostgreSQL was not running")
    return 0


def cmd_db_status(settings: Settings, args: argparse.Namespace) -> int:
    cluster = _embedded(settings)
    if cluster is None:
        print("external server (DATABASE_URL)")
        try:
            with psycopg.connect(db_cluster.app_url(settings), connect_timeout=5) as conn:
                version = conn.execute("SHOW server_version").fetchone()
            print(f"reachable: PostgreSQL {version[0] if version else '?'}")
            _print_migrations(db_cluster.admin_url(settings), args.verbose)
            return 0
        except psycopg.Error as exc:
            print(f"not reachable: {exc}")
            return 1
    running = cluster.is_running()
    print(f"embedded cluster: {'running' if running else 'stopped'}")
    print(f"  data directory: {cluster.data_dir}")
    print(f"  socket directory: {cluster.socket_dir}, port {cluster.port} (TCP on 127.0.0.1)")
    print(f"  server log: {cluster.log_file}")
    print(f"  app URL: {cluster.url()}")
    print(f"  admin URL: {cluster.admin_url()}")
    print(f"  TCP passwords: {cluster.credentials_file}")
    if running:
        _print_migrations(cluster.admin_url(), args.verbose)
    return 0 if running else 3


def _print_migrations(admin_url: str, verbose: bool) -> None:
    """Applied and pending migrations of the app database (none applied: not migrated yet)."""
    try:
        state = migration_status(admin_url)
    except psycopg.errors.InsufficientPrivilege:
        # DATABASE_URL alone is the app's role, which may not read the migration bookkeeping.
        print("migrations: not readable with this URL (set DATABASE_ADMIN_URL)")
        return
    except psycopg.OperationalError as exc:
        if exc.sqlstate != "3D000":  # the app database does not exist yet
            raise
        print(f"migrations: none applied, no database {APP_DATABASE} (`starpass db up`)")
        return
    last = ""
    if state.applied:
        last = f", last {state.applied[-1][0]} at {app_jobs.iso(state.applied[-1][1])}"
    print(
        f"migrations: {len(state.applied)} applied{last},"
        f" {len(state.pending)} pending"
        + (" (`starpass db migrate` applies them)" if state.pending else "")
    )
    if verbose:
        for name, when in state.applied:
            print(f"  applied {app_jobs.iso(when)}  {name}")
    for name in state.pending:
        print(f"  pending  {name}")
    for name in state.unknown:
        print(f"  applied, but no file: {name} (another branch's, or renamed)")


def _chosen_url(settings: Settings, args: argparse.Namespace, default_admin: bool) -> str:
    if args.role:
        return db_cluster.role_url(settings, args.role)
    if getattr(args, "app", False) or not (getattr(args, "admin", False) or default_admin):
        return db_cluster.app_url(settings)
    return db_cluster.admin_url(settings)


def cmd_db_url(settings: Settings, args: argparse.Namespace) -> int:
    print(_chosen_url(settings, args, default_admin=False))
    return 0


def cmd_db_psql(settings: Settings, args: argparse.Namespace) -> int:
    url = _chosen_url(settings, args, default_admin=True)
    # Credentials and the pepper travel in the environment, never on the command line (`ps`).
    env = {**os.environ, **libpq_environment(url)}
    if pepper_options := settings.pepper_options():
        env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " " + pepper_options).strip()
    psql = shutil.which("psql") or "psql"
    os.execvpe(psql, [psql, *args.passed_on], env)  # noqa: S606 - replaces this process with psql on purpose
    return 0  # pragma: no cover


def cmd_db_migrate(settings: Settings, args: argparse.Namespace) -> int:
    cluster = _embedded(settings)  # running: main() checked (needs_database)
    report = migrate(db_cluster.admin_url(settings))
    if cluster is not None:
        cluster.set_role_passwords()
    installed = app_jobs.install(db_cluster.admin_url(settings))
    scheduled = [line for line in installed if line.startswith("scheduled ")]
    if not args.verbose and len(scheduled) > 3:
        others = [line for line in installed if not line.startswith("scheduled ")]
        installed = [f"jobs scheduled on pg_cron: {len(scheduled)}", *others]
    for line in report.lines(verbose=args.verbose) + installed:
        print(line)
    return 0


def cmd_db_schema(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import schema

    dump = schema.dump_fresh if args.fresh else schema.dump
    sys.stdout.write(dump(db_cluster.admin_url(settings), settings.starpass_pg_bindir))
    return 0


def cmd_jobs_install(settings: Settings, args: argparse.Namespace) -> int:
    for line in app_jobs.install(db_cluster.admin_url(settings)):
        print(line)
    return 0


def cmd_jobs_status(settings: Settings, args: argparse.Namespace) -> int:
    rows = [row.cells() for row in app_jobs.status(db_cluster.admin_url(settings))]
    _print_table(("job", "schedule", "last run (UTC)", "status", "duration", "by"), rows)
    if all(row[1] == "not scheduled" for row in rows):
        print("no job is scheduled (pg_cron not loaded, or `starpass jobs install` not run)")
    return 0


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cmd_jobs_run(settings: Settings, args: argparse.Namespace) -> int:
    done = app_jobs.run(db_cluster.admin_url(settings), args.name, args.actor)
    print(json.dumps(done.as_json()) if args.json else done.line())
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from psycopg.rows import dict_row

    from app.db.api import LIST_AUDIT
    from app.db.cluster import ADMIN_ROLE

    params = {
        "actor": args.actor,
        "action": args.action,
        "target_type": args.target_type,
        "target_id": args.target_id,
        "since": args.since,
        "until": args.until,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    # As the admin API reads it: the role the grant names, not the superuser.
    with psycopg.connect(db_cluster.role_url(settings, ADMIN_ROLE), row_factory=dict_row) as conn:
        rows = conn.execute(LIST_AUDIT, params).fetchall()
    if args.json:
        for row in rows:
            row["occurred_at"] = app_jobs.iso(row["occurred_at"])
            print(json.dumps(row, sort_keys=True))
    elif not rows:
        print("no audit rows match")
    else:
        _print_table(
            ("time (UTC)", "actor", "action", "target", "reason"),
            [
                (
                    app_jobs.iso(r["occurred_at"]),
                    str(r["actor"]),
                    str(r["action"]),
                    f"{r['target_type']} {r['target_id'] or ''}".strip(),
                    str(r["reason"] or ""),
                )
                for r in rows
            ],
        )
    if len(rows) == args.limit:
        print(f"more: --cursor {rows[-1]['cursor']}", file=sys.stderr)
    return 0


def cmd_db_reset(settings: Settings, args: argparse.Namespace) -> int:
    cluster = _embedded(settings)
    if cluster is None:
        print("starpass: reset only works on the embedded cluster", file=sys.stderr)
        return 1
    if not args.yes:
        print("starpass: this drops all data in the embedded database; add --yes", file=sys.stderr)
        return 1
    cluster.init()
    cluster.start()
    with psycopg.connect(cluster.admin_url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(APP_DATABASE))
        )
    print(f"dropped database {APP_DATABASE}")
    cluster.ensure_app_database()
    print(f"created database {APP_DATABASE}")
    return cmd_db_migrate(settings, args)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.api.app import create_app
    from app.api.server import AddressInUse, serve
    from app.bot.webhook import BotConfigError, bot_config

    configure_logging(settings.starpass_log_level)
    if settings.promo_secret_pepper is None:
        print("starpass: PROMO_SECRET_PEPPER is not set (at least 32 bytes)", file=sys.stderr)
        return 2
    check = check_at_start(settings)  # None: the database is unreachable, /readyz reports it
    if check is not None and not check.ok:
        print(f"starpass: refusing to start: {MISMATCH_MESSAGE}", file=sys.stderr)
        return 2
    try:
        bot = bot_config(settings)
    except BotConfigError as exc:
        print(f"starpass: invalid configuration:\n  {exc}", file=sys.stderr)
        return 2
    # Not web.run_app: it cannot take the runner that answers aiohttp's own errors as problems.
    # `server_listening` is logged once the port is bound (app/api/server.py).
    try:
        if bot is not None:
            app = create_app(settings, bot=bot, alerts=not args.no_alerts)
            asyncio.run(serve(app, settings, args.host, args.port))
        else:
            asyncio.run(_serve_with_sandbox(settings, args.host, args.port, not args.no_alerts))
    except AddressInUse as exc:
        print(f"starpass: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve_with_sandbox(settings: Settings, host: str, port: int, alerts: bool) -> None:
    """No TELEGRAM_BOT_TOKEN: the bot talks to the local sandbox, which delivers what
    `starpass chat` sends to the service's webhook."""
    from app.api.app import create_app
    from app.api.server import serve
    from app.bot import webhook
    from app.bot.local import sandbox_running

    async with sandbox_running(settings.starpass_sandbox_port) as base_url:
        config = webhook.sandbox_config(base_url)
        app = create_app(settings, bot=config, alerts=alerts)
        own = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - a comparison
        url = f"http://{own}:{port}{webhook.WEBHOOK_PATH}"

        async def register(app: web.Application) -> None:
            await webhook.set_webhook(app[webhook.BOT], url, config.webhook_secret)

        app.on_startup.append(register)
        get_logger("app.server").info(
            "telegram_sandbox",
            bot_api=base_url,
            hint="no TELEGRAM_BOT_TOKEN: play with `starpass chat --user 1 /start`",
        )
        await serve(app, settings, host, port)


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from app.bot.local import post_update, render

    spec: dict[str, object] = {"user_id": args.user, "language": args.language}
    if args.pay:
        spec["pay"] = True
    elif args.press:
        spec["press"] = args.press
    elif args.text:
        spec["text"] = args.text
    else:
        print("starpass chat: give TEXT, --press CALLBACK or --pay", file=sys.stderr)
        return 2
    for line in render(post_update(settings.starpass_sandbox_port, spec)):
        print(line)
    return 0


def cmd_payments_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from app.bot import webhook
    from app.bot.reconcile import reconcile
    from app.db.cluster import ADMIN_ROLE
    from app.db.pool import create_pool

    config = webhook.bot_config(settings)
    if config is None:
        print("starpass: TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2

    async def run() -> dict[str, int]:
        bot = webhook.make_bot(config)
        pool = create_pool(settings, role=ADMIN_ROLE)
        await pool.open()
        try:
            return dict(await reconcile(bot, pool))
        finally:
            await pool.close()
            await bot.session.close()

    outcomes = asyncio.run(run())
    print(", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "no Stars payments")
    alerted = outcomes.get("UNKNOWN_CHARGE", 0) + outcomes.get("AMOUNT_DIFFERS", 0)
    return 1 if alerted else 0


def cmd_telegram_delete_webhook(settings: Settings, args: argparse.Namespace) -> int:
    from app.bot import webhook

    config = webhook.bot_config(settings)
    if config is None:
        print("starpass: TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2

    async def run() -> None:
        bot = webhook.make_bot(config)
        try:
            # Pending updates stay with Telegram: they are payments and presses.
            await bot.delete_webhook(drop_pending_updates=False)
        finally:
            await bot.session.close()

    asyncio.run(run())
    print("webhook deleted (pending updates kept)")
    return 0


def cmd_telegram_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    from app.bot import webhook

    config = webhook.bot_config(settings)
    if config is None or not settings.public_base_url:
        missing = "TELEGRAM_BOT_TOKEN" if config is None else "PUBLIC_BASE_URL"
        print(f"starpass: {missing} is not set", file=sys.stderr)
        return 2
    url = settings.public_base_url.rstrip("/") + webhook.WEBHOOK_PATH

    async def run() -> str:
        bot = webhook.make_bot(config)
        try:
            await webhook.set_webhook(bot, url, config.webhook_secret)
            info = await bot.get_webhook_info()
            allowed = ", ".join(info.allowed_updates or [])
            return f"webhook set: {info.url} (allowed updates: {allowed})"
        finally:
            await bot.session.close()

    print(asyncio.run(run()))
    return 0


def cmd_tokens_show(settings: Settings, args: argparse.Namespace) -> int:
    """The token alone on stdout (for `TOKEN=$(starpass tokens show dev-admin)`); an unknown
    name lists the names there are, never a token."""
    tokens = {token.name: token for token in settings.api_tokens}
    token = tokens.get(args.name)
    if token is None:
        names = ", ".join(sorted(tokens)) or "none (INTERNAL_API_TOKENS_JSON is empty)"
        print(f"starpass: no token named {args.name!r}; tokens: {names}", file=sys.stderr)
        return 1
    print(token.token.get_secret_value())
    print(f"scopes: {', '.join(sorted(token.scopes))}", file=sys.stderr)
    return 0


def cmd_openapi(settings: Settings, args: argparse.Namespace) -> int:
    from app.api.routes import build

    print(json.dumps(build(), indent=2, sort_keys=True))
    return 0


def cmd_dev_env(settings: Settings, args: argparse.Namespace) -> int:
    tokens = [
        {
            "name": "dev-admin",
            "token": secrets.token_urlsafe(32),
            "scopes": ["promo:redeem", "promo:admin", "metrics", "purchases:refund", "audit:read"],
        }
    ]
    print("# Development secrets generated by `starpass dev-env`; never use them in production.")
    print(f"PROMO_SECRET_PEPPER={secrets.token_urlsafe(48)}")
    print(f"INTERNAL_API_TOKENS_JSON='{json.dumps(tokens)}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
