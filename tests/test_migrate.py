"""`starpass db migrate`: a report of what changed, nothing the second time, safe in parallel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from app.db.migrate import DB_DIR, MigrationReport, migrate
from tests.conftest import connect
from tests.harness import ScratchDatabase


def _source_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "db"
    shutil.copytree(DB_DIR, copy)
    return copy


def _definition(url: str, signature: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_get_functiondef(%s::regprocedure)", (signature,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_broken_body_fails_the_deploy_and_changes_nothing(
    new_database: Callable[[], ScratchDatabase], tmp_path: Path
) -> None:
    db = new_database()
    source = _source_copy(tmp_path)
    plans = source / "functions" / "api" / "list_plans.sql"
    plans.write_text(plans.read_text().replace("FROM billing.plans", "FROM billing.no_such_table"))
    before = _definition(db.admin_url, "api.list_plans(boolean)")
    with pytest.raises(RuntimeError, match=r"api.list_plans\(boolean\).*no_such_table"):
        migrate(db.admin_url, source)
    assert _definition(db.admin_url, "api.list_plans(boolean)") == before


def test_an_old_signature_left_behind_fails_the_deploy(
    new_database: Callable[[], ScratchDatabase], tmp_path: Path
) -> None:
    db = new_database()
    source = _source_copy(tmp_path)
    plans = source / "functions" / "api" / "list_plans.sql"
    plans.write_text(
        plans.read_text()
        .replace(
            "p_include_inactive boolean DEFAULT false)",
            "p_include_inactive boolean DEFAULT false, p_locale text DEFAULT 'de')",
        )
        .replace("api.list_plans(boolean)", "api.list_plans(boolean, text)")
    )
    with pytest.raises(RuntimeError, match=r"without a source file.*api.list_plans\(boolean\)"):
        migrate(db.admin_url, source)
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("SELECT to_regprocedure('api.list_plans(boolean, text)')").fetchone()
    assert row == (None,), "the failed deploy left nothing behind"


def test_a_trigger_function_without_its_file_fails_the_deploy(
    new_database: Callable[[], ScratchDatabase], tmp_path: Path
) -> None:
    db = new_database()
    source = _source_copy(tmp_path)
    (source / "functions" / "ops" / "notify_alert.sql").unlink()
    with pytest.raises(RuntimeError, match=r"without a source file.*ops.notify_alert\(\)"):
        migrate(db.admin_url, source)


def _migration_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM yoyo._yoyo_migration").fetchone()
    assert row is not None
    return int(row[0])


def test_second_run_changes_nothing_and_says_so(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    db = new_database()  # already migrated once
    report = migrate(db.admin_url)
    assert not report.changed
    assert report.migrations == [] and report.functions_changed == [] and report.bootstrap == []
    assert report.functions_unchanged > 10
    assert report.lines()[-1].startswith("database is up to date: no pending migrations")


def test_changed_function_is_reported(new_database: Callable[[], ScratchDatabase]) -> None:
    db = new_database()
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("COMMENT ON FUNCTION api.list_plans(boolean) IS 'stale'")
        conn.execute("GRANT EXECUTE ON FUNCTION ops.now() TO PUBLIC")
    report = migrate(db.admin_url)
    assert report.functions_changed == ["api.list_plans(boolean)"]
    assert report.privileges_changed == ["ops.now()"]


def test_concurrent_runs_on_a_fresh_database_take_turns(pg_server: str) -> None:
    name = "starpass_test_concurrent_" + os.urandom(3).hex()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_server, dbname=name)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            reports: list[MigrationReport] = list(pool.map(lambda _: migrate(url), range(4)))
        applied = [r for r in reports if r.migrations]
        assert len(applied) == 1, [r.migrations for r in reports]
        assert sum(1 for r in reports if not r.changed) == 3
        assert _migration_count(url) == len(applied[0].migrations)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _starpass(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=120,
    )


def test_cli_uses_database_url_and_starts_nothing(database: ScratchDatabase) -> None:
    env = {"DATABASE_URL": database.app_url, "DATABASE_ADMIN_URL": database.admin_url}
    up = _starpass("db", "up", env=env)
    assert up.returncode == 0 and "not starting one" in up.stdout
    url = _starpass("db", "url", env=env)
    assert url.stdout.strip() == database.app_url
    admin = _starpass("db", "url", "--admin", env=env)
    assert admin.stdout.strip() == database.admin_url
    again = _starpass("db", "migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert "database is up to date" in again.stdout


def test_campaigns_outside_the_timestamp_range_are_clamped_by_the_migration(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Migration 0016 on a database that holds campaigns from before the range: a start
    before 2000 becomes 2000-01-01 UTC (it had begun), an end after 9000 becomes none (it
    never came); the rows then satisfy the new CHECKs and other campaigns are untouched."""
    db = new_database()
    with connect(db.admin_url) as conn:
        ids = [
            conn.execute(
                "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'clamp', p_grant_days => 1,"
                " p_ends_at => '2031-01-01 00:00:00+00') AS id",
                (f"CLAMPTEST{n}",),
            ).fetchone()["id"]  # type: ignore[index]
            for n in range(4)
        ]
        conn.execute(
            "ALTER TABLE promo.promo_codes DROP CONSTRAINT promo_codes_starts_at_range,"
            " DROP CONSTRAINT promo_codes_ends_at_range"
        )
        conn.execute("DROP FUNCTION ops.timestamp_range()")
        conn.execute("DELETE FROM yoyo._yoyo_migration WHERE migration_id = '0016.timestamp_range'")
        for promo_code_id, change in zip(
            ids,
            [
                "ends_at = '9999-12-31T23:00:00-12:00'",
                "starts_at = '0001-01-01T00:00:00+14:00'",
                "ends_at = 'infinity', starts_at = '-infinity'",
                "starts_at = '2000-01-01 00:00:00+00'",
            ],
            strict=True,
        ):
            conn.execute(
                f"UPDATE promo.promo_codes SET {change} WHERE promo_code_id = %s", (promo_code_id,)
            )
    report = migrate(db.admin_url)
    assert report.migrations == ["0016.timestamp_range"]
    with connect(db.admin_url) as conn:
        rows = conn.execute(
            "SELECT starts_at::text, ends_at::text FROM promo.promo_codes"
            " WHERE promo_code_id = ANY(%s) ORDER BY promo_code_id",
            (ids,),
        ).fetchall()
        constraints = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conname LIKE 'promo_codes_%%_range' ORDER BY 1"
        ).fetchall()
    starts = [r["starts_at"] for r in rows]
    assert [r["ends_at"] for r in rows] == [
        None,
        "2031-01-01 00:00:00+00",
        None,
        "2031-01-01 00:00:00+00",
    ]
    assert starts[1:] == ["2000-01-01 00:00:00+00"] * 3 and starts[0] != starts[1]
    assert [c["conname"] for c in constraints] == [
        "promo_codes_ends_at_range",
        "promo_codes_starts_at_range",
    ]


