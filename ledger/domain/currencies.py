"""Settlement currencies: ISO 4217 codes in use.

The alphabetic codes of ISO 4217's current list (List One, as amended to 2025: with XCG,
ZWG, SLE and VED; without the withdrawn ANG, HRK, CUC, SLL and ZWL). The codes that are not
money one can settle a trade in are refused too: precious metals (XAU, XAG, XPT, XPD), bond
market units (XBA-XBD), the testing code XTS and "no currency" XXX. Fund codes (e.g. BOV,
CLF, USN) and special drawing rights (XDR, XSU, XUA) are active codes and accepted.
"""

from __future__ import annotations

from ledger.domain.errors import ValidationError

__all__ = ["ISO_4217_ACTIVE", "NOT_SETTLEMENT", "SETTLEMENT_CURRENCIES", "check_currency"]

ISO_4217_ACTIVE = frozenset({
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
})
NOT_SETTLEMENT = frozenset({"XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XTS",
                            "XXX"})
SETTLEMENT_CURRENCIES = ISO_4217_ACTIVE - NOT_SETTLEMENT


def check_currency(currency: object, name: str = "currency") -> str:
    """``currency`` if it is an ISO 4217 code one can settle in (exactly as listed: three
    upper-case letters), else :class:`ValidationError`."""
    if not isinstance(currency, str) or currency not in SETTLEMENT_CURRENCIES:
        reason = ("is not a currency one can settle in" if currency in NOT_SETTLEMENT
                  else "is not an active ISO 4217 currency code")
        raise ValidationError(f"{name} {currency!r} {reason} (e.g. CNY, HKD, USD, EUR)",
                              field=name, value=str(currency))
    return currency
