"""Schemathesis against the served spec: generated requests (bounded) to a real server on a
real database; no 5xx and every response conforms to the spec."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.app import create_app
from app.api.openapi import build
from app.config import Settings
from tests.conftest import PEPPER
from tests.harness import ScratchDatabase

TOKEN = "t" * 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(database: ScratchDatabase) -> Iterator[str]:
    settings = Settings(
        database_url=database.app_url,
        promo_secret_pepper=SecretStr(PEPPER),
        internal_api_tokens_json=json.dumps(
            [{"name": "schemathesis", "token": TOKEN, "scopes": ["promo:admin", "promo:redeem"]}]
        ),
        _env_file=None,
    )
    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings))
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def api_schema(server_url: str) -> Any:
    loaded = schemathesis.openapi.from_dict(build())
    loaded.config.update(base_url=server_url)
    return loaded


def test_api_conforms_to_its_spec(api_schema: Any) -> None:
    # Each operation in turn (schemathesis' pytest plugin does not support this pytest yet).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        check()
