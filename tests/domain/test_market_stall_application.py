"""A trader's application for a market stall: the form, and the documents the market requires
by category and regime (checked in the submission's save, refused naming ``data.documents``)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from domain.errors import InvalidCommand
from domain.personal_data import PersonalData
from domain.services.catalogue import SERVICES
from domain.services.market_stall import SERVICE_ID, missing_documents
from tests.domain.market_stall_fixtures import (
    DOCUMENTS,
    DURING,
    Shared,
    applied,
    form,
    market,
    submitted,
)


def validate(data: dict[str, Any]) -> Any:
    return SERVICES[SERVICE_ID].validate(data, DURING.date())


def test_the_form_takes_business_contact_range_category_frontage_utilities_and_years() -> None:
    model = validate(form(uuid4(), "drinks", electricity=True, connected_load_kw="3.5", water=True))
    assert model.category == "drinks"
    assert str(model.frontage_m) == "2.50"
    assert model.electricity
    assert model.water
    assert model.years_of_attendance == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "fireworks"}, "data.category"),
        ({"electricity": True}, "data.connected_load_kw"),
        ({"connected_load_kw": "2.0"}, "data.connected_load_kw"),
        (
            {
                "documents": [
                    {"kind": "liability_insurance", "reference": "Police 1"},
                    {"kind": "liability_insurance", "reference": "Police 2"},
                ]
            },
            "data.documents[1]",
        ),
    ],
)
def test_the_form_refuses_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        validate(form(uuid4(), **change))
    assert refused.value.field == field


@pytest.mark.parametrize(
    "change",
    [
        {"frontage_m": "0"},
        {"frontage_m": "-2"},
        {"depth_m": "101"},
        {"years_of_attendance": 51},
        {"years_of_attendance": -1},
        {"documents": [{"kind": "passport", "reference": "x"}]},
        {"business": {"name": "X", "legal_form": "kartell", "address": "Obergasse 1"}},
        {"contact": {"name": "Erika", "phone": "call me", "email": "erika@example.org"}},
        {"unknown": 1},
    ],
)
def test_the_form_refuses_impossible_values(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate(form(uuid4(), **change))


def test_personal_fields_are_personal_data_of_the_case_from_the_first_line() -> None:
    case = submitted(form(market().id))
    business, contact = case.data["business"], case.data["contact"]
    for value in (
        business["name"],
        business["address"],
        contact["name"],
        contact["phone"],
        contact["email"],
        case.data["product_range"],
        case.data["documents"][0]["reference"],
    ):
        assert isinstance(value, PersonalData)
        assert value.case_id == case.id
    assert case.data["category"] == "crafts"  # what the market reads is not personal


@pytest.mark.parametrize(
    ("category", "regime", "required"),
    [
        ("crafts", "festgesetzt", ["liability_insurance"]),
        ("crafts", "town_rules", ["trade_licence", "liability_insurance"]),
        ("food", "festgesetzt", ["liability_insurance", "food_hygiene"]),
        ("drinks", "town_rules", ["trade_licence", "liability_insurance", "food_hygiene"]),
        ("ride", "festgesetzt", ["liability_insurance", "ride_approval"]),
        ("ride", "town_rules", ["trade_licence", "liability_insurance", "ride_approval"]),
    ],
)
def test_documents_required_by_category_and_regime(
    category: str, regime: str, required: list[str]
) -> None:
    assert sorted(missing_documents([], category, regime)) == sorted(required)
    assert missing_documents(required, category, regime) == []


@pytest.mark.parametrize(
    ("category", "regime", "named", "missing"),
    [
        ("crafts", "festgesetzt", [], "liability_insurance"),
        ("crafts", "town_rules", ["liability_insurance"], "trade_licence"),
        ("food", "festgesetzt", ["liability_insurance"], "food_hygiene"),
        ("ride", "festgesetzt", ["liability_insurance"], "ride_approval"),
    ],
)
def test_an_application_without_a_required_document_is_refused_naming_data_documents(
    category: str, regime: str, named: list[str], missing: str
) -> None:
    at_market = market(regime=regime)
    shared = Shared(at_market)
    documents = [{"kind": kind, "reference": DOCUMENTS[kind]} for kind in named]
    frontage = "8.00" if category == "ride" else "2.50"
    data = form(at_market.id, category, documents=documents, frontage_m=frontage)
    with pytest.raises(InvalidCommand) as refused:
        applied(shared, data)
    assert refused.value.field == "data.documents"
    assert missing in refused.value.message
    assert not at_market.applications
    assert not at_market.pending_events
    complete = [*documents, {"kind": missing, "reference": DOCUMENTS[missing]}]
    if regime == "town_rules" and missing != "trade_licence":
        complete.append({"kind": "trade_licence", "reference": DOCUMENTS["trade_licence"]})
    case = applied(shared, {**data, "documents": complete})
    assert at_market.recorded(case.id)


def test_the_trade_licence_is_not_required_where_the_market_privilege_applies() -> None:
    at_market = market(regime="festgesetzt")
    shared = Shared(at_market)
    case = applied(shared, form(at_market.id, "crafts"))
    assert at_market.recorded(case.id)
    town_market = market(regime="town_rules")
    with pytest.raises(InvalidCommand) as refused:
        applied(Shared(town_market), form(town_market.id, "crafts"))
    assert refused.value.field == "data.documents"
    assert "trade_licence" in refused.value.message
