"""An application for a stall at a town's market (Standplatzvergabe): the form and the case.

A trader applies for a pitch at one market of a town — a Kerb (Volksfest) or a Christmas
market, festgesetzt under § 69 GewO, or a market under the town's own rules (Marktsatzung):
business, product range and category, frontage and depth, electricity and water, years of
attendance (self-declared), and the documents the market needs (``required_documents``: the
trade licence only where the market privilege does not apply, liability insurance always,
the food hygiene instruction for food and drinks, the ride approval for rides). It is
submitted like every application (``POST /api/v1/cases``, service ``market-stall``) and, in
the same save, recorded on the market (``on_submission``): outside the application window, a
category the market does not want, a frontage no pitch of the category holds and missing
documents are refused naming the field, and nothing is stored.

After the deadline the town's staff score each application on the market's published
"scored" criteria (``score_application``: a later sheet replaces an earlier one; who scored
is recorded). The selection (``Market.select``) ranks every application by the published
criteria and weights, with a recorded lot among equal totals and a published newcomer share;
each case then DECIDES (``note_selection``): admitted with a pitch and its fee, or refused
with the reasons — a real decision (Bescheid) with reasons, the discretion under § 70 (3)
GewO stated, and the remedy notice, made by the market's ``decisions_by`` day so a refused
trader can still seek interim relief (§ 123 VwGO) before the market. The ordinary
Bekanntgabe and objection track follows.

A pitch given up (by the trader, or revoked by the town) is offered to the next in rank that
fits; the trader offered it accepts (a new decision on the same case: the admission, with its
fee), declines, or lets the offer lapse (the scheduler's ``market_pitch_offer_expires``), and
the pitch passes on. Fees of a pitch given up: the deposit is always withdrawn (the trader
never stood); the pitch fee and the utilities are withdrawn when the pitch is given up before
the ``decisions_by`` day (the town can still fill it in the ordinary course), and stay owed
from that day on (``give_up_rule``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from pydantic import Field, StringConstraints

from domain.actor import Actor, ActorRecord, Role
from domain.authorities import authorities_of
from domain.case import Case, DecisionTerms
from domain.case_charges import ChargeLine
from domain.conditions import StandardConditions
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand, InvalidTransition
from domain.lifecycle import CaseStatus, ChangesStatus, extend_lifecycle
from domain.markets.market import MARKET_CATEGORIES, Market, required_documents
from domain.objection import (
    CostsBorneBy,
    ObjectionCosts,
    ObjectionDecision,
    ObjectionOutcome,
    ObjectionState,
)
from domain.personal_data import PersonalValue, Subjects
from domain.personal_fields import Personal
from domain.rules import market_fees
from domain.rules.versions import RulesChoice
from domain.services.forms import Email, Form, Name, Phone, labelled
from domain.services.parking_decisions import IMMEDIATE_ENFORCEMENT_BASIS, RevocationGround
from domain.working_days import berlin_date, period_end

SERVICE_ID: Final = "market-stall"
FESTGESETZT: Final = "festgesetzt"
LEGAL_BASIS: Final = (
    "§§ 69, 70 GewO (festgesetzter Markt) bzw. Marktsatzung der Stadt/Gemeinde "
    "(Zulassung zu einer öffentlichen Einrichtung)"
)
LEGAL_BASIS_FESTGESETZT: Final = "§§ 69, 70 GewO (Teilnahme an einem festgesetzten Markt)"
LEGAL_BASIS_TOWN_RULES: Final = (
    "Marktsatzung der Stadt/Gemeinde i. V. m. § 20 HGO (Zulassung zu einer öffentlichen "
    "Einrichtung)"
)
FEE_LEGAL_BASIS: Final = "Marktgebührensatzung der Stadt/Gemeinde i. V. m. §§ 1 ff. KAG"
DISCRETION_FESTGESETZT: Final = "§ 70 Abs. 3 GewO"
DISCRETION_TOWN_RULES: Final = "Marktsatzung der Stadt/Gemeinde i. V. m. Art. 3 Abs. 1 GG"
MOVE_UP_ID: Final = "system:market-move-up"
MOVE_UP_NAME: Final = "Marktverwaltung (Nachrücken)"
# Refusals that mean pitches were short (not that no pitch of the market fits the stall).
SHORT_OF_PITCHES: Final = frozenset({"rank", "category_full", "newcomer_share"})
GIVEN_UP: Final = "pitch_given_up"  # why a charge of a pitch given up is withdrawn (a keyword)
REVOKED: Final = "pitch_revoked"  # why a charge of an admission revoked is withdrawn
# The grounds of § 49 (2) sentence 1 HVwVfG as they read for a market admission.
REVOCATION_WORDING: Final = {
    RevocationGround.REQUIREMENT_NOT_MET: (
        "Eine mit der Zulassung verbundene Auflage wurde nicht erfüllt."
    ),
    RevocationGround.FACTS_CHANGED: (
        "Auf Grund nachträglich eingetretener Tatsachen dürfte die Zulassung nicht mehr "
        "erteilt werden, und ohne den Widerruf wäre das öffentliche Interesse gefährdet."
    ),
    RevocationGround.LAW_CHANGED: (
        "Auf Grund einer geänderten Rechtsvorschrift dürfte die Zulassung nicht mehr erteilt "
        "werden; von ihr wurde noch kein Gebrauch gemacht, und ohne den Widerruf wäre das "
        "öffentliche Interesse gefährdet."
    ),
    RevocationGround.SERIOUS_HARM: (
        "Der Widerruf ist geboten, um schwere Nachteile für das Gemeinwohl zu verhüten oder "
        "zu beseitigen."
    ),
}
CONDITIONS_RULES_ID: Final = "market_stall_conditions"
SELECTION_RULES_ID: Final = "market_selection"
STANDARD_CONDITIONS: Final = (
    StandardConditions(
        rules_id=CONDITIONS_RULES_ID,
        version="2026-1",
        valid_from=date(2026, 1, 1),
        texts=(
            "Der zugewiesene Standplatz darf nur mit dem zugelassenen Warenangebot und in der "
            "zugelassenen Frontlänge bezogen werden; eine Überlassung an Dritte ist nicht "
            "gestattet.",
            "Auf- und Abbau nur zu den von der Marktverwaltung festgesetzten Zeiten; "
            "Rettungswege, Hydranten und Zufahrten sind freizuhalten.",
            "Die Betriebshaftpflichtversicherung ist während der gesamten Marktzeit "
            "aufrechtzuerhalten und auf Verlangen nachzuweisen.",
            "Elektrische Anlagen und Geräte müssen den anerkannten Regeln der Technik "
            "entsprechen (DGUV Vorschrift 3); der Anschluss erfolgt nur über die Verteiler "
            "der Marktverwaltung.",
        ),
    ),
)

EVENT_LABELS: Final = {
    "ApplicationRecorded": ("Beim Markt erfasst", "Recorded on the market"),
    "ScoreSheetRecorded": ("Bewertungsbogen erfasst", "Score sheet recorded"),
    "SelectionNoted": ("Ergebnis der Standplatzvergabe", "Outcome of the selection"),
    "PitchOfferNoted": ("Standplatz im Nachrückverfahren angeboten", "Pitch offered (move-up)"),
    "PitchOfferAccepted": ("Angebotenen Standplatz angenommen", "Pitch offer accepted"),
    "PitchOfferDeclined": ("Angebotenen Standplatz abgelehnt", "Pitch offer declined"),
    "PitchOfferExpired": ("Angebot des Standplatzes verfallen", "Pitch offer lapsed"),
    "PitchGivenUp": ("Standplatz zurückgegeben", "Pitch given up"),
    "PitchRevoked": ("Zulassung widerrufen", "Admission revoked"),
    "AdmittedOnRemedy": (
        "Standplatz nach Abhilfe zugewiesen",
        "Pitch assigned after the objection was granted",
    ),
}


class StallStatus:
    """Statuses of a stall application of its own (the others are the shared lifecycle's)."""

    APPLIED: Final = "applied"  # recorded on the market, before the selection
    PITCH_GIVEN_UP: Final = "pitch_given_up"  # the admission was given up or revoked


class Standing:
    """Where the application stands on its market (besides the case's status)."""

    APPLIED: Final = "applied"
    ADMITTED: Final = "admitted"
    REFUSED: Final = "refused"
    GIVEN_UP: Final = "given_up"
    WITHDRAWN: Final = "withdrawn"


# ------------------------------------------------------------------- the form

LegalForm = Literal[
    "sole_trader", "gbr", "ohg", "kg", "gmbh", "ug", "ag", "eg", "association", "other"
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=300)]
ProductRange = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
DocumentKind = Literal["trade_licence", "liability_insurance", "food_hygiene", "ride_approval"]
Metres = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]


