"""Runs every SQL and shell snippet of docs/runbooks/promo_incident_response.md as written,
against a test database and the service on a real port, so the runbook cannot rot."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

from app.config import PROJECT_ROOT
from app.db.cluster import libpq_environment
from tests.conftest import LIVE_TOKEN, PEPPER, Conn, connect
from tests.harness import ScratchDatabase

RUNBOOK = PROJECT_ROOT / "docs" / "runbooks" / "promo_incident_response.md"
BLOCK = re.compile(r"```(sql|sh)\n(.*?)```", re.S)


def _scenario(database: ScratchDatabase, admin: Conn) -> dict[str, str]:
    """A campaign with a prefix, refusals against it, and a refunded discounted purchase."""
    code = "RUNBOOK" + secrets.token_hex(4).upper()
    campaign = admin.execute(
        "SELECT api.create_promo_code(%s, 'PERCENT_DISCOUNT', 'runbook drill',"
        " p_discount_percent => 20, p_max_uses => 100, p_prefix => 'RUNBOOK') AS id",
        (code,),
    ).fetchone()
    assert campaign is not None
    user = 6 * 10**12 + secrets.randbelow(10**9)
    with connect(database.app_url) as app:
        for i in range(3):
            app.execute(
                "SELECT api.redeem_promo_code(%s, %s, %s)",
                (user, f"RUNBOOKNOPE{i}", f"rb-nope-{user}-{i}"),
            )
        buyer = user + 1
        rid = app.execute(
            "SELECT promo_redemption_id FROM api.redeem_promo_code(%s, %s, %s)",
            (buyer, code, f"rb-{buyer}"),
        ).fetchone()
        assert rid is not None
        invoice = app.execute(
            "SELECT * FROM api.init_purchase(%s, 'premium_30d', %s, %s)",
            (buyer, rid["promo_redemption_id"], f"rb-init-{buyer}"),
        ).fetchone()
        assert invoice is not None
        charge = f"rb-charge-{buyer}"
        app.execute(
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            (buyer, invoice["invoice_payload"], charge, invoice["price_stars"]),
        )
        app.execute("SELECT * FROM api.mark_purchase_refunded(%s, 'support', 'drill')", (charge,))
    return {
        "campaign_id": str(campaign["id"]),
        "user_id": str(user),
        "purchase_id": str(invoice["purchase_id"]),
    }


def run_psql(
    body: str, env: dict[str, str], variables: list[str] | None = None, cwd: Path | None = None
) -> None:
    """One SQL snippet through psql, as an operator pastes it; it must succeed."""
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", *(variables or []), "-f", "-"],
        input=body,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
        cwd=cwd,
    )
    assert result.returncode == 0, f"{body}\n{result.stderr}"


def test_every_runbook_snippet_runs_as_written(
    database: ScratchDatabase, admin_conn: Conn, live_server: str, tmp_path: Path
) -> None:
    values = _scenario(database, admin_conn)
    blocks = BLOCK.findall(RUNBOOK.read_text())
    sql_blocks = [body for kind, body in blocks if kind == "sql"]
    # The first shell block shows what to export (with placeholders); the test exports real values.
    sh_blocks = [body for kind, body in blocks if kind == "sh"][1:]
    assert len(sql_blocks) >= 10 and len(sh_blocks) >= 5

    pg_env = {
        **os.environ,
        **libpq_environment(database.admin_url),
        "PGOPTIONS": f"-c promo.pepper={PEPPER}",
    }
    audit_file = tmp_path / "exports" / "incident-audit.csv"
    audit_file.parent.mkdir(mode=0o700)
    values_sql = {**values, "audit_file": str(audit_file)}
    variables = [arg for name, value in values_sql.items() for arg in ("-v", f"{name}={value}")]
    for body in sql_blocks:
        run_psql(body, pg_env, variables, cwd=tmp_path)

    sh_env = {
        **os.environ,
        "STARPASS_URL": live_server,
        "TOKEN": LIVE_TOKEN,
        "CAMPAIGN_ID": values["campaign_id"],
        "USER_ID": values["user_id"],
        "PURCHASE_ID": values["purchase_id"],
    }
    for body in sh_blocks:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", body],
            capture_output=True,
            text=True,
            env=sh_env,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, f"{body}\n{result.stdout}\n{result.stderr}"

    assert audit_file.read_text().startswith("occurred_at,actor,db_role,action")
    assert not (tmp_path / "incident-audit.csv").exists(), "exports go to :audit_file only"
    revoked = admin_conn.execute(
        "SELECT r.status FROM billing.purchases p"
        " JOIN promo.promo_redemptions r USING (promo_redemption_id)"
        " WHERE p.purchase_id = %s",
        (values["purchase_id"],),
    ).fetchone()
    assert revoked == {"status": "REVOKED"}, (
        "the refund-wave steps revoked the drill purchase's promo"
    )
