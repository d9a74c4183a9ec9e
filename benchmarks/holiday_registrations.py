"""Registration opens at a set hour: 500 holiday-programme registrations from 32 clients.

A town (Usingen) publishes an offering of its Ferienspiele (issue #27) whose registration
window opens at a set moment a few seconds ahead; ``vorgang serve`` (the command operators
run: one process, projections in it, JSON logs at INFO) on a fresh database, SQLite and
PostgreSQL where it answers. When the window opens, wrk (Debian's ``wrk``) sends exactly 500
registrations over 32 connections (``POST /api/v1/cases``, service
``holiday-registration``), each of another family: one child, or two siblings, resident or
not, some with health notes (and the consent they need), some agreeing a friends code. Every
registration is recorded on the one offering in the save of its case, so the 32 clients race
for the same aggregate; the server decides a lost race again. The baseline, in the same run,
on a database set up alike (the same offerings published) and a server of its own: as many
applications of service ``general``, which share no aggregate, sent the same way once the
same window opened.

Before the measured load, both servers take a few untimed requests (registrations for a
warm-up offering already open). wrk runs a fixed number of requests, not a time: its Lua
script hands out one ticket per request (``delay``) and says when the last response came.
Printed: req/s and p50/p99 latency of both, their ratios (registrations ÷ general), 201s and
refusals (with the first bodies, if any), the CPU per request, and when the last response
came after the window opened (the issue asks for the first minute). Then, through the API as
the town's staff: the window is closed, the places are drawn, and the draw's record is read
back; the run fails unless no more children were allocated than the offering has places and
every registration answered 201 is among the draw's inputs exactly once (and the replay of the
draw agrees).
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.auth import DevelopmentTokens
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
    wait_until_ready,
    warm_up,
)
from domain.actor import Role
from domain.working_days import berlin_date

TENANT = "usingen"
SERVICE = "holiday-registration"
OFFERINGS = "/api/v1/holiday-offerings"
CODE = "FS-KANU"  # the measured offering
WARM_UP_CODE = "FS-PROBE"  # an offering of its own for the warm-up registrations, open at once
FAMILIES = "Muster"  # the measured families: Musterb, Musterc, ... (letters: names, not numbers)
WARM_UP_FAMILIES = "Probe"
FIRST_MINUTE = 60.0  # the issue: 500 registrations in the first minute after the opening
LEAD_SECONDS = 2.0  # the window opens this long after the offering is published
MIN_AGE, MAX_AGE = 6, 12
CLERK_ID = "clerk.usingen"
GUARDIAN_ID = "eltern.usingen"


@dataclass(frozen=True)
class Sizes:
    """How many registrations, over how many connections, for how many places."""

    registrations: int = 500
    connections: int = 32
    warm_up: int = 32  # requests first, unmeasured (registrations: for the warm-up offering)
    places: int = 150  # fewer than the children registered: the draw leaves a waiting list
    postgres: bool = True  # also on PostgreSQL, where it answers


FULL = Sizes()
QUICK = Sizes(postgres=False)


@dataclass
class Draw:
    """What the API says about the measured offering after its window closed and it was drawn."""

    places: int = 0
    allocated: int = 0  # children
    waiting: int = 0  # children
    lots: int = 0
    replay: str = ""
    drawn_by: str = ""  # "the API call" or "the watch" (it draws offerings whose window closed)


@dataclass
class Outcome:
    """A service's load on one database, what the server answered, and what it keeps."""

    load: Load
    after_opening: float  # seconds from the window's opening to the last response
    stored: str  # the check afterwards, one line
    problems: list[str]  # what the check found wrong (empty: as sent)
    draw: Draw | None = None
    created: list[str] = field(default_factory=list)  # case ids answered 201


# ------------------------------------------------------------------ the offering


def offering_days(today: date) -> tuple[date, date]:
    """The offering runs a week in a fortnight; registration may stay open until then."""
    starts_on = today + timedelta(days=14)
    return starts_on, starts_on + timedelta(days=4)


