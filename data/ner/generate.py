"""Template generator of NER training sentences for Nivesh's finance assistant.

Writes ``data/ner/generated.jsonl``: one ``{"text": ..., "entities": [[start, end, label], ...]}``
object per line, character offsets, end exclusive, spans sorted and non-overlapping. Labels follow
the guideline in ``data/ner/README.md``. The output is a pure function of ``--n`` and ``--seed``, so
re-running the script rewrites the same file byte for byte.

    python data/ner/generate.py [--n 3000] [--seed 20250101] [--out data/ner/generated.jsonl]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "generated.jsonl"
DEFAULT_N = 3000
DEFAULT_SEED = 20250101
LABELS = ("MONEY", "DATE", "CATEGORY", "MERCHANT", "ACCOUNT")

Part = tuple[str, str | None]  # (text, label) where label None is plain text
Record = dict[str, object]


def _names(csv: str) -> tuple[str, ...]:
    """A vocabulary written as comma-separated names over several lines."""
    return tuple(name.strip() for name in csv.replace("\n", ",").split(",") if name.strip())


# --------------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------------

# sector -> (merchants and brands, spending categories, typical amount range in rupees)
SECTORS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, int]]] = {
    "food_delivery": (
        _names("""Swiggy, Zomato, EatSure, Magicpin, Box8, Faasos, Behrouz Biryani, Oven Story Pizza,
            FreshMenu, Biryani By Kilo, Wow! Momo, Swiggy Dineout, Zomato District, Ola Foods, ONDC"""),
        _names("food delivery, food delivery, food, dining, eating out"),
        (80, 2500),
    ),
    "restaurants": (
        _names("""Domino's, McDonald's, KFC, Pizza Hut, Burger King, Subway, Haldiram's, Barbeque Nation,
            Starbucks, Cafe Coffee Day, Chaayos, Chai Point, Third Wave Coffee, Blue Tokai, Mainland China,
            Saravana Bhavan, Bikanervala, Paradise Biryani, Sagar Ratna, Theobroma, Baskin Robbins,
            Naturals Ice Cream, Keventers, Taco Bell, Dunkin, Krispy Kreme, MTR, Adyar Ananda Bhavan,
            Nando's, Social, Truffles, Meghana Foods, Bademiya, Karim's, Haldiram"""),
        _names("dining, eating out, restaurants, food"),
        (100, 8000),
    ),
    "quick_commerce": (
        _names("""Blinkit, Zepto, Swiggy Instamart, BigBasket, BB Now, Flipkart Minutes, JioMart, Dunzo,
            Amazon Fresh, Milkbasket, Country Delight, Licious, FreshToHome, Otipy, Akshayakalpa,
            Amazon Now"""),
        _names("groceries, groceries, household, grocery"),
        (50, 4000),
    ),
    "supermarkets": (
        _names("""DMart, Big Bazaar, Reliance Fresh, Reliance Smart, More, Spencer's, Star Bazaar,
            Nature's Basket, Ratnadeep, Nilgiris, Heritage Fresh, Easyday, Spar, Lulu Hypermarket,
            Metro Cash and Carry, Vishal Mega Mart, Smart Bazaar, Foodhall, Le Marche, Namdhari's Fresh,
            Modern Bazaar, Society Stores"""),
        _names("groceries, groceries, household, grocery"),
        (200, 15000),
    ),
    "ecommerce": (
        _names("""Amazon, Flipkart, Meesho, Snapdeal, Tata CLiQ, Nykaa, ShopClues, FirstCry, Pepperfry,
            Urban Ladder, IKEA, Home Centre, Lenskart, Decathlon, Tata Neu, Amazon.in, Shopsy, Hamleys,
            Crossword, Sapna Book House, Archies, Ferns N Petals, IGP, Supertails, Heads Up For Tails,
            Wakefit, Sleepyhead, Duroflex, Godrej Interio"""),
        _names("shopping, shopping, household, gifts"),
        (150, 60000),
    ),
    "fashion": (
        _names("""Myntra, Ajio, Zara, Mango, Uniqlo, Westside, Pantaloons, Max Fashion, Lifestyle,
            Shoppers Stop, Trends, Reliance Trends, FabIndia, Biba, Manyavar, Raymond, Allen Solly,
            Peter England, Van Heusen, Louis Philippe, Levi's, Bewakoof, The Souled Store, Bata,
            Metro Shoes, Mochi, Puma, Nike, Adidas, Skechers, Woodland, Libas, Global Desi,
            Marks & Spencer, Jockey, Zivame, Snitch, Zudio, Campus, Red Tape"""),
        _names("clothing, shopping, fashion, clothes"),
        (300, 25000),
    ),
    "pharmacy": (
        _names("""Apollo Pharmacy, MedPlus, Netmeds, PharmEasy, Tata 1mg, Truemeds, Wellness Forever,
            Frank Ross, Guardian Pharmacy, Noble Plus, Davaindia"""),
        _names("medicines, medical, healthcare, pharmacy"),
        (50, 5000),
    ),
    "hospitals": (
        _names("""Apollo Hospitals, Fortis, Max Healthcare, Manipal Hospitals, Narayana Health, Medanta,
            Aster, Kokilaben Hospital, Lilavati Hospital, Dr Lal PathLabs, Thyrocare, Metropolis,
            SRL Diagnostics, Practo, Cloudnine, Rainbow Hospital, Care Hospitals, Sankara Eye Hospital,
            Vasan Eye Care, Clove Dental"""),
        _names("medical, healthcare, health"),
        (300, 300000),
    ),
    "fuel": (
        _names("""Indian Oil, HP, Bharat Petroleum, BPCL, HPCL, IOCL, Shell, Nayara Energy, Jio-bp, Essar,
            IndianOil, HP Petrol Pump"""),
        _names("fuel, fuel, petrol, diesel"),
        (100, 6000),
    ),
    "telecom": (
        _names("""Jio, Airtel, Vi, Vodafone Idea, BSNL, MTNL, ACT Fibernet, Hathway, Excitel,
            Tata Play Fiber, JioFiber, Airtel Xstream, You Broadband, Spectra, Jio AirFiber"""),
        _names("mobile recharge, mobile recharge, internet, broadband"),
        (99, 3000),
    ),
    "dth": (
        _names("Tata Play, Dish TV, d2h, Sun Direct, Airtel Digital TV, Videocon d2h"),
        _names("DTH, subscriptions, entertainment"),
        (150, 1500),
    ),
    "ott": (
        _names("""Netflix, Amazon Prime, Prime Video, Disney+ Hotstar, JioHotstar, JioCinema, SonyLIV, ZEE5,
            Spotify, YouTube Premium, Apple Music, Gaana, JioSaavn, Wynk, Audible, Aha, Sun NXT, ALTBalaji,
            MX Player, Google Play, App Store, Apple, Google One, iCloud, Microsoft 365, Canva,
            ChatGPT Plus, LinkedIn Premium"""),
        _names("subscriptions, entertainment, OTT"),
        (29, 1500),
    ),
    "cinema": (
        _names("""PVR, INOX, PVR INOX, Cinepolis, BookMyShow, Paytm Insider, Wonderla, Imagica, Smaaash,
            Timezone, Carnival Cinemas, Miraj Cinemas, Kidzania, Snow World, Mukta A2"""),
        _names("entertainment, entertainment, movies, outings"),
        (150, 5000),
    ),
    "travel_booking": (
        _names("""MakeMyTrip, Goibibo, Cleartrip, Yatra, EaseMyTrip, ixigo, IRCTC, redBus, AbhiBus,
            Thomas Cook, SOTC, Booking.com, Agoda, Airbnb, OYO, Treebo, FabHotels, Taj Hotels, ITC Hotels,
            Lemon Tree, Zostel, Club Mahindra"""),
        _names("travel, travel, hotels, hotels"),
        (300, 150000),
    ),
    "airlines": (
        _names(
            "IndiGo, Air India, Air India Express, Akasa Air, SpiceJet, Vistara, Alliance Air, Star Air, "
            "Fly91"
        ),
        _names("travel, flights"),
        (2000, 80000),
    ),
    "cabs": (
        _names("""Uber, Ola, Rapido, BluSmart, Namma Yatri, Meru, Zoomcar, Revv, Savaari, Delhi Metro,
            Mumbai Metro, Namma Metro, BEST, Yulu, Bounce"""),
        _names("travel, cabs, transport, commute"),
        (30, 3000),
    ),
    "insurance": (
        _names("""LIC, HDFC Life, ICICI Prudential Life, SBI Life, Max Life, Tata AIA, Bajaj Allianz,
            Star Health, Niva Bupa, Care Health, ICICI Lombard, HDFC ERGO, Acko, Digit Insurance,
            PolicyBazaar, New India Assurance, Aditya Birla Health, Kotak Life, PNB MetLife,
            Reliance General, Tata AIG, ManipalCigna"""),
        _names("insurance, insurance, health insurance, life insurance, car insurance"),
        (2000, 150000),
    ),
    "mutual_funds": (
        _names("""SBI Mutual Fund, HDFC Mutual Fund, ICICI Prudential Mutual Fund, Axis Mutual Fund,
            Nippon India Mutual Fund, Kotak Mutual Fund, Mirae Asset, Parag Parikh, UTI Mutual Fund,
            Aditya Birla Sun Life Mutual Fund, DSP Mutual Fund, Quant Mutual Fund, Motilal Oswal,
            Tata Mutual Fund, Franklin Templeton, Canara Robeco, Edelweiss Mutual Fund, Invesco India,
            Bandhan Mutual Fund, HSBC Mutual Fund"""),
        _names("investments, mutual funds, mutual funds"),
        (500, 200000),
    ),
    "brokers": (
        _names("""Zerodha, Groww, Upstox, Angel One, ICICI Direct, HDFC Securities, Kotak Securities, 5paisa,
            Dhan, Paytm Money, Smallcase, INDmoney, Kuvera, Sharekhan, ET Money, Scripbox"""),
        _names("investments, stocks, mutual funds"),
        (500, 500000),
    ),
    "education": (
        _names("""Byju's, Unacademy, Vedantu, upGrad, Physics Wallah, Simplilearn, Great Learning, Coursera,
            Udemy, Scaler, Toppr, Testbook, Adda247, BrightChamps, Cuemath, Duolingo, Aakash Institute,
            FIITJEE, Allen, Eruditus, Internshala, Kaplan"""),
        _names("education, education, tuition, courses, school fees"),
        (500, 300000),
    ),
    "utilities": (
        _names("""BESCOM, MSEDCL, Tata Power, Adani Electricity, BSES Rajdhani, BSES Yamuna, TPDDL, CESC,
            TANGEDCO, KSEB, UPPCL, TSSPDCL, APSPDCL, PSPCL, DHBVN, WBSEDCL, Torrent Power, MGVCL, JVVNL,
            BEST Electricity, Mahavitaran"""),
        _names("electricity, electricity, utilities, power"),
        (200, 12000),
    ),
    "gas": (
        _names("""Mahanagar Gas, Indraprastha Gas, Gujarat Gas, Bharat Gas, HP Gas, Indane, Adani Total Gas,
            Green Gas, Torrent Gas"""),
        _names("gas, gas, utilities"),
        (100, 3000),
    ),
    "water": (
        _names("Delhi Jal Board, BWSSB, HMWSSB, Chennai Metrowater, PMC Water"),
        _names("water, water, utilities"),
        (100, 2500),
    ),
    "jewellers": (
        _names("""Tanishq, Kalyan Jewellers, Malabar Gold, PC Jeweller, Joyalukkas, CaratLane, BlueStone,
            Senco Gold, GRT Jewellers, Bhima Jewellers, Reliance Jewels, Orra, Candere, Mia by Tanishq"""),
        _names("jewellery, jewellery, shopping"),
        (2000, 500000),
    ),
    "electronics": (
        _names("""Croma, Reliance Digital, Vijay Sales, Apple Store, Samsung, OnePlus, Xiaomi, Mi Home, boAt,
            Noise, Sony, LG, Realme, Poorvika, Sangeetha Mobiles, Great Eastern, Ezone, Lenovo, Dell, Bose,
            JBL, Oppo, Vivo, Asus"""),
        _names("electronics, gadgets, shopping"),
        (500, 200000),
    ),
    "home_services": (
        _names("""Urban Company, NoBroker, Nestaway, MagicBricks, 99acres, Stanza Living, Zolo, Rentomojo,
            Furlenco, Housejoy, Sulekha, Pestcontrol India"""),
        _names("rent, rent, home maintenance, household"),
        (300, 80000),
    ),
    "fitness": (
        _names(
            "cult.fit, Cult, HealthifyMe, Gold's Gym, Anytime Fitness, Fitternity, Snap Fitness, Talwalkars"
        ),
        _names("fitness, gym, health"),
        (300, 30000),
    ),
    "beauty": (
        _names("""Purplle, Mamaearth, Sugar Cosmetics, Lakme Salon, Naturals Salon, Looks Salon, Jawed Habib,
            Enrich Salon, VLCC, The Body Shop, Forest Essentials, Kama Ayurveda, Bath & Body Works, Plum,
            Minimalist"""),
        _names("personal care, beauty, grooming"),
        (150, 10000),
    ),
}
# Amount ranges for frames that are about something other than a merchant.
AMOUNT_RANGES: dict[str, tuple[int, int]] = {
    "salary": (18000, 450000),
    "big": (50000, 20000000),
    "car": (300000, 4000000),
    "budget": (1000, 60000),
    "transfer": (500, 300000),
    "rent": (5000, 90000),
    "emi": (1500, 90000),
    "atm": (500, 25000),
    "bill": (150, 12000),
    "any": (50, 100000),
}

# Sectors a slot argument may name as a group: "{merchant:order}" is a shop one orders from.
SECTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "order": (
        "food_delivery",
        "restaurants",
        "quick_commerce",
        "supermarkets",
        "ecommerce",
        "fashion",
        "pharmacy",
        "electronics",
        "beauty",
    ),
}

MERCHANTS: tuple[str, ...] = tuple(dict.fromkeys(m for names, _, _ in SECTORS.values() for m in names))
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c for _, cats, _ in SECTORS.values() for c in cats))

# Spellings users actually type; still labelled MERCHANT / CATEGORY.
MERCHANT_TYPOS: dict[str, tuple[str, ...]] = {
    "Swiggy": ("swigy", "swiggy", "SWIGGY"),
    "Zomato": ("zomato", "zomatto", "Zomatoo"),
    "Amazon": ("amazon", "amzn", "Amazon India"),
    "Flipkart": ("flipkart", "flipkrt", "Flipcart"),
    "Blinkit": ("blinkit", "blinkitt", "Blinkt"),
    "BigBasket": ("big basket", "bigbasket", "Big Basket"),
    "DMart": ("dmart", "D-Mart", "D Mart"),
    "Uber": ("uber", "UBER"),
    "Ola": ("ola", "OLA"),
    "Myntra": ("myntra", "mintra"),
    "Zepto": ("zepto", "zeptoo"),
    "Netflix": ("netflix", "netflx"),
    "IRCTC": ("irctc", "Irctc"),
    "Indian Oil": ("indian oil", "Indian oil", "IOC"),
    "Reliance Digital": ("reliance digital",),
    "PharmEasy": ("pharmeasy", "Pharmeasy"),
    "MakeMyTrip": ("makemytrip", "MMT", "Make My Trip"),
}
CATEGORY_TYPOS: dict[str, tuple[str, ...]] = {
    "groceries": ("grocries", "groceris", "grocery"),
    "entertainment": ("entertainmnt", "entertainmet"),
    "electricity": ("electricty", "elecricity"),
    "food delivery": ("food dlivery", "fooddelivery"),
    "education": ("educaton",),
    "insurance": ("insurence", "insurnace"),
    "travel": ("travell", "trvel"),
}
# Categories that arrive as a bill ("did I pay my electricity bill": the span is "electricity").
BILL_CATEGORIES = _names(
    "electricity, electricity, internet, broadband, gas, water, phone, mobile, DTH, maintenance"
)

BANKS = _names("""SBI, State Bank of India, HDFC, HDFC Bank, ICICI, ICICI Bank, Axis, Axis Bank, Kotak,
    Kotak Mahindra Bank, PNB, Punjab National Bank, Bank of Baroda, BoB, Canara Bank, Canara, Union Bank,
    Union Bank of India, IndusInd, IndusInd Bank, Yes Bank, IDFC FIRST, IDFC FIRST Bank, Federal Bank,
    AU Small Finance Bank, AU Bank, RBL, RBL Bank, Bank of India, Indian Bank, Central Bank of India,
    Indian Overseas Bank, UCO Bank, Bank of Maharashtra, IDBI Bank, South Indian Bank, Karnataka Bank,
    Karur Vysya Bank, City Union Bank, DCB Bank, Bandhan Bank, Equitas, Ujjivan, Standard Chartered, Citi,
    HSBC, DBS, Airtel Payments Bank, India Post Payments Bank, Jana Small Finance Bank""")
TOP_BANKS = _names("SBI, HDFC, ICICI, Axis, Kotak, HDFC Bank, ICICI Bank, PNB, Bank of Baroda, Canara Bank")

# Account types by what a sentence does with them.
DEPOSIT_TYPES = _names("""savings account, savings account, salary account, current account, FD,
    fixed deposit, RD, recurring deposit, PPF account, NRE account, NRO account, joint account,
    savings a/c, account""")
SPEND_TYPES = _names("""credit card, credit card, debit card, card, Rupay card, Visa card, account,
    savings account, salary account, debit card""")
DEBIT_TYPES = _names("debit card, ATM card, Rupay debit card, savings account, salary account")
LOAN_TYPES = _names("""home loan account, car loan account, personal loan account, education loan account,
    gold loan account, home loan, car loan, credit card, credit card""")
BARE_DEPOSIT = _names("""salary account, savings account, joint account, PPF account, current account, FD,
    NPS account, EPF account, Post Office RD, Sukanya Samriddhi account""")
BARE_SPEND = _names("credit card, debit card, salary account, savings account, corporate card")
BARE_LOAN = _names("""credit card, home loan account, car loan account, personal loan account,
    education loan account, home loan""")
WALLETS = _names("""Paytm wallet, PhonePe wallet, Amazon Pay wallet, Amazon Pay balance, MobiKwik wallet,
    Freecharge wallet, Airtel Money wallet, Ola Money wallet, Paytm Payments Bank account, Pluxee card,
    Sodexo card, Zeta card""")
PAY_LATER = _names("Paytm Postpaid, Amazon Pay Later, Flipkart Pay Later, Simpl account, LazyPay account")
CREDIT_CARDS = _names("""HDFC Regalia card, HDFC Millennia card, HDFC Infinia, SBI SimplyCLICK card,
    SBI Cashback card, ICICI Amazon Pay credit card, Axis Flipkart credit card, Axis Ace card, Axis Magnus,
    Amex card, Amex Platinum card, OneCard, IDFC FIRST Wealth card, AU LIT card, Swiggy HDFC card,
    Tata Neu HDFC card, Airtel Axis card, Scapia card, ICICI Coral card, SBI Elite card, HSBC Cashback card,
    Standard Chartered Smart card, Flipkart Axis card, Amazon Pay ICICI card""")
NEO_ACCOUNTS = _names("Kotak 811 account, Jupiter account, Fi account, Niyo card, Kotak 811 debit card")
DEMAT_ACCOUNTS = _names("""Zerodha demat account, Groww demat account, Upstox demat account,
    Angel One demat account, ICICI Direct trading account, Zerodha account, Coin account""")

MONTHS = _names(
    "January, February, March, April, May, June, July, August, September, October, November, December"
)
MONTH_ABBR = _names("Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec")
WEEKDAYS = _names("Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday")
FESTIVALS = _names("""Diwali, Holi, Dhanteras, Raksha Bandhan, Christmas, New Year's Eve, Eid, Onam, Pongal,
    Ganesh Chaturthi, Navratri, Durga Puja, Independence Day, Republic Day, Akshaya Tritiya, Karva Chauth,
    Lohri, Makar Sankranti, Ugadi, Bihu, Diwali 2024, Holi 2025""")
NUMBER_WORDS = _names("two, three, four, six")
HINGLISH_DATES = _names("""kal, kal, parso, aaj, pichle hafte, pichle mahine, is mahine, is hafte, kal raat,
    aaj subah, pichhle saal, last month, yesterday""")
PEOPLE = _names("Rahul, Priya, mom, Amit, the maid, my landlord, Sneha, papa, Arjun, the driver, my roommate")
ITEMS = _names(
    "auto, chai, milk, vegetables, the plumber, parking, the newspaper, ironing, samosas, the cook"
)

# Typos applied to the plain (non-entity) text of some sentences.
LITERAL_TYPOS: dict[str, tuple[str, ...]] = {
    "How much": ("how much", "Hw much", "How mch"),
    "spent": ("spnt", "spend"),
    "spend": ("spnd",),
    "transactions": ("transactons", "txns", "trxns"),
    "payment": ("paymnt", "pymt"),
    "received": ("recieved", "recvd"),
    "please": ("pls", "plz"),
    "Show": ("show", "Shw"),
    "my": ("ma", "my"),
    "What": ("Wat", "what"),
    "balance": ("balnce", "bal"),
}

# --------------------------------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------------------------------


def indian_group(n: int) -> str:
    """Digits of ``n`` grouped the Indian way: 1,00,000 and 12,50,000."""
    s = str(n)
    if len(s) <= 3:
        return s
    head, tail = s[:-3], s[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def pick_amount(rng: random.Random, lo: int, hi: int) -> int:
    """A price-like amount between ``lo`` and ``hi`` (log-uniform, rounded the way prices are)."""
    v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if v < 100:
        step = rng.choice((1, 5, 10))
    elif v < 1_000:
        step = rng.choice((1, 10, 50))
    elif v < 10_000:
        step = rng.choice((10, 50, 100, 500))
    elif v < 1_00_000:
        step = rng.choice((100, 500, 1_000))
    elif v < 1_00_00_000:
        step = rng.choice((1_000, 10_000, 50_000))
    else:
        step = rng.choice((10_00_000, 1_00_00_000))
    n = max(step, round(v / step) * step)
    if step >= 10 and n < 1_00_000 and rng.random() < 0.15:
        n -= 1  # 499, 1,999
    return n


def _digits(rng: random.Random, n: int) -> str:
    """Indian digit grouping most of the time, plain digits otherwise."""
    return indian_group(n) if n >= 1000 and rng.random() < 0.7 else str(n)


def _short(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def money_text(rng: random.Random, n: int) -> str:
    """``n`` rupees in one of the ways users and bank messages write it."""
    if n >= 1_00_000 and n % 10_000 == 0 and rng.random() < 0.6:
        prefix = rng.choice(("₹", "₹", "", "", "Rs ", "Rs. "))
        if n >= 1_00_00_000 and n % 10_00_000 == 0:
            value = _short(n / 1_00_00_000)
            units = (" crore", " crore", " cr", "cr") + ((" crores",) if value != "1" else ())
            return f"{prefix}{value}{rng.choice(units)}"
        value = _short(n / 1_00_000)
        units = (" lakh", " lakh", " lakh", " lac", "L") + ((" lakhs",) if value != "1" else ())
        unit = rng.choice(units)
        if unit == "L":
            prefix = "₹"
        return f"{prefix}{value}{unit}"
    if 1_000 <= n < 1_00_000 and n % 500 == 0 and rng.random() < 0.3:
        k = _short(n / 1_000)
        return rng.choice((f"{k}k", f"₹{k}k", f"Rs {k}k", f"{k}K", f"{k}k rupees"))
    num = _digits(rng, n)
    style = rng.random()
    if style < 0.34:
        return f"₹{num}"
    if style < 0.40:
        return f"₹ {num}"
    if style < 0.48:
        return f"Rs. {num}"
    if style < 0.54:
        return f"Rs {num}"
    if style < 0.58:
        return rng.choice((f"Rs.{num}", f"rs.{num}", f"Rs{num}"))
    if style < 0.64:
        return f"INR {num}"
    if style < 0.72:
        return f"{num} rupees"
    if style < 0.75:
        return f"{num} rs"
    if style < 0.82:
        return rng.choice((f"₹{num}/-", f"Rs. {num}/-", f"Rs {num}/-", f"{num}/-"))
    if style < 0.90 and n < 1_00_000:
        paise = rng.choice(("00", "50", "99", "25", "40", "75", "18"))
        return rng.choice(
            (f"₹{num}.{paise}", f"Rs. {num}.{paise}", f"INR {num}.{paise}", f"Rs.{num}.{paise}")
        )
    if style < 0.93 and n < 5_000:
        return f"{num} bucks"
    return f"₹{num}"


def sms_money_text(rng: random.Random, n: int) -> str:
    paise = rng.choice(("00", "00", "50", "99", "25", "40", "75", "18", "62"))
    num = _digits(rng, n)
    return rng.choice(
        (
            f"Rs.{num}.{paise}",
            f"INR {num}.{paise}",
            f"Rs {num}.{paise}",
            f"Rs. {num}.00",
            f"₹{num}.00",
            f"INR {num}",
        )
    )


# --------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------


def ordinal(d: int) -> str:
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


def rel_date(rng: random.Random) -> str:
    """A past time expression that takes no preposition: 'yesterday', 'last Friday', 'this month'."""
    r = rng.random()
    if r < 0.2:
        return rng.choice(
            (
                "yesterday",
                "yesterday",
                "today",
                "this morning",
                "last night",
                "earlier today",
                "the day before yesterday",
                "day before yesterday",
                "yesterdy",
                "yday",
            )
        )
    if r < 0.38:
        return f"last {rng.choice(WEEKDAYS)}"
    if r < 0.7:
        return rng.choice(
            (
                "last week",
                "this week",
                "last month",
                "this month",
                "last month",
                "this month",
                "last year",
                "this year",
                "last weekend",
                "this weekend",
                "last quarter",
                "this quarter",
                "last fortnight",
                "this financial year",
                "last financial year",
            )
        )
    if r < 0.85:
        n = rng.randint(2, 12)
        return rng.choice(
            (
                f"{n} days ago",
                f"{rng.choice(NUMBER_WORDS)} weeks ago",
                "a month ago",
                f"{n} months ago",
                "a week ago",
            )
        )
    return f"this {rng.choice(WEEKDAYS)}"


def day_date(rng: random.Random) -> str:
    """A single day, written after 'on': 'the 5th', '12 October', 'Oct 12', '12/10/2025', 'Diwali'."""
    d = rng.randint(1, 28)
    m = rng.randint(1, 12)
    year = rng.choice((2023, 2024, 2025, 2025, 2026))
    r = rng.random()
    if r < 0.18:
        return f"the {ordinal(d)}"
    if r < 0.32:
        return f"{d} {MONTHS[m - 1]}"
    if r < 0.40:
        return f"{ordinal(d)} {MONTHS[m - 1]}"
    if r < 0.50:
        return f"{MONTH_ABBR[m - 1]} {d}"
    if r < 0.55:
        return f"{MONTHS[m - 1]} {ordinal(d)}"
    if r < 0.65:
        return rng.choice(
            (
                f"{d:02d}/{m:02d}/{year}",
                f"{d}/{m}/{year}",
                f"{d:02d}-{m:02d}-{year}",
                f"{d:02d}/{m:02d}/{year % 100:02d}",
                f"{year}-{m:02d}-{d:02d}",
            )
        )
    if r < 0.72:
        return rng.choice((f"{d} {MONTH_ABBR[m - 1]} {year}", f"{MONTH_ABBR[m - 1]} {d}, {year}"))
    if r < 0.78:
        return f"the {ordinal(d)} of {MONTHS[m - 1]}"
    if r < 0.90:
        return rng.choice(WEEKDAYS)
    return rng.choice(FESTIVALS)


def period_date(rng: random.Random) -> str:
    """A month, quarter, year or season, written after 'in': 'March 2025', 'Q3', 'FY 2024-25', '2024'."""
    year = rng.choice((2022, 2023, 2024, 2025, 2025, 2026))
    r = rng.random()
    if r < 0.22:
        return rng.choice(MONTHS)
    if r < 0.40:
        return f"{rng.choice(MONTHS)} {year}"
    if r < 0.46:
        return f"{rng.choice(MONTH_ABBR)} {year}"
    if r < 0.56:
        return str(year)
    if r < 0.66:
        return f"Q{rng.randint(1, 4)}"
    if r < 0.70:
        return f"Q{rng.randint(1, 4)} FY{year % 100}"
    if r < 0.80:
        return rng.choice(
            (
                f"FY {year - 1}-{year % 100:02d}",
                f"FY{year % 100}",
                f"FY {year}",
                f"FY{year - 1}-{year % 100:02d}",
            )
        )
    if r < 0.86:
        return f"the first week of {rng.choice(MONTHS)}"
    if r < 0.92:
        return rng.choice((f"H1 {year}", f"H2 {year}", f"the second half of {year}"))
    return rng.choice(("Navratri", "Durga Puja", "the Diwali week", "the summer holidays", "Diwali season"))


def window_date(rng: random.Random) -> str:
    """A rolling window: 'the last 30 days', 'the past 6 months'."""
    if rng.random() < 0.12:
        return rng.choice(("the past year", "the last year", "the past week"))
    n = rng.choice(("7", "15", "30", "60", "90", "3", "6", "two", "three"))
    unit = "days" if n in {"7", "15", "30", "60", "90"} else rng.choice(("months", "weeks"))
    return f"the {rng.choice(('last', 'past'))} {n} {unit}"


def future_date(rng: random.Random) -> str:
    return rng.choice(
        (
            "tomorrow",
            "next month",
            "next week",
            f"next {rng.choice(WEEKDAYS)}",
            "this weekend",
            "next year",
            "the day after tomorrow",
            "month end",
            "tonight",
            "next quarter",
        )
    )


# --------------------------------------------------------------------------------------------------
# Slots: each returns the parts it adds to the sentence (plain text and labelled spans)
# --------------------------------------------------------------------------------------------------


class Ctx:
    """What the slots of one sentence share: its sector keeps merchant, category and amount coherent."""

    def __init__(self, rng: random.Random, sector: str) -> None:
        self.rng = rng
        self.sector = sector


Slot = Callable[[Ctx, str | None], list[Part]]


def _range(ctx: Ctx, arg: str | None) -> tuple[int, int]:
    if arg in AMOUNT_RANGES:
        return AMOUNT_RANGES[arg]
    return SECTORS[arg or ctx.sector][2]


def _money(ctx: Ctx, arg: str | None) -> list[Part]:
    return [(money_text(ctx.rng, pick_amount(ctx.rng, *_range(ctx, arg))), "MONEY")]


def _sms_money(ctx: Ctx, arg: str | None) -> list[Part]:
    return [(sms_money_text(ctx.rng, pick_amount(ctx.rng, *_range(ctx, arg))), "MONEY")]


def _bare_money(ctx: Ctx, arg: str | None) -> list[Part]:
    """A plain number in a sentence where it can only be an amount ('paid 500 for auto')."""
    value = ctx.rng.choice(
        (
            20,
            30,
            40,
            50,
            60,
            80,
            100,
            120,
            150,
            200,
            250,
            300,
            350,
            400,
            450,
            500,
            600,
            800,
            1000,
            1200,
            1500,
            2000,
            2500,
            3000,
            5000,
        )
    )
    return [(str(value) if value < 1000 or ctx.rng.random() < 0.5 else indian_group(value), "MONEY")]


def _sector(ctx: Ctx, arg: str | None) -> str:
    return ctx.sector if arg is None or arg in SECTOR_GROUPS else arg


def _merchant(ctx: Ctx, arg: str | None) -> list[Part]:
    name = ctx.rng.choice(SECTORS[_sector(ctx, arg)][0])
    if name in MERCHANT_TYPOS and ctx.rng.random() < 0.25:
        name = ctx.rng.choice(MERCHANT_TYPOS[name])
    return [(name, "MERCHANT")]


def _category(ctx: Ctx, arg: str | None) -> list[Part]:
    cat = ctx.rng.choice(SECTORS[_sector(ctx, arg)][1])
    if cat in CATEGORY_TYPOS and ctx.rng.random() < 0.1:
        cat = ctx.rng.choice(CATEGORY_TYPOS[cat])
    return [(cat, "CATEGORY")]


def _bill_category(ctx: Ctx, arg: str | None) -> list[Part]:
    return [(ctx.rng.choice(BILL_CATEGORIES), "CATEGORY")]


def _bank(rng: random.Random) -> str:
    return rng.choice(TOP_BANKS) if rng.random() < 0.5 else rng.choice(BANKS)


def _account(ctx: Ctx, arg: str | None) -> list[Part]:
    """An account reference; ``arg`` is what the sentence does with it: spend, deposit, loan, debit, demat."""
    rng = ctx.rng
    kind = arg or "spend"
    if kind == "any":
        kind = rng.choice(("spend", "deposit", "loan"))
    r = rng.random()
    if kind == "demat":
        text = rng.choice(DEMAT_ACCOUNTS) if r < 0.7 else f"{_bank(rng)} demat account"
    elif kind == "debit":
        text = (
            f"{_bank(rng)} {rng.choice(DEBIT_TYPES)}" if r < 0.8 else rng.choice(("debit card", "ATM card"))
        )
    elif kind == "deposit":
        if r < 0.55:
            text = f"{_bank(rng)} {rng.choice(DEPOSIT_TYPES)}"
        elif r < 0.8:
            text = rng.choice(BARE_DEPOSIT)
        elif r < 0.92:
            text = rng.choice(WALLETS)
        else:
            text = rng.choice(NEO_ACCOUNTS)
    elif kind == "loan":
        if r < 0.55:
            text = f"{_bank(rng)} {rng.choice(LOAN_TYPES)}"
        elif r < 0.75:
            text = rng.choice(BARE_LOAN)
        elif r < 0.92:
            text = rng.choice(CREDIT_CARDS)
        else:
            text = rng.choice(PAY_LATER)
    else:  # spend
        if r < 0.42:
            text = f"{_bank(rng)} {rng.choice(SPEND_TYPES)}"
        elif r < 0.55:
            text = rng.choice(BARE_SPEND)
        elif r < 0.68:
            text = rng.choice(WALLETS)
        elif r < 0.85:
            text = rng.choice(CREDIT_CARDS)
        elif r < 0.9:
            text = rng.choice(PAY_LATER + NEO_ACCOUNTS)
        else:
            card = rng.choice(("credit card", "debit card", "card"))
            text = f"{_bank(rng)} {card} ending {rng.randint(1000, 9999)}"
    return [(text, "ACCOUNT")]


def _sms_account(ctx: Ctx, arg: str | None) -> list[Part]:
    rng = ctx.rng
    digits = rng.randint(1000, 9999)
    text = rng.choice(
        (
            f"{_bank(rng)} A/c XX{digits}",
            f"A/c XX{digits}",
            f"{_bank(rng)} Credit Card XX{digits}",
            f"a/c no. XX{digits}",
            f"{_bank(rng)} Debit Card XX{digits}",
            f"A/c *{digits}",
            f"Card x{digits}",
        )
    )
    return [(text, "ACCOUNT")]


def _when(ctx: Ctx, arg: str | None) -> list[Part]:
    """A past time phrase; any preposition stays outside the DATE span."""
    rng = ctx.rng
    r = rng.random()
    if r < 0.38:
        return [(rel_date(rng), "DATE")]
    if r < 0.62:
        return [("on ", None), (day_date(rng), "DATE")]
    if r < 0.80:
        return [(rng.choice(("in ", "in ", "during ", "for ")), None), (period_date(rng), "DATE")]
    return [(rng.choice(("in ", "over ", "during ", "in ")), None), (window_date(rng), "DATE")]


def _future_when(ctx: Ctx, arg: str | None) -> list[Part]:
    rng = ctx.rng
    r = rng.random()
    if r < 0.5:
        return [(future_date(rng), "DATE")]
    if r < 0.75:
        return [(rng.choice(("on ", "by ", "before ")), None), (day_date(rng), "DATE")]
    month = rng.choice(MONTHS)
    period = rng.choice((month, f"{month} 2026", f"Q{rng.randint(1, 4)}", "FY 2026-27", "2027", "Diwali"))
    return [(rng.choice(("in ", "by ")), None), (period, "DATE")]


def _since(ctx: Ctx, arg: str | None) -> list[Part]:
    rng = ctx.rng
    r = rng.random()
    if r < 0.4:
        text = rng.choice(MONTHS)
    elif r < 0.6:
        text = day_date(rng)
    elif r < 0.8:
        text = rng.choice(("last month", "last week", "last year", "yesterday", "last Monday", "Diwali"))
    else:
        text = period_date(rng)
    return [(text, "DATE")]


def _text(fn: Callable[[random.Random], str], label: str | None) -> Slot:
    def slot(ctx: Ctx, arg: str | None) -> list[Part]:
        return [(fn(ctx.rng), label)]

    return slot


def _compare(ctx: Ctx, arg: str | None) -> list[Part]:
    """Two periods to compare: 'this month vs last month'."""
    rng = ctx.rng
    month = rng.randrange(12)
    pairs = (
        ("this month", "last month"),
        ("this week", "last week"),
        ("this year", "last year"),
        ("this quarter", "last quarter"),
        (MONTHS[month], MONTHS[(month + 1) % 12]),
        (f"Q{month % 3 + 1}", f"Q{month % 3 + 2}"),
        ("2024", "2025"),
        ("FY 2023-24", "FY 2024-25"),
        ("Diwali 2024", "Diwali 2023"),
        (f"{MONTHS[month]} 2025", f"{MONTHS[month]} 2024"),
        ("last month", "the month before"),
    )
    first, second = rng.choice(pairs)
    joiner = rng.choice((" vs ", " vs ", " versus ", " and ", " with "))
    if joiner == " and ":
        return [("between ", None), (first, "DATE"), (joiner, None), (second, "DATE")]
    return [(first, "DATE"), (joiner, None), (second, "DATE")]


def _sms_date(rng: random.Random) -> str:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.choice((24, 25))
    return rng.choice(
        (
            f"{d:02d}-{m:02d}-{y}",
            f"{d:02d}/{m:02d}/{y}",
            f"{d:02d}{MONTH_ABBR[m - 1]}{y}",
            f"{d:02d}-{MONTH_ABBR[m - 1]}-20{y}",
        )
    )


SLOTS: dict[str, Slot] = {
    "money": _money,
    "smsmoney": _sms_money,
    "bare": _bare_money,
    "when": _when,
    "futwhen": _future_when,
    "since": _since,
    "date": _text(rel_date, "DATE"),
    "day": _text(day_date, "DATE"),
    "period": _text(period_date, "DATE"),
    "window": _text(window_date, "DATE"),
    "future": _text(future_date, "DATE"),
    "festival": _text(lambda rng: rng.choice(FESTIVALS), "DATE"),
    "smsdate": _text(_sms_date, "DATE"),
    "compare": _compare,
    "hdate": _text(lambda rng: rng.choice(HINGLISH_DATES), "DATE"),
    "merchant": _merchant,
    "cat": _category,
    "billcat": _bill_category,
    "account": _account,
    "smsaccount": _sms_account,
    "n": _text(lambda rng: str(rng.choice((3, 5, 10, 20))), None),
    "person": _text(lambda rng: rng.choice(PEOPLE), None),
    "item": _text(lambda rng: rng.choice(ITEMS), None),
    "otp": _text(lambda rng: str(rng.randint(100000, 999999)), None),
}

# --------------------------------------------------------------------------------------------------
# Frames: {slot} or {slot:arg}. A sector argument on a merchant or category sets the sentence's sector.
# Prepositions and possessives are plain text of the frame, so they never enter a span.
# --------------------------------------------------------------------------------------------------

FRAMES: tuple[str, ...] = (
    # questions to the assistant
    "How much did I spend on {cat} {when}?",
    "How much have I spent at {merchant} {when}?",
    "What did I spend on {cat} at {merchant} {when}?",
    "Show me all {merchant} transactions {when}",
    "Show my {cat} spending {when}",
    "List transactions above {money} {when}",
    "Any payments to {merchant} from my {account} {when}?",
    "What's the balance in my {account:deposit}?",
    "How much did I pay {merchant} {when}?",
    "Total {cat} expense {when}?",
    "Did I pay my {billcat} bill {when}?",
    "When did I last order from {merchant:order}?",
    "Which merchant did I spend the most at {when}?",
    "Compare my {cat} spend {compare}",
    "How much went out of my {account} {when}?",
    "Was there a debit of {money} on my {account} {when}?",
    "Break down my spending {when} by category",
    "How much cashback did I get from {merchant} {when}?",
    "Show {cat} expenses between {day} and {day}",
    "What is my average {cat} spend per month since {since}?",
    "How many times did I order from {merchant:order} {when}?",
    "Top {n} merchants by spend {when}",
    "Show the last {n} transactions on my {account:any}",
    "is {money} for {cat} too much?",
    "Where did the {money:transfer} from my {account:deposit} go {when}?",
    "How much interest did my {account:deposit} earn {when}?",
    "what's my {cat} spend at {merchant} {when}",
    # commands
    "Set a monthly {cat} budget of {money:budget}",
    "Add {money} for {cat} {when}",
    "Log {money} paid to {merchant} {when} from my {account}",
    "Remind me to pay {money:bill} for {billcat} {futwhen}",
    "Transfer {money:transfer} from my {account:deposit} to my {account:deposit}",
    "Move {money:transfer} to my {account:deposit} {future}",
    "Categorize the {money} {merchant} payment as {cat}",
    "Mark {merchant} as {cat}",
    "Split the {money} {merchant} bill with {person}",
    "Export my {account:any} statement for {period}",
    "Alert me when my {cat} spend crosses {money}",
    "Cancel my {merchant:ott} subscription",
    "Pay {money:emi} towards my {account:loan} {future}",
    "Set up an SIP of {money:mutual_funds} in {merchant:mutual_funds} from my {account:deposit}",
    "please add {bare} for {item} {date}",
    "Tag all {merchant} payments {when} as {cat}",
    # statements
    "Paid {money} to {merchant} {when}",
    "Spent {money} on {cat} at {merchant} {when}",
    "{date} I spent {money} on {cat}",
    "I paid {money} for {cat} using my {account}",
    "Got my salary of {money:salary} in my {account:deposit} {when}",
    "{merchant} charged me {money} {when}",
    "Ordered from {merchant:order} for {money} {when}",
    "Bought stuff worth {money} at {merchant:order}",
    "Rent of {money:rent} paid {when}",
    "My {billcat} bill was {money:bill} {when}",
    "Withdrew {money:atm} from the ATM using my {account:debit} {when}",
    "Paid {bare} for {item} {when}",
    "gave {bare} to {person} {date}",
    "Invested {money} in {merchant:mutual_funds} {when}",
    "Bought shares worth {money:brokers} through my {account:demat} {when}",
    "Booked tickets on {merchant:travel_booking} for {money}",
    "Got {cat:fuel} for {money} at {merchant:fuel} {when}",
    "Renewed my {cat:insurance} policy with {merchant:insurance} for {money}",
    "Paid {merchant} {money} for {cat}",
    "Received {money:big} in my {account:deposit} {when}",
    "Parked {money:big} in my {account:deposit} {when}",
    "{merchant:cabs} ride cost {money} {date}",
    "Flight on {merchant:airlines} for {money} booked {date}",
    "{cat} cost me {money} {when}",
    # SMS-like
    "{smsmoney} debited from {smsaccount} on {smsdate} at {merchant}. Avl bal {smsmoney:transfer}",
    "Your {account:deposit} has been credited with {money:transfer} on {day}.",
    "Txn of {smsmoney} on your {smsaccount} at {merchant} on {smsdate}.",
    "{smsmoney} spent on {smsaccount} at {merchant} on {smsdate}. Not you? Call 1800-123-4567",
    "Dear customer, {money} has been debited from your {account} towards {merchant}.",
    "EMI of {money:emi} for your {account:loan} is due on {day}.",
    "OTP {otp} for txn of {smsmoney} at {merchant}. Do not share it with anyone.",
    "UPI payment of {smsmoney} to {merchant} from {smsaccount} successful on {smsdate}",
    "Refund of {smsmoney} from {merchant} credited to {smsaccount} on {smsdate}",
    # complaints
    "Why was I charged {money} by {merchant} {when}?",
    "{merchant} deducted {money} twice from my {account}",
    "I didn't make this {money} payment to {merchant}",
    "Refund of {money} from {merchant} still not received since {since}",
    "Why is my {cat} spending so high {when}?",
    "My {account} was debited {money} {when} but the {merchant} order failed",
    "{merchant} overcharged me by {money} {date}, what do I do?",
    "Still waiting for my {merchant} refund since {since}",
    # plans
    "I want to save {money:big} by {period}",
    "Planning to spend {money} on {cat} {futwhen}",
    "Can I afford a {money:electronics} phone from {merchant:electronics} {future}?",
    "Budget {money} for {cat} during {festival}",
    "I need {money:car} for a car {futwhen}, how much should I save monthly?",
    "Should I cut my {cat} spend to {money} {future}?",
    # Hinglish
    "{hdate} {merchant} pe {money} kharch kiye",
    "{merchant} ka bill {money} aaya {hdate}",
    "mera {cat} ka kharcha kitna hua {hdate}?",
    "{money} {account} se kat gaye {hdate}",
    "{hdate} {cat} pe kitna kharcha hua?",
    "{merchant} se {money} ka refund kab aayega?",
    "{hdate} {bare} ka {cat:fuel} dalwaya",
    "bhai {account:deposit} me kitna balance hai?",
    "{hdate} {merchant:order} se order kiya tha, {money} laga",
    # no entities
    "What can you do?",
    "Show my spending summary",
    "How do I set a budget?",
    "hi",
    "Thanks, that helps!",
    "Can you explain this transaction?",
    "Which recurring payments can I cancel?",
    "How is my credit score calculated?",
    "Help me save more money",
    "Why did my balance drop?",
    "undo the last entry",
    "kitna bacha hai?",
    "What is an emergency fund?",
    "How does the 50/30/20 rule work?",
    "ok",
)
NO_ENTITY_SHARE = 0.04
_SLOT_RE = re.compile(r"\{(\w+)(?::(\w+))?\}")
_NO_CAPITALIZE = ("boAt", "cult.fit", "d2h", "iCloud", "ixigo", "upGrad", "is ", "kal", "mera", "bhai")


def render(frame: str, rng: random.Random) -> Record:
    """One sentence from ``frame``: fills its slots and records the labelled spans."""
    sector = rng.choice(sorted(SECTORS))
    for m in _SLOT_RE.finditer(frame):
        if m.group(1) in {"merchant", "cat"} and m.group(2):
            group = SECTOR_GROUPS.get(m.group(2))
            sector = rng.choice(group) if group else m.group(2)
    ctx = Ctx(rng, sector)
    parts: list[Part] = []
    pos = 0
    for m in _SLOT_RE.finditer(frame):
        parts.append((frame[pos : m.start()], None))
        parts.extend(SLOTS[m.group(1)](ctx, m.group(2)))
        pos = m.end()
    parts.append((frame[pos:], None))

    if rng.random() < 0.1:  # typos, in the plain text only
        parts = [(_typo(t, rng), None) if label is None else (t, label) for t, label in parts]

    text = ""
    entities: list[list[object]] = []
    for piece, label in parts:
        if label is not None:
            entities.append([len(text), len(text) + len(piece), label])
        text += piece
    if text[:1].islower() and not text.startswith(_NO_CAPITALIZE) and rng.random() < 0.7:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.08 and len(text.lower()) == len(text):  # typed all in lowercase
        text = text.lower()
    return {"text": text, "entities": entities}


def _typo(text: str, rng: random.Random) -> str:
    for word, variants in LITERAL_TYPOS.items():
        pattern = rf"\b{re.escape(word)}\b"
        if re.search(pattern, text) and rng.random() < 0.5:
            text = re.sub(pattern, rng.choice(variants), text, count=1)
    return text


def generate(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> list[Record]:
    """``n`` distinct sentences; the same ``n`` and ``seed`` always give the same list."""
    rng = random.Random(seed)
    no_entity = [f for f in FRAMES if "{" not in f]
    with_entity = [f for f in FRAMES if "{" in f]
    seen: set[str] = set()
    out: list[Record] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > n * 50:
            raise RuntimeError("the frames cannot produce that many distinct sentences")
        frame = rng.choice(no_entity) if rng.random() < NO_ENTITY_SHARE else rng.choice(with_entity)
        record = render(frame, rng)
        key = " ".join(str(record["text"]).casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


def to_jsonl(records: list[Record]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the template-generated NER sentences.")
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    records = generate(args.n, args.seed)
    args.out.write_text(to_jsonl(records), encoding="utf-8")
    print(f"wrote {len(records)} sentences to {args.out}")


if __name__ == "__main__":
    main()
