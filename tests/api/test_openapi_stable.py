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

from api.app import create_app
from infrastructure.settings import Settings

BEFORE = Path(__file__).with_name("openapi_before.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PROBLEM_JSON = "application/problem+json"
# Keys that are prose or presentation in any schema or parameter, not structure.
# Titles too: FastAPI derives inline titles from operation ids, which may change.
PROSE = frozenset({"description", "summary", "example", "examples", "x-label-de", "title"})
ACCESS = ("x-vorgang-access", "x-vorgang-integrator-scope")

# Differences that are meant, exactly as the comparison reports them.
INTENDED: frozenset[str] = frozenset(
    {
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
    }
)
# Component schemas that may be renamed or dropped (their content is still compared inline).
# FastAPI's validation error schemas give way to the declared problem schema. The sewer
# connection's body is named as its command (``DetermineConnectionPoint``), since its module
# has a value of its own called ``ConnectionPoint``.
RENAMED_SCHEMAS: frozenset[str] = frozenset(
    {"HTTPValidationError", "ValidationError", "ConnectionPoint"}
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
        token_secret="api-test-secret-0123456789abcdef-xyz",
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
