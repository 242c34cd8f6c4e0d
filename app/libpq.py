"""libpq details shared by the pool, the CLI and the tests."""

from __future__ import annotations


def libpq_option(name: str, value: str) -> str:
    """`-c name=value` for libpq's options, with spaces and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace(" ", "\\ ")
    return f"-c {name}={escaped}"
