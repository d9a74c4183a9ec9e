"""A large, realistic event log on PostgreSQL, made in seconds and kept between runs.

Real case histories first: template cases of every demo scenario (both services, every
town, every state from "waiting" to "closed") go through the command pipeline on the real
wiring, so their events carry AES-GCM-encrypted personal data under keys in the key table, exactly
as in production. Their stored events are then copied with new case ids, many cases
interleaved in log order (as cases overlap in time), and appended to the recorder's events
table by ``COPY`` (notification ids from its own sequence). The log lives in a schema of its
own per size and is reused while it is complete.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.store import VorgangStore
from benchmarks.support import POSTGRES_URL, postgres_connection, table
from domain.actor import Actor, Role
from domain.working_days import berlin_date
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.demo import APPLICANTS, SCENARIOS, TOWNS, Town
from infrastructure.demo_road_opening import PERMIT_SCENARIOS, permit_data
from infrastructure.demo_steps import Step
from infrastructure.log_batches import collection_paused
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.case_events import case_event_topics

SCHEMA_PREFIX = "bench_readmodels_log_"
INFO_TABLE = "bench_log_info"
INTERLEAVED_CASES = 1_000  # cases whose events alternate in the log, as overlapping cases do
EVENTS_TABLE = f"{VorgangStore.name}_events"  # the recorder's table


@dataclass(frozen=True)
class LogInfo:
    """What a benchmark log holds and how it was made."""

    schema: str
    events: int  # case events (the projections' topics)
    cases: int
    templates: int
    template_events: int
    seconds: float
    reused: bool

    def describe(self) -> str:
        """One line for the report."""
        how = "reused from an earlier run" if self.reused else f"generated in {self.seconds:.0f} s"
        return (
            f"schema {self.schema}: {self.events:,} case events of {self.cases:,} cases "
            f"({self.templates} template cases through the command pipeline, encrypted personal "
            f"data, {self.template_events:,} events, copied with new case ids by COPY, "
            f"{INTERLEAVED_CASES:,} cases interleaved; {how})"
        )


def log_target(events: int) -> DatabaseTarget:
    """The PostgreSQL schema that holds the log of this size."""
    return parse_database_url(f"{POSTGRES_URL}?schema={SCHEMA_PREFIX}{events}")


def prepared_log(events: int, *, templates: int) -> tuple[DatabaseTarget, LogInfo]:
    """The log of at least ``events`` case events: reused if complete, else made now."""
    target = log_target(events)
    found = recorded_info(target)
    if found is not None and found.events >= events:
        return target, found
    schema = target.env["POSTGRES_SCHEMA"]
    with postgres_connection(parse_database_url(POSTGRES_URL)) as conn:
        conn.autocommit = True
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    started = time.perf_counter()
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=30))
    try:
        histories = template_histories(vorgang, templates)
        copied = replicate(target, histories, events - sum(len(h) for h in histories))
    finally:
        vorgang.close()
    info = LogInfo(
        schema=schema,
        events=sum(len(h) for h in histories) + copied.events,
        cases=len(histories) + copied.cases,
        templates=len(histories),
        template_events=sum(len(h) for h in histories),
        seconds=time.perf_counter() - started,
        reused=False,
    )
    record_info(target, info)
    return target, info


# ------------------------------------------------------------------ templates


def template_histories(vorgang: Vorgang, count: int) -> list[list[StoredEvent]]:
    """Run ``count`` cases through the demo scenarios, town by town; return their events.

    Scenarios repeat in further rounds (later dates, other applicants) past the first
    ``len(TOWNS) * (general + permit scenarios)`` cases.
    """
    start = datetime.now(UTC) - timedelta(days=70)
    scenarios: list[tuple[str, dict[str, Any] | None, Step]] = [
        ("general", {"subject": subject}, step) for subject, step in SCENARIOS
    ]
    scenarios += [("road-opening", None, step) for step in PERMIT_SCENARIOS]
    plan = (
        (round_, town, scenario)
        for round_ in itertools.count()
        for town in enumerate(TOWNS)
        for scenario in enumerate(scenarios)
    )
    for round_, (t_index, town), (s_index, (service, data, step)) in itertools.islice(plan, count):
        clock = FixedClock(start + timedelta(days=t_index + 5 * round_, hours=s_index))
        index = (round_ * len(scenarios) + s_index) * len(TOWNS) + t_index
        if data is None:
            street = town.streets[s_index % len(town.streets)]
            data = permit_data(s_index, street, berlin_date(clock.now()))
        _submit_and_carry(vorgang, clock, town, index, service, data, step)
    recorder = vorgang.store.recorder
    head = recorder.max_notification_id() or 0
    histories: dict[UUID | str, list[StoredEvent]] = defaultdict(list)
    for notification in recorder.select_notifications(
        start=1, limit=head + 1, stop=head, topics=case_event_topics()
    ):
        histories[notification.originator_id].append(notification)
    return list(histories.values())


def _submit_and_carry(
    vorgang: Vorgang,
    clock: FixedClock,
    town: Town,
    index: int,
    service: str,
    data: dict[str, Any],
    step: Step,
) -> None:
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    name, email = APPLICANTS[index % len(APPLICANTS)]
    applicant = Actor(f"portal:bench-{index}", name, Role.APPLICANT, town.tenant)
    submitted = cases.submit(
        actor=applicant,
        tenant=town.tenant,
        service=service,
        applicant={
            "name": name,
            "email": email,
            "street": town.streets[index % len(town.streets)],
            "house_number": str(3 + index % 40),
            "postal_code": town.postal_code,
            "city": town.city,
        },
        data=data,
    )
    step(CommandHandler(cases), submitted.case_id, town, clock)


# ---------------------------------------------------------------- replication


@dataclass(frozen=True)
class Copied:
    """How much replication added."""

    events: int
    cases: int


def replicate(
    target: DatabaseTarget, templates: Sequence[Sequence[StoredEvent]], events: int
) -> Copied:
    """Append copies of the template histories with new case ids until ``events`` more.

    ``COPY`` into the recorder's events table (notification ids from its sequence), one
    transaction per window of interleaved cases. Not ``insert_events``: twice while writing
    these logs its pipelined insert hung for good (psycopg 3.3.9: ``Pipeline.sync`` waiting
    on a server that never received the statement), and a bulk load into a log nobody else
    writes needs neither its table lock nor its NOTIFY.
    """
    cycle = itertools.cycle(templates)
    inserted = cases = 0
    with postgres_connection(target) as conn:
        while inserted < events:
            window: list[Sequence[StoredEvent]] = []
            size = 0
            while len(window) < INTERLEAVED_CASES and inserted + size < events:
                history = next(cycle)
                window.append(history)
                size += len(history)
            with conn.cursor().copy(
                f"COPY {EVENTS_TABLE} (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                for stored in _interleaved(window):
                    copy.write_row(
                        (
                            stored.originator_id,
                            stored.originator_version,
                            stored.topic,
                            stored.state,
                        )
                    )
            conn.commit()
            inserted += size
            cases += len(window)
    return Copied(inserted, cases)


def _interleaved(histories: Sequence[Sequence[StoredEvent]]) -> Iterator[StoredEvent]:
    """Each history under a new case id; one event of each open history in turn."""
    renamed = [(uuid.uuid4(), iter(history)) for history in histories]
    while renamed:
        still = []
        for case_id, events in renamed:
            stored = next(events, None)
            if stored is None:
                continue
            yield StoredEvent(
                originator_id=case_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=stored.state,
            )
            still.append((case_id, events))
        renamed = still


# ---------------------------------------------------------------- SQLite copy

KEYS_TABLE = "vorgang_personal_data_keys"  # the key store's table (infrastructure/privacy)
KEY_COLUMNS = "key_id, case_id, subject, kek_id, wrapped_key, created_at, destroyed_at"


def sqlite_copy(source: DatabaseTarget, path: str) -> DatabaseTarget:
    """The PostgreSQL log at ``source`` copied into a new SQLite file: its events in log
    order through the recorder, and the data keys they were encrypted under."""
    target = parse_database_url(f"sqlite:///{path}")
    vorgang = build(Settings(database_url=target.display))
    try:
        with postgres_connection(source) as conn:
            cursor = conn.cursor(name="events")  # server side: the log is not held at once
            cursor.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
                "ORDER BY notification_id"
            )
            while rows := cursor.fetchmany(2_000):
                vorgang.store.recorder.insert_events([StoredEvent(*row) for row in rows])
            cursor.close()
            keys = conn.execute(f"SELECT {KEY_COLUMNS} FROM {KEYS_TABLE}").fetchall()
    finally:
        vorgang.close()
    with sqlite3.connect(path) as db:
        db.executemany(
            f"INSERT INTO {KEYS_TABLE} ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*row[:5], _text(row[5]), _text(row[6])) for row in keys],
        )
    db.close()
    return target


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# ----------------------------------------------------------------- bookkeeping


def recorded_info(target: DatabaseTarget) -> LogInfo | None:
    """The info row of a complete log in this schema, or None."""
    with postgres_connection(target) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (INFO_TABLE,)).fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute(
            f"SELECT events, cases, templates, template_events, seconds FROM {INFO_TABLE}"
        ).fetchone()
    if row is None:
        return None
    return LogInfo(
        schema=target.env["POSTGRES_SCHEMA"],
        events=int(row[0]),
        cases=int(row[1]),
        templates=int(row[2]),
        template_events=int(row[3]),
        seconds=float(row[4]),
        reused=True,
    )


def record_info(target: DatabaseTarget, info: LogInfo) -> None:
    """Written last: a log whose generation broke off is never reused."""
    with postgres_connection(target) as conn:
        conn.execute(
            f"CREATE TABLE {INFO_TABLE} (events BIGINT, cases BIGINT, templates INT, "
            "template_events INT, seconds DOUBLE PRECISION, generated_at TIMESTAMPTZ)"
        )
        conn.execute(
            f"INSERT INTO {INFO_TABLE} VALUES (%s, %s, %s, %s, %s, now())",
            (info.events, info.cases, info.templates, info.template_events, info.seconds),
        )
        conn.commit()


# ------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class DecodeCost:
    """What decoding one kind of stored event costs, per event."""

    what: str
    events: int
    bytes_per_event: float
    typed_per_event: float  # values stored under a transcoding ({"_type_": ...})
    seconds: float

    @property
    def micros(self) -> float:
        """Microseconds per event."""
        return self.seconds / self.events * 1e6


class _Dog(Aggregate):
    """A minimal aggregate: the library's own kind of plain event."""

    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name


