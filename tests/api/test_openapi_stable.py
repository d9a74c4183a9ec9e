"""The OpenAPI document keeps every route, parameter, body, status code and access rule.

``openapi_before.json`` is the document as it was before the command pipeline and the route
factory replaced the hand-written routes. The comparison is structural: every path and
method, its parameters (name, in, required, schema), its request body schema and the
schemas of its responses by status code, with every ``$ref`` resolved, and the declared
access (``x-vorgang-access``, ``x-vorgang-integrator-scope``). Prose and presentation may
change freely: operationIds, summaries, descriptions, examples, security declarations and
the content of problem responses. A difference that is meant is listed in ``INTENDED``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.app import create_app
from infrastructure.settings import Settings

BEFORE = Path(__file__).with_name("openapi_before.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PROBLEM_JSON = "application/problem+json"
# Keys that are prose or presentation in any schema or parameter, not structure.
# Titles too: FastAPI derives inline titles from operation ids, which may change.
PROSE = frozenset({"description", "summary", "example", "examples", "x-label-de", "title"})
ACCESS = ("x-vorgang-access", "x-vorgang-integrator-scope")

_BODY = "requestBody/content/application/json"
_SERVICE_FIELDS = json.dumps(
    [
        "id",
        "label_de",
        "label_en",
        "legal_basis",
        "processing_period_working_days",
        "lead_time_working_days",
        "fee_tariff",
        "deemed_approval",
        "retention_years",
        "application_schema",
        "example",
    ]
)
_SERVICE_FIELDS_WITH_RETENTION_BASIS = _SERVICE_FIELDS.replace(
    '"retention_years", ', '"retention_years", "retention_legal_basis", '
)
_CASE_FIELDS = [
    "id",
    "reference",
    "tenant",
    "service",
    "status",
    "version",
    "submitted_at",
    "submitted_by",
    "last_activity_at",
    "channel",
    "applicant",
    "data",
    "holder",
    "processing",
    "decision",
    "pending_decision",
    "notified_on",
    "objection_deadline",
    "allowed_commands",
]
_CASE_FIELDS_WITH_LEGAL_TRACK = [
    *_CASE_FIELDS[: _CASE_FIELDS.index("notified_on")],
    "notification",
    "notified_on",
    "objection_deadline",
    "final_on",
    "objections",
    "allowed_commands",
]
_CLOCK_FIELDS = ["started_on", "stopped_since", "due_on", "extended"]
_INBOX_ITEM = "/GET /api/v1/inbox/responses/200/application/json/properties/items/items"
_INBOX_FIELDS = [
    "case_id",
    "reference",
    "service",
    "applicant_name",
    "status",
    "assignee",
    "submitted_at",
    "due_on",
    "working_days_left",
    "overdue",
    "waiting_for_applicant",
    "last_activity_at",
]
_INBOX_LEGAL_TRACK = ["decided_on", "objection_open", "objection_state", "objection_deadline"]
_FEED_DATA = (
    "/GET /api/v1/feed/responses/200/application/cloudevents-batch+json/items/properties/data"
)
_CASE_CHANGES = (
    "properties/final_on: added",
    "properties/deemed_approval: added",  # issue 21: the approval deemed granted (§ 42a)
    "properties/expired_on: added",  # issue 21: the approval expired (§ 43 (2) HVwVfG)
    "properties/notification: added",
    "properties/objections: added",
    "properties/processing/properties/decided_on: added",
    "properties/processing/properties/deemed_approval: added",
    "properties/processing/properties/overdue: added",
    f"properties/processing/required: {json.dumps(_CLOCK_FIELDS)} → "
    f"{json.dumps([*_CLOCK_FIELDS, 'deemed_approval', 'decided_on', 'overdue'])}",
    f"required: {json.dumps(_CASE_FIELDS)} → {json.dumps(_CASE_FIELDS_WITH_LEGAL_TRACK)}",
)


def _answers_with_a_case() -> list[str]:
    """Every answer of the document before that was a case: ``/METHOD path/responses/…``."""
    document = json.loads(BEFORE.read_text(encoding="utf-8"))
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, answer in operation.get("responses", {}).items():
                for media, content in (answer.get("content") or {}).items():
                    if content.get("schema") == {"$ref": "#/components/schemas/CaseOut"}:
                        found.append(f"/{method.upper()} {path}/responses/{status}/{media}")
    return found


# Differences that are meant, exactly as the comparison reports them.
INTENDED: frozenset[str] = frozenset(
    {
        # Issue 23: citizens' office appointments, tickets and calls.
        "/GET /api/v1/appointments/stats: added",
        "/GET /api/v1/appointments/{tenant}/offices: added",
        "/GET /api/v1/appointments/{tenant}/{office_id}/queue: added",
        "/GET /api/v1/appointments/{tenant}/{office_id}/slots: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/bookings: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/bookings/{day}/{code}/cancel: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/bookings/{day}/{code}/rebook: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/check-in: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/counters/{counter}/call-next: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/holds: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/tickets/{ticket}/call-again: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/tickets/{ticket}/missed: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/tickets/{ticket}/served: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/walk-ins: added",
        # Issue 23: the desk — any slot, cancel without the token, the day's bookings.
        "/GET /api/v1/appointments/{tenant}/{office_id}/desk/bookings: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/desk/bookings: added",
        "/POST /api/v1/appointments/{tenant}/{office_id}/desk/bookings/{day}/{code}/cancel: added",
        # Issue 23: a booking's contact for the integrator sending its reminder.
        "/GET /api/v1/appointments/{tenant}/{office_id}/reminders/{reference}/contact: added",
        # Issue 23: the Bürgermonitor's public pages and stream.
        "/GET /monitor/{tenant}: added",
        "/GET /monitor/{tenant}/{office}: added",
        "/GET /monitor/{tenant}/{office}/events: added",
        # Issue 22: the Bescheid as a document — issued, sent, its outcomes, listed, served.
        "/GET /api/v1/cases/{case_id}/documents: added",
        "/GET /api/v1/cases/{case_id}/documents/{number}: added",
        "/POST /api/v1/cases/{case_id}/documents: added",
        "/POST /api/v1/cases/{case_id}/documents/{number}/outcomes: added",
        "/POST /api/v1/cases/{case_id}/documents/{number}/sendings: added",
        # Procedure law 2, traffic sign order: the hearing of police and road authority
        # before an order, and the set-up report's time and vehicles parked.
        "/POST /api/v1/cases/{case_id}/authority-hearings: added",
        # Issue 21: deemed approval (§ 42a HVwVfG) recorded, and its certificate (§ 42a (3)).
        "/POST /api/v1/cases/{case_id}/deemed-approval: added",
        "/POST /api/v1/cases/{case_id}/deemed-approval-certificate: added",
        # Issue 21: the approval's validity ended (§ 43 (2) HVwVfG), recorded as a case event.
        "/POST /api/v1/cases/{case_id}/expiry: added",
        # Issue 21: the inbox shows the latest open reminder or escalation and filters by them.
        "/GET /api/v1/inbox/parameters/query:escalated: added",
        "/GET /api/v1/inbox/parameters/query:reminded: added",
        f"{_INBOX_ITEM}/properties/notice: added",
        *(
            f"/POST /api/v1/cases/{{case_id}}/signs-up/{_BODY}/properties/{name}: added"
            for name in ("signs_up_at", "parked_vehicles", "parked_plates")
        ),
        # Procedure law 2, sewer connection: drainage plans and the owner's authorisation
        # before the permit, leak tests, who built the connection, the charge assessment
        # with its debtor, and its notification.
        "/POST /api/v1/cases/{case_id}/drainage-plans: added",
        "/POST /api/v1/cases/{case_id}/owner-authorisation: added",
        "/POST /api/v1/cases/{case_id}/leak-tests: added",
        "/POST /api/v1/cases/{case_id}/connection-charge/notification: added",
        f"/POST /api/v1/cases/{{case_id}}/construction-reported/{_BODY}/properties/built_by: added",
        "/POST /api/v1/cases/{case_id}/connection-charge/requestBody: null → "
        '{"content": {"application/json": {"anyOf": [{"additionalProperties": false, '
        '"properties": {"debtor_address": {"anyOf": [{"maxLength": 300, "minLength": 1, '
        '"type": "string"}, {"type": "null"}]}, "debtor_name": {"anyOf": [{"maxLength": 300, '
        '"minLength": 1, "type": "string"}, {"type": "null"}]}}, "type": "object"}, '
        '{"type": "null"}]}}, "required": false}',
        # Procedure law 2, road opening: the permit extended, the security deposit taken and
        # released, the traffic sign order linked by its reference.
        "/POST /api/v1/cases/{case_id}/permit-extensions: added",
        "/POST /api/v1/cases/{case_id}/security-deposit: added",
        "/POST /api/v1/cases/{case_id}/security-deposit/release: added",
        "/POST /api/v1/cases/{case_id}/traffic-sign-order: added",
        # The burial registration's steps and the clerks' GET on a grave (issue 17).
        "/GET /api/v1/graves/{tenant}/{cemetery}/{field}/{row}/{number}: added",
        "/POST /api/v1/cases/{case_id}/burial-cancellation: added",
        "/POST /api/v1/cases/{case_id}/burial-carried-out: added",
        "/POST /api/v1/cases/{case_id}/burial-schedule: added",
        # The grave right application's decision and the headstone permit's steps (issue 17).
        "/POST /api/v1/cases/{case_id}/grave-right-decision: added",
        "/POST /api/v1/cases/{case_id}/headstone-inspections: added",
        "/POST /api/v1/cases/{case_id}/headstone-set: added",
        "/POST /api/v1/cases/{case_id}/stability-checks: added",
        # The dog registration service's steps (issue 25).
        *(
            f"/POST /api/v1/cases/{{case_id}}/{path}: added"
            for path in (
                "dangerous-dog-permit",
                "dog-danger-findings",
                "dog-deregistration",
                "dog-register",
                "dog-relief",
                "dog-tax-change-notices",  # the amending notice made known
                "dog-tax-years",
                "tag-replacements",
            )
        ),
        # The catalogue names why files are kept as long as they are (retention as a domain
        # piece: fee assessments are accounting vouchers).
        "/GET /api/v1/services/responses/200/application/json/items/properties/"
        "retention_legal_basis: added",
        f"/GET /api/v1/services/responses/200/application/json/items/required: "
        f"{_SERVICE_FIELDS} → {_SERVICE_FIELDS_WITH_RETENTION_BASIS}",
        "/GET /api/v1/services/{service}/responses/200/application/json/properties/"
        "retention_legal_basis: added",
        f"/GET /api/v1/services/{{service}}/responses/200/application/json/required: "
        f"{_SERVICE_FIELDS} → {_SERVICE_FIELDS_WITH_RETENTION_BASIS}",
        # Procedure law 1: the legal track beside the case. New steps of the objection track;
        # the notification by delivery type (the day follows by law, so no notified_on);
        # the remedy notice generated (no legal_remedy_notice in any decision body) and the
        # record a Bescheid needs; completeness on the day the last document came; an
        # extension communicated in time; withdrawal and its reason optional; forwarding
        # to the configured objection authority by default; remedy with extent and costs.
        "/POST /api/v1/cases/{case_id}/objections/decision: added",
        "/POST /api/v1/cases/{case_id}/objections/hearing: added",
        "/POST /api/v1/cases/{case_id}/objections/reinstatement: added",
        "/POST /api/v1/cases/{case_id}/objections/withdraw: added",
        "/POST /api/v1/cases/{case_id}/remedy-notice-defect: added",
        '/POST /api/v1/cases/{case_id}/confirm-complete/requestBody: null → {"content": '
        '{"application/json": {"anyOf": [{"additionalProperties": false, "properties": '
        '{"documents_complete_on": {"anyOf": [{"format": "date", "type": "string"}, '
        '{"type": "null"}]}}, "type": "object"}, {"type": "null"}]}}, "required": false}',
        *(
            f"/POST /api/v1/cases/{{case_id}}/decide/{_BODY}/properties/{name}: added"
            for name in (
                "discretion",
                "hearing_held_on",
                "hearing_not_needed_because",
                "operative_part",
                "provisions",
                "representative",
            )
        ),
        f"/POST /api/v1/cases/{{case_id}}/decide/{_BODY}/properties/legal_remedy_notice: removed",
        f"/POST /api/v1/cases/{{case_id}}/decide/{_BODY}/required: "
        '["outcome", "justification", "legal_basis", "legal_remedy_notice"] → '
        '["outcome", "justification", "legal_basis"]',
        f"/POST /api/v1/cases/{{case_id}}/extend-period/{_BODY}/properties/communicated_on: added",
        f"/POST /api/v1/cases/{{case_id}}/notify/{_BODY}/additionalProperties: added",
        f"/POST /api/v1/cases/{{case_id}}/notify/{_BODY}/anyOf: removed",
        f"/POST /api/v1/cases/{{case_id}}/notify/{_BODY}/properties: added",
        f"/POST /api/v1/cases/{{case_id}}/notify/{_BODY}/required: added",
        f"/POST /api/v1/cases/{{case_id}}/notify/{_BODY}/type: added",
        "/POST /api/v1/cases/{case_id}/notify/requestBody/required: false → true",
        *(
            f"/POST /api/v1/cases/{{case_id}}/objections/forward/{_BODY}/properties/authority/"
            f"{change}"
            for change in ("anyOf: added", "maxLength: removed", "minLength: removed")
        ),
        f"/POST /api/v1/cases/{{case_id}}/objections/forward/{_BODY}/properties/authority/"
        "type: removed",
        f"/POST /api/v1/cases/{{case_id}}/objections/forward/{_BODY}/required: "
        '["authority", "reason"] → ["reason"]',
        *(
            f"/POST /api/v1/cases/{{case_id}}/objections/remedy/{_BODY}/properties/{name}: added"
            for name in ("costs_borne_by", "extent", "fee_refund", "new_decision", "operative_part")
        ),
        f"/POST /api/v1/cases/{{case_id}}/parking-decision/{_BODY}/properties/"
        "legal_remedy_notice: removed",
        f"/POST /api/v1/cases/{{case_id}}/parking-decision/{_BODY}/properties/"
        "representative: added",
        f"/POST /api/v1/cases/{{case_id}}/parking-decision/{_BODY}/required: removed",
        # Resident parking (issue #20): a revocation names its § 49 (2) HVwVfG ground, the
        # hearing, the considerations and optionally immediate enforcement; renewals, plate
        # changes and revocations are notified; the objection to a revocation has its track.
        *(
            f"/POST /api/v1/cases/{{case_id}}/parking-revocation/{_BODY}/properties/{name}: added"
            for name in (
                "discretion",
                "facts_known_since",
                "ground",
                "hearing_held_on",
                "hearing_not_needed_because",
                "immediate_enforcement",
            )
        ),
        f"/POST /api/v1/cases/{{case_id}}/number-plate-changes/{_BODY}/properties/valid_from: "
        "added",
        f"/POST /api/v1/cases/{{case_id}}/parking-revocation/{_BODY}/properties/legal_basis: "
        "removed",
        f"/POST /api/v1/cases/{{case_id}}/parking-revocation/{_BODY}/required: "
        '["reason", "legal_basis"] → ["ground", "reason", "facts_known_since", "discretion"]',
        *(
            f"/POST /api/v1/cases/{{case_id}}/{path}: added"
            for path in (
                "permit-decision-notifications",
                "revocation-final",
                "revocation-objections",
                "revocation-objections/decision",
                "revocation-objections/remedy",
                "revocation-objections/withdrawal",
            )
        ),
        f"/POST /api/v1/cases/{{case_id}}/withdraw/{_BODY}/additionalProperties: removed",
        f"/POST /api/v1/cases/{{case_id}}/withdraw/{_BODY}/anyOf: added",
        f"/POST /api/v1/cases/{{case_id}}/withdraw/{_BODY}/properties: removed",
        f"/POST /api/v1/cases/{{case_id}}/withdraw/{_BODY}/required: removed",
        f"/POST /api/v1/cases/{{case_id}}/withdraw/{_BODY}/type: removed",
        "/POST /api/v1/cases/{case_id}/withdraw/requestBody/required: true → false",
        # ... and every answer that is a case shows the legal track and more of the clock.
        *(f"{answer}/{change}" for answer in _answers_with_a_case() for change in _CASE_CHANGES),
        # The inbox shows the legal track beside the status (inbox v2): the decision day
        # that stops the clock, whether an objection is open and where it stands, the
        # objection deadline; a clerk lists the cases with an open objection whatever
        # their status.
        "/GET /api/v1/inbox/parameters/query:objection_open: added",
        *(f"{_INBOX_ITEM}/properties/{name}: added" for name in _INBOX_LEGAL_TRACK),
        f"{_INBOX_ITEM}/required: {json.dumps(_INBOX_FIELDS)} → "
        f"{json.dumps([*_INBOX_FIELDS, *_INBOX_LEGAL_TRACK])}",
        # The feed's events of the legal track carry their dates and outcomes (optional:
        # each on its own types only, and absent on rows published before).
        *(
            f"{_FEED_DATA}/properties/{name}: added"
            for name in (
                "action_deadline",
                "authority",
                "delivery",
                "fee_refund",
                "final_on",
                "new_decision",
                "notified_on",
                "objection_deadline",
                "objection_outcome",
                "received_on",
                "sent_on",
                "served_on",
                "timely",
            )
        ),
        # Issue 21: the feed publishes reminders and escalations (reminder_sent, escalated).
        *(
            f"{_FEED_DATA}/properties/{name}: added"
            for name in ("addressees", "due_on", "fired_on", "timer")
        ),
        # Issue 24: e-payment. The clerk's "record payment" is gone on purpose (ordering a
        # payment and handling cash are separate duties): a case is billed to a business
        # customer instead, the provider or the cash office confirms the money. Every
        # answer that is a case shows its payment (the account billed, the fees charged).
        "/POST /api/v1/cases/{case_id}/payments: removed",
        "/POST /api/v1/cases/{case_id}/billing: added",
        *(f"{answer}/properties/payment: added" for answer in _answers_with_a_case()),
        *(
            f"{route}: added"
            for route in (
                "/POST /api/v1/business-customers",
                "/GET /api/v1/business-customers/{account_id}",
                "/PUT /api/v1/business-customers/{account_id}/members/{member}",
                "/DELETE /api/v1/business-customers/{account_id}/members/{member}",
                "/GET /api/v1/business-customers/{account_id}/receivables",
                "/GET /api/v1/business-customers/{account_id}/payment-requests",
                "/GET /api/v1/receivables",
                "/GET /api/v1/receivables/{kassenzeichen}",
                "/POST /api/v1/receivables/{kassenzeichen}/receipts",
                "/POST /api/v1/payment-requests",
                "/GET /api/v1/payment-requests/{request_id}",
                "/POST /api/v1/payment-requests/{request_id}/cancellation",
                "/POST /api/v1/payment-requests/{request_id}/status-poll",
                "/POST /api/v1/payment-requests/{request_id}/refunds",
                "/POST /api/v1/payment-requests/{request_id}/refunds/{refund}/approval",
                "/POST /api/v1/payment-requests/{request_id}/refunds/{refund}/rejection",
                "/POST /api/v1/payments/providers/{provider}/callbacks",
                "/GET /api/v1/payments/reconciliations",
            )
        ),
        # Issue 26: water meter readings. The reading case's clerk steps, and the staff's
        # meters and campaigns.
        *(
            f"/POST /api/v1/cases/{{case_id}}/{step}: added"
            for step in (
                "reading-confirmation",
                "reading-correction",
                "meter-assignment",
                "reading-rejection",
            )
        ),
        *(
            f"{route}: added"
            for route in (
                "/POST /api/v1/water-meters",
                "/GET /api/v1/water-meters",
                "/GET /api/v1/water-meters/{meter_id}",
                "/POST /api/v1/water-meters/{meter_id}/corrections",
                "/POST /api/v1/water-meters/{meter_id}/exchange",
                "/POST /api/v1/water-meters/{meter_id}/removal",
                "/POST /api/v1/water-meters/{meter_id}/recalibration",
                "/GET /api/v1/water-meters/{meter_id}/readings/{number}/replay",
                "/POST /api/v1/water-campaigns",
                "/GET /api/v1/water-campaigns/{year}",
                "/POST /api/v1/water-campaigns/{year}/estimates",
                "/POST /api/v1/water-campaigns/{year}/close",
            )
        ),
        # Issue 27: the holiday programme. The staff's offerings and draws (published facts
        # public), the guardian's cancellation on the registration case, and the catalogue's
        # examples per town (a registration names an offering open in the town).
        *(
            f"{route}: added"
            for route in (
                "/POST /api/v1/holiday-offerings",
                "/GET /api/v1/holiday-offerings",
                "/GET /api/v1/holiday-offerings/{offering_id}",
                "/POST /api/v1/holiday-offerings/{offering_id}/window-closure",
                "/POST /api/v1/holiday-offerings/{offering_id}/draw",
                "/GET /api/v1/holiday-offerings/{offering_id}/draw",
                "/GET /api/v1/holiday-offerings/{offering_id}/draw/replay",
                "/GET /api/v1/holiday-offerings/{offering_id}/registrations",
                "/GET /api/v1/holiday-offerings/{offering_id}/health-notes",
                "/PUT /api/v1/holiday-offerings/{offering_id}/staff",
                "/POST /api/v1/cases/{case_id}/registration-cancellation",
            )
        ),
        # Issue 28: markets. The staff's markets and selections (published facts public),
        # the stall application's steps (score sheet, withdrawal, give-up, offers), and the
        # feed's market and stall events' data (no business, score, lot or reason).
        *(
            f"{_FEED_DATA}/properties/{name}: added"
            for name in (
                "algorithm",
                "by_the_town",
                "category",
                "frontage_m",
                "market_id",
                "pitch",
                "rank",
                "ranked",
                "selection_outcome",
                "until",
            )
        ),
        *(
            f"{route}: added"
            for route in (
                "/POST /api/v1/markets",
                "/GET /api/v1/markets",
                "/GET /api/v1/markets/{market_id}",
                "/POST /api/v1/markets/{market_id}/selection",
                "/GET /api/v1/markets/{market_id}/selection",
                "/GET /api/v1/markets/{market_id}/selection/replay",
                "/GET /api/v1/markets/{market_id}/applications",
                "/GET /api/v1/markets/{market_id}/score-sheets",
                "/GET /api/v1/markets/{market_id}/pitches",
                "/POST /api/v1/cases/{case_id}/score-sheet",
                "/POST /api/v1/cases/{case_id}/application-withdrawal",
                "/POST /api/v1/cases/{case_id}/pitch-give-up",
                "/POST /api/v1/cases/{case_id}/pitch-offer-acceptance",
                "/POST /api/v1/cases/{case_id}/pitch-offer-refusal",
                "/POST /api/v1/cases/{case_id}/pitch-offer-expiry",
                "/POST /api/v1/cases/{case_id}/pitch-revocation",
                "/POST /api/v1/cases/{case_id}/remedy-admission",
            )
        ),
        # Issue 29: webhook subscriptions (service accounts with webhooks:manage and the
        # town's administrators): subscribe, read with the delivery's status, delete, enable,
        # dead letters and their redelivery.
        *(
            f"{route}: added"
            for route in (
                "/POST /api/v1/subscriptions",
                "/GET /api/v1/subscriptions",
                "/GET /api/v1/subscriptions/{subscription_id}",
                "/DELETE /api/v1/subscriptions/{subscription_id}",
                "/POST /api/v1/subscriptions/{subscription_id}/enable",
                "/GET /api/v1/subscriptions/{subscription_id}/dead-letters",
                "/POST /api/v1/subscriptions/{subscription_id}/dead-letters/{sequence}/redelivery",
            )
        ),
        *(
            f"/GET /api/v1/services{answer}/properties/{name}: added"
            for answer in (
                "/responses/200/application/json/items",
                "/{service}/responses/200/application/json",
            )
            for name in ("examples_by_town", "example_note")
        ),
        # Issue 30: who read what, for auditors and the data-protection officer.
        "/GET /api/v1/access-log: added",
        # Issue 30: a case's file (Akte) for auditors and supervisors (JSON, HTML, PDF).
        "/GET /api/v1/cases/{case_id}/file: added",
        # Issue 30: the log's hash chain — verification, signed checkpoints, the public key.
        "/GET /api/v1/integrity: added",
        "/GET /api/v1/integrity/checkpoints: added",
        "/GET /api/v1/integrity/key: added",
    }
)
# Component schemas that may be renamed or dropped (their content is still compared inline).
# FastAPI's validation error schemas give way to the declared problem schema. The sewer
# connection's body is named as its command (``DetermineConnectionPoint``), since its module
# has a value of its own called ``ConnectionPoint``. The clerk's ``RecordPayment`` body went
# with its route (issue 24).
RENAMED_SCHEMAS: frozenset[str] = frozenset(
    {"HTTPValidationError", "ValidationError", "ConnectionPoint", "RecordPayment"}
)


def resolve(node: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The node with every ``$ref`` replaced by what it names, prose left out."""
    if isinstance(node, list):
        return [resolve(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name in seen:  # a recursive schema: name the cycle rather than unroll it
            return {"$cycle": name}
        return resolve(components.get(name, {"$missing": name}), components, (*seen, name))
    return {
        key: resolve(value, components, seen) for key, value in node.items() if key not in PROSE
    }


def problem_only(answer: dict[str, Any]) -> bool:
    """An error response: its content, if any, is only a problem document."""
    content = answer.get("content") or {}
    return set(content) <= {PROBLEM_JSON}


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation of the document as ``METHOD path`` → its structure."""
    components = document.get("components", {}).get("schemas", {})
    found: dict[str, dict[str, Any]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = {
                f"{p['in']}:{p['name']}": {
                    "required": p.get("required", False),
                    "schema": resolve(p.get("schema"), components),
                }
                for p in operation.get("parameters", [])
            }
            body = operation.get("requestBody")
            request = None
            if body is not None:
                request = {
                    "required": body.get("required", False),
                    "content": {
                        media: resolve(content.get("schema"), components)
                        for media, content in body.get("content", {}).items()
                    },
                }
            responses = {
                status: {
                    media: resolve(content.get("schema"), components)
                    for media, content in (answer.get("content") or {}).items()
                    if media != PROBLEM_JSON
                }
                for status, answer in operation.get("responses", {}).items()
                # problem responses (and 422, FastAPI's validation error before it became
                # a problem) are declared by the problem table, not by the routes
                if not problem_only(answer) and status != "422"
            }
            found[f"{method.upper()} {path}"] = {
                "parameters": parameters,
                "requestBody": request,
                "responses": responses,
                "access": {key: operation.get(key) for key in ACCESS},
            }
    return found


def differences(before: Any, after: Any, where: str) -> Iterator[str]:
    """One line per difference between two structures, naming where it is."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                yield f"{where}/{key}: removed"
            elif key not in before:
                yield f"{where}/{key}: added"
            else:
                yield from differences(before[key], after[key], f"{where}/{key}")
    elif before != after:
        yield f"{where}: {json.dumps(before, sort_keys=True)} → {json.dumps(after, sort_keys=True)}"


def current_document(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'openapi.db'}",
        token_secret=SecretStr("api-test-secret-0123456789abcdef-xyz"),
    )
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def test_the_openapi_document_keeps_every_route_body_status_and_access_rule(
    tmp_path: Path,
) -> None:
    before = json.loads(BEFORE.read_text(encoding="utf-8"))
    after = current_document(tmp_path)
    found = list(differences(operations(before), operations(after), ""))
    unexpected = [line for line in found if line not in INTENDED]
    assert not unexpected, "the OpenAPI document changed:\n" + "\n".join(unexpected)


def test_component_schemas_keep_their_names(tmp_path: Path) -> None:
    before = set(json.loads(BEFORE.read_text(encoding="utf-8"))["components"]["schemas"])
    after = set(current_document(tmp_path)["components"]["schemas"])
    missing = sorted(before - after - RENAMED_SCHEMAS)
    assert not missing, f"component schemas gone or renamed: {missing}"


def test_the_comparison_reports_a_changed_body_field_and_a_dropped_route() -> None:
    before = {
        "paths": {
            "/a": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/A"}}
                        }
                    },
                    "responses": {"200": {}},
                }
            },
            "/b": {"get": {"responses": {"200": {}}}},
        },
        "components": {"schemas": {"A": {"properties": {"x": {"type": "string"}}}}},
    }
    after = json.loads(json.dumps(before))
    after["components"]["schemas"]["A"]["properties"]["x"]["type"] = "integer"
    del after["paths"]["/b"]
    found = list(differences(operations(before), operations(after), ""))
    assert found == [
        "/GET /b: removed",
        '/POST /a/requestBody/content/application/json/properties/x/type: "string" → "integer"',
    ]
