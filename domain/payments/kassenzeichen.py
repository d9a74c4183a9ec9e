"""The Kassenzeichen: how a payment names the charge it pays.

``AAA-YY-NNNNNN-SS-C``: the last three digits of the municipality's AGS, the year and number
of the case's reference (unique per town and year), the charge's sequence number within the
case, and a Luhn check digit over the 13 digits, so a digit mistyped in a bank transfer is
caught at the cash office (``domain.documents.cash_reference`` makes it).
"""

from __future__ import annotations

import re
from typing import Final

from domain.documents import cash_reference, luhn_digit
from domain.errors import InvalidCommand

FORMAT: Final = re.compile(r"\d{3}-\d{2}-\d{6}-\d{2}-\d")


def kassenzeichen(official_key: str, year: int, case_number: int, charge: int) -> str:
    """The Kassenzeichen of a case's charge (its sequence number ``charge``, 1 to 99)."""
    if not 1 <= charge <= 99:
        raise InvalidCommand("charge", "a case's charges are numbered 01 to 99")
    return cash_reference(official_key, year, case_number, charge)


def is_valid_kassenzeichen(text: str) -> bool:
    """Whether ``text`` has the format and its check digit is right."""
    if not isinstance(text, str) or not FORMAT.fullmatch(text):
        return False
    digits = text.replace("-", "")
    return luhn_digit(digits[:13]) == int(digits[13])


def check_kassenzeichen(text: str, field: str = "kassenzeichen") -> str:
    """``text`` if it is a valid Kassenzeichen, else ``InvalidCommand`` naming ``field``."""
    if not is_valid_kassenzeichen(text):
        raise InvalidCommand(field, "is not a valid Kassenzeichen (AAA-YY-NNNNNN-SS-C)")
    return text


def official_key_of(kz: str) -> str:
    """The municipality part (last three digits of its AGS) of a valid Kassenzeichen."""
    return check_kassenzeichen(kz)[:3]