def test_keys_used_before_the_protocol_replay_after_the_backfill(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Migration 0022.idempotency_backfill on a database whose purchases, payments and rollback
    requests predate ops.idempotency_keys (their answers in the old `result` columns): each key
    replays its first answer whole, so the migration's hashes are the functions' hashes, and the
    same key with other arguments is a conflict."""
    db = new_database()
    user = 6 * 10**9 + 1
    charge = "legacy charge/ü"  # not a key itself: its digest is
    calls: dict[str, tuple[str, list[object]]] = {
        "init": (
            "SELECT * FROM api.init_purchase(%s, 'premium_30d', NULL, 'legacy-init-1')",
            [user],
        ),
        "unknown": (
            "SELECT * FROM api.complete_purchase(%s, 'legacy-no-such-payload', 'legacy-2',"
            " 'XTR', 1)",
            [user],
        ),
    }
    with connect(db.admin_url) as conn:
        conn.execute("SELECT api.touch_user(%s)", (user,))
        first: dict[str, dict[str, object] | None] = {
            name: conn.execute(sql, args).fetchone() for name, (sql, args) in calls.items()
        }
        opened = first["init"]
        assert opened is not None
        calls["paid"] = (
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            [user, opened["invoice_payload"], charge, opened["price_stars"]],
        )
        first["paid"] = conn.execute(*calls["paid"]).fetchone()
        conn.execute("SELECT * FROM api.mark_purchase_refunded(%s, 'test', 'refund')", (charge,))
        calls["rollback"] = (
            "SELECT * FROM api.rollback_refunded_promo(%s, 'test', 'legacy-rollback-1')",
            [opened["purchase_id"]],
        )
        first["rollback"] = conn.execute(*calls["rollback"]).fetchone()
        # Back to before the backfill: the answers in the old columns, no bindings.
        conn.execute(
            "ALTER TABLE billing.payments ADD COLUMN result jsonb;"
            " ALTER TABLE promo.rollback_requests ADD COLUMN result jsonb;"
            " ALTER TABLE billing.payments DISABLE TRIGGER payments_append_only;"
            " UPDATE billing.payments AS p SET result = k.result - 'replayed'"
            "   FROM ops.idempotency_keys AS k WHERE k.scope = 'billing.complete_purchase'"
            "   AND k.idempotency_key = encode(sha256(convert_to(p.telegram_payment_charge_id,"
            "       'UTF8')), 'hex');"
            " ALTER TABLE billing.payments ENABLE TRIGGER payments_append_only;"
            " UPDATE promo.rollback_requests AS q SET result = jsonb_build_object("
            "   'outcome', k.result->'outcome',"
            "   'promo_redemption_id', k.result->'promo_redemption_id')"
            "   FROM ops.idempotency_keys AS k WHERE k.scope = 'promo.rollback_refunded_promo'"
            "   AND k.idempotency_key = q.idempotency_key;"
            " ALTER TABLE ops.idempotency_keys DISABLE TRIGGER USER;"
            " DELETE FROM ops.idempotency_keys;"
            " ALTER TABLE ops.idempotency_keys ENABLE TRIGGER USER;"
            " DELETE FROM yoyo._yoyo_migration WHERE migration_id = '0022.idempotency_backfill'"
        )
    report = migrate(db.admin_url)
    assert report.migrations == ["0022.idempotency_backfill"]
    with connect(db.admin_url) as conn:
        for name, (sql, args) in calls.items():
            before = first[name]
            assert before is not None
            assert conn.execute(sql, args).fetchone() == {**before, "replayed": True}, name
        other = conn.execute(
            "SELECT outcome FROM api.init_purchase(%s, 'premium_90d', NULL, 'legacy-init-1')",
            (user,),
        ).fetchone()
        assert other == {"outcome": "IDEMPOTENCY_CONFLICT"}
        columns = conn.execute(
            "SELECT attrelid::regclass::text AS t FROM pg_attribute WHERE attname = 'result'"
            " AND NOT attisdropped AND attrelid IN ('billing.payments'::regclass,"
            " 'promo.rollback_requests'::regclass)"
        ).fetchall()
        assert columns == [], "the old answer columns are dropped"


def test_support_keys_used_before_the_protocol_replay_after_the_backfill(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Migration 0030.support_idempotency on a database whose support requests have no
    bindings yet: a redelivered request replays its first ticket whole (the migration's hash is
    the function's), and the key from another user is a conflict that opens nothing."""
    db = new_database()
    user = 6 * 10**9 + 7
    call = "SELECT * FROM api.open_payment_support(%s, 'Zahlung fehlt', 'tg-update:legacy-1')"
    with connect(db.admin_url) as conn:
        first = conn.execute(call, (user,)).fetchone()
        assert first is not None and first["outcome"] == "OPENED"
        # Back to before the migration: no result type, no bindings of support requests.
        conn.execute(
            "DROP FUNCTION api.open_payment_support(bigint, text, text);"
            " DROP TYPE api.open_payment_support_result;"
            " ALTER TABLE ops.idempotency_keys DISABLE TRIGGER USER;"
            " DELETE FROM ops.idempotency_keys WHERE scope = 'billing.open_payment_support';"
            " ALTER TABLE ops.idempotency_keys ENABLE TRIGGER USER;"
            " DELETE FROM yoyo._yoyo_migration WHERE migration_id = '0030.support_idempotency'"
        )
    report = migrate(db.admin_url)
    assert report.migrations == ["0030.support_idempotency"]
    with connect(db.admin_url) as conn:
        assert conn.execute(call, (user,)).fetchone() == {**first, "replayed": True}
        other = conn.execute(call, (user + 1,)).fetchone()
        assert other is not None and other["outcome"] == "IDEMPOTENCY_CONFLICT"
        count = conn.execute("SELECT count(*) AS n FROM billing.support_requests").fetchone()
        assert count == {"n": 1}
