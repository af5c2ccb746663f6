"""Bank-statement narrations, built column-wise with Arrow string kernels (no per-row Python).

Formats, by channel and kind of row (``M``: merchant in capitals, ``REF``: a 12-digit reference)::

    UPI debit        UPI/M/REF/Paid via GPay          UPI credit      UPI/CR/REF/M
    card             POS XXXX1234 M                   card refund     REFUND/M/REF
    card abroad      INTL POS/M/USD 59.40/MARKUP 3.5%
    netbanking       NB/M/REF  (NB CR/M/REF)          ATM             ATM WDL/CITY/123456
    NEFT salary      NEFT CR/M/SALARY OCT 2026        NEFT/IMPS       NEFT CR/REF/M, IMPS/P2A/REF/M
    auto debit       NACH DR/M/REF                    bank postings   M/OCT 2026
    card bill        CC BILLPAY/M/REF, and on the card PAYMENT RECEIVED/REF
    self transfer    IMPS/SELF/REF and IMPS CR/SELF/REF
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nivesh_ml.data.synthetic import catalog
from nivesh_ml.data.synthetic.accounts import Accounts
from nivesh_ml.data.synthetic.anomalies import usd_rate
from nivesh_ml.data.synthetic.batch import Batch
from nivesh_ml.data.synthetic.merchants import cat, ch, codes, foreign_mask, vocabulary
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population

__all__ = ["describe"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
Piece: TypeAlias = "str | pa.Array"


class _Parts:
    """The per-row pieces a narration is made of, taken lazily for a subset of rows."""

    def __init__(
        self, b: Batch, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator
    ) -> None:
        self.b, self.pop, self.tl = b, pop, tl
        self.ref = rng.integers(10**11, 10**12, len(b))
        self.upper = pa.array([name.upper() for name in vocabulary()])
        self.apps = pa.array(catalog.UPI_APPS)
        self.cities = pa.array([c.name.upper() for c in catalog.CITIES])
        self.last4 = pc.utf8_lpad(pc.cast(pa.array(acc.last4.astype(np.int64)), pa.string()), 4, "0")
        months = np.array(_MONTHS)[tl.cal_month - 1]
        years = (tl.day_ns.astype("datetime64[ns]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(
            str
        )
        self.month_year = pa.array(np.char.add(np.char.add(months, " "), years).tolist())

    def merchant(self, idx: np.ndarray) -> pa.Array:
        return self.upper.take(pa.array(self.b.merchant[idx]))

    def reference(self, idx: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(self.ref[idx]), pa.string())

    def short_ref(self, idx: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(self.ref[idx] % 1_000_000), pa.string()), 6, "0")

    def app(self, idx: np.ndarray) -> pa.Array:
        return self.apps.take(pa.array(self.pop.upi_app[self.b.user[idx]]))

    def city(self, idx: np.ndarray) -> pa.Array:
        return self.cities.take(pa.array(self.pop.city[self.b.user[idx]]))

    def card(self, idx: np.ndarray) -> pa.Array:
        return self.last4.take(pa.array(self.b.account[idx]))

    def period(self, idx: np.ndarray) -> pa.Array:
        return self.month_year.take(pa.array(self.b.day[idx]))

    def usd(self, idx: np.ndarray) -> pa.Array:
        cents = np.round(
            self.b.amount[idx] / (usd_rate(self.b.day[idx], self.tl.n_days) * 1.035) * 100
        ).astype(np.int64)
        whole = pc.cast(pa.array(cents // 100), pa.string())
        return pc.binary_join_element_wise(
            whole, pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0"), "."
        )


_TEMPLATES: dict[str, Callable[[_Parts, np.ndarray], list[Piece]]] = {
    "upi_debit": lambda p, i: ["UPI/", p.merchant(i), "/", p.reference(i), "/", p.app(i)],
    "upi_credit": lambda p, i: ["UPI/CR/", p.reference(i), "/", p.merchant(i)],
    "card": lambda p, i: ["POS XXXX", p.card(i), " ", p.merchant(i)],
    "card_refund": lambda p, i: ["REFUND/", p.merchant(i), "/", p.reference(i)],
    "card_abroad": lambda p, i: ["INTL POS/", p.merchant(i), "/USD ", p.usd(i), "/MARKUP 3.5%"],
    "nb_debit": lambda p, i: ["NB/", p.merchant(i), "/", p.reference(i)],
    "nb_credit": lambda p, i: ["NB CR/", p.merchant(i), "/", p.reference(i)],
    "atm": lambda p, i: ["ATM WDL/", p.city(i), "/", p.short_ref(i)],
    "neft_salary": lambda p, i: ["NEFT CR/", p.merchant(i), "/SALARY ", p.period(i)],
    "neft_credit": lambda p, i: ["NEFT CR/", p.reference(i), "/", p.merchant(i)],
    "imps_debit": lambda p, i: ["IMPS/P2A/", p.reference(i), "/", p.merchant(i)],
    "nach": lambda p, i: ["NACH DR/", p.merchant(i), "/", p.reference(i)],
    "bank": lambda p, i: [p.merchant(i), "/", p.period(i)],
    "card_bill": lambda p, i: ["CC BILLPAY/", p.merchant(i), "/", p.reference(i)],
    "card_bill_received": lambda p, i: ["PAYMENT RECEIVED/", p.reference(i)],
    "self_debit": lambda p, i: ["IMPS/SELF/", p.reference(i)],
    "self_credit": lambda p, i: ["IMPS CR/SELF/", p.reference(i)],
}


def _template_of(b: Batch) -> np.ndarray:
    """Index into ``_TEMPLATES`` of each row: the first rule that matches wins."""
    credit, channel, category = b.credit, b.channel, b.category
    card_bill = category == cat("credit_card_payment")
    gig = np.isin(b.merchant, codes(catalog.GIG_PLATFORMS))  # weekly payouts are not "SALARY <month>"
    rules = [
        ("self_credit", (category == cat("self_transfer")) & credit),
        ("self_debit", category == cat("self_transfer")),
        ("card_bill_received", card_bill & credit),
        ("card_bill", card_bill & (channel != ch("UPI"))),
        ("card_abroad", (channel == ch("card")) & foreign_mask()[b.merchant]),
        ("card_refund", (channel == ch("card")) & credit),
        ("card", channel == ch("card")),
        ("upi_credit", (channel == ch("UPI")) & credit),
        ("upi_debit", channel == ch("UPI")),
        ("nb_credit", (channel == ch("netbanking")) & credit),
        ("nb_debit", channel == ch("netbanking")),
        ("atm", channel == ch("ATM")),
        ("neft_salary", (channel == ch("NEFT/IMPS")) & credit & (category == cat("salary")) & ~gig),
        ("neft_credit", (channel == ch("NEFT/IMPS")) & credit),
        ("imps_debit", channel == ch("NEFT/IMPS")),
        ("nach", channel == ch("auto_debit")),
    ]
    names = list(_TEMPLATES)
    return np.select(
        [mask for _, mask in rules], [names.index(name) for name, _ in rules], default=names.index("bank")
    )


def describe(b: Batch, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> pa.Array:
    """The narration of every row of ``b``, as an Arrow string array in row order."""
    parts = _Parts(b, pop, acc, tl, rng)
    template = _template_of(b)
    order = np.argsort(template, kind="stable")
    bounds = np.searchsorted(template[order], np.arange(len(_TEMPLATES) + 1))
    pieces: list[pa.Array] = []
    for t, build in enumerate(_TEMPLATES.values()):
        idx = order[bounds[t] : bounds[t + 1]]
        if idx.size:
            pieces.append(pc.binary_join_element_wise(*build(parts, idx), ""))
    if not pieces:
        return pa.array([], type=pa.string())
    inverse = np.empty(len(b), dtype=np.int64)
    inverse[order] = np.arange(len(b))
    return pa.concat_arrays(pieces).take(pa.array(inverse))
