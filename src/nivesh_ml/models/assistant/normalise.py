"""Argument normalisation: one spelling for every value a user (or the model) may write.

- amounts to whole rupees: ``5 lakh`` -> 500000, ``15k`` -> 15000, ``₹2,50,000`` -> 250000;
- periods to :data:`PERIODS` (``pichle mahine`` -> ``last_month``), budget periods to
  :data:`BUDGET_PERIODS`, categories to :data:`CATEGORIES`;
- EMI tenures to months (``5 years`` -> 60), rates to percent (``8.5%`` -> 8.5);
- goal deadlines to ``YYYY-MM`` or an ISO 8601 duration (``P2Y``, ``P6M``);
- accounts to ``bank [type]`` in lower case (``State Bank of India savings a/c`` -> ``sbi savings``);
- merchants to lower case (PII masks such as ``[UPI]`` kept as they are).

:data:`NORMALISERS` maps each argument kind of :mod:`.tools` to its normaliser. Pure Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from nivesh_ml.errors import NiveshError

__all__ = [
    "BUDGET_PERIODS",
    "CATEGORIES",
    "DEADLINE_PATTERN",
    "NORMALISERS",
    "PERIODS",
    "ToolCallError",
    "normalise_account",
    "parse_amount",
    "parse_deadline",
    "parse_months",
    "parse_rate",
]

PERIODS: tuple[str, ...] = (
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "last_3_months",
    "this_year",
    "last_year",
)
BUDGET_PERIODS: tuple[str, ...] = ("weekly", "monthly", "yearly")
CATEGORIES: tuple[str, ...] = (
    "food",
    "groceries",
    "shopping",
    "travel",
    "fuel",
    "entertainment",
    "bills",
    "rent",
    "health",
    "education",
    "emi",
    "subscriptions",
    "investments",
)


class ToolCallError(NiveshError):
    """A tool call names an unknown tool or carries arguments its schema refuses."""


DEADLINE_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2])|P[1-9]\d?[MY])$"

_UNITS: dict[str, int] = {
    **dict.fromkeys(("k", "thousand", "hazaar", "hazar", "hajar", "hzr"), 1_000),
    **dict.fromkeys(("l", "lk", "lakh", "lakhs", "lac", "lacs", "lakh rupees"), 100_000),
    **dict.fromkeys(("m", "mn", "million"), 1_000_000),
    **dict.fromkeys(("cr", "crore", "crores", "karod", "karor"), 10_000_000),
}
_AMOUNT = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[a-z ]+?)?$")
_CURRENCY = re.compile(r"^(?:₹|rs\.?|inr|rupees?)\s*|\s*(?:/-|rupees?|rs\.?|inr|only)$")


def parse_amount(value: Any) -> int:
    """Whole rupees from a number or an Indian-written amount (``₹2,50,000``, ``5 lakh``, ``15k``)."""
    if isinstance(value, bool):
        raise ToolCallError(f"not an amount: {value!r}")
    if isinstance(value, int | float):
        return _positive(round(value), value)
    text = str(value).strip().lower()
    for _ in range(2):  # prefix and suffix may both be present: "rs 500 only"
        text = _CURRENCY.sub("", text).strip()
    match = _AMOUNT.match(text.replace(",", "").replace("_", ""))
    if match is None or (match["unit"] and match["unit"].strip() not in _UNITS):
        raise ToolCallError(f"not an amount: {value!r}")
    unit = _UNITS[match["unit"].strip()] if match["unit"] else 1
    return _positive(round(float(match["num"]) * unit), value)


def _positive(amount: int, raw: Any) -> int:
    if amount < 1:
        raise ToolCallError(f"amount must be at least 1 rupee: {raw!r}")
    return amount


def parse_rate(value: Any) -> float:
    """Percent per year from ``8.5``, ``"8.5%"`` or ``"8.5 percent p.a."``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:%|percent|pc)?", str(value).lower())
    if match is None:
        raise ToolCallError(f"not a rate: {value!r}")
    return float(match.group(1))


_DURATION = re.compile(r"^(?:in\s+)?(\d+(?:\.\d+)?)\s*(years?|yrs?|y|saal|sal|months?|mos?|m|mahine|mahina)$")


def _duration(value: Any) -> tuple[float, str] | None:
    match = _DURATION.match(str(value).strip().lower())
    if match is None:
        return None
    unit = "Y" if match.group(2).startswith(("y", "s")) else "M"
    return float(match.group(1)), unit


