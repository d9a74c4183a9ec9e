"""Letters as PDF/A: Jinja2 templates per town and service, rendered by WeasyPrint.

Templates are looked up in this order, so a town or a service can override any template or
block: ``<tenant>/<service>/``, ``<tenant>/``, ``services/<service>/``, then the base
directory. A deployment's own directory of the same layout (``towns_dir``, the setting
``VORGANG_LETTER_TEMPLATES_DIR``) is searched first, all four levels, then the shipped
``templates/`` in the same order, so a town changes its letters without changing the
package; a town's ``base.html.j2`` may extend ``shipped/base.html.j2``. The stylesheet
``letter.css`` is looked up the same way. ``check_templates`` renders every town's every kind
once at start-up with a sample letter, so a syntax error or an undefined variable stops the
start instead of the first Bescheid of the day.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import jinja2

from application.letters import Address, Costs, Item, Letter
from domain.authorities import authorities_of
from domain.documents import DocumentKind
from domain.tenants import TENANTS
from infrastructure.documents.letterheads import Letterhead

TEMPLATES_DIR: Final = Path(__file__).with_name("templates")
TEMPLATE_SET: Final = "vorgang-letters-2026-12"
STYLESHEET: Final = "letter.css"
PDF_VARIANT: Final = "pdf/a-3b"
GENERAL_SERVICE: Final = "general"
SHIPPED: Final = "shipped"  # the prefix that names a shipped template past the towns' own


class TemplateProblem(Exception):
    """A letter template does not compile or render: names the file and the line."""

    def __init__(self, template: str, line: int | None, why: str) -> None:
        where = f"{template}, line {line}" if line is not None else template
        # One line: the operator reads it as the reason the process did not start.
        super().__init__(f"letter template {where}: {' '.join(why.split())}")
        self.template = template
        self.line = line


def template_name(kind: DocumentKind) -> str:
    """The template of a kind of letter."""
    return f"{kind.value}.html.j2"


class WeasyPrintRenderer:
    """Renders letters as PDF/A-3b with the towns' letterheads (the ``LetterRenderer`` port)."""

    def __init__(
        self,
        letterheads: Mapping[str, Letterhead],
        templates_dir: Path = TEMPLATES_DIR,
        towns_dir: Path | None = None,
    ) -> None:
        self._letterheads = letterheads
        # Absolute, so the files Jinja2 names in a traceback compare with these roots.
        self._dir = templates_dir.absolute()
        self._towns_dir = towns_dir.absolute() if towns_dir is not None else None
        self._environments: dict[tuple[str, str], jinja2.Environment] = {}
        self._stylesheets: dict[Path, Any] = {}  # weasyprint.CSS, made on first render
        self._fonts: Any = None  # WeasyPrint's font configuration, made on first render

    @property
    def _roots(self) -> tuple[Path, ...]:
        """The deployment's directory (if any) before the shipped one."""
        return (self._dir,) if self._towns_dir is None else (self._towns_dir, self._dir)

    @cached_property
    def template_version(self) -> str:
        """The template set and a short hash of its files (the deployment's too): a changed
        template, a new version."""
        digest = hashlib.sha256()
        for root, prefix in ((self._dir, ""), (self._towns_dir, "towns:")):
            if root is None or not root.is_dir():
                continue
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                digest.update((prefix + path.relative_to(root).as_posix()).encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
        return f"{TEMPLATE_SET}+{digest.hexdigest()[:10]}"

    def html(self, letter: Letter) -> str:
        """The letter as the HTML its PDF is rendered from."""
        letterhead = self._letterheads[letter.tenant]
        template = self._environment(letter.tenant, letter.service).get_template(
            template_name(letter.kind)
        )
        return template.render(letter=letter, letterhead=letterhead)

    def render(self, letter: Letter) -> bytes:
        """The letter as PDF/A-3b bytes, fonts embedded, in German, titled and authored."""
        # WeasyPrint is imported when the first letter is rendered, not with the wiring:
        # every process that never renders (workers, the CLI) starts a second faster.
        import weasyprint

        from infrastructure.documents.template_files import TemplateFiles

        search = self._search_path(letter.tenant, letter.service)
        document = weasyprint.HTML(
            string=self.html(letter),
            base_url=self._dir.as_uri() + "/",
            url_fetcher=TemplateFiles(self._dir, search),
        )
        pdf: bytes = document.write_pdf(
            stylesheets=[self._stylesheet(self._stylesheet_path(search))],
            font_config=self._font_config,
            pdf_variant=PDF_VARIANT,
        )
        return pdf

    def check_templates(self) -> None:
        """Render every town's every kind of letter with a sample; ``TemplateProblem`` if one
        fails to compile or uses a name it is not given."""
        if self._towns_dir is not None and not self._towns_dir.is_dir():
            raise TemplateProblem(str(self._towns_dir), None, "no such directory")
        for tenant in self._letterheads:
            for service in self._services_with_templates(tenant):
                for kind in DocumentKind:
                    for automatic in (False, True):
                        letter = sample_letter(tenant, kind, service, automatic=automatic)
                        self._check(letter)

    # ------------------------------------------------------------------ helpers

    def _search_path(self, tenant: str, service: str) -> list[Path]:
        """Where a town's service looks for a file: every level of the deployment's directory,
        most specific first, then the shipped ones; a file the deployment provides wins."""
        levels = (Path(tenant, service), Path(tenant), Path("services", service), Path())
        return [root / level for root in self._roots for level in levels]

    def _environment(self, tenant: str, service: str) -> jinja2.Environment:
        key = (tenant, service)
        environment = self._environments.get(key)
        if environment is None:
            search = jinja2.FileSystemLoader([str(p) for p in self._search_path(tenant, service)])
            # "shipped/base.html.j2": a town's own base.html.j2 extends the shipped one and
            # overrides only the blocks it changes.
            shipped = jinja2.FileSystemLoader(
                [str(p) for p in self._search_path(tenant, service) if p.is_relative_to(self._dir)]
            )
            environment = jinja2.Environment(
                loader=jinja2.ChoiceLoader(
                    [search, jinja2.PrefixLoader({SHIPPED: shipped}, delimiter="/")]
                ),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                auto_reload=False,  # the version is the files' hash at start-up
                trim_blocks=True,
                lstrip_blocks=True,
            )
            environment.filters["day"] = _day
            self._environments[key] = environment
        return environment

    def _stylesheet_path(self, search: list[Path]) -> Path:
        for directory in search:
            if (directory / STYLESHEET).is_file():
                return directory / STYLESHEET
        return self._dir / STYLESHEET

    @property
    def _font_config(self) -> Any:
        if self._fonts is None:
            from weasyprint.text.fonts import FontConfiguration

            self._fonts = FontConfiguration()
        return self._fonts

    def _stylesheet(self, path: Path) -> Any:
        import weasyprint

        from infrastructure.documents.template_files import TemplateFiles

        stylesheet = self._stylesheets.get(path)
        if stylesheet is None:
            stylesheet = weasyprint.CSS(
                filename=str(path),
                font_config=self._font_config,
                url_fetcher=TemplateFiles(path.parent, [path.parent]),  # nothing from the network
            )
            self._stylesheets[path] = stylesheet
        return stylesheet

    def _services_with_templates(self, tenant: str) -> list[str]:
        """The general templates, and every service that overrides some (here or in the
        deployment's directory)."""
        services = {GENERAL_SERVICE}
        for root in self._roots:
            for parent in (root / "services", root / tenant):
                if parent.is_dir():
                    services.update(p.name for p in parent.iterdir() if p.is_dir())
        return sorted(services - set(TENANTS) - {"services"})

    def _check(self, letter: Letter) -> None:
        try:
            self.html(letter)
        except jinja2.TemplateSyntaxError as problem:
            raise TemplateProblem(
                self._relative(problem.filename or problem.name or "?"),
                problem.lineno,
                problem.message or "syntax error",
            ) from None
        except jinja2.TemplateNotFound as problem:
            raise TemplateProblem(str(problem.name), None, "template not found") from None
        except Exception as problem:  # an undefined name, a failing filter: find its line
            template, line = self._where(problem)
            raise TemplateProblem(template, line, f"{type(problem).__name__}: {problem}") from None

    def _where(self, problem: BaseException) -> tuple[str, int | None]:
        """The template file and line a rendering error was raised in (Jinja2 rewrites the
        traceback so its frames name the template's file and line)."""
        frames = [
            f
            for f in traceback.extract_tb(problem.__traceback__)
            if any(Path(f.filename).is_relative_to(root) for root in self._roots)
        ]
        if not frames:
            return "?", None
        return self._relative(frames[-1].filename), frames[-1].lineno

    def _relative(self, filename: str) -> str:
        """A shipped template by its name in the package; a deployment's by its full path,
        the file the operator has to open."""
        path = Path(filename)
        if self._towns_dir is not None and path.is_relative_to(self._towns_dir):
            return filename
        return (
            path.relative_to(self._dir).as_posix() if path.is_relative_to(self._dir) else filename
        )


def _day(value: date) -> str:
    return f"{value:%d.%m.%Y}"


# ------------------------------------------------------------------ the sample letter

_SAMPLE_COSTS: Final = Costs(
    legal_basis="Verwaltungskostensatzung i. V. m. §§ 1 ff. KAG",
    amount="1.234,50 EUR",
    due="innerhalb eines Monats nach Bekanntgabe",
    debtor="Erika Musterfrau",
    cash_reference="011-26-000012-01-3",
    notes=("Ein Widerspruch hat keine aufschiebende Wirkung.",),
)


def sample_letter(tenant: str, kind: DocumentKind, service: str, *, automatic: bool) -> Letter:
    """A letter with every part filled (or, automatic, the parts an automatic one leaves out),
    built in code: what ``check_templates`` renders for every town."""
    town = TENANTS[tenant].display_name
    full = Letter(
        kind=kind,
        tenant=tenant,
        service=service,
        service_name="Musterleistung",
        number=1,
        title=kind.heading,
        town=town,
        issuing_authority=authorities_of(tenant).executive,
        reference="USI-2026-000001",
        dated=date(2026, 12, 1),
        subjects=frozenset({"applicant"}),
        addressee_subject="applicant",
        address=Address("Erika Musterfrau", ("Musterweg 1", "61250 Usingen")),
        representative="Rechtsanwältin Dr. Beispiel",
        subject_line="Musterleistung; Aktenzeichen USI-2026-000001",
        salutation="Sehr geehrte Damen und Herren,",
        introduction=("auf Ihren Antrag vom 02.11.2026 ergeht folgender",),
        operative_part=("Die beantragte Genehmigung wird erteilt.",),
        provisions=(Item("Auflage", "Die Baustelle ist abzusichern."),),
        facts=(Item("Antrag vom", "02.11.2026"),),
        particulars=(Item("Zeitraum der Arbeiten", "01.12.2026 bis 12.12.2026"),),
        questions=("Bitte reichen Sie den Lageplan ein.",),
        reasoning=(Item("Gründe", "Die Voraussetzungen liegen vor."),),
        notes=("Die Bearbeitungsfrist ruht.",),
        costs=_SAMPLE_COSTS,
        remedy_notice="Rechtsbehelfsbelehrung: Gegen diesen Bescheid ...",
        automatic=False,
        contact_person="Anna Schmidt",
        closing=("Im Auftrag", "Anna Schmidt"),
    )
    if not automatic:
        return full
    bare: dict[str, Any] = {
        "representative": None,
        "provisions": (),
        "facts": (),
        "particulars": (),
        "questions": (),
        "reasoning": (),
        "notes": (),
        "costs": None,
        "remedy_notice": None,
        "automatic": True,
        "contact_person": None,
        "closing": ("Dieses Schreiben wurde maschinell erstellt ...",),
    }
    return replace(full, **bare)
