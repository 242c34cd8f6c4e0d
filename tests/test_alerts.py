"""The alert outbox wakes dispatchers with a NOTIFY, sent only when the raising transaction
commits."""

from __future__ import annotations

import psycopg

from tests.harness import ScratchDatabase


def test_a_committed_alert_notifies_listeners(database: ScratchDatabase) -> None:
    with (
        psycopg.connect(database.app_url, autocommit=True) as listener,
        psycopg.connect(database.admin_url, autocommit=True) as raiser,
    ):
        listener.execute("LISTEN ops_alerts")
        with raiser.transaction():
            row = raiser.execute(
                "SELECT ops.raise_alert('jobs.failed', 'error', 'test', '{}', 'notify-test-1')"
            ).fetchone()
            assert row is not None and row[0] is not None
            alert_id = row[0]
            # Nothing is sent before the commit.
            assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        received = list(listener.notifies(timeout=5, stop_after=1))
        assert [(n.channel, n.payload) for n in received] == [("ops_alerts", str(alert_id))]
        with raiser.transaction():
            raiser.execute(
                "SELECT ops.raise_alert('jobs.failed', 'error', 'test', '{}', 'notify-test-2')"
            )
            raise psycopg.Rollback()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "rolled back: no alert"
