"""The NATS JetStream relay against a real nats-server (127.0.0.1:4222, JetStream on).

Each test publishes to a stream and a subject prefix of its own (deleted after it), so
parallel test processes never meet. Without a server a laptop skips with the reason; under
``CI=true`` the tests fail instead (``.ci/run`` starts the server).

Every verdict is a state observed (the stream's messages, the stored cursor); the waits have
a hang guard only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy
from nats.js.errors import NotFoundError

from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.database import DatabaseTarget
from infrastructure.nats_relay import (
    NatsRelay,
    PublishFailed,
    RelayConfig,
    RelayCursors,
    ensure_stream,
    subject_for,
)
from infrastructure.settings import Settings
from infrastructure.view_database import ViewDatabase, open_views
from infrastructure.wiring import Vorgang, build
from projections.feed_query import FeedQuery, FeedRow
from tests import polling
from tests.conftest import (
    IN_CI,
    document_places,
    drop_postgres_schema,
    fresh_postgres_target,
    sqlite_target,
)
from tests.steps import decided, submitted

NATS_URL = os.environ.get("VORGANG_TEST_NATS_URL", "nats://127.0.0.1:4222")
HANG_GUARD = 60.0  # seconds: only against a hang; every verdict is a state observed
PERSONAL = "Erika Mustermann"
MOST_CASES = 400  # the writers stop here at the latest (a guard, no verdict)
SCHMITTEN = Actor("portal:schmitten", "Antragsteller", Role.APPLICANT, "schmitten")


async def _jetstream_reason() -> str | None:
    try:
        client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as error:
        return f"NATS at {NATS_URL} is not reachable ({type(error).__name__})"
    try:
        await client.jetstream().account_info()
    except Exception as error:
        return f"NATS at {NATS_URL} answers without JetStream ({type(error).__name__})"
    finally:
        await client.close()
    return None


@pytest.fixture(scope="module")
def nats_server() -> str:
    """The server's URL; skip on a laptop without it, fail under CI=true."""
    reason = asyncio.run(_jetstream_reason())
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the NATS relay's tests must run)")
        pytest.skip(reason)
    return NATS_URL


