"""Birmingham City Council purchase-card transactions, Dec 2016 - Nov 2017 (51,591 rows)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nivesh_ml.data.public._frames import require_columns, tag
from nivesh_ml.data.public._verify import verify

__all__ = ["BIRMINGHAM", "load_birmingham"]

BIRMINGHAM = "birmingham_purchase_cards"
_FILE = "transactions.csv"
_COLUMNS = (
    "trans_date",
    "vat_desc",
    "original_gross_amt",
    "original_cur",
    "billing_gross_amt",
    "billing_cur_code",
    "merchant_name",
    "card_number",
    "cac_code_1",
    "cac_desc_1",
    "cac_code_2",
    "cac_desc_2",
    "cac_code_3",
    "directorate",
    "source_file",
)
_AMOUNTS = ("original_gross_amt", "billing_gross_amt")
_DTYPES = {column: "float64" if column in _AMOUNTS else "object" for column in _COLUMNS}
_LEADING = ("trans_date", "amount_gbp", "merchant_name", "card_number", "category", "directorate")


def load_birmingham(data_dir: Path) -> pd.DataFrame:
    """Every transaction in ``transactions.csv``, verified against SOURCE.md first.

    Leading columns: ``trans_date`` (datetime64[ns]), ``amount_gbp`` (float64: ``billing_gross_amt``
    where present, else ``original_gross_amt``; negative for refunds), ``merchant_name``,
    ``card_number`` (masked, e.g. ``************5770``), ``category`` (``cac_desc_1``, missing on 49
    rows) and ``directorate``; then the file's other columns, unchanged (amounts float64, the rest
    ``object`` with NaN only where the field is empty). No fraud labels: use it unsupervised.
    """
    folder = verify(BIRMINGHAM, data_dir, [_FILE]).path
    # keep_default_na=False: only an empty field is missing, never a merchant called "NA"
    frame = pd.read_csv(
        folder / _FILE, dtype=_DTYPES, keep_default_na=False, na_values=[""], encoding="utf-8"
    )
    require_columns(BIRMINGHAM, _FILE, frame, _COLUMNS)
    frame["trans_date"] = pd.to_datetime(frame["trans_date"], format="%Y-%m-%d")
    frame["amount_gbp"] = frame["billing_gross_amt"].fillna(frame["original_gross_amt"])
    frame["category"] = frame["cac_desc_1"]
    rest = [column for column in frame.columns if column not in _LEADING]
    return tag(frame[[*_LEADING, *rest]], BIRMINGHAM)
