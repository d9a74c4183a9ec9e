"""A trader's stall application through its market: recorded at submission, scored, decided by
the selection (admission with pitch and fee, or refusal with reasons), the ordinary Bekanntgabe
and objection track, give-up with charges withdrawn by rule, move-up offers accepted (a second
decision), declined or lapsed, withdrawal before the selection, the timer, the catalogue's
example per town."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.actor import Actor, Role
from domain.commands import Acting
from domain.decision import DecisionOutcome
from domain.decision_replay import replay
from domain.errors import InvalidCommand, InvalidTransition, NotTheHolder
from domain.lifecycle import CaseStatus
from domain.markets.market import Market
from domain.rules import market_fees
from domain.rules.notification import Delivery
from domain.services.catalogue import SERVICES
from domain.services.market_stall import (
    GIVEN_UP,
    MOVE_UP_ID,
    SERVICE_ID,
    MarketStallApplication,
    StallStatus,
    Standing,
)
from domain.services.market_stall_steps import (
    PITCH_OFFER_EXPIRES,
    STEPS,
    ScoreSheet,
    StallReason,
    StallWithdrawal,
    example,
    offer_lapse_ready,
    town_examples,
)
from domain.timers import NOTHING_DUE, Readiness
from domain.working_days import berlin_date
from tests.domain.market_stall_fixtures import (
    AFTER,
    CHEF,
    DECISIONS_BY,
    DURING,
    LATE,
    MARKT,
    SEED,
    SELECTED,
    Shared,
    applicant_of,
    applied,
    form,
    market,
    submitted,
)


def acting(actor: Actor, at: datetime, shared: Shared) -> Acting:
    return Acting(actor, at, shared)


def scored(case: MarketStallApplication, shared: Shared, points: int, at: datetime = AFTER) -> None:
    STEPS.named("score_application").execute(
        case,
        ScoreSheet(points={"attractiveness": points}, note="Stand gesehen"),
        acting(MARKT, at, shared),
    )


def selected(at_market: Market, *cases: MarketStallApplication) -> None:
    """The selection as the application runs it: the market, then every case decides."""
    sheets = {c.id: c.score_sheet["points"] for c in cases if c.score_sheet is not None}
    at_market.select(seed=SEED, sheets=sheets, actor=MARKT, at=SELECTED)
    for case in cases:
        case.note_selection(at_market, actor=MARKT, at=SELECTED)


def crafts_market() -> tuple[Market, Shared, list[MarketStallApplication]]:
    """Three crafts stalls for two crafts pitches: the best-scored and the newcomer get one."""
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [
        applied(shared, form(at_market.id, "crafts", years_of_attendance=5)),
        applied(shared, form(at_market.id, "crafts", years_of_attendance=1)),
        applied(shared, form(at_market.id, "crafts")),
    ]
    for case, points in zip(cases, (9, 6, 3), strict=True):
        scored(case, shared, points)
    selected(at_market, *cases)
    return at_market, shared, cases


# ------------------------------------------------------------------ at submission


def test_an_application_is_recorded_on_its_market_in_the_submissions_save() -> None:
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id, "food", frontage_m="3.00", water=True))
    assert case.status == StallStatus.APPLIED
    assert case.market_id == at_market.id
    assert case.market_code == "WM-2026"
    assert case.decisions_by == DECISIONS_BY
    assert case.first_day == date(2026, 12, 4)
    recorded = at_market.applications[case.id]
    assert (recorded.category, recorded.frontage_m, recorded.water) == (
        "food",
        Decimal("3.00"),
        True,
    )
    assert "withdraw" not in case.allowed_commands()  # withdrawn on the market instead
    assert "withdraw_application" in case.allowed_commands()


@pytest.mark.parametrize(
    ("change", "at", "field"),
    [
        ({}, datetime(2026, 8, 25, 9, tzinfo=UTC), "data.market"),  # not yet open
        ({}, AFTER, "data.market"),  # the deadline passed
        ({"category": "games"}, DURING, "data.category"),  # not wanted
        ({"frontage_m": "4.50"}, DURING, "data.frontage_m"),  # no crafts pitch this long
        ({"water": True}, DURING, "data.water"),  # no crafts pitch with water
    ],
)
def test_an_application_the_market_cannot_take_is_refused_naming_the_field(
    change: dict[str, Any], at: datetime, field: str
) -> None:
    at_market = market()
    shared = Shared(at_market)
    with pytest.raises(InvalidCommand) as refused:
        applied(shared, form(at_market.id, **{"category": "crafts", **change}), at=at)
    assert refused.value.field == field
    assert not at_market.applications
    assert not at_market.pending_events


def test_another_towns_market_and_no_market_are_refused_naming_data_market() -> None:
    foreign = market("schmitten")
    with pytest.raises(InvalidCommand) as refused:
        applied(Shared(foreign), form(foreign.id))
    assert refused.value.field == "data.market"
    with pytest.raises(InvalidCommand) as none:
        applied(Shared(), form(UUID(int=7)))
    assert none.value.field == "data.market"


# ------------------------------------------------------------------ score sheets


def test_staff_score_after_the_deadline_and_a_later_sheet_replaces_the_earlier() -> None:
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    with pytest.raises(InvalidCommand) as early:
        scored(case, shared, 5, at=DURING)
    assert early.value.field == "at"
    scored(case, shared, 5)
    STEPS.named("score_application").execute(
        case,
        ScoreSheet(points={"attractiveness": 7}, note="Nachbewertung"),
        acting(CHEF, AFTER + timedelta(hours=1), shared),
    )
    assert case.score_sheet is not None
    assert case.score_sheet["points"] == {"attractiveness": 7}
    assert case.score_sheet["scored_by"] == CHEF.id
    assert case.score_sheet["criteria_version"] == "2026-1"
    sheets = [e for e in case.pending_events if type(e).__name__ == "ScoreSheetRecorded"]
    assert [e.actor.id for e in sheets] == [MARKT.id, CHEF.id]  # who scored, each time


@pytest.mark.parametrize(
    ("points", "field"),
    [
        ({"attractiveness": 11}, "points.attractiveness"),
        ({"attendance": 3}, "points.attendance"),  # counted by the rules, not scored
        ({"charm": 3}, "points.charm"),
    ],
)
def test_a_sheet_off_the_published_criteria_is_refused(points: dict[str, int], field: str) -> None:
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    version = case.version
    with pytest.raises(InvalidCommand) as refused:
        STEPS.named("score_application").execute(
            case, ScoreSheet(points=points, note="x"), acting(MARKT, AFTER, shared)
        )
    assert refused.value.field == field
    assert case.version == version


def test_an_applicant_cannot_score_and_nobody_scores_after_the_selection() -> None:
    _market, shared, (first, *_rest) = crafts_market()
    with pytest.raises(InvalidTransition):
        scored(first, shared, 2, at=SELECTED + timedelta(hours=1))
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    with pytest.raises(InvalidCommand) as refused:
        case.score_application(
            actor=applicant_of(case),
            at=AFTER,
            market=at_market,
            points={"attractiveness": 10},
            note="!",
        )
    assert refused.value.field == "actor"


# ------------------------------------------------------------------ the selection decides


def test_the_selection_admits_with_pitch_fee_and_conditions_and_stores_the_score() -> None:
    at_market, _shared, (first, second, third) = crafts_market()
    decision = first.decision
    assert decision is not None
    assert first.status == CaseStatus.DECIDED
    assert decision.outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
    assert decision.decided_by.id == MARKT.id  # who ran the selection decided
    particulars = decision.particulars
    assert particulars["pitch"] == first.pitch == at_market.pitch_of(first.id)
    assert particulars["criteria_version"] == "2026-1"
    assert particulars["weights"] == {"attractiveness": "3", "attendance": "1", "need": "1"}
    assert particulars["points"]["attractiveness"] == 9
    assert particulars["rank"] == 1
    assert Decimal(particulars["total"]) > 0
    rules = {r.rules_id: r for r in decision.rules}
    assert {"market_selection", market_fees.MARKET_FEE_RULES_ID, "market_stall_conditions"} <= set(
        rules
    )
    assert rules["market_selection"].version == "standplatzvergabe-2"
    ledgers = {c.ledger: c.amount for c in first.charges}
    assert ledgers == {
        market_fees.PITCH_FEE: Decimal("60.00"),  # 2.50 m times 24.00 € at a Christmas market
        market_fees.DEPOSIT: Decimal("100.00"),
    }
    assert decision.fee == Decimal("160.00")  # every line, the refundable deposit too
    assert decision.particulars["deposit"] == "100.00"
    assert sum(c.amount for c in first.fee_charges_in_force()) == decision.fee
    assert len(decision.provisions) == 4  # the standard stall conditions
    assert decision.discretion is not None
    assert "Bekannt und bewährt" in decision.discretion.value
    assert decision.expires_on == date(2026, 12, 6)  # the market's last day
    assert third.decision is not None
    assert second.decision is not None


def test_a_refusal_gives_its_reasons_rank_total_and_criteria_with_a_remedy_notice() -> None:
    _market, _shared, (_first, _second, third) = crafts_market()
    decision = third.decision
    assert decision is not None
    assert third.standing == Standing.REFUSED
    assert decision.outcome is DecisionOutcome.REJECTED
    assert decision.fee is None
    assert not third.charges
    particulars = decision.particulars
    assert particulars["reasons"] == ["category_full"]
    assert particulars["rank"] == 3
    assert particulars["criteria_version"] == "2026-1"
    assert particulars["points"]["attractiveness"] == 3
    assert "Rang 3 von 3" in decision.justification.value
    assert decision.discretion is not None
    assert "§ 123 VwGO" in decision.discretion.value
    assert decision.remedy_notice.complete
    assert "Widerspruch" in decision.remedy_notice.text
    assert decision.legal_basis.startswith("§§ 69, 70 GewO")
    assert berlin_date(decision.decided_at) <= DECISIONS_BY


def test_the_ordinary_bekanntgabe_and_objection_track_follows_a_refusal() -> None:
    _market, _shared, (_first, _second, third) = crafts_market()
    third.notify(actor=MARKT, at=SELECTED, delivery=Delivery.COUNTER)
    assert third.status == CaseStatus.NOTIFIED
    assert "lodge_objection" in third.allowed_commands()
    third.lodge_objection(actor=MARKT, at=SELECTED + timedelta(days=2), grounds="Bewährt.")
    assert third.open_objection is not None
    assert {"remedy_objection", "withdraw_objection"} <= third.allowed_commands()


def test_a_clerk_cannot_decide_a_stall_outside_the_selection() -> None:
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    assert "decide" not in case.allowed_commands()
    with pytest.raises((InvalidTransition, NotTheHolder)):
        case.decide(
            actor=MARKT,
            at=AFTER,
            outcome=DecisionOutcome.REJECTED,
            justification="nein",
            legal_basis="§ 70 GewO",
            discretion="x",
        )


def test_a_decision_replays_to_the_same_fee_from_its_recorded_rules() -> None:
    _market, _shared, (first, *_rest) = crafts_market()
    decision = first.decision
    assert decision is not None
    again = first.replay_terms(decision)
    assert again.fee == decision.fee
    assert again.rules == decision.rules
    assert again.particulars == decision.particulars


# ------------------------------------------------------------------ give-up and move-up


def give_up(
    case: MarketStallApplication, shared: Shared, at: datetime, actor: Actor | None = None
) -> list[Any]:
    return list(
        STEPS.named("give_up_pitch").execute(
            case, StallReason(reason="Krank"), acting(actor or applicant_of(case), at, shared)
        )
    )


def test_a_pitch_given_up_before_decisions_by_withdraws_every_charge_and_moves_up() -> None:
    at_market, shared, (first, _second, third) = crafts_market()
    pitch = first.pitch
    changed = give_up(first, shared, SELECTED + timedelta(days=1))
    assert [a.id for a in changed] == [at_market.id, third.id]
    assert first.status == StallStatus.PITCH_GIVEN_UP
    assert first.pitch is None
    assert first.withdrawn_charges == {c.kassenzeichen for c in first.charges}
    withdrawn = [e for e in first.pending_events if type(e).__name__ == "ChargeWithdrawn"]
    assert {e.reason for e in withdrawn} == {GIVEN_UP}
    assert third.offer is not None
    assert third.offer["pitch"] == pitch
    assert third.offer["until"] == SELECTED + timedelta(days=1, weeks=1)
    assert {"accept_pitch_offer", "decline_pitch_offer"} <= third.allowed_commands()


def test_a_pitch_given_up_from_decisions_by_on_keeps_the_fee_and_withdraws_the_deposit() -> None:
    _market, shared, (first, *_rest) = crafts_market()
    give_up(first, shared, LATE)
    by_ledger = {c.ledger: c.kassenzeichen for c in first.charges}
    assert first.withdrawn_charges == {by_ledger[market_fees.DEPOSIT]}


def test_a_pitch_is_given_up_before_the_market_only_and_only_by_its_holder() -> None:
    _market, shared, (first, _second, third) = crafts_market()
    with pytest.raises(InvalidCommand) as too_late:
        give_up(first, shared, datetime(2026, 12, 4, 9, tzinfo=UTC))
    assert too_late.value.field == "at"
    with pytest.raises(InvalidTransition):
        give_up(third, shared, SELECTED)  # refused: holds nothing
    stranger = Actor("portal:other", "Jemand", Role.APPLICANT, "usingen")
    with pytest.raises(InvalidCommand) as other:
        give_up(first, shared, SELECTED, stranger)
    assert other.value.field == "actor"


def test_staff_do_not_give_a_pitch_up_for_the_town_they_revoke_the_admission() -> None:
    _market, shared, (first, *_rest) = crafts_market()
    with pytest.raises(InvalidCommand) as refused:
        give_up(first, shared, SELECTED + timedelta(days=1), MARKT)
    assert refused.value.field == "actor"
    assert first.pitch is not None
    assert "revoke_pitch" in first.allowed_commands()


def test_an_offer_accepted_is_a_second_decision_on_the_same_case_with_its_fee() -> None:
    at_market, shared, (first, _second, third) = crafts_market()
    third.notify(actor=MARKT, at=SELECTED)
    give_up(first, shared, SELECTED + timedelta(days=1))
    changed = STEPS.named("accept_pitch_offer").execute(
        third, None, acting(applicant_of(third), SELECTED + timedelta(days=2), shared)
    )
    assert [a.id for a in changed] == [at_market.id]
    assert [d.outcome for d in third.decisions] == [
        DecisionOutcome.REJECTED,
        DecisionOutcome.APPROVED_WITH_CONDITIONS,
    ]
    decision = third.decision
    assert decision is not None
    assert decision.decided_by.id == MOVE_UP_ID
    assert decision.particulars["admitted_by"] == "move_up"
    assert decision.particulars["points"]["attractiveness"] == 3  # the score stays stored
    assert third.status == CaseStatus.DECIDED
    assert third.notified_on is None
    assert third.pitch == at_market.pitch_of(third.id) == decision.particulars["pitch"]
    assert {c.refers_to for c in third.charges} == {"decision:2"}
    assert third.offer is None
    assert "notify" in third.allowed_commands()


def test_an_offer_declined_passes_on_and_the_refusal_stands() -> None:
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [applied(shared, form(at_market.id, "crafts")) for _ in range(4)]
    for case, points in zip(cases, (9, 6, 3, 1), strict=True):
        scored(case, shared, points)
    selected(at_market, *cases)
    first, _second, third, fourth = cases
    give_up(first, shared, SELECTED + timedelta(days=1))
    assert third.offer is not None
    changed = STEPS.named("decline_pitch_offer").execute(
        third,
        StallReason(reason="Anderer Markt"),
        acting(applicant_of(third), SELECTED + timedelta(days=2), shared),
    )
    assert [a.id for a in changed] == [at_market.id, fourth.id]
    assert third.offer is None
    assert third.decision is not None
    assert third.decision.outcome is DecisionOutcome.REJECTED
    assert fourth.offer is not None


def test_an_offer_lapses_only_after_it_ran_out_and_the_timer_knows_the_day() -> None:
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [applied(shared, form(at_market.id, "crafts")) for _ in range(4)]
    for case, points in zip(cases, (9, 6, 3, 1), strict=True):
        scored(case, shared, points)
    selected(at_market, *cases)
    first, _second, third, fourth = cases
    give_up(first, shared, SELECTED + timedelta(days=1))
    assert third.offer is not None
    until = third.offer["until"]
    noted = next(e for e in third.pending_events if type(e).__name__ == "PitchOfferNoted")
    due = PITCH_OFFER_EXPIRES.due_after(noted, NOTHING_DUE)
    assert due.on == berlin_date(until)
    assert offer_lapse_ready(third, berlin_date(until)) is Readiness.NOT_YET
    assert offer_lapse_ready(third, berlin_date(until) + timedelta(days=1)) is Readiness.DUE
    with pytest.raises(InvalidCommand) as early:
        STEPS.named("expire_pitch_offer").execute(third, None, acting(MARKT, until, shared))
    assert early.value.field == "at"
    system = Actor("vorgang-scheduler", "Fristenüberwachung", Role.SYSTEM, "usingen")
    changed = STEPS.named("expire_pitch_offer").execute(
        third, None, acting(system, until + timedelta(hours=1), shared)
    )
    assert [a.id for a in changed] == [at_market.id, fourth.id]
    assert third.offer is None
    assert fourth.offer is not None
    assert offer_lapse_ready(third, berlin_date(until) + timedelta(days=1)) is Readiness.DONE
    lapsed = next(e for e in third.pending_events if type(e).__name__ == "PitchOfferExpired")
    assert PITCH_OFFER_EXPIRES.due_after(lapsed, due).on is None


# ------------------------------------------------------------------ withdrawal


def test_an_application_withdrawn_before_the_selection_is_told_to_the_market() -> None:
    at_market = market()
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    changed = STEPS.named("withdraw_application").execute(
        case, StallWithdrawal(reason="Doch keine Zeit"), acting(applicant_of(case), DURING, shared)
    )
    assert [a.id for a in changed] == [at_market.id]
    assert case.status == CaseStatus.WITHDRAWN
    assert case.withdrawn
    assert case.id in at_market.withdrawn
    at_market.select(seed=SEED, sheets={}, actor=MARKT, at=SELECTED)
    version = case.version
    case.note_selection(at_market, actor=MARKT, at=SELECTED)  # nothing to note
    assert case.version == version
    assert case.decision is None


# ------------------------------------------------------------------ the catalogue


class OpenMarkets:
    def __init__(self, *markets: Market) -> None:
        self.markets = markets

    def markets_open_in(self, tenant: str, at: datetime) -> list[Market]:
        return [m for m in self.markets if m.tenant == tenant and m.window_state(at) == "open"]


@pytest.mark.parametrize("regime", ["festgesetzt", "town_rules"])
def test_the_catalogue_example_of_a_town_with_an_open_market_is_accepted(regime: str) -> None:
    at_market = market(regime=regime)
    shared = Shared(at_market)
    examples = town_examples(DURING, OpenMarkets(at_market, market("schmitten")))
    assert set(examples) == {"usingen", "schmitten"}
    for _ in range(3):  # accepted whenever fetched: each fetch, a new application
        case = applied(shared, town_examples(DURING, OpenMarkets(at_market))["usingen"])
        assert at_market.recorded(case.id)
    assert town_examples(AFTER, OpenMarkets(at_market)) == {}  # closed: no example


def test_the_form_example_validates_and_the_service_is_in_the_catalogue() -> None:
    definition = SERVICES[SERVICE_ID]
    assert definition.case_class is MarketStallApplication
    assert definition.town_examples is town_examples
    definition.validate(example(DURING.date()), DURING.date())
    assert definition.tariff is not None
    assert definition.tariff(DURING.date())["towns"]["usingen"]["per_metre"]["kerb"] == "18.00"
    submitted(example(DURING.date()))


def test_the_considerations_name_the_newcomers_share_or_their_chance_by_the_lot() -> None:
    _market, _shared, (first, *_rest) = crafts_market()  # no share reserved
    assert first.decision is not None
    assert first.decision.discretion is not None
    assert "über die Kriterien und das Los" in first.decision.discretion.value
    at_market = market(newcomer_share=Decimal("0.25"))
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id))
    scored(case, shared, 4)
    selected(at_market, case)
    assert case.decision is not None
    assert case.decision.discretion is not None
    text = case.decision.discretion.value
    assert "1 von 4 Standplätzen (der veröffentlichte Anteil von 25 %" in text  # the count


def test_both_decisions_of_a_case_replay_consistent_on_the_case_as_it_stood_before() -> None:
    _market, shared, (first, _second, third) = crafts_market()
    give_up(first, shared, SELECTED + timedelta(days=1))
    STEPS.named("accept_pitch_offer").execute(
        third, None, acting(applicant_of(third), SELECTED + timedelta(days=2), shared)
    )
    events = third.collect_events()
    decided = [i for i, e in enumerate(events) if type(e).__name__ == "Decided"]
    assert len(decided) == 2
    for index, decision in zip(decided, third.decisions, strict=True):
        before = None
        for stored in events[:index]:
            before = stored.mutate(before)
        assert isinstance(before, MarketStallApplication)
        replayed = replay(before, decision, today=date(2026, 11, 2))
        assert replayed.verdict == "consistent", replayed.differences


def test_a_refused_application_without_an_offer_withdrawn_leaves_the_move_up() -> None:
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [applied(shared, form(at_market.id, "crafts")) for _ in range(4)]
    for case, points in zip(cases, (9, 6, 3, 1), strict=True):
        scored(case, shared, points)
    selected(at_market, *cases)
    first, _second, third, fourth = cases
    assert "withdraw_application" in third.allowed_commands()
    STEPS.named("withdraw_application").execute(
        third, None, acting(applicant_of(third), SELECTED + timedelta(hours=1), shared)
    )
    assert third.status == CaseStatus.WITHDRAWN
    assert third.id in at_market.withdrawn
    changed = give_up(first, shared, SELECTED + timedelta(days=1))
    assert [a.id for a in changed] == [at_market.id, fourth.id]  # the next but one
    assert fourth.offer is not None
    assert "withdraw_application" not in fourth.allowed_commands()  # it declines instead
