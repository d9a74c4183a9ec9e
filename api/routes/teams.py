"""Teams: staff read their town's roster; its administrators change it, with reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from api.access import allow
from api.dependencies import ActorDep, FacadeDep
from api.routes.cases import PROBLEMS
from api.routes.read_models import tenant_for
from api.schemas import CommandBody, ShortText, Text
from application.views import plain
from domain.actor import Role
from domain.teams import Team

router = APIRouter(prefix="/api/v1", tags=["teams"], responses=PROBLEMS)  # type: ignore[arg-type]
TeamId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,39}$", description="e.g. bauamt")]


class TeamOut(CommandBody):
    """A team of a town and the services it handles (``*``: all)."""

    id: str
    label_de: str
    label_en: str
    services: list[str]

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id,
            label_de=team.label_de,
            label_en=team.label_en,
            services=sorted(team.services),
        )


class ConfigureTeam(CommandBody):
    """What the team is called and handles, and why the roster changes."""

    label_de: ShortText
    label_en: ShortText
    services: list[ShortText] = Field(min_length=1, description="Service ids, or * for all")
    reason: Text


class DissolveTeam(CommandBody):
    """Why the team is dissolved."""

    reason: Text


class RosterChangeOut(CommandBody):
    """One change of the roster."""

    version: int
    type: str
    at: datetime
    actor_id: str
    details: dict[str, Any]


def teams_out(teams: tuple[Team, ...]) -> list[TeamOut]:
    return [TeamOut.of(t) for t in sorted(teams, key=lambda t: t.id)]


@router.get(
    "/teams",
    summary="The teams of a town and the services each handles",
    **allow(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN),
)
def teams(
    actor: ActorDep,
    vorgang: FacadeDep,
    tenant: Annotated[str | None, Query(description="A town you act for.")] = None,
) -> list[TeamOut]:
    """The town's roster as it is now (the default configuration until it was changed)."""
    return teams_out(vorgang.teams.teams_of(tenant_for(actor, tenant)))


@router.put(
    "/admin/teams/{team_id}",
    summary="Form a team or change what it handles (administrators of the town)",
    **allow(Role.ADMIN),
)
def configure_team(
    team_id: TeamId, body: ConfigureTeam, actor: ActorDep, vorgang: FacadeDep
) -> list[TeamOut]:
    """Every service of the catalogue must stay handled by some team (else 422)."""
    team = Team(team_id, body.label_de, body.label_en, frozenset(body.services))
    return teams_out(vorgang.teams.configure(team, actor=actor, reason=body.reason))


@router.post(
    "/admin/teams/{team_id}/dissolve",
    summary="Dissolve a team (administrators of the town)",
    **allow(Role.ADMIN),
)
def dissolve_team(
    team_id: TeamId, body: DissolveTeam, actor: ActorDep, vorgang: FacadeDep
) -> list[TeamOut]:
    """Refused (422) while a service would be left without a team."""
    return teams_out(vorgang.teams.dissolve(team_id, actor=actor, reason=body.reason))


@router.get(
    "/admin/teams/history",
    summary="Every change of the town's roster: who, when, why",
    **allow(Role.ADMIN, Role.AUDITOR),
)
def roster_history(actor: ActorDep, vorgang: FacadeDep) -> list[RosterChangeOut]:
    """Oldest first; reasons and names revealed to the town's administrators and auditors."""
    return [
        RosterChangeOut(
            version=c.version,
            type=c.type,
            at=c.at,
            actor_id=c.actor_id,
            details=plain(c.details),
        )
        for c in vorgang.teams.history(actor.tenant)
    ]
