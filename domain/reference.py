"""Human-readable case references per tenant and year, e.g. ``USI-2026-000042``.

The store issues the numbers (``persistence/store_index.py``: a sequence per town and year).
Earlier releases issued them with the ``ReferenceCounter`` aggregate below, saved with each
new case. Before the store issues a town's first number of a year, the counter records that
it handed over (``HandedOver``, with its last number, where the store's numbering goes on):
a process of an earlier release still running cannot load that event, so it fails its
submissions instead of issuing a number twice. Gaps are acceptable, duplicates are not.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.tenants import tenant as tenant_by_id

_NAMESPACE = uuid5(NAMESPACE_URL, "https://vorgang.example/reference-counter")


class ReferenceCounter(Aggregate):
    """Issued consecutive reference numbers for one tenant and year (earlier releases)."""

    @staticmethod
    def id_for(tenant: str, year: int) -> UUID:
        """The counter's id: one counter per tenant and year."""
        return uuid5(_NAMESPACE, f"{tenant}/{year}")

    class Started(Aggregate.Created):
        """A counter for a tenant's year, before its first number."""

        tenant: str
        year: int

    handed_over = False  # class default: counters and snapshots from before the handover

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str, year: int) -> None:
        self.tenant = tenant
        self.year = year
        self.last_number = 0

    @classmethod
    def start(cls, tenant: str, year: int) -> ReferenceCounter:
        """A counter for a tenant's year, before its first number."""
        tenant_by_id(tenant)
        return cls(id=cls.id_for(tenant, year), tenant=tenant, year=year)

    def issue(self, case_id: UUID) -> str:
        """Take the next number for this case and return the formatted reference."""
        if self.handed_over:
            raise InvalidCommand("reference", "the store numbers this town's year now")
        number = self.last_number + 1
        self._issued(number=number, case_id=case_id)
        return format_reference(self.tenant, self.year, number)

    class Issued(Aggregate.Event):
        """The next number went to this case."""

        number: int
        case_id: UUID

    @event(Issued)
    def _issued(self, *, number: int, case_id: UUID) -> None:
        self.last_number = number

    def hand_over(self) -> int:
        """Hand numbering to the store: its numbers go on after the last one issued here."""
        if not self.handed_over:
            self._handed_over(last_number=self.last_number)
        return self.last_number

    class HandedOver(Aggregate.Event):
        """From this number on the store issues the town's numbers of the year."""

        last_number: int

    @event(HandedOver)
    def _handed_over(self, *, last_number: int) -> None:
        self.handed_over = True


def format_reference(tenant: str, year: int, number: int) -> str:
    """``USI-2026-000042``: tenant prefix, year, six-digit number."""
    return f"{tenant_by_id(tenant).reference_prefix}-{year}-{number:06d}"
