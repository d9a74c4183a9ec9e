"""Inbox views with a million open cases, written straight into the view table.

Rows follow the inbox's own columns and DDL (``Inbox.create_tables``: the indexes are
dropped for the load and created again by that same method). Distributions are meant to
look like four towns' work queues: tenants weighted by population, ten services with a
long tail, statuses as a queue holds them, 25 clerks per town, due dates around today (none
while the period has not started; the due key of no running period once decided), and an
open objection on about 2 % of the cases, beside whatever status the case's work reached
after notification. Applicant names are real AES-GCM ciphertexts under keys
in the key table, so opening them costs what it costs in production. PostgreSQL rows go in
by ``COPY`` into a schema that is reused while complete; SQLite by ``executemany`` in large
transactions into a fresh file.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks import read_models_search
from benchmarks.support import POSTGRES_URL, postgres_connection
from domain.personal_data import PersonalData, Subjects
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.demo import TOWNS
from infrastructure.privacy.key_encryption import WrappedKey
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.inbox import COLUMNS, NO_DUE_DATE, Inbox

SCHEMA_PREFIX = "bench_readmodels_views_"
INFO_TABLE = "bench_views_filled"  # written last: both views are complete
TENANTS = {"usingen": 0.33, "neu-anspach": 0.33, "schmitten": 0.21, "glashuetten": 0.13}
PREFIXES = {"usingen": "USI", "neu-anspach": "NAN", "schmitten": "SMI", "glashuetten": "GLA"}
# Shares of cases: the catalogue's services and the planned ones (docs/architecture.md).
SERVICES = {
    "general": 0.30,
    "resident-parking": 0.18,
    "road-opening": 0.12,
    "dog-registration": 0.10,
    "water-meter-reading": 0.09,
    "burial": 0.06,
    "holiday-programme": 0.05,
    "market-stall": 0.04,
    "sewer-connection": 0.03,
    "traffic-sign-order": 0.02,
    "headstone-permit": 0.01,
}
STATUSES = {
    "submitted": 0.22,
    "in_review": 0.38,
    "information_requested": 0.14,
    "pending_countersign": 0.03,
    "decided": 0.05,
    "notified": 0.12,
    "final": 0.03,
    "works_started": 0.02,
    "warranty_running": 0.01,
}
# Statuses a decision has been made in (the processing clock stopped), and those after the
# notification, in which an objection may be open: one in nine of these, ~2 % of all cases.
DECIDED = frozenset(
    {"pending_countersign", "decided", "notified", "final", "works_started", "warranty_running"}
)
NOTIFIED = frozenset({"notified", "final", "works_started", "warranty_running"})
OBJECTION_OPEN_SHARE = 1 / 9
OBJECTION_STATES = ("pending", "heard", "forwarded")
RARE_SERVICE = "headstone-permit"
CLERKS_PER_TENANT = 25
FIRST = [
    "Jürgen",
    "Erika",
    "Hans",
    "Fatma",
    "Sven",
    "Anna",
    "Paul",
    "Jörg",
    "Marie",
    "Ali",
    "Lukas",
    "Sabine",
    "Dimitri",
    "Leonie",
    "Mehmet",
    "Ursula",
    "Tobias",
    "Petra",
    "Klaus",
    "Aylin",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Yilmaz",
    "Kowalski",
    "Großmann",
    "Bäcker",
    "Öztürk",
    "Krüger",
    "Petrov",
    "Schäfer",
    "Koch",
    "Richter",
    "Wolf",
    "Neumann",
    "Braun",
    "Zimmermann",
    "Hartmann",
]
NAMES = tuple(f"{first} {last}" for last in LAST for first in FIRST)  # 500 distinct names
# Keys the names are encrypted under. Queries run with these keys cached (as a busy server's
# 50,000-entry key cache holds them); a page of cold cases would look up a key per row.
NAME_KEYS = 20
TODAY = date(2026, 3, 2)  # the business day the queries ask about


def clerk_id(tenant: str, number: int) -> str:
    """The actor id of one of a town's clerks."""
    return f"clerk-{tenant}-{number:02d}"


