"""Template generator of the labelled PII test set: Indian PII in every common spelling, and look-alikes.

Writes ``data/pii/generated.jsonl``: one ``{"text", "pii", "kind", "value"}`` object per line.
A positive (``pii: true``) holds exactly one piece of PII, ``value``, written as it appears in
``text`` (for a phone, the ten digits with their separators; the +91 / 0 prefix sits before it).
A negative holds none, and ``kind`` names the look-alike it is (an amount, a date, a pin code...).
The PII is invented: random digits with valid Luhn / Verhoeff check digits, made-up names.
The output is a pure function of ``--seed``; re-running rewrites the same file byte for byte.

    python data/pii/generate.py [--seed 20250316] [--out data/pii/generated.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "generated.jsonl"
DEFAULT_SEED = 20250316

Record = dict[str, object]
Maker = Callable[[random.Random], tuple[str, str]]  # -> (text, value)

NAMES = ("rahul", "priya", "amit", "sneha", "vikram", "anjali", "arjun", "kavya", "rohan", "meera")
SURNAMES = ("sharma", "iyer", "patel", "reddy", "nair", "gupta", "singh", "das", "rao", "khan")
MERCHANTS = ("Swiggy", "Zomato", "BigBasket", "DMart", "Flipkart", "Amazon", "Myntra", "Blinkit", "Croma")
BANKS = ("HDFC", "SBI", "ICICI", "Axis", "Kotak", "PNB", "Canara", "Yes Bank", "IDFC First", "BoB")
IFSC_BANKS = ("SBIN", "HDFC", "ICIC", "UTIB", "KKBK", "PUNB", "CNRB", "YESB", "IDFB", "BARB")
UPI_HANDLES = ("okaxis", "oksbi", "okhdfcbank", "okicici", "ybl", "ibl", "axl", "paytm", "upi", "apl")
EMAIL_HOSTS = ("gmail.com", "yahoo.co.in", "outlook.com", "rediffmail.com", "hotmail.com", "nivesh.in")
STATES = ("MH", "KA", "DL", "TN", "UP", "GJ", "RJ", "WB", "KL", "TS", "HR", "PB")
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PAN_HOLDERS = "ABCFGHJLPT"

# Verhoeff tables: multiplication, permutation, inverse.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]]
for _ in range(6):
    _P.append([_P[1][x] for x in _P[-1]])
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_digit(body: str) -> str:
    """The Verhoeff check digit to append to ``body``."""
    check = 0
    for position, digit in enumerate(reversed(body)):
        check = _D[check][_P[(position + 1) % 8][int(digit)]]
    return str(_INV[check])


def luhn_digit(body: str) -> str:
    """The Luhn check digit to append to ``body``."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def group(number: str, sizes: tuple[int, ...], seps: tuple[str, ...]) -> str:
    """``number`` cut into ``sizes``, joined by ``seps`` (one per gap, cycled)."""
    parts, start = [], 0
    for size in sizes:
        parts.append(number[start : start + size])
        start += size
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += seps[index % len(seps)] + part
    return out


SEPARATORS: tuple[tuple[str, ...], ...] = ((" ",), ("-",), (".",), ("/",), (" ", "-"), ("-", "."), (" - ",))


def person(rng: random.Random) -> str:
    return rng.choice(NAMES).title()


# --- positives ---------------------------------------------------------------------------------

PHONE_PREFIXES = ("", "", "", "+91", "+91 ", "+91-", "+91 ", "0091", "0091 ", "0091-", "91", "91 ", "0")
PHONE_PREFIXES_RARE = ("(+91) ", "(+91)", "+ 91 ", "(0)")
PHONE_GROUPS = ((10,), (5, 5), (3, 3, 4), (4, 3, 3), (2, 4, 4), (4, 6), (4, 4, 2), (3, 4, 3), (5, 5))
PHONE_FRAMES = (
    "call me on {}",
    "my number is {}",
    "mob: {}",
    "Ph {} (after 6 pm)",
    "whatsapp me at {} for the receipt",
    "update my registered mobile to {}",
    "mera number {} hai",
    "someone called from {} asking for OTP",
    "Contact {}, {name}",
    "pls send 500 to {} on gpay",
    "alt no. {}",
    "{name} - {}",
)


