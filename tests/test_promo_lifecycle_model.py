"""A hypothesis state machine of one campaign's lifecycle against a Python model of the rules:
redemptions by a few users (valid code or guesses), replays and reuses of their keys, pauses and
resumes. After every step the database answers what the model says, and the books agree."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.conftest import connect
from tests.harness import ScratchDatabase

MAX_USES = 2
USERS = 3  # few enough that some reach the throttle, more than the campaign's uses
THROTTLE_AFTER = 5  # promo.throttle_max_failures: the fifth counted refusal blocks the user
_users = itertools.count(6 * 10**9, 100)


@dataclass
class Model:
    used: int = 0
    paused: bool = False
    redeemed: set[int] = field(default_factory=set)
    failures: dict[int, int] = field(default_factory=dict)
    answers: dict[str, tuple[int, str, str]] = field(
        default_factory=dict
    )  # key: user, code, outcome

    def redeem(self, user: int, valid: bool) -> str:
        if self.failures.get(user, 0) >= THROTTLE_AFTER:
            return "THROTTLED"
        if not valid:
            outcome = "NOT_FOUND"
        elif self.paused:
            outcome = "PAUSED"
        elif user in self.redeemed:
            outcome = "ALREADY_REDEEMED" if self.used < MAX_USES else "DEPLETED"
        elif self.used >= MAX_USES:
            outcome = "DEPLETED"
        else:
            self.used += 1
            self.redeemed.add(user)
            return "APPLIED"
        self.failures[user] = self.failures.get(user, 0) + 1
        return outcome

    def conflict(self, user: int) -> None:
        """A key reused with other arguments is answered before the throttle is looked at, and
        counts as a refusal unless the user is blocked."""
        if self.failures.get(user, 0) < THROTTLE_AFTER:
            self.failures[user] = self.failures.get(user, 0) + 1


class PromoLifecycle(RuleBasedStateMachine):
    database: ScratchDatabase  # set by the test

    @initialize()
    def campaign(self) -> None:
        self.conn = connect(self.database.app_url)
        self.admin = connect(self.database.staff_url)
        self.books = connect(self.database.admin_url)  # a superuser reads the tables
        self.code = "LIFE" + secrets.token_hex(5).upper()
        row = self.admin.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'lifecycle model',"
            " p_grant_days => 7, p_max_uses => %s) AS id",
            (self.code, MAX_USES),
        ).fetchone()
        assert row is not None
        self.campaign_id = row["id"]
        first = next(_users)
        self.users = [first + i for i in range(USERS)]
        self.model = Model()
        self.steps: list[str] = []

    def call(self, user: int, code: str, key: str) -> dict[str, object]:
        row = self.conn.execute(
            "SELECT outcome, replayed FROM api.redeem_promo_code(%s, %s, %s)", (user, code, key)
        ).fetchone()
        assert row is not None
        return row

    @rule(user=st.integers(0, USERS - 1), valid=st.booleans())
    def redeem(self, user: int, valid: bool) -> None:
        uid, key = self.users[user], f"life-{self.code}-{len(self.steps)}"
        code = self.code if valid else f"NOPE{len(self.steps)}"
        self.steps.append(key)
        expected = self.model.redeem(uid, valid)
        got = self.call(uid, code, key)
        assert got == {"outcome": expected, "replayed": False}
        if expected not in ("THROTTLED",):
            self.model.answers[key] = (uid, code, expected)

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        if not self.model.answers:
            return
        key = data.draw(st.sampled_from(list(self.model.answers)))
        uid, code, outcome = self.model.answers[key]
        assert self.call(uid, code, key) == {"outcome": outcome, "replayed": True}

    @rule(data=st.data(), other=st.integers(0, USERS - 1))
    def reuse_a_key_for_another_user(self, data: st.DataObject, other: int) -> None:
        if not self.model.answers:
            return
        key = data.draw(st.sampled_from(list(self.model.answers)))
        uid, code, _ = self.model.answers[key]
        if self.users[other] == uid:
            return
        got = self.call(self.users[other], code, key)
        assert got == {"outcome": "IDEMPOTENCY_CONFLICT", "replayed": False}
        self.model.conflict(self.users[other])

    @rule(pause=st.booleans())
    def pause_or_resume(self, pause: bool) -> None:
        self.admin.execute(
            "SELECT api.set_promo_campaign_status(%s, %s, 'ops:model', 'lifecycle model')",
            (self.campaign_id, "PAUSED" if pause else "ACTIVE"),
        )
        self.model.paused = pause

    @invariant()
    def books_agree(self) -> None:
        if not hasattr(self, "model"):
            return
        row = self.books.execute(
            "SELECT (SELECT used_total FROM api.get_promo_campaign(%s)) AS used,"
            " (SELECT count(*) FROM billing.ledger WHERE user_id = ANY(%s)) AS credited",
            (self.campaign_id, self.users),
        ).fetchone()
        assert row == {"used": self.model.used, "credited": len(self.model.redeemed)}

    def teardown(self) -> None:
        if hasattr(self, "conn"):
            for conn in (self.conn, self.admin, self.books):
                conn.close()


def test_the_promo_lifecycle_follows_the_model(database: ScratchDatabase) -> None:
    PromoLifecycle.database = database
    PromoLifecycle.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    PromoLifecycle.TestCase().runTest()
