"""`vorgang audit replay` replays a tenant's decisions and fails on an inconsistent one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from domain.rules.road_opening import FEE_TARIFFS
from domain.rules.versions import STATUTES
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
    counts = result.stdout.splitlines()[1].split()  # the table on stdout; logs go to stderr
    assert counts[0] == counts[1]  # every decision consistent
    assert int(counts[0]) >= 5

    undercharging = tuple(
        replace(tariff, base_fee=tariff.base_fee - Decimal("1.00")) for tariff in FEE_TARIFFS
    )
    with STATUTES.amended(FEE_TARIFFS, undercharging).applied():
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
