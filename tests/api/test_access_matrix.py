"""Every route x role x tenant: who gets through, who gets 403, who cannot see (404).

Generated from the app's own routes: a route without a declared access rule fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import ACCESS_KEY, PUBLIC
from application.clock import FixedClock
from domain.actor import Scope
from tests.api import test_payments_api as paying
from tests.api.conftest import NEW_CASE, Auth
from tests.api.test_road_opening_api import DECISION, permit_request

ROLES = [
    "applicant",
    "clerk",
    "supervisor",
    "cash_office",
    "auditor",
    "data_protection_officer",
    "admin",
    "integrator",
]
# The payment provider simulator (a process) and settings naming it: payment requests exist.
simulator = paying.simulator
settings = paying.settings
DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

STAFF = {"clerk", "supervisor"}
PUBLIC_ROUTE = {"public"}
# The access policy, reviewed here: changing who may call a route changes this table.
POLICY: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): PUBLIC_ROUTE,
    ("GET", "/ready"): PUBLIC_ROUTE,
    ("GET", "/metrics"): PUBLIC_ROUTE,
    ("GET", "/api/v1/services"): PUBLIC_ROUTE,
    ("GET", "/api/v1/services/{service}"): PUBLIC_ROUTE,
    ("POST", "/api/v1/cases"): {"applicant", *STAFF},
    ("GET", "/api/v1/cases"): {"applicant", "auditor", "admin", *STAFF},
    ("GET", "/api/v1/cases/{case_id}"): {"applicant", "auditor", "admin", *STAFF},
    ("GET", "/api/v1/cases/{case_id}/history"): {"applicant", "auditor", "admin", *STAFF},
    ("POST", "/api/v1/cases/{case_id}/provide-information"): {"applicant", *STAFF},
    ("POST", "/api/v1/cases/{case_id}/withdraw"): {"applicant", *STAFF},
    ("POST", "/api/v1/cases/{case_id}/objections/withdraw"): {"applicant", *STAFF},
    ("POST", "/api/v1/cases/{case_id}/countersign"): {"supervisor"},
    ("POST", "/api/v1/cases/{case_id}/assign"): {"supervisor"},
    ("GET", "/api/v1/teams"): {"auditor", "admin", *STAFF},
    ("PUT", "/api/v1/admin/teams/{team_id}"): {"admin"},
    ("POST", "/api/v1/admin/teams/{team_id}/dissolve"): {"admin"},
    ("GET", "/api/v1/admin/teams/history"): {"admin", "auditor"},
    ("POST", "/api/v1/cases/{case_id}/refuse-countersign"): {"supervisor"},
    ("GET", "/api/v1/cases/{case_id}/decisions"): {"auditor", "supervisor"},
    ("GET", "/api/v1/cases/{case_id}/decisions/{number}/replay"): {"auditor", "supervisor"},
    # issue 30: who read what — the town's auditors and its data-protection officer
    ("GET", "/api/v1/access-log"): {"auditor", "data_protection_officer"},
    # issue 30: the log's hash chain — verified by auditors; checkpoints to keep; the key public
    ("GET", "/api/v1/integrity"): {"auditor"},
    ("GET", "/api/v1/integrity/checkpoints"): {"auditor", "supervisor", "integrator"},
    ("GET", "/api/v1/integrity/key"): PUBLIC_ROUTE,
    ("GET", "/api/v1/cases/{case_id}/file"): {"auditor", "supervisor"},
    ("GET", "/api/v1/inbox"): {"auditor", *STAFF},
    ("GET", "/api/v1/audit"): {"auditor", "supervisor"},
    ("GET", "/api/v1/stats"): {"auditor", "admin", *STAFF},
    ("GET", "/api/v1/projections"): {"auditor", "admin", "supervisor"},
    ("POST", "/api/v1/admin/cases/{case_id}/erasure"): {"admin"},
    ("GET", "/api/v1/feed"): {"integrator", "auditor", "admin", "supervisor"},
    ("GET", "/api/v1/feed/stream"): {"integrator", "auditor", "admin", "supervisor"},
    ("GET", "/api/v1/feed/types"): PUBLIC_ROUTE,
}
STAFF_COMMANDS = [
    "confirm-complete",
    "claim",
    "release",
    "request-information",
    "notes",
    "extend-period",
    "decide",
    "notify",
    "objections",
    "objections/remedy",
    "objections/forward",
    "objections/hearing",
    "objections/reinstatement",
    "objections/decision",
    "remedy-notice-defect",
    "mark-final",
    "close",
    "works-started",
    "works-completed",
    "restoration-inspections",
]
STAFF_COMMANDS += [
    "parking-decision",
    "parking-renewals",
    "number-plate-changes",
    "parking-revocation",
    "permit-decision-notifications",
    "revocation-objections",
    "revocation-objections/remedy",
    "revocation-objections/decision",
    "revocation-objections/withdrawal",
    "revocation-final",
]
STAFF_COMMANDS += ["connection-point", "connection-inspections", "connection-charge"]
STAFF_COMMANDS += ["drainage-plans", "owner-authorisation", "connection-charge/notification"]
STAFF_COMMANDS += [
    "permit-extensions",
    "security-deposit",
    "security-deposit/release",
    "traffic-sign-order",
]
POLICY |= {("POST", f"/api/v1/cases/{{case_id}}/{c}"): STAFF for c in STAFF_COMMANDS}
POLICY[("POST", "/api/v1/cases/{case_id}/parking-return")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/deemed-approval")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/deemed-approval-certificate")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/expiry")] = STAFF  # issue 21: § 43 (2) HVwVfG
POLICY[("POST", "/api/v1/cases/{case_id}/construction-reported")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/leak-tests")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/authority-hearings")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/signs-up")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/signs-removed")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/burial-schedule")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/burial-carried-out")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/burial-cancellation")] = {"applicant", *STAFF}
POLICY[("GET", "/api/v1/graves/{tenant}/{cemetery}/{field}/{row}/{number}")] = STAFF
# issue 23: citizens book without an account (code and token are the capabilities); staff call
POLICY[("GET", "/api/v1/appointments/stats")] = {"auditor", "admin", *STAFF}
POLICY[("GET", "/api/v1/appointments/{tenant}/offices")] = PUBLIC_ROUTE
for _path in ("slots", "queue"):
    POLICY[("GET", "/api/v1/appointments/{tenant}/{office_id}/" + _path)] = PUBLIC_ROUTE
for _path in (
    "holds",
    "bookings",
    "bookings/{day}/{code}/cancel",
    "bookings/{day}/{code}/rebook",
    "check-in",
    "walk-ins",
):
    POLICY[("POST", "/api/v1/appointments/{tenant}/{office_id}/" + _path)] = PUBLIC_ROUTE
for _path in (
    "counters/{counter}/call-next",
    "tickets/{ticket}/call-again",
    "tickets/{ticket}/served",
    "tickets/{ticket}/missed",
):
    POLICY[("POST", "/api/v1/appointments/{tenant}/{office_id}/" + _path)] = STAFF
# the desk: any slot, cancel without the token, the day's bookings with contacts (town staff)
_DESK = "/api/v1/appointments/{tenant}/{office_id}/desk/bookings"
POLICY[("GET", _DESK)] = STAFF
POLICY[("POST", _DESK)] = STAFF
POLICY[("POST", _DESK + "/{day}/{code}/cancel")] = STAFF
# the contact of a booking whose reminder fell due, for the service account sending it
POLICY[("GET", "/api/v1/appointments/{tenant}/{office_id}/reminders/{reference}/contact")] = {
    "integrator"
}
# a service account holding the route's scope (the others hold feed:read only: 403); the
# reference stays a placeholder, so a granted caller of the town meets validation (422)
SCOPES: dict[tuple[str, str], tuple[Scope, ...]] = {
    ("GET", "/api/v1/appointments/{tenant}/{office_id}/reminders/{reference}/contact"): (
        Scope.APPOINTMENT_CONTACT,
    ),
}
POLICY[("POST", "/api/v1/cases/{case_id}/grave-right-decision")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/headstone-set")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/headstone-inspections")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/stability-checks")] = STAFF
# issue 25: the dog registration service (the keeper reports a lost tag and deregisters)
POLICY |= {
    ("POST", f"/api/v1/cases/{{case_id}}/{c}"): STAFF
    for c in (
        "dog-register",
        "dog-relief",
        "dog-danger-findings",
        "dangerous-dog-permit",
        "dog-tax-years",
        "dog-tax-change-notices",  # the amending notice made known
    )
}
POLICY[("POST", "/api/v1/cases/{case_id}/tag-replacements")] = {"applicant", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/dog-deregistration")] = {"applicant", *STAFF}
# issue 23: the Bürgermonitor — public pages for the waiting room's screen (no personal data)
POLICY[("GET", "/monitor/{tenant}")] = PUBLIC_ROUTE
POLICY[("GET", "/monitor/{tenant}/{office}")] = PUBLIC_ROUTE
POLICY[("GET", "/monitor/{tenant}/{office}/events")] = PUBLIC_ROUTE
# issue 22: documents — staff issue and send them; applicants read those sent to them
DOCUMENT_READERS = {"applicant", "auditor", *STAFF}
POLICY[("GET", "/api/v1/cases/{case_id}/documents")] = DOCUMENT_READERS
POLICY[("GET", "/api/v1/cases/{case_id}/documents/{number}")] = DOCUMENT_READERS
POLICY[("POST", "/api/v1/cases/{case_id}/documents")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/documents/{number}/sendings")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/documents/{number}/outcomes")] = STAFF
# issue 24: e-payment. The clerk's record_payment (POST .../payments) is gone: the applicant
# (a member of the account who may pay) or staff bill a case to a business customer.
POLICY[("POST", "/api/v1/cases/{case_id}/billing")] = {"applicant", *STAFF}
# Accounts: the town's staff register; members (applicants) and the town's staff read;
# owners (applicants) manage members — another applicant meets 404, never 403.
_ACCOUNT = "/api/v1/business-customers/{account_id}"
ACCOUNT_READERS = {"applicant", "cash_office", "auditor", "admin", *STAFF}
POLICY[("POST", "/api/v1/business-customers")] = {"admin", *STAFF}
POLICY[("GET", _ACCOUNT)] = ACCOUNT_READERS
POLICY[("PUT", _ACCOUNT + "/members/{member}")] = {"applicant"}
POLICY[("DELETE", _ACCOUNT + "/members/{member}")] = {"applicant"}
POLICY[("GET", _ACCOUNT + "/receivables")] = ACCOUNT_READERS
POLICY[("GET", _ACCOUNT + "/payment-requests")] = ACCOUNT_READERS
POLICY[("GET", "/api/v1/receivables")] = {"cash_office", "auditor", "supervisor"}
POLICY[("GET", "/api/v1/receivables/{kassenzeichen}")] = {
    "applicant",
    "cash_office",
    "auditor",
    *STAFF,
}
# Separation of duties: whoever orders a payment (clerk, supervisor) never records its
# receipt; the cash office, and only it, records counter and bank-transfer receipts.
POLICY[("POST", "/api/v1/receivables/{kassenzeichen}/receipts")] = {"cash_office"}
# Paying online: a member who may pay opens the request; the provider's callback needs no
# token (its signature authenticates it: 401 without one).
_REQUEST = "/api/v1/payment-requests/{request_id}"
POLICY[("POST", "/api/v1/payment-requests")] = {"applicant"}
POLICY[("GET", _REQUEST)] = ACCOUNT_READERS
POLICY[("POST", _REQUEST + "/cancellation")] = {"applicant", "cash_office", *STAFF}
POLICY[("POST", _REQUEST + "/status-poll")] = {"applicant", "cash_office", *STAFF}
POLICY[("POST", "/api/v1/payments/providers/{provider}/callbacks")] = PUBLIC_ROUTE
# Refunds, four eyes: staff ask; the cash office or a supervisor decides, never the asker.
POLICY[("POST", _REQUEST + "/refunds")] = {"cash_office", *STAFF}
POLICY[("POST", _REQUEST + "/refunds/{refund}/approval")] = {"cash_office", "supervisor"}
POLICY[("POST", _REQUEST + "/refunds/{refund}/rejection")] = {"cash_office", "supervisor"}
POLICY[("GET", "/api/v1/payments/reconciliations")] = {"cash_office", "auditor", "supervisor"}
CALLBACKS = "/api/v1/payments/providers/{provider}/callbacks"
# issue 26: water meter readings — the reading case's clerk steps; the town's clerks and
# supervisors keep meters and campaigns (another town's meter does not exist for its staff,
# each town's campaigns are its own)
POLICY |= {
    ("POST", f"/api/v1/cases/{{case_id}}/{c}"): STAFF
    for c in ("reading-confirmation", "reading-correction", "meter-assignment", "reading-rejection")
}
_METER = "/api/v1/water-meters/{meter_id}"
for _route in (
    ("POST", "/api/v1/water-meters"),
    ("GET", "/api/v1/water-meters"),
    ("GET", _METER),
    ("POST", _METER + "/corrections"),
    ("POST", _METER + "/exchange"),
    ("POST", _METER + "/removal"),
    ("POST", _METER + "/recalibration"),
    ("GET", _METER + "/readings/{number}/replay"),
    ("POST", "/api/v1/water-campaigns"),
    ("GET", "/api/v1/water-campaigns/{year}"),
    ("POST", "/api/v1/water-campaigns/{year}/estimates"),
    ("POST", "/api/v1/water-campaigns/{year}/close"),
):
    POLICY[_route] = STAFF
# issue 27: holiday programme — an offering's published facts are public; the town's staff
# publish, close, draw and name its staff; only the offering's staff read the children's
# health notes (others of the town: 403); auditors read and replay the draw. A guardian (or
# staff) cancels a registration on its case.
_OFFERING = "/api/v1/holiday-offerings/{offering_id}"
POLICY[("POST", "/api/v1/holiday-offerings")] = STAFF
POLICY[("GET", "/api/v1/holiday-offerings")] = PUBLIC_ROUTE
POLICY[("GET", _OFFERING)] = PUBLIC_ROUTE
for _route in (
    ("POST", _OFFERING + "/window-closure"),
    ("POST", _OFFERING + "/draw"),
    ("GET", _OFFERING + "/registrations"),
    ("GET", _OFFERING + "/health-notes"),
    ("PUT", _OFFERING + "/staff"),
):
    POLICY[_route] = STAFF
POLICY[("GET", _OFFERING + "/draw")] = {"auditor", *STAFF}
POLICY[("GET", _OFFERING + "/draw/replay")] = {"auditor", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/registration-cancellation")] = {"applicant", *STAFF}
# issue 28: markets — a market's published facts are public; the town's staff publish and
# select and read the applications, score sheets and pitches; auditors read and replay the
# selection. Staff score (and may record a lapsed offer) on the stall case; the trader (or
# staff) withdraws, gives a pitch up, accepts or declines one offered.
_MARKET = "/api/v1/markets/{market_id}"
POLICY[("POST", "/api/v1/markets")] = STAFF
POLICY[("GET", "/api/v1/markets")] = PUBLIC_ROUTE
POLICY[("GET", _MARKET)] = PUBLIC_ROUTE
for _route in (
    ("POST", _MARKET + "/selection"),
    ("GET", _MARKET + "/applications"),
    ("GET", _MARKET + "/score-sheets"),
    ("GET", _MARKET + "/pitches"),
):
    POLICY[_route] = STAFF
POLICY[("GET", _MARKET + "/selection")] = {"auditor", *STAFF}
POLICY[("GET", _MARKET + "/selection/replay")] = {"auditor", *STAFF}
POLICY[("POST", "/api/v1/cases/{case_id}/score-sheet")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/pitch-offer-expiry")] = STAFF
POLICY[("POST", "/api/v1/cases/{case_id}/pitch-revocation")] = STAFF  # a Widerruf: the town
POLICY[("POST", "/api/v1/cases/{case_id}/remedy-admission")] = STAFF
for _step in (
    "application-withdrawal",
    "pitch-give-up",
    "pitch-offer-acceptance",
    "pitch-offer-refusal",
):
    POLICY[("POST", f"/api/v1/cases/{{case_id}}/{_step}")] = {"applicant", *STAFF}
# issue 29: webhook subscriptions — service accounts with webhooks:manage and the town's
# administrators; another account's or town's subscription is 404
_SUBSCRIPTION = "/api/v1/subscriptions/{subscription_id}"
for _route in (
    ("POST", "/api/v1/subscriptions"),
    ("GET", "/api/v1/subscriptions"),
    ("GET", _SUBSCRIPTION),
    ("DELETE", _SUBSCRIPTION),
    ("POST", _SUBSCRIPTION + "/enable"),
    ("GET", _SUBSCRIPTION + "/dead-letters"),
    ("POST", _SUBSCRIPTION + "/dead-letters/{sequence}/redelivery"),
):
    POLICY[_route] = {"admin", "integrator"}
    SCOPES[_route] = (Scope.WEBHOOKS_MANAGE,)
# Resources of one town: another town's staff and applicants meet 404.
TOWN_RESOURCES = (
    "{case_id}",
    "{account_id}",
    "{kassenzeichen}",
    "{request_id}",
    "{meter_id}",
    "{offering_id}",
    "{market_id}",
    "{subscription_id}",
)


BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/cases": NEW_CASE,
    "release": {"reason": "Übergabe"},
    "/api/v1/admin/teams/{team_id}": {
        "label_de": "Standesamt",
        "label_en": "Registry office",
        "services": ["general"],
        "reason": "Neuorganisation",
    },
    "dissolve": {"reason": "Neuorganisation"},
    "assign": {
        "assignee": {"id": "clerk.two", "name": "Zweite Sachbearbeiterin"},
        "reason": "Urlaub",
    },
    "request-information": {"questions": ["?"], "reply_by": "2026-12-31"},
    "provide-information": {"answer": "anbei"},
    "notes": {"text": "Vermerk"},
    "extend-period": {"working_days": 5, "reason": "Gutachten"},
    "decide": {"outcome": "rejected", "justification": "j", "legal_basis": "l"},
    "refuse-countersign": {"reason": "r"},
    "billing": {"business_customer": "4f1c2b7e-8d3a-5e6f-9a0b-1c2d3e4f5a6b"},
    "/api/v1/business-customers": {"company": "Tiefbau GmbH", "owner": "portal:owner"},
    "/api/v1/business-customers/{account_id}/members/{member}": {"role": "payer"},
    "receipts": {
        "amount": "1.00",
        "channel": "counter",
        "received_on": "2026-03-02",
        "reference": "Q-1",
    },
    "cancellation": {"reason": "changed_my_mind"},
    "refunds": {"amount": "1.00", "reason": "r"},
    "rejection": {"reason": "r"},
    "notify": {"delivery": "counter"},
    "remedy-notice-defect": {"reason": "r"},
    "objections": {"grounds": "g"},
    "reinstatement": {"reason": "r"},
    "hearing": {"held_on": "2026-03-02"},
    "remedy": {"reason": "r"},
    "forward": {"authority": "Kreisausschuss", "reason": "r"},
    "decision": {
        "outcome": "dismissed",
        "reasons": "r",
        "costs_borne_by": "objector",
        "served_on": "2026-03-02",
    },
    "withdraw": {"reason": "r"},
    "close": {},
    "works-started": {"started_on": "2026-03-02"},
    "works-completed": {"completed_on": "2026-03-02"},
    "restoration-inspections": {"inspected_on": "2026-03-02"},
    "permit-extensions": {"extended_to": "2026-12-31", "reason": "r"},
    "security-deposit": {"amount": "500.00", "form": "cash", "received_on": "2026-03-02"},
    "/api/v1/cases/{case_id}/security-deposit/release": {"released_on": "2026-03-02"},
    "traffic-sign-order": {"reference": "USI-2026-000001"},
    "parking-decision": {},
    "parking-renewals": {},
    "number-plate-changes": {"vehicle": {"number_plate": "HG-AB 1"}},
    "parking-return": {},
    "parking-revocation": {
        "ground": "facts_changed",
        "reason": "r",
        "facts_known_since": "2026-03-02",
        "discretion": "d",
        "hearing_held_on": "2026-03-02",
    },
    "permit-decision-notifications": {"delivery": "counter"},
    "revocation-objections": {"grounds": "g"},
    "withdrawal": {"reason": "r"},
    "connection-point": {"manhole": "S 1", "invert_depth_m": "2.00", "description": "d"},
    "construction-reported": {"completed_on": "2026-03-02", "pipe_length_m": "5.00"},
    "connection-inspections": {"inspected_on": "2026-03-02"},
    "drainage-plans": {
        "received_on": "2026-03-02",
        "plans": [{"kind": "site_plan", "dated_on": "2026-03-02"}],
    },
    "owner-authorisation": {"kind": "power_of_attorney", "signed_on": "2026-03-02"},
    "leak-tests": {
        "tested_on": "2026-03-02",
        "method": "air",
        "result": "passed",
        "tester": "t",
    },
    "/api/v1/cases/{case_id}/connection-charge/notification": {"delivery": "counter"},
    "authority-hearings": {
        "authority": "police",
        "heard_on": "2026-03-02",
        "response": "consented",
    },
    "signs-up": {"signs_up_on": "2026-03-02"},
    "signs-removed": {"removed_on": "2026-03-02"},
    "burial-schedule": {},
    "burial-carried-out": {"buried_on": "2026-03-02"},
    "burial-cancellation": {"reason": "r"},
    "grave-right-decision": {},
    "headstone-set": {"set_on": "2026-03-02"},
    "headstone-inspections": {"inspected_on": "2026-03-02"},
    "stability-checks": {"inspected_on": "2026-03-02"},
    "dog-relief": {"granted": False, "reasons": "r"},
    "dog-danger-findings": {"found_on": "2026-03-02", "reasons": "r"},
    "dangerous-dog-permit": {"granted": False, "reasons": "r"},
    "dog-deregistration": {"reason": "death", "on": "2026-03-02"},
    "dog-tax-change-notices": {"delivery": "counter"},
    "erasure": {"reason": "r", "legal_basis": "Art. 17 DSGVO", "subjects": ["nobody"]},
    "documents": {"kind": "decision"},
    "sendings": {"channel": "counter"},
    "outcomes": {"outcome": "posted", "on": "2026-03-02"},
    # a valid body, so another town's clerk meets the tenant check (403), not validation
    _DESK: {
        "day": "2026-03-04",
        "slot": "reisepass@11:40",
        "contact": {"name": "Max Mustermann", "phone": "06081 1234"},
    },
    _DESK + "/{day}/{code}/cancel": {"reason": "citizen_request"},
    "reading-confirmation": {},
    "reading-correction": {"value": "1.000", "reason": "r"},
    "meter-assignment": {"meter_number": "WZ-0001", "reason": "r"},
    "reading-rejection": {"reason": "r"},
    "/api/v1/water-meters": {
        "meter_number": "WZ-0001",
        "property_id": "USI-1",
        "installed_on": "2026-01-02",
        "calibration_valid_until": "2031-12-31",
        "digits": 5,
        "start_value": "0.000",
    },
    "corrections": {"read_on": "2026-01-02", "value": "0.000", "reason": "r"},
    "exchange": {
        "removed_on": "2026-03-01",
        "final_value": "1.000",
        "new": {
            "meter_number": "WZ-0002",
            "calibration_valid_until": "2031-12-31",
            "digits": 5,
            "start_value": "0.000",
        },
    },
    "removal": {"removed_on": "2026-03-01", "final_value": "1.000"},
    "recalibration": {"calibration_valid_until": "2032-12-31"},
    "/api/v1/water-campaigns": {"year": 2026, "starts_on": "2026-02-01", "deadline": "2026-12-15"},
    "/api/v1/holiday-offerings": {
        "year": 2026,
        "code": "MATRIX-1",
        "activity": "Waldtag",
        "description": "Ein Tag im Wald.",
        "location": "Hattsteinweiher",
        "starts_on": "2026-07-13",
        "ends_on": "2026-07-13",
        "min_age": 6,
        "max_age": 12,
        "places": 10,
        "fee": "0.00",
        "registration_opens_at": "2026-03-01T08:00:00+01:00",
        "registration_closes_at": "2026-06-30T18:00:00+02:00",
        # the town's clerk and supervisor of the matrix read the health notes
        "staff": ["clerk.usingen", "supervisor.usingen"],
    },
    "window-closure": {"reason": "r"},
    "/api/v1/holiday-offerings/{offering_id}/staff": {
        "staff": ["clerk.usingen", "supervisor.usingen"],
        "reason": "r",
    },
    "registration-cancellation": {"reason": "r"},
    "/api/v1/markets": {
        "year": 2026,
        "code": "MATRIX-1",
        "name": "Usinger Kerb",
        "kind": "kerb",
        "regime": "festgesetzt",
        "days": ["2026-08-28", "2026-08-29"],
        "site": "Marktplatz",
        "pitches": [{"number": "1", "frontage_m": "3.00", "categories": ["crafts"]}],
        "categories": ["crafts"],
        "criteria": {
            "version": "2026-1",
            "criteria": [
                {"key": "quality", "label": "Q", "weight": "1", "kind": "scored", "max_points": 5}
            ],
        },
        "newcomer_share": "0",
        "applications_from": "2026-03-01T08:00:00+01:00",
        "deadline": "2026-04-15T18:00:00+02:00",
        "decisions_by": "2026-06-30",
        "offer_days": 7,
        "staff": ["clerk.usingen"],
    },
    "score-sheet": {"points": {"quality": 1}, "note": "n"},
    "pitch-give-up": {"reason": "r"},
    "pitch-revocation": {
        "ground": "facts_changed",
        "reason": "r",
        "facts_known_since": "2026-01-01",
        "discretion": "d",
        "immediate_enforcement": "i",
        "hearing_not_needed_because": "h",
    },
    "remedy-admission": {"reason": "r"},
    "pitch-offer-refusal": {"reason": "r"},
    "/api/v1/subscriptions": {"url": "https://archiv.example/hooks"},
    "enable": {"reason": "r"},
    "redelivery": {"reason": "r"},
}


def api_routes(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """Every operation of the OpenAPI document (every route is in it) with its rule."""
    found = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            rule = operation.get(ACCESS_KEY)
            assert rule, f"{method.upper()} {path} declares no access rule"
            found.append((method.upper(), path, rule))
    return found


def test_every_route_declares_who_may_call_it_as_the_policy_says(client: TestClient) -> None:
    routes = api_routes(client)
    assert {(m, p): set(rule) for m, p, rule in routes} == POLICY
    assert len(routes) >= 30
    in_schema = {(m, r.path) for r in client.app.router.routes for m in getattr(r, "methods", ())}  # type: ignore[attr-defined]
    documented = {(m, p) for m, p, _ in routes}
    assert {(m, p) for m, p in in_schema if p not in DOCUMENTATION and m != "HEAD"} <= documented


def payment_resources(
    client: TestClient, owner: dict[str, str], clerk: dict[str, str], clock: FixedClock
) -> dict[str, Any]:
    """Usingen's contractor account (owned by the applicant), a road opening billed to it
    and approved (its fee a receivable), and a payment request for it."""
    account = client.post(
        "/api/v1/business-customers", json=BODIES["/api/v1/business-customers"], headers=clerk
    ).json()["id"]
    case = client.post("/api/v1/cases", json=permit_request(clock), headers=owner).json()["id"]
    billed = client.post(
        f"/api/v1/cases/{case}/billing", json={"business_customer": account}, headers=owner
    )
    assert billed.status_code == 200, billed.json()
    for command, step in (("claim", None), ("confirm-complete", None), ("decide", DECISION)):
        done = client.post(f"/api/v1/cases/{case}/{command}", json=step, headers=clerk)
        assert done.status_code == 200, done.json()
    kassenzeichen = done.json()["payment"]["charges"][0]["kassenzeichen"]
    body: dict[str, Any] = {
        "business_customer": account,
        "kassenzeichen": [kassenzeichen],
        "payer": {"company": "Tiefbau GmbH", "contact": "J. Brenner", "email": "k@t.example"},
    }
    request = client.post("/api/v1/payment-requests", json=body, headers=owner)
    assert request.status_code == 201, request.json()
    return {
        "{account_id}": account,
        "{kassenzeichen}": kassenzeichen,
        "{request_id}": request.json()["id"],
        "{member}": "portal:member",
        "{provider}": "simulator",
        "{refund}": "R1",
        "body": body,
    }


# The matrix runs in two groups of routes, each on an app of its own, so that the two test
# processes (xdist) share it; every route is in exactly one group.
ROUTE_GROUPS = ("cases", "other-resources")


def route_group(
    routes: list[tuple[str, str, list[str]]], group: str
) -> list[tuple[str, str, list[str]]]:
    """The routes of one group: a case's routes, or all the others (about half each)."""
    cases = [route for route in routes if route[1].startswith("/api/v1/cases/")]
    groups = {"cases": cases, "other-resources": [r for r in routes if r not in cases]}
    grouped = [route for members in groups.values() for route in members]
    assert sorted(grouped) == sorted(routes)  # each route in exactly one group
    return groups[group]