@pytest.fixture
def vorgang(tmp_path: Path, clock: FixedClock, seal_files: tuple[Path, Path]) -> Iterator[Vorgang]:
    """The application on SQLite (the relay's SQL on PostgreSQL runs in the SIGKILL test)."""
    settings = Settings(
        database_url=sqlite_target(tmp_path).display,
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    built = build(settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def config(nats_server: str) -> Iterator[RelayConfig]:
    """A stream and subject prefix of this test's own, removed after it."""
    tag = uuid.uuid4().hex[:12]
    chosen = RelayConfig(
        url=nats_server,
        stream=f"TEST_{tag}",
        subject_prefix=f"t{tag}",
        duplicate_window_seconds=600,
        max_age_seconds=3600,
        batch=4,
        poll_seconds=0.02,
    )
    yield chosen
    asyncio.run(_delete_stream(nats_server, chosen.stream))


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        with contextlib.suppress(NotFoundError):  # never created (a test that failed early)
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


@dataclass(frozen=True)
class Stored:
    """A message as a JetStream consumer receives it."""

    subject: str
    msg_id: str
    body: dict[str, Any]
    raw: bytes


async def _consume(config: RelayConfig) -> list[Stored]:
    """Every message of the stream, through a pull consumer (acknowledged one by one)."""
    client = await nats.connect(config.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        total = (await js.stream_info(config.stream)).state.messages
        consumer = await js.pull_subscribe(
            f"{config.subject_prefix}.>",
            stream=config.stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT),
        )
        found: list[Stored] = []
        while len(found) < total:
            for message in await consumer.fetch(min(256, total - len(found)), timeout=5):
                await message.ack()
                headers = message.headers or {}
                found.append(
                    Stored(
                        message.subject,
                        headers.get("Nats-Msg-Id", ""),
                        json.loads(message.data),
                        message.data,
                    )
                )
        return found
    finally:
        await client.close()


async def _relay_all(relay: NatsRelay) -> int:
    """Publish batch after batch until the feed view has nothing more after the cursor."""
    client = await nats.connect(relay.config.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = client.jetstream(timeout=5)
        await ensure_stream(js, relay.config)
        relay.position = relay.cursors.position(relay.config.stream)
        total = 0
        while published := await relay.relay_batch(js):
            total += published
        return total
    finally:
        await client.close()


async def _with_jetstream(url: str, work: Callable[[JetStreamContext], Any]) -> Any:
    client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        return await work(client.jetstream(timeout=5))
    finally:
        await client.close()


def _feed_ids(views: ViewDatabase) -> list[str]:
    return [row.id for row in FeedQuery(views).rows(None, after=0, limit=100_000)]


def test_a_subject_has_a_token_for_every_part_never_an_empty_one() -> None:
    row = FeedRow(
        7, "e-1", "de.vorgang.payment_request.created.v1", "usingen", "", "r", "", "{}", None
    )

    assert subject_for("vorgang", row) == "vorgang.usingen._.payment_request.created.v1"
    odd = FeedRow(8, "e-2", "other.kind v1", "bad.town", "a*b>", "c", "", "{}", None)
    assert subject_for("p", odd) == "p.bad_town.a_b_.other.kind_v1"


def test_a_duplicate_window_longer_than_the_streams_max_age_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate window"):
        RelayConfig(url=NATS_URL, max_age_seconds=60, duplicate_window_seconds=120)


def test_each_event_goes_to_its_subject_with_its_id_as_nats_msg_id_and_no_personal_data(
    vorgang: Vorgang, config: RelayConfig
) -> None:
    case = submitted(vorgang.cases, applicant={"name": PERSONAL, "email": "erika@example.org"})
    decided(vorgang.cases, case)
    submitted(vorgang.cases, tenant="schmitten", actor=SCHMITTEN, applicant={"name": PERSONAL})
    vorgang.projections.catch_up()
    rows = FeedQuery(vorgang.views).rows(None, after=0, limit=1000)
    assert {r.type for r in rows} >= {"de.vorgang.case.submitted.v1", "de.vorgang.case.decided.v1"}
    relay = NatsRelay(config, vorgang.views)

    assert asyncio.run(_relay_all(relay)) == len(rows)

    info = asyncio.run(_with_jetstream(config.url, lambda js: js.stream_info(config.stream)))
    assert info.config.subjects == [f"{config.subject_prefix}.>"]  # created, as configured
    assert info.config.duplicate_window == 600
    assert info.config.max_age == 3600
    assert info.config.retention == RetentionPolicy.LIMITS
    stored = asyncio.run(_consume(config))
    assert [s.msg_id for s in stored] == [r.id for r in rows]
    assert [s.body["id"] for s in stored] == [r.id for r in rows]
    assert [s.subject for s in stored] == [
        f"{config.subject_prefix}.{r.tenant}.{r.service}.{r.type.removeprefix('de.vorgang.')}"
        for r in rows
    ]
    assert f"{config.subject_prefix}.usingen.general.case.decided.v1" in {s.subject for s in stored}
    assert f"{config.subject_prefix}.schmitten.general.case.submitted.v1" in {
        s.subject for s in stored
    }
    for message in stored:  # never personal data, even sealed: no grant opens it here
        assert "personal" not in message.body["data"]
        assert PERSONAL.encode() not in message.raw
        assert b"erika@example.org" not in message.raw
    assert RelayCursors(vorgang.views).position(config.stream) == rows[-1].sequence


def test_a_batch_acknowledged_but_not_recorded_is_published_again_and_dropped_as_duplicate(
    vorgang: Vorgang, config: RelayConfig
) -> None:
    for _ in range(3):
        submitted(vorgang.cases)
    vorgang.projections.catch_up()
    ids = _feed_ids(vorgang.views)

    class CrashBeforeTheCursor(RelayCursors):
        def advance(self, stream: str, position: int, moment: str) -> None:
            raise RuntimeError("killed after the acks, before the cursor")

    crashed = NatsRelay(config, vorgang.views, cursors=CrashBeforeTheCursor(vorgang.views))
    with pytest.raises(RuntimeError, match="killed after the acks"):
        asyncio.run(_relay_all(crashed))
    assert crashed.published == len(ids[: config.batch])
    assert RelayCursors(vorgang.views).position(config.stream) == 0

    submitted(vorgang.cases)  # more while it was down
    vorgang.projections.catch_up()
    restarted = NatsRelay(config, vorgang.views)
    asyncio.run(_relay_all(restarted))

    assert restarted.duplicates == crashed.published  # the batch again: JetStream dropped it
    all_ids = _feed_ids(vorgang.views)
    assert restarted.published == len(all_ids) - crashed.published
    assert [s.msg_id for s in asyncio.run(_consume(config))] == all_ids


def test_resumes_after_its_cursor(vorgang: Vorgang, config: RelayConfig) -> None:
    submitted(vorgang.cases)
    vorgang.projections.catch_up()
    first = NatsRelay(config, vorgang.views)
    published = asyncio.run(_relay_all(first))
    assert published == first.published > 0
    head = FeedQuery(vorgang.views).head()
    assert RelayCursors(vorgang.views).position(config.stream) == head

    submitted(vorgang.cases, tenant="schmitten", actor=SCHMITTEN)
    vorgang.projections.catch_up()
    later = NatsRelay(config, vorgang.views)
    asyncio.run(_relay_all(later))

    new = [r.id for r in FeedQuery(vorgang.views).rows(None, after=head, limit=100)]
    assert later.published == len(new)
    assert later.duplicates == 0  # nothing before the cursor again
    assert [s.msg_id for s in asyncio.run(_consume(config))] == _feed_ids(vorgang.views)


def test_a_message_not_acknowledged_leaves_the_cursor_where_it_was(
    vorgang: Vorgang, config: RelayConfig
) -> None:
    submitted(vorgang.cases)
    vorgang.projections.catch_up()
    # the stream exists already, for other subjects: JetStream stores nothing of ours
    other = RelayConfig(url=config.url, stream=config.stream, subject_prefix=f"x{config.stream}")
    asyncio.run(_with_jetstream(config.url, lambda js: ensure_stream(js, other)))
    relay = NatsRelay(config, vorgang.views)

    with pytest.raises(PublishFailed):
        asyncio.run(_relay_all(relay))

    assert relay.published == 0
    assert RelayCursors(vorgang.views).position(config.stream) == 0


def test_where_the_read_models_are_kept_the_relay_runs_beside_them_when_configured(
    config: RelayConfig, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    settings = Settings(
        database_url=sqlite_target(tmp_path).display,
        nats_url=config.url,
        nats_stream=config.stream,
        nats_subject_prefix=config.subject_prefix,
        nats_poll_seconds=0.02,
        webhook_delivery=False,
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    vorgang = build(settings)  # as `vorgang worker` builds it
    try:
        assert any(isinstance(work, NatsRelay) for work in vorgang.projections.beside)
        vorgang.projections.start()
        submitted(vorgang.cases, applicant={"name": PERSONAL})
        _until("the submission relayed", lambda: _stream_messages(config) >= 1)
        stored = asyncio.run(_consume(config))
        assert [s.subject for s in stored] == [
            f"{config.subject_prefix}.usingen.general.case.submitted.v1"
        ]
        assert PERSONAL.encode() not in stored[0].raw
    finally:
        vorgang.close()


# ----------------------------------------------------------------------------- SIGKILL


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


def _until(what: str, condition: Callable[[], Any]) -> Any:
    return polling.until(what, condition, HANG_GUARD)


def _stream_messages(config: RelayConfig) -> int:
    async def count(js: JetStreamContext) -> int:
        try:
            return int((await js.stream_info(config.stream)).state.messages)
        except Exception:  # not created yet
            return 0

    return int(asyncio.run(_with_jetstream(config.url, count)))


class RelayLauncher:
    """Starts relay processes at once: a process forked before this one runs threads of its
    own (the application's pools, the writers) forks each relay in turn.

    A relay started as ``vorgang relay nats`` would first start an interpreter and import
    the application: half a minute on a loaded machine. A relay forked from here runs the
    same ``NatsRelay.run`` over a database connection of its own, in a process of its own
    (SIGKILL ends it, and its advisory lock with its session), and never inherits a lock a
    thread of this process held at the fork.
    """

    def __init__(self, config: RelayConfig, target: DatabaseTarget) -> None:
        requests_read, self._requests = os.pipe()
        self._answers, answers_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the launcher
            os.close(self._requests)
            os.close(self._answers)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its relays never linger as zombies
            try:
                while os.read(requests_read, 1):
                    relay = os.fork()
                    if relay == 0:
                        try:
                            os.close(requests_read)
                            os.close(answers_write)
                            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                            NatsRelay(config, open_views(target)).run()
                        finally:
                            os._exit(0)
                    os.write(answers_write, struct.pack("!i", relay))
            finally:
                os._exit(0)
        os.close(requests_read)
        os.close(answers_write)
        self.pid = pid
        self.relays: list[int] = []

    def start(self) -> int:
        """A new relay process; its pid."""
        os.write(self._requests, b"r")
        (pid,) = struct.unpack("!i", os.read(self._answers, 4))
        self.relays.append(pid)
        return int(pid)

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        """Kill the relays still running, end the launcher."""
        for pid in self.relays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.close(self._requests)  # the launcher reads the end and exits
        os.close(self._answers)
        os.waitpid(self.pid, 0)


@pytest.mark.postgres
def test_relay_sigkilled_and_restarted_while_cases_are_submitted_a_consumer_sees_each_event_once(
    pg: DatabaseTarget, config: RelayConfig, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    launcher = RelayLauncher(config, pg)  # before this process runs threads of its own
    settings = Settings(
        database_url=pg.display,
        webhook_delivery=False,
        scheduler=False,
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    vorgang = build(settings)
    writing = threading.Event()
    writing.set()
    written: list[int] = []

    def write() -> None:  # the writers: cases submitted through the application meanwhile
        while writing.is_set() and len(written) < MOST_CASES:
            if len(written) % 2:
                submitted(vorgang.cases, applicant={"name": PERSONAL})
            else:
                submitted(vorgang.cases, tenant="schmitten", actor=SCHMITTEN)
            written.append(1)

    writers = [threading.Thread(target=write, daemon=True) for _ in range(2)]
    try:
        vorgang.projections.start()  # the feed view kept here, as `vorgang worker` would
        submitted(vorgang.cases)
        first = launcher.start()
        _until("the relay is up", lambda: _stream_messages(config) >= 1)
        for writer in writers:
            writer.start()
        _until("the relay published", lambda: _stream_messages(config) >= 12)
        os.kill(first, signal.SIGKILL)  # mid-stream: batches in flight, a cursor behind
        _until("the relay is gone", lambda: not launcher.alive(first))
        at_kill, written_at_kill = _stream_messages(config), len(written)
        more = min(written_at_kill + 10, MOST_CASES)
        _until("cases written while it is down", lambda: len(written) >= more)
        launcher.start()
        _until("the restarted relay published", lambda: _stream_messages(config) > at_kill)
        writing.clear()
        for writer in writers:
            writer.join(30)
        head = vorgang.store.recorder.max_notification_id() or 0
        assert vorgang.projections.wait_for("feed", head, HANG_GUARD)
        ids = _feed_ids(vorgang.views)
        _until("every event relayed", lambda: _stream_messages(config) >= len(ids))

        stored = asyncio.run(_consume(config))
        seen = [s.msg_id for s in stored]
        assert len(seen) == len(set(seen)), "a duplicate reached the consumer"
        assert sorted(seen) == sorted(ids), "an event is missing, or one not in the feed"
        assert all(PERSONAL.encode() not in s.raw for s in stored)
    finally:
        writing.clear()
        launcher.close()
        vorgang.close()


def test_the_command_without_a_url_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from infrastructure.cli import app

    monkeypatch.delenv("VORGANG_NATS_URL", raising=False)
    monkeypatch.setenv("VORGANG_DATABASE_URL", f"sqlite:///{tmp_path / 'vorgang.db'}")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, ["relay", "nats"])

    assert result.exit_code == 2
    assert "VORGANG_NATS_URL" in result.output
