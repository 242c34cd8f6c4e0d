"""The allowed values the Python side names, each the mirror of a domain in the database
(migrations 0019, 0022, 0025): tests/test_vocabulary.py fails when one differs from its
domain's CHECK, so a value added in SQL is added here too."""

from __future__ import annotations

from typing import Literal

# promo.campaign_kind
CampaignKind = Literal["PREMIUM_GRANT", "PERCENT_DISCOUNT"]
# promo.campaign_status
CampaignStatus = Literal["ACTIVE", "PAUSED", "EXPIRED", "DEPLETED"]
# The statuses an operator sets (api.set_promo_campaign_status); the others follow from time
# and capacity.
SettableStatus = Literal["ACTIVE", "PAUSED"]
# promo.redeem_outcome, but IDEMPOTENCY_CONFLICT: the outcomes a redemption answers with a
# result (the HTTP API answers a key conflict as a 409 problem).
RedeemOutcome = Literal[
    "APPLIED",
    "RESERVED",
    "NOT_FOUND",
    "NOT_STARTED",
    "EXPIRED",
    "PAUSED",
    "DEPLETED",
    "ALREADY_REDEEMED",
    "THROTTLED",
    "INVALID_CODE",
]
# promo.redeem_outcome
AttemptOutcome = Literal[RedeemOutcome, "IDEMPOTENCY_CONFLICT"]
# referral.reward_choice
RewardChoice = Literal["PREMIUM_DAYS", "DISCOUNT"]
# ops.idempotency_key: the rule of ops.is_idempotency_key (migration 0027: the characters and
# the length apart, which PostgreSQL matches 25 times faster), as one regex for the request
# models and the OpenAPI document. The database checks keys itself; this lets a malformed
# Idempotency-Key header be refused as the header it is.
IDEMPOTENCY_KEY_CHARACTERS = "A-Za-z0-9._:-"
IDEMPOTENCY_KEY_LENGTH = (8, 128)
IDEMPOTENCY_KEY_PATTERN = (
    f"^[{IDEMPOTENCY_KEY_CHARACTERS}]{{{IDEMPOTENCY_KEY_LENGTH[0]},{IDEMPOTENCY_KEY_LENGTH[1]}}}$"
)
# promo.import_mode: how api.import_promo_codes treats a batch with refused lines.
ImportMode = Literal["ALL_OR_NOTHING", "PARTIAL", "DRY_RUN"]
# promo.import_status: what api.import_promo_codes did with a line.
ImportStatus = Literal["INSERTED", "VALID", "DUPLICATE", "INVALID"]
# The outcomes of api.rollback_refunded_promo (the HTTP API answers IDEMPOTENCY_CONFLICT as a
# 409 problem).
RollbackOutcome = Literal["REVOKED", "ALREADY_REVOKED", "NO_PROMO"]
# ops.alert_severity (PagerDuty's severities, most severe first)
AlertSeverity = Literal["critical", "error", "warning", "info"]
# ops.alert_state: an alert's or a delivery's
AlertState = Literal["pending", "delivered", "dead"]
# ops.alert_action
AlertAction = Literal["trigger", "resolve"]
# ops.alert_provider
AlertProvider = Literal["generic", "slack", "pagerduty"]
