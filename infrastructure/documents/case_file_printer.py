"""The case file (Akte) as a printable German document: HTML from one Jinja2 template, and the
PDF WeasyPrint renders from that same HTML, as letters are rendered (decision 37).

The template lives beside the letters' (``case_file/akte.html.j2``), not among them: a
letter's template version is the hash of the letters' files and does not move with the Akte.
Nothing is fetched from the network (``TemplateFiles``); fonts are DejaVu, embedded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import jinja2

from application.case_file import CaseFile
from domain.working_days import BERLIN

TEMPLATE_DIR: Final = Path(__file__).with_name("case_file")
TEMPLATE: Final = "akte.html.j2"

STATUSES: Final = {
    "submitted": "eingegangen",
    "in_review": "in Bearbeitung",
    "information_requested": "Nachforderung offen",
    "pending_countersign": "Gegenzeichnung ausstehend",
    "awaiting_payment": "Zahlung ausstehend",
    "decided": "entschieden",
    "notified": "bekanntgegeben",
    "final": "bestandskräftig",
    "closed": "abgeschlossen",
    "withdrawn": "zurückgenommen",
    "deemed_approved": "Genehmigung fingiert",
}
ROLES: Final = {
    "applicant": "Antragsteller(in)",
    "clerk": "Sachbearbeitung",
    "supervisor": "Vorgesetzte(r)",
    "auditor": "Prüfung",
    "admin": "Administration",
    "cash_office": "Kasse",
    "integrator": "angebundenes System",
    "system": "System",
    "data_protection_officer": "Datenschutzbeauftragte(r)",
}
OUTCOMES: Final = {
    "approved": "genehmigt",
    "approved_with_conditions": "genehmigt mit Nebenbestimmungen",
    "rejected": "abgelehnt",
}
VERDICTS: Final = {
    "consistent": "stimmig: die aufgezeichneten Regeln ergeben dieselbe Entscheidung",
    "inconsistent": "abweichend",
    "not_replayable": "nicht nachprüfbar",
}
CHANNELS: Final = {
    "online": "online",
    "counter": "am Schalter",
    "paper": "schriftlich",
    "postbox": "Postfach",
    "letter": "Brief",
    "portal": "Portal",
    "provider": "Zahlungsdienst",
    "bank_transfer": "Überweisung",
}
DELIVERY_OUTCOMES: Final = {
    "accepted": "angenommen",
    "posted": "zur Post gegeben",
    "retrieved": "abgerufen",
    "handed_over": "ausgehändigt",
    "failed": "gescheitert",
}
RECEIVABLES: Final = {
    "open": "offen",
    "partly_paid": "teilweise bezahlt",
    "settled": "bezahlt",
    "cancelled": "storniert",
    None: "keine Forderung",
}
FIELDS: Final = {"name": "Name", "address": "Anschrift", "email": "E-Mail", "phone": "Telefon"}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.astimezone(BERLIN):%d.%m.%Y %H:%M} Uhr"


def _day(value: date | None) -> str:
    return "" if value is None else f"{value:%d.%m.%Y}"


def _euro(value: Decimal | None) -> str:
    if value is None:
        return ""
    whole, _, cents = f"{Decimal(value):,.2f}".partition(".")
    return f"{whole.replace(',', '.')},{cents} EUR"


def _flat(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested application data as (path, text) lines."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _flat(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list | tuple) and any(isinstance(v, Mapping) for v in data):
        for index, value in enumerate(data, 1):
            yield from _flat(value, f"{prefix}[{index}]")
    elif isinstance(data, list | tuple):
        yield prefix, ", ".join(str(v) for v in data)
    elif data is None:
        yield prefix, "-"
    elif isinstance(data, bool):
        yield prefix, "ja" if data else "nein"
    else:
        yield prefix, str(data)


def _named(names: Mapping[Any, str]) -> Any:
    return lambda value: names.get(value, "" if value is None else str(value))


class WeasyPrintCaseFiles:
    """``CaseFilePrinter``: the Akte as HTML, and as PDF rendered from it by WeasyPrint."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self._dir = template_dir.absolute()
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self._dir)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.filters.update(
            when=_when,
            day=_day,
            euro=_euro,
            flat=lambda data: list(_flat(data)),
            status=_named(STATUSES),
            role=_named(ROLES),
            outcome=_named(OUTCOMES),
            verdict=_named(VERDICTS),
            channel=_named(CHANNELS),
            outcome_of_delivery=_named(DELIVERY_OUTCOMES),
            receivable=_named(RECEIVABLES),
            field=_named(FIELDS),
        )
        self._template = environment.get_template(TEMPLATE)
        self._fonts: Any = None

    def html(self, file: CaseFile) -> str:
        """The file as printable German HTML."""
        return self._template.render(file=file)

    def pdf(self, file: CaseFile) -> bytes:
        """The same HTML rendered as PDF (fonts embedded, nothing fetched)."""
        import weasyprint  # imported when the first file is printed, like letters
        from weasyprint.text.fonts import FontConfiguration

        from infrastructure.documents.template_files import TemplateFiles

        if self._fonts is None:
            self._fonts = FontConfiguration()
        document = weasyprint.HTML(
            string=self.html(file),
            base_url=self._dir.as_uri() + "/",
            url_fetcher=TemplateFiles(self._dir, [self._dir]),
        )
        pdf: bytes = document.write_pdf(font_config=self._fonts)
        return pdf
