"""The response bodies of the internal API, as pydantic models: the OpenAPI document's schemas
(app/api/routes.py) and what the tests validate responses with."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.vocabulary import CampaignKind, CampaignStatus, RedeemOutcome, RollbackOutcome


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedeemResult(Response):
    outcome: RedeemOutcome
    promo_redemption_id: int | None
    promo_code_id: int | None
    kind: CampaignKind | None
    grant_days: int | None
    discount_percent: int | None
    reserved_until: datetime | None
    premium_until: datetime | None
    blocked_until: datetime | None
    replayed: bool


class CampaignSummary(Response):
    promo_code_id: int
    campaign: str
    kind: CampaignKind
    grant_days: int | None
    discount_percent: int | None
    max_uses: int | None
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime | None
    prefix: str | None
    status: CampaignStatus
    paused_reason: str | None
    created_at: datetime
    created_by: str


class Campaign(CampaignSummary):
    effective_status: CampaignStatus
    used_total: int
    applied: int
    live_reservations: int
    consumed: int
    revoked: int
    capacity_left: int | None
    failed_attempts_24h: int


class CampaignPage(Response):
    items: list[CampaignSummary]
    next_cursor: str | None


class Throttle(Response):
    user_id: int
    is_blocked: bool
    blocked_until: datetime | None
    failures_in_window: int
    max_failures: int
    window_length: float
    counting_since: datetime | None


class ThrottleReset(Throttle):
    changed: bool


class RollbackResult(Response):
    outcome: RollbackOutcome
    purchase_id: int
    promo_redemption_id: int | None
    replayed: bool


class RefundResult(Response):
    outcome: Literal["REFUNDED"]
    purchase_id: int
    premium_until: datetime | None
    replayed: bool


class AuditEntry(Response):
    audit_id: int
    occurred_at: datetime
    actor: str = Field(
        description="who the caller said acted: a token's name, ops:<user>, job:<job>"
    )
    db_role: str | None = Field(description="the database login role that wrote the row")
    action: str
    target_type: str
    target_id: str | None
    reason: str | None
    details: dict[str, Any]


class AuditPage(Response):
    items: list[AuditEntry] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class Health(Response):
    status: Literal["ok"]


class Ready(Response):
    status: Literal["ready"]


class FieldError(Response):
    field: str = Field(description="The field, dotted for nested ones (`items.0.code`)")
    message: str


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """An optional member is absent, never null: no `default: null` in the schema either."""
    for member in schema["properties"].values():
        if "default" in member and member["default"] is None:
            del member["default"]


class Problem(Response):
    """RFC 9457 problem details; the members below and no others."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)

    type: str = Field(
        json_schema_extra={"format": "uri-reference"},
        description=(
            "The `code`'s entry in docs/errors.md: `<STARPASS_PROBLEM_TYPE_BASE>#<code>`"
            " (by default `docs/errors.md#<code>`, relative to the repository root)."
        ),
    )
    title: str = Field(description="The HTTP status's phrase")
    status: int
    detail: str = Field(description="For people; never a promo code, a token or a secret")
    code: str = Field(
        description=(
            "Stable, snake_case; callers branch on it, never on `detail`. A refusal of the"
            " database names its condition (its reason: docs/errors.md lists them all), e.g."
            " `campaign_not_found`, `campaign_ended`, `campaign_past_end`, `campaign_internal`,"
            " `purchase_not_found`, `purchase_not_refunded`, `idempotency_conflict`,"
            " `duplicate_code`, `invalid_argument`; the others are the HTTP layer's own"
            " (`invalid_body`, `unauthorized`, `busy`, ...)."
        )
    )
    instance: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra={"format": "uri-reference"},
        description=(
            "This occurrence: `urn:starpass:request:<request id>`, the id also in the"
            " `X-Request-Id` response header and in every log line of the request. Absent only"
            " on requests refused before they had an id (unparseable HTTP)."
        ),
    )
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None,
        description="`invalid_body`, `duplicate_key`: what is wrong, field by field",
    )
    outcome: Literal["IDEMPOTENCY_CONFLICT"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "`idempotency_conflict` answering the outcome of the idempotency protocol"
            " (docs/sql-api.md): the key was bound to other arguments, nothing changed"
        ),
    )
    purchase_id: int | SkipJsonSchema[None] = Field(
        default=None, description="`telegram_refused`: the purchase Telegram did not refund"
    )
