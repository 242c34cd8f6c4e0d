"""Property: any sequence of grants and removals at any times leaves premium_until where a
plain model of the rules puts it, and the ledger chain intact."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Conn

START = datetime(2031, 1, 1, tzinfo=UTC)
_user_ids = itertools.count(5 * 10**9)

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400 * 24),  # hours since the previous step
        st.integers(min_value=-60, max_value=400).filter(lambda d: d != 0),
    ),
    min_size=1,
    max_size=12,
)


def model(history: list[tuple[int, int]]) -> datetime | None:
    """The rules in their plainest form: grants extend from max(now, until), removals cut."""
    now, until = START, None
    for hours, days in history:
        now += timedelta(hours=hours)
        if days > 0:
            until = max(now, until or now) + timedelta(days=days)
        elif until is not None:
            until += timedelta(days=days)
    return until


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps)
def test_premium_until_follows_the_model(admin_conn: Conn, history: list[tuple[int, int]]) -> None:
    user_id = next(_user_ids)
    admin_conn.execute("SELECT api.touch_user(%s)", (user_id,))
    now = START
    for hours, days in history:
        now += timedelta(hours=hours)
        admin_conn.execute("UPDATE ops.clock SET frozen_at = %s", (now,))
        had_premium = admin_conn.execute(
            "SELECT premium_until FROM api.get_premium_status(%s)", (user_id,)
        ).fetchone()
        assert had_premium is not None
        if days < 0 and had_premium["premium_until"] is None:
            continue  # removing days from someone who never had premium is refused (pgTAP)
        admin_conn.execute(
            "SELECT api.adjust_premium_days(%s, %s, 'property', 'hypothesis')", (user_id, days)
        )
    status = admin_conn.execute(
        "SELECT premium_until FROM api.get_premium_status(%s)", (user_id,)
    ).fetchone()
    assert status is not None and status["premium_until"] == model(history)
    assert admin_conn.execute("SELECT * FROM api.check_invariants()").fetchall() == []
