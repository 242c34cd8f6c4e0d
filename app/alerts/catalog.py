"""Every event the database raises, with its severity, tier and default targets: the code's
copy of the catalog in docs/alerts.md (tests/test_alert_catalog.py keeps the two, and the
events the SQL functions raise, equal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from app.vocabulary import AlertProvider as Provider
from app.vocabulary import AlertSeverity as Severity

Tier = Literal[1, 2, 3]
# Most severe first (PagerDuty's order).
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
PROVIDERS: tuple[Provider, ...] = get_args(Provider)
TIER_NAMES: dict[int, str] = {1: "page", 2: "chat", 3: "log"}
# Where a tier goes when the policy does not say: those of these targets that are configured,
# else the first configured of FALLBACK_CHAIN (so an alert is never routed nowhere).
DEFAULT_TIER_TARGETS: dict[int, tuple[str, ...]] = {
    1: ("pagerduty", "slack"),
    2: ("slack",),
    3: ("generic",),
}
FALLBACK_CHAIN: tuple[str, ...] = ("generic", "slack", "pagerduty")
# The event of a summary message (several held alerts towards one target in one send); the
# dispatcher makes it, the database never raises it.
SUMMARY_EVENT = "ops.alerts_summarized"


@dataclass(frozen=True)
class Event:
    name: str
    severity: Severity
    tier: Tier
    raised_by: str
    resolved_when: str | None = None

    @property
    def default_targets(self) -> tuple[str, ...]:
        return DEFAULT_TIER_TARGETS[self.tier]


_EVENTS = (
    Event(
        "payments.amount_mismatch",
        "critical",
        1,
        "api.complete_purchase: a payment's amount, currency or user does not match its purchase",
    ),
    Event(
        "payments.duplicate_payment",
        "critical",
        1,
        "api.complete_purchase: a second charge for a paid purchase",
    ),
    Event(
        "payments.unknown_purchase",
        "critical",
        1,
        "api.complete_purchase: a payment for no known invoice",
    ),
    Event(
        "payments.charge_id_conflict",
        "critical",
        1,
        "api.complete_purchase: a charge id again with other details",
    ),
    Event(
        "payments.unknown_charge",
        "critical",
        1,
        "api.reconcile_star_payment: Telegram lists a payment we never recorded",
    ),
    Event(
        "payments.reconcile_mismatch",
        "critical",
        1,
        "api.reconcile_star_payment: a payment differs from Telegram's record",
    ),
    Event(
        "payments.reservation_lost",
        "warning",
        3,
        "api.complete_purchase: paid at the discount after the reservation was released",
    ),
    Event(
        "payments.support_request",
        "warning",
        2,
        "api.open_payment_support: a user's /paysupport request",
    ),
    Event(
        "promo.campaign_autopaused",
        "critical",
        1,
        "api.run_promo_bruteforce_guard: a campaign paused as brute-forced",
        "an operator resumes the campaign (api.set_promo_campaign_status)",
    ),
    Event(
        "promo.bruteforce_suspected",
        "warning",
        2,
        "api.run_promo_bruteforce_guard: a global NOT_FOUND surge",
    ),
    Event("jobs.failed", "error", 2, "api.check_job_health: a job's last run failed"),
    Event(
        "jobs.stale",
        "error",
        2,
        "api.check_job_health: a job without a success for 3 intervals",
        "the job succeeds again (api.check_job_health)",
    ),
)
EVENTS: dict[str, Event] = {e.name: e for e in _EVENTS}


def severity_rank(severity: str) -> int:
    """0 for critical, 3 for info; unknown values rank as info."""
    for rank, known in enumerate(SEVERITIES):
        if known == severity:
            return rank
    return len(SEVERITIES) - 1
