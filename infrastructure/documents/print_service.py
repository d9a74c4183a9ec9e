"""The exchange directory with a town's print service: batches of letters out, reports back.

Vorgang implements the ``PrintService`` port (``application/document_ports.py``) as files in
one directory (``print_dir``), which the print service (a municipal print centre, a hybrid
mail provider) reads and writes over SFTP or a shared drive:

``outbox/<tenant>/<YYYY-MM-DD>/``
    The batch of a town and day. ``<item>.pdf`` is each letter as sealed (``0001.pdf``, …);
    ``manifest.csv`` lists them, one line per letter, rewritten atomically (a temporary file
    renamed) with every letter added, so a reader never sees half a line. The print service
    collects a day's batch once the day is over. Columns (UTF-8, ``;``-separated, a header
    line, quoted where needed)::

        reference;name;line1;line2;line3;line4;line5;pages;sha256

    ``reference`` is ``<tenant>/<day>/<item>``, the letter's reference in its case;
    ``name`` and the address lines (at most five, unused ones empty) go on the envelope
    window; ``pages`` is the PDF's page count (for franking); ``sha256`` the PDF's digest.

``reports/``
    The print service drops its reports here as ``*.csv`` (written under another name and
    renamed when complete), one line per letter (UTF-8, ``;``-separated, header optional)::

        reference;outcome;date;reason
        usingen/2026-03-02/0001;posted;2026-03-03;
        usingen/2026-03-02/0002;returned;2026-03-09;Empfänger unbekannt verzogen

    ``outcome`` is ``posted`` (handed to the post that day: the Bekanntgabe runs from it)
    or ``returned`` (came back undeliverable; ``reason`` as printed on the return, else
    "zurückgesandt"); ``date`` is ISO 8601. A malformed line is refused with a warning
    naming the file and line (never its content) and the good lines are still read.

``reports/done/``, ``reports/refused/``
    A report file all of whose lines were recorded in their cases moves to ``done/``; one
    whose good lines were recorded but that holds malformed lines moves to ``refused/`` for
    an operator to correct and drop again (lines recorded already are refused by the cases
    as done).

``print.sqlite``
    Vorgang's own index (not for the print service): which sending key got which reference,
    so the same key never prints a second letter, and which report lines were acknowledged.
    It also serialises writers across threads and processes (``BEGIN IMMEDIATE``).

``PrintServiceSimulator`` plays the print service for the demo and tests: it posts every
letter of a day's batches and writes the report file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import structlog

from application.document_ports import ChannelRefused, PostalAddress, Report
from domain.documents import Outcome
from infrastructure.documents.sqlite_file import write_transaction

log = structlog.get_logger(__name__)

MANIFEST: Final = "manifest.csv"
MANIFEST_HEADER: Final = (
    "reference",
    "name",
    "line1",
    "line2",
    "line3",
    "line4",
    "line5",
    "pages",
    "sha256",
)
ADDRESS_LINES: Final = 5
REPORT_HEADER: Final = ("reference", "outcome", "date", "reason")
POSTED: Final = "posted"
RETURNED: Final = "returned"
RETURNED_WITHOUT_REASON: Final = "zurückgesandt"
OUTCOMES: Final = {POSTED: Outcome.POSTED, RETURNED: Outcome.FAILED}
INDEX: Final = "print.sqlite"
TENANT: Final = re.compile(r"[a-z0-9][a-z0-9-]*")
REFERENCE: Final = re.compile(r"[a-z0-9][a-z0-9-]*/\d{4}-\d{2}-\d{2}/\d{4,}")


class PrintBatches:
    """The print service's exchange directory: letters into batches, reports back."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.outbox = self.directory / "outbox"
        self.inbox = self.directory / "reports"
        self.done = self.inbox / "done"
        self.refused = self.inbox / "refused"
        for folder in (self.outbox, self.done, self.refused):
            folder.mkdir(parents=True, exist_ok=True)
        with self._index() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS letters (key TEXT PRIMARY KEY, "
                "reference TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, day TEXT NOT NULL, "
                "item INTEGER NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS acknowledged (file TEXT NOT NULL, "
                "line INTEGER NOT NULL, PRIMARY KEY (file, line))"
            )

    # ------------------------------------------------------------------ letters out

    def enqueue(
        self, *, key: str, tenant: str, address: PostalAddress, pdf: bytes, on: date
    ) -> str:
        """Add the letter to the tenant's batch of the day; its reference (same key: same)."""
        if not TENANT.fullmatch(tenant):
            raise ValueError("a tenant is named in lower case letters, digits and hyphens")
        lines = [line.strip() for line in address.lines if line.strip()]
        if not address.name.strip() or not lines:
            raise ChannelRefused("no postal address for the addressee")
        if len(lines) > ADDRESS_LINES:
            raise ChannelRefused(f"an address has at most {ADDRESS_LINES} lines besides the name")
        pages = page_count(pdf)
        with self._index() as db:
            found = db.execute("SELECT reference FROM letters WHERE key = ?", (key,)).fetchone()
            if found is not None:
                return str(found[0])
            day = on.isoformat()
            (last,) = db.execute(
                "SELECT COALESCE(MAX(item), 0) FROM letters WHERE tenant = ? AND day = ?",
                (tenant, day),
            ).fetchone()
            item = f"{int(last) + 1:04d}"
            reference = f"{tenant}/{day}/{item}"
            batch = self.outbox / tenant / day
            batch.mkdir(parents=True, exist_ok=True)
            write_atomically(batch / f"{item}.pdf", pdf)
            row = [
                reference,
                address.name.strip(),
                *lines,
                *([""] * (ADDRESS_LINES - len(lines))),
                str(pages),
                hashlib.sha256(pdf).hexdigest(),
            ]
            self._append_to_manifest(batch / MANIFEST, row)
            # Recorded last: a crash before the commit leaves the letter unreferenced, and
            # the retry writes the same item again (its number is not taken yet).
            db.execute(
                "INSERT INTO letters (key, reference, tenant, day, item) VALUES (?, ?, ?, ?, ?)",
                (key, reference, tenant, day, int(item)),
            )
        return reference

    @staticmethod
    def _append_to_manifest(manifest: Path, row: list[str]) -> None:
        rows: list[list[str]] = []
        if manifest.exists():
            with manifest.open(newline="", encoding="utf-8") as existing:
                rows = list(csv.reader(existing, delimiter=";"))[1:]
        rows = [r for r in rows if r and r[0] != row[0]]  # a retry after a crash replaces
        text = io.StringIO()
        writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
        writer.writerow(MANIFEST_HEADER)
        writer.writerows([*rows, row])
        write_atomically(manifest, text.getvalue().encode("utf-8"))

    # ---------------------------------------------------------------- reports back

    def reports(self) -> list[Report]:
        """The reports of every file in ``reports/`` not acknowledged yet, file by file."""
        reports: list[Report] = []
        with self._index() as db:
            for file in self._report_files():
                acknowledged = self._acknowledged(db, file.name)
                for line, report in read_report_file(file, warn=True):
                    if line not in acknowledged:
                        reports.append(report)
        return reports

    def acknowledge(self, reports: Iterable[Report]) -> None:
        """These reports were recorded: files fully acknowledged move to ``done/``."""
        recorded = set(reports)
        with self._index() as db:
            for file in self._report_files():
                read = read_report_file(file, warn=False)
                acknowledged = self._acknowledged(db, file.name)
                for line, report in read:
                    if report in recorded and line not in acknowledged:
                        db.execute(
                            "INSERT INTO acknowledged (file, line) VALUES (?, ?)", (file.name, line)
                        )
                        acknowledged.add(line)
                if not {line for line, _ in read} <= acknowledged:
                    continue
                malformed = len(read) < count_report_lines(file)
                if malformed:
                    log.warning("print report moved to refused/", file=file.name)
                move_aside(file, self.refused if malformed else self.done)
                db.execute("DELETE FROM acknowledged WHERE file = ?", (file.name,))

    def _report_files(self) -> list[Path]:
        return sorted(p for p in self.inbox.iterdir() if p.is_file() and p.suffix == ".csv")

    @staticmethod
    def _acknowledged(db: sqlite3.Connection, file: str) -> set[int]:
        rows = db.execute("SELECT line FROM acknowledged WHERE file = ?", (file,)).fetchall()
        return {int(line) for (line,) in rows}

    def _index(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction on the index: writers across processes go one at a time."""
        return write_transaction(self.directory / INDEX)


class PrintServiceSimulator:
    """Plays the print service: posts a day's batches and reports them (demo, tests)."""

    def __init__(self, directory: str | Path) -> None:
        self.batches = PrintBatches(directory)

    def post(self, day: date, on: date) -> int:
        """Post every letter of the batches of ``day`` on ``on``; how many were reported."""
        references: list[str] = []
        for manifest in sorted(self.batches.outbox.glob(f"*/{day.isoformat()}/{MANIFEST}")):
            with manifest.open(newline="", encoding="utf-8") as rows:
                references += [r[0] for r in list(csv.reader(rows, delimiter=";"))[1:] if r]
        if references:
            name = f"posted-{day.isoformat()}-on-{on.isoformat()}.csv"
            self._report(name, [(ref, POSTED, on.isoformat(), "") for ref in references])
        return len(references)

    def return_letter(self, reference: str, on: date, reason: str) -> None:
        """Report one letter returned undeliverable."""
        name = f"returned-{reference.replace('/', '_')}-on-{on.isoformat()}.csv"
        self._report(name, [(reference, RETURNED, on.isoformat(), reason)])

    def _report(self, name: str, rows: list[tuple[str, str, str, str]]) -> None:
        text = io.StringIO()
        writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
        writer.writerow(REPORT_HEADER)
        writer.writerows(rows)
        write_atomically(self.batches.inbox / name, text.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------- helpers


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Why a report line was refused (its content never named: it may hold personal data)."""

    problem: str


def parse_report_line(cells: list[str]) -> Report | _Refusal:
    """One line of a report file as a report, or what is wrong with it."""
    if len(cells) not in (3, 4):
        return _Refusal(f"expected 3 or 4 columns, found {len(cells)}")
    reference, outcome, day = (c.strip() for c in cells[:3])
    reason = cells[3].strip() if len(cells) == 4 else ""
    if not REFERENCE.fullmatch(reference):
        return _Refusal("the reference is not <tenant>/<YYYY-MM-DD>/<item>")
    if outcome.lower() not in OUTCOMES:
        return _Refusal("the outcome is neither posted nor returned")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        return _Refusal("the date is not YYYY-MM-DD")
    if outcome.lower() == POSTED:
        return Report(reference=reference, outcome=Outcome.POSTED, on=on)
    return Report(
        reference=reference,
        outcome=Outcome.FAILED,
        on=on,
        failure=reason or RETURNED_WITHOUT_REASON,
    )


def read_report_file(file: Path, *, warn: bool) -> list[tuple[int, Report]]:
    """The good lines of a report file with their line numbers (1 = the first line)."""
    good: list[tuple[int, Report]] = []
    for number, cells in _report_rows(file):
        if number == 1 and [c.strip().lower() for c in cells] == list(REPORT_HEADER):
            continue
        parsed = parse_report_line(cells)
        if isinstance(parsed, Report):
            good.append((number, parsed))
        elif warn:
            log.warning(
                "print report line refused", file=file.name, line=number, problem=parsed.problem
            )
    return good


def count_report_lines(file: Path) -> int:
    """Lines of a report file that should be reports (the header not counted)."""
    rows = _report_rows(file)
    header = bool(rows) and [c.strip().lower() for c in rows[0][1]] == list(REPORT_HEADER)
    return len(rows) - (1 if header else 0)


def _report_rows(file: Path) -> list[tuple[int, list[str]]]:
    text = file.read_bytes().decode("utf-8-sig", errors="replace")
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        rows.append((number, next(csv.reader([line], delimiter=";"))))
    return rows


def page_count(pdf: bytes) -> int:
    """The PDF's number of pages; a file that is not a PDF is refused."""
    from pypdf import PdfReader  # imported where a letter is printed, not with the wiring
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(io.BytesIO(pdf)).pages)
    except (PdfReadError, ValueError, OSError):
        raise ChannelRefused("the letter is not a readable PDF") from None


def write_atomically(path: Path, content: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    with temporary.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def move_aside(file: Path, folder: Path) -> None:
    """Move a report file into ``folder`` (a name already there gets a number)."""
    target = folder / file.name
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{file.stem}.{counter}{file.suffix}"
    try:
        os.replace(file, target)
    except FileNotFoundError:
        return  # another process moved it meanwhile
