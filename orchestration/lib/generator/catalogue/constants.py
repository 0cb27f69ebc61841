"""Time units, history lengths and the country, segment and billing-period lists every table draws on."""

from __future__ import annotations

import numpy as np

DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 3 * 365  # customers are created over the 3 years before end_date

COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "CA", "AU", "JP")
COUNTRY_P = (0.38, 0.12, 0.10, 0.08, 0.05, 0.05, 0.09, 0.07, 0.06)
COUNTRY_CURRENCY = np.array([0, 2, 1, 1, 1, 1, 3, 4, 5])  # index into currencies.CURRENCIES
COUNTRY_TLD = ("com", "co.uk", "de", "fr", "nl", "es", "ca", "com.au", "co.jp")

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = (0.70, 0.22, 0.08)

PERIODS = ("month", "year")
MONTHLY, ANNUAL = range(len(PERIODS))
ANNUAL_FACTOR = 10  # an annual plan or add-on costs 10 monthly periods
