"""The route table: every HTTP operation of the service once, with its view, scope, statuses and
documentation. `create_app` registers it and `build` makes the OpenAPI document from it
(`starpass openapi`, `GET /internal/openapi.json`, `docs/openapi.json`), so the served routes
and the spec cannot differ. The Telegram webhook is not in it: it is Telegram's interface,
mounted only with a bot token (docs/bot.md)."""

from __future__ import annotations

from typing import Any, get_args

from aiohttp import web

from app.api import audit, bodies, health, metrics, promo, purchases, schemas
from app.api.openapi import Operation, Reply, document, path_parameter
from app.api.openapi import register as register_operations
from app.vocabulary import IDEMPOTENCY_KEY_PATTERN, CampaignKind, CampaignStatus

# Statuses a view that reads a JSON body may answer with, besides its own (408 is added by the
# table for every operation with a body).
BODY_PROBLEMS = (400, 413, 415, 422)
TAGS = {
    "redemption": "Promo codes redeemed for users (the bot backend)",
    "campaigns": "Promo campaigns: create, list, inspect, pause and resume (operators)",
    "throttle": "The brute-force throttle of a user (support)",
    "refunds": "Refunds of paid purchases and the rollback of their promos (support)",
    "audit": "The audit log: who changed what, when and why (auditors, support)",
    "health": "Liveness and readiness probes (load balancers, orchestrators)",
    "metrics": "Prometheus metrics (docs/metrics.md lists them)",
    "spec": "This document",
}
INFO = {
    "title": "Starpass internal API",
    "version": "1",
    "description": (
        "The internal HTTP API of Starpass. Every error is an RFC 9457 problem"
        " (`application/problem+json`) whose `code` is listed in docs/errors.md, `type` points"
        " at that entry and `instance` names the request (its `X-Request-Id`)."
    ),
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The idempotency key, when it is not in the body (both: they must agree)",
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
}
RETRY_AFTER = {"Retry-After": "Seconds until `blocked_until`"}


def _query(name: str, description: str, schema: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **more,
    }


