"""The letter a case issues, as plain text ready for a template (issue #22).

``compose`` reads the record a document sets out — the decision in force, the latest
Widerspruchsbescheid, the latest § 42a certificate, the open information request, a sewer
connection's charge assessment — and returns a ``Letter``: every text the template shows,
personal values already revealed (an erased one reads ``[gelöscht]``), and the data subjects
whose personal data it shows, so the stored PDF can be encrypted under their keys. Nothing
here knows the town's letterhead or the PDF: infrastructure/documents renders the letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from domain.actor import ActorRecord
from domain.authorities import authorities_of, remedy_notice
from domain.case import Case
from domain.case_charges import ADMINISTRATIVE_FEE, SPECIAL_USE_FEE
from domain.decision import Decision, DecisionOutcome, Hearing, ProvisionKind
from domain.documents import DocumentKind
from domain.errors import InvalidCommand
from domain.objection import (
    CostsBorneBy,
    Objection,
    ObjectionDecision,
    ObjectionOutcome,
    ObjectionState,
)
from domain.personal_data import Erased, PersonalData, PersonalValue
from domain.rules import market_fees
from domain.rules.sewer_connection import CHARGE_LEGAL_BASIS
from domain.services.catalogue import SERVICES
from domain.services.holiday_registration import FEE_LEDGER as HOLIDAY_FEE
from domain.services.sewer_connection import SewerConnection
from domain.tenants import tenant as tenant_named

WITHIN_A_MONTH: Final = "innerhalb eines Monats nach Bekanntgabe"
AUTOMATIC_CLOSING: Final = (
    "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig "
    "(§ 37 Abs. 5 HVwVfG)."
)
ON_BEHALF: Final = "Im Auftrag"
STAFF_SUBJECT_PREFIX: Final = "actor:"

PROVISION_LABELS: Final = {
    ProvisionKind.CONDITION: "Bedingung",
    ProvisionKind.REQUIREMENT: "Auflage",
    ProvisionKind.TIME_LIMIT: "Befristung",
    ProvisionKind.REVOCATION_RESERVED: "Widerrufsvorbehalt",
    ProvisionKind.FURTHER_REQUIREMENTS_RESERVED: "Auflagenvorbehalt",
}
# The Tenor of decisions recorded before the operative part was (the wording decide uses).
_STANDARD_TENOR: Final = {
    DecisionOutcome.APPROVED: "Die beantragte Genehmigung wird erteilt.",
    DecisionOutcome.APPROVED_WITH_CONDITIONS: (
        "Die beantragte Genehmigung wird mit den folgenden Nebenbestimmungen erteilt."
    ),
    DecisionOutcome.REJECTED: "Der Antrag wird abgelehnt.",
}
_OBJECTION_TENOR: Final = {
    ObjectionOutcome.GRANTED: "Dem Widerspruch wird stattgegeben.",
    ObjectionOutcome.PARTLY_GRANTED: "Dem Widerspruch wird teilweise stattgegeben.",
    ObjectionOutcome.DISMISSED: "Der Widerspruch wird zurückgewiesen.",
    ObjectionOutcome.INADMISSIBLE: "Der Widerspruch wird als unzulässig zurückgewiesen.",
}
_OBJECTION_COSTS: Final = {
    CostsBorneBy.OBJECTOR: "Die Kosten des Widerspruchsverfahrens tragen Sie.",
    CostsBorneBy.AUTHORITY: (
        "Die Kosten des Widerspruchsverfahrens trägt die Behörde; Ihre notwendigen "
        "Aufwendungen werden erstattet."
    ),
    CostsBorneBy.SHARED: "Die Kosten des Widerspruchsverfahrens werden verhältnismäßig geteilt.",
}
# A service's own terms a decision carries, as the letter names them (others stay internal).
_PARTICULAR_LABELS: Final = {
    "special_use_fee": "Sondernutzungsgebühr",
    "security_deposit": "Sicherheitsleistung",
}
_AMOUNTS: Final = frozenset({"special_use_fee", "security_deposit"})


@dataclass(frozen=True, slots=True)
class Address:
    """The address window: the addressee's name and address lines."""

    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A labelled line of a letter: a provision, a fact, a service's particular."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Costs:
    """The costs decision as the letter states it, with the Kassenzeichen to pay under."""

    legal_basis: str
    amount: str  # formatted German, "1.234,50 EUR"
    due: str  # a date, or "innerhalb eines Monats nach Bekanntgabe"
    debtor: str | None = None
    cash_reference: str | None = None  # Kassenzeichen
    notes: tuple[str, ...] = ()  # a refund, that an objection does not suspend payment


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything a letter shows, as plain text already revealed."""

    kind: DocumentKind
    tenant: str
    service: str
    service_name: str
    number: int  # the document's number in the case
    title: str
    town: str  # the town's display name
    issuing_authority: str
    reference: str  # Aktenzeichen
    dated: date
    subjects: frozenset[str]  # data subjects whose personal data it shows (no staff)
    addressee_subject: str
    address: Address
    representative: str | None
    subject_line: str  # Betreff
    salutation: str
    introduction: tuple[str, ...]  # what the letter is about, before the Tenor
    operative_part: tuple[str, ...]  # Tenor
    provisions: tuple[Item, ...]
    facts: tuple[Item, ...]  # dates and figures the Tenor rests on
    particulars: tuple[Item, ...]  # a service's own terms (the works period of a road opening)
    questions: tuple[str, ...]  # an information request's questions
    reasoning: tuple[Item, ...]  # Begründung: justification, hearing, discretion, legal basis
    notes: tuple[str, ...]  # hints after the reasoning (the processing period pauses ...)
    costs: Costs | None
    remedy_notice: str | None  # Rechtsbehelfsbelehrung
    automatic: bool
    contact_person: str | None  # the official who issued it; none for automatic letters
    closing: tuple[str, ...]


class _Shown:
    """Reveals personal values for the letter and remembers whose data it shows."""

    def __init__(self) -> None:
        self.subjects: set[str] = set()

    def text(self, value: PersonalValue | str) -> str:
        """The shown text of a value (``[gelöscht]`` once erased, adding no subject)."""
        if isinstance(value, str):
            return value
        if isinstance(value, PersonalData) and not value.subject.startswith(STAFF_SUBJECT_PREFIX):
            self.subjects.add(value.subject)
        return value.reveal()

    def optional(self, value: PersonalValue | str | None) -> str | None:
        """The shown text of an optional value."""
        return None if value is None else self.text(value)

    def any(self, value: Any) -> str | None:
        """A value read from application data: personal, plain, or missing."""
        if isinstance(value, PersonalData | Erased | str):
            return self.text(value)
        if isinstance(value, int | Decimal | date):
            return str(value)
        return None


def compose(
    case: Case,
    kind: DocumentKind,
    *,
    number: int,
    issued_on: date,
    issued_by: ActorRecord,
    automatic: bool,
    cash_reference: str | None,
) -> Letter:
    """The letter of this kind the case issues; ``InvalidCommand`` naming ``kind`` if the case
    has no record for it."""
    case.document_refers_to(kind)  # refuses a kind without a record
    shown = _Shown()
    town = tenant_named(case.tenant)
    service = SERVICES.get(case.service)
    parts = _PARTS[kind](case, shown, issued_on, cash_reference)
    address = parts.address or _applicant_address(case, shown)
    contact = None if automatic else shown.text(issued_by.display_name)
    closing = (AUTOMATIC_CLOSING,) if automatic else (ON_BEHALF, contact or "")
    service_name = service.label_de if service is not None else case.service
    return Letter(
        kind=kind,
        tenant=case.tenant,
        service=case.service,
        service_name=service_name,
        number=number,
        title=kind.heading,
        town=town.display_name,
        issuing_authority=parts.authority,
        reference=case.reference,
        dated=issued_on,
        subjects=frozenset(shown.subjects),
        addressee_subject=case.addressee_of(kind),
        address=address,
        representative=parts.representative,
        subject_line=f"{parts.subject or service_name}; Aktenzeichen {case.reference}",
        salutation="Sehr geehrte Damen und Herren,",
        introduction=parts.introduction,
        operative_part=parts.operative_part,
        provisions=parts.provisions,
        facts=parts.facts,
        particulars=parts.particulars,
        questions=parts.questions,
        reasoning=parts.reasoning,
        notes=parts.notes,
        costs=parts.costs,
        remedy_notice=parts.remedy_notice,
        automatic=automatic,
        contact_person=contact,
        closing=closing,
    )


@dataclass(frozen=True, slots=True)
class _Parts:
    """What one kind of letter says; ``compose`` adds what every letter carries."""

    authority: str
    operative_part: tuple[str, ...]
    introduction: tuple[str, ...] = ()
    subject: str | None = None
    address: Address | None = None
    representative: str | None = None
    provisions: tuple[Item, ...] = ()
    facts: tuple[Item, ...] = ()
    particulars: tuple[Item, ...] = ()
    questions: tuple[str, ...] = ()
    reasoning: tuple[Item, ...] = ()
    notes: tuple[str, ...] = ()
    costs: Costs | None = None
    remedy_notice: str | None = None


# ------------------------------------------------------------------ the kinds


LEDGER_NAMES: Final = {
    ADMINISTRATIVE_FEE: "Verwaltungsgebühr",
    SPECIAL_USE_FEE: "Sondernutzungsgebühr",
    "dog_tax": "Hundesteuer",  # one charge per year of the Hundesteuerbescheid
    market_fees.PITCH_FEE: "Standgeld",
    market_fees.ELECTRICITY: "Stromanschluss",
    market_fees.WATER: "Wasseranschluss",
    market_fees.DEPOSIT: "Kaution",
    HOLIDAY_FEE: "Teilnahmebeitrag",
}


def _charge_notes(case: Case) -> tuple[str, ...]:
    """Each further fee the decision charged, under its own Kassenzeichen, and whether the
    fees were paid already (a business customer pays before the permit is issued)."""
    charged = case.charges_in_force(len(case.decisions))
    notes = [
        f"{LEDGER_NAMES.get(c.ledger, c.ledger)} {euro(c.amount)}, Kassenzeichen {c.kassenzeichen}"
        for c in charged[1:]
    ]
    if charged and all(c.kassenzeichen in case.settled_charges for c in charged):
        notes.append("Die festgesetzten Gebühren sind bereits bezahlt.")
    return tuple(notes)


def _decision(case: Case, shown: _Shown, issued_on: date, cash_ref: str | None) -> _Parts:
    decision = case.decision
    if decision is None:  # document_refers_to refused it already
        raise InvalidCommand("kind", "the case has no decision in force to issue")
    tenor = (
        shown.text(decision.operative_part)
        if decision.operative_part is not None
        else _STANDARD_TENOR[decision.outcome]
    )
    addressee = _applicant_address(case, shown)
    if decision.addressee is not None:
        addressee = Address(shown.text(decision.addressee), addressee.lines)
    facts = [Item("Antrag vom", _day(case.submitted_at.date()))]
    if decision.outcome.is_approval:
        facts.append(Item("Gültig ab", _validity_start(decision)))
        if decision.expires_on is not None:
            facts.append(Item("Gültig bis", _day(decision.expires_on)))
        elif decision.valid_for_months:
            facts.append(Item("Gültigkeit", f"{decision.valid_for_months} Monate ab Bekanntgabe"))
    costs = None
    if decision.costs is not None and decision.costs.amount > 0:
        costs = Costs(
            legal_basis=decision.costs.legal_basis,
            amount=euro(decision.costs.amount),
            due=_day(decision.costs.due_on) if decision.costs.due_on else WITHIN_A_MONTH,
            debtor=shown.text(decision.costs.debtor),
            cash_reference=cash_ref or decision.costs.cash_reference,
            notes=_charge_notes(case),
        )
    return _Parts(
        authority=decision.issuing_authority or _issuer(case),
        introduction=(
            f"auf Ihren Antrag vom {_day(case.submitted_at.date())} ergeht folgender Bescheid:",
        ),
        operative_part=(tenor,),
        address=addressee,
        representative=shown.optional(decision.representative),
        provisions=tuple(
            Item(PROVISION_LABELS[p.kind], shown.text(p.text)) for p in decision.provisions
        ),
        facts=tuple(facts),
        particulars=_particulars(case, decision, shown),
        reasoning=_decision_reasons(decision, shown),
        costs=costs,
        remedy_notice=decision.remedy_notice.text or None,
    )


def _objection_decision(case: Case, shown: _Shown, issued_on: date, cash_ref: str | None) -> _Parts:
    objection = _latest_decided(case.objections)
    decided = objection.decision
    if decided is None:  # a decided objection always has its decision
        raise InvalidCommand("kind", "no objection of the case has been decided")
    tenor = (
        shown.text(decided.operative_part)
        if decided.operative_part is not None
        else _OBJECTION_TENOR.get(decided.outcome, decided.outcome)
    )
    facts = [Item("Widerspruch vom", _day(objection.received_on))]
    if case.decision is not None:
        facts.append(Item("Gegen den Bescheid vom", _day(case.decision.decided_at.date())))
    if objection.heard_on is not None:
        facts.append(Item("Anhörung im Anhörungsausschuss am", _day(objection.heard_on)))
    if decided.served_on is not None:
        facts.append(Item("Zugestellt am", _day(decided.served_on)))
    costs = None
    notes: list[str] = []
    if decided.costs.fee_refund:
        notes.append(
            f"Die für den Bescheid gezahlte Gebühr wird in Höhe von "
            f"{euro(decided.costs.fee_refund)} erstattet."
        )
    if decided.costs.fee:
        costs = Costs(
            legal_basis=decided.costs.legal_basis,
            amount=euro(decided.costs.fee),
            due=WITHIN_A_MONTH,
            cash_reference=cash_ref,
            notes=tuple(notes),
        )
        notes = []
    reasons = [Item("Gründe", shown.text(decided.reasons))]
    reasons.append(Item("Kosten", decided.costs.legal_basis))
    return _Parts(
        authority=decided.decided_by or _issuer(case),
        introduction=(
            f"über Ihren Widerspruch vom {_day(objection.received_on)} ergeht folgender "
            "Widerspruchsbescheid:",
        ),
        subject=f"Widerspruch; {_service_name(case)}",
        operative_part=(tenor, _OBJECTION_COSTS.get(decided.costs.borne_by, "")),
        facts=tuple(facts),
        reasoning=tuple(reasons),
        notes=tuple(notes),
        costs=costs,
        remedy_notice=_action_notice(case, decided),
    )


def _certificate(case: Case, shown: _Shown, issued_on: date, cash_ref: str | None) -> _Parts:
    certificate = case.certificates[-1]
    paragraphs = [p for p in certificate.text.split("\n\n") if p.strip()]
    # The recorded wording: its middle paragraph certifies (the first and last are the
    # authority's heading and the place and date the letterhead already shows).
    body = paragraphs[1] if len(paragraphs) == 3 else certificate.text
    return _Parts(
        authority=certificate.authority,
        operative_part=(body,),
        facts=(
            Item("Antrag vom", _day(case.submitted_at.date())),
            Item("Genehmigung gilt als erteilt seit", _day(certificate.took_effect_on)),
            Item("Rechtsgrundlage", certificate.legal_basis),
            Item("Bescheinigung ausgestellt am", _day(certificate.issued_on)),
        ),
    )


def _information_request(
    case: Case, shown: _Shown, issued_on: date, cash_ref: str | None
) -> _Parts:
    request = case.open_request
    if request is None:  # document_refers_to refused it already
        raise InvalidCommand("kind", "no information request is open")
    reply_by = _day(request.reply_by)
    notes = [
        f"Gehen die Angaben nicht bis zum {reply_by} ein, kann über Ihren Antrag nach "
        "Aktenlage entschieden werden (§ 26 Abs. 2 HVwVfG)."
    ]
    if request.missing_documents:
        notes.insert(
            0,
            "Solange die angeforderten Unterlagen fehlen, ruht die Bearbeitungsfrist; sie "
            "läuft weiter, sobald die Unterlagen vollständig bei uns eingegangen sind.",
        )
    return _Parts(
        authority=_issuer(case),
        operative_part=(
            f"zu Ihrem Antrag vom {_day(case.submitted_at.date())} bitten wir Sie, uns bis "
            f"zum {reply_by} die folgenden Angaben und Unterlagen "
            "zukommen zu lassen:",
        ),
        facts=(Item("Antwort erbeten bis", reply_by),),
        questions=tuple(shown.text(q) for q in request.questions),
        notes=tuple(notes),
    )


def _charge_assessment(case: Case, shown: _Shown, issued_on: date, cash_ref: str | None) -> _Parts:
    charge = case.charge if isinstance(case, SewerConnection) else None
    if charge is None:  # document_refers_to refused it already
        raise InvalidCommand("kind", "no connection charge has been assessed")
    owner: Mapping[str, Any] = case.data.get("owner") or {}
    debtor = charge.debtor if charge.debtor is not None else owner.get("name")
    address: Address | None = None
    if debtor is not None:
        if charge.debtor_address is not None:
            lines = _address_lines(shown.text(charge.debtor_address))
        elif case.data.get("applicant_is_owner", True):
            lines = _applicant_address(case, shown).lines
        else:
            lines = _property_lines(case, shown)
        address = Address(shown.any(debtor) or "", lines)
    facts: list[Item] = []
    plot = ", ".join(_property_lines(case, shown))
    if plot:
        facts.append(Item("Grundstück", plot))
    if charge.tariff_day is not None:
        facts.append(Item("Endgültige Herstellung des Anschlusses", _day(charge.tariff_day)))
    facts.append(Item("Tarif", f"Fassung {charge.rules.version}"))
    legal_basis = charge.legal_basis or CHARGE_LEGAL_BASIS
    notice = charge.remedy_notice or remedy_notice(case.tenant, type(case).MATTER)
    return _Parts(
        authority=charge.issuing_authority or _issuer(case),
        subject=f"Kostenersatz für den Grundstücksanschluss; {_service_name(case)}",
        address=address,
        operative_part=(
            "Für die Herstellung des Grundstücksanschlusses an die öffentliche Kanalisation "
            f"wird ein Kostenersatz in Höhe von {euro(charge.amount)} festgesetzt.",
        ),
        facts=tuple(facts),
        reasoning=(
            Item(
                "Gründe",
                "Die Gemeinde hat den Grundstücksanschluss hergestellt. Der Kostenersatz ist "
                "nach dem Tarif berechnet, der am Tag der endgültigen Herstellung galt.",
            ),
            Item("Rechtsgrundlage", legal_basis),
        ),
        costs=Costs(
            legal_basis=legal_basis,
            amount=euro(charge.amount),
            due=_day(charge.due_on) if charge.due_on else WITHIN_A_MONTH,
            debtor=address.name if address is not None else None,
            cash_reference=cash_ref,
            notes=(charge.payment_note,) if charge.payment_note else (),
        ),
        remedy_notice=notice.text,
    )


_PARTS: Final = {
    DocumentKind.DECISION: _decision,
    DocumentKind.OBJECTION_DECISION: _objection_decision,
    DocumentKind.DEEMED_APPROVAL_CERTIFICATE: _certificate,
    DocumentKind.INFORMATION_REQUEST: _information_request,
    DocumentKind.CHARGE_ASSESSMENT: _charge_assessment,
}


# ------------------------------------------------------------------ helpers


def euro(amount: Decimal) -> str:
    """An amount as a German letter writes it: ``1.234,50 EUR``."""
    text = f"{Decimal(amount):,.2f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") + " EUR"


def _day(day: date) -> str:
    return f"{day:%d.%m.%Y}"


def _issuer(case: Case) -> str:
    return authorities_of(case.tenant).issuing_authority(type(case).MATTER)


def _service_name(case: Case) -> str:
    service = SERVICES.get(case.service)
    return service.label_de if service is not None else case.service


def _validity_start(decision: Decision) -> str:
    if decision.notified_on is None and decision.valid_for_months:
        return "mit der Bekanntgabe"
    return _day(decision.effective_from)


def _applicant_address(case: Case, shown: _Shown) -> Address:
    """The applicant's name and address as the application gave them."""
    applicant = case.applicant
    name = shown.any(applicant.get("name")) or ""
    street = " ".join(
        t
        for t in (shown.any(applicant.get("street")), shown.any(applicant.get("house_number")))
        if t
    )
    place = " ".join(
        t for t in (shown.any(applicant.get("postal_code")), shown.any(applicant.get("city"))) if t
    )
    return Address(name, tuple(line for line in (street, place) if line))


