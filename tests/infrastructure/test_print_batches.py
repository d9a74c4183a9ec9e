"""The print service's exchange directory: letters into the batch of their town and day with a
manifest, one letter per key; reports read, malformed lines refused, acknowledged files done."""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
from datetime import date
from pathlib import Path

import pytest
import structlog
from pypdf import PdfWriter

from application.document_ports import ChannelRefused, PostalAddress, Report
from domain.documents import Outcome
from infrastructure.documents.print_service import (
    MANIFEST_HEADER,
    RETURNED_WITHOUT_REASON,
    PrintBatches,
    PrintServiceSimulator,
)

DAY = date(2026, 3, 3)
POSTED_ON = date(2026, 3, 4)
ADDRESS = PostalAddress("Erika Mustermann", ("Hauptstraße 1", "61250 Usingen"))


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def manifest(directory: Path, tenant: str, day: date) -> list[list[str]]:
    path = directory / "outbox" / tenant / day.isoformat() / "manifest.csv"
    with path.open(newline="", encoding="utf-8") as rows:
        return list(csv.reader(rows, delimiter=";"))


def drop_report(directory: Path, name: str, text: str) -> None:
    (directory / "reports" / name).write_text(text, encoding="utf-8")


def test_letters_go_into_the_batch_of_their_town_and_day_once_per_key(tmp_path: Path) -> None:
    batches = PrintBatches(tmp_path)
    two_pages = pdf(2)
    first = batches.enqueue(key="a", tenant="usingen", address=ADDRESS, pdf=two_pages, on=DAY)
    second = batches.enqueue(key="b", tenant="usingen", address=ADDRESS, pdf=pdf(), on=DAY)
    again = PrintBatches(tmp_path).enqueue(
        key="a", tenant="usingen", address=ADDRESS, pdf=two_pages, on=POSTED_ON
    )
    other_town = batches.enqueue(key="c", tenant="schmitten", address=ADDRESS, pdf=pdf(), on=DAY)
    assert (first, second, again) == ("usingen/2026-03-03/0001", "usingen/2026-03-03/0002", first)
    assert other_town == "schmitten/2026-03-03/0001"
    batch = tmp_path / "outbox" / "usingen" / "2026-03-03"
    assert (batch / "0001.pdf").read_bytes() == two_pages
    assert sorted(p.name for p in batch.iterdir()) == ["0001.pdf", "0002.pdf", "manifest.csv"]
    header, *rows = manifest(tmp_path, "usingen", DAY)
    assert tuple(header) == MANIFEST_HEADER
    assert rows[0] == [
        first,
        "Erika Mustermann",
        "Hauptstraße 1",
        "61250 Usingen",
        "",
        "",
        "",
        "2",
        hashlib.sha256(two_pages).hexdigest(),
    ]
    assert [r[0] for r in rows] == [first, second]
    assert not (tmp_path / "outbox" / "usingen" / POSTED_ON.isoformat()).exists()


def test_a_letter_without_an_address_or_not_a_pdf_is_refused(tmp_path: Path) -> None:
    batches = PrintBatches(tmp_path)
    for address in (PostalAddress("Erika", ()), PostalAddress(" ", ("Hauptstraße 1",))):
        with pytest.raises(ChannelRefused):
            batches.enqueue(key="k", tenant="usingen", address=address, pdf=pdf(), on=DAY)
    with pytest.raises(ChannelRefused):
        batches.enqueue(key="k", tenant="usingen", address=ADDRESS, pdf=b"no pdf", on=DAY)
    with pytest.raises(ValueError, match="a tenant is named"):
        batches.enqueue(key="k", tenant="../etc", address=ADDRESS, pdf=pdf(), on=DAY)
    assert not (tmp_path / "outbox" / "usingen").exists()


