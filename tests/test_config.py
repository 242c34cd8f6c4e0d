"""Settings: secrets and tokens are validated before anything starts, and an invalid
configuration is reported by environment variable without echoing any value."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from app.cli.main import main
from app.config import KNOWN_SCOPES, Settings, get_settings
from tests.conftest import leaks, run_starpass


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


GOOD_32 = "Qm3v9XzL0pRt7Ws2Ka8Yd4Hf6Jc1Nb5E"  # 32 characters, 32 distinct


def test_short_pepper_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        _settings(promo_secret_pepper=GOOD_32[:31])
    assert _settings(promo_secret_pepper=GOOD_32).promo_secret_pepper is not None


def test_pepper_is_measured_in_bytes() -> None:
    # 16 different two-byte characters are 32 bytes.
    assert _settings(promo_secret_pepper="äöüßÄÖÜéèêàâçñõø").promo_secret_pepper is not None


@pytest.mark.parametrize(
    ("pepper", "message"),
    [
        (" " * 32, "whitespace not counted"),
        (" " * 64, "whitespace not counted"),
        ("\t\n " * 20, "whitespace not counted"),
        (GOOD_32[:20] + " " * 20, "whitespace not counted"),
        ("x" * 32, "different characters"),
        ("ab" * 40, "different characters"),
        ("ä" * 16, "different characters"),
    ],
    ids=[
        "32-spaces",
        "64-spaces",
        "tabs-newlines",
        "mostly-spaces",
        "one-letter",
        "two-letters",
        "one-umlaut",
    ],
)
def test_placeholder_peppers_are_refused(pepper: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(promo_secret_pepper=pepper)
    with pytest.raises(ValidationError, match=message):
        _settings(promo_secret_pepper_previous=pepper)


def test_generated_peppers_pass() -> None:
    for _ in range(200):
        _settings(promo_secret_pepper=secrets.token_hex(16))  # 32 of only 16 characters
        _settings(promo_secret_pepper=secrets.token_urlsafe(32))
    # Inner spaces are allowed; they just do not count towards the length.
    assert _settings(promo_secret_pepper="a pepper with spaces, " + GOOD_32).promo_secret_pepper


def test_pepper_never_shows_in_repr() -> None:
    settings = _settings(promo_secret_pepper=GOOD_32)
    assert leaks(GOOD_32, repr(settings)) == []


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
        (json.dumps([{"name": "x", "token": "t" * 32, "scopes": ["promo:root"]}]), "unknown scope"),
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


@pytest.mark.parametrize(
    "base", ["docs/errors.md#x", "docs/errors.md?x=1", "has blank", "", "x" * 501, "tab\there"]
)
def test_a_problem_type_base_is_a_uri_without_fragment(base: str) -> None:
    with pytest.raises(ValidationError):
        _settings(starpass_problem_type_base=base)
    good = "https://docs.example.org/starpass/errors.html"
    assert _settings(starpass_problem_type_base=good).starpass_problem_type_base == good


def test_known_scopes_are_accepted() -> None:
    raw = json.dumps([{"name": "all", "token": "t" * 32, "scopes": sorted(KNOWN_SCOPES)}])
    assert _settings(internal_api_tokens_json=raw).api_tokens[0].scopes == KNOWN_SCOPES


# --- What the CLI prints for an invalid configuration -------------------------------------

REAL_TOKEN = "Xk7pQ2vR9mZt4LwB8nYc3HdF6gJs1aEu5oIq0rTyWx"  # 42 characters, as generated


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _tokens(*entries: object) -> str:
    return json.dumps(list(entries))


BAD_VALUES = [
    pytest.param("PROMO_SECRET_PEPPER", "Zq8#kL2@vN5!wR", "Zq8#kL2@vN5!wR", id="short-pepper"),
    pytest.param("PROMO_SECRET_PEPPER", " " * 32, " " * 32, id="whitespace-pepper"),
    pytest.param("PROMO_SECRET_PEPPER", "Qm3v" * 10, "Qm3v" * 10, id="low-variety-pepper"),
    pytest.param("PROMO_SECRET_PEPPER_PREVIOUS", "Hn4$Tq9&Lp2", "Hn4$Tq9&Lp2", id="short-previous"),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        _tokens({"name": "svc", "token": "Tk9shortSecret", "scopes": ["promo:redeem"]}),
        "Tk9shortSecret",
        id="short-token",
    ),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        _tokens({"name": "bad name!", "token": REAL_TOKEN, "scopes": "promo:redeem"}),
        REAL_TOKEN,
        id="real-token-in-malformed-entry",
    ),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        _tokens(["svc", REAL_TOKEN, ["promo:redeem"]]),
        REAL_TOKEN,
        id="real-token-in-an-array-entry",
    ),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        '[{"name": "svc", "token": "' + REAL_TOKEN + '", scopes: ["promo:redeem"]}]',
        REAL_TOKEN,
        id="bad-json-with-token",
    ),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        _tokens({"name": "svc", "token": REAL_TOKEN, "scopes": ["promo:redeem", "promo:root"]}),
        REAL_TOKEN,
        id="unknown-scope",
    ),
    pytest.param(
        "INTERNAL_API_TOKENS_JSON",
        _tokens({"name": "svc", "token": REAL_TOKEN, "scopes": [REAL_TOKEN]}),
        REAL_TOKEN,
        id="token-as-scope",
    ),
    pytest.param("STARPASS_DB_PORT", "65x536zz", "65x536zz", id="bad-port"),
]


@pytest.mark.parametrize(("variable", "value", "secret"), BAD_VALUES)
def test_invalid_configuration_names_the_variable_and_hides_the_value(
    variable: str,
    value: str,
    secret: str,
    fresh_settings: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["db", "url"]) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert output.startswith("starpass: invalid configuration:\n")
    lines = output.splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [variable], output
    assert variable.lower() not in output, "the pydantic field name instead of the variable"
    assert leaks(secret, output) == [], output


def test_unknown_scope_is_named(fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _tokens({"name": "svc", "token": REAL_TOKEN, "scopes": ["promo:redeem", "promo:root"]})
    with pytest.raises(ValidationError) as caught:
        _settings(internal_api_tokens_json=raw)
    assert "unknown scope promo:root" in str(caught.value)


def test_every_bad_variable_gets_one_line(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMO_SECRET_PEPPER", "short-Secret-1")
    monkeypatch.setenv("STARPASS_DB_PORT", "80")
    monkeypatch.setenv(
        "INTERNAL_API_TOKENS_JSON",
        _tokens(
            {"name": "a", "token": "Tk9shortSecret", "scopes": []},
            {"name": "b", "token": REAL_TOKEN, "scopes": ["nope"]},
        ),
    )
    assert main(["db", "url"]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()[1:]
    assert sorted(line.split(":")[0].strip() for line in lines) == [
        "INTERNAL_API_TOKENS_JSON",
        "PROMO_SECRET_PEPPER",
        "STARPASS_DB_PORT",
    ], err
    tokens_line = next(line for line in lines if "INTERNAL_API_TOKENS_JSON" in line)
    assert "entry 1: token:" in tokens_line and "entry 2: scopes: unknown scope nope" in tokens_line
    for secret in ("short-Secret-1", "Tk9shortSecret", REAL_TOKEN):
        assert leaks(secret, err) == [], err


def test_the_installed_command_prints_no_secret() -> None:
    """The real entry point in a process of its own, as an operator runs it."""
    env = {
        **os.environ,
        "PROMO_SECRET_PEPPER": "Zq8#kL2@vN5!wR",
        "INTERNAL_API_TOKENS_JSON": _tokens(["svc", REAL_TOKEN, ["promo:redeem"]]),
    }
    done = run_starpass("db", "url", env=env)
    assert done.returncode == 2
    assert "PROMO_SECRET_PEPPER: a pepper must be at least 32 bytes" in done.stderr
    assert "INTERNAL_API_TOKENS_JSON: entry 1: value: Input should be" in done.stderr
    for secret in ("Zq8#kL2@vN5!wR", REAL_TOKEN):
        assert leaks(secret, done.stdout + done.stderr) == [], done.stderr
