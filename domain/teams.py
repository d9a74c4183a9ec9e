"""Teams: which services a town's offices handle, and who may act on which cases.

A clerk or supervisor belongs to teams by the identity provider (a ``teams`` claim, kept
there with the rest of the staff directory). Each town's teams and the services they handle
are configuration, below; the four towns' split is example configuration, as the
administrations agreed it for the pilot. Staff act only on cases of a service one of their
teams handles; staff whose token names no team serve the whole town (the small offices,
where one clerk does everything). Reading a case of the town stays open to all its staff
(a clerk answering the phone looks it up); acting is for the team.
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
TEAMS: Final = MappingProxyType(
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

    def __init__(self, service: str, teams: Iterable[str], handled_by: Iterable[str]) -> None:
        self.service = service
        self.teams = tuple(sorted(teams))
        self.handled_by = tuple(sorted(handled_by))
        super().__init__(
            f"{service} cases are handled by {', '.join(self.handled_by) or 'no team'}; "
            f"your teams: {', '.join(self.teams)}"
        )


def teams_of(tenant: str) -> tuple[Team, ...]:
    """A town's teams (none for an unknown tenant)."""
    return TEAMS.get(tenant, ())


def check_serves(actor: Actor, tenant: str, service: str) -> None:
    """Staff with teams act only on cases of a service one of their teams handles."""
    if actor.role not in (Role.CLERK, Role.SUPERVISOR) or not actor.teams:
        return
    teams = teams_of(tenant)
    if any(team.id in actor.teams and team.handles(service) for team in teams):
        return
    raise NotYourTeam(service, actor.teams, (t.id for t in teams if t.handles(service)))
