"""Synthetic Nivesh data: Indian retail-banking users, their accounts and daily transactions.

The platform's embedded default data set. Deterministic for a seed (same config, same Parquet
bytes) and vectorised throughout (numpy and Arrow; loops only over categories, months, stages).

What is in it (every rate and range is documented in the module that makes it; the ones the
realism tests check are in :mod:`rates`):

- ``users`` (:mod:`users`): 46% salaried, 6% government, 11% self-employed, 7% business owners,
  9% gig workers, 10% students, 5% retired, 6% homemakers; 55/30/15% in tier 1/2/3 cities; net
  monthly income lognormal by occupation and tier (salaried tier-1 median about ₹58k).
- ``accounts`` (:mod:`accounts`): a primary savings or salary account each, credit cards for
  39% of users, personal (9%), home (7%), auto (13%) and education (3%) loans.
- ``transactions``: about 36.5 a user-month (documented 30-45; 10k users x 24 months is about
  8.8M rows). UPI is the top channel by count (about 61% of rows), P2P transfers the top
  category (27% of debits), then groceries (14%), food delivery and utilities (8.5% each).
  Money in: :mod:`income`; bills: :mod:`bills`, :mod:`commitments`; discretionary spending and
  seasonality: :mod:`spending`, :mod:`profiles`; EMIs and card bills: :mod:`transfers`.
- anomalies (:mod:`anomalies`): ``ANOMALY_RATE`` = 0.5% of transactions, five labelled types.
- ``credit_labels`` (:mod:`credit`): ``default_12m`` with a base rate of about 7.4% (documented
  6-9%), driven by a latent risk that shows in card utilisation, late fees, overdrafts, income
  volatility and EMI burden.

``timestamp`` is the local Indian wall-clock time (IST), tz-naive ``datetime64[ns]``. Categorical
columns (category, channel, merchant, ...) are pandas categoricals: group by them with
``observed=True``. Ids and narrations are ``string[pyarrow]``; amounts are INR to the paisa.
"""

from nivesh_ml.data.synthetic.anomalies import ANOMALY_RATE
from nivesh_ml.data.synthetic.credit import DEFAULT_BASE_RATE
from nivesh_ml.data.synthetic.generator import STAGES, GeneratorConfig, SyntheticData, generate
from nivesh_ml.data.synthetic.merchants import ANOMALY_TYPES, CATEGORIES, CHANNELS
from nivesh_ml.data.synthetic.storage import read_dataset, read_manifest, write_dataset

__all__ = [
    "ANOMALY_RATE",
    "ANOMALY_TYPES",
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_BASE_RATE",
    "STAGES",
    "GeneratorConfig",
    "SyntheticData",
    "generate",
    "read_dataset",
    "read_manifest",
    "write_dataset",
]
