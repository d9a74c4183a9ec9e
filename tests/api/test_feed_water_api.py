"""Water meters' readings and reading campaigns in the pull feed: their own documented
schemas, each town's alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast

from fastapi import FastAPI
from fastapi.testclient import TestClient

from infrastructure.wiring import Vorgang
from tests.api.conftest import Auth
from tests.api.test_feed_api import read_all
from tests.projections.test_feed_water import CASE_A, CLERK, at, install, report
from tests.projections.test_feed_water_campaigns import open_campaign

METER_TYPES = {
    "de.vorgang.case.water_meter_installed.v1",
    "de.vorgang.case.water_meter_reading_recorded.v1",
    "de.vorgang.case.water_meter_correction_recorded.v1",
}


def test_meter_events_validate_against_their_schema_and_reach_their_town_only(
    client: TestClient, auth: Auth
) -> None:
    import jsonschema

    vorgang: Vorgang = cast(FastAPI, client.app).state.provider.get()
    meter = install("usingen", "WZ-USI-0815", date(2024, 1, 1))
    report(meter, date(2024, 12, 31), "95.500", CASE_A, 2024)
    meter.correct(
        read_on=date(2024, 12, 31),
        value=Decimal("59.500"),
        reason="digits_swapped",
        actor=CLERK,
        at=at(date(2025, 1, 10)),
    )
    vorgang.store.save(meter)

    types = {t["type"]: t for t in client.get("/api/v1/feed/types").json()}
    assert set(types) >= METER_TYPES
    events = read_all(client, auth("integrator"), service="water-meter-reading")
    assert {e["type"] for e in events} == METER_TYPES
    for event in events:
        jsonschema.validate(event["data"], types[event["type"]]["dataschema"])
        assert event["subject"] == str(meter.id)
    schema = types["de.vorgang.case.water_meter_correction_recorded.v1"]["dataschema"]
    assert schema["properties"]["corrects"]["description"]
    assert (
        read_all(client, auth("integrator", tenant="schmitten"), service="water-meter-reading")
        == []
    )


CAMPAIGN_TYPES = {
    "de.vorgang.case.water_campaign_opened.v1",
    "de.vorgang.case.water_campaign_estimates_made.v1",
    "de.vorgang.case.water_campaign_closed.v1",
}


def test_campaign_events_validate_against_their_schema_and_reach_their_town_only(
    client: TestClient, auth: Auth
) -> None:
    import jsonschema

    vorgang: Vorgang = cast(FastAPI, client.app).state.provider.get()
    campaign = open_campaign("usingen", 2025)
    campaign.record_estimates(
        estimated=3, not_estimable=1, actor=CLERK, at=datetime(2026, 1, 20, 7, tzinfo=UTC)
    )
    campaign.close(actor=CLERK, at=datetime(2026, 2, 1, 9, tzinfo=UTC))
    vorgang.store.save(campaign)

    types = {t["type"]: t for t in client.get("/api/v1/feed/types").json()}
    assert set(types) >= CAMPAIGN_TYPES
    events = read_all(client, auth("integrator"), service="water-meter-reading")
    assert {e["type"] for e in events} == CAMPAIGN_TYPES
    for event in events:
        schema = types[event["type"]]["dataschema"]
        jsonschema.validate(event["data"], schema)
        assert set(event["data"]) <= set(schema["properties"])  # every field documented
        assert event["subject"] == str(campaign.id)
    schema = types["de.vorgang.case.water_campaign_estimates_made.v1"]["dataschema"]
    assert schema["properties"]["not_estimable"]["description"]
    assert "meter_id" not in schema["properties"]  # not the meters' schema
    assert (
        read_all(client, auth("integrator", tenant="schmitten"), service="water-meter-reading")
        == []
    )
