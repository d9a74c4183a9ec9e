"""A campaign's last days: 10,000 meter readings under wrk, against general applications.

A town (Usingen) with 10,000 installed meters (each with its installation reading) and its
reading campaign of this year open, saved through the server's own store (its recorder, the
personal-data keys) into a fresh database: SQLite, and PostgreSQL where it answers. Then
``vorgang serve`` (the command operators run: one process, projections in it, JSON logs at
INFO) builds its views from that log (``/ready``) and takes ``POST /api/v1/cases`` of service
``water-meter-reading`` from wrk (Debian's ``wrk``) over 16 connections: exactly 10,000
readings, each of another meter, each one accepted (checked against its meter and recorded on
it in the save of its case). The baseline, in the same run, on a database seeded alike and a
server of its own: as many applications of service ``general``, which share no aggregate.

wrk runs a fixed number of requests, not a time: its Lua script hands out one ticket per
request (``delay``) and says when the last response came. Printed: req/s and p99 latency of
both, their ratios (readings ÷ general), non-2xx responses (with the first bodies, if any)
and the CPU per request; afterwards the store is read back: exactly one reading recorded per
meter submitted, unflagged, for this year's campaign, and as many general cases as sent.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from api.auth import DevelopmentTokens
from application.store import VorgangStore
from benchmarks.api_throughput import NEW_CASE  # the baseline: the other benchmarks' request
from benchmarks.support import SqliteFiles, fresh_database, quiet_logging, table
from benchmarks.wrk_services import (
    LOAD_HEADER,
    Load,
    check_cases,
    database_url,
    dialects,
    load_cells,
    load_problems,
    lua_string,
    measured_load,
    opened,
    print_checks,
    start_servers,
    stored_events,
    wait_until_ready,
    warm_up,
)
from domain.actor import Actor, Role
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter, meter_id
from domain.working_days import berlin_date

TENANT = "usingen"
READING_SERVICE = "water-meter-reading"
METERS = "WZ-USI-"  # the measured meters: WZ-USI-000001 ...
WARM_UP_METERS = "WZ-WARM-"  # meters of their own for the warm-up requests
START_VALUE = Decimal("100.000")
READING = "142.517"  # 42.517 m³ in a year since installation: accepted, no flag
SAVE_BATCH = 500  # meters per save while seeding
CLERK = Actor(id="clerk.usingen", display_name="Clerk Person", role=Role.CLERK, tenant=TENANT)


@dataclass(frozen=True)
class Sizes:
    """How much to submit, over how many connections."""

    readings: int = 10_000
    connections: int = 16
    warm_up: int = 160  # requests first, unmeasured (readings: of meters of their own)
    postgres: bool = True  # also on PostgreSQL, where it answers


FULL = Sizes()
QUICK = Sizes(readings=2_000, warm_up=80)


@dataclass
class Outcome:
    """A service's load on one database, and what the store holds afterwards."""

    load: Load
    stored: str  # the check of the store, one line
    problems: list[str]  # what the check found wrong (empty: all as sent)


# ------------------------------------------------------------------ the town


def campaign_days(today: date) -> tuple[date, date]:
    """This year's campaign in its last days: started up to four weeks ago, due in a week."""
    return max(date(today.year, 1, 1), today - timedelta(days=28)), today + timedelta(days=7)


def meter_numbers(prefix: str, count: int) -> list[str]:
    """``count`` meter numbers as the Lua script writes them (from 1)."""
    return [f"{prefix}{index:06d}" for index in range(1, count + 1)]


def seed(store: VorgangStore, numbers: list[str], today: date) -> None:
    """Install the meters a year ago and open this year's campaign (the server's views are
    built from the log when it starts)."""
    at = datetime.now(UTC)
    installed_on = today - timedelta(days=365)
    meters = [
        WaterMeter.install(
            tenant=TENANT,
            meter_number=number,
            property_id=f"USI-{number}",
            installed_on=installed_on,
            calibration_valid_until=date(installed_on.year + 6, 12, 31),
            digits=5,
            start_value=START_VALUE,
            main_meter=None,
            actor=CLERK,
            at=at,
        )
        for number in numbers
    ]
    for start in range(0, len(meters), SAVE_BATCH):
        store.save(*meters[start : start + SAVE_BATCH])
    starts_on, deadline = campaign_days(today)
    store.save(
        ReadingCampaign.open(
            tenant=TENANT,
            year=today.year,
            starts_on=starts_on,
            deadline=deadline,
            actor=CLERK,
            at=at,
        )
    )