class BusinessIn(Form):
    """The business applying: its name (a sole trader's is a person's), legal form, address."""

    name: Personal[Name] = labelled("Firma bzw. Name", "Business name")
    legal_form: LegalForm = labelled("Rechtsform", "Legal form")
    address: Personal[Address] = labelled("Anschrift", "Address")


class ContactIn(Form):
    """The person the market office reaches during the selection and the market."""

    name: Personal[Name] = labelled("Ansprechperson", "Contact person")
    phone: Personal[Phone] = labelled("Telefon", "Phone")
    email: Personal[Email] = labelled("E-Mail", "E-mail")


class DocumentIn(Form):
    """A document the market needs, named by kind and its reference (number, insurer, date)."""

    kind: DocumentKind = labelled("Art des Nachweises", "Kind of document")
    reference: Personal[Reference] = labelled(
        "Nachweis (Nummer, Aussteller, Datum)", "Reference (number, issuer, date)"
    )


class MarketStallApplicationForm(Form):
    """What the portal sends for one trader's application for a pitch at one market."""

    market: UUID = labelled(
        "Markt", "Market", description="The id of a market of the town open for applications."
    )
    business: BusinessIn = labelled("Betrieb", "Business")
    contact: ContactIn = labelled("Ansprechperson", "Contact")
    product_range: Personal[ProductRange] = labelled("Warenangebot", "Product range")
    category: str = labelled(
        "Warengruppe",
        "Category",
        description=f"One of {', '.join(MARKET_CATEGORIES)}; the market says which it wants.",
    )
    frontage_m: Metres = labelled("Frontlänge (m)", "Frontage (m)")
    depth_m: Metres = labelled("Tiefe (m)", "Depth (m)")
    electricity: bool = labelled("Stromanschluss", "Electricity", default=False)
    connected_load_kw: Annotated[Decimal, Field(gt=0, le=200, decimal_places=1)] | None = labelled(
        "Anschlussleistung (kW)",
        "Connected load (kW)",
        default=None,
        description="Required with electricity.",
    )
    water: bool = labelled("Wasseranschluss", "Water", default=False)
    years_of_attendance: Annotated[int, Field(ge=0, le=50)] = labelled(
        "Jahre der Teilnahme",
        "Years of attendance",
        default=0,
        description="Years the business stood at this market before (self-declared; the "
        "market office may check them against its records).",
    )
    documents: list[DocumentIn] = labelled(
        "Nachweise",
        "Documents",
        default=[],
        max_length=8,
        description="Which are required depends on the category and the market's regime: "
        "liability_insurance always; trade_licence (Reisegewerbekarte) unless the market is "
        "festgesetzt (§ 69 GewO); food_hygiene (§ 43 IfSG) for food and drinks; "
        "ride_approval (Ausführungsgenehmigung and Gebrauchsabnahme) for rides.",
    )

    def check(self, submitted_on: date) -> None:
        """A known category, a connected load with electricity, each document kind once."""
        if self.category not in MARKET_CATEGORIES:
            raise InvalidCommand("data.category", f"one of {', '.join(MARKET_CATEGORIES)}")
        if self.electricity and self.connected_load_kw is None:
            raise InvalidCommand("data.connected_load_kw", "state the load with electricity")
        if not self.electricity and self.connected_load_kw is not None:
            raise InvalidCommand("data.connected_load_kw", "only with electricity")
        kinds = [document.kind for document in self.documents]
        for index, kind in enumerate(kinds):
            if kind in kinds[:index]:
                raise InvalidCommand(f"data.documents[{index}]", f"{kind} is named twice")


def missing_documents(kinds: list[str], category: str, regime: str) -> list[str]:
    """The documents the market requires of the category and regime that are not named."""
    return [kind for kind in required_documents(category, regime) if kind not in kinds]


# ------------------------------------------------------------------- the case


