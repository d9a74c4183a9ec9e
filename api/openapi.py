"""The OpenAPI document made ready for integrators' generated clients.

FastAPI's document is completed in one step after it is built, so a route added later gets
the same treatment without declaring anything: readable ``operationId``s, the bearer token
on every operation that is not public (from ``x-vorgang-access``), and every 4xx/5xx
answer declared as ``application/problem+json`` with the ``Problem`` schema.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.access import ACCESS_KEY, PUBLIC
from api.problems import PROBLEM_JSON, Problem

BEARER = "bearer"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An access token of the towns' identity provider (OIDC), sent as "
            "`Authorization: Bearer <token>`; its roles decide what the caller may do."
        ),
    }
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# Readable, stable ids for the operations integrators use, by method and path: a route
# rebuilt by another factory keeps its id as long as it keeps its path.
OPERATION_IDS = {
    "GET /health": "getHealth",
    "GET /ready": "getReadiness",
    "GET /metrics": "getMetrics",
    "POST /api/v1/cases": "submitCase",
    "GET /api/v1/cases": "searchCases",
    "GET /api/v1/cases/{case_id}": "getCase",
    "GET /api/v1/cases/{case_id}/history": "getCaseHistory",
    "POST /api/v1/cases/{case_id}/confirm-complete": "confirmCaseComplete",
    "POST /api/v1/cases/{case_id}/claim": "claimCase",
    "POST /api/v1/cases/{case_id}/release": "releaseCase",
    "POST /api/v1/cases/{case_id}/assign": "assignCase",
    "POST /api/v1/cases/{case_id}/request-information": "requestInformation",
    "POST /api/v1/cases/{case_id}/provide-information": "provideInformation",
    "POST /api/v1/cases/{case_id}/notes": "addNote",
    "POST /api/v1/cases/{case_id}/extend-period": "extendProcessingPeriod",
    "POST /api/v1/cases/{case_id}/decide": "decideCase",
    "POST /api/v1/cases/{case_id}/countersign": "countersignDecision",
    "POST /api/v1/cases/{case_id}/refuse-countersign": "refuseCountersignature",
    "POST /api/v1/cases/{case_id}/billing": "billCase",
    "POST /api/v1/cases/{case_id}/notify": "notifyDecision",
    "POST /api/v1/cases/{case_id}/objections": "lodgeObjection",
    "POST /api/v1/cases/{case_id}/objections/remedy": "remedyObjection",
    "POST /api/v1/cases/{case_id}/objections/forward": "forwardObjection",
    "POST /api/v1/cases/{case_id}/objections/hearing": "hearObjection",
    "POST /api/v1/cases/{case_id}/objections/withdraw": "withdrawObjection",
    "POST /api/v1/cases/{case_id}/objections/decision": "decideObjection",
    "POST /api/v1/cases/{case_id}/objections/reinstatement": "grantReinstatement",
    "POST /api/v1/cases/{case_id}/remedy-notice-defect": "recordRemedyNoticeDefect",
    "POST /api/v1/cases/{case_id}/mark-final": "markCaseFinal",
    "POST /api/v1/cases/{case_id}/withdraw": "withdrawCase",
    "POST /api/v1/cases/{case_id}/close": "closeCase",
    "GET /api/v1/cases/{case_id}/decisions": "listDecisions",
    "GET /api/v1/cases/{case_id}/decisions/{number}/replay": "replayDecision",
    "POST /api/v1/cases/{case_id}/works-started": "reportWorksStarted",
    "POST /api/v1/cases/{case_id}/works-completed": "reportWorksCompleted",
    "POST /api/v1/cases/{case_id}/restoration-inspections": "inspectRestoration",
    "POST /api/v1/cases/{case_id}/parking-decision": "decideParkingByRules",
    "POST /api/v1/cases/{case_id}/parking-renewals": "renewParkingPermit",
    "POST /api/v1/cases/{case_id}/number-plate-changes": "changeNumberPlate",
    "POST /api/v1/cases/{case_id}/parking-return": "returnParkingPermit",
    "POST /api/v1/cases/{case_id}/parking-revocation": "revokeParkingPermit",
    "POST /api/v1/cases/{case_id}/connection-point": "determineConnectionPoint",
    "POST /api/v1/cases/{case_id}/construction-reported": "reportConstruction",
    "POST /api/v1/cases/{case_id}/connection-inspections": "inspectConnection",
    "POST /api/v1/cases/{case_id}/connection-charge": "assessConnectionCharge",
    "POST /api/v1/cases/{case_id}/authority-hearings": "recordAuthorityHearing",
    "POST /api/v1/cases/{case_id}/signs-up": "reportSignsUp",
    "POST /api/v1/cases/{case_id}/signs-removed": "reportSignsRemoved",
    "GET /api/v1/services": "listServices",
    "GET /api/v1/services/{service}": "getService",
    "GET /api/v1/inbox": "listInbox",
    "GET /api/v1/audit": "getAuditTrail",
    "GET /api/v1/stats": "getStatistics",
    "GET /api/v1/projections": "listProjections",
    "GET /api/v1/feed/types": "listFeedTypes",
    "GET /api/v1/feed": "readFeed",
    "GET /api/v1/feed/stream": "streamFeed",
    "POST /api/v1/admin/cases/{case_id}/erasure": "eraseCase",
    "GET /api/v1/teams": "listTeams",
    "PUT /api/v1/admin/teams/{team_id}": "configureTeam",
    "POST /api/v1/admin/teams/{team_id}/dissolve": "dissolveTeam",
    "GET /api/v1/admin/teams/history": "getRosterHistory",
}
CASE_PATH = "/api/v1/cases/{case_id}"

# Examples for request bodies whose model declares none of its own (a model's own
# ``examples`` win). A test fails for a body that has neither.
BODY_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "Assignment": [
        {
            "assignee": {"id": "anna.schmidt", "name": "Anna Schmidt"},
            "reason": "Urlaubsvertretung bis 14. Dezember",
        }
    ],
    "OptionalReason": [{"reason": "Zuständigkeit geklärt"}],
    "ProvideInformation": [{"answer": "Der Lageplan (1:500) ist beigefügt."}],
    "Note": [{"text": "Rückruf der Antragstellerin am Vormittag erbeten."}],
    "Reason": [{"reason": "Die Antragstellerin hat schriftlich zurückgenommen."}],
    "Notify": [{"delivery": "letter", "sent_on": "2026-12-03"}],
    "BillTo": [{"business_customer": "4f1c2b7e-8d3a-5e6f-9a0b-1c2d3e4f5a6b"}],
    "ConfirmComplete": [{"documents_complete_on": "2026-11-26"}],
    "RemedyObjection": [
        {
            "reason": "Die Auflage zur Arbeitszeit entfällt; der Widerspruch ist begründet.",
            "extent": "full",
            "costs_borne_by": "authority",
            "fee_refund": "73.40",
            "new_decision": True,
        }
    ],
    "HearObjection": [{"held_on": "2027-01-20"}],
    "ForwardObjection": [{"reason": "Nicht abgeholfen; Vorlage an die Widerspruchsbehörde."}],
    "Reinstatement": [
        {
            "reason": "Die Widerspruchsführerin lag nachweislich bis zum 20.01. im Krankenhaus.",
            "force_majeure": False,
        }
    ],
    "WorksStarted": [{"started_on": "2026-12-07"}],
    "WorksCompleted": [{"completed_on": "2026-12-18"}],
    "Renewal": [{"months": 12}],
    "PermitReturn": [{"reason": "Umzug nach Neu-Anspach"}],
    "Revocation": [
        {
            "reason": "Der Hauptwohnsitz liegt nicht mehr in der Parkzone.",
            "legal_basis": "§ 49 Abs. 2 Nr. 3 HVwVfG",
        }
    ],
    "ConfigureTeam": [
        {
            "label_de": "Bauamt",
            "label_en": "Building authority",
            "services": ["road-opening", "sewer-connection"],
            "reason": "Kanalanschlüsse wechseln vom Tiefbau ins Bauamt.",
        }
    ],
    "DissolveTeam": [{"reason": "Aufgaben an das Bauamt übergeben."}],
}

# What a problem status means wherever it is declared without a word of its own.
PROBLEM_DESCRIPTIONS = {
    400: "The body could not be read: not UTF-8, nested too deeply, or a number too long.",
    401: "No valid bearer token; see WWW-Authenticate.",
    403: "The role may not do this.",
    404: "Not found, or not one you may see.",
    409: "Not allowed in the current state, or a lost race.",
    412: "If-Match names another version than the current one.",
    413: "The body is larger than the API accepts.",
    422: "Invalid body, parameter or header; `errors` names each field.",
    500: "Something went wrong; the problem names the request id to quote.",
    503: "The database or the identity provider is not reachable; see Retry-After.",
}
PROTECTED_PROBLEMS = (401, 403, 422, 503)
BODY_PROBLEMS = (400, 413, 422)


def camel(words: str) -> str:
    """snake_case or kebab-case words as lowerCamelCase."""
    first, *rest = [w for w in re.split(r"[_\-\s]+", words) if w]
    return first.lower() + "".join(w[:1].upper() + w[1:].lower() for w in rest)


def operation_id(route: APIRoute) -> str:
    """The table's id for the route; else its name, and "Case" for a command on one case."""
    method = sorted(route.methods or {"GET"})[0]
    known = OPERATION_IDS.get(f"{method} {route.path_format}")
    if known is not None:
        return known
    derived = camel(route.name)
    if route.path_format.startswith(CASE_PATH) and "case" not in route.name.lower():
        derived += "Case"
    return derived


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add security, body examples, problem schemas and their standard statuses."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    components["securitySchemes"] = SECURITY_SCHEMES
    for name, examples in BODY_EXAMPLES.items():
        if name in schemas:
            schemas[name].setdefault("examples", examples)
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            protected = operation.get(ACCESS_KEY) != [PUBLIC]  # undeclared: protected
            if protected:
                operation["security"] = [{BEARER: []}]
            declare_problems(operation, protected=protected)
    if not refers_to(document["paths"], "#/components/schemas/HTTPValidationError"):
        # FastAPI's own 422 shape is never sent: every 422 is a problem.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def declare_problems(operation: dict[str, Any], *, protected: bool) -> None:
    """Every 4xx/5xx answer of the operation as problem+json; the standard ones added."""
    responses = operation.setdefault("responses", {})
    statuses = {500}
    if protected:
        statuses.update(PROTECTED_PROBLEMS)
    if "requestBody" in operation:
        statuses.update(BODY_PROBLEMS)
    if operation.get("parameters"):
        statuses.add(422)
    for status in sorted(statuses):
        responses.setdefault(str(status), {"description": PROBLEM_DESCRIPTIONS[status]})
    for code, response in responses.items():
        if code[:1] in {"4", "5"}:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            if response.get("description") == "Validation Error":  # FastAPI's default words
                response["description"] = PROBLEM_DESCRIPTIONS[422]


def refers_to(node: Any, ref: str) -> bool:
    """Whether any ``$ref`` below the node names ``ref``."""
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(refers_to(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(refers_to(v, ref) for v in node)
    return False


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request)."""
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
