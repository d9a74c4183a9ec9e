"""Every route x role x tenant: who gets through, who gets 403, who cannot see (404).

Generated from the app's own routes: a route without a declared access rule fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import ACCESS_KEY, PUBLIC
from domain.actor import Scope
from tests.api.conftest import NEW_CASE, Auth

ROLES = ["applicant", "clerk", "supervisor", "auditor", "admin", "integrator"]
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
    "payments",
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
    "payments": {"amount": "1.00", "payment_reference": "P-1"},
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


def test_route_role_tenant_matrix(client: TestClient, auth: Auth) -> None:
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
    failures = []
    for method, path, rule in api_routes(client):
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
        body = BODIES.get(path) or BODIES.get(path.rsplit("/", 1)[-1])
        for role in ROLES:
            for tenant in ("usingen", "schmitten"):
                sub = "portal:owner" if role == "applicant" else f"{role}.{tenant}"
                headers = auth(role, sub=sub, tenant=tenant)
                if role == "integrator" and (method, path) in SCOPES:
                    headers = auth(role, sub=sub, tenant=tenant, scopes=SCOPES[method, path])
                response = client.request(method, url, json=body, headers=headers)
                status = response.status_code
                if PUBLIC in rule:
                    expected_ok = status not in (401, 403)
                elif role not in rule:
                    expected_ok = status == 403
                elif "{case_id}" in path and tenant == "schmitten":
                    expected_ok = status == 404  # another town's case does not exist for you
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
        if PUBLIC not in rule:
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
