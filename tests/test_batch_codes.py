"""The Python mirrors of the code formats (app/codes.py) agree with the SQL functions, which
stay the authority: the check character the batch tool appends is the one the database
verifies, and the canonical form its report prints is the one the database hashes."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import codes
from tests.conftest import Conn

# Dashes, odd spaces, full-width letters and digits, letters uppercase only outside ASCII.
ODD = (
    "-\u2010\u2011\u2013\u2014\u2212\u00a0\u3000\u200b\u00ad\ufeff"
    "\uff21\uff22\uff23\uff11\uff12\uff13\u00df\u00e9\u00c4\u0131\u0130\t"
)
any_text = st.text(alphabet=string.ascii_letters + string.digits + " " + ODD, max_size=30)
pattern_bodies = st.lists(
    st.tuples(
        st.text(alphabet=codes.LETTERS, min_size=3, max_size=3),
        st.sampled_from(codes.DIGITS),
    ),
    min_size=3,
    max_size=5,
).map(lambda groups: "".join(a + d for a, d in groups))
prefixes = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=0, max_size=16)


def _sql(conn: Conn, query: str, values: list[str]) -> list[object]:
    rows = conn.execute(
        f"SELECT {query} AS v FROM unnest(%s::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
        (values,),
    ).fetchall()
    return [row["v"] for row in rows]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(prefixes, pattern_bodies, st.text(codes.LETTERS, min_size=3, max_size=3)),
        min_size=1,
        max_size=50,
    )
)
def test_check_character_agrees(admin_conn: Conn, parts: list[tuple[str, str, str]]) -> None:
    texts = [prefix + body + last for prefix, body, last in parts]
    assert _sql(admin_conn, "promo.check_character(x)", texts) == [
        codes.check_character(t) for t in texts
    ]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.tuples(prefixes, pattern_bodies, st.text(codes.LETTERS, min_size=3, max_size=3))
            .map(lambda p: p[0] + p[1] + p[2])
            .flatmap(lambda t: st.sampled_from([t + codes.check_character(t), t + "Z", t + "2"])),
            st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=40),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_wrong_check_character_agrees(admin_conn: Conn, canonical: list[str]) -> None:
    assert _sql(admin_conn, "promo.has_wrong_check_character(x)", canonical) == [
        codes.has_wrong_check_character(c) for c in canonical
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(any_text, min_size=1, max_size=50))
def test_normalization_agrees(admin_conn: Conn, raw: list[str]) -> None:
    assert _sql(admin_conn, "promo.normalize_code_or_null(x)", raw) == [
        codes.normalize_code(r) for r in raw
    ]


def test_generated_codes(admin_conn: Conn) -> None:
    block = codes.generate("SUMMER26", 2000, groups=5)
    generated = [block.code(i) for i in range(len(block))]
    assert len(set(generated)) == len(generated)
    assert all(c.startswith("SUMMER26") and len(c) == 8 + 20 for c in generated)
    assert all(
        codes.is_batch_format(c) and not codes.has_wrong_check_character(c) for c in generated
    )
    # The database agrees that every one carries its check character.
    assert _sql(admin_conn, "promo.has_wrong_check_character(x)", generated) == [False] * 2000
    # The characters are spread over the alphabet (a broken draw would repeat a few).
    letters = "".join(c[8:] for c in generated)
    assert set(letters) == set(codes.ALPHABET)
    assert codes.printed(generated[0], "SUMMER26").count("-") == 5
    assert codes.random_bits(codes.MIN_GROUPS) >= 50


def test_a_typo_is_caught_in_python_too() -> None:
    code = codes.generate("XMAS", 1).code(0)
    assert not codes.has_wrong_check_character(code)
    for i in range(len(code) - codes.WINDOW, len(code)):
        same_kind = (
            codes.DIGITS if code[i] in codes.DIGITS and i != len(code) - 1 else codes.LETTERS
        )
        other = next(c for c in same_kind if c != code[i])
        assert codes.has_wrong_check_character(code[:i] + other + code[i + 1 :]), i


@pytest.mark.parametrize("groups", [4, 5, 6])
@pytest.mark.parametrize("prefix", ["", "JUNE", "OTHER"])
def test_the_printed_form_groups_by_four(groups: int, prefix: str) -> None:
    code = codes.generate("JUNE", 1, groups=groups).code(0)
    printed = codes.printed(code, prefix)
    parts = printed.split("-")
    assert printed.replace("-", "") == code
    # After the prefix (when the code has it) groups of four; without it, the last four groups.
    head = parts[0] if prefix == "JUNE" else "-".join(parts[: len(parts) - 4])
    assert head.replace("-", "") == (
        "JUNE" if prefix == "JUNE" else code[: len(code) - codes.WINDOW]
    )
    assert all(len(p) == 4 for p in (parts[1:] if prefix == "JUNE" else parts[-4:]))
    assert len(parts) == (groups + 1 if prefix == "JUNE" else 5)
    assert codes.printed("JUNE-NOT-A-BATCH".replace("-", ""), prefix) == "JUNENOTABATCH"
