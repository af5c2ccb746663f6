"""Indian PII redaction: one pass of masks before anything is logged, stored or sent to the LLM.

What is masked, and with what (rules are tried in this order; the first to claim a span wins)::

    email            name@host.tld, name @ host.tld, name[at]host[dot]com,      [EMAIL]
                     name dot k at host dot com
    UPI ID           name@bank (a handle with no dot)                           [UPI]
    GSTIN            27ABCDE1234F1Z5 (it holds a PAN)                           [GSTIN]
    PAN              ABCDE1234F (any 4th letter: test PANs too), ABCDE 1234 F   [PAN]
    IFSC             SBIN0001234                                                [IFSC]
    driving licence  MH12 20110012345 (state, RTO, year of issue, 7 digits)     [LICENCE]
    vehicle          MH 12 AB 1234, KA01AB1234, ka-01-ab-1234, 22 BH 1234 AA    [VEHICLE]
    passport         A1234567 after the word "passport"                         [PASSPORT]
    voter ID (EPIC)  ABC1234567 after "voter" or "EPIC"                         [VOTERID]
    card             13-19 digits passing the Luhn check                        [CARD]
    Aadhaar          12 digits (first 2-9) passing the Verhoeff check           [AADHAAR]
    grouped number   4-4-4 (an Aadhaar), 4-4-4-4(-1..3), 4-6-5, 4-6-4 (a card)  [AADHAAR] / [CARD]
                     whatever the check digit: users type test numbers
    long number      11-18 digits standing alone: an account, a VID             [ACCOUNT]
    mobile           10 digits from 6-9 after an optional +91, 0091, 91,        [PHONE]
                     (+91) or 0, in any grouping of 2+ digits (five pairs
                     only after a prefix or a word such as "number")
    landline         +91 and 10 digits, or 0, an STD code and the local number  [PHONE]
    bank account     9-18 digits after "account", "a/c", "acct", "khata" (a     [ACCOUNT]
                     few words may sit between) or just before "IFSC"

Digit groups may be separated by a space, a dash, a dot or a slash, mixed. A number is matched
whole: a digit run glued to letters, or to another number by a comma, dot or dash (an amount
``1,00,000`` or ``98,765.50``, a decimal, a UUID's last group), is left alone, and so are dates,
times, pin codes, OTPs and years (their runs are short). Amounts are never written with 11 or
more plain digits, so such a run is taken for an account; a plain run right after a transaction
word (``UPI ref``, ``UTR``, ``order id``, ``PNR``, ``txn``) is a reference and is kept, as are
references with letters (``TXN8A7B6C``), masked numbers (``XXXX1234``) and toll-free numbers.

:func:`redact` masks a string, :func:`find_pii` says where the PII is. :func:`redact_obj` masks a
JSON-like value: every string, every key, every number of ten or more digits (a phone sent as
``9876543210`` or ``9876543210.0``), and the whole value under a key that names PII
(``account_number``, ``phone``, ``panNo``, ``upi_id``: see :func:`pii_key_kind`).
:func:`install_log_redactor` registers :func:`redact` with :func:`nivesh_ml.log.add_redactor`,
so every ``nivesh_ml`` log record is masked as well.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from nivesh_ml.log import add_redactor

__all__ = [
    "MASKS",
    "PiiSpan",
    "find_pii",
    "install_log_redactor",
    "luhn_valid",
    "pii_key_kind",
    "redact",
    "redact_obj",
    "verhoeff_valid",
]

MASKS: dict[str, str] = {
    "email": "[EMAIL]",
    "upi": "[UPI]",
    "gstin": "[GSTIN]",
    "pan": "[PAN]",
    "ifsc": "[IFSC]",
    "licence": "[LICENCE]",
    "vehicle": "[VEHICLE]",
    "passport": "[PASSPORT]",
    "voter": "[VOTERID]",
    "card": "[CARD]",
    "aadhaar": "[AADHAAR]",
    "phone": "[PHONE]",
    "account": "[ACCOUNT]",
}


class PiiSpan(NamedTuple):
    """Where one piece of PII sits in a text: ``text[start:end]``, and its kind (a key of MASKS)."""

    start: int
    end: int
    kind: str


# A number is matched whole: no word character, no digit joined by a comma, dot or dash (an
# amount, a decimal, a range), and no UUID group (4 hex digits and a dash) may touch it.
_START = r"(?<![\w+])(?<!\d[.,-])(?<![0-9A-Fa-f]{4}-)"
_END = r"(?!\w)(?![.,-]\d)"
_SEP = r"(?:[ \t]?[-.][ \t]?|/|[ \t]{1,2})"  # between digit groups: space, dash, dot, slash
_MORE = r"(?!(?:[ \t]?[-.][ \t]?|[ \t]{1,2})\d)"  # no further digit group (a slash starts a new number)
_FILLER = r"(?:[\s:#.=-]*(?:no|num|number|id|is|nr)\b\.?){0,3}[\s:#.=-]*"  # "no. is: "
_STATES = (
    "AN|AP|AR|AS|BR|CG|CH|DD|DL|DN|GA|GJ|HP|HR|JH|JK|KA|KL|LA|LD|MH|ML|MN|MP|MZ|NL|OD|OR|PB|PY|RJ|"
    "SK|TN|TR|TS|UA|UK|UP|WB"
)

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?![\w-])"
    # spelt out: rahul[at]gmail[dot]com, rahul (at) gmail.com, rahul at gmail dot com
    r"|(?<![\w.+-])[\w.+-]+\s?[\[({]\s?at\s?[\])}]\s?[\w-]+(?:\s?(?:[\[({]\s?dot\s?[\])}]|\.)\s?[a-z]{2,})+\b"
    r"|(?<![\w.+-])[\w.+-]+(?: @ ?| ?@ )[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z]{2,})+\b"  # rahul @ gmail.com
    r"|\b[\w.+-]+(?:\s+dot\s+[\w+-]+)*\s+at\s+[\w-]+(?:\s+dot\s+[\w-]+)*\s+dot\s+(?:com|in|co|org|net|edu|gov|io|me)\b",
    re.IGNORECASE,
)
_UPI = re.compile(r"(?<![\w.-])[\w.-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}(?![\w@-])(?!\.\w)")
_GSTIN = re.compile(r"\b\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]\b", re.IGNORECASE)
_PAN = re.compile(r"\b(?i:[A-Z]{5}\d{4}[A-Z])\b|\b[A-Z]{5}[ -]\d{4}[ -]?[A-Z](?![\w/])")
_IFSC = re.compile(r"\b[A-Z]{4}0[A-Z0-9]{6}\b", re.IGNORECASE)
_LICENCE = re.compile(r"\b[A-Z]{2}[ -]?\d{2}[ -]?(?:19|20)\d{2}[ -]?\d{7}\b", re.IGNORECASE)
_VEHICLE = re.compile(
    rf"\b(?:{_STATES})[ -]?\d{{1,2}}[A-Z]?[ -]?[A-Z]{{1,3}}[ -]?\d{{4}}\b"  # in capitals, any spacing
    rf"|\b(?i:(?:{_STATES})-?\d{{1,2}}[A-Z]?-?[A-Z]{{1,3}}-?\d{{4}})\b"  # glued or dashed, any case
    r"|\b\d{2}[ -]?BH[ -]?\d{4}[ -]?[A-Z]{1,2}\b"  # Bharat series
)
_PASSPORT = re.compile(rf"\bpassport{_FILLER}(?P<value>[A-Z][0-9]{{7}})\b", re.IGNORECASE)
_VOTER = re.compile(
    rf"\b(?:voter(?:[\s-]?id)?|epic){_FILLER}(?P<value>[A-Z]{{3}}[0-9]{{7}})\b", re.IGNORECASE
)
_NUMBER = re.compile(
    _START
    + rf"(?:\d{{4}}(?:{_SEP}\d{{4}}){{2}}(?:{_SEP}\d{{4}}(?:{_SEP}\d{{1,3}})?)?{_MORE}"  # 4-4-4(-4(-3))
    + rf"|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{4,5}}{_MORE}"  # Amex 4-6-5, Diners 4-6-4
    + r"|\d{11,19})"  # plain
    + _END
)
_PHONE = re.compile(
    _START
    + r"(?P<prefix>(?:\(\s?(?:\+\s?|00)?91\s?\)|(?:\+\s?|00)91|91|\(0\)|0)(?:[ \t]?-[ \t]?|[ \t]{1,2})?)?"
    + rf"(?P<number>[6-9](?:{_SEP}?\d){{9}})"
    + _END
)
_LANDLINE = re.compile(
    _START
    + r"(?:(?P<prefix>(?:\+\s?|00)91(?:[ \t]?-[ \t]?|[ \t]{1,2})?)"
    + rf"(?P<number>[1-5](?:{_SEP}?\d){{9}})"
    + rf"|(?P<std>0[1-8]\d{{1,3}}){_SEP}(?P<local>\d(?:{_SEP}?\d){{5,7}}))"  # 022 2345 6789
    + _END
)
_ACCOUNT = re.compile(
    r"\b(?:a/c|acct?|account|khata)\b(?:[\s:#.=-]*[A-Za-z/]+\.?){0,4}?[\s:#.=-]*"
    + r"(?P<value>\d{9,18})"
    + _END,
    re.IGNORECASE,
)
_ACCOUNT_IFSC = re.compile(_START + r"(?P<value>\d{9,18})" + _END + r"(?=[\s,;:/-]*ifsc)", re.IGNORECASE)
_PHONE_WORD = re.compile(
    r"\b(?:phone|mobile|mob|number|num|call|whatsapp|contact|ph|tel|sms)\b\D{0,15}$", re.I
)
_MOBILE = re.compile(r"(?:0|91|0091)[6-9]\d{9}")
_REFERENCE = re.compile(
    rf"\b(?:ref|reference|utr|rrn|txn|transaction|order|invoice|awb|tracking|ticket|booking|pnr)"
    rf"{_FILLER}$",
    re.IGNORECASE,
)
_HINT = re.compile(r"[@\d]|[\[({]\s?at\s?[\])}]|\sdot\s", re.IGNORECASE)  # no rule matches without one

# Verhoeff's dihedral-group tables (multiplication d, permutation p), ten digits a row.
_D_ROWS = (
    "0123456789123406789523401789563401289567401239567859876043216598710432765982104387659321049876543210"
)
_P_ROWS = "01234567891576283094580379614289160435279453126870428657390127938064157046913258"
_D = tuple(tuple(map(int, _D_ROWS[row : row + 10])) for row in range(0, 100, 10))
_P = tuple(tuple(map(int, _P_ROWS[row : row + 10])) for row in range(0, 80, 10))


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


def _is_reference(match: re.Match[str]) -> bool:
    """Whether a transaction word (ref, UTR, order, PNR...) stands right before the match."""
    return bool(_REFERENCE.search(match.string, max(0, match.start() - 40), match.start()))


def _number_kind(match: re.Match[str]) -> str | None:
    """A card, an Aadhaar or an account-like number, by its digits, check digit and grouping."""
    digits = re.sub(r"\D", "", match.group(0))
    size, grouped = len(digits), len(digits) != len(match.group(0))
    if not grouped and (_is_reference(match) or _MOBILE.fullmatch(digits)):
        return None  # "UPI ref 430912876512": a transaction, not a person; 09876543210: a phone
    if 13 <= size <= 19 and luhn_valid(digits):
        return "card"
    if size == 12 and digits[0] not in "01" and verhoeff_valid(digits):
        return "aadhaar"
    if grouped:  # 4-4-4 or card-shaped groups: an identity number, whatever its check digit
        return "aadhaar" if size == 12 else "card"
    return "account" if size <= 18 else None


def _phone_kind(match: re.Match[str]) -> str | None:
    """A phone when every digit group of the ten has two digits or more (``9 876 543 210`` has not)."""
    number = match.group("number")
    if re.fullmatch(r"\d+\.\d{2}", number):
        return None  # 84509194.63 is an amount
    sizes = [len(group) for group in re.split(r"\D+", number)]
    if len(sizes) == 1 and not match.group("prefix") and _is_reference(match):
        return None  # "PNR 8512345678"
    if min(sizes) < 2:
        return None
    if max(sizes) == 2 and not match.group("prefix"):  # a list of small numbers, or a phone?
        before = match.string[max(0, match.start() - 30) : match.start()]
        return "phone" if _PHONE_WORD.search(before) else None
    return "phone"


def _landline_kind(match: re.Match[str]) -> str | None:
    """A landline: +91 and ten digits, or an STD code from 0 and a local number, eleven digits."""
    if match.group("number"):
        return _phone_kind(match)
    sizes = [len(group) for group in re.split(r"\D+", match.group("local"))]
    total = len(match.group("std")) + sum(sizes)
    return "phone" if total == 11 and min(sizes) >= 2 else None


Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], str | None] | None]

_RULES: tuple[Rule, ...] = (
    ("email", _EMAIL, None),
    ("upi", _UPI, None),
    ("gstin", _GSTIN, None),
    ("pan", _PAN, None),
    ("ifsc", _IFSC, None),
    ("licence", _LICENCE, None),
    ("vehicle", _VEHICLE, None),
    ("passport", _PASSPORT, None),
    ("voter", _VOTER, None),
    ("number", _NUMBER, _number_kind),
    ("phone", _PHONE, _phone_kind),
    ("landline", _LANDLINE, _landline_kind),
    ("account", _ACCOUNT, None),
    ("account", _ACCOUNT_IFSC, None),
)


def _candidates(text: str) -> Iterator[PiiSpan]:
    for kind, pattern, classify in _RULES:
        for match in pattern.finditer(text):
            found = classify(match) if classify else kind
            if found is not None:
                group = "value" if "value" in pattern.groupindex else 0
                yield PiiSpan(match.start(group), match.end(group), found)


def find_pii(text: str) -> list[PiiSpan]:
    """Every PII span in ``text``, in text order; where two rules overlap, the earlier rule wins."""
    if not _HINT.search(text):
        return []
    taken: list[PiiSpan] = []
    for span in _candidates(text):
        if all(span.end <= other.start or span.start >= other.end for other in taken):
            taken.append(span)
    return sorted(taken)


def redact(text: str) -> str:
    """``text`` with every Indian PII pattern of the module docstring masked."""
    spans = find_pii(text)
    if not spans:
        return text
    parts, cursor = [], 0
    for start, end, kind in spans:
        parts += [text[cursor:start], MASKS[kind]]
        cursor = end
    return "".join([*parts, text[cursor:]])


# A key names PII when it ends in a PII word and, optionally, an id suffix, and does not start
# with a count or flag word (``n_accounts``, ``has_salary_account``, ``account_type`` are data).
_KEY_KINDS = {
    "account": r"account|acct|acc(?=n)|ac(?=n|$)|bankac",
    "phone": r"phone|mobile|mob|cell(?=n|phone)|tel|telephone|contact|whatsapp|msisdn",
    "pan": r"pan|pancard",
    "aadhaar": r"aa?dh?aa?r|aadhaarcard|uidai",
    "card": r"card|creditcard|debitcard|cc(?=n)",
    "upi": r"upi|vpa",
    "email": r"e?mail",
    "ifsc": r"ifsc",
    "gstin": r"gstin|gst(?=n)",
    "passport": r"passport",
    "voter": r"voter|epic",
    "licence": r"licen[cs]e|drivinglicen[cs]e|dl(?=n)",
    "vehicle": r"vehicle(?=n)|registration(?=n)|rc(?=n)",
}
_KEY = re.compile(
    "(?:" + "|".join(f"(?P<{kind}>{words})" for kind, words in _KEY_KINDS.items()) + ")"
    r"(?P<suffix>numbers?|num|no|nr|id|handle|address|addr|code|details)?"
)
_NOT_PII_FIRST = re.compile(  # a count or a flag: n_accounts, has_salary_account, is_mobile
    r"n|num|count|total|avg|mean|max|min|sum|pct|ratio|share|has|is|no|days|months|years|age|last|first|"
    r"prev|new|valid|verified|type|kind"
)


def pii_key_kind(key: str) -> str | None:
    """The kind of PII a JSON key names (``accountNumber``, ``a/c no``, ``upi_id`` ...), else None."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", key))
    tokens = re.findall(r"[a-z]+|\d+", spaced.lower().replace("a/c", "ac"))
    if not tokens or _NOT_PII_FIRST.fullmatch(tokens[0]):
        return None
    for first in range(len(tokens)):
        match = _KEY.fullmatch("".join(tokens[first:]))
        if match:
            kind = next(name for name in _KEY_KINDS if match.group(name))
            # ``account_id`` is the platform's own account key; a real number in it is still masked
            return None if (kind, match.group("suffix")) == ("account", "id") else kind
    return None


