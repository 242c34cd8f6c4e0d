"""Promo code formats on the Python side: the generated batch code (alphabet, pattern, check
character) and the canonical form, each the mirror of a SQL function that stays the authority
(tests/test_batch_codes.py holds them equal):

- `normalize_code` mirrors `promo.normalize_code_or_null`; the batch tool uses it only for the
  prefix it prints codes with, the database normalizes on its own (and answers each line's
  canonical code for the report);
- `check_character` / `has_wrong_check_character` / `is_batch_format` mirror
  `promo.check_character`, `promo.has_wrong_check_character` and `promo.is_batch_window`: the
  tool generates codes with them, the database refuses a wrong check character.

A batch code is `PREFIX` followed by groups of four characters, three letters and a digit,
the last group three letters and the check character: `SUMMER-KQM7-RTX4-PZA9-HNKC`. Letters
leave out I, L and O, digits 0 and 1, so nothing reads as something else; where a digit stands
is fixed, so 5 and S, 2 and Z, 8 and B are not confused either. The check character covers the
last 16 characters (docs/promo.md, "Batch codes")."""

from __future__ import annotations

import math
import os
import re
import unicodedata
from dataclasses import dataclass

# The order gives each character its value 0 to 30 (promo.batch_alphabet()).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DIGITS = ALPHABET[:8]
LETTERS = ALPHABET[8:]
GROUP = 4
MIN_GROUPS = 4  # the check covers 16 characters, the last four groups
MAX_GROUPS = 6
WINDOW = MIN_GROUPS * GROUP
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

# promo.normalize_code_or_null: NFKC, then these go, then ASCII uppercase; 1-64 of A-Z0-9.
_REMOVED = re.compile(
    "[\\s\u00a0\u00ad\u1680\u180e\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
    "\\-\u2010-\u2015\u2043\u2212\ufe58\ufe63\uff0d]"
)
_CANONICAL = re.compile("[A-Z0-9]{1,64}")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def normalize_code(raw: str) -> str | None:
    """The canonical form of a code, or None when the input cannot be a code."""
    if len(raw) > 256:
        return None
    bare = raw.replace("-", "").replace(" ", "")  # a printed code: the same answer, faster
    if _CANONICAL.fullmatch(bare):
        return bare
    code = _REMOVED.sub("", unicodedata.normalize("NFKC", raw)).translate(_ASCII_UPPER)
    return code if _CANONICAL.fullmatch(code) else None


_PATTERN = re.compile("([A-HJKMNP-Z]{3}[2-9]){3}[A-HJKMNP-Z]{3}[2-9A-HJKMNP-Z]")


def is_batch_format(code: str) -> bool:
    """Whether a canonical code ends in the batch pattern (LLLD LLLD LLLD LLL + check)."""
    return len(code) >= WINDOW and _PATTERN.fullmatch(code, len(code) - WINDOW) is not None


def check_sum(code: str) -> int:
    """promo.check_sum of the code's last 16 characters (alphabet characters only): each value
    times its position from the right, modulo 31."""
    return sum(k * _VALUE[c] for k, c in enumerate(reversed(code[-WINDOW:]), start=1)) % 31


def check_character(text: str) -> str:
    """The character that completes `text` (a batch code without its last character)."""
    return ALPHABET[-check_sum(text + ALPHABET[0]) % 31]


def has_wrong_check_character(code: str) -> bool:
    return is_batch_format(code) and check_sum(code) != 0


def random_bits(groups: int) -> float:
    """The randomness of a batch code of this many groups (the check character adds none)."""
    return (groups * 3) * math.log2(len(LETTERS)) + (groups - 1) * math.log2(len(DIGITS))


# Byte tables: a letter or digit from a random byte (no modulo bias: 230 and 256 are multiples of
# 23 and 8; bytes from 230 on are dropped for letters), and a character's value as a byte.
_TO_LETTER = bytes(ord(LETTERS[b % 23]) if b < 230 else ord("!") for b in range(256))
_TO_DIGIT = bytes(ord(DIGITS[b % 8]) for b in range(256))
_TO_VALUE = bytes(_VALUE.get(chr(b), 0) for b in range(256))
_CHECK_OF_SUM = bytes(ord(ALPHABET[-s % 31]) for s in range(2**16))


@dataclass(frozen=True)
class CodeBlock:
    """`count` generated codes: their bodies side by side (`width` bytes each, the check
    character not included) and their check characters. 16 bytes a code (4 groups), so a
    million codes take 16 MB; `code(i)` builds one as text."""

    prefix: str
    width: int
    bodies: bytes
    checks: bytes

    def __len__(self) -> int:
        return len(self.checks)

    def code(self, i: int) -> str:
        return (
            self.prefix
            + self.bodies[i * self.width : (i + 1) * self.width].decode()
            + chr(self.checks[i])
        )


def generate(prefix: str, count: int, groups: int = MIN_GROUPS) -> CodeBlock:
    """`count` batch codes from the operating system's CSPRNG (`os.urandom`, what `secrets`
    draws from), a whole column of characters at a time: a `secrets.choice` per character and
    a check sum per code in Python took 12 s for a million codes, this takes under one."""
    if not MIN_GROUPS <= groups <= MAX_GROUPS:
        raise ValueError(f"groups must be {MIN_GROUPS} to {MAX_GROUPS}")
    width = groups * GROUP - 1
    bodies = bytearray(width * count)
    for p in range(width):
        if p % GROUP == GROUP - 1:
            column = os.urandom(count).translate(_TO_DIGIT)
        else:
            column = b""
            while len(column) < count:
                drawn = os.urandom(count + count // 8 + 64).translate(_TO_LETTER)
                column += drawn.replace(b"!", b"")
        bodies[p::width] = column[:count]
    # The check sums of all codes at once: each character's value in a 16-bit lane of one big
    # integer per column, weighted and added (at most 16 * 30 * 16 < 2**16: no lane overflows).
    # Only the last 15 body characters count (the window is 16 with the check character).
    values = bytes(bodies).translate(_TO_VALUE)
    total = 0
    for p in range(max(0, width - (WINDOW - 1)), width):
        lanes = bytearray(2 * count)
        lanes[0::2] = values[p::width]
        total += (width + 1 - p) * int.from_bytes(lanes, "little")
    sums = memoryview(total.to_bytes(2 * count, "little")).cast("H")
    checks = bytes(map(_CHECK_OF_SUM.__getitem__, sums))
    return CodeBlock(prefix, width, bytes(bodies), checks)


def printed(code: str, prefix: str = "") -> str:
    """A batch code as it is printed, the prefix and then groups of four
    (`SUMMER-KQM7-RTX4-PZA9-HNKC`; spaces and hyphens do not matter when it is typed); any other
    code as it is. Without the prefix, the last four groups are split off."""
    if not is_batch_format(code):
        return code
    start = len(prefix) if prefix and code.startswith(prefix) else len(code) - WINDOW
    if len(code) - start == WINDOW:  # four groups, as generated by default: a third faster
        groups = (
            f"{code[start : start + 4]}-{code[start + 4 : start + 8]}"
            f"-{code[start + 8 : start + 12]}-{code[start + 12 :]}"
        )
    else:
        groups = "-".join([code[i : i + GROUP] for i in range(start, len(code), GROUP)])
    return f"{code[:start]}-{groups}" if start else groups
