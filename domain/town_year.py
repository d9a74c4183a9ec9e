"""A town's register of a year: what the market calendar and the holiday programme share.

Each town lists its markets (``domain/markets/calendar.py``) and its holiday offerings
(``domain/holiday/programme.py``) per year, each under a code unique in that town's year.
The register's id is a UUIDv5 of town and year (public); what it lists has an id derived
from town, year and code, so a listing can be checked without loading anything else. These
are the checks both registers make; their events stay their own (stored topics).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from uuid import UUID, uuid5

from domain.errors import InvalidCommand
from domain.holiday.offering import normalised_code
from domain.tenants import TENANTS


class CodeTaken(InvalidCommand):
    """A code is taken in the town's register of the year (the API: 409)."""

    def __init__(self, code: str, year: int) -> None:
        super().__init__("code", f"the code {code} is taken in {year}")
        self.code = code


def register_id(namespace: UUID, tenant: str, year: int) -> UUID:
    """The id of a town's register of a year (public: town and year alone)."""
    return uuid5(namespace, f"{tenant}:{year}")


def checked_start(namespace: UUID, tenant: str, year: int, id: UUID | None) -> UUID:
    """The id of a register being started, after checking town, year and a given id."""
    if tenant not in TENANTS:
        raise InvalidCommand("tenant", f"unknown town {tenant!r}")
    if not 2000 <= year <= 2199:
        raise InvalidCommand("year", "a year from 2000 to 2199")
    new_id = register_id(namespace, tenant, year)
    if id is not None and id != new_id:
        raise InvalidCommand("id", "the id of the town and year")
    return new_id


def checked_listing(
    *,
    codes: Mapping[str, UUID],
    listed: Collection[UUID],
    item_id: UUID,
    code: str,
    id_of: Callable[[str], UUID],
    field: str,
    noun: str,
    where: str,
    taken: Callable[[str], CodeTaken],
) -> str:
    """The normalised code an item is listed under, after checking that the code is free,
    the id is the town's item of the year with that code (``id_of``), and it is not listed
    yet. ``field`` names the id's field in errors, ``noun`` the item, ``where`` town and year."""
    number = normalised_code(code)
    if number in codes:
        raise taken(number)
    if item_id != id_of(number):
        raise InvalidCommand(field, f"not the {noun} {number} of {where}")
    if item_id in listed:
        raise InvalidCommand(field, f"the {noun} is listed already")
    return number