class MarketStallApplication(Case):
    """One trader's application for a pitch: recorded, scored, decided, moved up, given up."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 20
    FEE_LEGAL_BASIS: ClassVar[str] = FEE_LEGAL_BASIS
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a market stall"
    FEE_DEBT_ARISES_ON: ClassVar[str] = "decision"
    # The decision's fee is every line the market fee tariff assesses (the contract between
    # the markets' modules): Standgeld, electricity, water and the refundable deposit.
    FEE_LEDGERS: ClassVar[frozenset[str]] = frozenset(
        {market_fees.PITCH_FEE, market_fees.ELECTRICITY, market_fees.WATER, market_fees.DEPOSIT}
    )
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = (
        "a pitch is allocated only by the market's selection or a move-up"
    )
    STANDARD_CONDITIONS_VERSIONS: ClassVar[tuple[StandardConditions, ...]] = STANDARD_CONDITIONS
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {
        "withdraw_application",
        "give_up_pitch",
        "accept_pitch_offer",
        "decline_pitch_offer",
    }
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "ApplicationRecorded": (
            "market_stall_applied",
            "Market stall: an application was recorded on the market.",
        ),
        "SelectionNoted": (
            "market_stall_selected",
            "Market stall: the selection's outcome (admitted with a pitch, or refused).",
        ),
        "PitchOfferNoted": (
            "market_stall_pitch_offered",
            "Market stall: a pitch given up was offered to the application next in rank.",
        ),
        "PitchOfferAccepted": (
            "market_stall_offer_accepted",
            "Market stall: the pitch offered was accepted (an admission follows).",
        ),
        "PitchOfferDeclined": (
            "market_stall_offer_declined",
            "Market stall: the pitch offered was declined; it passes on.",
        ),
        "PitchOfferExpired": (
            "market_stall_offer_expired",
            "Market stall: the offer of a pitch lapsed unanswered; it passes on.",
        ),
        "PitchGivenUp": (
            "market_stall_pitch_given_up",
            "Market stall: an admitted trader gave the pitch up (or the town revoked it).",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            StallStatus.APPLIED: {"score_application", "withdraw_application"},
            StallStatus.PITCH_GIVEN_UP: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.market_id: UUID | None = None
        self.market_code: str | None = None
        self.market_kind: str | None = None
        self.regime: str | None = None
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.decisions_by: date | None = None
        self.standing: str = Standing.APPLIED
        self.score_sheet: dict[str, Any] | None = None  # the latest: points, version, by
        self.selection: dict[str, Any] | None = None  # the selection's outcome for the case
        self.pitch: str | None = None  # the pitch the case holds
        self.offer: dict[str, Any] | None = None  # {"pitch", "until"} while one is open
        self.offers_ended: list[dict[str, Any]] = []  # declined or lapsed offers
        self.admission: dict[str, Any] | None = None  # what the next admission decides
        self.revocation: dict[str, Any] | None = None  # the admission revoked (§ 49 HVwVfG)

    # ------------------------------------------------------------- queries

    @property
    def application(self) -> MarketStallApplicationForm:
        """The application as submitted, typed, read as stored (never validated again)."""
        return MarketStallApplicationForm.stored(self.data)

    def can_be_withdrawn(self) -> bool:
        """An application is withdrawn on its market (``withdraw_application``): before the
        selection, or once refused; a pitch is given up and an offer declined instead."""
        return False

    def allowed_commands(self) -> frozenset[str]:
        """The lifecycle's commands, the offer's while one is open, the give-up while the
        case holds a pitch, and ``decide`` while the market's procedure decides."""
        commands = super().allowed_commands()
        if self.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            return commands
        if self.offer is not None:
            commands |= {"accept_pitch_offer", "decline_pitch_offer", "expire_pitch_offer"}
        if self.standing == Standing.ADMITTED and self.pitch is not None:
            commands |= {"give_up_pitch", "revoke_pitch"}
        if self.standing == Standing.REFUSED and self.offer is None:
            commands |= {"withdraw_application"}  # leaves the order of move-up
            if self.decision is None and self.status == CaseStatus.IN_REVIEW:
                commands |= {"admit_on_remedy"}  # the refusal was set aside on objection
        if self.__dict__.get("_by_the_market"):
            commands |= {"decide"}
        return commands

    def check_holder(self, command: str, actor: Actor) -> None:
        """A decision of the market's procedure (the selection, a move-up) is no clerk's own
        case work: nobody holds the case for it. Every other command as the case says."""
        if command == "decide" and self.__dict__.get("_by_the_market"):
            return
        super().check_holder(command, actor)

    def discretion_under(self) -> str | None:
        """§ 70 (3) GewO for a festgesetzter Markt; the equal-treatment duty of a public
        facility (Marktsatzung, Art. 3 (1) GG) otherwise: the selection is discretionary."""
        if self.regime is None:
            return DISCRETION_FESTGESETZT
        return DISCRETION_FESTGESETZT if self.regime == FESTGESETZT else DISCRETION_TOWN_RULES

    def fee_debt_day(self, decided_on: date) -> date:
        """The pitch fee is owed for the market: the tariff in force on its first day applies
        (the one the market published with)."""
        return self.first_day or decided_on

    def check_closable(self, at: datetime) -> None:
        """A file stays open until its market is over: a refused application may still be
        offered a pitch, an admitted trader still gives theirs up."""
        open_on_market = self.standing in (Standing.ADMITTED, Standing.REFUSED)
        if open_on_market and self.last_day is not None and berlin_date(at) <= self.last_day:
            raise InvalidCommand("at", f"the market runs until {self.last_day}")

    def _check_standing(self, command: str, *standings: str) -> None:
        if self.standing not in standings:
            raise InvalidTransition(command, self.status, self.allowed_commands())

    def _check_market(self, market: Market) -> None:
        if market.id != self.market_id:
            raise InvalidCommand("market", "not the market the application is recorded on")

    # ------------------------------------------------------------- at submission

    def apply_at(
        self, market: Market, *, actor: Actor, at: datetime, traders: Sequence[str] = ()
    ) -> None:
        """Record the application on the market (refusals name the form's field);
        ``traders``: the keyed ids of who applies (``trader_keys``), one application each."""
        if self.status != CaseStatus.SUBMITTED or self.market_id is not None:
            raise InvalidTransition("apply_at", self.status, self.allowed_commands())
        self.check_actor(actor, at)
        if market.tenant != self.tenant:
            raise InvalidCommand("data.market", "no market of the town has this id")
        form = self.application
        kinds = [str(d.kind) for d in form.documents]
        missing = missing_documents(kinds, str(form.category), market.regime)
        if missing:
            raise InvalidCommand("data.documents", f"the market requires {', '.join(missing)}")
        frontage = Decimal(str(form.frontage_m))
        try:
            market.record_application(
                case_id=self.id,
                category=str(form.category),
                frontage_m=frontage,
                electricity=bool(form.electricity),
                water=bool(form.water),
                years=int(form.years_of_attendance),
                actor=actor,
                at=at,
                traders=traders,
            )
        except InvalidCommand as refused:
            field = refused.field.removeprefix("data.")
            raise refused.about(f"data.{field}") from None
        self._application_recorded(
            status=StallStatus.APPLIED,
            actor=actor.recorded_in(self.id),
            at=at,
            market_id=market.id,
            code=market.code,
            kind=market.kind,
            regime=market.regime,
            first_day=min(market.days),
            last_day=max(market.days),
            decisions_by=market.decisions_by,
            category=str(form.category),
            frontage_m=frontage,
            electricity=bool(form.electricity),
            water=bool(form.water),
            years=int(form.years_of_attendance),
            documents=kinds,
        )

    class ApplicationRecorded(ChangesStatus):
        """The application was recorded on the market (what the selection reads of it)."""

        actor: ActorRecord
        at: datetime
        market_id: UUID
        code: str
        kind: str
        regime: str
        first_day: date
        last_day: date
        decisions_by: date
        category: str
        frontage_m: Decimal
        electricity: bool
        water: bool
        years: int
        documents: list[str]

    @event(ApplicationRecorded)
    def _application_recorded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        market_id: UUID,
        code: str,
        kind: str,
        regime: str,
        first_day: date,
        last_day: date,
        decisions_by: date,
        category: str,
        frontage_m: Decimal,
        electricity: bool,
        water: bool,
        years: int,
        documents: list[str],
        status: str,
    ) -> None:
        self.market_id = market_id
        self.market_code = code
        self.market_kind = kind
        self.regime = regime
        self.first_day = first_day
        self.last_day = last_day
        self.decisions_by = decisions_by
        self.recorded = {
            "category": category,
            "frontage_m": frontage_m,
            "electricity": electricity,
            "water": water,
            "years": years,
        }
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- score sheet

    def score_application(
        self,
        *,
        actor: Actor,
        at: datetime,
        market: Market,
        points: Mapping[str, int],
        note: str,
    ) -> None:
        """Record the staff's score sheet on the market's scored criteria (after the deadline,
        before the selection); a later sheet replaces an earlier one."""
        record = self._begin("score_application", actor, at)
        if actor.role not in (Role.CLERK, Role.SUPERVISOR):
            raise InvalidCommand("actor", "the town's clerks and supervisors score applications")
        self._check_market(market)
        if market.window_state(at) != "closed":
            raise InvalidCommand(
                "at", f"applications are scored after the deadline {market.deadline}"
            )
        if market.selected_at is not None:
            raise InvalidCommand("market", "the selection is made: the sheets are closed")
        scored = {c.key: c for c in market.criteria.criteria if c.kind == "scored"}
        if not scored:
            raise InvalidCommand("points", "the market's criteria have nothing to score")
        for key in points:
            if key not in scored:
                raise InvalidCommand(
                    f"points.{key}", f"not a scored criterion ({', '.join(scored)})"
                )
        sheet: dict[str, int] = {}
        for key, criterion in scored.items():
            if key not in points:
                raise InvalidCommand(f"points.{key}", "every scored criterion is scored")
            value = points[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidCommand(f"points.{key}", "whole points (a fraction is not cut off)")
            if not 0 <= value <= criterion.max_points:
                raise InvalidCommand(f"points.{key}", f"0 to {criterion.max_points} points")
            sheet[key] = value
        self._score_sheet_recorded(
            actor=record,
            at=at,
            criteria_version=market.criteria.version,
            points=sheet,
            note=self._case_text(note, "note"),
        )

    class ScoreSheetRecorded(Aggregate.Event):
        """The score sheet: points per scored criterion of the criteria's version, and a note."""

        actor: ActorRecord
        at: datetime
        criteria_version: str
        points: dict[str, int]
        note: PersonalValue

    @event(ScoreSheetRecorded)
    def _score_sheet_recorded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        criteria_version: str,
        points: dict[str, int],
        note: PersonalValue,
    ) -> None:
        self.score_sheet = {
            "criteria_version": criteria_version,
            "points": dict(points),
            "scored_by": actor.id,
            "scored_at": at,
        }
        self.last_activity_at = at

    # ------------------------------------------------------------- withdrawal

    def withdraw_application(
        self, *, actor: Actor, at: datetime, market: Market, reason: str | None = None
    ) -> None:
        """Withdraw the application before the selection, or a refused one without an offer
        open (it leaves the order of move-up): the market is told in the same save."""
        record = self._begin("withdraw_application", actor, at)
        if actor.role is Role.APPLICANT and actor.id != self.submitted_by:
            raise InvalidCommand("actor", "only the applicant who submitted it withdraws it")
        self._check_market(market)
        market.withdraw_application(
            case_id=self.id, actor=actor, at=at, reason=reason or "Bewerbung zurückgenommen"
        )
        text = self._personal(Subjects.APPLICANT, reason, "reason") if reason else None
        self._withdrawn(status=CaseStatus.WITHDRAWN, actor=record, at=at, reason=text)

    # ------------------------------------------------------------- the selection

    def note_selection(self, market: Market, *, actor: Actor, at: datetime) -> None:
        """Decide by the selection's outcome: admitted with the pitch (its fee charged), or
        refused with the reasons. An application withdrawn before has nothing to note."""
        if self.withdrawn:
            return
        self._check_standing("note_selection", Standing.APPLIED)
        if self.status != StallStatus.APPLIED:
            raise InvalidTransition("note_selection", self.status, self.allowed_commands())
        self.check_actor(actor, at)
        self._check_market(market)
        if market.selected_at is None:
            raise InvalidCommand("market", "the selection is not made yet")
        outcome = selection_outcome(market, self.id)
        self._selection_noted(actor=actor.recorded_in(self.id), at=at, **outcome)
        self._decide_by_the_market(actor, at, market)

    class SelectionNoted(Aggregate.Event):
        """The selection's outcome for the application: rank, total, points, the criteria's
        version and weights, the lot; admitted with a pitch, or refused with reasons."""

        actor: ActorRecord
        at: datetime
        selected_at: datetime
        algorithm: str
        outcome: str
        pitch: str | None
        rank: int | None
        applications: int
        total: Decimal
        points: dict[str, Any]
        lot: str
        criteria_version: str
        weights: dict[str, Decimal]
        reasons: list[str]
        reason_text: str

    @event(SelectionNoted)
    def _selection_noted(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        selected_at: datetime,
        algorithm: str,
        outcome: str,
        pitch: str | None,
        rank: int | None,
        applications: int,
        total: Decimal,
        points: dict[str, Any],
        lot: str,
        criteria_version: str,
        weights: dict[str, Decimal],
        reasons: list[str],
        reason_text: str,
    ) -> None:
        self.selection = {
            "selected_at": selected_at,
            "algorithm": algorithm,
            "outcome": outcome,
            "pitch": pitch,
            "rank": rank,
            "applications": applications,
            "total": total,
            "points": dict(points),
            "lot": lot,
            "criteria_version": criteria_version,
            "weights": dict(weights),
            "reasons": list(reasons),
            "reason_text": reason_text,
        }
        admitted = outcome == Standing.ADMITTED
        self.standing = Standing.ADMITTED if admitted else Standing.REFUSED
        self.pitch = pitch if admitted else None
        self.admission = {"pitch": pitch, "by": "selection"} if admitted else None
        self.last_activity_at = at

    # ------------------------------------------------------------- offers (move-up)

    def note_pitch_offered(
        self, market: Market, *, actor: Actor, at: datetime, because_of: UUID | None = None
    ) -> None:
        """Record the pitch the market offers this refused application (next in rank)."""
        self.check_actor(actor, at)
        self._check_market(market)
        if self.standing != Standing.REFUSED or self.offer is not None:
            raise InvalidCommand("market", "the application is not refused without an offer")
        offer = market.offer_of(self.id)
        if offer is None:
            raise InvalidCommand("market", "the market offers this application no pitch")
        self._pitch_offer_noted(
            actor=actor.recorded_in(self.id), at=at, pitch=offer.pitch, until=offer.until
        )

    class PitchOfferNoted(Aggregate.Event):
        """A pitch given up was offered to the application, to accept until ``until``."""

        actor: ActorRecord
        at: datetime
        pitch: str
        until: datetime

    @event(PitchOfferNoted)
    def _pitch_offer_noted(
        self, *, actor: ActorRecord, at: datetime, pitch: str, until: datetime
    ) -> None:
        self.offer = {"pitch": pitch, "until": until}
        self.last_activity_at = at

    def accept_pitch_offer(self, *, actor: Actor, at: datetime, market: Market) -> None:
        """Accept the pitch offered: the market assigns it and the case decides the admission
        anew (a second decision, replacing the refusal), with the pitch's fee."""
        record = self._begin("accept_pitch_offer", actor, at)
        self._check_offer_taker(actor)
        self._check_market(market)
        offer = self._open_offer()
        if at > offer["until"]:
            raise InvalidCommand("at", f"the offer ran until {offer['until'].isoformat()}")
        market.accept_offer(case_id=self.id, actor=actor, at=at)
        if market.pitch_of(self.id) != offer["pitch"]:
            raise InvalidCommand("market", "the market assigned another pitch")
        self._remedy_objection_by_admission(record, at, str(offer["pitch"]))
        self._pitch_offer_accepted(
            status=CaseStatus.IN_REVIEW, actor=record, at=at, pitch=offer["pitch"]
        )
        self._decide_by_the_market(move_up_actor(self.tenant), at, market)

    def _remedy_objection_by_admission(self, record: ActorRecord, at: datetime, pitch: str) -> None:
        """An objection open against the refusal is disposed of by the admission that
        replaces the refusal: the town grants what it sought (Abhilfe, § 72 VwGO — for an
        objection seeking admission the facts at the time of the remedy count, and a pitch
        is free for the objector now). Costs: no refund of the objector's expenses (§ 80 (1)
        sentence 1 HVwVfG: the admission follows from the move-up, a change after the
        refusal, not from the objection's grounds); no objection fee is charged. Left open,
        the objection would hang on the admission, and the trader could not object to the
        admission's fee and conditions."""
        objection = self.open_objection
        if objection is None:
            return
        reasons = self._case_text(
            f"Dem Widerspruch gegen die Ablehnung wird abgeholfen: im Nachrückverfahren wurde "
            f"der Standplatz {pitch} angeboten und angenommen; die Zulassung tritt an die "
            "Stelle der Ablehnung, das Ziel des Widerspruchs ist erreicht.",
            "reason",
        )
        remedy = ObjectionDecision(
            outcome=ObjectionState.REMEDIED,
            reasons=reasons,
            costs=ObjectionCosts(
                borne_by=CostsBorneBy.OBJECTOR,
                legal_basis="§ 72 VwGO, § 80 Abs. 1 Satz 1 HVwVfG (die Zulassung beruht auf dem "
                "Nachrücken, nicht auf dem Widerspruch: keine Erstattung von Aufwendungen)",
            ),
            decided_by=authorities_of(self.tenant).issuing_authority(self.MATTER),
            decided_on=berlin_date(at),
            operative_part=self._case_text(
                f"Die Ablehnung wird durch die Zulassung mit dem Standplatz {pitch} ersetzt.",
                "operative_part",
            ),
        )
        self._objection_remedied(
            status=self.status,
            actor=record,
            at=at,
            reason=remedy.reasons,
            remedy=remedy,
            new_decision=False,
        )

    def admit_on_remedy(
        self,
        *,
        actor: Actor,
        at: datetime,
        market: Market,
        reason: str,
        pitch: str | None = None,
    ) -> str:
        """Admit the trader with a free pitch once the refusal was set aside on objection
        (Abhilfe or a Widerspruchsbescheid granting it, with a new decision to follow): the
        market gives the pitch named or the free one that fits best, and the case decides
        the admission with its fee. Returns the pitch. With no free pitch that fits, the
        market refuses (``pitch``): a remedy never takes another trader's pitch."""
        record = self._begin("admit_on_remedy", actor, at)
        if actor.role not in (Role.CLERK, Role.SUPERVISOR):
            raise InvalidCommand("actor", "the town's clerks and supervisors admit on a remedy")
        self._check_market(market)
        objection = self.objection
        granted = objection is not None and (
            objection.state in (ObjectionState.REMEDIED, ObjectionState.PARTLY_REMEDIED)
            or (
                objection.decision is not None
                and objection.decision.outcome
                in (ObjectionOutcome.GRANTED, ObjectionOutcome.PARTLY_GRANTED)
            )
        )
        if not granted or self.decision is not None:
            raise InvalidCommand(
                "objection",
                "the refusal must be set aside on objection first (a remedy or a "
                "Widerspruchsbescheid granting it, with a new decision)",
            )
        given = market.assign_on_remedy(case_id=self.id, actor=actor, at=at, pitch=pitch)
        self._admitted_on_remedy(
            actor=record, at=at, pitch=given, reason=self._case_text(reason, "reason")
        )
        self._decide_by_the_market(actor, at, market)
        return given

    class AdmittedOnRemedy(Aggregate.Event):
        """The refusal set aside on objection, the market gave the trader a free pitch."""

        actor: ActorRecord
        at: datetime
        pitch: str
        reason: PersonalValue

    @event(AdmittedOnRemedy)
    def _admitted_on_remedy(
        self, *, actor: ActorRecord, at: datetime, pitch: str, reason: PersonalValue
    ) -> None:
        self.standing = Standing.ADMITTED
        self.pitch = pitch
        self.admission = {"pitch": pitch, "by": "remedy"}
        self.last_activity_at = at

    class PitchOfferAccepted(ChangesStatus):
        """The pitch offered was accepted: the refusal gives way to an admission."""

        actor: ActorRecord
        at: datetime
        pitch: str

    @event(PitchOfferAccepted)
    def _pitch_offer_accepted(
        self, *, actor: ActorRecord, at: datetime, pitch: str, status: str
    ) -> None:
        self._reopen_for_a_new_decision()
        self.offer = None
        self.standing = Standing.ADMITTED
        self.pitch = pitch
        self.admission = {"pitch": pitch, "by": "move_up"}
        self.status = status
        self.last_activity_at = at

    def decline_pitch_offer(
        self, *, actor: Actor, at: datetime, market: Market, reason: str
    ) -> UUID | None:
        """Decline the pitch offered: the refusal stands; the market offers it to the next
        in rank (returned, to be noted in the same save)."""
        record = self._begin("decline_pitch_offer", actor, at)
        self._check_offer_taker(actor)
        self._check_market(market)
        offer = self._open_offer()
        text = self._personal(Subjects.APPLICANT, reason, "reason")
        following = market.decline_offer(case_id=self.id, actor=actor, at=at, reason=reason)
        self._pitch_offer_declined(actor=record, at=at, pitch=offer["pitch"], reason=text)
        return following

    class PitchOfferDeclined(Aggregate.Event):
        """The pitch offered was declined, with the trader's reason; the refusal stands."""

        actor: ActorRecord
        at: datetime
        pitch: str
        reason: PersonalValue

    @event(PitchOfferDeclined)
    def _pitch_offer_declined(
        self, *, actor: ActorRecord, at: datetime, pitch: str, reason: PersonalValue
    ) -> None:
        self.offers_ended.append({"pitch": pitch, "ended": "declined", "at": at})
        self.offer = None
        self.last_activity_at = at

    def expire_pitch_offer(self, *, actor: Actor, at: datetime, market: Market) -> UUID | None:
        """The offer ran out unanswered: the market offers the pitch to the next in rank
        (returned). The scheduler runs it the day after the offer's last day."""
        record = self._begin("expire_pitch_offer", actor, at)
        if actor.role is Role.APPLICANT:
            raise InvalidCommand("actor", "an offer lapses by time, recorded by the town")
        self._check_market(market)
        offer = self._open_offer()
        if at <= offer["until"]:
            raise InvalidCommand("at", f"the offer runs until {offer['until'].isoformat()}")
        following = market.expire_offer(case_id=self.id, actor=actor, at=at)
        self._pitch_offer_expired(actor=record, at=at, pitch=offer["pitch"], until=offer["until"])
        return following

    class PitchOfferExpired(Aggregate.Event):
        """The offer lapsed unanswered; the refusal stands."""

        actor: ActorRecord
        at: datetime
        pitch: str
        until: datetime

    @event(PitchOfferExpired)
    def _pitch_offer_expired(
        self, *, actor: ActorRecord, at: datetime, pitch: str, until: datetime
    ) -> None:
        self.offers_ended.append({"pitch": pitch, "ended": "expired", "at": at})
        self.offer = None
        self.last_activity_at = at

    def _open_offer(self) -> dict[str, Any]:
        if self.offer is None:
            raise InvalidCommand("offer", "no pitch is offered to the application")
        return self.offer

    def _check_offer_taker(self, actor: Actor) -> None:
        if actor.role is Role.APPLICANT and actor.id != self.submitted_by:
            raise InvalidCommand("actor", "only the applicant who submitted it answers the offer")
        if actor.role not in (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.SYSTEM):
            raise InvalidCommand("actor", "the applicant (or staff on their word) answers")

    # ------------------------------------------------------------- give up

    def give_up_pitch(
        self, *, actor: Actor, at: datetime, market: Market, reason: str
    ) -> UUID | None:
        """The trader gives the pitch up before the first market day: the market offers it
        to the next in rank (returned, to be noted in the same save). The deposit is
        withdrawn; the pitch fee and utilities too before the ``decisions_by`` day
        (``give_up_rule``). The town takes a pitch back only by revoking the admission
        (``revoke_pitch``: a decision of its own), never by a give-up."""
        record = self._begin("give_up_pitch", actor, at)
        if actor.role is not Role.APPLICANT:
            raise InvalidCommand(
                "actor", "the trader gives a pitch up; the town revokes the admission instead"
            )
        if actor.id != self.submitted_by:
            raise InvalidCommand("actor", "only the applicant who submitted it gives it up")
        self._check_market(market)
        if self.first_day is not None and berlin_date(at) >= self.first_day:
            raise InvalidCommand("at", f"a pitch is given up before the market, {self.first_day}")
        pitch = self.pitch
        text = self._personal(Subjects.APPLICANT, reason, "reason")
        following = market.give_up_pitch(case_id=self.id, actor=actor, at=at, reason=reason)
        self._pitch_given_up(
            status=StallStatus.PITCH_GIVEN_UP,
            actor=record,
            at=at,
            pitch=str(pitch),
            by_the_town=actor.role is not Role.APPLICANT,
            reason=text,
        )
        for kassenzeichen in self.charges_withdrawn_on_give_up(berlin_date(at)):
            self.withdraw_charge(record, at, kassenzeichen, GIVEN_UP)
        return following

    class PitchGivenUp(ChangesStatus):
        """The admitted trader gave the pitch up, or the town revoked it, with the reason."""

        actor: ActorRecord
        at: datetime
        pitch: str
        by_the_town: bool
        reason: PersonalValue

    @event(PitchGivenUp)
    def _pitch_given_up(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        pitch: str,
        by_the_town: bool,
        reason: PersonalValue,
        status: str,
    ) -> None:
        self.standing = Standing.GIVEN_UP
        self.pitch = None
        self.status = status
        self.last_activity_at = at

    def revoke_pitch(
        self,
        *,
        actor: Actor,
        at: datetime,
        market: Market,
        ground: RevocationGround,
        reason: str,
        facts_known_since: date,
        discretion: str,
        immediate_enforcement: str,
        hearing_held_on: date | None = None,
        hearing_not_needed_because: str | None = None,
    ) -> UUID | None:
        """The town revokes the admission (Widerruf of a lawful favourable act, § 49 (2)
        HVwVfG) before the first market day: a decision of its own (Bescheid with the
        ground, the hearing or why none was needed (§ 28 HVwVfG), the considerations (§ 39
        (1) sentence 3 HVwVfG) and the remedy notice), made within a year of learning the
        facts (§ 49 (2) sentence 2, § 48 (4) HVwVfG). The pitch is offered to the next in
        rank at once, so the revocation orders immediate enforcement with its written
        reasons (§ 80 (2) sentence 1 no. 4, (3) VwGO); the trader's remedies are the
        objection and an application under § 80 (5) VwGO. Every charge of the admission is
        withdrawn: the trader does not stand. Returns the case offered the pitch next."""
        record = self._begin("revoke_pitch", actor, at)
        if actor.role not in (Role.CLERK, Role.SUPERVISOR):
            raise InvalidCommand("actor", "the town's clerks and supervisors revoke an admission")
        self._check_market(market)
        today = berlin_date(at)
        if self.first_day is not None and today >= self.first_day:
            raise InvalidCommand(
                "at", f"an admission is revoked before the market, {self.first_day}"
            )
        if not isinstance(ground, RevocationGround):
            raise InvalidCommand("ground", "a ground of § 49 (2) sentence 1 HVwVfG")
        if ground not in REVOCATION_WORDING:
            raise InvalidCommand("ground", "the admission reserves no revocation (§ 36 (2) no. 3)")
        if facts_known_since > today:
            raise InvalidCommand("facts_known_since", "must not lie in the future")
        if today > period_end(facts_known_since, 12):
            raise InvalidCommand(
                "facts_known_since",
                "a revocation is made within a year of learning the facts "
                "(§ 49 (2) sentence 2, § 48 (4) HVwVfG)",
            )
        if hearing_held_on is None and not (hearing_not_needed_because or "").strip():
            raise InvalidCommand(
                "hearing_held_on",
                "a revocation interferes with the trader's rights (§ 28 (1) HVwVfG): give the "
                "day of the hearing, or hearing_not_needed_because (§ 28 (2) HVwVfG)",
            )
        if not (immediate_enforcement or "").strip():
            raise InvalidCommand(
                "immediate_enforcement",
                "the pitch passes on at once: order immediate enforcement with its special "
                "reasons in writing (§ 80 (2) sentence 1 no. 4, (3) VwGO)",
            )
        pitch = str(self.pitch)
        admitted_on = berlin_date(self.decision.decided_at) if self.decision else today
        following = market.give_up_pitch(case_id=self.id, actor=actor, at=at, reason=reason)
        self._pitch_revoked(
            status=StallStatus.PITCH_GIVEN_UP,
            actor=record,
            at=at,
            pitch=pitch,
            ground=ground.value,
            facts_known_since=facts_known_since,
            reason=self._case_text(reason, "reason"),
        )
        for charge in self.charges_in_force(len(self.decisions)):
            self.withdraw_charge(record, at, charge.kassenzeichen, REVOKED)
        tenor = (
            f"Die Zulassung zum Markt {market.name} ({market.code}) mit dem Standplatz {pitch} "
            f"vom {admitted_on} wird widerrufen. Die sofortige Vollziehung des Widerrufs wird "
            "angeordnet (§ 80 Abs. 2 Satz 1 Nr. 4 VwGO)."
        )
        justification = (
            f"{REVOCATION_WORDING[ground]} Sachverhalt: {reason.strip()} Besonderes Interesse "
            f"an der sofortigen Vollziehung: {immediate_enforcement.strip()} Der Standplatz "
            "wird dem Nächsten in der Rangfolge der Auswahl angeboten. Die Gebühren der "
            "Zulassung werden nicht erhoben."
        )
        with self._market_deciding(market):
            self.decide(
                actor=actor,
                at=at,
                outcome=DecisionOutcome.REJECTED,
                justification=justification,
                legal_basis=f"{ground.legal_basis}; {IMMEDIATE_ENFORCEMENT_BASIS}",
                rules=(self.selection_rules(),),
                operative_part=tenor,
                hearing_held_on=hearing_held_on,
                hearing_not_needed_because=hearing_not_needed_because,
                discretion=discretion,
            )
        return following

    class PitchRevoked(ChangesStatus):
        """The town revoked the admission (§ 49 (2) HVwVfG): the pitch is freed, and the
        revocation is decided as the case's new decision (the Bescheid)."""

        actor: ActorRecord
        at: datetime
        pitch: str
        ground: str
        facts_known_since: date
        reason: PersonalValue

    @event(PitchRevoked)
    def _pitch_revoked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        pitch: str,
        ground: str,
        facts_known_since: date,
        reason: PersonalValue,
        status: str,
    ) -> None:
        self._reopen_for_a_new_decision()
        self.revocation = {
            "pitch": pitch,
            "ground": ground,
            "facts_known_since": facts_known_since.isoformat(),
        }
        self.standing = Standing.GIVEN_UP
        self.pitch = None
        self.admission = None
        self.status = status
        self.last_activity_at = at

    def charges_withdrawn_on_give_up(self, on: date) -> list[str]:
        """The open charges of the admission a give-up on ``on`` withdraws (``give_up_rule``)."""
        before_decisions = self.decisions_by is not None and on < self.decisions_by
        found = []
        for charge in self.charges_in_force(len(self.decisions)):
            if charge.ledger == market_fees.DEPOSIT or before_decisions:
                found.append(charge.kassenzeichen)
        return found

    # ------------------------------------------------------------- decisions

    @contextmanager
    def _market_deciding(self, market: Market) -> Iterator[None]:
        """Within: ``decide`` is the market procedure's (no holder, allowed in any status),
        by the fee tariff the market was published with."""
        self.__dict__["_by_the_market"] = True
        self.__dict__["_tariff_version"] = market.tariff_version
        try:
            yield
        finally:
            self.__dict__.pop("_by_the_market", None)
            self.__dict__.pop("_tariff_version", None)

    def _decide_by_the_market(self, actor: Actor, at: datetime, market: Market) -> None:
        """The admission or refusal the selection (or a move-up) gives, as a Bescheid."""
        selection = self.selection
        if selection is None:
            raise InvalidCommand("market", "the selection is not noted")
        admitted = self.standing == Standing.ADMITTED
        outcome = DecisionOutcome.APPROVED_WITH_CONDITIONS if admitted else DecisionOutcome.REJECTED
        with self._market_deciding(market):
            self.decide(
                actor=actor,
                at=at,
                outcome=outcome,
                justification=self._justification(admitted),
                legal_basis=self.decision_legal_basis(),
                rules=(self.selection_rules(),),
                operative_part=self._operative_part(admitted, market),
                discretion=self._considerations(market),
            )

    def decision_legal_basis(self) -> str:
        """The legal basis by the market's regime."""
        return LEGAL_BASIS_FESTGESETZT if self.regime == FESTGESETZT else LEGAL_BASIS_TOWN_RULES

    def selection_rules(self) -> RulesApplied:
        """The selection as the decision records it: algorithm, criteria version, weights and
        the case's points, total, lot and rank (the market keeps the whole record)."""
        selection = self.selection or {}
        return RulesApplied(
            SELECTION_RULES_ID,
            str(selection.get("algorithm", "")),
            {
                "market_id": str(self.market_id),
                "selected_at": selection.get("selected_at"),
                "criteria_version": selection.get("criteria_version"),
                "weights": {k: str(v) for k, v in (selection.get("weights") or {}).items()},
                "points": selection.get("points"),
                "total": str(selection.get("total")),
                "lot": selection.get("lot"),
                "rank": selection.get("rank"),
                "applications": selection.get("applications"),
                "outcome": selection.get("outcome"),
                "reasons": selection.get("reasons"),
            },
        )

    def _justification(self, admitted: bool) -> str:
        selection = self.selection or {}
        points = ", ".join(f"{k}: {v}" for k, v in (selection.get("points") or {}).items())
        weights = ", ".join(f"{k}: {v}" for k, v in (selection.get("weights") or {}).items())
        rank = selection.get("rank")
        place = f"Rang {rank} von {selection.get('applications')}" if rank else "ohne Rang"
        head = (
            f"Bewertung nach den veröffentlichten Kriterien (Fassung "
            f"{selection.get('criteria_version')}; Gewichte {weights}): Punkte {points}; "
            f"Gesamtwert {selection.get('total')}; {place}; Losnummer {selection.get('lot')}."
        )
        if admitted and self.admission is not None and self.admission.get("by") == "move_up":
            return (
                f"{head} Nach Rückgabe eines Standplatzes rückt die Bewerbung in der Rangfolge "
                f"der Auswahl nach; der angebotene Standplatz {self.pitch} wurde angenommen."
            )
        if admitted and self.admission is not None and self.admission.get("by") == "remedy":
            return (
                f"{head} Dem Widerspruch gegen die Ablehnung wurde stattgegeben; die Bewerbung "
                f"wird mit dem freien Standplatz {self.pitch} zugelassen."
            )
        if admitted:
            return f"{head} Die Bewerbung wird mit dem Standplatz {self.pitch} zugelassen."
        return f"{head} {selection.get('reason_text') or 'Die Bewerbung wird nicht zugelassen.'}"

    def _operative_part(self, admitted: bool, market: Market) -> str:
        if admitted:
            return (
                f"Sie werden zum Markt {market.name} ({market.code}) mit dem Standplatz "
                f"{self.pitch} zugelassen; es gelten die folgenden Nebenbestimmungen."
            )
        return f"Ihr Antrag auf Zulassung zum Markt {market.name} ({market.code}) wird abgelehnt."

    def _considerations(self, market: Market) -> str:
        criteria = "; ".join(
            f"{c.label} (Gewicht {c.weight}, höchstens {c.max_points} Punkte)"
            for c in market.criteria.criteria
        )
        share = market.newcomer_share
        record = market.selection_record or {}
        reserved = record.get("reserved_for_newcomers")
        percent = f"{(share * 100).normalize():f} %"
        if share > 0 and reserved:
            newcomers = (
                f"{reserved} von {len(market.pitches)} Standplätzen (der veröffentlichte "
                f"Anteil von {percent}, auf ganze Plätze gerundet) sind Neubewerbern "
                "vorbehalten (in der Rangfolge vergeben, ungenutzte gehen an die übrigen "
                "Bewerbungen), damit auch sie eine reale Zulassungschance haben."
            )
        elif share > 0 and reserved == 0:
            newcomers = (
                f"Der veröffentlichte Anteil von {percent} ergibt bei {len(market.pitches)} "
                "Standplätzen keinen ganzen Platz für Neubewerber; sie behalten ihre "
                "Zulassungschance über die Kriterien und das Los."
            )
        elif share > 0:  # before a selection (never: the decision follows it)
            newcomers = f"{percent} der Standplätze sind Neubewerbern vorbehalten."
        else:
            newcomers = "Neubewerber behalten ihre Zulassungschance über die Kriterien und das Los."
        published_on = berlin_date(market.published_at)
        if market.published_at <= market.applications_from:
            published = f"vor Beginn der Bewerbungsfrist (am {published_on})"
        else:
            published = f"mit der Ausschreibung am {published_on}, vor Ablauf der Bewerbungsfrist,"
        short = any(
            reason.get("reason") in SHORT_OF_PITCHES
            for result in record.get("results") or ()
            for reason in result.get("reasons") or ()
        )
        if short:
            scarcity = (
                "Die Zahl der passenden Standplätze reicht nicht für alle Bewerbungen; "
                "ausgewählt wird"
            )
        else:
            scarcity = (
                "Jede Bewerbung, für die ein Standplatz des Marktes passt, hat einen Standplatz "
                "erhalten; die Rangfolge (für die Vergabe der Standplätze und das Nachrücken) "
                "ergibt sich"
            )
        return (
            f"{scarcity} nach den {published} veröffentlichten, sachlich gerechtfertigten "
            f"Kriterien (Fassung {market.criteria.version}): {criteria}. Der Gesamtwert ist "
            f"die gewichtete Summe der Punkte; bei gleichem Gesamtwert entscheidet das "
            f"aufgezeichnete Los. {newcomers} "
            f"Die Entscheidung ergeht bis {market.decisions_by}, so dass vor dem Markt "
            f"vorläufiger Rechtsschutz (§ 123 VwGO) erreichbar ist."
        )

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms | None:
        """The selection as recorded; an admission's pitch fee by the market fee tariff the
        market was published with (``market.tariff_version``: the one in force on its first
        day when it was published, whatever version is adopted later) — frontage times rate,
        utilities, deposit — valid through the market's last day."""
        selection = self.selection_rules()
        particulars: dict[str, Any] = {
            "market_id": str(self.market_id),
            "market_code": self.market_code,
            **{k: v for k, v in selection.inputs.items() if k != "market_id"},
        }
        if not outcome.is_approval:
            if self.revocation is not None:  # the revocation of the admission
                particulars.update(revoked=dict(self.revocation), reasons=[REVOKED])
            return DecisionTerms(rules=(selection,), particulars=particulars)
        conditions = rules.by_decision_day(STANDARD_CONDITIONS, CONDITIONS_RULES_ID)
        recorded = self.__dict__.get("recorded") or {}
        tariffs = market_fees.TARIFFS.get(self.tenant, ())
        published_with = self.__dict__.get("_tariff_version")
        if published_with is not None:  # deciding: the tariff the market announced
            tariffs = tuple(t for t in tariffs if t.version == published_with)
        tariff = rules.by_fee_debt_day(tariffs, market_fees.MARKET_FEE_RULES_ID)
        if tariff is None or conditions is None:
            return DecisionTerms(rules=(selection,), particulars=particulars)
        fees = market_fees.pitch_fee(
            tariff,
            Decimal(str(recorded.get("frontage_m"))),
            bool(recorded.get("electricity")),
            bool(recorded.get("water")),
            kind=str(self.market_kind),
        )
        admission = self.admission or {}
        particulars.update(
            pitch=admission.get("pitch"),
            admitted_by=admission.get("by"),
            frontage_m=str(recorded.get("frontage_m")),
            electricity=bool(recorded.get("electricity")),
            water=bool(recorded.get("water")),
            fee_lines=[
                {"ledger": line.ledger, "amount": str(line.amount), "legal_basis": line.legal_basis}
                for line in fees.lines
            ],
        )
        particulars["deposit"] = str(fees.deposit)
        return DecisionTerms(
            expires_on=self.last_day,
            fee=fees.total,
            rules=(selection, fees.rules, conditions.record()),
            particulars=particulars,
        )

    def charge_lines(self, decision: Decision) -> tuple[ChargeLine, ...]:
        """An admission charges each fee line on its own ledger (pitch fee, electricity,
        water, deposit) under a Kassenzeichen of its own; a refusal charges nothing."""
        if not decision.outcome.is_approval:
            return ()
        lines = decision.particulars.get("fee_lines") or ()
        return tuple(
            ChargeLine(str(line["ledger"]), Decimal(str(line["amount"])), str(line["legal_basis"]))
            for line in lines
        )

    def data_read_by_rules(self) -> dict[str, Any]:
        """What a replay reads: the category, frontage and utilities recorded on the market."""
        return dict(self.__dict__.get("recorded") or {})

    # ------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """The market, the standing, the pitch, an open offer, the latest score sheet."""
        selection = self.selection or {}
        return {
            "market_id": self.market_id,
            "market_code": self.market_code,
            "decisions_by": self.decisions_by,
            "standing": Standing.WITHDRAWN if self.withdrawn else self.standing,
            "pitch": self.pitch,
            "rank": selection.get("rank"),
            "total": selection.get("total"),
            "criteria_version": selection.get("criteria_version"),
            "offer": dict(self.offer) if self.offer else None,
            "score_sheet": (
                {k: v for k, v in self.score_sheet.items() if k != "scored_by"}
                if self.score_sheet
                else None
            ),
        }


