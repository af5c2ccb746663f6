"""Categories, channels and merchants of the synthetic transactions, and the merchant vocabulary.

Every merchant name a transaction can carry is in :func:`vocabulary`, in a fixed order: the
``merchant`` column of the transactions is a categorical over it, and the generators refer to
merchants by their index in it (``code``).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from nivesh_ml.data.synthetic import catalog

__all__ = [
    "ANOMALY_TYPES",
    "BILL_MERCHANTS",
    "CATEGORIES",
    "CHANNELS",
    "DIRECTIONS",
    "ELECTRICITY_BY_STATE",
    "FEE_LABELS",
    "FOREIGN_MERCHANTS",
    "INCOME_LABELS",
    "INSURANCE_MERCHANTS",
    "INVESTMENT_MERCHANTS",
    "NEW_MERCHANT_POOL",
    "RENT_PLATFORMS",
    "SCHOOLS",
    "SPEND_MERCHANTS",
    "VELOCITY_POOL",
    "bank_codes",
    "cat",
    "ch",
    "code",
    "codes",
    "foreign_mask",
    "person_names",
    "vocabulary",
]

CATEGORIES: tuple[str, ...] = (
    "salary",
    "business_income",
    "pension",
    "other_income",
    "refund",
    "rent",
    "emi",
    "utilities",
    "groceries",
    "food_delivery",
    "dining",
    "fuel",
    "shopping",
    "travel",
    "entertainment",
    "subscriptions",
    "healthcare",
    "education",
    "insurance",
    "investments",
    "p2p_transfer",
    "atm_withdrawal",
    "fees",
    "credit_card_payment",
    "self_transfer",
)

# "bank" is a posting the bank makes itself: interest, charges, fees.
CHANNELS: tuple[str, ...] = ("UPI", "card", "netbanking", "ATM", "NEFT/IMPS", "auto_debit", "bank")
DIRECTIONS: tuple[str, ...] = ("debit", "credit")
ANOMALY_TYPES: tuple[str, ...] = (
    "",
    "amount_spike",
    "unusual_hour_new_merchant",
    "velocity_burst",
    "foreign_card_not_present",
    "duplicate_charge",
)

# Discretionary merchants per category: (name, popularity weight, amount multiplier).
SPEND_MERCHANTS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "groceries": (
        ("BigBasket", 0.11, 2.2), ("Blinkit", 0.13, 0.9), ("Zepto", 0.11, 0.9),
        ("Swiggy Instamart", 0.09, 0.9), ("DMart", 0.12, 2.4), ("Reliance Fresh", 0.08, 1.2),
        ("More Supermarket", 0.05, 1.5), ("JioMart", 0.05, 1.6), ("Spencer's", 0.03, 1.5),
        ("Nature's Basket", 0.02, 2.0), ("Sri Lakshmi Kirana", 0.09, 0.6),
        ("Annapoorna General Store", 0.07, 0.6), ("Gupta Kirana Store", 0.05, 0.6),
    ),
    "food_delivery": (
        ("Swiggy", 0.48, 1.0), ("Zomato", 0.46, 1.05), ("EatSure", 0.03, 1.1), ("Box8", 0.03, 0.8),
    ),
    "dining": (
        ("McDonald's", 0.10, 0.5), ("Domino's Pizza", 0.08, 0.7), ("KFC", 0.07, 0.6),
        ("Burger King", 0.05, 0.5),
        ("Haldiram's", 0.07, 0.7), ("Cafe Coffee Day", 0.05, 0.5), ("Starbucks", 0.06, 0.7),
        ("Chaayos", 0.04, 0.3), ("Third Wave Coffee", 0.03, 0.6), ("Saravana Bhavan", 0.05, 0.7),
        ("Paradise Biryani", 0.05, 0.9), ("Sagar Ratna", 0.05, 0.9), ("Udupi Grand", 0.05, 0.6),
        ("Wow! Momo", 0.04, 0.4), ("Barbeque Nation", 0.04, 2.5), ("Mainland China", 0.03, 2.2),
        ("Social", 0.03, 2.0), ("Local Dhaba", 0.07, 0.5),
    ),
    "fuel": (
        ("Indian Oil", 0.38, 1.0), ("HP Petrol", 0.25, 1.0), ("Bharat Petroleum", 0.25, 1.0),
        ("Nayara Energy", 0.07, 1.0), ("Shell", 0.05, 1.1),
    ),
    "shopping": (
        ("Amazon", 0.26, 1.0), ("Flipkart", 0.20, 1.0), ("Myntra", 0.09, 1.1), ("Nykaa", 0.05, 0.8),
        ("Ajio", 0.05, 1.1), ("Meesho", 0.06, 0.4), ("Decathlon", 0.03, 1.5), ("Lifestyle", 0.03, 1.8),
        ("Pantaloons", 0.03, 1.5), ("Westside", 0.03, 1.4), ("Shoppers Stop", 0.02, 1.8),
        ("Max Fashion", 0.02, 1.0), ("Lenskart", 0.02, 2.0), ("FirstCry", 0.02, 1.0), ("Croma", 0.015, 4.0),
        ("Reliance Digital", 0.015, 4.0), ("Vijay Sales", 0.008, 4.0), ("Tanishq", 0.008, 8.0),
        ("IKEA", 0.01, 3.0), ("Pepperfry", 0.01, 3.0), ("AMZN Mktp US", 0.004, 2.5),
        ("ALIEXPRESS", 0.004, 0.8),
    ),
    "travel": (
        ("Uber", 0.19, 0.6), ("Ola", 0.14, 0.6), ("Rapido", 0.12, 0.25), ("Namma Yatri", 0.03, 0.4),
        ("IRCTC", 0.12, 2.5), ("Metro Card Recharge", 0.06, 0.8), ("FASTag Recharge", 0.06, 1.5),
        ("redBus", 0.05, 3.0), ("MakeMyTrip", 0.03, 12.0), ("IndiGo", 0.02, 13.0), ("Air India", 0.01, 15.0),
        ("Goibibo", 0.015, 9.0), ("Cleartrip", 0.01, 9.0), ("OYO", 0.02, 6.0), ("BOOKING.COM", 0.003, 15.0),
    ),
    "entertainment": (
        ("BookMyShow", 0.38, 1.0), ("PVR INOX", 0.20, 1.0), ("District by Zomato", 0.06, 1.2),
        ("Paytm Insider", 0.05, 1.5), ("Dream11", 0.10, 0.4), ("MPL", 0.05, 0.3), ("Google Play", 0.09, 0.3),
        ("Wonderla", 0.03, 2.5), ("Timezone", 0.04, 1.0),
    ),
    "healthcare": (
        ("Apollo Pharmacy", 0.22, 1.0), ("PharmEasy", 0.11, 1.1), ("Tata 1mg", 0.11, 1.0),
        ("MedPlus", 0.12, 0.8),
        ("Netmeds", 0.05, 1.0), ("Practo", 0.06, 1.2), ("Apollo Hospitals", 0.05, 5.0),
        ("Dr Lal PathLabs", 0.06, 2.0), ("Thyrocare", 0.03, 1.5), ("City Care Clinic", 0.13, 0.8),
        ("Wellness Forever", 0.06, 0.8),
    ),
    "education": (
        ("BYJU'S", 0.06, 5.0), ("Unacademy", 0.10, 2.0), ("PhysicsWallah", 0.12, 1.5),
        ("Coursera", 0.08, 1.8), ("Udemy", 0.15, 0.4), ("upGrad", 0.04, 8.0), ("Vedantu", 0.05, 2.0),
        ("Crossword Bookstore", 0.12, 0.5),
        ("Sapna Book House", 0.08, 0.5), ("Amazon Kindle", 0.20, 0.15),
    ),
}  # fmt: skip

# Monthly bills: (name, weight) per bill; electricity comes from the user's state board.
BILL_MERCHANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "mobile": (("Jio", 0.45), ("Airtel", 0.38), ("Vi", 0.13), ("BSNL", 0.04)),
    "broadband": (
        ("JioFiber", 0.30), ("Airtel Xstream Fiber", 0.30), ("ACT Fibernet", 0.15), ("BSNL Broadband", 0.08),
        ("Hathway", 0.09), ("Excitel", 0.08),
    ),
    "dth": (("Tata Play", 0.45), ("Airtel Digital TV", 0.30), ("Dish TV", 0.17), ("Sun Direct", 0.08)),
    "gas": (("Indane Gas", 0.45), ("Bharat Gas", 0.25), ("HP Gas", 0.20), ("Mahanagar Gas", 0.10)),
    "streaming": (
        ("Netflix", 0.25), ("JioHotstar", 0.27), ("Amazon Prime", 0.20), ("Spotify", 0.12),
        ("YouTube Premium", 0.07), ("SonyLIV", 0.05), ("ZEE5", 0.04),
    ),
    "cloud": (("Google One", 0.5), ("Apple Services", 0.3), ("Microsoft 365", 0.2)),
}  # fmt: skip

ELECTRICITY_BY_STATE: dict[str, str] = {
    "Maharashtra": "MSEDCL", "Delhi": "BSES Rajdhani", "Karnataka": "BESCOM", "Telangana": "TSSPDCL",
    "Tamil Nadu": "TANGEDCO", "West Bengal": "CESC", "Gujarat": "Torrent Power", "Rajasthan": "JVVNL",
    "Uttar Pradesh": "UPPCL", "Madhya Pradesh": "MPPKVVCL", "Kerala": "KSEB",
    "Chandigarh": "Chandigarh Power",
    "Andhra Pradesh": "APEPDCL", "Bihar": "NBPDCL", "Odisha": "TPCODL", "Assam": "APDCL",
    "Uttarakhand": "UPCL", "Punjab": "PSPCL", "Haryana": "DHBVN", "Chhattisgarh": "CSPDCL",
}  # fmt: skip

INSURANCE_MERCHANTS: tuple[str, ...] = (
    "LIC", "HDFC Life", "ICICI Prudential Life", "SBI Life", "Star Health", "HDFC ERGO", "Niva Bupa",
    "Care Health", "Tata AIG", "Digit Insurance",
)  # fmt: skip
INVESTMENT_MERCHANTS: tuple[str, ...] = (
    "Zerodha", "Groww", "Upstox", "Angel One", "Paytm Money", "Kuvera", "ICICI Prudential MF",
    "SBI Mutual Fund", "HDFC Mutual Fund", "Nippon India MF",
)  # fmt: skip
RENT_PLATFORMS: tuple[str, ...] = ("NoBroker Rent Pay", "CRED RentPay", "Housing.com Pay Rent")
SCHOOLS: tuple[str, ...] = (
    "Delhi Public School",
    "Kendriya Vidyalaya",
    "Ryan International",
    "DAV Public School",
)

FEE_LABELS: tuple[str, ...] = (
    "SMS Alert Charges", "Debit Card Annual Fee", "Credit Card Annual Fee",
    "Late Payment Fee", "Finance Charges", "NACH Return Charges", "Cheque Return Charges",
    "Min Balance Charges",
)  # fmt: skip
INCOME_LABELS: tuple[str, ...] = (
    "Savings Interest", "Cashback", "Income Tax Refund", "Payment Received", "Self Transfer",
)  # fmt: skip

# Card-not-present merchants abroad: what a stolen card number is used at.
FOREIGN_MERCHANTS: tuple[str, ...] = (
    "AMZN Mktp US", "ALIEXPRESS", "APPLE.COM/BILL", "GOOGLE *CLOUD", "STEAM GAMES", "PAYPAL *EBAY",
    "SHEIN.COM", "NORDVPN", "TEMU.COM", "BOOKING.COM",
)  # fmt: skip
# High-ticket merchants most users never visit: where an account takeover spends at 2 am.
NEW_MERCHANT_POOL: tuple[str, ...] = (
    "Croma", "Reliance Digital", "Tanishq", "Vijay Sales", "Apple India Online", "Samsung Shop",
    "OnePlus Store", "Malabar Gold", "Kalyan Jewellers", "Paytm Wallet Topup", "MobiKwik Wallet",
    "Amazon Pay Gift Card",
)  # fmt: skip
# Many small charges in minutes: gift cards, wallet top-ups, games.
VELOCITY_POOL: tuple[str, ...] = (
    "Amazon Pay Gift Card", "Flipkart Gift Card", "Google Play", "Paytm Wallet Topup", "MobiKwik Wallet",
    "Dream11", "MPL", "Amazon", "Flipkart",
)  # fmt: skip


def person_names() -> tuple[str, ...]:
    """Every ``First Surname`` pair, women first: payees of UPI transfers, landlords, parents."""
    firsts = catalog.FIRST_NAMES_F + catalog.FIRST_NAMES_M
    return tuple(f"{first} {last}" for first in firsts for last in catalog.SURNAMES)


_BANK_SERVICES = ("ATM", "Loans", "Credit Card")


def _bank_names() -> list[str]:
    return [f"{bank.name} {service}" for bank in catalog.BANKS for service in _BANK_SERVICES]


def bank_codes(service: str) -> np.ndarray:
    """Per bank (index into catalog.BANKS), the code of its ``service``: ATM, Loans or Credit Card."""
    return codes([f"{bank.name} {service}" for bank in catalog.BANKS])


@cache
def vocabulary() -> tuple[str, ...]:
    """Every merchant name, each once, in a fixed order (the categories of ``merchant``)."""
    groups: list[tuple[str, ...] | list[str]] = [
        *[tuple(m[0] for m in merchants) for merchants in SPEND_MERCHANTS.values()],
        *[tuple(m[0] for m in merchants) for merchants in BILL_MERCHANTS.values()],
        tuple(ELECTRICITY_BY_STATE.values()),
        INSURANCE_MERCHANTS, INVESTMENT_MERCHANTS, RENT_PLATFORMS, SCHOOLS, FEE_LABELS, INCOME_LABELS,
        FOREIGN_MERCHANTS, NEW_MERCHANT_POOL, VELOCITY_POOL, ("CRED",),
        catalog.EMPLOYERS, catalog.GOVT_EMPLOYERS, catalog.GIG_PLATFORMS, catalog.PENSION_PAYERS,
        catalog.BUSINESS_PAYERS, _bank_names(), person_names(),
    ]  # fmt: skip
    return tuple(dict.fromkeys(name for group in groups for name in group))


@cache
def _index() -> dict[str, int]:
    return {name: i for i, name in enumerate(vocabulary())}


def code(name: str) -> int:
    """The vocabulary index of one merchant name."""
    return _index()[name]


def codes(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Vocabulary indices (int32) of several merchant names, in order."""
    index = _index()
    return np.array([index[name] for name in names], dtype=np.int32)


def cat(name: str) -> int:
    """The code of a transaction category."""
    return CATEGORIES.index(name)


def ch(name: str) -> int:
    """The code of a channel."""
    return CHANNELS.index(name)


@cache
def foreign_mask() -> np.ndarray:
    """A boolean per vocabulary entry: is the merchant abroad (card not present, foreign currency)."""
    mask = np.zeros(len(vocabulary()), dtype=bool)
    mask[codes(FOREIGN_MERCHANTS)] = True
    return mask