def phone(rng: random.Random) -> tuple[str, str]:
    number = rng.choice("6789") + digits(rng, 9)
    sizes = rng.choice(PHONE_GROUPS)
    value = group(number, sizes, rng.choice((*SEPARATORS[:3], (" ", "-"))))
    prefix = rng.choice(PHONE_PREFIXES_RARE if rng.random() < 0.15 else PHONE_PREFIXES)
    if rng.random() < 0.08:  # a 2-2-2-2-2 grouping, written after a country code
        value, prefix = group(number, (2, 2, 2, 2, 2), (" ",)), "+91 "
    frame = rng.choice(PHONE_FRAMES)
    return frame.replace("{name}", person(rng)).format(prefix + value), value


def email(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(NAMES), rng.choice(SURNAMES)
    local = rng.choice(
        (f"{first}.{last}", f"{first}_{last[:1]}{rng.randint(70, 99)}", f"{first}+bank", first)
    )
    host = rng.choice(EMAIL_HOSTS)
    style = rng.random()
    if style < 0.65:
        value = f"{local}@{host}"
        value = value.upper() if rng.random() < 0.1 else value
    elif style < 0.8:
        value = f"{local}[at]{host.replace('.', '[dot]')}"
    elif style < 0.9:
        value = f"{local} (at) {host}"
    else:
        value = f"{first} dot {last} at {host.split('.')[0]} dot com"
    frame = rng.choice(("mail me at {}", "my email is {}", "send the statement to {}", "email: {}."))
    return frame.format(value), value


def upi(rng: random.Random) -> tuple[str, str]:
    local = rng.choice(
        (
            rng.choice(NAMES),
            f"{rng.choice(NAMES)}.{rng.choice(SURNAMES)}",
            rng.choice("6789") + digits(rng, 9),
        )
    )
    value = f"{local}@{rng.choice(UPI_HANDLES)}"
    frame = rng.choice(
        ("pay {}", "send 250 to {} for chai", "my upi id is {}", "UPI: {}", "refund to {} pls")
    )
    return frame.format(value), value


def pan(rng: random.Random) -> tuple[str, str]:
    letters = "".join(rng.choice(LETTERS) for _ in range(3))
    fourth = rng.choice(PAN_HOLDERS) if rng.random() < 0.7 else rng.choice(LETTERS)  # test PANs too
    value = letters + fourth + rng.choice(LETTERS) + digits(rng, 4) + rng.choice(LETTERS)
    style = rng.random()
    if style < 0.2:
        value = value.lower()
    elif style < 0.35:
        value = f"{value[:5]}{rng.choice(' -')}{value[5:9]}{rng.choice(' -')}{value[9]}"
    frame = rng.choice(
        ("PAN {}", "my pan is {}", "pan card no. {} for ITR", "PAN: {}.", "link {} with aadhaar")
    )
    return frame.format(value), value


def aadhaar(rng: random.Random) -> tuple[str, str]:
    body = rng.choice("23456789") + digits(rng, 10)
    number = body + verhoeff_digit(body)
    value = number if rng.random() < 0.25 else group(number, (4, 4, 4), rng.choice(SEPARATORS))
    frame = rng.choice(
        ("aadhaar {}", "my aadhar no is {}", "UID: {}", "Aadhaar number {} for KYC", "adhaar - {}")
    )
    return frame.format(value), value


def vid(rng: random.Random) -> tuple[str, str]:
    body = digits(rng, 15)
    number = body + verhoeff_digit(body)
    value = number if rng.random() < 0.4 else group(number, (4, 4, 4, 4), rng.choice(SEPARATORS[:2]))
    return rng.choice(("my VID is {}", "virtual id {} for eKYC", "VID: {}")).format(value), value


CARD_PREFIXES = {"visa": ("4",), "mastercard": ("51", "53", "55", "22"), "rupay": ("60", "65", "81", "82")}


def card(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.15:  # Amex, 15 digits, 4-6-5
        body = rng.choice(("34", "37")) + digits(rng, 12)
        number = body + luhn_digit(body)
        value = number if rng.random() < 0.3 else group(number, (4, 6, 5), rng.choice(SEPARATORS[:3]))
    else:
        start = rng.choice(CARD_PREFIXES[rng.choice(tuple(CARD_PREFIXES))])
        body = start + digits(rng, 15 - len(start))
        number = body + luhn_digit(body)
        value = number if rng.random() < 0.25 else group(number, (4, 4, 4, 4), rng.choice(SEPARATORS))
    frame = rng.choice(
        ("card {} exp 12/27", "my debit card number is {}", "charged on {} twice", "cc no {}", "card: {}.")
    )
    return frame.format(value), value


ACCOUNT_SIZES = (11, 12, 14, 15, 16, 9, 10, 13, 18)


def account(rng: random.Random) -> tuple[str, str]:
    size = rng.choice(ACCOUNT_SIZES)
    value = rng.choice("0123456789") + digits(rng, size - 1)
    bank = rng.choice(BANKS)
    if size <= 10 or rng.random() < 0.6:  # with its context word: how people write 9-10 digit ones
        frame = rng.choice(
            (
                "my account number is {} in " + bank,
                "A/c no. {}",
                "a/c {} " + bank,
                "transfer to acct {} IFSC " + rng.choice(IFSC_BANKS) + "0" + digits(rng, 6),
                "account: {}",
                bank + " savings account {} pls",
            )
        )
    else:
        frame = rng.choice(
            ("credit it to {} " + bank, "{} is my salary one", bank + " {}", "neft to {} today")
        )
    return frame.format(value), value


def ifsc(rng: random.Random) -> tuple[str, str]:
    value = rng.choice(IFSC_BANKS) + "0" + digits(rng, 6)
    value = value.lower() if rng.random() < 0.2 else value
    return rng.choice(("IFSC {}", "ifsc code is {}", "branch ifsc: {}")).format(value), value


def gstin(rng: random.Random) -> tuple[str, str]:
    pan_part = "".join(rng.choice(LETTERS) for _ in range(5)) + digits(rng, 4) + rng.choice(LETTERS)
    value = f"{rng.randint(1, 37):02d}{pan_part}1Z{rng.choice(LETTERS + '0123456789')}"
    return rng.choice(("GSTIN {}", "my gst no is {}", "GST: {} on the invoice")).format(value), value


def passport(rng: random.Random) -> tuple[str, str]:
    value = rng.choice(LETTERS) + rng.choice("123456789") + digits(rng, 6)
    return rng.choice(("passport no. {}", "Passport: {}", "my passport number is {}")).format(value), value


def voter(rng: random.Random) -> tuple[str, str]:
    value = "".join(rng.choice(LETTERS) for _ in range(3)) + digits(rng, 7)
    return rng.choice(("voter id {}", "EPIC no. {}", "my voter ID is {}")).format(value), value


def licence(rng: random.Random) -> tuple[str, str]:
    state, rto, year = rng.choice(STATES), f"{rng.randint(1, 50):02d}", str(rng.randint(1995, 2024))
    serial = digits(rng, 7)
    value = rng.choice(
        (f"{state}{rto}{year}{serial}", f"{state}{rto} {year}{serial}", f"{state}-{rto}{year}{serial}")
    )
    return rng.choice(("DL no {}", "driving licence {}", "licence: {}")).format(value), value


def vehicle(rng: random.Random) -> tuple[str, str]:
    state, rto = rng.choice(STATES), f"{rng.randint(1, 50):02d}"
    series, number = "".join(rng.choice(LETTERS) for _ in range(rng.choice((1, 2, 2)))), digits(rng, 4)
    style = rng.random()
    if style < 0.35:
        value = f"{state} {rto} {series} {number}"
    elif style < 0.6:
        value = f"{state}{rto}{series}{number}"
    elif style < 0.75:
        value = f"{state}-{rto}-{series}-{number}".lower()
    elif style < 0.9:
        value = f"{state}{rto}{series}{number}".lower()
    else:
        value = f"{rng.randint(21, 25)} BH {number} {series}"
    frame = rng.choice(("FASTag recharge for {}", "car insurance for {}", "challan on {}", "vehicle no {}"))
    return frame.format(value), value


POSITIVES: dict[str, tuple[Maker, int]] = {
    "phone": (phone, 90),
    "email": (email, 25),
    "upi": (upi, 25),
    "pan": (pan, 30),
    "aadhaar": (aadhaar, 30),
    "vid": (vid, 8),
    "card": (card, 35),
    "account": (account, 35),
    "ifsc": (ifsc, 10),
    "gstin": (gstin, 8),
    "passport": (passport, 8),
    "voter": (voter, 8),
    "licence": (licence, 8),
    "vehicle": (vehicle, 12),
}


# --- negatives: things that look like PII and are not -----------------------------------------


def indian_amount(value: int) -> str:
    """``1234567`` -> ``12,34,567``."""
    text = str(value)
    if len(text) <= 3:
        return text
    head, tail = text[:-3], text[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


def amount(rng: random.Random) -> str:
    value = rng.choice((rng.randint(100, 99_999), rng.randint(100_000, 99_99_99_999)))
    written = rng.choice(
        (
            f"Rs. {indian_amount(value)}",
            f"₹{indian_amount(value)}.{rng.randint(0, 99):02d}",
            f"INR {indian_amount(value)}",
            f"{value}.{rng.randint(1, 99):02d}",
            f"rs {value}",
            f"{indian_amount(value)}/-",
            f"{rng.randint(1, 99)} lakh",
            f"{rng.randint(1, 9)}.{rng.randint(1, 9)} cr",
        )
    )
    frame = rng.choice(
        (
            "spent {} on rent",
            "Rs debited {} at " + rng.choice(MERCHANTS),
            "my salary is {} per month",
            "loan of {} at 10.5% for 20 years",
            "paid {} to " + rng.choice(MERCHANTS),
            "balance {} as of today",
        )
    )
    return frame.format(written)


def date(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2019, 2026)
    written = rng.choice(
        (
            f"{year}-{month:02d}-{day:02d}",
            f"{day:02d}/{month:02d}/{year}",
            f"{day:02d}-{month:02d}-{year}",
            f"{day:02d}.{month:02d}.{year}",
            f"{day}/{month}/{str(year)[2:]}",
            f"{year}{month:02d}{day:02d}",
            f"{day:02d}/{month:02d}/{year} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            f"{year}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00+05:30",
        )
    )
    return rng.choice(("paid on {}", "due date {}", "statement for {} attached", "EMI debited {}")).format(
        written
    )


def time_of_day(rng: random.Random) -> str:
    written = rng.choice(
        (
            f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} pm",
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        )
    )
    return rng.choice(("txn at {} today", "call me after {}", "debited at {}")).format(written)


def reference(rng: random.Random) -> str:
    written = rng.choice(
        (
            f"UPI ref no {rng.choice('34')}{digits(rng, 11)}",
            f"UTR {rng.choice(('HDFC', 'SBIN', 'ICIC'))}R5{digits(rng, 16)}",
            f"txn id T{digits(rng, 10)}",
            f"order #{digits(rng, 3)}-{digits(rng, 7)}-{digits(rng, 7)}",
            f"order OD{digits(rng, 18)}",
            f"order id {digits(rng, 15)}",
            f"IMPS ref {digits(rng, 12)}",
            f"PNR {rng.choice('2468')}{digits(rng, 9)}",
            f"ticket TKT-{digits(rng, 6)}",
            f"invoice INV/2024-25/{digits(rng, 4)}",
        )
    )
    return rng.choice(
        ("refund not received for {}", "{} failed", "status of {}?", "complaint about {}")
    ).format(written)


def short_number(rng: random.Random) -> str:
    frame = rng.choice(
        (
            "OTP is {}",
            "pin code {}",
            "flat {}, tower 7",
            "CIBIL score {}",
            "card ending {}",
            "A/c XX{}",
            "{} steps today",
            "cheque no {}",
            "emi {} of 36",
        )
    )
    size = {"OTP is {}": 6, "pin code {}": 6, "card ending {}": 4, "A/c XX{}": 4, "cheque no {}": 6}.get(
        frame, 3
    )
    return frame.format(rng.choice("123456789") + digits(rng, size - 1))


def masked_id(rng: random.Random) -> str:
    return rng.choice(
        (
            f"card XXXX XXXX XXXX {digits(rng, 4)} charged",
            f"aadhaar XXXX-XXXX-{digits(rng, 4)} linked",
            f"debited from a/c **{digits(rng, 4)}",
            f"mobile ******{digits(rng, 4)} verified",
            f"sent to {rng.choice(NAMES)}'s account ending {digits(rng, 4)}",
        )
    )


def misc(rng: random.Random) -> str:
    return rng.choice(
        (
            f"invest in section 80C before march {rng.randint(2024, 2026)}",
            f"nifty closed at {indian_amount(rng.randint(18_000, 26_000))}.{rng.randint(10, 95)}",
            f"my {rng.choice(('pan', 'aadhaar', 'upi', 'email'))} is linked, what next?",
            f"{rng.randint(1, 9)}.{rng.randint(1, 99)}% interest on FD for {rng.randint(1, 5)} years",
            f"ISIN INE{digits(rng, 3)}A01018 units {rng.randint(1, 900)}",
            f"user U{digits(rng, 7)} asked about budget",
            f"version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} of the app",
            f"bill for {rng.randint(2, 12)} months is {indian_amount(rng.randint(1000, 90_000))}",
            f"ordered {rng.randint(2, 9)} items from {rng.choice(MERCHANTS)} for {rng.randint(200, 2000)}",
            f"rate {rng.randint(1, 9)}/{rng.randint(10, 99)}, p {rng.randint(1, 9)}-{rng.randint(10, 99)}",
            f"call customer care 1800-{digits(rng, 3)}-{digits(rng, 4)}",
            f"helpline 1800 {digits(rng, 3)} {digits(rng, 4)}",
            f"CIN U{digits(rng, 5)}KA{rng.randint(2000, 2024)}PTC{digits(rng, 6)}",
            f"room {rng.randint(100, 999)} at {rng.randint(10, 99)}.{rng.randint(10, 99)} sq m",
        )
    )


NEGATIVES: dict[str, tuple[Callable[[random.Random], str], int]] = {
    "amount": (amount, 70),
    "date": (date, 50),
    "time": (time_of_day, 15),
    "reference": (reference, 55),
    "short_number": (short_number, 40),
    "masked": (masked_id, 25),
    "misc": (misc, 55),
}


def generate(seed: int) -> list[Record]:
    """Every generated case, positives first, distinct texts only."""
    rng = random.Random(seed)
    records: list[Record] = []
    seen: set[str] = set()
    for kind, (make, count) in POSITIVES.items():
        made = 0
        while made < count:
            text, value = make(rng)
            if text not in seen and text.count(value) == 1:
                seen.add(text)
                records.append({"text": text, "pii": True, "kind": kind, "value": value})
                made += 1
    for kind, (make_negative, count) in NEGATIVES.items():
        made = 0
        while made < count:
            text = make_negative(rng)
            if text not in seen:
                seen.add(text)
                records.append({"text": text, "pii": False, "kind": kind, "value": None})
                made += 1
    return records


def to_jsonl(records: list[Record]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the generated PII test cases.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    records = generate(args.seed)
    args.out.write_text(to_jsonl(records), encoding="utf-8")
    positives = sum(1 for record in records if record["pii"])
    print(f"wrote {len(records)} cases ({positives} with PII) to {args.out}")


if __name__ == "__main__":
    main()
