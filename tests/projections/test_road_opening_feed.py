"""The road opening's own steps are published to integrators: the extension, the security
deposit taken and released and the traffic sign order linked, beside the works."""

from __future__ import annotations

from datetime import date, timedelta

from application.clock import FixedClock
from domain.case import Case
from domain.services.road_opening import RoadOpeningPermit
from infrastructure.wiring import Vorgang
from projections.feed import DESCRIPTIONS, PUBLISHED_CLASSES
from tests.conftest import CLERK
from tests.projections import legal_track
from tests.projections.test_feed import published, short
from tests.steps import take

SERVICE_EVENTS = {
    "WorksStarted": "works_started",
    "WorksCompleted": "works_completed",
    "RestorationInspected": "restoration_inspected",
    "PermitExtended": "permit_extended",
    "SecurityDepositTaken": "security_deposit_taken",
    "SecurityDepositReleased": "security_deposit_released",
    "SignOrderLinked": "traffic_sign_order_linked",
}


def test_every_event_of_the_road_opening_is_published_with_a_description() -> None:
    own = {
        name
        for name in dir(RoadOpeningPermit)
        if isinstance(getattr(RoadOpeningPermit, name), type)
        and issubclass(getattr(RoadOpeningPermit, name), RoadOpeningPermit.Event)
        and not hasattr(Case, name)  # the shared lifecycle's are published as the case's
    }
    assert own == set(SERVICE_EVENTS)
    for name, public in SERVICE_EVENTS.items():
        assert PUBLISHED_CLASSES[getattr(RoadOpeningPermit, name)] == public
        assert DESCRIPTIONS[public]


def test_an_extension_while_the_works_run_is_published(vorgang: Vorgang, clock: FixedClock) -> None:
    permit = legal_track.permit_with_works_started(vorgang, clock)
    case = vorgang.cases.store.repository.get(permit)
    last = case.valid_until
    assert isinstance(last, date)
    take(
        vorgang.cases,
        permit,
        "extend_permit",
        actor=CLERK,
        extended_to=last + timedelta(days=7),
        reason="Frost: Asphalt erst später",
    )
    events = published(vorgang, permit)
    assert [(short(e), e["data"]["status"]) for e in events][-2:] == [
        ("works_started", "works_started"),
        ("permit_extended", "works_started"),
    ]
