"""A town's own letter templates live outside the package (``VORGANG_LETTER_TEMPLATES_DIR``):
they are searched before the shipped ones at every level, count in the template version, and a
bad one fails the start-up — the build and ``vorgang serve`` — not the first decision."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from domain.documents import DocumentKind
from infrastructure.documents.letterheads import load_letterheads
from infrastructure.documents.rendering import (
    TemplateProblem,
    WeasyPrintRenderer,
    sample_letter,
)
from infrastructure.settings import Settings
from infrastructure.wiring import build

BROKEN_DECISION = (
    '{% extends "base.html.j2" %}\n{% block content %}\n{% if letter.title %}\n{% endblock %}\n'
)


def town_override(towns: Path, relative: str, body: str) -> Path:
    """A file in the deployment's template directory."""
    path = towns / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def decision_of(towns: Path, tenant: str, service: str) -> str:
    """The HTML of a town's sample decision for a service, the towns' templates first."""
    letter = sample_letter(tenant, DocumentKind.DECISION, service, automatic=False)
    return WeasyPrintRenderer(load_letterheads(), towns_dir=towns).html(letter)


@pytest.fixture
def towns(tmp_path: Path) -> Path:
    """The deployment's directory of town templates, empty."""
    directory = tmp_path / "towns"
    directory.mkdir()
    return directory


def test_a_towns_own_template_comes_before_the_shipped_one_at_every_level(towns: Path) -> None:
    town_override(towns, "usingen/road-opening/particulars.html.j2", "<p>usingen+road</p>")
    town_override(towns, "usingen/particulars.html.j2", "<p>usingen</p>")
    town_override(towns, "services/road-opening/particulars.html.j2", "<p>all towns road</p>")
    town_override(towns, "particulars.html.j2", "<p>all towns</p>")

    assert "usingen+road" in decision_of(towns, "usingen", "road-opening")
    assert "<p>usingen</p>" in decision_of(towns, "usingen", "sewer-connection")
    assert "all towns road" in decision_of(towns, "schmitten", "road-opening")
    assert "<p>all towns</p>" in decision_of(towns, "schmitten", "sewer-connection")


def test_any_file_of_the_towns_directory_beats_every_shipped_one(towns: Path) -> None:
    town_override(towns, "particulars.html.j2", "<p>all towns</p>")  # shipped: road-opening's own

    assert "<p>all towns</p>" in decision_of(towns, "usingen", "road-opening")
    assert "Angaben zur Aufgrabung" not in decision_of(towns, "usingen", "road-opening")


def test_without_a_towns_file_the_shipped_template_is_used(towns: Path) -> None:
    town_override(towns, "glashuetten/particulars.html.j2", "<p>glashuetten</p>")

    assert "Angaben zur Aufgrabung" in decision_of(towns, "usingen", "road-opening")
    assert "glashuetten" not in decision_of(towns, "usingen", "road-opening")


def test_a_towns_stylesheet_replaces_the_shipped_one_for_that_town(towns: Path) -> None:
    town_override(towns, "neu-anspach/letter.css", "@page { size: A5; }")
    letters = WeasyPrintRenderer(load_letterheads(), towns_dir=towns)

    def width_in_points(tenant: str) -> float:
        letter = sample_letter(tenant, DocumentKind.DECISION, "general", automatic=True)
        pdf = pypdf.PdfReader(io.BytesIO(letters.render(letter)))
        return float(pdf.pages[0].mediabox.width)

    assert round(width_in_points("neu-anspach")) == 420  # A5: 148 mm
    assert round(width_in_points("usingen")) == 595  # A4: 210 mm


