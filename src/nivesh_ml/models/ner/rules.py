"""EntityRuler patterns for the spans rules get exactly right: currency amounts and numeric dates.

The patterns are token patterns over ``spacy.blank("en")`` tokenisation, which splits a leading
``₹`` or ``$`` from the number (``₹`` ``2,500``) and ``Rs.`` from a number after a space
(``Rs`` ``.`` ``500``) but keeps glued forms whole (``Rs.500``, ``15k``, ``340rs``, ``5000/-``). So
each amount format is either a sequence of tokens (mark, number, multiplier, unit) or one token
matched by a regular expression.

A MONEY rule fires only when the amount carries a currency mark, a multiplier (``lakh``, ``k``,
``cr``), a unit word (``rupees``, ``bucks``) or the ``/-`` suffix, or is written with Indian digit
grouping (``1,00,000``). A bare number (``paid 500 for auto``) is left to the statistical model,
which reads the context. DATE rules cover only numeric and SMS dates (``14-09-25``,
``16/05/2025``, ``03-Oct-25``), never a preposition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from spacy.language import Language
from spacy.pipeline import EntityRuler
from spacy.tokens import Doc

__all__ = [
    "DATE_PATTERNS",
    "MONEY_PATTERNS",
    "RULER",
    "Pattern",
    "add_ruler",
    "guideline_spans",
    "load_patterns",
    "patterns",
    "placement_variants",
]

RULER = "entity_ruler"
_PROBE = "entity_ruler_probe"  # the temporary second ruler of the placement ablation

Pattern = dict[str, Any]
"""One EntityRuler pattern: ``{"label": ..., "pattern": [token patterns]}``."""

# A number: plain, Western (2,500) or Indian (1,00,000) grouping, optional decimals (1,249.00).
_NUMBER = r"\d+(?:,\d{2,3})*(?:\.\d+)?"
_MULTIPLIER = r"(?:k|K|L|cr|Cr|CR|lakhs?|lacs?|Lakhs?|crores?|Crores?|thousand|million|mn|bn)"
_GLUED_MARK = r"(?:[Rr][Ss]\.?|INR|inr|Inr)"  # a mark that can sit glued to the number: Rs.500, INR1200
_GLUED_UNIT = r"(?:rs|Rs|RS|/-)"  # a unit glued after the number: 340rs, 5000/-

# Lower-case forms of the marks and words around a number.
PREFIX_MARKS = ("₹", "rs", "inr", "rupees", "$", "usd", "£", "gbp", "€", "eur", "re", "rp")
SUFFIX_UNITS = ("rupees", "rupee", "rs", "inr", "bucks", "/-", "dollars", "pounds", "euros", "£", "$")
MULTIPLIER_WORDS = ("lakh", "lakhs", "lac", "lacs", "crore", "crores", "cr", "k", "thousand", "million")

_NUMBER_TOKEN = {"TEXT": {"REGEX": rf"^{_NUMBER}$"}}
# A number token that carries its own multiplier or /- (15k, 2.5cr, 5000/-, 1.5L)
_MARKED_NUMBER = {"TEXT": {"REGEX": rf"^{_NUMBER}(?:{_MULTIPLIER}|/-|{_MULTIPLIER}/-)$"}}
_ANY_NUMBER = {"TEXT": {"REGEX": rf"^{_NUMBER}(?:{_MULTIPLIER}|/-)?$"}}
_PREFIX = {"LOWER": {"IN": list(PREFIX_MARKS)}}
_DOT = {"ORTH": ".", "OP": "?"}
_MULTIPLIER_WORD = {"LOWER": {"IN": list(MULTIPLIER_WORDS)}}
_OPTIONAL_MULTIPLIER = {**_MULTIPLIER_WORD, "OP": "?"}
_SUFFIX = {"LOWER": {"IN": list(SUFFIX_UNITS)}}
_OPTIONAL_SUFFIX = {**_SUFFIX, "OP": "?"}


def _money(*tokens: dict[str, Any]) -> Pattern:
    return {"label": "MONEY", "pattern": [dict(token) for token in tokens]}


MONEY_PATTERNS: tuple[Pattern, ...] = (
    # ₹2,500 | Rs. 500 | INR 1,200 | ₹1.2 lakh | Rs 15k | ₹ 35,000 | $7.5 | Rs 5 lakh rupees
    _money(_PREFIX, _DOT, _ANY_NUMBER, _OPTIONAL_MULTIPLIER, _OPTIONAL_SUFFIX),
    # 8000 rupees | 5 lakh rupees | 9k rupees | 96.41 pounds | 900 £
    _money(_ANY_NUMBER, _OPTIONAL_MULTIPLIER, _SUFFIX),
    # 5 lakh | 2 crore | 1.2 lakh | 15 k
    _money(_NUMBER_TOKEN, _MULTIPLIER_WORD, _OPTIONAL_SUFFIX),
    # 15k | 2.5cr | 999/- | 1.5L (the mark is part of the token)
    _money(_MARKED_NUMBER, _OPTIONAL_SUFFIX),
    # Rs.500 | rs.657 | INR1200 | Rs.1,249.00 | Rs.10,000/- | Rs500 | Rs.2L, then a multiplier or unit
    _money(
        {"TEXT": {"REGEX": rf"^{_GLUED_MARK}{_NUMBER}(?:{_MULTIPLIER}|/-)?$"}},
        _OPTIONAL_MULTIPLIER,
        _OPTIONAL_SUFFIX,
    ),
    # 340rs | 999rs
    _money({"TEXT": {"REGEX": rf"^{_NUMBER}{_GLUED_UNIT}$"}}),
    # 1,00,000 | 12,50,000.00: Indian lakh grouping is an amount even without a mark
    _money({"TEXT": {"REGEX": r"^\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d+)?$"}}),
)

_MONTH = r"(?:[Jj]an|[Ff]eb|[Mm]ar|[Aa]pr|[Mm]ay|[Jj]un|[Jj]ul|[Aa]ug|[Ss]ep|[Ss]ept|[Oo]ct|[Nn]ov|[Dd]ec)"
_DAY = {"TEXT": {"REGEX": r"^(?:0?[1-9]|[12]\d|3[01])$"}}
_MONTH_NUMBER = {"TEXT": {"REGEX": r"^(?:0?[1-9]|1[0-2])$"}}
_YEAR_REGEX = r"(?:\d{2}|(?:19|20)\d{2})$"
_YEAR = {"TEXT": {"REGEX": "^" + _YEAR_REGEX}}


def _date(*tokens: dict[str, Any]) -> Pattern:
    return {"label": "DATE", "pattern": [dict(token) for token in tokens]}


DATE_PATTERNS: tuple[Pattern, ...] = (
    # 16/05/2025 | 06/08/25 | 01.10.2025 (one token)
    _date(
        {"TEXT": {"REGEX": r"^(?:0?[1-9]|[12]\d|3[01])[/.](?:0?[1-9]|1[0-2])[/.](?:\d{2}|(?:19|20)\d{2})$"}}
    ),
    # 14-09-25 | 22-08-2025 (five tokens)
    _date(_DAY, {"ORTH": "-"}, _MONTH_NUMBER, {"ORTH": "-"}, _YEAR),
    # 03-Oct-25 | 20-Oct-2025 (the tokenizer keeps "Oct-25" whole)
    _date(_DAY, {"ORTH": "-"}, {"TEXT": {"REGEX": rf"^{_MONTH}-(?:\d{{2}}|(?:19|20)\d{{2}})$"}}),
    # 2025-10-01 (ISO)
    _date({"TEXT": {"REGEX": r"^(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"}}),
)


def patterns(*, money: bool = True, dates: bool = True) -> list[Pattern]:
    """The ruler's patterns: the MONEY family, the DATE family, or both."""
    chosen: list[Pattern] = []
    if money:
        chosen.extend(MONEY_PATTERNS)
    if dates:
        chosen.extend(DATE_PATTERNS)
    return [{"label": p["label"], "pattern": [dict(t) for t in p["pattern"]]} for p in chosen]


