"""Settings: secrets and tokens are validated before anything starts."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.config import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_short_pepper_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        _settings(promo_secret_pepper="x" * 31)
    assert _settings(promo_secret_pepper="x" * 32).promo_secret_pepper is not None


def test_pepper_is_measured_in_bytes() -> None:
    # 16 two-byte characters are 32 bytes.
    assert _settings(promo_secret_pepper="ä" * 16).promo_secret_pepper is not None


def test_pepper_never_shows_in_repr() -> None:
    settings = _settings(promo_secret_pepper="s" * 40)
    assert "s" * 40 not in repr(settings)


def test_tokens_parse_with_scopes() -> None:
    raw = json.dumps([{"name": "billing-svc", "token": "t" * 32, "scopes": ["promo:redeem"]}])
    tokens = _settings(internal_api_tokens_json=raw).api_tokens
    assert [(t.name, t.scopes) for t in tokens] == [("billing-svc", frozenset({"promo:redeem"}))]
    assert "t" * 32 not in repr(tokens)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "x"}', "JSON array"),
        (json.dumps([{"name": "short", "token": "t" * 31, "scopes": []}]), "at least 32"),
        (json.dumps([{"name": "bad name!", "token": "t" * 32, "scopes": []}]), "pattern"),
    ],
)
def test_bad_tokens_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(internal_api_tokens_json=raw)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://example/db")
    monkeypatch.setenv("STARPASS_DB_PORT", "6000")
    settings = _settings()
    assert settings.database_url == "postgresql://example/db"
    assert settings.starpass_db_port == 6000