def reading_case(today: date) -> dict[str, Any]:
    """A customer's reading; ``meter_number`` is the Lua script's placeholder."""
    return {
        "tenant": TENANT,
        "service": READING_SERVICE,
        "applicant": NEW_CASE["applicant"],
        "data": {
            "meter_number": "@METER@",
            "reading": READING,
            "read_on": today.isoformat(),
            "read_by": "customer",
        },
    }


# ------------------------------------------------------------------ wrk


def wrk_script(path: Path, token: str, body: dict[str, Any], prefix: str, total: int) -> Path:
    """A wrk script that POSTs ``total`` cases, the n-th naming meter ``prefix`` + n, then stops.

    ``delay`` hands out the tickets: a connection without one waits (an hour, never reached),
    so no request beyond ``total`` is sent; the last response stops the thread (``-t1``).
    wrk calls ``request`` once before the run to check the script: the numbering starts anew
    with the first ticket.
    """
    head, _, tail = json.dumps(body).partition("@METER@")
    path.write_text(
        f"local total = {total}\n"
        f"local prefix = {lua_string(prefix)}\n"
        f"local head, tail = {lua_string(head)}, {lua_string(tail)}\n"
        'wrk.method = "POST"\n'
        'wrk.path = "/api/v1/cases"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}\n'
        "local tickets, sent, received = 0, 0, 0\n"
        "statuses, failures = '', ''\n"
        "local counts = {}\n"
        "function delay()\n"
        "  if tickets == 0 then sent = 0 end -- wrk called request() once to check the script\n"
        "  if tickets < total then tickets = tickets + 1; return 0 end\n"
        "  return 3600000\n"
        "end\n"
        "function request()\n"
        "  sent = sent + 1\n"
        "  local body = head\n"
        '  if tail ~= "" then body = head .. string.format("%s%06d", prefix, sent) .. tail end\n'
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
        "function response(status, headers, body)\n"
        "  received = received + 1\n"
        "  counts[status] = (counts[status] or 0) + 1\n"
        "  if (status < 200 or status > 299) and #failures < 2000 then\n"
        '    failures = failures .. status .. " " .. string.sub(body, 1, 300) .. "\\n"\n'
        "  end\n"
        "  if received >= total then\n"
        "    local parts = {}\n"
        '    for code, n in pairs(counts) do parts[#parts + 1] = code .. "=" .. n end\n'
        '    statuses = table.concat(parts, ",")\n'
        "    wrk.thread:stop()\n"
        '    io.stderr:write("DONE\\n")\n'
        "  end\n"
        "end\n"
        "local threads = {}\n"
        "function setup(thread) threads[#threads + 1] = thread end\n"
        "function done(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        '  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d "\n'
        '    .. "socket_errors=%d statuses=%s\\n", summary.requests, summary.duration,\n'
        "    latency:percentile(50), latency:percentile(99),\n"
        "    e.connect + e.read + e.write + e.timeout, threads[1]:get('statuses')))\n"
        "  local failed = threads[1]:get('failures')\n"
        '  if failed ~= "" then io.write("FAILURES\\n" .. failed) end\n'
        "end\n"
    )
    return path


# ------------------------------------------------------------------ one database, one service


def check_readings(
    store: VorgangStore, numbers: list[str], campaign_year: int
) -> tuple[str, list[str]]:
    """One reading recorded per meter submitted, unflagged, for the campaign; none elsewhere."""
    per_meter: Counter[UUID] = Counter()
    flagged = outside = 0
    for recorded in stored_events(store, get_topic(WaterMeter.ReadingRecorded)):
        per_meter[recorded.originator_id] += 1
        flagged += bool(recorded.flags)
        outside += recorded.campaign_year != campaign_year
    wanted = {meter_id(TENANT, number): number for number in numbers}
    problems = []
    if missing := sorted(number for key, number in wanted.items() if key not in per_meter):
        problems.append(f"{len(missing)} meter(s) without a reading: {', '.join(missing[:3])}")
    if extra := len(set(per_meter) - set(wanted)):
        problems.append(f"{extra} meter(s) with a reading but not submitted")
    if twice := sum(1 for n in per_meter.values() if n > 1):
        problems.append(f"{twice} meter(s) with more than one reading")
    if flagged:
        problems.append(f"{flagged} reading(s) flagged")
    if outside:
        problems.append(f"{outside} reading(s) not recorded for the campaign of {campaign_year}")
    total = sum(per_meter.values())
    return f"{total:,} readings recorded on {len(per_meter):,} meters, {flagged} flagged", problems


def load_server(
    pid: int, base: str, body: dict[str, Any], sizes: Sizes, token: str, folder: Path, dialect: str
) -> Load:
    """Once its views are built: the warm-up, then the measured requests with the CPU spent."""
    wait_until_ready(base)
    script = folder / f"{dialect}-{body['service']}.lua"
    if sizes.warm_up:
        wrk_script(script, token, body, WARM_UP_METERS, sizes.warm_up)
        warm_up(base, script, sizes.connections, sizes.warm_up)
    wrk_script(script, token, body, METERS, sizes.readings)
    return measured_load(pid, dialect, base, script, sizes.connections)


