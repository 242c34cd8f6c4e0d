"""Telegram webhook updates/s: `/start` from distinct users, 32 at a time, posted by wrk to
`starpass serve`'s /telegram/webhook with the secret token, the bot answering each through a
local Bot API (app/bot/sandbox.py, in a process of its own, as Telegram would be); against the
SQL ceiling from the same run: pgbench calling what one such update runs in the database
(api.claim_telegram_update, api.greet_user, api.finish_telegram_update, each its own
transaction as the service makes them). Every update must be answered 200, handled once
(core.telegram_updates) and answered with one message (the Bot API's record of sendMessage
calls), or the run fails. Reported: updates/s, latency, the ratio to the SQL ceiling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

from app.bot.sandbox import SANDBOX_TOKEN
from app.bot.webhook import WEBHOOK_PATH
from app.config import PROJECT_ROOT
from bench.common import missing, serving, start_durable, summarize
from bench.http import CLIENTS, THREADS, WRK_THREAD_IDS, wrk
from bench.promo import pgbench

PORT = 18090
SANDBOX_PORT = 18091
SECRET = "bench-webhook-secret-0123456789"  # noqa: S105 - this run's throwaway secret
FIRST_USER = 3_000_000_000

# Each update a new id and a new user (bench.http's WRK_THREAD_IDS spreads them over wrk's threads).
LUA = WRK_THREAD_IDS + """
function request()
  local i = next_id()
  local body = string.format('{"update_id": %d, "message": {"message_id": %d, "date": 1764979200,'
    .. ' "chat": {"id": %d, "type": "private"}, "from": {"id": %d, "is_bot": false,'
    .. ' "first_name": "Testnutzer", "language_code": "de"}, "text": "/start",'
    .. ' "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}',
    i, i, FIRST + i, FIRST + i)
  return wrk.format("POST", "PATH", {["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "SECRET"}, body)
end
""".replace("FIRST", str(FIRST_USER)).replace("PATH", WEBHOOK_PATH).replace("SECRET", SECRET)  # fmt: skip

# The ceiling takes users and update ids past what the webhook run reaches.
SQL_SCRIPT = (
    "\\set u random(1, 1000000000)\n"
    "SELECT outcome FROM api.claim_telegram_update(5000000000 + nextval('bench.sql_updates'));\n"
    "SELECT created FROM api.greet_user(4000000000 + currval('bench.sql_updates'), NULL,"
    " 'Testnutzer', 'de', NULL);\n"
    "SELECT api.finish_telegram_update(5000000000 + currval('bench.sql_updates'));\n"
)

SANDBOX = f"""
from aiohttp import web
from app.bot.sandbox import create_sandbox_app
web.run_app(create_sandbox_app(), host="127.0.0.1", port={SANDBOX_PORT}, print=None,
            access_log=None)
"""


def sandbox_calls() -> list[dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{SANDBOX_PORT}/sandbox/calls", timeout=30) as r:
        body = json.load(r)
    return list(body["calls"] if isinstance(body, dict) else body)


def updates(admin_url: str) -> tuple[int, int, int]:
    """The webhook run's updates: stored, handled, the most deliveries one took."""
    with psycopg.connect(admin_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE handled_at IS NOT NULL), max(attempts)"
            " FROM core.telegram_updates WHERE update_id < 5000000000"
        ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2] or 0)) if row else (0, 0, 0)


def main() -> int:
    if missing("wrk", "pgbench"):
        return 1
    cluster, db = start_durable("starpass_bench_webhook")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-webhook-"))
    bot_api = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-c", SANDBOX],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with psycopg.connect(db.admin_url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA bench")
            conn.execute("CREATE SEQUENCE bench.sql_updates")
        for _ in range(100):
            try:
                sandbox_calls()
                break
            except OSError:
                time.sleep(0.1)
        env = {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{SANDBOX_PORT}",
            "STARPASS_DB_POOL_MAX": str(CLIENTS),
        }
        with serving(db, PORT, [], **env) as server:
            web = wrk(f"http://127.0.0.1:{PORT}", workdir, LUA, "updates")
            peak_rss = next(
                int(line.split()[1])
                for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
            # wrk stops with requests in flight; the service finishes them (up to 10 s).
            for _ in range(100):
                handled = updates(db.admin_url)
                if handled[0] == handled[1]:
                    break
                time.sleep(0.1)
        sent = sum(
            1 for call in sandbox_calls() if str(call.get("method", "")).lower() == "sendmessage"
        )
        sql = pgbench(
            db.admin_url, "webhook_sql", workdir, text=SQL_SCRIPT, clients=CLIENTS, warm_up=0
        )
    finally:
        bot_api.terminate()
        bot_api.wait(timeout=30)
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = web["rate"] / sql.tps
    print(f"{CLIENTS} connections, {THREADS} wrk threads; /start from a new user per update")
    print("| path | updates/s | latency |")
    print("|---|---|---|")
    print(
        f"| webhook POST {WEBHOOK_PATH} (bot answers via the local Bot API)"
        f" | {web['rate']:,.0f} | p50 {web['p50']:.2f} ms, p99 {web['p99']:.2f} ms |"
    )
    print(f"| direct SQL: claim, greet_user, finish | {sql.tps:,.0f} | p99 {sql.p99_ms:.2f} ms |")
    print(f"\nwebhook / SQL: {ratio:.2f} (reported)")
    summarize(
        "webhook /start updates / direct SQL of the same calls",
        ratio,
        f"{web['rate']:,.0f} / {sql.tps:,.0f} updates/s",
    )
    print(f"server peak RSS: {peak_rss / 1024:.0f} MiB")
    print(
        f"updates stored {handled[0]:,}, handled {handled[1]:,}, most attempts {handled[2]};"
        f" messages sent {sent:,}"
    )
    ok = handled[0] == handled[1] == sent and handled[0] > 0 and handled[2] <= 1
    if not ok:
        print("FAILED: not every update was handled exactly once with one answer")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