def test_the_simulator_posts_a_days_batches_and_the_reports_are_read_until_acknowledged(
    tmp_path: Path,
) -> None:
    batches = PrintBatches(tmp_path)
    refs = [
        batches.enqueue(key=k, tenant=t, address=ADDRESS, pdf=pdf(), on=DAY)
        for k, t in (("a", "usingen"), ("b", "usingen"), ("c", "glashuetten"))
    ]
    later = batches.enqueue(key="d", tenant="usingen", address=ADDRESS, pdf=pdf(), on=POSTED_ON)
    simulator = PrintServiceSimulator(tmp_path)
    assert simulator.post(DAY, on=POSTED_ON) == 3
    simulator.return_letter(refs[0], date(2026, 3, 9), "Empfänger unbekannt verzogen")
    reports = batches.reports()
    assert sorted(reports, key=str) == sorted(
        [
            *(Report(r, Outcome.POSTED, POSTED_ON) for r in refs),
            Report(refs[0], Outcome.FAILED, date(2026, 3, 9), "Empfänger unbekannt verzogen"),
        ],
        key=str,
    )
    assert later not in {r.reference for r in reports}
    batches.acknowledge([r for r in reports if r.reference != refs[2]])
    assert batches.reports() == [Report(refs[2], Outcome.POSTED, POSTED_ON)]
    assert [p.name for p in (tmp_path / "reports" / "done").iterdir()] == [
        "returned-usingen_2026-03-03_0001-on-2026-03-09.csv"
    ]
    batches.acknowledge([Report(refs[2], Outcome.POSTED, POSTED_ON)])
    assert batches.reports() == []
    assert len(list((tmp_path / "reports" / "done").iterdir())) == 2
    assert [p.name for p in (tmp_path / "reports").glob("*.csv")] == []


def test_malformed_lines_are_refused_with_a_warning_naming_file_and_line_only(
    tmp_path: Path,
) -> None:
    batches = PrintBatches(tmp_path)
    drop_report(
        tmp_path,
        "mixed.csv",
        "reference;outcome;date;reason\n"
        "usingen/2026-03-03/0001;posted;2026-03-04;\n"
        "usingen/2026-03-03/0002;lost;2026-03-04;Erika Mustermann\n"
        "Erika Mustermann;posted;2026-03-04\n"
        "usingen/2026-03-03/0003;returned;04.03.2026;\n"
        "usingen/2026-03-03/0004;returned;2026-03-05\n",
    )
    with structlog.testing.capture_logs() as logs:
        reports = batches.reports()
    assert reports == [
        Report("usingen/2026-03-03/0001", Outcome.POSTED, POSTED_ON),
        Report(
            "usingen/2026-03-03/0004", Outcome.FAILED, date(2026, 3, 5), RETURNED_WITHOUT_REASON
        ),
    ]
    refused = [e for e in logs if e["event"] == "print report line refused"]
    assert [(e["file"], e["line"]) for e in refused] == [
        ("mixed.csv", 3),
        ("mixed.csv", 4),
        ("mixed.csv", 5),
    ]
    assert "Mustermann" not in repr(logs)
    batches.acknowledge(reports)  # the good lines recorded: the file goes to refused/
    assert batches.reports() == []
    assert [p.name for p in (tmp_path / "reports" / "refused").iterdir()] == ["mixed.csv"]


def _enqueue_many(directory: str) -> list[str]:
    batches = PrintBatches(directory)
    letter = pdf()
    return [
        batches.enqueue(key=f"key-{i}", tenant="usingen", address=ADDRESS, pdf=letter, on=DAY)
        for i in range(10)
    ]


def test_two_processes_enqueueing_the_same_keys_print_each_letter_once(tmp_path: Path) -> None:
    PrintBatches(tmp_path)  # the index, before the race
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        first, second = pool.map(_enqueue_many, [str(tmp_path), str(tmp_path)])
    assert first == second
    assert len(set(first)) == 10
    rows = manifest(tmp_path, "usingen", DAY)[1:]
    assert sorted(r[0] for r in rows) == sorted(first)
    assert len(list((tmp_path / "outbox" / "usingen" / DAY.isoformat()).glob("*.pdf"))) == 10
