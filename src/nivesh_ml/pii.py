"""Indian PII redaction: one pass of masks before anything is logged, stored or sent to the LLM.

What is masked, and with what (in this order, so a longer or stricter shape wins)::

    email            name@host.tld                          [EMAIL]
    UPI ID           name@bank (a handle with no dot)       [UPI]
    PAN              ABCDE1234F (4th letter a holder type)  [PAN]
    IFSC             SBIN0001234                            [IFSC]
    card number      13-19 digits, plain or in groups,      [CARD]
                     passing the Luhn check
    Aadhaar          12 digits (first 2-9), plain or 4-4-4, [AADHAAR]
                     passing the Verhoeff check digit
    phone            +91 / 0091 / 0 prefix optional, then   [PHONE]
                     10 digits starting 6-9 (or 5-5)
    bank account     9-18 digits after "account", "a/c",    [ACCOUNT]
                     "acct" (a few words may sit between)

Numbers are matched whole: a digit run glued to letters, or part of an amount written with
separators (``1,00,000``, ``98,765.50``) or a decimal, is left alone, and so are dates and
times (their digit groups are short). A digit string that fails its check (Luhn, Verhoeff) is
not a card or an Aadhaar number and stays, unless a later rule (phone, account) takes it.

:func:`redact` masks a string, :func:`redact_obj` every string (and long integer) inside a
JSON-like value; :func:`install_log_redactor` registers :func:`redact` with
:func:`nivesh_ml.log.add_redactor`, so every ``nivesh_ml`` log record is masked as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from nivesh_ml.log import add_redactor

__all__ = ["MASKS", "install_log_redactor", "luhn_valid", "redact", "redact_obj", "verhoeff_valid"]

MASKS: dict[str, str] = {
    "email": "[EMAIL]",
    "upi": "[UPI]",
    "pan": "[PAN]",
    "ifsc": "[IFSC]",
    "card": "[CARD]",
    "aadhaar": "[AADHAAR]",
    "phone": "[PHONE]",
    "account": "[ACCOUNT]",
}

# A number is matched whole: no word character, and no digit group of an amount or a decimal
# (``1,00,000``, ``12.50``), may touch it on either side.
_START = r"(?<!\w)(?<!\d[.,])"
_END = r"(?!\w)(?![.,]\d)"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?![\w-])")
_UPI = re.compile(r"(?<![\w.-])[\w.-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}(?![\w@-])(?!\.\w)")
_PAN = re.compile(r"\b[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]\b", re.IGNORECASE)
_IFSC = re.compile(r"\b[A-Z]{4}0[A-Z0-9]{6}\b", re.IGNORECASE)
_CARD = re.compile(
    _START
    + r"(?:[2-68]\d{12,18}"  # plain
    + r"|[2-68]\d{3}(?P<s1>[ -])\d{4}(?P=s1)\d{4}(?P=s1)\d{4}(?:(?P=s1)\d{1,3})?"  # 4-4-4-4(-3)
    + r"|3\d{3}(?P<s2>[ -])\d{6}(?P=s2)\d{5})"  # Amex 4-6-5
    + _END
)
_AADHAAR = re.compile(_START + r"[2-9]\d{3}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}" + _END)
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[.,])(?:(?:\+|00)91[ -]?|0)?[6-9]\d{4}[ -]?\d{5}" + _END,
)
_ACCOUNT = re.compile(
    r"(?P<context>\b(?:a/c|acct?|account)\b(?:[\s:#.=-]*[A-Za-z/]+\.?){0,4}?[\s:#.=-]*)"
    + r"(?P<number>\d{9,18})"
    + _END,
    re.IGNORECASE,
)

# Verhoeff's dihedral-group tables (multiplication d, permutation p).
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(number: str) -> bool:
    """Whether a digit string ends in a correct Verhoeff check digit (as every Aadhaar number does)."""
    if not number.isdigit():
        return False
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn check (as every payment card number does)."""
    if not number.isdigit():
        return False
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _checked(mask: str, check: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return mask if check(_digits(match.group(0))) else match.group(0)

    return replace


def _account(match: re.Match[str]) -> str:
    return match.group("context") + MASKS["account"]


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, MASKS["email"]),
    (_UPI, MASKS["upi"]),
    (_PAN, MASKS["pan"]),
    (_IFSC, MASKS["ifsc"]),
    (_CARD, _checked(MASKS["card"], luhn_valid)),
    (_AADHAAR, _checked(MASKS["aadhaar"], verhoeff_valid)),
    (_PHONE, MASKS["phone"]),
    (_ACCOUNT, _account),
)
_HINT = re.compile(r"[@\d]")  # every rule needs a digit or an @: text without either is returned as is


def redact(text: str) -> str:
    """``text`` with every Indian PII pattern of the module docstring masked."""
    if not _HINT.search(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted, dict keys kept.

    Integers of nine or more digits are redacted as their decimal text (a phone number sent as
    a number comes back ``"[PHONE]"``); other numbers, booleans and None are kept.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_obj(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 100_000_000:
        masked = redact(str(value))
        return value if masked == str(value) else masked
    return value


def install_log_redactor() -> None:
    """Mask PII in every ``nivesh_ml`` log record (registering twice is harmless)."""
    add_redactor(redact)
