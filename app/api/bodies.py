"""Request bodies: JSON only, unknown fields refused, types and ranges checked before the
database is called."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
)

from app.api.problems import problem
from app.vocabulary import IDEMPOTENCY_KEY_PATTERN, CampaignKind, SettableStatus

M = TypeVar("M", bound=BaseModel)
BIGINT_MAX = 2**63 - 1
KEY_PATTERN = re.compile(IDEMPOTENCY_KEY_PATTERN)
UserId = Annotated[int, Field(ge=1, le=9007199254740991)]
Key = Annotated[str, Field(pattern=IDEMPOTENCY_KEY_PATTERN)]
# RFC 3339 date-time (the ISO 8601 profile OpenAPI's `date-time` names), offset required.
ISO_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _iso_timestamp(value: object) -> object:
    """Only a string is a timestamp: pydantic's lax datetime also takes numbers and numeric
    strings as Unix times (99999999999 became 1973)."""
    if not isinstance(value, str) or not ISO_TIMESTAMP.fullmatch(value):
        raise ValueError("a timestamp is an ISO 8601 string with an offset: 2030-01-31T12:00:00Z")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_timestamp),
    Strict(False),  # the model is strict, and strict datetimes refuse strings
    Field(
        description="ISO 8601 (RFC 3339) date-time with an offset, from 2000-01-01 up to"
        " 9000-01-01 UTC"
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RedeemBody(Body):
    user_id: UserId
    code: Annotated[str, Field(min_length=1, max_length=256)]
    idempotency_key: Key | None = None


class CreateCampaignBody(Body):
    code: Annotated[str, Field(min_length=1, max_length=256)]
    kind: CampaignKind
    campaign: Annotated[str, Field(min_length=1, max_length=100)]
    grant_days: Annotated[int, Field(ge=1, le=3660)] | None = None
    discount_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    max_uses: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    per_user_limit: Annotated[int, Field(ge=1, le=1000)] = 1
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    prefix: Annotated[str, Field(min_length=2, max_length=16)] | None = None


class StatusBody(Body):
    status: SettableStatus
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class RollbackBody(Body):
    purchase_id: Annotated[int, Field(ge=1, le=BIGINT_MAX)]
    idempotency_key: Key | None = None
    reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class RefundBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class InvalidBody(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


class DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of repeated keys; a body that repeats one is refused."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


async def parse(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise InvalidBody(problem(415, "unsupported_media_type", "Send application/json."))
    try:
        data = json.loads(await request.read(), object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise InvalidBody(
            problem(
                422,
                "duplicate_key",
                "The body repeats a key.",
                errors=[{"field": exc.key, "message": "duplicate key"}],
            )
        ) from None
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd numbers or nesting
        raise InvalidBody(problem(400, "malformed_json", "The body is not valid JSON.")) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidBody(
            problem(422, "invalid_body", "The body does not match the schema.", errors=errors)
        ) from None


def idempotency_key(request: web.Request, in_body: str | None) -> str:
    """The key from the body or the Idempotency-Key header: one is required; both and
    different is a 422."""
    header = request.headers.get("Idempotency-Key")
    if header is not None and not KEY_PATTERN.fullmatch(header):
        raise InvalidBody(
            problem(422, "invalid_header", "Idempotency-Key is 8 to 128 of A-Z a-z 0-9 . _ : -")
        )
    if header is not None and in_body is not None and header != in_body:
        raise InvalidBody(
            problem(422, "idempotency_key_mismatch", "Idempotency-Key header and body differ.")
        )
    key = in_body or header
    if key is None:
        raise InvalidBody(
            problem(
                422, "invalid_body", "idempotency_key (or the Idempotency-Key header) is required."
            )
        )
    return key
