"""PII detection: ours (``nivesh_ml.pii``) against Microsoft Presidio's Indian recognizers, on one set.

``python loadtest/pii_peer.py [--rounds 3] [--show-misses]`` prints markdown tables: precision,
recall, F1 and time per text for each detector, then recall per PII kind and false alarms per
look-alike kind. ``bench_pii_peer()`` returns the same figures for ``loadtest/bench.py pii``.

* The set: ``data/pii/generated.jsonl`` and ``data/pii/handwritten.jsonl`` (see data/pii/README.md).
  A positive holds one piece of PII (``value``); a detector finds it when every letter and digit of
  the value lies inside one of its spans. A negative holds none; any span there is a false alarm.
* Presidio ``presidio-analyzer==PRESIDIO_VERSION`` (pinned in requirements.lock) runs as an
  ``AnalyzerEngine`` with the recognizers that apply to India (PAN, Aadhaar, vehicle, passport,
  voter ID, GSTIN, phone for region IN, credit card, email), its context enhancer on, and a blank
  spaCy English pipeline whose lemmas are the lower-cased words (no spaCy model can be downloaded
  here; the recognizers are regex, checksum and ``phonenumbers`` based and need none). Presidio
  has no recognizer for UPI IDs, IFSC codes, Indian bank accounts, Aadhaar VIDs or driving
  licences. It is scored at its default score threshold (0: every result) and at 0.5.
* Time per text: every text of the set through the detector, ``rounds`` times; the best round
  divided by the number of texts, one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from nivesh_ml.pii import find_pii

__all__ = ["PRESIDIO_VERSION", "bench_pii_peer", "load_cases", "score"]

PRESIDIO_VERSION = "2.2.364"  # the newest release whose pins install beside ours (2.2.365 caps preshed)
DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "pii"
LOOK_ALIKES = ("amount", "date", "time", "reference", "short_number", "masked", "misc")
PRESIDIO_KINDS = ("phone", "email", "pan", "aadhaar", "card", "gstin", "passport", "voter", "vehicle")

Span = tuple[int, int]
Detector = Callable[[str], list[Span]]
Case = dict[str, Any]


def load_cases(data_dir: Path = DATA_DIR) -> list[Case]:
    """Every labelled case: the generated ones, then the hand-written ones."""
    files = [data_dir / f"{name}.jsonl" for name in ("generated", "handwritten")]
    return [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]


def ours(text: str) -> list[Span]:
    """Our spans."""
    return [(span.start, span.end) for span in find_pii(text)]


def presidio(threshold: float) -> Detector:
    """Presidio's analyzer with the recognizers that apply to India, keeping results >= threshold."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        InAadhaarRecognizer,
        InGstinRecognizer,
        InPanRecognizer,
        InPassportRecognizer,
        InVehicleRegistrationRecognizer,
        InVoterRecognizer,
        PhoneRecognizer,
    )

    _register_lemmatizer()
    # the email recognizer checks the TLD with tldextract: use its bundled suffix list, offline
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    nlp = spacy.blank("en")
    nlp.add_pipe("nivesh_lower_lemma")
    engine = SpacyNlpEngine()
    engine.nlp = {"en": nlp}  # type: ignore[assignment]  # presidio types it as its unloaded None
    recognizers = [
        InPanRecognizer(),
        InAadhaarRecognizer(),
        InVehicleRegistrationRecognizer(),
        InPassportRecognizer(),
        InVoterRecognizer(),
        InGstinRecognizer(),
        PhoneRecognizer(supported_regions=["IN"]),
        CreditCardRecognizer(),
        EmailRecognizer(),
    ]
    analyzer = AnalyzerEngine(registry=RecognizerRegistry(recognizers=recognizers), nlp_engine=engine)

    def detect(text: str) -> list[Span]:
        results = analyzer.analyze(text, language="en", score_threshold=threshold)
        return [(result.start, result.end) for result in results]

    return detect


