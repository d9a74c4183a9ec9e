"""`vorgang audit verify --case-file FILE.json` checks the proof an Akte carries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from application.case_file import CaseFile
from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.cli import app
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import APPLICANT, CLERK, document_places
from tests.steps import take

AUDITOR = Actor("rpa.usingen", "Rechnungsprüfung", Role.AUDITOR, "usingen")


@pytest.fixture
def checkpointed(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> Iterator[Vorgang]:
    """The application signing a checkpoint after every batch of the chain."""
    settings = Settings(
        database_url=target.display,
        integrity_checkpoint_every_events=1,
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    built = build(settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


def saved_file(vorgang: Vorgang, path: Path) -> dict[str, object]:
    """A claimed case's file as the API serves it (JSON), written to ``path``."""
    case_id = vorgang.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "Max Mustermann"},
        data={"subject": "Anliegen"},
    ).case_id
    take(vorgang.cases, case_id, "claim", actor=CLERK)
    vorgang.projections.catch_up()
    file = vorgang.case_files.assemble(case_id, AUDITOR)
    assert [r.originator_version for r in file.proof.records] == [1, 2]
    assert file.proof.checkpoint is not None
    path.write_bytes(TypeAdapter(CaseFile).dump_json(file))
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_the_case_file_proof_verifies_and_a_tampered_link_fails_with_exit_1(
    checkpointed: Vorgang, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "akte.json"
    document = saved_file(checkpointed, path)
    monkeypatch.setenv("VORGANG_DATABASE_URL", checkpointed.settings.database_url)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--case-file", str(path)])
    assert ok.exit_code == 0, ok.output

    proof = document["proof"]
    assert isinstance(proof, dict)
    second = proof["records"][1]
    second["link"] = ("0" if second["link"][0] != "0" else "1") + second["link"][1:]
    path.write_text(json.dumps(document), encoding="utf-8")
    broken = runner.invoke(app, ["audit", "verify", "--case-file", str(path)])
    assert broken.exit_code == 1, broken.output
    assert "altered" in broken.output
