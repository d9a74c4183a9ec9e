"""The payment watch makes up for callbacks that never came: it polls the provider for the
requests still waiting (the simulator runs as its own process) and expires those past their
end with no money. One request's failure never stops the round."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from application.clock import FixedClock
from application.store import VorgangStore
from domain.payments.payment_request import WAITING, PaymentRequest
from infrastructure.database import DatabaseTarget
from infrastructure.payment_watch import PaymentWatch
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.application.test_reconciliation import (
    CASH_OFFICE,
    SECRET,
    PaymentWorld,
    Receiver,
    open_world,
)
from tests.conftest import document_places

POLL_AFTER = timedelta(minutes=2)


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
def world(store: VorgangStore, simulator_url: str, receiver: Receiver) -> Iterator[PaymentWorld]:
    yield from open_world(store, simulator_url, receiver)


def waiting_among(world: PaymentWorld, ids: list[UUID]) -> Callable[[datetime], list[UUID]]:
    """What the read model answers, from the aggregates: those still waiting, started before
    the moment (an id of no request is passed on as it is: a view a moment ahead)."""

    def waiting(started_before: datetime) -> list[UUID]:
        found = []
        for request_id in ids:
            try:
                request = world.payments.request(CASH_OFFICE, request_id)
            except Exception:
                found.append(request_id)
                continue
            if request.status in WAITING and request.requested_at < started_before:
                found.append(request_id)
        return found

    return waiting


def watch(world: PaymentWorld, *ids: UUID) -> PaymentWatch:
    return PaymentWatch(
        None,  # type: ignore[arg-type]  # the read model is replaced by ``waiting``
        world.payments,
        world.clock,
        poll_after=POLL_AFTER,
        waiting=waiting_among(world, list(ids)),
    )


def status(world: PaymentWorld, request: PaymentRequest) -> str:
    return world.payments.request(CASH_OFFICE, request.id).status


def test_a_payment_whose_callback_never_came_is_applied_by_the_round(world: PaymentWorld) -> None:
    kz = world.receivable("25.00")
    request = world.request(kz)
    event_id = world.pay(request, "25.00", delivery="never")
    assert event_id in world.delivered()["withheld"]
    round_ = watch(world, request.id)

    assert round_.tick(world.clock.now().date()) == 0  # younger than poll_after: left alone
    assert status(world, request) == "pending"

    world.clock.advance(POLL_AFTER + timedelta(seconds=1))
    assert round_.tick(world.clock.now().date()) == 1
    assert status(world, request) == "paid"
    assert world.payments.receivable(CASH_OFFICE, kz).status == "settled"
    assert round_.tick(world.clock.now().date()) == 0  # nothing waits any more


def test_an_unpaid_request_past_its_end_expires(world: PaymentWorld) -> None:
    request = world.request(world.receivable("25.00"))
    round_ = watch(world, request.id)
    world.clock.advance(POLL_AFTER + timedelta(seconds=1))

    assert round_.tick(world.clock.now().date()) == 0  # polled: nothing paid, not yet ended
    assert status(world, request) == "pending"

    world.clock.set(request.expires_at)
    assert round_.tick(world.clock.now().date()) == 1
    assert status(world, request) == "expired"


def test_one_failing_request_does_not_stop_the_others(world: PaymentWorld) -> None:
    request = world.request(world.receivable("25.00"))
    world.pay(request, "25.00", delivery="never")
    world.delivered()
    round_ = watch(world, uuid4(), request.id)
    world.clock.advance(POLL_AFTER + timedelta(seconds=1))

    with capture_logs() as logs:
        assert round_.tick(world.clock.now().date()) == 1

    assert status(world, request) == "paid"
    [failure] = [entry for entry in logs if entry["event"] == "payment request not polled"]
    assert failure["error"] == "CaseNotFound"
    assert set(failure) == {"event", "log_level", "request", "error"}


@pytest.fixture
def wired(
    target: DatabaseTarget,
    simulator_url: str,
    receiver: Receiver,
    tmp_path: Path,
    seal_files: tuple[Path, Path],
) -> Iterator[tuple[Vorgang, PaymentWorld]]:
    """The wired application naming the simulator, its read models, and a world to pay in."""
    settings = Settings(
        database_url=target.display,
        payment_provider_url=simulator_url,
        payment_provider_secrets=SecretStr(SECRET),
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    vorgang = build(settings, clock=clock)
    try:
        store = vorgang.payments.store
        for world in open_world(store, simulator_url, receiver):
            world.payments = vorgang.payments
            world.clock = clock
            yield vorgang, world
    finally:
        vorgang.close()


def test_the_round_finds_the_waiting_requests_in_the_receivables_view(
    wired: tuple[Vorgang, PaymentWorld],
) -> None:
    vorgang, world = wired
    silent = world.request(world.receivable("25.00"))
    world.pay(silent, "25.00", delivery="never")
    world.delivered()
    unpaid = world.request(world.receivable("12.00"))
    round_ = PaymentWatch(vorgang.views, vorgang.payments, world.clock, poll_after=POLL_AFTER)

    world.clock.advance(POLL_AFTER + timedelta(seconds=1))
    vorgang.projections.catch_up()
    assert round_.tick(world.clock.now().date()) == 1
    assert status(world, silent) == "paid"
    assert status(world, unpaid) == "pending"

    world.clock.set(unpaid.expires_at)
    vorgang.projections.catch_up()
    assert round_.tick(world.clock.now().date()) == 1
    assert status(world, unpaid) == "expired"
    vorgang.projections.catch_up()
    assert round_.tick(world.clock.now().date()) == 0  # the view knows: nothing waits