def test_a_towns_base_extends_the_shipped_one_and_shows_its_own_logo(towns: Path) -> None:
    town_override(
        towns,
        "usingen/base.html.j2",
        '{% extends "shipped/base.html.j2" %}\n'
        '{% block letterhead %}<img class="logo" src="logo.png">{{ super() }}{% endblock %}\n',
    )
    Image.new("RGB", (40, 20), "navy").save(towns / "usingen" / "logo.png")
    letters = WeasyPrintRenderer(load_letterheads(), towns_dir=towns)
    letters.check_templates()

    def images_on_first_page(tenant: str) -> int:
        letter = sample_letter(tenant, DocumentKind.DECISION, "general", automatic=True)
        return len(pypdf.PdfReader(io.BytesIO(letters.render(letter))).pages[0].images)

    assert images_on_first_page("usingen") == 1
    assert images_on_first_page("schmitten") == 0
    usingen = sample_letter("usingen", DocumentKind.DECISION, "general", automatic=True)
    assert "Der Magistrat der Stadt Usingen" in letters.html(usingen)  # the shipped block kept


def test_the_template_version_covers_the_towns_files(towns: Path) -> None:
    def version() -> str:
        return WeasyPrintRenderer(load_letterheads(), towns_dir=towns).template_version

    shipped_only = WeasyPrintRenderer(load_letterheads()).template_version
    empty = version()
    override = town_override(towns, "usingen/particulars.html.j2", "<p>one</p>")
    first = version()
    override.write_text("<p>two</p>")
    second = version()

    assert empty == shipped_only  # an empty directory changes no letter
    assert len({empty, first, second}) == 3


def test_the_check_covers_a_service_only_the_towns_directory_overrides(towns: Path) -> None:
    town_override(towns, "schmitten/dog-licence/decision.html.j2", BROKEN_DECISION)

    with pytest.raises(TemplateProblem) as problem:
        WeasyPrintRenderer(load_letterheads(), towns_dir=towns).check_templates()

    assert problem.value.template == str(towns / "schmitten/dog-licence/decision.html.j2")
    assert problem.value.line == 4


def test_a_missing_towns_directory_is_a_template_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(TemplateProblem, match="nowhere"):
        WeasyPrintRenderer(load_letterheads(), towns_dir=missing).check_templates()


# ------------------------------------------------------------------ at start-up


def files_open_under(directory: Path) -> list[str]:
    """The files this process holds open below ``directory`` (Linux: /proc/self/fd)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed between listing and reading
            continue
        if target.startswith(str(directory)):
            held.append(target)
    return held


def test_a_broken_town_template_stops_the_build_naming_file_and_line(
    tmp_path: Path, towns: Path
) -> None:
    broken = town_override(towns, "usingen/decision.html.j2", BROKEN_DECISION)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/v.db", letter_templates_dir=str(towns))

    with pytest.raises(TemplateProblem) as problem:
        build(settings)

    assert problem.value.template == str(broken)
    assert problem.value.line == 4
    assert f"{broken}, line 4" in str(problem.value)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")
def test_a_build_stopped_by_a_template_leaves_nothing_open(tmp_path: Path, towns: Path) -> None:
    town_override(towns, "usingen/decision.html.j2", BROKEN_DECISION)
    database = tmp_path / "db"
    database.mkdir()
    settings = Settings(database_url=f"sqlite:///{database}/v.db", letter_templates_dir=str(towns))

    with pytest.raises(TemplateProblem) as problem:
        build(settings)

    # The traceback (kept in ``problem``) holds build()'s frame: what it left open stays open.
    assert problem.traceback
    assert files_open_under(database) == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_refuses_to_start_with_a_broken_town_template(tmp_path: Path, towns: Path) -> None:
    broken = town_override(towns, "usingen/decision.html.j2", BROKEN_DECISION)
    environment = {
        **os.environ,
        "VORGANG_DATABASE_URL": f"sqlite:///{tmp_path}/v.db",
        "VORGANG_LETTER_TEMPLATES_DIR": str(towns),
    }
    vorgang = Path(sys.executable).with_name("vorgang")

    finished = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [str(vorgang), "serve", "--dev", "--port", str(free_port())],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,  # a safety bound only: the process must exit by itself
    )

    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert f"{broken}, line 4" in lines[0]