def move_up_actor(tenant: str) -> Actor:
    """Who decides an admission by move-up and notes an offer on the next case: the market's
    procedure (the person who gave a pitch up is named in their own case)."""
    return Actor(MOVE_UP_ID, MOVE_UP_NAME, Role.SYSTEM, tenant)


# ------------------------------------------------------------------- the market's answers
# What the case reads of the market's records: kept here, in one place.


def selection_outcome(market: Market, case_id: UUID) -> dict[str, Any]:
    """The selection's outcome for the case, as ``SelectionNoted`` records it."""
    record = market.selection_record
    entry = market.result_of(case_id)
    if record is None or market.selected_at is None:
        raise InvalidCommand("market", "the selection is not made yet")
    if entry is None:
        raise InvalidCommand("market", "the selection holds no entry for the application")
    admitted = entry["outcome"] == "admitted"
    refusals = [] if admitted else list(entry.get("reasons") or ())
    return {
        "selected_at": market.selected_at,
        "algorithm": str(record["algorithm"]),
        "outcome": Standing.ADMITTED if admitted else Standing.REFUSED,
        "pitch": str(entry["pitch"]) if admitted else None,
        "rank": int(entry["rank"]),
        "applications": len(record["results"]),
        "total": Decimal(str(entry["total"])),
        "points": {str(k): int(v) for k, v in dict(entry["points"]).items()},
        "lot": str(entry["lot"]),
        "criteria_version": str(record["criteria_version"]),
        "weights": {str(k): Decimal(str(v)) for k, v in dict(record["weights"]).items()},
        "reasons": [str(r["reason"]) for r in refusals],
        "reason_text": " ".join(str(r["text"]) for r in refusals),
    }
