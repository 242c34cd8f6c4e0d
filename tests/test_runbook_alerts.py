"""Runs every SQL snippet of docs/runbooks/alerts.md as written, as starpass_admin (the role
the runbook names), so the runbook cannot rot."""

from __future__ import annotations

import os
import re

from app.config import PROJECT_ROOT
from app.db.cluster import libpq_environment
from tests.conftest import Conn
from tests.harness import ScratchDatabase
from tests.test_runbook import run_psql

RUNBOOK = PROJECT_ROOT / "docs" / "runbooks" / "alerts.md"
BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


def test_every_sql_snippet_runs_as_the_admin_role(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    blocks = BLOCK.findall(RUNBOOK.read_text())
    assert len(blocks) >= 5
    env = {**os.environ, **libpq_environment(database.staff_url)}
    for body in blocks:
        run_psql(body, env)
    # The snippets end where they started: no window, the default flood control.
    settings = admin_conn.execute(
        "SELECT key, value = default_value AS is_default FROM ops.settings WHERE key IN"
        " ('ops.alert_maintenance_until', 'ops.alert_flood_limit', 'ops.alert_repeat_interval')"
    ).fetchall()
    assert all(row["is_default"] for row in settings) and len(settings) == 3
