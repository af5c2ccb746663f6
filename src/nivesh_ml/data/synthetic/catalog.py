"""Reference tables for the synthetic users: places, occupations, incomes, banks, payers, names.

Everything here is a constant: a tuple of named tuples, never computed at import time.

Cities carry their tier (1: the eight metros; 2: large regional cities; 3: smaller towns) and a
weight; the weights give about 55% of users in tier 1, 30% in tier 2 and 15% in tier 3, the
urban, metro-heavy mix of a fintech app's users.

Occupation incomes are *net monthly take-home* medians (INR) for a tier-1 city; tier 2 earns
0.76x and tier 3 0.60x of that, with a lognormal spread (``sigma``); salaried, government and
business incomes also rise with age (0.8-1.6x), and all are kept within ₹3k-10L a month.
Measured medians: salaried ₹58k / 44k / 34k in tier 1 / 2 / 3, government ₹67k in tier 1,
gig workers ₹24k, students' allowances ₹9k. Income bands: <25k 33%, 25k-50k 31%, 50k-1L 27%,
1L-2L 8%, 2L+ 1%.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BANKS",
    "BUSINESS_PAYERS",
    "CITIES",
    "EMPLOYERS",
    "FIRST_NAMES_F",
    "FIRST_NAMES_M",
    "GENDERS",
    "GIG_PLATFORMS",
    "GOVT_EMPLOYERS",
    "INCOME_BANDS",
    "INCOME_BAND_EDGES",
    "OCCUPATIONS",
    "PENSION_PAYERS",
    "SURNAMES",
    "TIER_INCOME",
    "UPI_APPS",
    "Bank",
    "City",
    "Occupation",
]


class City(NamedTuple):
    """A city: its name, state, tier (1-3) and share of users (weight)."""

    name: str
    state: str
    tier: int
    weight: float


class Occupation(NamedTuple):
    """An occupation: its share of users, income (tier-1 median, lognormal sigma), ages, risk shift."""

    name: str
    share: float
    median_income: float
    sigma: float
    age_lo: int
    age_hi: int
    risk: float  # additive shift of the latent credit risk (standard-normal units)


class Bank(NamedTuple):
    """A bank: its name and its shares of accounts and of credit cards."""

    name: str
    weight: float  # share as a user's primary bank
    card_weight: float  # share as the issuer of a user's credit card


CITIES: tuple[City, ...] = (
    City("Mumbai", "Maharashtra", 1, 0.105),
    City("Delhi", "Delhi", 1, 0.100),
    City("Bengaluru", "Karnataka", 1, 0.105),
    City("Hyderabad", "Telangana", 1, 0.065),
    City("Chennai", "Tamil Nadu", 1, 0.055),
    City("Pune", "Maharashtra", 1, 0.055),
    City("Kolkata", "West Bengal", 1, 0.040),
    City("Ahmedabad", "Gujarat", 1, 0.025),
    City("Jaipur", "Rajasthan", 2, 0.025),
    City("Lucknow", "Uttar Pradesh", 2, 0.022),
    City("Indore", "Madhya Pradesh", 2, 0.020),
    City("Kochi", "Kerala", 2, 0.018),
    City("Coimbatore", "Tamil Nadu", 2, 0.018),
    City("Nagpur", "Maharashtra", 2, 0.016),
    City("Bhopal", "Madhya Pradesh", 2, 0.015),
    City("Chandigarh", "Chandigarh", 2, 0.016),
    City("Surat", "Gujarat", 2, 0.017),
    City("Visakhapatnam", "Andhra Pradesh", 2, 0.014),
    City("Vadodara", "Gujarat", 2, 0.013),
    City("Patna", "Bihar", 2, 0.013),
    City("Bhubaneswar", "Odisha", 2, 0.012),
    City("Mysuru", "Karnataka", 2, 0.010),
    City("Nashik", "Maharashtra", 2, 0.010),
    City("Thiruvananthapuram", "Kerala", 2, 0.010),
    City("Guwahati", "Assam", 2, 0.010),
    City("Dehradun", "Uttarakhand", 2, 0.010),
    City("Ludhiana", "Punjab", 2, 0.010),
    City("Madurai", "Tamil Nadu", 2, 0.009),
    City("Hubballi", "Karnataka", 3, 0.009),
    City("Kolhapur", "Maharashtra", 3, 0.009),
    City("Ajmer", "Rajasthan", 3, 0.008),
    City("Udaipur", "Rajasthan", 3, 0.008),
    City("Jhansi", "Uttar Pradesh", 3, 0.008),
    City("Gorakhpur", "Uttar Pradesh", 3, 0.009),
    City("Bareilly", "Uttar Pradesh", 3, 0.008),
    City("Warangal", "Telangana", 3, 0.008),
    City("Guntur", "Andhra Pradesh", 3, 0.008),
    City("Tiruchirappalli", "Tamil Nadu", 3, 0.008),
    City("Salem", "Tamil Nadu", 3, 0.008),
    City("Siliguri", "West Bengal", 3, 0.008),
    City("Bilaspur", "Chhattisgarh", 3, 0.007),
    City("Jalandhar", "Punjab", 3, 0.008),
    City("Hisar", "Haryana", 3, 0.007),
    City("Kota", "Rajasthan", 3, 0.008),
    City("Bhagalpur", "Bihar", 3, 0.007),
    City("Thrissur", "Kerala", 3, 0.008),
    City("Ujjain", "Madhya Pradesh", 3, 0.007),
    City("Belagavi", "Karnataka", 3, 0.007),
)

# Tier multipliers of income: tier-2 and tier-3 salaries are lower than the metros'.
TIER_INCOME: tuple[float, float, float] = (1.0, 0.76, 0.60)

OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation("salaried", 0.46, 52_000, 0.50, 22, 58, 0.00),
    Occupation("government", 0.06, 58_000, 0.35, 24, 59, -0.45),
    Occupation("self_employed", 0.11, 45_000, 0.70, 24, 62, 0.30),
    Occupation("business_owner", 0.07, 80_000, 0.75, 26, 65, 0.15),
    Occupation("gig_worker", 0.09, 24_000, 0.35, 21, 45, 0.55),
    Occupation("student", 0.10, 9_000, 0.45, 21, 26, 0.25),
    Occupation("retired", 0.05, 34_000, 0.50, 60, 70, -0.20),
    Occupation("homemaker", 0.06, 14_000, 0.50, 24, 60, 0.10),
)

# Upper edges (INR a month, exclusive) of the income bands, and their labels.
INCOME_BAND_EDGES: tuple[float, ...] = (25_000, 50_000, 100_000, 200_000)
INCOME_BANDS: tuple[str, ...] = ("<25k", "25k-50k", "50k-1L", "1L-2L", "2L+")

GENDERS: tuple[str, ...] = ("female", "male")

BANKS: tuple[Bank, ...] = (
    Bank("State Bank of India", 0.22, 0.12),
    Bank("HDFC Bank", 0.18, 0.26),
    Bank("ICICI Bank", 0.15, 0.20),
    Bank("Axis Bank", 0.10, 0.14),
    Bank("Kotak Mahindra Bank", 0.07, 0.07),
    Bank("Punjab National Bank", 0.06, 0.02),
    Bank("Bank of Baroda", 0.06, 0.04),
    Bank("Canara Bank", 0.04, 0.01),
    Bank("Union Bank of India", 0.04, 0.01),
    Bank("Yes Bank", 0.03, 0.03),
    Bank("IndusInd Bank", 0.025, 0.05),
    Bank("IDFC FIRST Bank", 0.025, 0.05),
)

EMPLOYERS: tuple[str, ...] = (
    "Tata Consultancy Services",
    "Infosys",
    "Wipro",
    "HCL Technologies",
    "Tech Mahindra",
    "Accenture Solutions",
    "Cognizant Technology Solutions",
    "Capgemini Technology Services",
    "IBM India",
    "Reliance Industries",
    "Larsen & Toubro",
    "Mahindra & Mahindra",
    "Tata Motors",
    "Maruti Suzuki India",
    "Bajaj Auto",
    "ITC Limited",
    "Hindustan Unilever",
    "Asian Paints",
    "Flipkart Internet",
    "Amazon Development Centre",
    "Zomato Limited",
    "Paytm (One97 Communications)",
    "Bharti Airtel",
    "HDFC Bank Payroll",
    "ICICI Bank Payroll",
    "Apollo Hospitals",
    "Fortis Healthcare",
    "Deloitte India",
    "Genpact India",
    "Concentrix Daksh",
    "Teleperformance Global",
    "DMart (Avenue Supermarts)",
    "Sun Pharmaceutical",
    "Cipla",
    "Delhi Public School Society",
)

GOVT_EMPLOYERS: tuple[str, ...] = (
    "Indian Railways",
    "Central Govt PAO",
    "State Treasury",
    "Indian Army",
    "ONGC",
    "NTPC Limited",
    "Bharat Heavy Electricals",
    "Kendriya Vidyalaya Sangathan",
    "Municipal Corporation",
    "India Post",
)

# Platforms that pay gig workers weekly; the name on the credit is the platform's payout.
GIG_PLATFORMS: tuple[str, ...] = (
    "Swiggy Partner Payout",
    "Zomato Partner Payout",
    "Uber India Payout",
    "Ola Driver Payout",
    "Rapido Captain Payout",
    "Urban Company Payout",
    "Zepto Partner Payout",
    "Blinkit Partner Payout",
    "Porter Partner Payout",
)

PENSION_PAYERS: tuple[str, ...] = ("SBI CPPC Pension", "EPFO Pension", "Treasury Pension", "Defence Pension")

# Who pays the self-employed and business owners: clients, and UPI-QR / gateway settlements.
BUSINESS_PAYERS: tuple[str, ...] = (
    "Razorpay Settlement",
    "PhonePe Merchant Settlement",
    "Paytm Merchant Settlement",
    "Sharma Traders",
    "Shree Balaji Enterprises",
    "Gupta & Sons",
    "Patel Textiles",
    "Sai Krupa Agencies",
    "Om Sai Distributors",
    "Mahalaxmi Stores",
    "Krishna Constructions",
    "Royal Caterers",
    "Annapurna Foods",
    "Vinayak Electricals",
    "Sri Venkateswara Agencies",
    "Jain Hardware",
)

UPI_APPS: tuple[str, ...] = ("Paid via GPay", "Paid via PhonePe", "Paytm UPI", "BHIM UPI", "CRED UPI", "UPI")

FIRST_NAMES_M: tuple[str, ...] = (
    "Rahul", "Amit", "Rohit", "Vikram", "Arjun", "Suresh", "Rajesh", "Anil", "Sanjay", "Manoj",
    "Karthik", "Venkat", "Pradeep", "Naveen", "Sunil", "Deepak", "Ajay", "Vijay", "Harish", "Ravi",
    "Abhishek", "Siddharth", "Aditya", "Nikhil", "Gaurav", "Imran", "Faisal", "Joseph", "Arun", "Prakash",
)  # fmt: skip

FIRST_NAMES_F: tuple[str, ...] = (
    "Priya", "Anjali", "Neha", "Pooja", "Sneha", "Divya", "Kavya", "Lakshmi", "Meera", "Sunita",
    "Anita", "Swati", "Shruti", "Deepika", "Aishwarya", "Nandini", "Ritu", "Rekha", "Shalini", "Fatima",
    "Ayesha", "Mary", "Sarika", "Bhavna", "Pallavi", "Harini", "Sowmya", "Geeta", "Nisha", "Komal",
)  # fmt: skip

SURNAMES: tuple[str, ...] = (
    "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Reddy", "Rao", "Iyer",
    "Nair", "Menon", "Pillai", "Das", "Banerjee", "Chatterjee", "Mukherjee", "Joshi", "Kulkarni", "Deshpande",
    "Patil", "Jadhav", "Yadav", "Mishra", "Pandey", "Tiwari", "Agarwal", "Jain", "Mehta", "Khan",
    "Ansari", "Fernandes", "Naidu", "Gowda", "Hegde", "Chauhan", "Thakur", "Bose", "Sinha", "Saxena",
)  # fmt: skip