def offering(
    code: str, activity: str, places: int, opens_at: datetime, today: date
) -> dict[str, Any]:
    """The town's offering as its staff publish it (``POST /api/v1/holiday-offerings``)."""
    starts_on, ends_on = offering_days(today)
    return {
        "year": starts_on.year,
        "code": code,
        "activity": activity,
        "description": "Eine Woche auf der Usa: Kanu fahren, Zelte bauen, Stockbrot.",
        "location": "Bootshaus an der Usa, Usingen",
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "min_age": MIN_AGE,
        "max_age": MAX_AGE,
        "places": places,
        "fee": "45.00",
        "registration_opens_at": opens_at.isoformat(),
        "registration_closes_at": (opens_at + timedelta(days=7)).isoformat(),
        "rules": {
            "residents_first": True,
            "places_per_child": None,
            "siblings_together": True,
            "friends_together": True,
        },
        "staff": [CLERK_ID],
    }


def publish(client: httpx.Client, body: Mapping[str, Any]) -> str:
    """Publish an offering; its id."""
    answer = client.post(OFFERINGS, json=body)
    if answer.status_code != 201:
        raise RuntimeError(f"publishing {body['code']}: {answer.status_code} {answer.text[:400]}")
    published = answer.json()
    return str(published.get("id") or published["offering_id"])


# ------------------------------------------------------------------ the families


def child(given_name: str, born_on: date, **more: Any) -> dict[str, Any]:
    """A child of the family the Lua script names (``@F@``)."""
    return {
        "given_name": given_name,
        "family_name": "@F@",
        "born_on": born_on.isoformat(),
        "photo_consent": False,
        "health_notes": None,
        "allergies": None,
        **more,
    }


def registrations(offering_id: str, today: date) -> list[dict[str, Any]]:
    """The kinds of family the Lua script cycles through; ``@F@`` is the family's name,
    ``@G@`` a friends group (two families of the kind that names one agree on it)."""
    starts_on, _ = offering_days(today)
    nine, seven = date(starts_on.year - 9, 1, 1), date(starts_on.year - 7, 1, 1)
    consent = {"given": True, "wording_version": "2026-1"}
    guardian = [
        {"name": "Elternteil @F@", "phone": "+49 6081 102030", "email": "eltern@example.org"}
    ]

    def family(children: list[dict[str, Any]], municipality: str, **more: Any) -> dict[str, Any]:
        return {
            "tenant": TENANT,
            "service": SERVICE,
            "applicant": NEW_CASE["applicant"],
            "data": {
                "offering": offering_id,
                "children": children,
                "guardians": guardian,
                "pickup_persons": [],
                "address": "Obergasse 3, 61250 Usingen",
                "municipality": municipality,
                "health_consent": None,
                "friends_code": None,
                **more,
            },
        }

    return [
        family([child("Lena", nine)], TENANT),
        family([child("Jonas", nine, allergies="Erdnüsse")], "other", health_consent=consent),
        family([child("Mia", nine), child("Paul", seven)], TENANT, friends_code="freunde-@G@"),
        family(
            [child("Emil", seven, photo_consent=True, health_notes="Asthma, Spray im Rucksack")],
            TENANT,
            health_consent=consent,
            pickup_persons=[{"name": "Oma @F@", "relation": "Großmutter"}],
        ),
    ]


def children_per_cycle(bodies: Sequence[Mapping[str, Any]]) -> list[int]:
    """How many children each kind of family registers."""
    return [len(body["data"]["children"]) for body in bodies]


# ------------------------------------------------------------------ wrk