@dataclass(frozen=True)
class InboxViews:
    """A filled inbox: where, how many rows, how it was made."""

    target: DatabaseTarget
    cases: int
    seconds: float
    reused: bool
    with_search: bool

    @property
    def search(self) -> str:
        """How the case search view is filled, for the description."""
        return "; the same cases in the case search view" if self.with_search else ""

    def describe(self) -> str:
        """One line for the report."""
        how = "reused from an earlier run" if self.reused else f"written in {self.seconds:.0f} s"
        where = self.target.env.get("POSTGRES_SCHEMA") or "a fresh SQLite file"
        return (
            f"{where}: {self.cases:,} open cases in the inbox view, {len(TENANTS)} tenants, "
            f"{len(SERVICES)} services, {len(STATUSES)} statuses, {CLERKS_PER_TENANT} clerks "
            f"per town, {len(NAMES)} names encrypted under {NAME_KEYS} keys{self.search} ({how})"
        )


def applicant_of(tenant: str, position: int) -> dict[str, str]:
    """The applicant's name and address of the generated case at a position."""
    town = next(t for t in TOWNS if t.tenant == tenant)
    streets = (*town.streets, "Hauptstraße")
    return {
        "name": NAMES[(position - 1) % len(NAMES)],
        "street": streets[position % len(streets)],
        "house_number": str(1 + position % 97),
        "postal_code": town.postal_code,
        "city": town.city,
    }


def sealed_names(vorgang: Vorgang) -> list[str]:
    """``NAMES`` encrypted as events store them, under ``NAME_KEYS`` keys in the key table."""
    transcoder = vorgang.store.mapper.transcoder
    cases = [uuid.uuid4() for _ in range(NAME_KEYS)]
    sealed = [
        transcoder.encode(PersonalData(cases[i % NAME_KEYS], Subjects.APPLICANT, name)).decode(
            "utf-8"
        )
        for i, name in enumerate(NAMES)
    ]
    # The recorder writes new key rows with a save's events; no save wrote these.
    made = vorgang.keys.take_new_rows()
    for row in made:
        wrapped = WrappedKey(row.kek_id, row.wrapped_key)
        vorgang.keys._insert(row.key_id, row.case_hex, row.subject, wrapped, row.created_at)
    vorgang.keys.written(made)
    return sealed


def _pick(rng: random.Random, weights: dict[str, float], n: int) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=n)


