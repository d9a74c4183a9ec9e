"""`vorgang payments reconcile` prints each town's run and exits 0 only when all balance.

The application is wired from settings naming the simulator (its own process); payments are
made there and applied through the wired ``PaymentService``, then the command runs as an
operator's cron job would: from the environment, on its own wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from application.clock import FixedClock
from domain.working_days import BERLIN
from infrastructure.cli import app
from infrastructure.database import DatabaseTarget
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.application.test_reconciliation import DAYS, FIRST_DAY, SECRET, PaymentWorld, Receiver
from tests.conftest import document_places


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def simulator_url(receiver: Receiver) -> Iterator[str]:
    options = ("--retry-seconds", "0.01", "--attempts", "3", "--log-level", "WARNING")
    with running_simulator(SECRET, receiver.url, options=options) as url:
        yield url


@pytest.fixture
def settings(
    target: DatabaseTarget,
    simulator_url: str,
    tmp_path: Path,
    seal_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings naming the simulator, in the environment too (for the command)."""
    values = {
        "database_url": target.display,
        "payment_provider_url": simulator_url,
        "payment_provider_secrets": SECRET,
        **document_places(tmp_path, seal_files),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"VORGANG_{name.upper()}", value)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def world(settings: Settings, receiver: Receiver) -> Iterator[PaymentWorld]:
    """Payments on a day of their own through the wired application."""
    day = FIRST_DAY + timedelta(days=next(DAYS))
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    vorgang = build(settings, clock=clock)
    try:
        with httpx.Client(base_url=str(settings.payment_provider_url), timeout=5) as control:
            moment = datetime.combine(day, dt_time(12), tzinfo=BERLIN)
            assert control.post("/_control/clock", json={"now": moment.isoformat()}).is_success
            provider = vorgang.payments.provider()
            yield PaymentWorld(vorgang.payments, clock, provider, control, receiver, day)  # type: ignore[arg-type]
    finally:
        vorgang.close()


def reconcile(world: PaymentWorld, *options: str) -> Result:
    """The command for the world's day, as an operator runs it."""
    return CliRunner().invoke(
        app, ["payments", "reconcile", "--date", world.day.isoformat(), *options]
    )


def test_a_balanced_day_prints_every_town_and_exits_0(world: PaymentWorld) -> None:
    first = world.request(world.receivable("30.00"), world.receivable("20.00"))
    world.pay(first, "55.00")  # overpaid: the 5.00 fall to the last Kassenzeichen
    world.apply_callbacks(first)

    result = reconcile(world)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"usingen {world.day} simulator (run 1): balanced" in lines
    assert "  matched        2 rows         55.00 EUR" in lines
    assert f"schmitten {world.day} simulator (run 1): balanced" in lines  # nothing paid there


def test_an_unrecorded_payment_is_listed_and_exits_1(world: PaymentWorld) -> None:
    paid = world.request(world.receivable("30.00"))
    silent = world.request(world.receivable("12.50"))
    world.pay(paid, "30.00")
    world.pay(silent, "12.50", delivery="never")
    world.apply_callbacks(paid)
    world.delivered()

    result = reconcile(world, "--town", "usingen")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"usingen {world.day} simulator (run 1): NOT BALANCED"
    assert lines[1] == "  matched        1 rows         30.00 EUR"
    assert lines[2].split() == [
        "unexpected",
        str(silent.provider_reference),
        silent.items[0].kassenzeichen,
        "12.50",
        "EUR",
    ]
    assert len(lines) == 3  # only the town asked for


def test_an_unreachable_provider_is_one_line_and_exits_2(
    world: PaymentWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VORGANG_PAYMENT_PROVIDER_URL", "http://127.0.0.1:9")

    result = reconcile(world, "--town", "usingen")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("vorgang: ")


def test_a_future_day_and_an_unknown_town_are_refused(world: PaymentWorld) -> None:
    tomorrow = datetime.now(BERLIN).date() + timedelta(days=1)
    future = CliRunner().invoke(app, ["payments", "reconcile", "--date", tomorrow.isoformat()])
    assert future.exit_code == 2
    assert "date:" in future.stderr

    unknown = reconcile(world, "--town", "atlantis")
    assert unknown.exit_code == 2
    assert "--town must be one of" in unknown.stderr
