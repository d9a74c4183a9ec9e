"""The demo data: every state in every town, and running it again creates nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from domain.payments.receivable import Receivable, receivable_id
from domain.rules.dog_tax import Rate, replay_year
from domain.tenants import TENANTS
from domain.working_days import add_months
from infrastructure.demo import seed_demo
from infrastructure.wiring import Vorgang


def test_demo_covers_every_state_in_all_four_towns_and_is_idempotent(vorgang: Vorgang) -> None:
    first = seed_demo(vorgang)
    position = vorgang.store.recorder.max_notification_id()
    again = seed_demo(vorgang)
    assert again == first
    assert vorgang.store.recorder.max_notification_id() == position  # nothing new stored
    cases: list[Any] = [vorgang.store.repository.get(case_id) for case_id in first]
    assert {c.tenant for c in cases} == set(TENANTS)
    permit_states = Counter(c.status for c in cases if c.service == "road-opening")
    assert set(permit_states) == {
        "submitted",
        "in_review",
        "information_requested",
        "awaiting_payment",  # billed to the contractor's account: paid online before issue
        "decided",  # the Bescheid waits in the portal for its download (its Bekanntgabe)
        "notified",
        "works_started",
        "works_completed",
        "restoration_defective",
        "warranty_running",
        "closed",
        "withdrawn",
    }
    # Each town's Bescheid sent to the postbox was retrieved: notified the day after, by it.
    delivered = [c for c in cases if c.service == "road-opening" and c.issued_documents]
    by_postbox = [
        c for c in delivered if c.notification and c.notification["delivery"] == "postbox"
    ]
    assert {c.tenant for c in by_postbox} == set(TENANTS)
    for case in by_postbox:
        retrieved = case.issued_documents[0].dispatches[-1].outcome_on
        assert case.notified_on == retrieved + timedelta(days=1)
    by_letter = [c for c in delivered if (c.notification or {}).get("delivery") == "letter"]
    assert len(by_letter) == 1
    # In each town the contractor paid one permit at the cash office and owes the other.
    billed = [c for c in cases if c.business_customer is not None]
    assert Counter(c.tenant for c in billed) == dict.fromkeys(TENANTS, 2)
    assert Counter(c.status for c in billed) == {"decided": 4, "awaiting_payment": 4}
    for case in billed:
        [charge, *_more] = case.charges
        assert charge.prepaid
        assert (charge.kassenzeichen in case.settled_charges) == (case.status == "decided")
    connection_states = Counter(c.status for c in cases if c.service == "sewer-connection")
    assert set(connection_states) == {
        "submitted",
        "in_review",
        "information_requested",
        "notified",
        "construction_reported",
        "connection_defective",
        "connection_accepted",
        "charge_assessed",
        "final",
        "closed",
        "withdrawn",
    }
    parking = [c for c in cases if c.service == "resident-parking"]
    assert {c.status for c in parking} == {
        "submitted",
        "in_review",
        "information_requested",
        "notified",
        "final",
        "permit_returned",
        "permit_revoked",
        "closed",
        "withdrawn",
    }
    refusals = Counter(
        r
        for c in parking
        if c.decision is not None
        for rules in c.decision.rules
        for r in rules.inputs.get("refusals", [])
    )
    # One outside every zone in each town, and the refusal a late objection came against.
    assert refusals == {"outside_zones": 5, "vehicle_holds_permit": 4}
    assert sum(1 for c in parking if c.renewed is not None) == 4
    # In every town a renewal and a plate change notified, a revocation in effect at once
    # (immediate enforcement) and one suspended by an objection (§ 80 (1) VwGO).
    for tenant in TENANTS:
        mine = [c for c in parking if c.tenant == tenant]
        notified = Counter(d["kind"] for c in mine for d in c.permit_decisions if d["notified_on"])
        assert notified["renewal"] >= 1, tenant
        assert notified["plate_change"] >= 1, tenant
        revocations = {c.revocation["state"] for c in mine if c.revocation}
        assert {"in_effect", "suspended"} <= revocations, tenant
    order_states = Counter(c.status for c in cases if c.service == "traffic-sign-order")
    assert set(order_states) == {
        "submitted",
        "in_review",
        "information_requested",
        "notified",
        "signs_up",
        "completed",
        "final",
        "closed",
        "withdrawn",
    }
    general = [c for c in cases if c.service == "general"]
    assert {"submitted", "notified", "final", "closed", "withdrawn"} <= {c.status for c in general}
    # An objection leaves the main track where it was: the refused Werbeanlage stays notified.
    objected = [c for c in general if c.open_objection is not None]
    assert {c.tenant for c in objected} == set(TENANTS)
    assert {c.status for c in objected} == {"notified"}
    dogs = [c for c in cases if c.service == "dog-registration"]
    assert Counter(c.status for c in dogs) == {"notified": 21, "submitted": 4, "deregistered": 1}
    for tenant in TENANTS:
        mine = [c for c in dogs if c.tenant == tenant]
        registered = [c for c in mine if c.registered]
        # Each registered dog's Bescheid is notified and charged the tax of its year(s).
        assert len(registered) >= 4, tenant
        for case in registered:
            assert case.status == "notified", tenant
            assert case.tax_years, tenant
            assert case.decision is not None, tenant
            assert {y.kassenzeichen for y in case.tax_years.values()} <= {
                c.kassenzeichen for c in case.charges
            }
        # The town's roll issued every number once: 1..k over the files, lost tags included.
        tags = sorted(tag for c in mine for tag in c.tags)
        assert tags == list(range(1, len(tags) + 1)), tenant
        assert sum(1 for c in mine if c.status == "submitted") == 1, tenant  # in the inbox
        shelter = [c for c in registered if c.relief is not None]
        assert [c.relief.reason.value for c in shelter] == ["shelter_dog"], tenant
        listed = [c for c in registered if c.breed_listed]
        assert len(listed) == 1, tenant
        assert listed[0].permit is not None, tenant
        assert listed[0].permit["granted"], tenant
        assert _rates(listed[0]) == {Rate.DANGEROUS}, tenant
        replaced = [c for c in registered if len(c.tags) == 2]
        assert len(replaced) == 1, tenant
        assert replaced[0].tag == replaced[0].tags[-1], tenant
        assert [c.ledger for c in replaced[0].charges][-1] == "administrative_fee", tenant
    # A keeper's second dog pays the second dog's rate, in two towns.
    households = Counter((c.tenant, c.household_id) for c in dogs if c.registered)
    pairs = [key for key, count in households.items() if count == 2]
    assert {tenant for tenant, _ in pairs} == {"usingen", "schmitten"}
    for tenant, household in pairs:
        first, second = sorted(
            (c for c in dogs if c.household_id == household), key=lambda c: c.tags[0]
        )
        assert _rates(first) == {Rate.FIRST}, tenant
        assert _rates(second) == {Rate.SECOND}, tenant
    # In Schmitten the shelter's relief came after the Bescheid: the earlier charge withdrawn.
    reassessed = [c for c in dogs if c.relief is not None and c.withdrawn_charges]
    assert [c.tenant for c in reassessed] == ["schmitten"]
    # Its amending notice was made known, dating the new charge a month after it.
    [relieved] = reassessed
    [notice] = relieved.tax_changes
    year = max(relieved.tax_years)
    assert notice["years"] == {year: str(relieved.tax_years[year].due)}
    assert notice["due_on"] == add_months(notice["notified_on"], 1)
    assert notice["notified_on"] > relieved.notified_on  # after the Bescheid's Bekanntgabe
    kassenzeichen = relieved.tax_years[year].kassenzeichen
    receivable = vorgang.store.repository.get(receivable_id("schmitten", kassenzeichen))
    assert isinstance(receivable, Receivable)
    assert (receivable.due_on, receivable.amount) == (
        notice["due_on"],
        relieved.tax_years[year].due,
    )
    # No re-assessment in the demo waits for its notice (the handover's was sent too).
    assert [c for c in dogs if c.changes_to_notify] == []
    assert {c.tenant for c in dogs if c.tax_changes} == {"schmitten", "neu-anspach"}
    # A dog handed over: deregistered, its tag back; the new keeper registered the same chip.
    [given] = [c for c in dogs if c.deregistration == "handover"]
    [taken] = [c for c in dogs if c is not given and c.chip() == given.chip()]
    assert given.tenant == taken.tenant == "neu-anspach"
    assert given.tag is None
    assert taken.registered
    assert taken.household_id != given.household_id
    assert taken.application.taken_in_on == given.deregistered_on
    # Water meter readings (infrastructure/demo_water.py, which checks the meters): in each
    # town two years' readings closed, this year's accepted, corrected, flagged and unknown.
    readings = [c for c in cases if c.service == "water-meter-reading"]
    for tenant in TENANTS:
        statuses = Counter(c.status for c in readings if c.tenant == tenant)
        assert statuses == {"closed": 13, "reading_flagged": 1, "meter_unknown": 1}, tenant
    # Holiday registrations (infrastructure/demo_holiday.py, which checks the offerings): in
    # each town thirteen families registered for an offering that ended, one drawn (a family
    # with a place cancelled) and one open now; the draws decide who holds a place.
    holiday = [c for c in cases if c.service == "holiday-registration"]
    assert Counter(c.tenant for c in holiday) == dict.fromkeys(TENANTS, 13)
    assert {c.status for c in holiday} == {
        "registered",
        "place_allocated",
        "waiting_list",
        "closed",
    }
    # Market stalls (infrastructure/demo_markets.py, which checks the markets): in each town
    # seven traders applied for the Kerb (selected and notified, a pitch given up and moved
    # up) and three for the Christmas market open now.
    stalls = [c for c in cases if c.service == "market-stall"]
    for tenant in TENANTS:
        statuses = Counter(c.status for c in stalls if c.tenant == tenant)
        assert statuses == {"notified": 6, "pitch_given_up": 1, "applied": 3}, tenant


def _rates(case: Any) -> set[Rate]:
    """The rates a dog file's latest year was assessed at, month by month."""
    assessed = replay_year(case.tax_years[max(case.tax_years)].rules)
    [dog] = [d for d in assessed.dogs if d.dog_id == str(case.id)]
    return {month.rate for month in dog.months}