def _property_lines(case: Case, shown: _Shown) -> tuple[str, ...]:
    """The address of the property the application is about, if it names one."""
    where = case.data.get("property_address")
    if not isinstance(where, dict):
        return ()
    street = " ".join(
        t for t in (shown.any(where.get("street")), shown.any(where.get("house_number"))) if t
    )
    place = " ".join(
        t for t in (shown.any(where.get("postal_code")), shown.any(where.get("city"))) if t
    )
    return tuple(line for line in (street, place) if line)


def _address_lines(text: str) -> tuple[str, ...]:
    """An address typed as one value: its lines, or its comma-separated parts."""
    parts = text.splitlines() if "\n" in text else text.split(",")
    return tuple(part.strip() for part in parts if part.strip())


def _latest_decided(objections: Iterable[Objection]) -> Objection:
    decided = [o for o in objections if o.state == ObjectionState.DECIDED]
    if not decided:
        raise InvalidCommand("kind", "no objection of the case has been decided")
    return decided[-1]


def _decision_reasons(decision: Decision, shown: _Shown) -> tuple[Item, ...]:
    """Begründung: the justification, the hearing, the discretion, the legal basis."""
    reasons = [Item("Gründe", shown.text(decision.justification))]
    hearing = _hearing(decision.hearing, shown)
    if hearing is not None:
        reasons.append(Item("Anhörung", hearing))
    if decision.discretion is not None:
        reasons.append(
            Item(
                "Ermessenserwägungen (§ 39 Abs. 1 Satz 3 HVwVfG)",
                shown.text(decision.discretion),
            )
        )
    reasons.append(Item("Rechtsgrundlage", decision.legal_basis))
    return tuple(reasons)


