"""Teams: staff act on cases of the services their teams handle; a town's roster changes
only by its administrators, with reasons, and never leaves a service without a team."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from api.auth import team_names
from domain.actor import Actor, Role
from domain.errors import DomainError, InvalidCommand, WrongTenant
from domain.services.catalogue import SERVICES
from domain.team_roster import TeamRoster
from domain.teams import DEFAULT_TEAMS, EVERY_SERVICE, NotYourTeam, Team, check_serves
from domain.tenants import TENANTS
from tests.domain.case_fixtures import APPLICANT, CLERK, START, SUPERVISOR, submitted

LATER = START + timedelta(hours=3)
ADMIN = Actor("admin.usingen", "Ida Admin", Role.ADMIN, "usingen")
FOREIGN_ADMIN = Actor("admin.schmitten", "Olaf Admin", Role.ADMIN, "schmitten")


def test_every_service_of_every_town_is_handled_by_some_team_by_default() -> None:
    assert set(DEFAULT_TEAMS) == set(TENANTS)
    for tenant, teams in DEFAULT_TEAMS.items():
        configured = {s for team in teams for s in team.services} - {EVERY_SERVICE}
        assert configured <= set(SERVICES), tenant
        for service in SERVICES:
            assert any(team.handles(service) for team in teams), (tenant, service)


def test_staff_act_only_on_services_their_teams_handle() -> None:
    case = submitted()  # a general request of Usingen
    building_office = replace(CLERK, teams=frozenset({"bauamt"}), serves=frozenset({"general"}))
    case.confirm_complete(actor=building_office, at=LATER)
    parking_only = replace(CLERK, teams=frozenset({"x"}), serves=frozenset({"resident-parking"}))
    with pytest.raises(NotYourTeam) as refused:
        case.claim(actor=parking_only, at=LATER)
    assert "general cases are not handled by your teams (x)" in str(refused.value)
    assert case.holder is None


def test_supervisors_are_bound_too_and_staff_without_teams_serve_the_town() -> None:
    ordnungsamt = replace(SUPERVISOR, teams=frozenset({"o"}), serves=frozenset({"general"}))
    with pytest.raises(NotYourTeam):
        check_serves(ordnungsamt, "usingen", "sewer-connection")
    check_serves(SUPERVISOR, "usingen", "sewer-connection")  # no teams: the whole town
    check_serves(APPLICANT, "usingen", "sewer-connection")  # applicants are not staff
    everything = replace(CLERK, teams=frozenset({"v"}), serves=frozenset({EVERY_SERVICE}))
    for service in SERVICES:
        check_serves(everything, "usingen", service)


def test_team_claims_are_names_or_group_paths_of_the_towns_one_acts_for() -> None:
    assert team_names(["bauamt", "/usingen/ordnungsamt"], "usingen", None) == {
        "bauamt",
        "ordnungsamt",
    }
    assert team_names(["/schmitten/verwaltung"], "usingen", None) == frozenset()
    assert team_names(["/schmitten/verwaltung"], "usingen", "schmitten") == {"verwaltung"}
    assert team_names("bauamt", "usingen", None) == {"bauamt"}
    assert team_names(None, "usingen", None) == frozenset()


def test_only_the_towns_administrator_changes_its_roster() -> None:
    roster = TeamRoster.start("usingen")
    team = Team("standesamt", "Standesamt", "Registry office", frozenset({"general"}))
    with pytest.raises(InvalidCommand, match="only an administrator"):
        roster.configure(team, actor=CLERK, at=LATER, reason="r", required_services=SERVICES)
    with pytest.raises(WrongTenant):
        roster.configure(
            team, actor=FOREIGN_ADMIN, at=LATER, reason="r", required_services=SERVICES
        )
    roster.configure(team, actor=ADMIN, at=LATER, reason="neu", required_services=SERVICES)
    assert roster.teams["standesamt"] == team


team_ids = st.sampled_from(["buergerbuero", "ordnungsamt", "bauamt", "standesamt", "bauhof"])
service_sets = st.frozensets(
    st.sampled_from([*SERVICES, EVERY_SERVICE, "no-such-service"]), max_size=3
)


class RosterMachine(RuleBasedStateMachine):
    """Random changes by random people: every service keeps a team; refusals change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.roster = TeamRoster.start("usingen")
        self.now = LATER

    def _attempt(self, act: object) -> DomainError | None:
        before = dict(self.roster.teams)
        pending = len(self.roster.pending_events)
        self.now += timedelta(minutes=1)
        try:
            act()  # type: ignore[operator]
        except DomainError as error:
            assert self.roster.teams == before
            assert len(self.roster.pending_events) == pending
            return error
        assert len(self.roster.pending_events) == pending + 1
        event = self.roster.pending_events[-1]
        assert event.actor.id == ADMIN.id  # type: ignore[attr-defined]
        assert event.reason.value  # type: ignore[attr-defined]
        return None

    @rule(team_id=team_ids, services=service_sets, admin=st.booleans())
    def configure(self, team_id: str, services: frozenset[str], admin: bool) -> None:
        team = Team(team_id, team_id.title(), team_id, services)
        who = ADMIN if admin else SUPERVISOR
        error = self._attempt(
            lambda: self.roster.configure(
                team, actor=who, at=self.now, reason="Umorganisation", required_services=SERVICES
            )
        )
        if error is None:
            assert self.roster.teams[team_id] == team
            assert "no-such-service" not in services
        elif not admin:
            assert isinstance(error, InvalidCommand)

    @rule(team_id=team_ids)
    def dissolve(self, team_id: str) -> None:
        error = self._attempt(
            lambda: self.roster.dissolve(
                team_id, actor=ADMIN, at=self.now, reason="aufgelöst", required_services=SERVICES
            )
        )
        if error is None:
            assert team_id not in self.roster.teams

    @invariant()
    def every_service_has_a_team(self) -> None:
        for service in SERVICES:
            assert any(team.handles(service) for team in self.roster.teams.values()), service

    @invariant()
    def replaying_the_events_gives_the_same_roster(self) -> None:
        replayed = None
        for stored in self.roster.pending_events:
            replayed = stored.mutate(replayed)  # type: ignore[arg-type]
        assert replayed is not None
        assert replayed.teams == self.roster.teams  # type: ignore[attr-defined]


RosterMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestRosterMachine = RosterMachine.TestCase