def add_ruler(nlp: Language, placement: Literal["before", "after", "none"]) -> None:
    """Add an empty EntityRuler before or after the ``ner`` pipe (``none``: no ruler).

    Before: the NER keeps the ruler's entities and predicts around them (``overwrite_ents``
    does not matter, nothing is there yet). After: the ruler only fills gaps the NER left.
    """
    if placement == "none":
        return
    before, after = ("ner", None) if placement == "before" else (None, "ner")
    nlp.add_pipe("entity_ruler", name=RULER, config={"overwrite_ents": False}, before=before, after=after)


def load_patterns(nlp: Language, *, dates: bool = True) -> None:
    """Fill the pipeline's ruler with :func:`patterns` (after ``nlp.initialize()``, which empties it)."""
    if RULER in nlp.pipe_names:
        ruler = nlp.get_pipe(RULER)
        assert isinstance(ruler, EntityRuler)  # nosec B101  # narrows for mypy
        ruler.clear()
        ruler.add_patterns(patterns(dates=dates))


def placement_variants(nlp: Language, *, dates: bool = True) -> Iterator[tuple[str, Language]]:
    """``nlp`` as trained, then with its ruler off, before the NER, after it, and after it overwriting.

    Each variant is ``nlp`` itself, changed while the caller holds it and restored before the
    next: consume the iterator to the end (a ``dict(...)`` of it does).
    """
    yield "as_trained", nlp
    disabled = [RULER] if RULER in nlp.pipe_names else []
    with nlp.select_pipes(disable=disabled):
        yield "off", nlp
        if "ner" not in nlp.pipe_names:
            return  # a rules-only pipeline has nothing to place the ruler around
        for name, before, after, overwrite in (
            ("before", "ner", None, False),
            ("after", None, "ner", False),
            ("after_overwrite", None, "ner", True),
        ):
            config = {"overwrite_ents": overwrite}
            probe = nlp.add_pipe("entity_ruler", name=_PROBE, config=config, before=before, after=after)
            assert isinstance(probe, EntityRuler)  # nosec B101  # narrows for mypy
            probe.add_patterns(patterns(dates=dates))
            try:
                yield name, nlp
            finally:
                nlp.remove_pipe(_PROBE)


