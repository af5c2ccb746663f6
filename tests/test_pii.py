"""PII redaction: what must be masked, what must survive (amounts, dates, ids), and the log hook."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from nivesh_ml import log as nlog
from nivesh_ml.pii import install_log_redactor, luhn_valid, redact, redact_obj, verhoeff_valid

# Valid Verhoeff check digits (computed), and the same numbers with the last digit changed.
AADHAAR_VALID = ("234567890124", "987654321012", "512345678903")
AADHAAR_INVALID = ("234567890125", "987654321019", "512345678900")


@pytest.fixture(autouse=True)
def _restore_redactors() -> Iterator[None]:
    saved = list(nlog._filter.redactors)
    yield
    nlog._filter.redactors[:] = saved
    logging.getLogger("nivesh_ml").handlers = []


def test_check_digit_algorithms_on_reference_vectors() -> None:
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not verhoeff_valid("12a4")
    assert not luhn_valid("")
    for number in AADHAAR_VALID:
        assert verhoeff_valid(number)
    for number in AADHAAR_INVALID:
        assert not verhoeff_valid(number)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Aadhaar: plain, grouped by spaces or hyphens
        ("my aadhaar is 234567890124", "my aadhaar is [AADHAAR]"),
        ("UID 9876 5432 1012 please", "UID [AADHAAR] please"),
        ("aadhaar: 5123-4567-8903.", "aadhaar: [AADHAAR]."),
        # cards: Visa, Mastercard, Amex (4-6-5), RuPay, grouped
        ("card 4111111111111111", "card [CARD]"),
        ("card 4111 1111 1111 1111 exp 12/27", "card [CARD] exp 12/27"),
        ("mc 5500-0055-5555-5559", "mc [CARD]"),
        ("amex 3782 822463 10005", "amex [CARD]"),
        ("rupay 6521000000000007", "rupay [CARD]"),
        # phones: +91, 0091, 0, bare, split 5-5, at the end of a sentence, glued to a dash
        ("call +91 98765 43210 now", "call [PHONE] now"),
        ("call +919876543210", "call [PHONE]"),
        ("0091-9876543210 or 09123456789", "[PHONE] or [PHONE]"),
        ("my number is 7012345678.", "my number is [PHONE]."),
        ("ph-6123456789, alt 98765-43210", "ph-[PHONE], alt [PHONE]"),
        ("9876543210/9123456789", "[PHONE]/[PHONE]"),
        # email and UPI
        ("mail rahul.k+bills@gmail.co.in today", "mail [EMAIL] today"),
        ("pay rahul.k@okaxis.", "pay [UPI]."),
        ("upi 9876543210@ybl", "upi [UPI]"),
        # PAN and IFSC, either case
        ("PAN ABCPE1234F", "PAN [PAN]"),
        ("pan abcpe1234f", "pan [PAN]"),
        ("IFSC SBIN0001234 branch", "IFSC [IFSC] branch"),
        # bank account numbers in account context
        ("my account number is 123456789012 at HDFC", "my account number is [ACCOUNT] at HDFC"),
        ("A/c no. 00112233445566", "A/c no. [ACCOUNT]"),
        ("acct: 1234567890123456789", "acct: 1234567890123456789"),  # 19 digits: no account
        ("credited to account 000123456789", "credited to account [ACCOUNT]"),
    ],
)
def test_pii_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "spent 1,00,000 on rent and 98,765.50 on travel",  # Indian amounts
        "amount 9876543210.50 moved",  # a decimal is an amount, not a phone
        "score 0.9876543210",
        "on 2024-01-15 at 10:30, paid on 15/01/2024, due 15-01-2024",  # dates and times
        "timestamp 2024-01-15T10:30:00+05:30",
        "epoch 1705312200000",  # epoch milliseconds start with 1: no card
        "aadhaar 234567890125 is a typo",  # Verhoeff check fails
        "card 4111111111111112 is invalid",  # Luhn check fails
        "order 123456789012345",  # no account context, 15 digits fail Luhn
        "user U0012345, txn T0000001234, account A00001234",  # our ids
        "prediction 7b3c1a52-9d4e-4f6a-8b2c-1d2e3f4a5b6c",
        "5 digits 12345 and phone-like 5123456789",  # 10 digits starting 5: no Indian mobile
        "reach out on twitter @nivesh",
        "version 3 of intent",
        "",
    ],
)
def test_non_pii_is_kept(text: str) -> None:
    assert redact(text) == text


def test_redact_obj_walks_json_and_masks_long_integers() -> None:
    value = {
        "query": "send 500 to 9876543210",
        "amount": 100000,
        "score": 0.5,
        "ok": True,
        "phone": 9876543210,
        "id": 123456789,  # nine digits, no pattern: kept as an int
        "messages": [{"role": "user", "content": "PAN ABCPE1234F"}, None],
        "pair": ("rahul@okaxis", 1),
    }
    assert redact_obj(value) == {
        "query": "send 500 to [PHONE]",
        "amount": 100000,
        "score": 0.5,
        "ok": True,
        "phone": "[PHONE]",
        "id": 123456789,
        "messages": [{"role": "user", "content": "PAN [PAN]"}, None],
        "pair": ["[UPI]", 1],
    }


def test_many_kinds_in_one_text() -> None:
    text = (
        "I am Rahul, PAN ABCPE1234F, aadhaar 2345 6789 0124, phone +91 98765 43210, "
        "mail rahul@example.com, UPI rahul@okhdfcbank, card 4111-1111-1111-1111, "
        "a/c 123456789012 IFSC HDFC0001234. Paid 1,20,000 on 2024-03-01."
    )
    assert redact(text) == (
        "I am Rahul, PAN [PAN], aadhaar [AADHAAR], phone [PHONE], "
        "mail [EMAIL], UPI [UPI], card [CARD], "
        "a/c [ACCOUNT] IFSC [IFSC]. Paid 1,20,000 on 2024-03-01."
    )


def test_installed_redactor_masks_log_records(capsys: pytest.CaptureFixture[str]) -> None:
    nlog.setup_logging("INFO", "json")
    install_log_redactor()
    install_log_redactor()
    nlog.get_logger(__name__).info("user said %s", "call 9876543210", extra={"body": "PAN ABCPE1234F"})
    record = json.loads(capsys.readouterr().err)
    assert record["msg"] == "user said call [PHONE]"
    assert record["body"] == "PAN [PAN]"
    assert nlog._filter.redactors.count(redact) == 1
