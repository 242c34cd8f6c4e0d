"""Contract checks that need a session of their own."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import IsolationLevel

from tests.conftest import PEPPER
from tests.harness import ScratchDatabase


def test_redeem_refuses_repeatable_read(database: ScratchDatabase) -> None:
    with psycopg.connect(database.app_url, options=f"-c promo.pepper={PEPPER}") as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT * FROM api.redeem_promo_code(91, 'ANYCODE1', 'isolation-1')")
    assert caught.value.diag.sqlstate == "SP409"
    assert caught.value.diag.message_primary == "redeem_promo_code needs READ COMMITTED"


def test_redeem_without_pepper_is_refused(database: ScratchDatabase) -> None:
    with psycopg.connect(database.app_url) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM api.redeem_promo_code(92, 'ANYCODE1', 'no-pepper-1')")
    assert caught.value.diag.sqlstate == "SP500"
    assert caught.value.diag.message_primary == "promo.pepper is not set"