def _redact_number(value: int | float) -> Any:
    """A number of ten or more digits as its masked text when it is PII (a phone, an account)."""
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return value
    text = str(abs(int(value)))
    if len(text) < 10:
        return value
    masked = redact(text)
    return value if masked == text else masked


def _unique(key: Any, taken: Mapping[Any, Any]) -> Any:
    """``key``, or ``key#2``, ``key#3``... when two keys are the same once masked."""
    if key not in taken:
        return key
    suffix = 2
    while f"{key}#{suffix}" in taken:
        suffix += 1
    return f"{key}#{suffix}"


def _redact_mapping(value: Mapping[Any, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, item in value.items():
        kind = pii_key_kind(key) if isinstance(key, str) else None
        if kind is not None and item is not None and not isinstance(item, bool):
            item = MASKS[kind]  # masked whole, whatever its type: a list of phones, a card dict
        else:
            item = redact_obj(item)
        out[_unique(redact(key) if isinstance(key, str) else key, out)] = item
    return out


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value with PII masked in every string, key and long number.

    A value under a key that names PII (:func:`pii_key_kind`) is replaced by that kind's mask,
    whatever its type (None and booleans are kept: they hold no PII). Keys are redacted like any
    text; two keys that become the same are kept apart as ``[UPI]`` and ``[UPI]#2``. An integer,
    or a float with no fraction, of ten or more digits is redacted as its decimal text (a phone
    sent as a number comes back ``"[PHONE]"``); other numbers, booleans and None are kept.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return _redact_mapping(value)
    if isinstance(value, list | tuple):
        return [redact_obj(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _redact_number(value)
    return value


def install_log_redactor() -> None:
    """Mask PII in every ``nivesh_ml`` log record (registering twice is harmless)."""
    add_redactor(redact)
