"""BANKING77: 13,083 customer queries, each labelled with one of 77 banking intents."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nivesh_ml.data.public._frames import Split, check_split, require_columns, tag
from nivesh_ml.data.public._verify import verify
from nivesh_ml.errors import SchemaError

__all__ = ["BANKING77", "banking77_intents", "load_banking77"]

BANKING77 = "banking77"


def load_banking77(data_dir: Path, split: Split) -> pd.DataFrame:
    """One split of BANKING77, verified against SOURCE.md first.

    Columns (both ``object``, never missing): ``text`` (the customer query, as published) and
    ``intent`` (one of :func:`banking77_intents`; the file's ``category``). The published CSVs
    have CRLF line endings; no ``\\r`` survives. ``split="test"`` frames carry
    ``attrs["split"] == "test"``: evaluate on them, never train (see ``assert_not_test``).
    """
    file = f"{check_split(BANKING77, split)}.csv"
    folder = verify(BANKING77, data_dir, [file]).path
    # keep_default_na=False: a query such as "None" or "NA" is text, not a missing value
    frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False, encoding="utf-8")
    require_columns(BANKING77, file, frame, ("text", "category"))
    return tag(frame.rename(columns={"category": "intent"}), BANKING77, split)


def banking77_intents(data_dir: Path) -> list[str]:
    """The 77 intent names, in the order of ``categories.json``."""
    folder = verify(BANKING77, data_dir, ["categories.json"]).path
    intents = json.loads((folder / "categories.json").read_text(encoding="utf-8"))
    if not isinstance(intents, list) or not all(isinstance(intent, str) for intent in intents):
        raise SchemaError(f"{BANKING77}: categories.json is not a JSON list of intent names")
    return intents
