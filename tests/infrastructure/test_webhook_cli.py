"""`vorgang webhooks dead-letters`: the operator lists dead letters and asks for redelivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from domain.actor import Actor, Role, Scope
from domain.webhooks import Subscription, SubscriptionFilter
from infrastructure.cli import app
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import document_places

OWNER = Actor(
    "archiv", "archiv", Role.INTEGRATOR, "usingen", scopes=frozenset({Scope.WEBHOOKS_MANAGE})
)


@pytest.fixture
def deployment(
    target: DatabaseTarget,
    tmp_path: Path,
    seal_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Vorgang]:
    values = {"database_url": target.display, **document_places(tmp_path, seal_files)}
    for name, value in values.items():
        monkeypatch.setenv(f"VORGANG_{name.upper()}", value)
    built = build(Settings(**values), run_scheduler=False)  # type: ignore[arg-type]
    try:
        yield built
    finally:
        built.close()


def with_dead_letter(vorgang: Vorgang) -> UUID:
    subscription_id = vorgang.webhooks.subscribe(
        OWNER, url="https://archiv.example/hooks", filter=SubscriptionFilter(("usingen",))
    ).subscription.id
    subscription = vorgang.store.repository.get(subscription_id)
    assert isinstance(subscription, Subscription)
    subscription.record_dead_letter(
        at=datetime.now(UTC),
        sequence=17,
        event_id="evt-17",
        type="de.vorgang.case.submitted.v1",
        attempts=8,
        last_error="HTTP 500",
    )
    vorgang.store.save(subscription)
    return subscription_id


def test_the_operator_lists_dead_letters_and_asks_for_one_again(deployment: Vorgang) -> None:
    subscription_id = with_dead_letter(deployment)
    runner = CliRunner()

    listed = runner.invoke(app, ["webhooks", "dead-letters"])
    asked = runner.invoke(
        app,
        [
            "webhooks",
            "dead-letters",
            "--subscription",
            str(subscription_id),
            "--redeliver",
            "17",
            "--reason",
            "Empfänger repariert",
            "--operator",
            "ops.meier",
        ],
    )
    again = runner.invoke(app, ["webhooks", "dead-letters", "--subscription", str(subscription_id)])
    missing = runner.invoke(
        app,
        ["webhooks", "dead-letters", "--subscription", str(subscription_id), "--redeliver", "9"],
    )

    assert listed.exit_code == 0, listed.output
    assert f"{subscription_id}  00000000000000000017  de.vorgang.case.submitted.v1" in listed.output
    assert asked.exit_code == 0, asked.output
    assert "redelivery of 00000000000000000017" in asked.output
    assert "redelivery requested" in again.output
    assert missing.exit_code != 0
    [requested] = [
        e
        for e in deployment.store.events.get(subscription_id)
        if type(e).__name__ == "RedeliveryRequested"
    ]
    assert requested.actor.id == "ops.meier"  # type: ignore[attr-defined]
