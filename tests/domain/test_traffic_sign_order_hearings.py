"""Which answer of the police and the road authority an order records (VwV-StVO zu § 45
Abs. 1 bis 1e, Nr. I): heard again, the later answer counts, by the day it was given."""

from __future__ import annotations

from datetime import date, timedelta

from domain.decision import DecisionOutcome
from domain.services.traffic_sign_order import (
    SERVICE_ID,
    TrafficSignOrder,
    TrafficSignOrderApplication,
    example,
)
from tests.domain.case_fixtures import CLERK, START, noon, service_case


def test_a_hearing_recorded_late_for_an_earlier_day_does_not_displace_the_later_answer() -> None:
    form = TrafficSignOrderApplication.model_validate(example(START.date()))
    order = service_case(TrafficSignOrder, SERVICE_ID, form)
    order.confirm_complete(actor=CLERK, at=START + timedelta(hours=1))
    order.claim(actor=CLERK, at=START + timedelta(hours=2))
    today = date(2026, 3, 6)

    def heard(authority: str, on: date, response: str) -> None:
        order.record_authority_hearing(
            actor=CLERK,
            at=noon(today),
            authority=authority,  # type: ignore[arg-type]
            heard_on=on,
            response=response,  # type: ignore[arg-type]
        )

    heard("police", date(2026, 3, 5), "objected")
    heard("road_authority", date(2026, 3, 4), "consented")
    heard("police", date(2026, 3, 3), "consented")  # the earlier answer, recorded late
    in_effect = {h.authority: h.response for h in order.hearings_in_effect()}
    assert in_effect == {"police": "objected", "road_authority": "consented"}
    order.decide(
        actor=CLERK,
        at=noon(today),
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Die Einwände der Polizei sind durch die Auflagen ausgeräumt.",
        legal_basis="§ 45 Abs. 1 StVO",
        discretion="Der Umzug überwiegt; die Zufahrt bleibt frei.",
    )
    decision = order.current_decision()
    assert decision.particulars["authority_hearings"][0] == {
        "authority": "police",
        "heard_on": "2026-03-05",
        "response": "objected",
    }
