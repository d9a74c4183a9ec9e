"""The public lists of a town's holiday offerings from the read model answer as the offerings
themselves do (the fallback where no view is wired): the list of a year in the order
published, with its window, places, rules and version; those open now for the catalogue's
example, at their version. A view behind the log leaves the answer to the offerings, so the
example never names a child registered since. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.holiday import OfferingsInTheLog
from domain.actor import Actor, Role
from domain.holiday.offering import AllocationRules
from infrastructure.holiday_offering_directory import OfferingsInTheView
from infrastructure.wiring import Vorgang
from projections.holiday_query import offering_of
from tests.application.test_holiday_service import register
from tests.conftest import CLERK, FOREIGN_CLERK
from tests.steps import take

TOWNS = ("usingen", "schmitten")


def publish(
    vorgang: Vorgang,
    clock: FixedClock,
    code: str,
    *,
    actor: Actor = CLERK,
    places: int = 5,
    opens_in: timedelta = -timedelta(days=1),
    **rules: Any,
) -> UUID:
    """An offering of 2026 for children of 6 to 10, its window three weeks from ``opens_in``."""
    now = clock.now()
    return vorgang.holiday.publish(
        actor,
        year=2026,
        code=code,
        activity=f"Waldtag {code}",
        description="Ein Tag im Wald.",
        location="Hattsteinweiher",
        starts_on=now.date() + timedelta(days=60),
        ends_on=now.date() + timedelta(days=62),
        min_age=6,
        max_age=10,
        places=places,
        fee=Decimal("12.50"),
        registration_opens_at=now + opens_in,
        registration_closes_at=now + opens_in + timedelta(days=21),
        rules=AllocationRules(**rules),
        staff=[actor.id],
    ).id


def summaries(directory: Any, tenant: str, clock: FixedClock) -> list[tuple[Any, ...]]:
    return [
        (o.id, o.tenant, o.code, o.starts_on, o.min_age, o.max_age, o.version)
        for o in directory.open_in(tenant, clock.now())
    ]


def test_the_view_answers_as_the_offerings_themselves(vorgang: Vorgang, clock: FixedClock) -> None:
    drawn = publish(vorgang, clock, "zirkus", places=2, places_per_child=2)
    later = publish(vorgang, clock, "basteln", opens_in=timedelta(days=2))  # not yet open
    staffed = publish(vorgang, clock, "kanu", friends_together=False)
    publish(vorgang, clock, "wald", actor=FOREIGN_CLERK)
    families = {
        register(vorgang, drawn, family, *names): family
        for family, names in (("Muster", ("Mia", "Leo")), ("Sommer", ("Ida",)), ("Klein", ("Tom",)))
    }
    register(vorgang, staffed, "Sommer", "Ida")
    vorgang.holiday.close_window(CLERK, drawn, "Anmeldeschluss")
    placed = vorgang.holiday.draw(CLERK, drawn)
    assert placed.waiting_list  # four children for two places
    case = next(e.case_id for e in placed.entries() if e.status == "allocated")
    family = families[case]
    guardian = Actor(f"portal:{family}", f"Eva {family}", Role.APPLICANT, "usingen")
    take(vorgang.commands, case, "cancel_registration", guardian, reason="verreist")
    vorgang.holiday.change_staff(CLERK, staffed, [CLERK.id, "ben.weber"], "Betreuerwechsel")

    in_the_view = OfferingsInTheView(vorgang.store, vorgang.views, vorgang.projections)
    in_the_log = OfferingsInTheLog(vorgang.store)
    assert isinstance(vorgang.holiday.directory, OfferingsInTheView)  # wired
    for hours in (0, 50, 24 * 30, 24 * 70):  # open; all open; all closed; all ended
        clock.set(clock.now() + timedelta(hours=hours))
        now = clock.now()
        for town in TOWNS:
            listed = in_the_view.listed(town, 2026, now)
            assert listed == in_the_log.listed(town, 2026, now)
            assert summaries(in_the_view, town, clock) == summaries(in_the_log, town, clock)
        assert in_the_view.listed("usingen", 2025, now) == []
    listed = in_the_view.listed("usingen", 2026, clock.now())
    assert [o["id"] for o in listed] == [drawn, later, staffed]  # as published
    assert listed[0]["rules"]["places_per_child"] == 2
    after = vorgang.holiday.published(drawn)  # drawn, one family cancelled
    assert (listed[0]["allocated"], listed[0]["waiting"]) == (
        after.allocated_count,
        len(after.waiting_list),
    )
    assert listed[2]["version"] == vorgang.holiday.published(staffed).version  # staff changed


def test_a_view_behind_the_log_leaves_the_answer_to_the_offerings(
    vorgang: Vorgang, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    offering = publish(vorgang, clock, "zirkus")
    register(vorgang, offering, "Muster", "Mia")
    vorgang.projections.catch_up()
    register(vorgang, offering, "Sommer", "Ida")  # after the view caught up
    now = clock.now()
    stale = offering_of(vorgang.views, offering, now=now)
    current = vorgang.holiday.published(offering).version
    assert stale is not None
    assert stale["version"] < current

    directory = OfferingsInTheView(vorgang.store, vorgang.views, vorgang.projections)
    monkeypatch.setattr(vorgang.projections, "wait_for", lambda *_: False)  # never in time
    [behind] = directory.open_in("usingen", now)
    assert behind.version == current
    assert [o["version"] for o in directory.listed("usingen", 2026, now)] == [current]
    monkeypatch.undo()
    [caught_up] = directory.open_in("usingen", now)  # waited for the view: it reached the head
    assert caught_up.version == current