def inbox_rows(n: int, names: list[str], *, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """``n`` inbox rows in column order, deterministic for a seed."""
    rng = random.Random(seed)
    tenants = _pick(rng, TENANTS, n)
    services = _pick(rng, SERVICES, n)
    statuses = _pick(rng, STATUSES, n)
    numbers = dict.fromkeys(TENANTS, 0)
    start = datetime(2025, 11, 3, 8, tzinfo=UTC)
    for i in range(n):
        tenant, status = tenants[i], statuses[i]
        numbers[tenant] += 1
        submitted = start + timedelta(minutes=rng.randrange(120 * 24 * 60))
        started = status != "submitted"
        assigned = started and rng.random() < 0.9
        due = (TODAY + timedelta(days=rng.randrange(-40, 60))).isoformat() if started else None
        active = submitted + timedelta(minutes=rng.randrange(20 * 24 * 60))
        decided = status in DECIDED
        objection = None
        if status in NOTIFIED and rng.random() < OBJECTION_OPEN_SHARE:
            objection = OBJECTION_STATES[rng.randrange(len(OBJECTION_STATES))]
        row = {
            "case_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "tenant": tenant,
            "reference": f"{PREFIXES[tenant]}-2026-{numbers[tenant]:07d}",
            "service": services[i],
            "applicant_name": names[i % len(names)],
            "status": status,
            "assignee": clerk_id(tenant, rng.randrange(CLERKS_PER_TENANT)) if assigned else None,
            "submitted_at": submitted.isoformat(),
            "due_on": due,
            "due_key": NO_DUE_DATE if decided else due or NO_DUE_DATE,
            "waiting_for_applicant": int(status == "information_requested"),
            "decided_on": (TODAY - timedelta(days=rng.randrange(1, 90))).isoformat()
            if decided
            else None,
            "objection_state": objection,
            "objection_open": int(objection is not None),
            "objection_deadline": (TODAY + timedelta(days=rng.randrange(-60, 30))).isoformat()
            if status in NOTIFIED
            else None,
            "last_activity_at": active.isoformat(),
            "position": i + 1,
        }
        yield tuple(row[column] for column in COLUMNS)


def _create_table_without_indexes(vorgang: Vorgang) -> None:
    inbox = Inbox()
    with vorgang.views.transaction() as tx:
        tx.execute(f"DROP TABLE IF EXISTS {inbox.table}")
        inbox.create_tables(tx)
        for name in ("due", "assignee", "status", "service", "objection"):
            tx.execute(f"DROP INDEX IF EXISTS {inbox.table}_{name}")


def _create_indexes(vorgang: Vorgang) -> None:
    with vorgang.views.transaction() as tx:
        Inbox().create_tables(tx)  # the live index names, as the projection makes them


def postgres_inbox(cases: int) -> InboxViews:
    """``cases`` open cases in the inbox and case search views of a PostgreSQL schema."""
    schema = f"{SCHEMA_PREFIX}{cases}"
    target = parse_database_url(f"{POSTGRES_URL}?schema={schema}")
    with postgres_connection(target) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (INFO_TABLE,)).fetchone()
        if found and found[0] is not None:
            row = conn.execute(f"SELECT cases, seconds FROM {INFO_TABLE}").fetchone()
            current = read_models_search.search_table_filled(conn)  # not after a new version
            inbox = conn.execute("SELECT to_regclass(%s)", (Inbox().table,)).fetchone()
            current = current and inbox is not None and inbox[0] is not None  # nor the inbox's
            if row is not None and int(row[0]) == cases and current:
                return InboxViews(target, cases, float(row[1]), reused=True, with_search=True)
    with postgres_connection(parse_database_url(POSTGRES_URL)) as conn:
        conn.autocommit = True
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    started = time.perf_counter()
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=300))
    try:
        names = sealed_names(vorgang)
        _create_table_without_indexes(vorgang)
        with postgres_connection(target) as conn:
            with conn.cursor().copy(
                f"COPY {Inbox().table} ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in inbox_rows(cases, names):
                    copy.write_row(row)
            conn.commit()
            _create_indexes(vorgang)
            conn.execute(f"ANALYZE {Inbox().table}")
            conn.commit()
            read_models_search.copy_postgres(vorgang, conn, inbox_rows(cases, names), applicant_of)
            seconds = time.perf_counter() - started
            conn.execute(f"CREATE TABLE {INFO_TABLE} (cases BIGINT, seconds DOUBLE PRECISION)")
            conn.execute(f"INSERT INTO {INFO_TABLE} VALUES (%s, %s)", (cases, seconds))
            conn.commit()
    finally:
        vorgang.close()
    return InboxViews(target, cases, seconds, reused=False, with_search=True)


def sqlite_inbox(cases: int, file: str) -> InboxViews:
    """``cases`` open cases in the inbox and case search views of a fresh SQLite file."""
    target = parse_database_url(f"sqlite:///{file}")
    started = time.perf_counter()
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=300))
    try:
        names = sealed_names(vorgang)
        _create_table_without_indexes(vorgang)
        rows = list(inbox_rows(cases, names))
        conn = sqlite3.connect(target.env["SQLITE_DBNAME"], isolation_level=None)
        try:
            marks = ", ".join("?" for _ in COLUMNS)
            statement = f"INSERT INTO {Inbox().table} ({', '.join(COLUMNS)}) VALUES ({marks})"
            for first in range(0, len(rows), 50_000):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(statement, rows[first : first + 50_000])
                conn.execute("COMMIT")
            _create_indexes(vorgang)
            read_models_search.insert_sqlite(vorgang, conn, rows, applicant_of)
            conn.execute("ANALYZE")
        finally:
            conn.close()
    finally:
        vorgang.close()
    return InboxViews(target, cases, time.perf_counter() - started, reused=False, with_search=True)
