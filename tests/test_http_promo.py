"""The internal promo API over HTTP against a real database: auth and scopes, problems, every
endpoint's statuses, replays, pagination, and 100 concurrent redemptions of a 10-use code."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.api.app import create_app
from app.api.routes import build
from app.api.schemas import Campaign, CampaignPage, Problem, RedeemResult, Throttle
from app.config import PROJECT_ROOT
from tests.conftest import Conn, service_settings
from tests.harness import ScratchDatabase

ADMIN = "a" * 40
REDEEM = "r" * 40
SUPPORT = "s" * 40
METRICS = "m" * 40
TOKENS = [
    {"name": "ops-console", "token": ADMIN, "scopes": ["promo:admin", "promo:redeem"]},
    {"name": "bot-backend", "token": REDEEM, "scopes": ["promo:redeem"]},
    {"name": "support-tool", "token": SUPPORT, "scopes": ["promo:admin"]},
    {"name": "prometheus", "token": METRICS, "scopes": ["metrics"]},
]
Client = TestClient[web.Request, web.Application]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(database: ScratchDatabase) -> AsyncIterator[Client]:
    settings = service_settings(
        database, internal_api_tokens_json=json.dumps(TOKENS), starpass_db_pool_max=20
    )
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


async def _campaign(client: Client, **fields: object) -> tuple[str, dict[str, object]]:
    code = "HTTP" + secrets.token_hex(6).upper()
    body = {
        "code": code,
        "kind": "PREMIUM_GRANT",
        "campaign": "http test",
        "grant_days": 7,
        **fields,
    }
    response = await client.post("/internal/promo/campaigns", json=body, headers=auth(ADMIN))
    assert response.status == 201, await response.text()
    return code, await response.json()


async def test_auth_and_scopes(client: Client) -> None:
    body = {"user_id": 1, "code": "X", "idempotency_key": "auth-key-1"}
    assert (await client.post("/internal/promo/redeem", json=body)).status == 401
    wrong = await client.post("/internal/promo/redeem", json=body, headers=auth("w" * 40))
    assert wrong.status == 401 and wrong.content_type == "application/problem+json"
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert (
        await client.post("/internal/promo/redeem", json=body, headers=auth(SUPPORT))
    ).status == 403
    listing = await client.get("/internal/promo/campaigns", headers=auth(REDEEM))
    assert listing.status == 403 and (await listing.json())["code"] == "forbidden"
    assert (await client.get("/internal/promo/campaigns", headers=auth(SUPPORT))).status == 200


async def test_redeem_outcomes_replays_and_refusals(client: Client) -> None:
    code, campaign = await _campaign(client, max_uses=5)
    assert "code" not in campaign and campaign["status"] == "ACTIVE"
    key = "http-" + secrets.token_hex(6)
    user = 10**12 + secrets.randbelow(10**9)
    first = await client.post(
        "/internal/promo/redeem",
        json={"user_id": user, "code": code.lower()},
        headers={**auth(REDEEM), "Idempotency-Key": key},
    )
    assert first.status == 200
    data = await first.json()
    assert data["outcome"] == "APPLIED" and data["replayed"] is False
    again = await client.post(
        "/internal/promo/redeem",
        json={"user_id": user, "code": code, "idempotency_key": key},
        headers=auth(REDEEM),
    )
    assert (await again.json())["replayed"] is True
    mismatch = await client.post(
        "/internal/promo/redeem",
        json={"user_id": user, "code": code, "idempotency_key": key},
        headers={**auth(REDEEM), "Idempotency-Key": "other-key-1"},
    )
    assert mismatch.status == 422 and (await mismatch.json())["code"] == "idempotency_key_mismatch"
    conflict = await client.post(
        "/internal/promo/redeem",
        json={"user_id": user + 1, "code": code, "idempotency_key": key},
        headers=auth(REDEEM),
    )
    assert conflict.status == 409 and (await conflict.json())["code"] == "idempotency_conflict"
    # Refusals are 200 with the outcome; the 5th counted one blocks; then 429 + Retry-After.
    for i in range(4):
        nope = await client.post(
            "/internal/promo/redeem",
            json={"user_id": user + 2, "code": f"NOPE{i}XYZ", "idempotency_key": f"nope-key-{i}"},
            headers=auth(REDEEM),
        )
        assert nope.status == 200 and (await nope.json())["outcome"] == "NOT_FOUND"
    await client.post(
        "/internal/promo/redeem",
        json={"user_id": user + 2, "code": "NOPE9XYZ", "idempotency_key": "nope-key-9"},
        headers=auth(REDEEM),
    )
    blocked = await client.post(
        "/internal/promo/redeem",
        json={"user_id": user + 2, "code": code, "idempotency_key": "nope-key-10"},
        headers=auth(REDEEM),
    )
    assert blocked.status == 429 and int(blocked.headers["Retry-After"]) > 3000
    throttle = await client.get(f"/internal/promo/users/{user + 2}/throttle", headers=auth(SUPPORT))
    assert (await throttle.json())["is_blocked"] is True
    reset = await client.delete(
        f"/internal/promo/users/{user + 2}/throttle?reason=ticket+42", headers=auth(SUPPORT)
    )
    assert reset.status == 200 and (await reset.json())["changed"] is True


async def test_bad_input_is_a_problem_and_changes_nothing(client: Client) -> None:
    url, headers = "/internal/promo/redeem", auth(REDEEM)
    cases = [
        (
            await client.post(
                url, data="{not json", headers={**headers, "Content-Type": "application/json"}
            ),
            400,
        ),
        (
            await client.post(
                url, data="user_id=1", headers={**headers, "Content-Type": "text/plain"}
            ),
            415,
        ),
        (
            await client.post(
                url,
                json={"user_id": 1, "code": "X", "idempotency_key": "k" * 8, "extra": 1},
                headers=headers,
            ),
            422,
        ),
        (
            await client.post(
                url, json={"user_id": "1", "code": "X", "idempotency_key": "k" * 8}, headers=headers
            ),
            422,
        ),
        (
            await client.post(
                url, json={"user_id": 0, "code": "X", "idempotency_key": "k" * 8}, headers=headers
            ),
            422,
        ),
        (await client.post(url, json={"user_id": 1, "code": "X"}, headers=headers), 422),
        (
            await client.post(
                url,
                data=json.dumps({"code": "x" * 20000}),
                headers={**headers, "Content-Type": "application/json"},
            ),
            413,
        ),
    ]
    for response, status in cases:
        assert response.status == status, (status, await response.text())
        assert response.content_type == "application/problem+json"


async def test_campaign_admin(client: Client) -> None:
    code, campaign = await _campaign(client)
    duplicate = await client.post(
        "/internal/promo/campaigns",
        json={"code": code.lower(), "kind": "PREMIUM_GRANT", "campaign": "again", "grant_days": 7},
        headers=auth(ADMIN),
    )
    assert duplicate.status == 409 and (await duplicate.json())["code"] == "duplicate_code"
    short = await client.post(
        "/internal/promo/campaigns",
        json={"code": "ABC", "kind": "PREMIUM_GRANT", "campaign": "short", "grant_days": 7},
        headers=auth(ADMIN),
    )
    assert short.status == 422 and (await short.json())["code"] == "invalid_argument"
    cid = campaign["promo_code_id"]
    got = await client.get(f"/internal/promo/campaigns/{cid}", headers=auth(ADMIN))
    assert got.status == 200 and (await got.json())["used_total"] == 0
    assert (
        await client.get("/internal/promo/campaigns/999999999", headers=auth(ADMIN))
    ).status == 404
    status_url = f"/internal/promo/campaigns/{cid}/status"
    paused = await client.post(
        status_url, json={"status": "PAUSED", "reason": "check"}, headers=auth(ADMIN)
    )
    assert paused.status == 200 and (await paused.json())["status"] == "PAUSED"
    same = await client.post(
        status_url, json={"status": "PAUSED", "reason": "again"}, headers=auth(ADMIN)
    )
    assert same.status == 200
    bad = await client.post(status_url, json={"status": "EXPIRED"}, headers=auth(ADMIN))
    assert bad.status == 422
    missing = await client.post(
        "/internal/promo/refund-rollback",
        json={"purchase_id": 999999999, "idempotency_key": "rollback-key-1"},
        headers=auth(ADMIN),
    )
    assert missing.status == 404 and (await missing.json())["code"] == "purchase_not_found"


async def test_pagination_is_stable_while_campaigns_are_added(client: Client) -> None:
    tag = secrets.token_hex(4)
    for i in range(5):
        await _campaign(client, campaign=f"page {tag} {i}")
    url = f"/internal/promo/campaigns?q=page+{tag}&limit=2"
    first = await (await client.get(url, headers=auth(ADMIN))).json()
    await _campaign(client, campaign=f"page {tag} new")  # inserted between two pages
    second = await (
        await client.get(f"{url}&cursor={first['next_cursor']}", headers=auth(ADMIN))
    ).json()
    third = await (
        await client.get(f"{url}&cursor={second['next_cursor']}", headers=auth(ADMIN))
    ).json()
    names = [c["campaign"] for page in (first, second, third) for c in page["items"]]
    assert names == [f"page {tag} {i}" for i in (4, 3, 2, 1, 0)]
    bad = await client.get(f"{url}&cursor=not-a-cursor", headers=auth(ADMIN))
    assert bad.status == 422 and (await bad.json())["code"] == "invalid_cursor"


async def test_100_concurrent_http_redemptions_of_a_10_use_code(client: Client) -> None:
    code, _ = await _campaign(client, max_uses=10)
    base = 2 * 10**12 + secrets.randbelow(10**9)

    async def redeem(i: int) -> str:
        response = await client.post(
            "/internal/promo/redeem",
            json={"user_id": base + i, "code": code, "idempotency_key": f"burst-{base}-{i}"},
            headers=auth(REDEEM),
        )
        assert response.status == 200
        return str((await response.json())["outcome"])

    outcomes = Counter(await asyncio.gather(*(redeem(i) for i in range(100))))
    assert outcomes == {"APPLIED": 10, "DEPLETED": 90}


async def test_metrics(client: Client) -> None:
    code, _ = await _campaign(client)
    await client.post(
        "/internal/promo/redeem",
        json={"user_id": 3 * 10**12, "code": code, "idempotency_key": "metrics-key-1"},
        headers=auth(REDEEM),
    )
    await client.get("/internal/promo/campaigns/12345678", headers=auth(ADMIN))
    response = await client.get("/metrics", headers=auth(METRICS))
    assert response.status == 200
    text = await response.text()
    assert 'starpass_redemptions_total{outcome="APPLIED",replayed="false"}' in text
    assert 'route="/internal/promo/campaigns/{promo_code_id}"' in text, "route patterns, not ids"
    assert "12345678" not in text
    assert 'starpass_db_pool_connections{pool="app"}' in text
    assert 'starpass_alert_outbox_alerts{state="pending"} ' in text
    assert "starpass_db_figures_up 1.0" in text


async def test_the_spec_is_served_written_and_matches_responses(client: Client) -> None:
    served = await (await client.get("/internal/openapi.json")).json()
    assert served == build()
    written = json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text())
    assert written == build(), (
        "docs/openapi.json is stale: run `starpass openapi > docs/openapi.json`"
    )
    # Responses parse with the models the spec is generated from (extra fields refused).
    code, campaign = await _campaign(client, max_uses=3)
    Campaign.model_validate(campaign)
    redeemed = await client.post(
        "/internal/promo/redeem",
        json={"user_id": 4 * 10**12, "code": code, "idempotency_key": "spec-key-1"},
        headers=auth(REDEEM),
    )
    RedeemResult.model_validate(await redeemed.json())
    page = await client.get("/internal/promo/campaigns?limit=2", headers=auth(ADMIN))
    CampaignPage.model_validate(await page.json())
    throttle = await client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
    Throttle.model_validate(await throttle.json())
    problem = await client.get("/internal/promo/campaigns/999999999", headers=auth(ADMIN))
    Problem.model_validate(await problem.json())


STATUSES = ("ACTIVE", "PAUSED", "EXPIRED", "DEPLETED")
EXPECTED = {  # (from, to) -> HTTP status; only ACTIVE <-> PAUSED is an operator's transition
    **{(f, t): 422 for f in STATUSES for t in ("EXPIRED", "DEPLETED")},
    ("ACTIVE", "ACTIVE"): 200,
    ("ACTIVE", "PAUSED"): 200,
    ("PAUSED", "ACTIVE"): 200,
    ("PAUSED", "PAUSED"): 200,
    ("EXPIRED", "ACTIVE"): 409,
    ("EXPIRED", "PAUSED"): 409,
    ("DEPLETED", "ACTIVE"): 409,
    ("DEPLETED", "PAUSED"): 409,
}
SET_STATUS = {
    "ACTIVE": "status = 'ACTIVE'",
    "PAUSED": "status = 'PAUSED', paused_at = now(), paused_reason = 'x'",
    "EXPIRED": "status = 'EXPIRED', expired_at = now()",
    "DEPLETED": "status = 'DEPLETED', depleted_at = now(), max_uses = 1",
}


def _set_status(admin: Conn, cid: object, status: str) -> None:
    admin.execute(
        f"UPDATE promo.promo_codes SET {SET_STATUS[status]} WHERE promo_code_id = %s", (cid,)
    )


def _status_audits(admin: Conn, cid: object) -> int:
    row = admin.execute(
        "SELECT count(*) AS n FROM ops.audit_log WHERE target_id = %s"
        " AND action IN ('promo.campaign_paused', 'promo.campaign_resumed')",
        (str(cid),),
    ).fetchone()
    assert row is not None
    return int(str(row["n"]))


async def test_the_16_status_transitions(client: Client, admin_conn: Conn) -> None:
    for (source, target), want in EXPECTED.items():
        _, campaign = await _campaign(client, max_uses=1)
        cid = campaign["promo_code_id"]
        _set_status(admin_conn, cid, source)
        before = _status_audits(admin_conn, cid)
        response = await client.post(
            f"/internal/promo/campaigns/{cid}/status",
            json={"status": target, "reason": "matrix"},
            headers=auth(ADMIN),
        )
        assert response.status == want, (source, target, await response.text())
        if want == 409:
            assert (await response.json())["code"] == "campaign_ended", (source, target)
        changed = want == 200 and source != target
        assert _status_audits(admin_conn, cid) == before + changed, (source, target)
    # Resuming a paused campaign past its end is refused too.
    _, campaign = await _campaign(client, ends_at="2999-01-01T00:00:00+00:00")
    cid = campaign["promo_code_id"]
    _set_status(admin_conn, cid, "PAUSED")
    admin_conn.execute("UPDATE ops.clock SET frozen_at = '3000-01-01'")
    late = await client.post(
        f"/internal/promo/campaigns/{cid}/status", json={"status": "ACTIVE"}, headers=auth(ADMIN)
    )
    problem = await late.json()
    assert late.status == 409 and problem["code"] == "campaign_past_end", problem
    assert "past its end" in problem["detail"]


async def test_the_internal_referral_campaign_is_refused_and_left_alone(
    client: Client, admin_conn: Conn
) -> None:
    found = admin_conn.execute("SELECT referral.discount_campaign_id() AS id").fetchone()
    assert found is not None
    cid = found["id"]
    snapshot = (
        "SELECT row_to_json(c)::text AS row FROM promo.promo_codes AS c WHERE promo_code_id = %s"
    )
    before = admin_conn.execute(snapshot, (cid,)).fetchone()
    audits = _status_audits(admin_conn, cid)
    for target in ("PAUSED", "ACTIVE"):
        response = await client.post(
            f"/internal/promo/campaigns/{cid}/status",
            json={"status": target, "reason": "try"},
            headers=auth(ADMIN),
        )
        assert response.status == 409, (target, await response.text())
        problem = await response.json()
        assert problem["code"] == "campaign_internal" and "internal" in problem["detail"], problem
    got = await client.get(f"/internal/promo/campaigns/{cid}", headers=auth(ADMIN))
    assert got.status == 404 and (await got.json())["code"] == "campaign_not_found"
    assert admin_conn.execute(snapshot, (cid,)).fetchone() == before, "nothing changed"
    assert _status_audits(admin_conn, cid) == audits, "nothing audited"


def _purchase(conn: Conn, user_id: int, *, refunded: bool) -> int:
    """An open purchase of premium_30d, or one paid and refunded (charge `charge-<user>`)."""
    conn.execute("SELECT api.touch_user(%s)", (user_id,))
    opened = conn.execute(
        "SELECT * FROM api.init_purchase(%s, 'premium_30d', NULL, %s)", (user_id, f"init-{user_id}")
    ).fetchone()
    assert opened is not None
    if refunded:
        charge = f"charge-{user_id}"
        conn.execute(
            "SELECT * FROM api.complete_purchase(%s, %s, %s, 'XTR', %s)",
            (user_id, opened["invoice_payload"], charge, opened["price_stars"]),
        )
        conn.execute("SELECT * FROM api.mark_purchase_refunded(%s, 'test', 'refund')", (charge,))
    return int(str(opened["purchase_id"]))


async def test_refund_rollback_refusals_name_their_condition(
    client: Client, admin_conn: Conn
) -> None:
    base = 7 * 10**9 + secrets.randbelow(10**6) * 10
    unrefunded = _purchase(admin_conn, base, refunded=False)
    refunded = _purchase(admin_conn, base + 1, refunded=True)
    other = _purchase(admin_conn, base + 2, refunded=True)
    url = "/internal/promo/refund-rollback"
    key = f"rollback-{base}"
    response = await client.post(
        url, json={"purchase_id": unrefunded, "idempotency_key": key}, headers=auth(ADMIN)
    )
    problem = await response.json()
    assert response.status == 409 and problem["code"] == "purchase_not_refunded", problem
    done = await client.post(
        url, json={"purchase_id": refunded, "idempotency_key": key}, headers=auth(ADMIN)
    )
    assert done.status == 200 and (await done.json())["outcome"] == "NO_PROMO"
    reused = await client.post(
        url, json={"purchase_id": other, "idempotency_key": key}, headers=auth(ADMIN)
    )
    problem = await reused.json()
    # The same code as a redemption's IDEMPOTENCY_CONFLICT outcome: one rule, one code.
    assert reused.status == 409 and problem["code"] == "idempotency_conflict", problem
    assert problem["outcome"] == "IDEMPOTENCY_CONFLICT"