# Words the guideline leaves out at the start of a span: the preposition before a DATE ("on",
# "since") and the possessive before an ACCOUNT ("my HDFC savings account" -> "HDFC savings
# account"); and at the end of any span but an amount: a function word the NER ran on into
# ("Nippon India Mutual Fund before") or a Hinglish postposition ("kal ko").
DATE_PREPOSITIONS = frozenset(
    "on in since during over for from by before after until till at of within between".split()  # noqa: SIM905
)
POSSESSIVES = frozenset("my your our his her their mera mere meri apna apne".split())  # noqa: SIM905
TRAILING_WORDS = DATE_PREPOSITIONS | frozenset(
    "to with and or but is was are the a an even ka ki ke se pe par me mein ko tak".split()  # noqa: SIM905
)
# "'s" ends a brand (McDonald's, Haldiram's) but is a possessive after an account ("SBI card's").
_TRAILING_BY_LABEL = {"ACCOUNT": TRAILING_WORDS | {"'s", "\u2019s"}}
# A bare number after one of these is an identifier (OTP, phone, reference), never an amount.
IDENTIFIER_WORDS = frozenset(
    "otp pin code no no. number ref ref. reference id call phone mobile flat consumer txn utr".split()  # noqa: SIM905
)
_LEADING_WORDS = {"DATE": DATE_PREPOSITIONS, "ACCOUNT": POSSESSIVES}


def guideline_spans(doc: Doc) -> list[tuple[int, int, str]]:
    """The doc's entities as ``(start, end, label)`` characters, with the guideline's edges.

    Trimmed, since the statistical model sometimes puts them there and the guideline never does:
    a leading preposition (DATE) or possessive (ACCOUNT), trailing function words (any label but
    MONEY), a trailing "'s" after an ACCOUNT. Dropped: a bare number that reads as an identifier
    (seven digits or more, or five or more after "OTP", "call", "ref", ...), never MONEY.
    """
    spans = []
    for ent in doc.ents:
        if ent.label_ == "MONEY" and _is_identifier(doc, ent.start, ent.end):
            continue
        start, end = ent.start, ent.end
        leading = _LEADING_WORDS.get(ent.label_, frozenset())
        while end - start > 1 and doc[start].lower_ in leading:
            start += 1
        trailing = _TRAILING_BY_LABEL.get(ent.label_, TRAILING_WORDS)
        while ent.label_ != "MONEY" and end - start > 1 and doc[end - 1].lower_ in trailing:
            end -= 1
        spans.append((doc[start].idx, doc[end - 1].idx + len(doc[end - 1]), ent.label_))
    return spans


def _is_identifier(doc: Doc, start: int, end: int) -> bool:
    token = doc[start]
    if end - start != 1 or not token.is_digit:
        return False
    before = {t.lower_ for t in doc[max(0, start - 3) : start]}
    return len(token) >= 7 or (len(token) >= 5 and bool(before & IDENTIFIER_WORDS))
