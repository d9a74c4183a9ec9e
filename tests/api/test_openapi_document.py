"""The OpenAPI document is one integrators can generate clients from: readable operation ids,
the bearer token declared, an example for every body, every error a problem."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from api.access import PUBLIC, allow
from api.app import create_app
from api.openapi import BODY_EXAMPLES, operation_id
from domain.actor import Role
from infrastructure.settings import Settings
from tests.api.conftest import SECRET, Auth

METHODS = ("get", "put", "post", "delete", "patch")
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
PROBLEM_JSON = "application/problem+json"
EXPECTED_IDS = {
    "POST /api/v1/cases": "submitCase",
    "GET /api/v1/cases": "searchCases",
    "GET /api/v1/cases/{case_id}": "getCase",
    "GET /api/v1/cases/{case_id}/history": "getCaseHistory",
    "GET /api/v1/access-log": "listAccessLog",
    "GET /api/v1/cases/{case_id}/file": "getCaseFile",
    "POST /api/v1/cases/{case_id}/claim": "claimCase",
    "POST /api/v1/cases/{case_id}/release": "releaseCase",
    "POST /api/v1/cases/{case_id}/assign": "assignCase",
    "POST /api/v1/cases/{case_id}/notes": "addNote",
    "POST /api/v1/cases/{case_id}/decide": "decideCase",
    "POST /api/v1/cases/{case_id}/withdraw": "withdrawCase",
    "POST /api/v1/cases/{case_id}/close": "closeCase",
    "GET /api/v1/inbox": "listInbox",
    "GET /api/v1/feed": "readFeed",
    "GET /api/v1/services": "listServices",
    "POST /api/v1/admin/cases/{case_id}/erasure": "eraseCase",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    database = tmp_path_factory.mktemp("openapi") / "openapi.db"
    return create_app(Settings(database_url=f"sqlite:///{database}", token_secret=SECRET))


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": item[method]
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    }


def body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    """The request body's JSON schema, as the operation declares it."""
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def named_schemas(schema: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
    """The component schemas a body refers to directly (itself, or the arms of an anyOf)."""
    refs = [schema, *schema.get("anyOf", [])]
    components = document["components"]["schemas"]
    return [components[r["$ref"].rsplit("/", 1)[1]] for r in refs if "$ref" in r]


def examples_of(operation: dict[str, Any], document: dict[str, Any]) -> list[Any]:
    """Every example given for the operation's body, on the media type or on its schema."""
    media = operation["requestBody"]["content"]["application/json"]
    found = list(media.get("examples", {}).values())
    if "example" in media:
        found.append(media["example"])
    for schema in [body_schema(operation), *named_schemas(body_schema(operation), document)]:
        found.extend(schema.get("examples", []))
    return found


def test_every_operation_id_is_unique_and_camel_case(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for operation in operations(document).values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not CAMEL_CASE.match(i)] == []


def test_the_core_operations_have_their_readable_ids(document: dict[str, Any]) -> None:
    found = {key: operations(document)[key]["operationId"] for key in EXPECTED_IDS}
    assert found == EXPECTED_IDS


def test_a_new_route_on_a_case_gets_its_name_and_the_case_as_its_id() -> None:
    router = APIRouter(prefix="/api/v1/cases")

    @router.post("/{case_id}/waive-fee", **allow(Role.SUPERVISOR))
    def waive_fee(case_id: str) -> None:
        """A command no table knows yet."""

    @router.get("/stray/numbers", **allow(Role.CLERK))
    def count_numbers() -> None:
        """A read of no single case."""

    app = FastAPI(generate_unique_id_function=operation_id)
    app.include_router(router)
    ids = sorted(op["operationId"] for op in operations(app.openapi()).values())
    assert ids == ["countNumbers", "waiveFeeCase"]


def test_every_protected_operation_asks_for_the_bearer_token_and_public_ones_do_not(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    wrong = [
        key
        for key, operation in operations(document).items()
        if (operation["x-vorgang-access"] == [PUBLIC]) == ("security" in operation)
    ]
    assert wrong == []
    assert operations(document)["POST /api/v1/cases"]["security"] == [{"bearer": []}]
    assert "security" not in operations(document)["GET /api/v1/services"]


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    bodies = {k: op for k, op in operations(document).items() if "requestBody" in op}
    assert len(bodies) >= 32
    assert [key for key, op in bodies.items() if not examples_of(op, document)] == []


def test_every_example_of_the_table_belongs_to_a_body_of_the_document(
    document: dict[str, Any],
) -> None:
    # A body model renamed by a refactoring would otherwise lose its example silently.
    bodies = {
        id(schema)
        for op in operations(document).values()
        if "requestBody" in op
        for schema in named_schemas(body_schema(op), document)
    }
    schemas = document["components"]["schemas"]
    assert [n for n in BODY_EXAMPLES if id(schemas.get(n)) not in bodies] == []


def test_every_body_example_fits_its_schema(document: dict[str, Any]) -> None:
    wrong = []
    for key, operation in operations(document).items():
        if "requestBody" not in operation:
            continue
        schema = {**body_schema(operation), "components": document["components"]}
        validator = Draft202012Validator(schema)
        for example in examples_of(operation, document):
            wrong += [f"{key}: {error.message}" for error in validator.iter_errors(example)]
    assert wrong == []


def test_every_body_example_is_a_body_the_api_accepts(
    app: FastAPI, document: dict[str, Any], auth: Auth
) -> None:
    # A body the API reads gets to the use case (on a case that does not exist: 404); a body
    # it cannot read is refused before, as a 400, 413 or an "Invalid request" 422.
    unknown_case = str(uuid4())
    refused = []
    with TestClient(app) as client:
        for key, operation in operations(document).items():
            if "requestBody" not in operation:
                continue
            method, path = key.split(" ", 1)
            role = operation["x-vorgang-access"][0]
            headers = {} if role == "public" else auth(role)
            url = (
                path.replace("{case_id}", unknown_case)
                .replace("{team_id}", "bauamt")
                .replace("{number}", "1")
                .replace("{tenant}/{office_id}", "usingen/buergerbuero")
                .replace("{counter}", "Schalter 1")
                .replace("{ticket}", "W001")
                .replace("{day}/{code}", "2026-03-04/ABCDEFGH")
                .replace("{account_id}", unknown_case)
                .replace("{request_id}", unknown_case)
                .replace("{member}", "portal:4711")
                .replace("{kassenzeichen}", "011-26-000001-01-8")
                .replace("{refund}", "R1")
                .replace("{provider}", "simulator")
                .replace("{meter_id}", unknown_case)
                .replace("{offering_id}", unknown_case)
                .replace("{year}", "2026")
                .replace("{subscription_id}", unknown_case)
                .replace("{sequence}", "1")
            )
            for example in examples_of(operation, document):
                answer = client.request(method, url, json=example, headers=headers)
                problem = answer.json() if PROBLEM_JSON in answer.headers["content-type"] else {}
                if answer.status_code in (400, 413) or problem.get("title") == "Invalid request":
                    refused.append(f"{key}: {answer.status_code} {answer.text}")
    assert refused == []


def test_every_error_response_is_a_problem_with_its_schema(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert problem.get("additionalProperties") is True  # extensions such as holder
    wrong = [
        f"{key} {status}"
        for key, operation in operations(document).items()
        for status, response in operation["responses"].items()
        if status[0] in "45"
        and response.get("content")
        != {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    ]
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_protected_operations_declare_the_standard_problems(document: dict[str, Any]) -> None:
    missing = []
    for key, operation in operations(document).items():
        wanted = {"500"}
        if operation["x-vorgang-access"] != [PUBLIC]:
            wanted |= {"401", "403", "422", "503"}
        if "requestBody" in operation:
            wanted |= {"400", "413", "422"}
        missing += [f"{key} {s}" for s in sorted(wanted - set(operation["responses"]))]
    assert missing == []


def test_the_served_document_is_the_completed_one(app: FastAPI) -> None:
    served = TestClient(app).get("/openapi.json").json()
    assert served["paths"]["/api/v1/cases"]["post"]["operationId"] == "submitCase"
    assert "securitySchemes" in served["components"]
