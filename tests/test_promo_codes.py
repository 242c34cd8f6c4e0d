"""Property tests of code normalization and hashing, run in PostgreSQL (the one source of truth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase

SEPARATORS = [
    " ",
    "-",
    "\u00a0",
    "\u2010",
    "\u2011",
    "\u2013",
    "\u2014",
    "\u2212",
    "\u00ad",
    "\u200b",
]
codes = st.from_regex(r"[A-Z0-9]{1,64}", fullmatch=True)
settings_ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def conn(database: ScratchDatabase) -> Iterator[Conn]:
    with connect(database.admin_url) as c:
        yield c


def _one(conn: Conn, query: str, *params: object) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


@st.composite
def variants(draw: st.DrawFn, code: str) -> str:
    """The code as a person might type it: any case, separators anywhere, padded."""
    out = []
    for char in code:
        out.append(char.lower() if draw(st.booleans()) else char)
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
    return draw(st.sampled_from(["", " ", "\t"])) + "".join(out) + draw(st.sampled_from(["", " "]))


@settings_
# What can reach PostgreSQL: valid UTF-8 (no lone surrogates) without NUL.
@given(
    text=st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=80)
)
def test_normalization_is_idempotent(conn: Conn, text: str) -> None:
    once = _one(conn, "SELECT promo.normalize_code_or_null(%s)", text)
    if once is not None:
        assert _one(conn, "SELECT promo.normalize_code_or_null(%s)", once) == once


@settings_
@given(data=st.data(), code=codes)
def test_variants_hash_equal(conn: Conn, data: st.DataObject, code: str) -> None:
    variant = data.draw(variants(code))
    assert _one(conn, "SELECT promo.normalize_code_or_null(%s)", variant) == code
    assert _one(conn, "SELECT promo.hash_code(%s) = promo.hash_code(%s)", variant, code) is True


@settings_
@given(first=codes, second=codes)
def test_distinct_codes_hash_differently(conn: Conn, first: str, second: str) -> None:
    same = _one(conn, "SELECT promo.hash_code(%s) = promo.hash_code(%s)", first, second)
    assert same is (first == second)