async def serve_spec(request: web.Request) -> web.Response:
    return web.json_response(build())


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/internal/promo/redeem",
        promo.redeem,
        operation_id="redeemPromoCode",
        tag="redemption",
        summary="Redeem a promo code",
        description=(
            "Redeems `code` for `user_id` (api.redeem_promo_code): every business outcome is a"
            " 200 with the outcome row (a premium grant is APPLIED, a discount RESERVED until"
            " `reserved_until`); THROTTLED is a 429 with `Retry-After`. Idempotent: a retry"
            " with the same key returns the stored row with `replayed: true`; the key with"
            " another user or code is a 409 `idempotency_conflict`."
        ),
        scope="promo:redeem",
        body=bodies.RedeemBody,
        ok=Reply(200, schemas.RedeemResult),
        replies=(Reply(429, schemas.RedeemResult, description="THROTTLED", headers=RETRY_AFTER),),
        problems=(*BODY_PROBLEMS, 409, 503),
        parameters=(IDEMPOTENCY_HEADER,),
    ),
    Operation(
        "POST",
        "/internal/promo/campaigns",
        promo.create_campaign,
        operation_id="createCampaign",
        tag="campaigns",
        summary="Create a campaign",
        description=(
            "Creates a promo campaign with its code (api.create_promo_code). The code is never"
            " stored or answered, only its HMAC: the answer is the campaign. A code any"
            " campaign ever used is a 409 `duplicate_code`."
        ),
        scope="promo:admin",
        body=bodies.CreateCampaignBody,
        ok=Reply(201, schemas.Campaign, description="Created"),
        problems=(*BODY_PROBLEMS, 409, 503),
    ),
    Operation(
        "GET",
        "/internal/promo/campaigns",
        promo.list_campaigns,
        operation_id="listCampaigns",
        tag="campaigns",
        summary="List campaigns",
        description=(
            "Campaigns newest first (api.list_promo_campaigns), filtered by status, kind and a"
            " search in the campaign name or prefix; `next_cursor` fetches the next page."
        ),
        scope="promo:admin",
        ok=Reply(200, schemas.CampaignPage),
        problems=(422, 503),
        parameters=(
            _query(
                "status",
                "Only campaigns in these statuses (repeat the parameter)",
                {"type": "array", "items": {"enum": list(get_args(CampaignStatus))}},
                style="form",
                explode=True,
            ),
            _query("kind", "Only campaigns of this kind", {"enum": list(get_args(CampaignKind))}),
            _query(
                "q",
                "A search in the campaign name and prefix",
                {"type": "string", "minLength": 1, "maxLength": 100},
            ),
            _query("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": 200}),
            _query("cursor", "`next_cursor` of the previous page", {"type": "string"}),
        ),
    ),
    Operation(
        "GET",
        "/internal/promo/campaigns/{promo_code_id}",
        promo.get_campaign,
        operation_id="getCampaign",
        tag="campaigns",
        summary="A campaign with live figures",
        description=(
            "The campaign (api.get_promo_campaign) with its effective status and live figures:"
            " uses, live reservations, capacity left, failed attempts in the last 24 hours."
        ),
        scope="promo:admin",
        ok=Reply(200, schemas.Campaign),
        problems=(404, 422, 503),
        parameters=(path_parameter("promo_code_id", "The campaign"),),
    ),
    Operation(
        "POST",
        "/internal/promo/campaigns/{promo_code_id}/status",
        promo.set_status,
        operation_id="setCampaignStatus",
        tag="campaigns",
        summary="Pause or resume a campaign",
        description=(
            "Sets ACTIVE or PAUSED (api.set_promo_campaign_status), audited with the token's"
            " name and the reason. An ended campaign, the internal referral campaign and a"
            " resume after `ends_at` are 409s naming their reason."
        ),
        scope="promo:admin",
        body=bodies.StatusBody,
        ok=Reply(200, schemas.Campaign),
        problems=(*BODY_PROBLEMS, 404, 409, 503),
        parameters=(path_parameter("promo_code_id", "The campaign"),),
    ),
    Operation(
        "POST",
        "/internal/promo/refund-rollback",
        promo.refund_rollback,
        operation_id="rollbackRefundedPromo",
        tag="refunds",
        summary="Roll back a refunded purchase's promo",
        description=(
            "Revokes the promo redemption behind a refunded purchase"
            " (api.rollback_refunded_promo): REVOKED, ALREADY_REVOKED or NO_PROMO. Idempotent"
            " like a redemption; a purchase that is not refunded is a 409"
            " `purchase_not_refunded`."
        ),
        scope="promo:admin",
        body=bodies.RollbackBody,
        ok=Reply(200, schemas.RollbackResult),
        problems=(*BODY_PROBLEMS, 404, 409, 503),
        parameters=(IDEMPOTENCY_HEADER,),
    ),
    Operation(
        "POST",
        "/internal/purchases/{purchase_id}/refund",
        purchases.refund,
        operation_id="refundPurchase",
        tag="refunds",
        summary="Refund a paid purchase",
        description=(
            "Records the intent, refunds the Stars with Telegram (refundStarPayment), then"
            " marks the purchase refunded (api.request_purchase_refund,"
            " api.mark_purchase_refunded). Safe to retry at any point: a charge Telegram"
            " refunded before is recorded as refunded; Telegram's refusal is a 502"
            " `telegram_refused`, its unavailability a 503 with `Retry-After`."
        ),
        scope="purchases:refund",
        body=bodies.RefundBody,
        ok=Reply(200, schemas.RefundResult),
        problems=(*BODY_PROBLEMS, 404, 409, 502, 503),
        parameters=(path_parameter("purchase_id", "The purchase"),),
    ),
    Operation(
        "GET",
        "/internal/promo/users/{user_id}/throttle",
        promo.get_throttle,
        operation_id="getThrottle",
        tag="throttle",
        summary="A user's throttle",
        description=(
            "Whether the user is blocked from redeeming and until when, with the failed"
            " attempts counted in the current window (api.get_promo_throttle)."
        ),
        scope="promo:admin",
        ok=Reply(200, schemas.Throttle),
        problems=(422, 503),
        parameters=(path_parameter("user_id", "The Telegram user id"),),
    ),
    Operation(
        "DELETE",
        "/internal/promo/users/{user_id}/throttle",
        promo.reset_throttle,
        operation_id="resetThrottle",
        tag="throttle",
        summary="Unblock a user",
        description=(
            "Lifts the user's block and restarts the count (api.reset_promo_throttle), audited"
            " with the token's name and the reason; `changed` says whether there was anything"
            " to reset."
        ),
        scope="promo:admin",
        ok=Reply(200, schemas.ThrottleReset),
        problems=(422, 503),
        parameters=(
            path_parameter("user_id", "The Telegram user id"),
            {
                "name": "reason",
                "in": "query",
                "required": True,
                "description": "Why (audited)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 1000},
            },
        ),
    ),
    Operation(
        "GET",
        "/internal/audit",
        audit.list_audit,
        operation_id="listAudit",
        tag="audit",
        summary="Read the audit log",
        description=(
            "Audit rows newest first (api.list_audit), filtered by actor, action (or a prefix"
            " ending in a dot), target and a time range; keyset pages by (occurred_at,"
            " audit_id): `next_cursor` fetches the next page, null on the last. Filters, the"
            " range, the page size and the cursor are the function's to refuse (422"
            " `invalid_argument`, `invalid_cursor`)."
        ),
        scope="audit:read",
        ok=Reply(200, schemas.AuditPage),
        problems=(422, 503),
        parameters=(
            _query(
                "actor", "Who acted, exactly", {"type": "string", "minLength": 1, "maxLength": 128}
            ),
            _query(
                "action",
                "An action, or a prefix ending in a dot (`promo.`)",
                {"type": "string", "minLength": 1, "maxLength": 128},
            ),
            _query(
                "target_type",
                "The kind of object (`promo_code`, `user`, `purchase`, ...)",
                {"type": "string", "minLength": 1, "maxLength": 64},
            ),
            _query(
                "target_id",
                "The object's id; needs target_type",
                {"type": "string", "minLength": 1, "maxLength": 128},
            ),
            _query(
                "since", "From this time on (included)", {"type": "string", "format": "date-time"}
            ),
            _query(
                "until", "Before this time (excluded)", {"type": "string", "format": "date-time"}
            ),
            _query("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": 500}),
            _query("cursor", "`next_cursor` of the previous page", {"type": "string"}),
        ),
    ),
    Operation(
        "GET",
        "/healthz",
        health.healthz,
        operation_id="checkLiveness",
        tag="health",
        summary="Liveness",
        description=(
            "200 while the process serves requests; it does not look at the database (a"
            " restart would not bring that back)."
        ),
        ok=Reply(200, schemas.Health),
    ),
    Operation(
        "GET",
        "/readyz",
        health.readyz,
        operation_id="checkReadiness",
        tag="health",
        summary="Readiness",
        description=(
            "200 when the database answers the probe's own connection and the pepper is the"
            " one of the live campaigns; otherwise a 503 `database_unavailable` (with"
            " `Retry-After`) or `pepper_mismatch` (a restart with the right pepper is needed)."
            " A busy pool is load, not unreadiness: it stays 200."
        ),
        ok=Reply(200, schemas.Ready),
        problems=(503,),
    ),
    Operation(
        "GET",
        "/metrics",
        metrics.metrics,
        operation_id="getMetrics",
        tag="metrics",
        summary="Prometheus metrics",
        description=(
            "The Prometheus text exposition: the process's figures and the database's, read"
            " at scrape time (docs/metrics.md). Not public: a token with the scope `metrics`."
            " While the database is down it still answers, with"
            " `starpass_db_figures_up 0`."
        ),
        scope="metrics",
        ok=Reply(200, media="text/plain", schema={"type": "string"}),
    ),
    Operation(
        "GET",
        "/internal/openapi.json",
        serve_spec,
        operation_id="getOpenApi",
        tag="spec",
        summary="This OpenAPI document",
        description="The document generated from the route table (docs/openapi.json is a copy).",
        ok=Reply(200, media="application/json", schema={"type": "object"}),
    ),
)


def register(app: web.Application) -> None:
    register_operations(app, OPERATIONS)


def build() -> dict[str, Any]:
    return document(OPERATIONS, INFO, TAGS)
