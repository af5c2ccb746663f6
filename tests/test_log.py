from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from nivesh_ml import log as nlog


@pytest.fixture(autouse=True)
def _restore_redactors() -> Iterator[None]:
    saved = list(nlog._filter.redactors)
    yield
    nlog._filter.redactors[:] = saved
    logging.getLogger("nivesh_ml").handlers = []


def _mask_phones(text: str) -> str:
    return re.sub(r"\b[6-9]\d{9}\b", "[PHONE]", text)


def test_json_lines_carry_level_logger_message_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    nlog.setup_logging("INFO", "json")
    nlog.get_logger("nivesh_ml.test").info("trained %s", "intent", extra={"version": 3})
    nlog.get_logger("other").debug("hidden below INFO")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO"
    assert record["logger"] == "nivesh_ml.test"
    assert record["msg"] == "trained intent"
    assert record["version"] == 3


def test_redactor_masks_message_and_string_extras(capsys: pytest.CaptureFixture[str]) -> None:
    nlog.setup_logging("INFO", "json")
    nlog.add_redactor(_mask_phones)
    nlog.add_redactor(_mask_phones)  # registering twice is harmless
    nlog.get_logger(__name__).info("call 9876543210 now", extra={"query": "my number is 9123456789"})
    record = json.loads(capsys.readouterr().err)
    assert record["msg"] == "call [PHONE] now"
    assert record["query"] == "my number is [PHONE]"
    assert nlog._filter.redactors.count(_mask_phones) == 1


def test_text_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    nlog.setup_logging("INFO", "text")
    nlog.get_logger("nivesh_ml.x").warning("disk almost full")
    err = capsys.readouterr().err
    assert "disk almost full" in err
    assert not err.lstrip().startswith("{")