def _plain_library_events(count: int) -> list[StoredEvent]:
    """Stored events of a minimal aggregate, through the library's stock transcoder."""
    mapper = _stock_mapper()
    stored = []
    while len(stored) < count:
        dog = _Dog(name="Bello")
        for i in range(4):
            dog.rename(f"Bello {i}")
        stored += [mapper.to_stored_event(e) for e in dog.collect_events()]
    return stored[:count]


def _stock_mapper() -> Mapper[Any]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def _timed(decode: Callable[[StoredEvent], object], stored: Sequence[StoredEvent]) -> float:
    """The fastest of three passes, collection paused as in a rebuild."""
    best = float("inf")
    for _ in range(3):
        with collection_paused():
            started = time.perf_counter()
            for item in stored:
                decode(item)
            best = min(best, time.perf_counter() - started)
    return best


def decode_costs(target: DatabaseTarget, sample: int) -> list[DecodeCost]:
    """Per event: the library decoding plain events, against parsing and decoding ours.

    Our events are the first ``sample`` case events of the log, already in memory (no
    database time): parsed only (``json.loads``), decoded as a rebuild does (personal data
    sealed), and decoded as the application does (every personal value opened: its data key
    looked up, through the key cache, and AES-GCM).
    """
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=300))
    try:
        ours = vorgang.store.recorder.select_notifications(
            start=1, limit=sample, topics=case_event_topics()
        )
        sealing = next(iter(vorgang.projections.runners.values())).mapper
        opening = vorgang.store.mapper
        for stored in ours:
            opening.to_domain_event(stored)  # every key in the cache, as in a long rebuild
        library = _plain_library_events(len(ours))
        passes = [
            ("library: a minimal aggregate's events", library, _stock_mapper().to_domain_event),
            ("ours: JSON parsing only", ours, lambda stored: json.loads(stored.state)),
            ("ours: decoded, personal data sealed", ours, sealing.to_domain_event),
            ("ours: decoded, personal data opened", ours, opening.to_domain_event),
        ]
        return [
            DecodeCost(
                what,
                len(stored),
                sum(len(s.state) for s in stored) / len(stored),
                sum(s.state.count(b'"_type_"') for s in stored) / len(stored),
                _timed(decode, stored),
            )
            for what, stored, decode in passes
        ]
    finally:
        vorgang.close()


def decode_report(costs: Sequence[DecodeCost]) -> str:
    """Bytes, typed values, microseconds and events/s per event; µs ÷ the library's µs."""
    base = costs[0].micros
    rows = [
        [
            c.what,
            f"{c.bytes_per_event:,.0f}",
            f"{c.typed_per_event:.1f}",
            f"{c.micros:.1f}",
            f"{1e6 / c.micros:,.0f}",
            f"{c.micros / base:.1f}",
        ]
        for c in costs
    ]
    return table(["decode", "bytes", "typed", "µs/event", "events/s", "÷ library"], rows)