@pytest.mark.parametrize("group", ROUTE_GROUPS)
def test_route_role_tenant_matrix(
    client: TestClient, auth: Auth, clock: FixedClock, group: str
) -> None:
    owner = auth("applicant", sub="portal:owner")
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=owner).json()
    clerk = auth("clerk", sub="clerk.usingen")
    for command, body in (
        ("claim", None),
        ("confirm-complete", None),
        ("decide", BODIES["decide"]),
    ):
        done = client.post(f"/api/v1/cases/{case['id']}/{command}", json=body, headers=clerk)
        assert done.status_code == 200, done.json()
    payments = payment_resources(client, owner, clerk, clock)
    bodies = {**BODIES, "/api/v1/payment-requests": payments.pop("body")}
    meter = client.post("/api/v1/water-meters", json=BODIES["/api/v1/water-meters"], headers=clerk)
    assert meter.status_code == 201, meter.json()
    payments["{meter_id}"] = meter.json()["id"]
    offering = client.post(
        "/api/v1/holiday-offerings", json=BODIES["/api/v1/holiday-offerings"], headers=clerk
    )
    assert offering.status_code == 201, offering.json()
    payments["{offering_id}"] = offering.json()["id"]
    market = client.post("/api/v1/markets", json=BODIES["/api/v1/markets"], headers=clerk)
    assert market.status_code == 201, market.json()
    payments["{market_id}"] = market.json()["id"]
    payments["{year}"] = "2026"
    webhooks = auth("integrator", sub="integrator.usingen", scopes=(Scope.WEBHOOKS_MANAGE,))
    hook = client.post(
        "/api/v1/subscriptions", json=BODIES["/api/v1/subscriptions"], headers=webhooks
    )
    assert hook.status_code == 201, hook.json()
    payments["{subscription_id}"] = hook.json()["id"]
    payments["{sequence}"] = "1"
    issued: dict[tuple[str, str, str, tuple[Scope, ...] | None], dict[str, str]] = {}

    def token(role: str, sub: str, tenant: str, scopes: tuple[Scope, ...] | None) -> dict[str, str]:
        """One token per role, town and scopes, reused for every route."""
        key = (role, sub, tenant, scopes)
        if key not in issued:
            issued[key] = auth(role, sub=sub, tenant=tenant, scopes=scopes)
        return issued[key]

    failures = []
    for method, path, rule in route_group(api_routes(client), group):
        url = (
            path.replace("{case_id}", case["id"])
            .replace("{number}", "1")
            .replace("{service}", "road-opening")
            .replace("{team_id}", "standesamt")
            .replace("{tenant}/{cemetery}/{field}/{row}", "usingen/usingen-friedhof/B/1")
            .replace("{tenant}/{office_id}", "usingen/buergerbuero")
            .replace("{counter}", "Schalter 1")
            .replace("{ticket}", "W001")
            .replace("{day}/{code}", "2026-03-04/ABCDEFGH")
        )
        for placeholder, value in payments.items():
            url = url.replace(placeholder, value)
        body = bodies.get(path) or bodies.get(path.rsplit("/", 1)[-1])
        for role in ROLES:
            for tenant in ("usingen", "schmitten"):
                sub = "portal:owner" if role == "applicant" else f"{role}.{tenant}"
                scoped = role == "integrator" and (method, path) in SCOPES
                headers = token(role, sub, tenant, SCOPES[method, path] if scoped else None)
                response = client.request(method, url, json=body, headers=headers)
                status = response.status_code
                if path == CALLBACKS:
                    expected_ok = status == 401  # a bearer token is no signature
                elif PUBLIC in rule:
                    expected_ok = status not in (401, 403)
                elif role not in rule:
                    expected_ok = status == 403
                elif any(key in path for key in TOWN_RESOURCES) and tenant == "schmitten":
                    expected_ok = status == 404  # another town's case does not exist for you
                elif (method, path) == ("POST", "/api/v1/payment-requests") and (
                    tenant == "schmitten"
                ):
                    expected_ok = status == 404  # another town's account, likewise
                elif "{tenant}" in path and tenant == "schmitten":
                    expected_ok = status == 403  # another town's grave: you do not act for it
                elif (method, path) == ("POST", "/api/v1/cases") and tenant == "schmitten":
                    expected_ok = status == 403  # submitting to another town
                else:
                    expected_ok = status not in (401, 403, 404)
                if not expected_ok:
                    failures.append(f"{method} {path} as {role}@{tenant}: {status}")
                if status >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
        if PUBLIC not in rule or path == CALLBACKS:
            anonymous = client.request(method, url, json=body)
            if anonymous.status_code != 401:
                failures.append(f"{method} {path} without a token: {anonymous.status_code}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("role", ["clerk", "supervisor", "auditor", "admin"])
def test_an_applicant_case_is_invisible_to_other_applicants(
    client: TestClient, auth: Auth, role: str
) -> None:
    case = client.post(
        "/api/v1/cases", json=NEW_CASE, headers=auth("applicant", sub="portal:a")
    ).json()
    other = client.get(f"/api/v1/cases/{case['id']}", headers=auth("applicant", sub="portal:b"))
    assert other.status_code == 404
    assert case["id"] in other.json()["detail"]  # names only what the caller sent
    staff = client.get(f"/api/v1/cases/{case['id']}", headers=auth(role))
    assert staff.status_code == 200


def test_an_applicant_reaches_only_the_accounts_they_are_a_member_of(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    owner = auth("applicant", sub="portal:owner")
    found = payment_resources(client, owner, auth("clerk"), clock)
    account, kz, request = found["{account_id}"], found["{kassenzeichen}"], found["{request_id}"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/business-customers/{account}", None),
        ("GET", f"/api/v1/business-customers/{account}/receivables", None),
        ("GET", f"/api/v1/business-customers/{account}/payment-requests", None),
        ("PUT", f"/api/v1/business-customers/{account}/members/portal:x", {"role": "viewer"}),
        ("GET", f"/api/v1/receivables/{kz}", None),
        ("GET", f"/api/v1/payment-requests/{request}", None),
        ("POST", f"/api/v1/payment-requests/{request}/status-poll", None),
        ("POST", "/api/v1/payment-requests", found["body"]),
        ("POST", f"/api/v1/payment-requests/{request}/cancellation", BODIES["cancellation"]),
    ]
    stranger = auth("applicant", sub="portal:stranger")
    for method, url, body in calls:
        hidden = client.request(method, url, json=body, headers=stranger)
        assert hidden.status_code == 404, (method, url, hidden.status_code)
        assert "Tiefbau" not in hidden.text
    for method, url, body in calls:
        seen = client.request(method, url, json=body, headers=owner)
        assert seen.status_code in (200, 201), (method, url, seen.json())
