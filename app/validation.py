"""Validation errors described without the values that failed (they may be secrets): for the
settings (app/config.py) and the alert policy (app/alerts/policy.py)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

_VALUE_ERROR_PREFIX = "Value error, "


def error_reasons(exc: ValidationError) -> list[tuple[tuple[str, ...], str]]:
    """(location, reason) of each error, never the input."""
    return [
        (
            tuple(str(part) for part in error["loc"]),
            "unknown key"
            if error["type"] == "extra_forbidden"
            else error["msg"].removeprefix(_VALUE_ERROR_PREFIX),
        )
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def error_lines(exc: ValidationError) -> list[str]:
    """`where: why` for each error of a model, never a value."""
    return [f"{'.'.join(where) or 'value'}: {why}" for where, why in error_reasons(exc)]


def load_json(raw: str) -> Any:
    """The document, or a ValueError with the parser's reason and position, never the
    document (it may hold secrets)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
