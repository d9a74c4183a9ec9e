"""Teams: which services a town's offices handle, and who may act on which cases.

A clerk or supervisor belongs to teams by the identity provider (a ``teams`` claim, kept
there with the rest of the staff directory). Which services each team of a town handles is
the town's roster (``domain.team_roster``), kept by its administrators; until they change
it, the defaults below apply (example configuration, as the administrations agreed it for
the pilot). The application resolves a person's teams to the services they serve
(``Actor.serves``) and the case refuses any other: staff act only on cases of a service one
of their teams handles. Staff whose token names no team serve the whole town (the small
offices, where one clerk does everything). Reading a case of the town stays open to all its
staff (a clerk answering the phone looks it up); acting is for the team.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from domain.actor import Actor, Role
from domain.errors import DomainError

EVERY_SERVICE: Final = "*"


@dataclass(frozen=True, slots=True)
class Team:
    """An office of a town and the services it handles (``*``: all of them)."""

    id: str
    label_de: str
    label_en: str
    services: frozenset[str]

    def handles(self, service: str) -> bool:
        """Whether this team processes cases of ``service``."""
        return EVERY_SERVICE in self.services or service in self.services


def _team(id: str, de: str, en: str, *services: str) -> Team:
    return Team(id, de, en, frozenset(services))


_TOWN_HALL_SPLIT = (
    _team("buergerbuero", "Bürgerbüro", "Citizens' office", "general"),
    _team(
        "ordnungsamt",
        "Ordnungsamt",
        "Public order office",
        "resident-parking",
        "traffic-sign-order",
        "general",
    ),
    _team(
        "bauamt",
        "Bauamt / Tiefbau",
        "Building and civil engineering",
        "road-opening",
        "sewer-connection",
        "general",
    ),
)
DEFAULT_TEAMS: Final = MappingProxyType(
    {
        "usingen": _TOWN_HALL_SPLIT,
        "neu-anspach": _TOWN_HALL_SPLIT,
        "schmitten": (
            _team("buergerbuero", "Bürgerbüro", "Citizens' office", "general"),
            _team("verwaltung", "Hauptverwaltung", "Main administration", EVERY_SERVICE),
        ),
        "glashuetten": (
            _team("verwaltung", "Gemeindeverwaltung", "Municipal administration", EVERY_SERVICE),
        ),
    }
)


class NotYourTeam(DomainError):
    """Staff acting on a case of a service none of their teams handles."""

    def __init__(self, tenant: str, service: str, teams: Iterable[str]) -> None:
        self.tenant = tenant
        self.service = service
        self.teams = tuple(sorted(teams))
        super().__init__(
            f"{service} cases are not handled by your teams ({', '.join(self.teams)}); "
            "the town's roster names the team that handles them"
        )


def services_served(teams: Iterable[Team], names: Iterable[str]) -> frozenset[str]:
    """What the named teams handle, from a town's roster (``*``: every service)."""
    wanted = set(names)
    return frozenset(s for team in teams if team.id in wanted for s in team.services)


def check_serves(actor: Actor, tenant: str, service: str) -> None:
    """Staff whose teams were resolved act only on cases of a service those teams handle."""
    if actor.role not in (Role.CLERK, Role.SUPERVISOR) or actor.serves is None:
        return
    if EVERY_SERVICE in actor.serves or service in actor.serves:
        return
    raise NotYourTeam(tenant, service, actor.teams)
