"""Schemathesis against the served spec: generated requests (bounded) to a real server on a
real database; no 5xx and every response conforms to the spec."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.routes import OPERATIONS, build
from tests.conftest import LIVE_TOKEN


@pytest.fixture(scope="module")
def api_schema(live_server: str) -> Any:
    loaded = schemathesis.openapi.from_dict(build())
    loaded.config.update(base_url=live_server)
    return loaded


def test_api_conforms_to_its_spec(api_schema: Any) -> None:
    # Each operation in turn (schemathesis' pytest plugin does not support this pytest yet).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS) == 14
    for operation in operations:

        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {LIVE_TOKEN}"})
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
