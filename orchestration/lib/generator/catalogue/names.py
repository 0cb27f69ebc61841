"""Name lists for customers (company names, per-country suffixes, awkward names) and contacts (people)."""

from __future__ import annotations

COUNTRY_SUFFIX = (  # two legal-form suffixes per country, in constants.COUNTRIES order
    ("Inc", "LLC"), ("Ltd", "PLC"), ("GmbH", "AG"), ("SAS", "SA"), ("B.V.", "N.V."), ("S.L.", "S.A."),
    ("Inc", "Ltd"), ("Pty Ltd", "Pty Ltd"), ("K.K.", "G.K."),
)
ADJECTIVES = (
    "Bright", "Northern", "Blue", "Silver", "Rapid", "Quiet", "Golden", "Crimson", "Solid", "Clever", "Green",
    "Lunar", "Polar", "Urban", "Alpine", "Coastal", "Prime", "Bold", "Swift", "Happy", "Iron", "Cedar", "Maple",
    "Velvet", "Electric", "Atomic", "Cosmic", "Sunny", "Misty", "Royal", "Harbor", "Summit", "Copper", "Amber",
    "Emerald", "Granite", "Hidden", "Modern", "Noble", "Open", "Pacific", "Radiant", "Scarlet", "True", "Vivid",
    "Wild", "Young", "Zen",
)
NOUNS = (
    "Falcon", "Harbor", "Labs", "Works", "Systems", "Foods", "Logistics", "Studios", "Analytics", "Dynamics",
    "Ventures", "Robotics", "Textiles", "Media", "Health", "Energy", "Partners", "Networks", "Bakery", "Outfitters",
    "Machines", "Designs", "Goods", "Software", "Capital", "Pharma", "Motors", "Retail", "Cloud", "Print", "Farms",
    "Garden", "Brewing", "Optics", "Metrics", "Signals", "Supply", "Tools", "Travel", "Water", "Wind", "Forge",
    "Bridge", "Canyon", "River", "Peak", "Pixel", "Vector",
)
FIRST_NAMES = (  # (first name, its ASCII slug for email addresses)
    ("Emma", "emma"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"), ("Lucas", "lucas"),
    ("Mia", "mia"), ("Leon", "leon"), ("Sofia", "sofia"), ("Hugo", "hugo"), ("Zoë", "zoe"), ("José", "jose"),
    ("Søren", "soren"), ("Chloé", "chloe"), ("Łukasz", "lukasz"), ("Anaïs", "anais"), ("Yuki", "yuki"),
    ("Haruto", "haruto"), ("Amelia", "amelia"), ("Oliver", "oliver"), ("Isla", "isla"), ("Jack", "jack"),
    ("Lena", "lena"), ("Felix", "felix"), ("Clara", "clara"), ("Mateo", "mateo"), ("Lucía", "lucia"),
    ("Pablo", "pablo"), ("Sanne", "sanne"), ("Daan", "daan"), ("Aiko", "aiko"), ("Ren", "ren"), ("Grace", "grace"),
    ("Ethan", "ethan"), ("Maya", "maya"), ("Samuel", "samuel"), ("Nora", "nora"), ("Elias", "elias"),
    ("Ingrid", "ingrid"), ("Björn", "bjorn"), ("Priya", "priya"), ("Omar", "omar"), ("Fatima", "fatima"),
)
LAST_NAMES = (
    "smith", "mueller", "dubois", "devries", "garcia", "tanaka", "brown", "martin", "schmidt", "rossi", "nguyen",
    "kowalski", "jansen", "lopez", "sato", "wilson", "taylor", "moreau", "fischer", "bakker", "fernandez", "suzuki",
    "clark", "lewis", "walker", "young", "king", "wright", "scott", "green", "obrien", "patel",
)
# Valid but awkward customer names present in every dataset: (name, email_domain, country index).
AWKWARD_NAMES = (
    ("O'Brien, \"Quotes\" & Co", "obrien-quotes.com", 1),
    ("Robert'); DROP TABLE customers;--", "bobby-tables.com", 0),
    ("Zoë Café GmbH", "zoe-cafe.de", 2),
    ("株式会社テスト", "test-kk.co.jp", 8),
    ("Ça Va Sàrl", "cava.fr", 3),
    ("100% <Pure> Data & Co.", "pure-data.com", 0),
    ("🚀 Rocket Ünïcødé Ltd", "rocket-unicode.co.uk", 1),
)