def measure(
    dialect: str, sizes: Sizes, secret: str, token: str, folder: Path
) -> dict[str, Outcome]:
    """Per service a fresh database, seeded alike and served; each loaded alone, then checked.

    Both servers start together: start-up (imports, views built from the seed) is most of a
    small run's time. The second waits idle, its views built, while the first is loaded; each
    is stopped after its load, before its store is read back.
    """
    today = berlin_date(datetime.now(UTC))
    measured = meter_numbers(METERS, sizes.readings)
    warming = meter_numbers(WARM_UP_METERS, sizes.warm_up)
    bodies = {"general": NEW_CASE, READING_SERVICE: reading_case(today)}
    files = SqliteFiles(folder)
    outcomes: dict[str, Outcome] = {}
    with ExitStack() as databases:
        urls: dict[str, str] = {}
        for service in bodies:
            urls[service] = database_url(databases.enter_context(fresh_database(dialect, files)))
            with opened(urls[service], secret) as store:
                seed(store, measured + warming, today)
        servers = start_servers(databases, urls, secret, folder, dialect)
        for service, (server, pid, base) in servers.items():
            with server:
                load = load_server(pid, base, bodies[service], sizes, token, folder, dialect)
            with opened(urls[service], secret) as store:
                if service == READING_SERVICE:
                    stored, problems = check_readings(store, measured + warming, today.year)
                else:
                    stored, problems = check_cases(store, service, sizes.readings + sizes.warm_up)
            problems += load_problems(load, sizes.readings, "non-2xx responses")
            outcomes[service] = Outcome(load, stored, problems)
    return outcomes


# ------------------------------------------------------------------ the run


def run(sizes: Sizes) -> dict[tuple[str, str], Outcome]:
    """Both services on SQLite, then on PostgreSQL (where it answers and ``sizes`` asks)."""
    secret = secrets.token_urlsafe(32)
    token = DevelopmentTokens(secret, issuer="vorgang-dev", audience="vorgang").issue(
        subject="clerk.usingen", name="Clerk Person", role=Role.CLERK, tenant=TENANT
    )
    databases, skipped = dialects(sizes.postgres)
    outcomes: dict[tuple[str, str], Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-water-") as name:
        for dialect in databases:
            for service, outcome in measure(dialect, sizes, secret, token, Path(name)).items():
                outcomes[dialect, service] = outcome
    report(sizes, outcomes)
    if skipped:
        print(skipped)
    return outcomes


def report(sizes: Sizes, outcomes: dict[tuple[str, str], Outcome]) -> None:
    """The table, the store's checks and any responses that were not 2xx."""
    print(
        f"Water readings: {sizes.readings:,} POST /api/v1/cases by wrk -t1 -c{sizes.connections} "
        f"(after {sizes.warm_up} untimed), vorgang serve (1 process, projections in it); "
        f"{sizes.readings:,} installed meters and an open campaign in each database"
    )
    print(
        "  ratio = water-meter-reading ÷ general on the same database; CPU ms per request "
        "(server process, + PostgreSQL's backends)"
    )
    rows = [
        [
            *load_cells(dialect, service, outcome.load, outcomes[dialect, "general"].load),
            str(outcome.load.non_2xx),
            f"{outcome.load.server_cpu_ms:.2f}",
        ]
        for (dialect, service), outcome in outcomes.items()
    ]
    print(table([*LOAD_HEADER, "non-2xx", "CPU ms"], rows, left=2))
    print_checks(outcomes, "stored (warm-up included)", "non-2xx responses")


def main(argv: list[str]) -> None:
    """Measure, print; exit non-zero if a reading went missing or a request failed."""
    parser = argparse.ArgumentParser(prog="bench water_readings")
    parser.add_argument("--quick", action="store_true", help="2,000 readings instead of 10,000")
    parser.add_argument("--readings", type=int, help="how many (default 10,000)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("Water readings (wrk): skipped, wrk is not installed (apt-get install wrk)")
        return
    sizes = QUICK if args.quick else FULL
    if args.readings:
        sizes = Sizes(readings=args.readings, warm_up=min(sizes.warm_up, args.readings))
    if args.no_postgres:
        sizes = Sizes(sizes.readings, sizes.connections, sizes.warm_up, postgres=False)
    quiet_logging()
    outcomes = run(sizes)
    if any(outcome.problems for outcome in outcomes.values()):
        raise SystemExit("water readings: the store or the responses are not as sent (see above)")
