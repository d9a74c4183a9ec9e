"""Teams: which services a town's offices handle, and who may act on which cases.

A clerk or supervisor belongs to teams by the identity provider (a ``teams`` claim, kept
there with the rest of the staff directory). Which services each team of a town handles is
the town's roster (``domain.team_roster``), kept by its administrators; until they change
it, the defaults below apply (example configuration, as the administrations agreed it for
the pilot). The application resolves a person's teams to the services they serve
(``Actor.serves``) and the case refuses any other: staff act only on cases of a service one
of their teams handles. Staff whose token names no team serve the whole town (the small
offices, where one clerk does everything); staff whose token names teams of which none is a
team of a town they act for serve *no* service (fail closed: an unknown group never widens
access). Reading a case of the town stays open to all its staff (a clerk answering the phone
looks it up); acting is for the team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.tenants import TENANTS

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
    # the youth work office runs the holiday programme (Ferienspiele, § 11 SGB VIII)
    _team("jugendpflege", "Jugendpflege", "Youth work", "holiday-registration", "general"),
    _team(
        "ordnungsamt",
        "Ordnungsamt",
        "Public order office",
        "resident-parking",
        "traffic-sign-order",
        "grave-right",
        "headstone-permit",
        "burial",
        "dog-registration",  # the dog register and the dangerous-dog permit, with the dog tax
        "market-stall",  # Marktwesen: the markets (§§ 69, 70 GewO) and their pitches
        "general",
    ),
    _team(
        "bauamt",
        "Bauamt / Tiefbau",
        "Building and civil engineering",
        "road-opening",
        "sewer-connection",
        "water-meter-reading",  # the water supply's meters, readings and campaigns
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


def teams_claimed(
    claim: Iterable[str], rosters: Mapping[str, Iterable[Team]]
) -> dict[str, frozenset[str]]:
    """For each town in ``rosters`` (those the person acts for), its teams the claim names.

    A claim value is a team name (``bauamt``: a team of that name in any of the towns) or
    a group path naming its town (``/usingen/bauamt``). Below the town, the deepest segment
    that is a team of the town's roster wins (``/usingen/bauamt/leitung`` is the Bauamt
    unless the roster has a team ``leitung``). A path of another town, or one naming no
    town, names no team here.
    """
    ids = {town: {team.id for team in teams} for town, teams in rosters.items()}
    found: dict[str, set[str]] = {town: set() for town in ids}
    for value in claim:
        parts = [part for part in str(value).split("/") if part]
        if len(parts) == 1:
            for town, names in ids.items():
                if parts[0] in names:
                    found[town].add(parts[0])
            continue
        at = next((i for i, part in enumerate(parts) if part in TENANTS), None)
        if at is None or parts[at] not in ids:
            continue
        roster = ids[parts[at]]
        team = next((part for part in reversed(parts[at + 1 :]) if part in roster), None)
        if team is not None:
            found[parts[at]].add(team)
    return {town: frozenset(names) for town, names in found.items()}


def check_serves(actor: Actor, tenant: str, service: str) -> None:
    """Staff whose teams were resolved act only on cases of a service those teams handle.

    Bound by the role acted in: an administrator who is also a clerk erases as an
    administrator, not as a member of a team.
    """
    if actor.role not in (Role.CLERK, Role.SUPERVISOR) or actor.serves is None:
        return
    if EVERY_SERVICE in actor.serves or service in actor.serves:
        return
    raise NotYourTeam(tenant, service, actor.teams or actor.team_claim)
