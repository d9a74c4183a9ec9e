"""Teams: staff act on cases of the services their teams handle; reading stays open."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from api.auth import team_names
from domain.services.catalogue import SERVICES
from domain.teams import EVERY_SERVICE, TEAMS, NotYourTeam, check_serves
from domain.tenants import TENANTS
from tests.domain.case_fixtures import APPLICANT, CLERK, START, SUPERVISOR, submitted

LATER = START + timedelta(hours=3)


def test_every_service_of_every_town_is_handled_by_some_team() -> None:
    assert set(TEAMS) == set(TENANTS)
    for tenant, teams in TEAMS.items():
        configured = {s for team in teams for s in team.services} - {EVERY_SERVICE}
        assert configured <= set(SERVICES) | {"traffic-sign-order"}, tenant
        for service in SERVICES:
            assert any(team.handles(service) for team in teams), (tenant, service)


def test_a_clerk_of_another_team_may_not_act_and_is_told_which_team_may() -> None:
    case = submitted()  # a general request of Usingen
    building_office = replace(CLERK, teams=frozenset({"bauamt"}))
    case.confirm_complete(actor=building_office, at=LATER)  # bauamt handles general too
    parking_only = replace(CLERK, id="p.only", teams=frozenset({"buergerbuero"}))
    check_serves(parking_only, "usingen", "general")
    with pytest.raises(NotYourTeam) as refused:
        check_serves(parking_only, "usingen", "road-opening")
    assert "road-opening cases are handled by bauamt" in str(refused.value)
    assert "your teams: buergerbuero" in str(refused.value)


def test_a_supervisor_is_bound_to_their_teams_too_and_staff_without_teams_serve_the_town() -> None:
    ordnungsamt = replace(SUPERVISOR, teams=frozenset({"ordnungsamt"}))
    with pytest.raises(NotYourTeam):
        check_serves(ordnungsamt, "usingen", "sewer-connection")
    check_serves(SUPERVISOR, "usingen", "sewer-connection")  # no teams claim: the whole town
    check_serves(APPLICANT, "usingen", "sewer-connection")  # applicants are not staff
    glashuetten = replace(CLERK, tenant="glashuetten", teams=frozenset({"verwaltung"}))
    for service in SERVICES:
        check_serves(glashuetten, "glashuetten", service)


def test_a_refused_command_leaves_the_case_as_it_was() -> None:
    case = submitted()
    wrong = replace(CLERK, teams=frozenset({"nonexistent"}))
    with pytest.raises(NotYourTeam):
        case.confirm_complete(actor=wrong, at=LATER)
    assert not [e for e in case.pending_events if type(e).__name__ != "Submitted"]


def test_team_claims_are_names_or_group_paths_of_the_towns_one_acts_for() -> None:
    assert team_names(["bauamt", "/usingen/ordnungsamt"], "usingen", None) == {
        "bauamt",
        "ordnungsamt",
    }
    assert team_names(["/schmitten/verwaltung"], "usingen", None) == frozenset()
    assert team_names(["/schmitten/verwaltung"], "usingen", "schmitten") == {"verwaltung"}
    assert team_names("bauamt", "usingen", None) == {"bauamt"}
    assert team_names(None, "usingen", None) == frozenset()
