"""Who acts: several roles are a union of permissions; a teams claim resolves by the roster."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.services.catalogue import SERVICES
from domain.team_roster import TeamRoster
from domain.teams import DEFAULT_TEAMS, NotYourTeam, Team, check_serves, teams_claimed
from tests.domain.case_fixtures import CLERK, START, submitted

LATER = START + timedelta(hours=3)
CLERK_AND_ADMIN = Actor(
    "ida.usingen", "Ida Beispiel", Role.CLERK, "usingen", roles=frozenset({Role.CLERK, Role.ADMIN})
)
USINGEN = {"usingen": DEFAULT_TEAMS["usingen"]}


def test_an_actor_of_one_role_holds_that_role_alone() -> None:
    assert CLERK.roles == {CLERK.role}
    assert CLERK.acts_as(Role.CLERK)
    assert not CLERK.acts_as(Role.ADMIN, Role.SUPERVISOR)


def test_the_recorded_role_must_be_one_the_person_holds() -> None:
    with pytest.raises(ValueError, match="not one of the actor's roles"):
        Actor("x", "X", Role.ADMIN, "usingen", roles=frozenset({Role.CLERK}))


def test_a_clerk_who_is_also_administrator_may_do_what_either_may() -> None:
    assert CLERK_AND_ADMIN.acts_as(Role.ADMIN)
    roster = TeamRoster.start("usingen")
    team = Team("standesamt", "Standesamt", "Registry office", frozenset({"general"}))
    roster.configure(
        team, actor=CLERK_AND_ADMIN, at=LATER, reason="neu", required_services=SERVICES
    )
    assert roster.pending_events[-1].actor.role is Role.ADMIN  # type: ignore[attr-defined]
    case = submitted()
    case.check_erasure(
        actor=CLERK_AND_ADMIN, at=LATER, subjects=["applicant"], reason="r", legal_basis="b"
    )
    with pytest.raises(InvalidCommand, match="only an administrator"):
        case.check_erasure(
            actor=CLERK, at=LATER, subjects=["applicant"], reason="r", legal_basis="b"
        )


def test_a_person_acts_in_the_primary_role_a_route_allows() -> None:
    assert CLERK_AND_ADMIN.acting_in({Role.ADMIN}).role is Role.ADMIN
    assert CLERK_AND_ADMIN.acting_in({Role.CLERK, Role.SUPERVISOR}).role is Role.CLERK
    assert CLERK_AND_ADMIN.acting_in({Role.AUDITOR}) is CLERK_AND_ADMIN
    assert CLERK_AND_ADMIN.acting_in({Role.ADMIN}).roles == CLERK_AND_ADMIN.roles


def test_a_nested_group_path_resolves_to_its_team() -> None:
    assert teams_claimed(["/usingen/bauamt/leitung"], USINGEN) == {"usingen": {"bauamt"}}
    assert teams_claimed(["/hessen/usingen/ordnungsamt/sachgebiet-2"], USINGEN) == {
        "usingen": {"ordnungsamt"}
    }


def test_the_deepest_segment_that_is_a_team_of_the_roster_wins() -> None:
    leitung = Team("leitung", "Leitung", "Management", frozenset({"*"}))
    roster = {"usingen": (*DEFAULT_TEAMS["usingen"], leitung)}
    assert teams_claimed(["/usingen/bauamt/leitung"], roster) == {"usingen": {"leitung"}}


def test_another_towns_team_path_names_no_team() -> None:
    assert teams_claimed(["/neu-anspach/bauamt"], USINGEN) == {"usingen": frozenset()}
    assert teams_claimed(["/staff/bauamt", "/usingen"], USINGEN) == {"usingen": frozenset()}
    both = {**USINGEN, "neu-anspach": DEFAULT_TEAMS["neu-anspach"]}
    assert teams_claimed(["/neu-anspach/bauamt", "buergerbuero"], both) == {
        "usingen": {"buergerbuero"},
        "neu-anspach": {"bauamt", "buergerbuero"},
    }


def test_staff_whose_claimed_teams_do_not_resolve_serve_no_service() -> None:
    case = submitted()  # a general request of Usingen
    nobody = replace(
        CLERK,
        team_claim=frozenset({"/neu-anspach/bauamt"}),
        teams=frozenset(),
        serves=frozenset(),
    )
    with pytest.raises(NotYourTeam, match="/neu-anspach/bauamt"):
        case.claim(actor=nobody, at=LATER)
    with pytest.raises(NotYourTeam):
        check_serves(nobody, "usingen", "general")