def _register_lemmatizer() -> None:
    """A spaCy component that sets each lemma to the lower-cased word (for Presidio's context words)."""
    from spacy.language import Language
    from spacy.tokens import Doc

    if "nivesh_lower_lemma" in Language.factories:
        return

    @Language.component("nivesh_lower_lemma")
    def lower_lemma(doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = token.lower_
        return doc


def found(case: Case, spans: Sequence[Span]) -> bool:
    """Whether every letter and digit of the case's value lies inside a span."""
    start = case["text"].index(case["value"])
    positions = [start + i for i, char in enumerate(case["value"]) if char.isalnum()]
    return all(any(a <= p < b for a, b in spans) for p in positions)


def score(detector: Detector, cases: Sequence[Case], rounds: int = 3) -> dict[str, Any]:
    """Precision, recall, F1, time per text, recall per PII kind and false alarms per look-alike kind."""
    spans = [detector(case["text"]) for case in cases]
    hits = [found(case, s) if case["pii"] else bool(s) for case, s in zip(cases, spans, strict=True)]
    positives = [hit for case, hit in zip(cases, hits, strict=True) if case["pii"]]
    alarms = sum(hit for case, hit in zip(cases, hits, strict=True) if not case["pii"])
    recall = sum(positives) / len(positives)
    precision = sum(positives) / max(1, sum(positives) + alarms)
    by_kind: dict[str, list[int]] = {}
    for case, hit in zip(cases, hits, strict=True):
        by_kind.setdefault(case["kind"], [0, 0])
        by_kind[case["kind"]][0] += int(hit)
        by_kind[case["kind"]][1] += 1
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
        "false_alarms": alarms,
        "us_per_text": _time_per_text(detector, [case["text"] for case in cases], rounds),
        "by_kind": {kind: tuple(counts) for kind, counts in sorted(by_kind.items())},
        "misses": [case["text"] for case, hit in zip(cases, hits, strict=True) if case["pii"] and not hit],
        "alarms": [case["text"] for case, hit in zip(cases, hits, strict=True) if not case["pii"] and hit],
    }


def _time_per_text(detector: Detector, texts: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            detector(text)
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def bench_pii_peer(rounds: int = 3) -> dict[str, Any]:
    """Every detector's figures on the labelled set, and the set's size."""
    cases = load_cases()
    detectors: dict[str, Detector] = {
        "nivesh_ml.pii": ours,
        f"presidio {version('presidio-analyzer')} (threshold 0)": presidio(0.0),
        f"presidio {version('presidio-analyzer')} (threshold 0.5)": presidio(0.5),
    }
    return {
        "positives": sum(1 for case in cases if case["pii"]),
        "negatives": sum(1 for case in cases if not case["pii"]),
        "detectors": {name: score(detector, cases, rounds) for name, detector in detectors.items()},
    }


def _pct(hit: int, total: int) -> str:
    return f"{hit}/{total} ({hit / total:.0%})"


def markdown(figures: dict[str, Any]) -> str:
    """The summary, per-kind recall and false-alarm tables."""
    detectors: dict[str, dict[str, Any]] = figures["detectors"]
    names = list(detectors)
    lines = [
        f"{figures['positives']} cases with PII, {figures['negatives']} without.",
        "",
        "| detector | precision | recall | F1 | false alarms | µs per text |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in detectors.items():
        lines.append(
            f"| {name} | {f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} | "
            f"{f['false_alarms']} | {f['us_per_text']:,.0f} |"
        )
    kinds = detectors[names[0]]["by_kind"]
    for title, positive in (("PII kind: found", True), ("look-alike kind: false alarms", False)):
        lines += ["", f"| {title} | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for kind in (kind for kind in kinds if (kind not in LOOK_ALIKES) == positive):
            note = "" if not positive or kind in PRESIDIO_KINDS else " (no Presidio recognizer)"
            cells = [_pct(*detectors[name]["by_kind"][kind]) for name in names]
            lines.append(f"| {kind}{note} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Score our PII masking and Presidio's on data/pii.")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the set (best is kept)")
    parser.add_argument("--show-misses", action="store_true", help="list each detector's misses and alarms")
    args = parser.parse_args(argv)
    figures = bench_pii_peer(args.rounds)
    print(markdown(figures))
    if args.show_misses:
        for name, f in figures["detectors"].items():
            print(f"\n{name}: missed {f['misses']}\n{name}: false alarms {f['alarms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
