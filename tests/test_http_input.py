"""Input validation over HTTP against a real database (issue 14, items 1, 12, 13): timestamps
outside the supported range are refused and nothing is stored, a write and the read that
renders its answer are one transaction, stored rows always render, path and query integers
are ASCII digits only, and a timestamp is an ISO 8601 string with an offset, never a number."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.api.app import create_app
from app.config import Settings
from tests.conftest import Conn, connect, service_settings
from tests.harness import ScratchDatabase
from tests.test_http_promo import ADMIN, TOKENS, Client, _campaign, auth


def _settings(database: ScratchDatabase) -> Settings:
    return service_settings(database, internal_api_tokens_json=json.dumps(TOKENS))


@pytest.fixture
async def client(database: ScratchDatabase) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(_settings(database)))) as c:
        yield c


def _stored(admin_conn: Conn) -> tuple[object, object]:
    row = admin_conn.execute(
        "SELECT (SELECT count(*) FROM promo.promo_codes) AS campaigns,"
        " (SELECT count(*) FROM ops.audit_log) AS audited"
    ).fetchone()
    assert row is not None
    return row["campaigns"], row["audited"]


async def _refused(client: Client, admin_conn: Conn, **fields: object) -> dict[str, Any]:
    """POSTs a campaign with `fields`; asserts a 422 that stored nothing; returns the problem."""
    before = _stored(admin_conn)
    body = {"code": "RANGE0TEST1", "kind": "PREMIUM_GRANT", "campaign": "r", "grant_days": 1}
    response = await client.post(
        "/internal/promo/campaigns", json={**body, **fields}, headers=auth(ADMIN)
    )
    assert response.status == 422, await response.text()
    assert _stored(admin_conn) == before
    problem: dict[str, Any] = await response.json()
    return problem


# Item 1: each of these was answered 422 but stored (year 10000 or BC once in UTC).
OUT_OF_RANGE = [
    {"ends_at": "9999-12-31T23:00:00-12:00"},
    {"ends_at": "9999-12-31T23:59:59-14:00"},
    {"starts_at": "0001-01-01T00:00:00+14:00"},
    {"starts_at": "1999-12-31T23:59:59Z"},
    {"ends_at": "9000-01-01T00:00:00Z"},
]


async def test_the_range_bounds_are_inclusive_below_and_exclusive_above(client: Client) -> None:
    _, campaign = await _campaign(
        client, starts_at="2000-01-01T00:00:00Z", ends_at="8999-12-31T23:59:59.999999Z"
    )
    assert campaign["starts_at"] == "2000-01-01T00:00:00+00:00"
    assert campaign["ends_at"] == "8999-12-31T23:59:59.999999+00:00"


async def test_rows_stored_out_of_range_still_render(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """Rows written before the range existed (or by hand) list and render as strings."""
    database = new_database()
    async with TestClient(TestServer(create_app(_settings(database)))) as client:
        ids = [int((await _campaign(client))[1]["promo_code_id"]) for _ in range(3)]  # type: ignore[call-overload]
        with connect(database.admin_url) as admin:
            for name in ("promo_codes_starts_at_range", "promo_codes_ends_at_range"):
                admin.execute(f"ALTER TABLE promo.promo_codes DROP CONSTRAINT IF EXISTS {name}")
            admin.execute(
                "UPDATE promo.promo_codes SET ends_at = '9999-12-31T23:00:00-12:00'"
                " WHERE promo_code_id = %s",
                (ids[0],),
            )
            admin.execute(
                "UPDATE promo.promo_codes SET starts_at = '0001-01-01T00:00:00+14:00'"
                " WHERE promo_code_id = %s",
                (ids[1],),
            )
            admin.execute(
                "UPDATE promo.promo_codes SET ends_at = 'infinity', created_at = '-infinity'"
                " WHERE promo_code_id = %s",
                (ids[2],),
            )
        listing = await client.get("/internal/promo/campaigns", headers=auth(ADMIN))
        assert listing.status == 200, await listing.text()
        items = {item["promo_code_id"]: item for item in (await listing.json())["items"]}
        assert items[ids[0]]["ends_at"] == "+10000-01-01T11:00:00+00:00"
        assert items[ids[1]]["starts_at"] == "0000-12-31T10:00:00+00:00"
        assert items[ids[2]]["ends_at"] == "infinity"
        assert items[ids[2]]["created_at"] == "-infinity"
        for promo_code_id in ids:
            one = await client.get(
                f"/internal/promo/campaigns/{promo_code_id}", headers=auth(ADMIN)
            )
            assert one.status == 200, await one.text()
        one = await client.get(f"/internal/promo/campaigns/{ids[0]}", headers=auth(ADMIN))
        assert (await one.json())["ends_at"] == "+10000-01-01T11:00:00+00:00"


async def test_a_write_whose_answer_fails_is_not_committed(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    """The create (and the status change) and the read that renders the answer are one
    transaction: when the read fails, the answer is an error and nothing was committed."""
    database = new_database()
    async with TestClient(TestServer(create_app(_settings(database)))) as client:
        _, campaign = await _campaign(client)
        with connect(database.admin_url) as admin:
            admin.execute(
                "ALTER FUNCTION api.get_promo_campaign(bigint) RENAME TO get_promo_campaign_gone"
            )
            before = _stored(admin)
            created = await client.post(
                "/internal/promo/campaigns",
                json={
                    "code": "ATOMIC0TEST1",
                    "kind": "PREMIUM_GRANT",
                    "campaign": "a",
                    "grant_days": 1,
                },
                headers=auth(ADMIN),
            )
            paused = await client.post(
                f"/internal/promo/campaigns/{campaign['promo_code_id']}/status",
                json={"status": "PAUSED", "reason": "atomic"},
                headers=auth(ADMIN),
            )
            assert created.status >= 500 and paused.status >= 500
            assert _stored(admin) == before
            status = admin.execute(
                "SELECT status FROM promo.promo_codes WHERE promo_code_id = %s",
                (campaign["promo_code_id"],),
            ).fetchone()
            assert status == {"status": "ACTIVE"}


# Item 12: only ASCII digits are integers; each of these is a 422, never a 500 or a lookup.
BAD_INTEGERS = [
    "%C2%B2",  # superscript two: str.isdigit() says yes
    "%EF%BC%95",  # fullwidth five: int() says 5
    "%2B5",
    "5_0",
    "%205",
    "5%20",
    "-1",
    "0",
    "9" * 30,
    str(2**63),
    "5.0",
    "",
]


@pytest.mark.parametrize("raw", BAD_INTEGERS)
async def test_query_integers_are_ascii_digits_only(client: Client, raw: str) -> None:
    response = await client.get(f"/internal/promo/campaigns?limit={raw}", headers=auth(ADMIN))
    assert response.status == 422, await response.text()
    # 0 is an integer: the page size is the function's to refuse.
    assert (await response.json())["code"] == (
        "invalid_argument" if raw == "0" else "invalid_query"
    )


@pytest.mark.parametrize("raw", [r for r in BAD_INTEGERS if r])
@pytest.mark.parametrize(
    "template",
    [
        "GET /internal/promo/campaigns/{}",
        "POST /internal/promo/campaigns/{}/status",
        "GET /internal/promo/users/{}/throttle",
        "DELETE /internal/promo/users/{}/throttle?reason=x",
    ],
)
async def test_path_integers_are_ascii_digits_only(client: Client, template: str, raw: str) -> None:
    method, path = template.split(" ")
    body = {"status": "PAUSED", "reason": "x"} if method == "POST" else None
    response = await client.request(method, path.format(raw), json=body, headers=auth(ADMIN))
    assert response.status == 422, await response.text()
    assert (await response.json())["code"] == "invalid_path"


async def test_ascii_integers_still_work(client: Client) -> None:
    _, campaign = await _campaign(client)
    cid = campaign["promo_code_id"]
    assert (await client.get(f"/internal/promo/campaigns/{cid}", headers=auth(ADMIN))).status == 200
    assert (
        await client.get("/internal/promo/campaigns?limit=200", headers=auth(ADMIN))
    ).status == 200
    assert (
        await client.get("/internal/promo/campaigns?limit=007", headers=auth(ADMIN))
    ).status == 200
    assert (await client.get("/internal/promo/users/5/throttle", headers=auth(ADMIN))).status == 200


# Item 13: a timestamp is an ISO 8601 string with an offset; numbers were Unix times.
NOT_TIMESTAMPS = [
    {"ends_at": 99999999999},
    {"starts_at": 99999999999},
    {"starts_at": 1700000000.5},
    {"starts_at": "1700000000"},
    {"starts_at": True},
    {"starts_at": "2030-01-01"},
    {"starts_at": "2030-01-01T00:00:00"},
    {"starts_at": "2030-01-01 00:00:00+00:00"},
    {"starts_at": "2030-01-01T00:00:00+0000"},
    {"starts_at": "\uff12030-01-01T00:00:00Z"},  # fullwidth 2
]


@pytest.mark.parametrize(
    ("fields", "code"),
    [(f, "invalid_argument") for f in OUT_OF_RANGE] + [(f, "invalid_body") for f in NOT_TIMESTAMPS],
)
async def test_bad_timestamps_are_refused_and_nothing_is_stored(
    client: Client, admin_conn: Conn, fields: dict[str, object], code: str
) -> None:
    """Out of range: the SQL function refuses (SP422); not a timestamp: the body model does."""
    problem = await _refused(client, admin_conn, **fields)
    assert problem["code"] == code
    if code == "invalid_argument":
        assert "2000-01-01" in problem["detail"] and "9000-01-01" in problem["detail"]
    else:
        assert [e["field"] for e in problem["errors"]] == list(fields)
    listing = await client.get("/internal/promo/campaigns", headers=auth(ADMIN))
    assert listing.status == 200, await listing.text()


async def test_iso_timestamps_with_offsets_are_accepted(client: Client) -> None:
    _, campaign = await _campaign(
        client, starts_at="2030-01-01T00:00:00Z", ends_at="2030-02-01T02:00:00.5+02:00"
    )
    assert campaign["starts_at"] == "2030-01-01T00:00:00+00:00"
    assert campaign["ends_at"] == "2030-02-01T00:00:00.500000+00:00"


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        (
            "/internal/promo/campaigns",
            '{"code": "DUPLICATE0KEY1", "kind": "PREMIUM_GRANT", "campaign": "d",'
            ' "grant_days": 1, "grant_days": 2}',
        ),
        (
            "/internal/promo/redeem",
            '{"user_id": 1, "code": "X", "idempotency_key": "dup-key-01", "user_id": 2}',
        ),
        (
            "/internal/promo/redeem",
            '{"user_id": 1, "code": "X", "idempotency_key": "dup-key-02", "code": "X"}',
        ),
    ],
)
async def test_duplicate_json_keys_are_refused(
    client: Client, admin_conn: Conn, path: str, raw: str
) -> None:
    before = _stored(admin_conn)
    response = await client.post(
        path, data=raw, headers={**auth(ADMIN), "Content-Type": "application/json"}
    )
    assert response.status == 422, await response.text()
    problem = await response.json()
    assert problem["code"] == "duplicate_key"
    assert [e["message"] for e in problem["errors"]] == ["duplicate key"]
    assert _stored(admin_conn) == before


# Issue 15, "Allowed values once": the list and throttle views no longer check again what the
# database refuses; its refusal (SP422, its message and detail) is the answer.
@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("status=GONE", "invalid argument p_status: 'GONE' is not a promo.campaign_status"),
        ("status=ACTIVE&status=paused", "invalid argument p_status: 'paused' is not a"),
        ("kind=STARS", "invalid argument p_kind: 'STARS' is not a promo.campaign_kind"),
        ("q=", "invalid argument p_q: a search is 1 to 100 characters"),
        ("q=" + "x" * 101, "invalid argument p_q: a search is 1 to 100 characters"),
        ("limit=201", "invalid argument p_limit: a page is 1 to 200 campaigns"),
    ],
)
async def test_list_refusals_are_the_databases(client: Client, query: str, detail: str) -> None:
    response = await client.get(f"/internal/promo/campaigns?{query}", headers=auth(ADMIN))
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["code"] == "invalid_argument"
    assert body["detail"].startswith(detail), body


@pytest.mark.parametrize("reason", [None, "", "%20%20", "r" * 1001])
async def test_throttle_reset_reason_is_the_databases(client: Client, reason: str | None) -> None:
    query = "" if reason is None else f"?reason={reason}"
    response = await client.delete(f"/internal/promo/users/1/throttle{query}", headers=auth(ADMIN))
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["code"] == "invalid_argument"
    assert body["detail"].startswith("invalid argument p_reason"), body


async def test_throttle_reset_reason_is_trimmed_as_the_database_trims(client: Client) -> None:
    """1000 characters between blanks is a reason (btrim), as for every other reason."""
    response = await client.delete(
        "/internal/promo/users/1/throttle?reason=%20" + "r" * 1000 + "%20", headers=auth(ADMIN)
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["changed"] is False
