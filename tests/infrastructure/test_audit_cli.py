"""`vorgang audit replay` replays a tenant's decisions and fails on an inconsistent one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from domain.rules.road_opening import FeeTariff
from infrastructure.cli import app
from infrastructure.demo import seed_demo
from infrastructure.wiring import Vorgang


def test_audit_replay_summarises_and_fails_on_a_tampered_rule(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_demo(vorgang, towns=["usingen"])  # the replay reads one town
    monkeypatch.setenv("VORGANG_DATABASE_URL", vorgang.settings.database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "replay", "--tenant", "usingen", "--from", "2020-01-01"])
    assert result.exit_code == 0, result.output
    counts = result.output.splitlines()[1].split()
    assert counts[0] == counts[1]  # every decision consistent
    assert int(counts[0]) >= 5

    original = FeeTariff.assess

    def undercharging(self, length_m, width_m):  # type: ignore[no-untyped-def]
        fee, applied = original(self, length_m, width_m)
        return fee - Decimal("1.00"), applied

    monkeypatch.setattr(FeeTariff, "assess", undercharging)
    tampered = runner.invoke(
        app,
        [
            "audit",
            "replay",
            "--tenant",
            "usingen",
            "--from",
            "2020-01-01",
            "--service",
            "road-opening",
        ],
    )
    assert tampered.exit_code == 1
    assert "inconsistent: fee: recorded" in tampered.output
