"""Problem bodies point somewhere: every code the service can answer with has an anchor in
docs/errors.md, `type` is that anchor (under a configurable base) and `instance` names the
request (its X-Request-Id)."""

from __future__ import annotations

import ast
import json
import re

from aiohttp.test_utils import TestClient, TestServer

from app.api import problems
from app.api.app import create_app
from app.api.errors import SQLSTATE_STATUS
from app.api.schemas import Problem
from app.config import PROJECT_ROOT
from tests.conftest import Conn, service_settings
from tests.harness import ScratchDatabase
from tests.test_error_reasons import _raised
from tests.test_http_promo import ADMIN, TOKENS, auth

ANCHOR = re.compile(r'<a id="([a-z0-9_]+)"></a>')
# The only calls of problem() whose code is not a literal: they forward a code made elsewhere
# (an HTTP status's, a SQLSTATE's or a database refusal's reason), all covered below.
FORWARDERS = {"problems.py", "errors.py", "server.py"}


def _codes_in_the_code() -> set[str]:
    """The literal codes of every problem() call under app/; a call elsewhere whose code is not
    a literal fails, so nothing the service answers escapes this list."""
    codes: set[str] = set()
    for path in (PROJECT_ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "problem"
            ):
                continue
            code = node.args[1] if len(node.args) > 1 else None
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                codes.add(code.value)
            else:
                assert path.name in FORWARDERS, f"{path}:{node.lineno}: a code that is no literal"
    return codes


def test_every_code_has_an_anchor_in_errors_md(admin_conn: Conn) -> None:
    anchors = ANCHOR.findall((PROJECT_ROOT / "docs" / "errors.md").read_text())
    assert len(anchors) == len(set(anchors)), "an anchor twice"
    emitted = (
        _codes_in_the_code()
        | {code for _, code in SQLSTATE_STATUS.values()}
        | {reason for reason, _ in _raised(admin_conn)}
        # what aiohttp raises or answers itself (problem_middleware, server.py)
        | {problems.code_for_status(status) for status in (400, 404, 405, 413)}
    )
    assert {"campaign_not_found", "invalid_body", "telegram_refused", "busy"} <= emitted
    assert emitted - set(anchors) == set(), "codes without an anchor in docs/errors.md"
    assert set(anchors) - emitted == set(), "anchors of codes nothing answers with"


async def test_type_is_the_anchor_and_instance_the_request(database: ScratchDatabase) -> None:
    tokens = json.dumps(TOKENS)
    settings = service_settings(database, internal_api_tokens_json=tokens)
    async with TestClient(TestServer(create_app(settings))) as client:
        # A database refusal, with the caller's request id.
        response = await client.get(
            "/internal/promo/campaigns/999999999",
            headers={**auth(ADMIN), "X-Request-Id": "support-ticket-42"},
        )
        body = await response.json()
        assert response.status == 404 and response.headers["X-Request-Id"] == "support-ticket-42"
        assert body["type"] == "docs/errors.md#campaign_not_found"
        assert body["instance"] == "urn:starpass:request:support-ticket-42"
        Problem.model_validate(body)
        # The HTTP layer's own, with a request id of its making.
        response = await client.get("/no/such/route")
        body = await response.json()
        assert body["type"] == "docs/errors.md#not_found"
        assert body["instance"] == f"urn:starpass:request:{response.headers['X-Request-Id']}"
    base = "https://docs.example.org/starpass/errors.html"
    settings = service_settings(
        database, internal_api_tokens_json=tokens, starpass_problem_type_base=base
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        body = await (await client.post("/internal/promo/redeem", headers=auth(ADMIN))).json()
        assert body["type"] == f"{base}#unsupported_media_type"


def test_a_problem_outside_a_request_has_no_instance() -> None:
    response = problems.problem(409, "conflict", "x")
    assert response.text is not None
    body = json.loads(response.text)
    assert body["type"] == "docs/errors.md#conflict" and "instance" not in body
