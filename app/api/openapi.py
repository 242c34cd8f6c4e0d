"""The OpenAPI 3.1 document, generated from the same models the views parse and the tests
validate responses with, so the spec cannot drift from the implementation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from app.api import bodies
from app.vocabulary import (
    IDEMPOTENCY_KEY_PATTERN,
    CampaignKind,
    CampaignStatus,
    RedeemOutcome,
    RollbackOutcome,
)


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


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
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


MODELS: list[type[BaseModel]] = [
    bodies.RedeemBody,
    bodies.CreateCampaignBody,
    bodies.StatusBody,
    bodies.RollbackBody,
    bodies.RefundBody,
    RedeemResult,
    CampaignSummary,
    Campaign,
    CampaignPage,
    Throttle,
    ThrottleReset,
    RollbackResult,
    RefundResult,
    AuditEntry,
    AuditPage,
    Problem,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": _ref(model)}}}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {
            "description": "A problem (RFC 9457)",
            **_json(Problem, "application/problem+json"),
        }
        for s in statuses
    }


def _op(
    summary: str,
    scope: str | None,
    ok: tuple[int, type[BaseModel]],
    body: type[BaseModel] | None,
    problems: tuple[int, ...],
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok[0]): {"description": "OK", **_json(ok[1])},
            **_problems(
                *problems,
                *((401, 403) if scope else ()),
                *((408,) if body is not None else ()),  # the body did not arrive in time
            ),
        },
    }
    if scope:
        op["security"] = [{"bearer": [scope]}]
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _path(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }


def _page_params(maximum: int) -> list[dict[str, Any]]:
    """A list endpoint's page size and cursor (the next_cursor of the previous page)."""
    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum},
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
}


def build() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    redeem = _op(
        "Redeem a promo code",
        "promo:redeem",
        (200, RedeemResult),
        bodies.RedeemBody,
        (400, 409, 413, 415, 422, 429, 503),
        [IDEMPOTENCY_HEADER],
    )
    redeem["responses"]["429"] = {"description": "THROTTLED (Retry-After)", **_json(RedeemResult)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Starpass internal API", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/internal/promo/redeem": {"post": redeem},
            "/internal/promo/campaigns": {
                "post": _op(
                    "Create a campaign",
                    "promo:admin",
                    (201, Campaign),
                    bodies.CreateCampaignBody,
                    (400, 409, 413, 415, 422, 503),
                ),
                "get": _op(
                    "List campaigns",
                    "promo:admin",
                    (200, CampaignPage),
                    None,
                    (422, 503),
                    [
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "style": "form",
                            "explode": True,
                            "schema": {
                                "type": "array",
                                "items": {"enum": list(get_args(CampaignStatus))},
                            },
                        },
                        {
                            "name": "kind",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": list(get_args(CampaignKind))},
                        },
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                        },
                        *_page_params(200),
                    ],
                ),
            },
            "/internal/promo/campaigns/{promo_code_id}": {
                "get": _op(
                    "A campaign with live figures",
                    "promo:admin",
                    (200, Campaign),
                    None,
                    (404, 422, 503),
                    [_path("promo_code_id")],
                ),
            },
            "/internal/promo/campaigns/{promo_code_id}/status": {
                "post": _op(
                    "Pause or resume",
                    "promo:admin",
                    (200, Campaign),
                    bodies.StatusBody,
                    (400, 404, 409, 413, 415, 422, 503),
                    [_path("promo_code_id")],
                ),
            },
            "/internal/promo/refund-rollback": {
                "post": _op(
                    "Roll back a refunded purchase's promo",
                    "promo:admin",
                    (200, RollbackResult),
                    bodies.RollbackBody,
                    (400, 404, 409, 413, 415, 422, 503),
                    [IDEMPOTENCY_HEADER],
                ),
            },
            "/internal/purchases/{purchase_id}/refund": {
                "post": _op(
                    "Refund a paid purchase with Telegram (refundStarPayment), then record it",
                    "purchases:refund",
                    (200, RefundResult),
                    bodies.RefundBody,
                    (400, 404, 409, 413, 415, 422, 502, 503),
                    [_path("purchase_id")],
                ),
            },
            "/internal/audit": {
                "get": _op(
                    "Read the audit log, newest first (keyset pages)",
                    "audit:read",
                    (200, AuditPage),
                    None,
                    (422, 503),
                    [
                        *(
                            {
                                "name": name,
                                "in": "query",
                                "required": False,
                                "description": description,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                            }
                            for name, description in (
                                ("actor", "who acted, exactly"),
                                ("action", "an action, or a prefix ending in a dot (`promo.`)"),
                                ("target_type", "the kind of object (`promo_code`, `user`, ...)"),
                                ("target_id", "the object's id; needs target_type"),
                            )
                        ),
                        *(
                            {
                                "name": name,
                                "in": "query",
                                "required": False,
                                "description": description,
                                "schema": {"type": "string", "format": "date-time"},
                            }
                            for name, description in (
                                ("since", "from this time on (included)"),
                                ("until", "before this time (excluded)"),
                            )
                        ),
                        *_page_params(500),
                    ],
                ),
            },
            "/internal/promo/users/{user_id}/throttle": {
                "get": _op(
                    "A user's throttle",
                    "promo:admin",
                    (200, Throttle),
                    None,
                    (422, 503),
                    [_path("user_id")],
                ),
                "delete": _op(
                    "Unblock a user (support)",
                    "promo:admin",
                    (200, ThrottleReset),
                    None,
                    (422, 503),
                    [
                        _path("user_id"),
                        {
                            "name": "reason",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 1000},
                        },
                    ],
                ),
            },
        },
    }


routes = web.RouteTableDef()


@routes.get("/internal/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build())
