"""Each town's letterhead: authority and seat, the office to contact, the cash office's account.

The authorities' names and the seat come from ``domain/authorities.py`` (what decisions and
remedy notices name); contact and bank details from ``letterheads.toml``, which each town
sets before go-live. Loading checks every field and names the town and the field it refuses,
so a mistyped IBAN stops the start-up instead of reaching a payer.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from domain.authorities import TownAuthorities, authorities_of
from domain.tenants import TENANTS

LETTERHEADS_FILE: Final = Path(__file__).with_name("letterheads.toml")

_PHONE: Final = re.compile(r"^\+?[0-9][0-9 /()\-]{4,}[0-9]$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_IBAN: Final = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC: Final = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class LetterheadProblem(ValueError):
    """The letterhead configuration is incomplete or wrong: names the town and the field."""

    def __init__(self, town: str, field: str, why: str) -> None:
        super().__init__(f"letterhead of {town!r}: {field}: {why}")
        self.town = town
        self.field = field


@dataclass(frozen=True, slots=True)
class BankAccount:
    """The account of the town's cash office that costs are paid into."""

    holder: str
    bank: str
    iban: str
    bic: str

    @property
    def iban_grouped(self) -> str:
        """The IBAN in groups of four, as printed."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


@dataclass(frozen=True, slots=True)
class Letterhead:
    """What a town's letters show besides the letter itself."""

    tenant: str
    town: str  # display name
    authorities: TownAuthorities
    seat_lines: tuple[str, ...]  # the town hall's address
    office: str
    phone: str
    email: str
    website: str
    opening_hours: tuple[str, ...]
    bank: BankAccount

    @property
    def return_address(self) -> str:
        """The sender line above the address window."""
        return " · ".join((self.town, *self.seat_lines))


def iban_valid(iban: str) -> bool:
    """The IBAN's form and its mod-97 check digits (ISO 13616)."""
    if not _IBAN.match(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def load_letterheads(path: Path = LETTERHEADS_FILE) -> Mapping[str, Letterhead]:
    """Every town's letterhead from the TOML file; ``LetterheadProblem`` naming what is wrong."""
    with path.open("rb") as file:
        raw = tomllib.load(file)
    for town in raw:
        if town not in TENANTS:
            raise LetterheadProblem(town, "town", "is not one of the towns served")
    return MappingProxyType({town: _letterhead(town, raw.get(town)) for town in TENANTS})


def _letterhead(town: str, raw: Any) -> Letterhead:
    if not isinstance(raw, dict):
        raise LetterheadProblem(town, "town", "has no letterhead configured")
    bank = raw.get("bank")
    if not isinstance(bank, dict):
        raise LetterheadProblem(town, "bank", "is missing")
    iban = _text(town, bank, "iban", "bank.").replace(" ", "").upper()
    if not iban_valid(iban):
        raise LetterheadProblem(town, "bank.iban", "is not a valid IBAN (check digits)")
    bic = _text(town, bank, "bic", "bank.").replace(" ", "").upper()
    if not _BIC.match(bic):
        raise LetterheadProblem(town, "bank.bic", "is not a BIC (8 or 11 letters and digits)")
    phone = _text(town, raw, "phone")
    if not _PHONE.match(phone):
        raise LetterheadProblem(town, "phone", "is not a phone number")
    email = _text(town, raw, "email")
    if not _EMAIL.match(email):
        raise LetterheadProblem(town, "email", "is not an e-mail address")
    hours = raw.get("opening_hours")
    if (
        not isinstance(hours, list)
        or not hours
        or not all(isinstance(h, str) and h.strip() for h in hours)
    ):
        raise LetterheadProblem(town, "opening_hours", "must be a list of lines")
    authorities = authorities_of(town)
    return Letterhead(
        tenant=town,
        town=TENANTS[town].display_name,
        authorities=authorities,
        seat_lines=tuple(part.strip() for part in authorities.seat.split(",")),
        office=_text(town, raw, "office"),
        phone=phone,
        email=email,
        website=_text(town, raw, "website"),
        opening_hours=tuple(h.strip() for h in hours),
        bank=BankAccount(
            holder=_text(town, bank, "holder", "bank."),
            bank=_text(town, bank, "bank", "bank."),
            iban=iban,
            bic=bic,
        ),
    )


def _text(town: str, raw: dict[str, Any], field: str, prefix: str = "") -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise LetterheadProblem(town, prefix + field, "must be a non-empty text")
    return value.strip()