def wrk_script(
    path: Path,
    token: str,
    bodies: Sequence[Mapping[str, Any]],
    families: str,
    total: int,
    ids: Path,
) -> Path:
    """A wrk script that POSTs ``total`` cases, the n-th of the n-th family, then stops.

    Request n sends the body ``bodies[n % len(bodies)]`` with ``@F@`` replaced by ``families``
    and n in letters (a name, as a guardian writes it), ``@G@`` by n ÷ 8 in letters.
    ``delay`` hands out the tickets as in the water readings' script; the ids of the cases
    answered 201 (their ``Location``) are written to ``ids`` after the last response.
    """
    templates = ", ".join(lua_string(json.dumps(body)) for body in bodies)
    path.write_text(
        f"local total = {total}\n"
        f"local families = {lua_string(families)}\n"
        f"local templates = {{{templates}}}\n"
        f"local ids_path = {lua_string(str(ids))}\n"
        'wrk.method = "POST"\n'
        'wrk.path = "/api/v1/cases"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}\n'
        "local tickets, sent, received = 0, 0, 0\n"
        "statuses, failures = '', ''\n"
        "local counts, created = {}, {}\n"
        "local function letters(n)\n"
        '  local s = ""\n'
        "  repeat\n"
        "    local r = n % 26\n"
        "    s = string.char(97 + r) .. s\n"
        "    n = (n - r) / 26\n"
        "  until n == 0\n"
        "  return s\n"
        "end\n"
        "function delay()\n"
        "  if tickets == 0 then sent = 0 end -- wrk called request() once to check the script\n"
        "  if tickets < total then tickets = tickets + 1; return 0 end\n"
        "  return 3600000\n"
        "end\n"
        "function request()\n"
        "  sent = sent + 1\n"
        "  local body = templates[(sent % #templates) + 1]\n"
        '  body = string.gsub(body, "@F@", families .. letters(sent))\n'
        '  body = string.gsub(body, "@G@", letters(math.floor(sent / 8)))\n'
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
        "function response(status, headers, body)\n"
        "  received = received + 1\n"
        "  counts[status] = (counts[status] or 0) + 1\n"
        "  if status == 201 then\n"
        '    created[#created + 1] = headers["Location"] or headers["location"] or "?"\n'
        "  elseif #failures < 2000 then\n"
        '    failures = failures .. status .. " " .. string.sub(body, 1, 300) .. "\\n"\n'
        "  end\n"
        "  if received >= total then\n"
        "    local parts = {}\n"
        '    for code, n in pairs(counts) do parts[#parts + 1] = code .. "=" .. n end\n'
        '    statuses = table.concat(parts, ",")\n'
        '    local out = io.open(ids_path, "w")\n'
        '    out:write(table.concat(created, "\\n"))\n'
        "    out:close()\n"
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


def created_ids(ids: Path) -> list[str]:
    """The case ids of the 201 answers, from their ``Location`` (``/api/v1/cases/<id>``)."""
    if not ids.exists():
        return []
    return [line.rsplit("/", 1)[-1] for line in ids.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ the draw, through the API


def lot_case(lot: Any) -> str:
    """The case a lot of the draw's record belongs to."""
    if isinstance(lot, Mapping):
        return str(lot["case_id"])
    return str(lot[0])


def close_and_draw(client: httpx.Client, offering_id: str) -> tuple[dict[str, Any], str]:
    """Close the window, draw (the watch may have drawn first: 409), read the record back."""
    closed = client.post(
        f"{OFFERINGS}/{offering_id}/window-closure",
        json={"reason": "Benchmark: Anmeldung nach dem Ansturm geschlossen"},
    )
    if closed.status_code not in (200, 201, 409):
        raise RuntimeError(f"closing the window: {closed.status_code} {closed.text[:400]}")
    drawn = client.post(f"{OFFERINGS}/{offering_id}/draw")
    if drawn.status_code not in (200, 201, 409):
        raise RuntimeError(f"the draw: {drawn.status_code} {drawn.text[:400]}")
    by = "the watch" if drawn.status_code == 409 else "the API call"
    record = client.get(f"{OFFERINGS}/{offering_id}/draw")
    if record.status_code != 200:
        raise RuntimeError(f"reading the draw: {record.status_code} {record.text[:400]}")
    answer = record.json()
    return dict(answer.get("record", answer)), by


def check_draw(
    client: httpx.Client, offering_id: str, created: Sequence[str], children: int
) -> tuple[Draw, str, list[str]]:
    """No child allocated beyond the places, every 201 registration among the inputs once."""
    record, by = close_and_draw(client, offering_id)
    shown = client.get(f"{OFFERINGS}/{offering_id}")
    shown.raise_for_status()
    offered = shown.json()
    places = int(offered["places"])
    lots = Counter(lot_case(lot) for lot in record["lots"])
    allocated, waiting = len(record["allocated"]), len(record["waiting"])
    replay = client.get(f"{OFFERINGS}/{offering_id}/draw/replay")
    verdict = (
        str(replay.json().get("verdict")) if replay.status_code == 200 else str(replay.status_code)
    )
    draw = Draw(places, allocated, waiting, len(lots), verdict, by)
    problems = []
    if allocated > places or int(record.get("places", places)) != places:
        problems.append(f"{allocated} children allocated for {places} places")
    shown_allocated = int(offered.get("allocated", offered.get("allocated_count", 0)))
    if shown_allocated != allocated or shown_allocated > places:
        problems.append(f"the offering shows {shown_allocated} allocated ({places} places)")
    if missing := [case for case in created if lots[case] == 0]:
        problems.append(
            f"{len(missing)} registration(s) answered 201 not in the draw: {missing[0]}"
        )
    if twice := [case for case in created if lots[case] > 1]:
        problems.append(f"{len(twice)} registration(s) more than once in the draw: {twice[0]}")
    if extra := len(set(lots) - set(created)):
        problems.append(f"{extra} lot(s) of cases never answered 201")
    if allocated + waiting != children:
        problems.append(f"{allocated} allocated + {waiting} waiting for {children} children sent")
    if verdict != "consistent":
        problems.append(f"the draw's replay: {verdict}")
    stored = (
        f"{len(created):,} registrations answered 201, {sum(lots.values()):,} lots in the draw "
        f"(each once: {'yes' if not missing and not twice and not extra else 'no'}); "
        f"{allocated} of {children} children allocated for {places} places, {waiting} waiting; "
        f"drawn by {by}, replay {verdict}"
    )
    return draw, stored, problems


# ------------------------------------------------------------------ one database, one service


@dataclass(frozen=True)
class Tokens:
    """Who acts: the guardians (one portal account for all, as for the baseline) and staff."""

    guardian: str
    clerk: str


def load_server(
    pid: int, base: str, service: str, sizes: Sizes, tokens: Tokens, folder: Path, dialect: str
) -> tuple[Load, float, str, list[str]]:
    """Warm up, publish the measured offering, wait for its opening, load; the 201 case ids."""
    wait_until_ready(base)
    today = berlin_date(datetime.now(UTC))
    staff = httpx.Client(
        base_url=base, timeout=60, headers={"Authorization": f"Bearer {tokens.clerk}"}
    )
    with staff:
        warm_id = publish(
            staff,
            offering(WARM_UP_CODE, "Probetag", 500, datetime.now(UTC), today),
        )
        script = folder / f"{dialect}-{service}.lua"
        ids = folder / f"{dialect}-{service}.ids"
        if sizes.warm_up:
            bodies = registrations(warm_id, today) if service == SERVICE else [NEW_CASE]
            wrk_script(script, tokens.guardian, bodies, WARM_UP_FAMILIES, sizes.warm_up, ids)
            warm_up(base, script, sizes.connections, sizes.warm_up)
        opens_at = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        main_id = publish(staff, offering(CODE, "Kanu-Woche", sizes.places, opens_at, today))
        bodies = registrations(main_id, today) if service == SERVICE else [NEW_CASE]
        wrk_script(script, tokens.guardian, bodies, FAMILIES, sizes.registrations, ids)
        time.sleep(max(0.0, (opens_at - datetime.now(UTC)).total_seconds()) + 0.01)
        load = measured_load(pid, dialect, base, script, sizes.connections)
        after_opening = (datetime.now(UTC) - opens_at).total_seconds()
        return load, after_opening, main_id, created_ids(ids)


def children_sent(sizes: Sizes) -> int:
    """How many children the measured registrations name (the script's cycle of families)."""
    per_kind = children_per_cycle(registrations("", berlin_date(datetime.now(UTC))))
    return sum(per_kind[n % len(per_kind)] for n in range(1, sizes.registrations + 1))


def ask_about_the_draw(
    base: str, tokens: Tokens, offering_id: str, created: Sequence[str], children: int
) -> tuple[Draw, str, list[str]]:
    """As the town's staff, while the server still runs: close, draw, check the record."""
    headers = {"Authorization": f"Bearer {tokens.clerk}"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as staff:
        return check_draw(staff, offering_id, created, children)


def measure(
    dialect: str, sizes: Sizes, secret: str, tokens: Tokens, folder: Path
) -> dict[str, Outcome]:
    """Per service a fresh database and server, set up alike; each loaded alone, then checked.

    Both servers start together (start-up is most of a small run's time); the second waits
    idle while the first is loaded. The registrations' server is asked about the draw before
    it stops; the baseline's store is read back after its server stopped.
    """
    services = ("general", SERVICE)
    files = SqliteFiles(folder)
    outcomes: dict[str, Outcome] = {}
    with ExitStack() as databases:
        urls = {
            service: database_url(databases.enter_context(fresh_database(dialect, files)))
            for service in services
        }
        for url in urls.values():
            with opened(url, secret):
                pass  # the tables and the personal-data keys, as the seeding of water does
        servers = start_servers(databases, urls, secret, folder, dialect)
        for service, (server, pid, base) in servers.items():
            draw: Draw | None = None
            with server:
                load, after, offering_id, created = load_server(
                    pid, base, service, sizes, tokens, folder, dialect
                )
                if service == SERVICE:
                    try:
                        draw, stored, problems = ask_about_the_draw(
                            base, tokens, offering_id, created, children_sent(sizes)
                        )
                    except (RuntimeError, httpx.HTTPError) as error:  # the table still prints
                        stored, problems = "the draw could not be checked", [str(error)]
            if service != SERVICE:
                with opened(urls[service], secret) as store:
                    sent = sizes.registrations + sizes.warm_up
                    stored, problems = check_cases(store, service, sent)
            problems += load_problems(load, sizes.registrations, "refusals (non-2xx)")
            outcomes[service] = Outcome(load, after, stored, problems, draw, created)
    return outcomes


# ------------------------------------------------------------------ the run


def run(sizes: Sizes) -> dict[tuple[str, str], Outcome]:
    """Both services on SQLite, then on PostgreSQL (where it answers and ``sizes`` asks)."""
    secret = secrets.token_urlsafe(32)
    issuer = DevelopmentTokens(secret, issuer="vorgang-dev", audience="vorgang")
    tokens = Tokens(
        guardian=issuer.issue(
            subject=GUARDIAN_ID, name="Eltern Person", role=Role.APPLICANT, tenant=TENANT
        ),
        clerk=issuer.issue(subject=CLERK_ID, name="Clerk Person", role=Role.CLERK, tenant=TENANT),
    )
    databases, skipped = dialects(sizes.postgres)
    outcomes: dict[tuple[str, str], Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-holiday-") as name:
        for dialect in databases:
            for service, outcome in measure(dialect, sizes, secret, tokens, Path(name)).items():
                outcomes[dialect, service] = outcome
    report(sizes, outcomes)
    if skipped:
        print(skipped)
    return outcomes


def report(sizes: Sizes, outcomes: dict[tuple[str, str], Outcome]) -> None:
    """The table, the draw's checks and any responses that were not 201."""
    print(
        f"Holiday registrations: {sizes.registrations:,} POST /api/v1/cases by wrk -t1 "
        f"-c{sizes.connections} from the moment the window opens (after {sizes.warm_up} untimed), "
        f"vorgang serve (1 process, projections in it); one offering of {sizes.places} places"
    )
    print(
        "  ratio = holiday-registration ÷ general on the same database; CPU ms per request "
        "(server process, + PostgreSQL's backends); last = s from the opening to the last response"
    )
    rows = []
    for (dialect, service), outcome in outcomes.items():
        load = outcome.load
        rows.append(
            [
                *load_cells(dialect, service, load, outcomes[dialect, "general"].load),
                str(load.statuses.get(201, 0)),
                str(load.requests - load.statuses.get(201, 0)),
                f"{load.server_cpu_ms:.2f}",
                f"{outcome.after_opening:.1f}",
            ]
        )
    print(table([*LOAD_HEADER, "201", "refused", "CPU ms", "last s"], rows, left=2))
    for (dialect, service), outcome in outcomes.items():
        if service == SERVICE:
            accepted = outcome.load.statuses.get(201, 0)
            within = accepted == sizes.registrations and outcome.after_opening <= FIRST_MINUTE
            print(
                f"  {dialect}: {accepted:,} of {sizes.registrations:,} registrations accepted, the "
                f"last answer {outcome.after_opening:.1f} s after the opening "
                f"(all within the first minute: {'yes' if within else 'no'})"
            )
    print_checks(outcomes, "afterwards", "refusals")


def main(argv: list[str]) -> None:
    """Measure, print; exit non-zero if a registration went missing, was refused or the
    offering was over-allocated."""
    parser = argparse.ArgumentParser(prog="bench holiday_registrations")
    parser.add_argument("--quick", action="store_true", help="SQLite only")
    parser.add_argument("--registrations", type=int, help="how many (default 500)")
    parser.add_argument("--connections", type=int, help="wrk's connections (default 32)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("Holiday registrations (wrk): skipped, wrk is not installed (apt-get install wrk)")
        return
    sizes = QUICK if args.quick else FULL
    sizes = Sizes(
        registrations=args.registrations or sizes.registrations,
        connections=args.connections or sizes.connections,
        warm_up=sizes.warm_up,
        places=sizes.places,
        postgres=sizes.postgres and not args.no_postgres,
    )
    quiet_logging()
    outcomes = run(sizes)
    if any(outcome.problems for outcome in outcomes.values()):
        raise SystemExit("holiday registrations: refused, missing or over-allocated (see above)")


if __name__ == "__main__":
    main(sys.argv[1:])