def _hearing(hearing: Hearing | None, shown: _Shown) -> str | None:
    if hearing is None:
        return None
    if hearing.held_on is not None:
        return f"Sie wurden am {_day(hearing.held_on)} angehört (§ 28 Abs. 1 HVwVfG)."
    if hearing.not_needed_because is not None:
        reason = shown.text(hearing.not_needed_because)
        return f"Von einer Anhörung wurde abgesehen (§ 28 HVwVfG): {reason}"
    return None


def _particulars(case: Case, decision: Decision, shown: _Shown) -> tuple[Item, ...]:
    """The service's own terms the letter names: the works period, fees beside the fee."""
    items: list[Item] = []
    planned = case.data.get("planned_period")
    if isinstance(planned, dict) and planned.get("start") and decision.outcome.is_approval:
        start = _maybe_day(planned.get("start"))
        end = _maybe_day(planned.get("end"))
        if decision.expires_on is not None:
            end = _day(decision.expires_on)
        items.append(Item("Zeitraum der Arbeiten", f"{start} bis {end}" if end else start))
    for key, label in _PARTICULAR_LABELS.items():
        value = decision.particulars.get(key)
        if value is None or (key in _AMOUNTS and Decimal(str(value)) == 0):
            continue  # none due: a deposit of nothing is no term of the permit
        text = euro(Decimal(str(value))) if key in _AMOUNTS else str(value)
        basis = decision.particulars.get(f"{key}_legal_basis")
        items.append(Item(label, f"{text} ({basis})" if basis else text))
    point = decision.particulars.get("connection_point")
    if isinstance(point, dict) and point.get("manhole"):
        items.append(Item("Anschlusspunkt", f"Schacht {point['manhole']}"))
    return tuple(items)


def _maybe_day(value: Any) -> str:
    if isinstance(value, date):
        return _day(value)
    try:
        return _day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _action_notice(case: Case, decided: ObjectionDecision) -> str:
    """The notice of the action against a Widerspruchsbescheid (§ 74 (1), § 81 VwGO)."""
    court = authorities_of(case.tenant).court
    return (
        "Rechtsbehelfsbelehrung: Gegen den Bescheid in der Gestalt dieses "
        "Widerspruchsbescheids kann innerhalb eines Monats nach Zustellung Klage beim "
        f"{court} erhoben werden. Die Klage ist schriftlich oder zur Niederschrift des "
        "Urkundsbeamten der Geschäftsstelle zu erheben (§ 81 VwGO); sie kann auch als "
        "elektronisches Dokument nach § 55a VwGO eingereicht werden."
    )
