"""The OpenAPI document and the routes come from one table (app/api/routes.py): the document
is valid OpenAPI 3.1, documents every operation fully, lists exactly the routes the
application serves, and each scope it states is the one enforced."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from app.api.app import create_app
from app.api.routes import OPERATIONS, build
from app.config import KNOWN_SCOPES
from tests.conftest import service_settings
from tests.harness import ScratchDatabase

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in build()["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_the_document_is_valid_openapi() -> None:
    validate(build())  # openapi-spec-validator: raises on the first error


def test_every_operation_is_documented() -> None:
    document = build()
    declared = [tag["name"] for tag in document["tags"]]
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)
    used: set[str] = set()
    for method, path, op in _operations():
        where = f"{method} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z]+", str(op["operationId"])), where
        assert isinstance(op["tags"], list) and len(op["tags"]) == 1, where
        assert op["tags"][0] in declared, where
        used.add(op["tags"][0])
        for text in ("summary", "description"):
            assert isinstance(op[text], str) and len(op[text]) >= 8, f"{where}: {text}"
        assert isinstance(op["responses"], dict) and any(s < "400" for s in op["responses"])
    assert used == set(declared), "a declared tag no operation has"
    paths = document["paths"]
    for probe in ("/healthz", "/readyz", "/metrics", "/internal/openapi.json"):
        assert "get" in paths[probe], probe


def test_the_problem_schema_has_the_members_problems_carry() -> None:
    problem = build()["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert {"instance", "errors", "outcome"} <= set(problem["properties"])
    assert problem["additionalProperties"] is False


async def test_the_application_serves_the_table_and_its_scopes(
    database: ScratchDatabase,
) -> None:
    # One token per scope that has every scope but that one: each operation answers 403 to
    # the token lacking its scope, and no other does.
    tokens = [
        {"name": f"all-but-{i}", "token": f"{i}" * 40, "scopes": sorted(KNOWN_SCOPES - {scope})}
        for i, scope in enumerate(sorted(KNOWN_SCOPES))
    ]
    lacking = {
        scope: str(t["token"]) for scope, t in zip(sorted(KNOWN_SCOPES), tokens, strict=True)
    }
    app = create_app(service_settings(database, internal_api_tokens_json=json.dumps(tokens)))
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == {(method, path) for method, path, _ in _operations()}
    async with TestClient(TestServer(app)) as client:
        for method, path, op in _operations():
            url = re.sub(r"\{[a-z_]+\}", "1", path)
            security = op["security"]
            assert isinstance(security, list)
            anonymous = await client.request(method, url)
            if not security:
                assert anonymous.status != 401, f"{method} {path} wants a token"
                continue
            (scope,) = security[0]["bearer"]
            assert anonymous.status == 401, f"{method} {path}"
            refused = await client.request(
                method, url, headers={"Authorization": f"Bearer {lacking[scope]}"}
            )
            assert refused.status == 403, f"{method} {path} without {scope}"
            other = next(token for s, token in lacking.items() if s != scope)
            allowed = await client.request(
                method, url, headers={"Authorization": f"Bearer {other}"}
            )
            assert allowed.status not in (401, 403), f"{method} {path} with {scope}"
