"""How Primero values are written for OSCaR, which wants '' rather than null."""

from __future__ import annotations

from typing import Any

#: What OSCaR gets when the Primero case has no owner phone; OSCaR requires a referral phone.
MISSING_PHONE = "000000000"


def oscar_string(value: Any) -> Any:
    """The value if truthy, else '' (the OSCaR API treats '' as blank and rejects null)."""
    return value if value else ""


def village_code(value: Any) -> str:
    """A Primero location code as OSCaR spells it.

    Primero drops leading zeros when it stores OSCaR codes (int parse on the way in), and OSCaR
    codes have an even number of digits (province 2, district 4, commune 6, village 8), so an
    odd length gets its one zero back. Numbers are read as strings.
    """
    if value is None or value == "" or value == "NaN":
        return ""
    text = str(value)
    return "0" + text if len(text) in (1, 3, 5, 7) else text


def dashed_date(value: Any) -> str:
    """A Primero date with '/' written as '-'; '' when missing."""
    return str(value).replace("/", "-") if value else ""


def oscar_referral_id(value: Any) -> int | None:
    """The OSCaR referral id as an integer, or None when it is missing, zero or not a number.

    Reads leading digits the way the old script's parseInt did ('1193' and '1193 ' both give 1193).
    """
    text = str(value).strip() if value is not None else ""
    digits = ""
    for char in text:
        if not ("0" <= char <= "9"):
            break
        digits += char
    number = int(digits) if digits else 0
    return number or None


def agency_short_name(agency_id: Any) -> str:
    """OSCaR's organisation short name from a Primero agency id ('agency-cif' -> 'cif')."""
    text = str(agency_id) if agency_id else ""
    return text.removeprefix("agency-")