def parse_months(value: Any) -> int:
    """A tenure in months from ``60``, ``"60 months"``, ``"5 years"`` or ``"5 saal"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value)
    if str(value).strip().isdigit():
        return int(str(value).strip())
    found = _duration(value)
    if found is None:
        raise ToolCallError(f"not a tenure: {value!r}")
    number, unit = found
    return round(number * 12) if unit == "Y" else round(number)


_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {name: i for i, short in enumerate(_MONTH_NAMES, start=1) for name in (short,)}
_MONTHS |= {"january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "sept": 9}
_MONTHS |= {"august": 8, "september": 9, "october": 10, "november": 11, "december": 12}


def parse_deadline(value: Any) -> str:
    """``YYYY-MM`` from ``dec 2026`` / ``12/2026``, or ``P2Y`` / ``P6M`` from ``2 years`` / ``6 months``."""
    text = str(value).strip().lower().removeprefix("by ").strip()
    if re.match(DEADLINE_PATTERN, text.upper()):
        return text.upper() if text.startswith("p") else text
    found = _duration(text)
    if found is not None and found[0].is_integer():
        return f"P{int(found[0])}{found[1]}"
    match = re.match(r"^([a-z]+)\.?\s*'?(\d{2}|\d{4})$", text) or re.match(r"^(\d{1,2})[/-](\d{4})$", text)
    if match is not None:
        month = _MONTHS.get(match.group(1)) or (int(match.group(1)) if match.group(1).isdigit() else None)
        year = int(match.group(2)) + (2000 if len(match.group(2)) == 2 else 0)
        if month is not None and 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    raise ToolCallError(f"not a deadline: {value!r}")


def _aliases(table: str) -> dict[str, str]:
    """``canonical: alias | alias`` lines -> {alias: canonical}."""
    out: dict[str, str] = {}
    for line in table.strip().splitlines():
        canonical, _, aliases = line.partition(":")
        out.update(dict.fromkeys((a.strip() for a in aliases.split("|")), canonical.strip()))
    return out


_PERIOD_ALIASES = _aliases("""
today: aaj
yesterday: kal
this_week: this week | is hafte | is week
last_week: last week | pichle hafte | previous week
this_month: this month | is mahine | current month
last_month: last month | pichle mahine | previous month
last_3_months: last 3 months | past 3 months | last three months | last quarter
this_year: this year | is saal
last_year: last year | pichle saal | previous year
""")
_BUDGET_ALIASES = _aliases("""
weekly: week | per week
monthly: month | per month | this_month | mahina
yearly: year | annual | annually | per year
""")
_CATEGORY_ALIASES = _aliases("""
food: eating out | restaurants | dining | food delivery | khana | khaana
groceries: grocery | kirana | sabzi | vegetables
shopping: clothes | online shopping | kapde
travel: cabs | cab | flights | trips | commute | transport
fuel: petrol | diesel
entertainment: movies | outings
bills: utilities | electricity | recharge | phone bill | bill
rent: house rent | kiraya
health: medical | medicines | pharmacy | doctor | healthcare
education: fees | school fees | tuition | courses
emi: emis | loan | loans
subscriptions: ott | subscription | streaming
investments: investment | sip | sips | mutual funds
""")
_BANK_ALIASES = _aliases("""
sbi: state bank of india | state bank
bob: bank of baroda
kotak: kotak mahindra
idfc first: idfc | idfc first
pnb: punjab national
au: au small finance
yes: yes bank
""")
_ACCOUNT_TYPES = _aliases("""
savings: saving | savings | sb
salary: salary
current: current
credit card: cc | credit card | card
wallet: wallet
""")
_ACCOUNT_FILLER = re.compile(r"\b(my|the|mera|mere|account|acct|acc|a/c|ac|bank|ka|ki|ke|wala|wale)\b")


def _vocabulary(values: tuple[str, ...], aliases: Mapping[str, str], what: str) -> Callable[[Any], str]:
    def normalise(value: Any) -> str:
        text = re.sub(r"\s+", " ", str(value).strip().lower())
        canonical = text.replace(" ", "_").replace("-", "_")
        if canonical in values:
            return canonical
        if text in aliases:
            return aliases[text]
        raise ToolCallError(f"unknown {what} {value!r}; choose one of {', '.join(values)}")

    return normalise


_MASK = re.compile(r"\[[a-z]+\]")


def _replace(aliases: Mapping[str, str], text: str) -> str:
    """Every alias in ``text`` by its canonical name, in one pass (so ``idfc first`` stays put)."""
    pattern = "|".join(re.escape(alias) for alias in sorted(aliases, key=len, reverse=True))
    return re.sub(rf"\b(?:{pattern})\b", lambda match: aliases[match.group(0)], text)


def normalise_account(value: Any) -> str:
    """``bank [type]`` in lower case: ``My HDFC Savings A/c`` -> ``hdfc savings``."""
    text = _replace(_BANK_ALIASES, str(value).lower().replace("'s", ""))
    text = _replace(_ACCOUNT_TYPES, re.sub(r"\s+", " ", _ACCOUNT_FILLER.sub(" ", text)).strip())
    if not text:
        raise ToolCallError(f"not an account: {value!r}")
    return text


def _lower_text(value: Any) -> str:
    text = re.sub(r"\s+", " ", str(value).strip().lower())
    if not text:
        raise ToolCallError("empty text")
    return _MASK.sub(lambda match: match.group(0).upper(), text)  # PII masks stay [UPI], [PHONE]


def _text(value: Any) -> str:
    text = re.sub(r"\s+", " ", str(value)).strip()
    if not text:
        raise ToolCallError("empty text")
    return text


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "amount": parse_amount,
    "rate": parse_rate,
    "months": parse_months,
    "period": _vocabulary(PERIODS, _PERIOD_ALIASES, "period"),
    "budget_period": _vocabulary(BUDGET_PERIODS, _BUDGET_ALIASES, "budget period"),
    "category": _vocabulary(CATEGORIES, _CATEGORY_ALIASES, "category"),
    "account": normalise_account,
    "merchant": _lower_text,
    "text": _text,
    "deadline": parse_deadline,
}
