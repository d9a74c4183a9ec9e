"""REVIEW (#30): the access log of staff reads — what its verification and retention let
through, and reads of personal data that leave no line.

Each test is a defect found in review, marked ``xfail(strict=True)``: it passes once the
defect is fixed (and then the mark must go).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from api.dependencies import read_recorder
from infrastructure.access_log import ANCHORS, COLUMNS, TABLE, _row_line
from infrastructure.cli import app
from infrastructure.wiring import Vorgang
from persistence.chain import ACCESS_LOG_CHAIN, ChainReport
from tests.conftest import CLERK

ROUTE = "/api/v1/cases/{case_id}"


def read_cases(vorgang: Vorgang, count: int) -> None:
    for _ in range(count):
        vorgang.access_log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())


def access_report(vorgang: Vorgang) -> ChainReport:
    reports = vorgang.integrity.verify(full=True, by="review")
    (report,) = [r for r in reports if r.chain == ACCESS_LOG_CHAIN]
    return report


def rewrite_from(vorgang: Vorgang, position: int, actor_id: str) -> None:
    """Line ``position`` read by someone else, every link from it recomputed (no key needed)."""
    columns = ", ".join(COLUMNS)
    lines = [
        _row_line(row)
        for row in vorgang.views.query(f"SELECT {columns} FROM {TABLE} ORDER BY position")  # noqa: S608
    ]
    previous = bytes.fromhex(lines[position - 2].link) if position > 1 else bytes(32)
    with vorgang.views.transaction() as tx:
        for line in lines[position - 1 :]:
            if line.position == position:
                line = dataclasses.replace(line, actor_id=actor_id)
            link = line.link_after(previous)
            tx.execute(
                f"UPDATE {TABLE} SET actor_id = ?, link = ? WHERE position = ?",  # noqa: S608
                (line.actor_id, link.hex(), line.position),
            )
            previous = link


def test_an_unsigned_anchor_inserted_by_hand_does_not_hide_deleted_lines(
    vorgang: Vorgang,
) -> None:
    read_cases(vorgang, 4)
    ((link,),) = vorgang.views.query(f"SELECT link FROM {TABLE} WHERE position = 3")  # noqa: S608
    with vorgang.views.transaction() as tx:  # lines 1 to 3 gone, well inside the retention
        tx.execute(f"DELETE FROM {TABLE} WHERE position <= 3")  # noqa: S608
        tx.execute(
            f"INSERT INTO {ANCHORS} (position, link, pruned_at, lines, before) "  # noqa: S608
            "VALUES (3, ?, '2026-03-02T08:00:00Z', 3, '2024-03-02T08:00:00Z')",
            (link,),
        )
    assert vorgang.integrity.public_keys  # keys are known: an unsigned anchor is not trusted
    assert not access_report(vorgang).ok


def test_pruning_below_the_retention_is_refused(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_cases(vorgang, 3)
    monkeypatch.setenv("VORGANG_DATABASE_URL", vorgang.settings.database_url)
    result = CliRunner().invoke(app, ["audit", "prune-access-log", "--days", "-1"])
    assert vorgang.views.query(f"SELECT COUNT(*) FROM {TABLE}") == [(3,)], result.output  # noqa: S608
    # refused as a usage error, not a crash on the way (a crash would not be the fix)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code != 0, result.output


# GET routes that show staff personal data of citizens and wrote no line once (besides the
# case routes that always did: cases, history, decisions, replay, documents, a document,
# search, the case file, the access log itself).
UNRECORDED_PERSONAL_READS = [
    ("api.routes.holiday", "/api/v1/holiday-offerings/{offering_id}/health-notes"),
    ("api.routes.holiday", "/api/v1/holiday-offerings/{offering_id}/registrations"),
    ("api.routes.appointments", "/api/v1/appointments/{tenant}/{office_id}/desk/bookings"),
    (
        "api.routes.appointment_contacts",
        "/api/v1/appointments/{tenant}/{office_id}/reminders/{reference}/contact",
    ),
    ("api.routes.graves", "/api/v1/graves/{tenant}/{cemetery}/{field}/{row}/{number}"),
    ("api.routes.business_customers", "/api/v1/business-customers/{account_id}"),
    ("api.routes.read_models", "/api/v1/audit"),
    ("api.routes.read_models", "/api/v1/inbox"),
    ("api.routes.markets", "/api/v1/markets/{market_id}/applications"),
    ("api.routes.markets", "/api/v1/markets/{market_id}/score-sheets"),
]


def _records_the_read(dependant: Any) -> bool:
    return any(d.call is read_recorder or _records_the_read(d) for d in dependant.dependencies)


@pytest.mark.parametrize(("module", "path"), UNRECORDED_PERSONAL_READS)
def test_every_read_of_personal_data_by_staff_is_recorded(module: str, path: str) -> None:
    router = importlib.import_module(module).router
    (route,) = [
        r
        for r in router.routes
        if getattr(r, "path", None) == path and "GET" in getattr(r, "methods", ())
    ]
    assert _records_the_read(route.dependant), f"GET {path} leaves no line in the access log"
