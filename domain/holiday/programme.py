"""A town's holiday programme of a year (Ferienspiele): the offerings it lists, by code.

The programme is the town's list of the year's offerings. Publishing an offering lists it
here in the same atomic save, so of two offerings published at once under one code one save
fails on the programme's version and the retry is refused (the code is taken). The programme
answers which offerings a town has in a year, and counts places across them for a rule of
places per child (the application reads each listed offering's allocated children); each
draw is noted here in its own save (``note_draw``), so two draws of one programme at once
are decided one after the other and the second counts the first's places. Its id
is a UUIDv5 of the town and the year (``programme_id``): public. It holds no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidCommand
from domain.holiday.offering import offering_id as offering_of
from domain.town_year import CodeTaken, checked_listing, checked_start, register_id

__all__ = ["PROGRAMME_NAMESPACE", "HolidayProgramme", "OfferingCodeTaken", "programme_id"]

PROGRAMME_NAMESPACE: Final = uuid5(NAMESPACE_URL, "vorgang:holiday-programme")


class OfferingCodeTaken(CodeTaken):
    """An offering's code is taken in the town's programme of the year (the API: 409)."""


def programme_id(tenant: str, year: int) -> UUID:
    """The id of a town's holiday programme of a year (public: town and year alone)."""
    return register_id(PROGRAMME_NAMESPACE, tenant, year)


class HolidayProgramme(Aggregate):
    """A town's Ferienspiele of one year: the offerings listed, each under its code."""

    @classmethod
    def start(
        cls, *, tenant: str, year: int, actor: Actor, at: datetime, id: UUID | None = None
    ) -> HolidayProgramme:
        """Start the programme of a town's year (its first offering is listed next)."""
        return cls(
            id=checked_start(PROGRAMME_NAMESPACE, tenant, year, id),
            tenant=tenant,
            year=year,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class Started(Aggregate.Created):
        """A town's programme of a year was started."""

        tenant: str
        year: int
        actor_id: str
        actor_role: str
        at: datetime

    @event(Started)
    def __init__(
        self, *, id: UUID, tenant: str, year: int, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.tenant = tenant
        self.year = year
        self.offerings: tuple[UUID, ...] = ()
        self.codes: dict[str, UUID] = {}
        self.drawn: tuple[UUID, ...] = ()  # the offerings drawn, in the order of their draws

    def list_offering(self, *, offering_id: UUID, code: str, actor: Actor, at: datetime) -> None:
        """List a published offering under its code: only the town's offering of the year and
        that code (``offering_id``); refused when the code is taken."""
        number = checked_listing(
            codes=self.codes,
            listed=self.offerings,
            item_id=offering_id,
            code=code,
            id_of=lambda number: offering_of(self.tenant, self.year, number),
            field="offering_id",
            noun="offering",
            where=f"{self.tenant} in {self.year}",
            taken=lambda number: OfferingCodeTaken(number, self.year),
        )
        self._offering_listed(
            offering_id=offering_id,
            code=number,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class OfferingListed(Aggregate.Event):
        """An offering was listed in the programme under its code."""

        offering_id: UUID
        code: str
        actor_id: str
        actor_role: str
        at: datetime

    @event(OfferingListed)
    def _offering_listed(
        self, *, offering_id: UUID, code: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.offerings = (*self.offerings, offering_id)
        self.codes = {**self.codes, code: offering_id}

    def note_draw(self, *, offering_id: UUID, actor: Actor, at: datetime) -> None:
        """Note that an offering of the programme is being drawn, in the draw's save.

        A draw counts the places each child holds in the programme's earlier draws (the rule
        of places per child); two draws of one programme at once would each miss the other's
        places. Saved with the draw, this note makes one of them fail on the programme's
        version and be drawn again from a fresh load, counting the other's places.
        """
        if offering_id not in self.offerings:
            raise InvalidCommand("offering_id", "the offering is not listed in this programme")
        if offering_id in self.drawn:
            raise InvalidCommand("offering_id", "the offering was drawn already")
        self._draw_noted(
            offering_id=offering_id, actor_id=actor.id, actor_role=actor.role.value, at=at
        )

    class DrawNoted(Aggregate.Event):
        """An offering of the programme was drawn (saved with its draw)."""

        offering_id: UUID
        actor_id: str
        actor_role: str
        at: datetime

    @event(DrawNoted)
    def _draw_noted(
        self, *, offering_id: UUID, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.drawn = (*self.drawn, offering_id)
