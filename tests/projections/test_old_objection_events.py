"""Objection events stored by the release before the legal track still project.

That release moved a case into ``objection_lodged`` and ``objection_forwarded`` and recorded
the status in the events (``ObjectionLodged`` and ``ObjectionForwarded`` version 2, with the
objection as received only); its notification recorded no delivery (``Notified`` version
2). Upcasters drop the statuses, so the views show such a case at ``notified``, with its
objection open, exactly as the aggregate now reads it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from api.routes.read_models import opener
from application.clock import FixedClock
from infrastructure.wiring import Vorgang
from projections.audit_query import AuditFilter, AuditQuery
from projections.feed_query import FeedFilter, FeedQuery
from projections.inbox_query import InboxFilter, InboxQuery
from tests.conftest import CLERK
from tests.projections import legal_track
from tests.projections.legal_track import aggregate, iso, today
from tests.steps import take

NOTIFIED_V3_ONLY = (
    "delivery",
    "sent_on",
    "received_on",
    "rules",
    "effective_from",
    "expires_on",
    "fee_due_on",
)


def as_stored_before(stored: StoredEvent, case_id: UUID) -> StoredEvent:
    """The event under another case id, in the shape the release before stored it."""
    state: dict[str, Any] = json.loads(stored.state)
    event_name = stored.topic.rsplit(".", 1)[-1]  # Case's events, as any service names them
    if event_name == "ObjectionLodged":
        state |= {"class_version": 2, "status": "objection_lodged"}
        objection = state["objection"]["_data_"]
        state["objection"]["_data_"] = {
            field: objection[field] for field in ("received_on", "grounds", "lodged_by")
        }
    elif event_name == "ObjectionForwarded":
        state |= {"class_version": 2, "status": "objection_forwarded"}
    elif event_name == "Notified":
        state["class_version"] = 2
        for field in NOTIFIED_V3_ONLY:
            del state[field]
    return replace(stored, originator_id=case_id, state=json.dumps(state).encode())


def test_a_case_with_an_objection_stored_before_shows_notified_and_the_objection_open(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    # Forwarded as that release did; now only road traffic matters are forwarded.
    template = legal_track.notified_traffic_sign_order(vorgang, clock)
    legal_track.lodge_objection(vorgang, template)
    take(vorgang.cases, template, "forward_objection", actor=CLERK, reason="Keine Abhilfe")
    old = uuid4()
    stored = vorgang.store.recorder.select_events(template)
    shapes = [as_stored_before(s, old) for s in stored]
    versions = {
        s.topic.rsplit(".", 1)[-1]: json.loads(s.state).get("class_version") for s in shapes
    }
    assert versions["ObjectionLodged"] == versions["ObjectionForwarded"] == 2  # as stored then
    assert versions["Notified"] == 2
    vorgang.store.recorder.insert_events(shapes)
    case = aggregate(vorgang, old)
    assert case.status == "notified"
    assert case.open_objection is not None

    vorgang.projections.catch_up()
    query = InboxQuery(vorgang.views, opener(vorgang.projections))
    items, _ = query.page(
        InboxFilter(tenant="usingen", objection_open=True), today=today(clock), limit=9, cursor=None
    )
    row = next(item for item in items if item["case_id"] == str(old))
    assert row["status"] == "notified"
    assert row["objection_state"] == "forwarded"
    assert row["objection_deadline"] == iso(case.objection_deadline)
    assert row["overdue"] is False

    feed = FeedQuery(vorgang.views).page(FeedFilter(tenants=("usingen",)), after=0, limit=99)
    published = [e for e in feed if e["subject"] == str(old)]
    assert [e["data"]["status"] for e in published][-3:] == ["notified"] * 3
    assert published[-3]["data"]["delivery"] == "counter"  # as notifications were recorded
    assert published[-2]["data"]["timely"] is True

    audit = AuditQuery(vorgang.views, opener(vorgang.projections))
    trail, _ = audit.page(
        AuditFilter(tenants=("usingen",), case_id=str(old)), limit=99, cursor=None
    )
    for entry in trail[-2:]:
        assert "status" not in entry["changes"], entry["event_type"]
