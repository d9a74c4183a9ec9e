"""The burial registration (Bestattungsanmeldung) as a case on the service kit.

An undertaker usually files it on behalf of the person obliged to arrange the burial (the
order of relatives under the Hessian Friedhofs- und Bestattungsgesetz); when nobody obliged
comes forward, the public-order office arranges the burial itself and the decision records
the cost claim. The clerk schedules the burial *by the rules*: the requested time must lie
within the burial periods after death (after the cremation for an urn), the grave must have
a free place for the whole rest period, and an existing Wahlgrab takes the burial only if
its grave right covers the new rest period (otherwise the extension, with its pro-rata fee,
is part of the decision). Scheduling reserves the place on the ``Grave`` in the same atomic
save as the decision; of two registrations for one free place, the loser's retry finds it
taken and is refused, naming the place. A scheduled burial may be cancelled (withdrawn by
the applicant, or cancelled by a clerk giving the reason); its place is released on the grave
in the same atomic save, free for another registration at once. After the burial it is
recorded on the grave with its rest period; then the file is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import event
from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from domain.actor import Actor, ActorRecord, Role
from domain.case import Case, ChangesStatus, DecisionTerms
from domain.case_steps import STAFF
from domain.cemeteries import BurialKind, GraveAddress, GraveType, UnknownGrave, cemeteries
from domain.cemeteries import grave as configured_grave
from domain.commands import Acting, CommandBody, SharedAggregates, Step, Steps, Text
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue
from domain.personal_fields import Personal
from domain.rules.cemetery import (
    BurialPeriods,
    CemeteryTariff,
    age_in_years,
    burial_periods,
    burial_periods_version,
    tariff,
    tariff_version,
)
from domain.rules.versions import UnknownRulesVersion
from domain.services.forms import Form, Name, Phone, PlausibleDate, labelled
from domain.services.grave import Grave, grave_id
from domain.working_days import BERLIN, berlin_date

SERVICE_ID: Final = "burial"
LEGAL_BASIS: Final = (
    "Friedhofs- und Bestattungsgesetz Hessen (FBG); Friedhofsordnung und "
    "Friedhofsgebührensatzung der Stadt bzw. Gemeinde"
)
GRAVE_CHECK_RULES_ID: Final = "burial-grave-check"
GRAVE_CHECK_VERSION: Final = "2025-01"  # what the check reads from the grave; a fact recorded

EVENT_LABELS: Final = {
    "BurialCarriedOut": ("Bestattung durchgeführt", "Burial carried out"),
    "BurialCancelled": ("Bestattung abgesagt", "Burial cancelled"),
}

Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{2,99}$")
]


class Relationship(StrEnum):
    """How the person obliged is related to the deceased (the statute's order of relatives)."""

    SPOUSE = "spouse"
    CIVIL_PARTNER = "civil_partner"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    OTHER = "other"


class Deceased(Form):
    """The deceased: name, birth date, time of death and last address."""

    name: Personal[Name] = labelled("Name", "Name")
    born_on: Personal[PlausibleDate] = labelled("Geburtsdatum", "Date of birth")
    died_at: AwareDatetime = labelled(
        "Todeszeitpunkt", "Date and time of death", description="With its UTC offset"
    )
    last_address: Personal[Name] = labelled("Letzte Anschrift", "Last address")

    @field_validator("died_at")
    @classmethod
    def after_birth(cls, died_at: datetime, info: ValidationInfo) -> datetime:
        """Nobody dies before they were born."""
        born = info.data.get("born_on")
        if isinstance(born, date) and died_at.astimezone(BERLIN).date() < born:
            raise ValueError("must not lie before the date of birth")
        return died_at


class GraveChoice(Form):
    """An existing grave by its address, or a request for a new grave of a type."""

    cemetery: Name | None = labelled(
        "Friedhof",
        "Cemetery",
        default=None,
        description="The cemetery's id; for a new grave, omitted: the town's first cemetery "
        "with a free grave of the type",
    )
    field: Name | None = labelled("Grabfeld", "Field", default=None)
    row: Name | None = labelled("Reihe", "Row", default=None)
    number: int | None = labelled("Nummer", "Number", default=None, ge=1, le=100000)
    new_grave_type: GraveType | None = labelled(
        "Neues Grab der Art",
        "New grave of the type",
        default=None,
        validate_default=True,
        description="Only graves given out in turn; a new Wahlgrab is granted first through "
        "the grave right application",
    )

    @field_validator("new_grave_type")
    @classmethod
    def an_address_or_a_type(cls, value: GraveType | None, info: ValidationInfo) -> Any:
        """Either a full address (cemetery, field, row, number) or the type of a new grave."""
        parts = [info.data.get(name) for name in ("field", "row", "number")]
        if value is None:
            if any(p is None for p in parts) or info.data.get("cemetery") is None:
                raise ValueError("name cemetery, field, row and number, or a new grave's type")
            return value
        if any(p is not None for p in parts):
            raise ValueError("a new grave has no field, row or number yet")
        if value.has_grave_right:
            raise ValueError(
                f"a new {value.label_de} is granted through the grave right application first; "
                "then name it by its address"
            )
        return value

    @property
    def address(self) -> GraveAddress | None:
        """The existing grave's address (None for a new grave)."""
        if self.new_grave_type is not None or self.cemetery is None:
            return None
        return GraveAddress(
            str(self.cemetery), str(self.field), str(self.row), int(self.number or 0)
        )


class PersonObliged(Form):
    """The person obliged to arrange the burial."""

    name: Personal[Name] = labelled("Name", "Name")
    address: Personal[Name] = labelled("Anschrift", "Address")
    relationship: Relationship = labelled("Verhältnis zur verstorbenen Person", "Relationship")


class Filer(Form):
    """Who files on behalf of the person obliged: the undertaker."""

    undertaker: Name = labelled("Bestattungsunternehmen", "Undertaker")
    phone: Personal[Phone] | None = labelled("Telefon", "Phone", default=None)


class BurialApplication(Form):
    """What the form portal sends for a burial registration."""

    deceased: Deceased = labelled("Verstorbene Person", "Deceased")
    death_certificate: Reference = labelled(
        "Todesbescheinigung (Nummer/Anlage)", "Death certificate (reference)"
    )
    kind: BurialKind = labelled("Bestattungsart", "Burial kind")
    second_examination: Reference | None = labelled(
        "Zweite Leichenschau (Nummer/Anlage)",
        "Second examination (reference)",
        default=None,
        validate_default=True,
        description="Required before a cremation, so for every urn burial",
    )
    cremated_on: PlausibleDate | None = labelled(
        "Tag der Einäscherung", "Day of cremation", default=None, validate_default=True
    )
    grave: GraveChoice = labelled("Grab", "Grave")
    requested_at: AwareDatetime = labelled(
        "Gewünschter Termin", "Requested date and time", description="With its UTC offset"
    )
    chapel: bool = labelled("Trauerhalle", "Chapel", default=False)
    public_order_burial: bool = labelled(
        "Bestattung durch die Ordnungsbehörde",
        "Public-order burial",
        default=False,
        description="Nobody obliged came forward: the public-order office arranges it",
    )
    person_obliged: PersonObliged | None = labelled(
        "Bestattungspflichtige Person", "Person obliged", default=None, validate_default=True
    )
    filer: Filer | None = labelled("Anmeldende Stelle", "Filed by", default=None)

    @field_validator("second_examination")
    @classmethod
    def examined_for_cremation(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An urn burial follows a cremation, which needs the second examination."""
        if info.data.get("kind") is BurialKind.URN and value is None:
            raise ValueError("required for an urn burial (the cremation needs it)")
        return value

    @field_validator("cremated_on")
    @classmethod
    def cremated_for_an_urn(cls, value: date | None, info: ValidationInfo) -> date | None:
        """An urn names its cremation day; a coffin has none."""
        kind = info.data.get("kind")
        if kind is BurialKind.URN and value is None:
            raise ValueError("required for an urn burial")
        if kind is BurialKind.COFFIN and value is not None:
            raise ValueError("only for an urn burial")
        return value

    @field_validator("person_obliged")
    @classmethod
    def obliged_or_public_order(
        cls, value: PersonObliged | None, info: ValidationInfo
    ) -> PersonObliged | None:
        """Someone obliged is named, unless the public-order office arranges the burial."""
        public = info.data.get("public_order_burial")
        if public and value is not None:
            raise ValueError("a public-order burial has nobody obliged who came forward")
        if not public and value is None:
            raise ValueError("required unless public_order_burial is true")
        return value

    def check(self, submitted_on: date) -> None:
        """The requested time lies within the burial periods, and not before today."""
        if self.requested_at.astimezone(BERLIN).date() < submitted_on:
            raise InvalidCommand("data.requested_at", "must not lie in the past")
        periods = burial_periods(self.deceased.died_at.astimezone(BERLIN).date())
        reasons, applied = periods.check(
            kind=self.kind,
            died_at=self.deceased.died_at,
            burial_at=self.requested_at,
            cremated_on=self.cremated_on,
        )
        if reasons:
            raise InvalidCommand("data.requested_at", period_text(reasons, applied))


def period_text(reasons: tuple[str, ...] | list[str], applied: RulesApplied) -> str:
    """Why a time lies outside the burial periods, in words."""
    inputs = applied.inputs
    words = {
        "too_early": f"not earlier than {inputs['earliest_hours']} hours after death",
        "too_late": f"a body not later than {inputs['latest_coffin_hours']} hours after death",
        "urn_too_late": f"an urn within {inputs['latest_urn_weeks_after_cremation']} weeks "
        "of the cremation",
        "cremation_missing": "an urn needs its day of cremation",
        "cremated_before_death": "the cremation cannot precede the death",
    }
    return "outside the burial periods: " + "; ".join(words.get(r, r) for r in reasons)


def example(on: date) -> dict[str, Any]:
    """A registration valid when submitted on this day, in every town (a new Reihengrab).

    A new grave given out in turn needs no address, so the example names no cemetery of one
    town; the death lies the day before, the burial two days after (73 hours: within the
    48 to 96 hours the burial periods allow for a body).
    """
    died_on = on - timedelta(days=1)
    burial_on = on + timedelta(days=2)
    return {
        "deceased": {
            "name": "Walter Becker",
            "born_on": "1941-03-14",
            "died_at": f"{died_on.isoformat()}T10:00:00+01:00",
            "last_address": "Obergasse 12, 61250 Usingen",
        },
        "death_certificate": "TB-2026-0815",
        "kind": "coffin",
        "grave": {"new_grave_type": "reihengrab"},
        "requested_at": f"{burial_on.isoformat()}T11:00:00+01:00",
        "chapel": True,
        "person_obliged": {
            "name": "Sabine Becker",
            "address": "Obergasse 12, 61250 Usingen",
            "relationship": "child",
        },
        "filer": {"undertaker": "Bestattungen Taunus GmbH", "phone": "06081 12345"},
    }


class BurialStatus:
    """Statuses after the scheduling."""

    CARRIED_OUT: Final = "burial_carried_out"
    CANCELLED: Final = "burial_cancelled"  # withdrawn or cancelled; its place released


class Refusal:
    """Codes of the grave check's refusals (the burial periods have their own)."""

    UNKNOWN_GRAVE: Final = "unknown_grave"
    NO_FREE_GRAVE: Final = "no_free_grave"
    GRAVE: Final = "grave"  # the grave refused: its error names the place or the right


GraveAt = Callable[[GraveAddress], Grave]
"""How a step finds a grave: the stored one, or one opened for the address."""


class BurialRegistration(Case):
    """A burial registration: scheduled by the rules (or refused), carried out, closed."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 2  # a burial does not wait
    FEE_LEGAL_BASIS: ClassVar[str] = (
        "Friedhofsgebührenordnung der Gemeinde i. V. m. §§ 1 ff., 10 KAG"
    )
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a burial"
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = (
        "a burial is scheduled only by the rules (schedule), which reserve the place"
    )
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {"cancel_burial"}
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "BurialCarriedOut": ("burial_carried_out", "Burial registration: the burial took place."),
        "BurialCancelled": (
            "burial_cancelled",
            "Burial registration: the scheduled burial was cancelled; its place is free again.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # A burial takes place within days: it does not wait for the objection period.
            CaseStatus.DECIDED: {"record_burial_carried_out", "cancel_burial"},
            CaseStatus.NOTIFIED: {"record_burial_carried_out", "cancel_burial"},
            CaseStatus.FINAL: {"record_burial_carried_out", "cancel_burial"},
            BurialStatus.CARRIED_OUT: {"close"},
            BurialStatus.CANCELLED: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.buried_on: date | None = None
        self.rest_ends_on: date | None = None
        self.cancelled = False

    # ---------------------------------------------------------------- queries

    @property
    def application(self) -> BurialApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return BurialApplication.stored(self.data)

    @property
    def kind(self) -> BurialKind:
        """Coffin or urn."""
        return BurialKind(self.application.kind)

    @property
    def requested_at(self) -> datetime:
        """The requested date and time of the burial."""
        value: Any = self.application.requested_at
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    @property
    def died_at(self) -> datetime:
        """The time of death."""
        value: Any = self.application.deceased.died_at
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    @property
    def age_at_death(self) -> int:
        """Completed years of the deceased (the rest period of a child is shorter)."""
        born: Any = self.application.deceased.born_on
        if not isinstance(born, PersonalData):
            raise InvalidCommand("data.deceased.born_on", "was erased: the age is unknown")
        return age_in_years(date.fromisoformat(born.value), self.died_at.astimezone(BERLIN).date())

    def can_be_withdrawn(self) -> bool:
        """Until scheduled: a scheduled burial holds a grave place and is cancelled instead."""
        return super().can_be_withdrawn() and self.decision_left_nothing_behind()

    def check_decision_reopenable(self) -> None:
        """Only a refusal is reopened: a scheduled burial holds its place."""
        if self.decision is not None and self.decision.outcome.is_approval:
            raise InvalidCommand(
                "new_decision",
                "a scheduled burial holds its place; remedy without a new decision, or decide "
                "on the objection",
            )

    # --------------------------------------------------------------- decision

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """The schedule's terms as assessed from its records; a clerk's refusal carries no fee."""
        if given.rules:
            return self._recorded_terms(given.rules, decided_on)
        if given.fee is not None:
            raise InvalidCommand("fee", f"the fee of {self.FEE_BY_TARIFF_OF} is set by its tariff")
        return given

    def schedule(
        self,
        *,
        actor: Actor,
        at: datetime,
        grave_at: GraveAt,
        representative: str | None = None,
        place: int | None = None,
    ) -> Grave | None:
        """Schedule the burial by the rules, reserving its place, or refuse it with reasons.

        Returns the grave changed with the decision (to be saved with it), or None.
        """
        self.check_allowed("decide")
        self.check_actor(actor, at)
        self.check_holder("decide", actor)
        today = berlin_date(at)
        periods = burial_periods(self.died_at.astimezone(BERLIN).date())
        reasons, _ = self._period_check(periods)
        grave: Grave | None = None
        if reasons:
            check = self.grave_check(refusals=[], reasons=[])
        else:
            grave, check = self._reserve(grave_at, actor, at, place)
        try:
            fees = tariff(self.tenant, self.fee_debt_day(today))
        except UnknownRulesVersion:
            raise InvalidCommand("at", f"no cemetery fees in force on {today}") from None
        outcome, terms = self._terms(check, periods, fees)
        super().decide(
            actor=actor,
            at=at,
            outcome=outcome,
            justification=self._justification(outcome, terms),
            legal_basis=LEGAL_BASIS,
            representative=representative,
            effective_from=today,
            rules=terms.rules,
        )
        return grave if outcome.is_approval else None

    def _period_check(self, periods: BurialPeriods) -> tuple[tuple[str, ...], RulesApplied]:
        cremated: Any = self.application.cremated_on
        return periods.check(
            kind=self.kind,
            died_at=self.died_at,
            burial_at=self.requested_at,
            cremated_on=cremated if isinstance(cremated, date) else None,
        )

    def _candidates(self) -> Iterator[GraveAddress]:
        """The graves the registration may go into: its own, or every grave of the type."""
        choice = self.application.grave
        address = choice.address
        if address is not None:
            yield address
            return
        wanted = GraveType(str(choice.new_grave_type))
        for found in cemeteries(self.tenant):
            if choice.cemetery is not None and found.id != choice.cemetery:
                continue
            for field in found.fields:
                if field.grave_type is not wanted:
                    continue
                for row in field.rows:
                    for number in range(row.first, row.last + 1):
                        yield GraveAddress(found.id, field.field, row.row, number)

    def _reserve(
        self, grave_at: GraveAt, actor: Actor, at: datetime, place: int | None
    ) -> tuple[Grave | None, RulesApplied]:
        """The grave and place reserved (the right extended first if needed), or refusals."""
        choice = self.application.grave
        new = choice.address is None
        burial_day = self.requested_at.astimezone(BERLIN).date()
        age = self.age_at_death
        last_error: InvalidCommand | None = None
        for address in self._candidates():
            try:
                configured_grave(self.tenant, address)
            except UnknownGrave as error:
                return None, self.grave_check([Refusal.UNKNOWN_GRAVE], [str(error)])
            grave = grave_at(address)
            if new and grave.occupations:
                continue  # a new grave is one nobody was ever buried in
            extension = 0
            try:
                if grave.grave_type.has_grave_right:
                    extension = grave.extension_needed(
                        kind=self.kind, buried_on=burial_day, age_at_death=age
                    )
                if extension:
                    grave.extend_right(case_id=self.id, years=extension, actor=actor, at=at)
                taken = grave.reserve_place(
                    case_id=self.id,
                    kind=self.kind,
                    planned_on=burial_day,
                    age_at_death=age,
                    actor=actor,
                    at=at,
                    place=None if new else place,
                )
            except InvalidCommand as error:
                last_error = error
                if new:
                    continue
                return None, self.grave_check(
                    [Refusal.GRAVE], [f"{address}: {error!s}"], address=address
                )
            reserved = next(o for o in grave.reservations if o.case_id == self.id)
            return grave, self.grave_check(
                [],
                [],
                address=address,
                grave_type=grave.grave_type,
                new=new,
                place=taken,
                rest_years=reserved.rest_years,
                rest_ends_on=reserved.rest_ends_on,
                rest_rules=reserved.rules_version,
                extension_years=extension,
            )
        detail = f" (last: {last_error!s})" if last_error is not None else ""
        return None, self.grave_check(
            [Refusal.NO_FREE_GRAVE],
            [f"no free {GraveType(str(choice.new_grave_type)).label_de} for this burial{detail}"],
        )

    def grave_check(
        self,
        refusals: list[str],
        reasons: list[str],
        *,
        address: GraveAddress | None = None,
        grave_type: GraveType | None = None,
        new: bool = False,
        place: int | None = None,
        rest_years: int | None = None,
        rest_ends_on: date | None = None,
        rest_rules: str | None = None,
        extension_years: int = 0,
    ) -> RulesApplied:
        """What the grave said when the burial was scheduled: a fact the decision records."""
        return RulesApplied(
            rules_id=GRAVE_CHECK_RULES_ID,
            version=GRAVE_CHECK_VERSION,
            inputs={
                "grave": str(address) if address else None,
                "grave_id": str(grave_id(self.tenant, address)) if address else None,
                "grave_type": grave_type.value if grave_type else None,
                "new_grave": new,
                "kind": self.kind.value,
                "place": place,
                "rest_years": rest_years,
                "rest_ends_on": rest_ends_on.isoformat() if rest_ends_on else None,
                "rest_period_rules": rest_rules,
                "extension_years": extension_years,
                "refusals": refusals,
                "reasons": reasons,
            },
        )

    def _terms(
        self, check: RulesApplied, periods: BurialPeriods, fees: CemeteryTariff | None
    ) -> tuple[DecisionOutcome, DecisionTerms]:
        """Outcome and terms from the burial periods, the grave's answer and the fees."""
        period_reasons, period_record = self._period_check(periods)
        if period_reasons or check.inputs["refusals"] or fees is None:
            return DecisionOutcome.REJECTED, DecisionTerms(rules=(period_record, check))
        inputs = check.inputs
        assessed = [fees.assess_burial(self.kind)]
        if self.application.chapel:
            assessed.append(fees.assess_chapel())
        grave_type = GraveType(inputs["grave_type"])
        if inputs["extension_years"]:
            assessed.append(fees.assess_extension(grave_type, int(inputs["extension_years"])))
        if inputs["new_grave"]:
            assessed.append(fees.assess_grave_use(grave_type, int(inputs["rest_years"])))
        fee = sum((f for f, _ in assessed), Decimal("0.00"))
        when = self.requested_at.astimezone(BERLIN)
        particulars: dict[str, Any] = {
            "date": when.date().isoformat(),
            "time": when.strftime("%H:%M"),
            "grave": inputs["grave"],
            "grave_id": inputs["grave_id"],
            "place": inputs["place"],
            "kind": inputs["kind"],
            "chapel": bool(self.application.chapel),
            "rest_ends_on": inputs["rest_ends_on"],
            "grave_right_extension_years": inputs["extension_years"],
        }
        if self.application.public_order_burial:
            # Arranged by the public-order office: its costs are claimed from those obliged.
            particulars["cost_claim"] = {"amount": str(fee), "against": "persons_obliged"}
        return DecisionOutcome.APPROVED, DecisionTerms(
            fee=fee,
            rules=(period_record, check, *(r for _, r in assessed)),
            particulars=particulars,
        )

    def _justification(self, outcome: DecisionOutcome, terms: DecisionTerms) -> str:
        if outcome.is_approval:
            p = terms.particulars
            return (
                f"Die Bestattung ({p['kind']}) wird am {p['date']} um {p['time']} Uhr im Grab "
                f"{p['grave']}, Platz {p['place']}, angesetzt; die Ruhefrist endet am "
                f"{p['rest_ends_on']}."
            )
        words: list[str] = []
        for record in terms.rules:
            if record.rules_id == GRAVE_CHECK_RULES_ID:
                words += [str(r) for r in record.inputs["reasons"]]
            elif record.inputs.get("refusals"):
                words.append(period_text(list(record.inputs["refusals"]), record))
        return "Die Bestattung kann so nicht angesetzt werden: " + "; ".join(words)

    def replay_terms(self, decision: Decision) -> DecisionTerms:
        """The terms the recorded rule versions give; what the grave said is a fact."""
        if not any(r.rules_id == GRAVE_CHECK_RULES_ID for r in decision.rules):
            return super().replay_terms(decision)  # a clerk's refusal by hand
        return self._recorded_terms(decision.rules, berlin_date(decision.decided_at))

    def _recorded_terms(self, rules: tuple[RulesApplied, ...], decided_on: date) -> DecisionTerms:
        """The terms from the versions and the grave check a decision recorded."""
        recorded = {r.rules_id: r for r in rules}
        check = recorded[GRAVE_CHECK_RULES_ID]
        periods = burial_periods_version(recorded["cemetery-burial-period"].version)
        fee_rules = recorded.get("cemetery-fee")
        fees = (
            tariff_version(self.tenant, fee_rules.version)
            if fee_rules
            else tariff(self.tenant, self.fee_debt_day(decided_on))
        )
        return self._terms(check, periods, fees)[1]

    def terms_today(self, decision: Decision, today: date) -> DecisionTerms:
        """What today's burial periods and fees would give the same registration."""
        check = next((r for r in decision.rules if r.rules_id == GRAVE_CHECK_RULES_ID), None)
        if check is None:
            return super().terms_today(decision, today)
        return self._terms(check, burial_periods(today), tariff(self.tenant, today))[1]

    # ------------------------------------------------------------------ burial

    def record_burial_carried_out(
        self, *, actor: Actor, at: datetime, grave: Grave, buried_on: date
    ) -> None:
        """The burial took place: recorded on the grave with its rest period."""
        record = self._begin("record_burial_carried_out", actor, at)
        decision = self.current_decision()
        if not decision.outcome.is_approval:
            raise InvalidCommand("decision", "the burial was refused")
        if buried_on < decision.effective_from:
            raise InvalidCommand("buried_on", "cannot precede the scheduling")
        if grave.id != UUID(str(decision.particulars["grave_id"])):
            raise ValueError("not the grave the burial was scheduled in")  # a wiring error
        place = grave.record_burial(
            case_id=self.id,
            kind=self.kind,
            buried_on=buried_on,
            age_at_death=self.age_at_death,
            actor=actor,
            at=at,
        )
        burial = next(o for o in grave.burials if o.case_id == self.id)
        self._burial_carried_out(
            status=BurialStatus.CARRIED_OUT,
            actor=record,
            at=at,
            buried_on=buried_on,
            grave=str(grave.address),
            place=place,
            rest_ends_on=burial.rest_ends_on,
        )

    class BurialCarriedOut(ChangesStatus):
        """The burial took place in its grave and place; its rest period runs until a day."""

        actor: ActorRecord
        at: datetime
        buried_on: date
        grave: str
        place: int
        rest_ends_on: date

    @event(BurialCarriedOut)
    def _burial_carried_out(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        buried_on: date,
        grave: str,
        place: int,
        rest_ends_on: date,
        status: str,
    ) -> None:
        self.buried_on = buried_on
        self.rest_ends_on = rest_ends_on
        self.status = status
        self.last_activity_at = at

    def cancel_burial(
        self, *, actor: Actor, at: datetime, grave: Grave, reason: str | None
    ) -> None:
        """Withdraw (the applicant) or cancel (staff, with a reason) the scheduled burial.

        Its place is released on the grave, which is saved with the case in the same save.
        """
        record = self._begin("cancel_burial", actor, at)
        decision = self.current_decision()
        if not decision.outcome.is_approval:
            raise InvalidCommand("decision", "the burial was refused: nothing is scheduled")
        by_applicant = actor.role is Role.APPLICANT
        if not by_applicant and not (reason and reason.strip()):
            raise InvalidCommand("reason", "a cancellation by the administration names its reason")
        if grave.id != UUID(str(decision.particulars["grave_id"])):
            raise ValueError("not the grave the burial was scheduled in")  # a wiring error
        text = reason.strip() if reason and reason.strip() else None
        why = text or "Rücknahme der Bestattungsanmeldung"
        grave.release_place(case_id=self.id, actor=actor, at=at, reason=why)
        self._burial_cancelled(
            status=BurialStatus.CANCELLED,
            actor=record,
            at=at,
            by_applicant=by_applicant,
            reason=self._case_text(text, "reason") if text else None,
            grave=str(grave.address),
        )

    class BurialCancelled(ChangesStatus):
        """The scheduled burial was withdrawn or cancelled; its place on the grave released."""

        actor: ActorRecord
        at: datetime
        by_applicant: bool
        reason: PersonalValue | None
        grave: str

    @event(BurialCancelled)
    def _burial_cancelled(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        by_applicant: bool,
        reason: PersonalValue | None,
        grave: str,
        status: str,
    ) -> None:
        self.cancelled = True
        self.status = status
        self.last_activity_at = at

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """The scheduled date, grave and place, and the burial once carried out."""
        decision = self.decision
        scheduled = decision is not None and decision.outcome.is_approval
        particulars = decision.particulars if decision is not None and scheduled else {}
        return {
            "scheduled_on": particulars.get("date"),
            "scheduled_time": particulars.get("time"),
            "grave": particulars.get("grave"),
            "place": particulars.get("place"),
            "buried_on": self.buried_on,
            "rest_ends_on": self.rest_ends_on,
            "cancelled": self.cancelled,
        }

    def _objection_forwarded_open(self) -> bool:
        objection = self.open_objection
        return objection is not None and objection.forwarded_to is not None

    def check_closable(self, at: datetime) -> None:
        """A scheduled burial is closed once carried out; a refusal after it is final."""
        decision = self.decision
        if (
            decision is not None
            and decision.outcome.is_approval
            and self.buried_on is None
            and not self.cancelled
            and not self._objection_forwarded_open()
        ):
            raise InvalidCommand("status", "the burial is scheduled: record it carried out first")


# ------------------------------------------------------------------- steps


def grave_at(acting: Acting, tenant: str) -> GraveAt:
    """Graves found through the pipeline's shared aggregates, by town and address."""

    shared: SharedAggregates = acting.context

    def find(address: GraveAddress) -> Grave:
        return shared.identified(
            Grave,
            grave_id(tenant, address),
            lambda _id: Grave.open(tenant=tenant, address=address),
        )

    return find


class ScheduleBurial(CommandBody):
    """Schedule by the rules: date, time, grave and place reserved, or refused with reasons."""

    representative: Text | None = Field(
        default=None, description="Who acts for the applicant, if anyone (named in the decision)"
    )
    place: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="A place of an existing grave; the first free one if omitted",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"place": 2}]},
    )


class BurialCarriedOut(CommandBody):
    """The burial took place on this day."""

    buried_on: date

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"buried_on": "2026-03-20"}]}
    )


def schedule(case: BurialRegistration, body: ScheduleBurial, acting: Acting) -> list[Grave]:
    """Schedule the burial; the grave with its reservation is saved with the decision."""
    grave = case.schedule(
        actor=acting.actor,
        at=acting.at,
        grave_at=grave_at(acting, case.tenant),
        representative=body.representative,
        place=body.place,
    )
    return [grave] if grave is not None else []


class CancelBurial(CommandBody):
    """Withdraw or cancel the scheduled burial; staff give the reason."""

    reason: Text | None = Field(
        default=None, description="Required when staff cancel; the applicant may give one"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Überführung in eine andere Gemeinde"}]},
    )


def scheduled_grave(case: BurialRegistration, acting: Acting, command: str) -> Grave:
    """The grave the burial was scheduled in (a refusal has none)."""
    case.check_allowed(command)
    case.check_actor(acting.actor, acting.at)
    decision = case.current_decision()
    address = decision.particulars.get("grave")
    if address is None:
        raise InvalidCommand("decision", "the burial was refused")
    cemetery, field, row, number = str(address).split("/")
    return grave_at(acting, case.tenant)(GraveAddress(cemetery, field, row, int(number)))


def cancel_burial(case: BurialRegistration, body: CancelBurial, acting: Acting) -> list[Grave]:
    """Cancel the scheduled burial; the grave with the released place is saved with the case."""
    grave = scheduled_grave(case, acting, "cancel_burial")
    case.cancel_burial(actor=acting.actor, at=acting.at, grave=grave, reason=body.reason)
    return [grave]


def record_burial_carried_out(
    case: BurialRegistration, body: BurialCarriedOut, acting: Acting
) -> list[Grave]:
    """Record the burial on its grave, with the rest period the rules set that day."""
    grave = scheduled_grave(case, acting, "record_burial_carried_out")
    case.record_burial_carried_out(
        actor=acting.actor, at=acting.at, grave=grave, buried_on=body.buried_on
    )
    return [grave]


STEPS: Final = Steps(
    "burial",
    (
        Step(
            name="schedule",
            path="/{case_id}/burial-schedule",
            summary="Burial registration: schedule by the rules",
            description="Date, time, grave and place, the place reserved on the grave (the "
            "grave right extended if it would not cover the rest period), with the fees; or "
            "refused with the reasons: outside the burial periods, unknown grave, no free "
            "place for the whole rest period.",
            roles=STAFF,
            body=ScheduleBurial,
            aggregate=BurialRegistration,
            run=schedule,
            retry_lost_race=True,
            holder_only=True,  # BurialRegistration.schedule: Case.check_holder
        ),
        Step(
            name="record_burial_carried_out",
            path="/{case_id}/burial-carried-out",
            summary="Burial registration: the burial took place",
            description="Recorded on the grave with the rest period the rules set that day; "
            "the file can then be closed.",
            roles=(Role.CLERK, Role.SUPERVISOR),
            body=BurialCarriedOut,
            aggregate=BurialRegistration,
            run=record_burial_carried_out,
            retry_lost_race=True,
        ),
        Step(
            name="cancel_burial",
            path="/{case_id}/burial-cancellation",
            summary="Burial registration: cancel the scheduled burial",
            description="Withdrawn by the applicant or cancelled by staff naming the reason; "
            "the reserved place is released on the grave in the same save, free for another "
            "registration. The file can then be closed.",
            roles=(Role.APPLICANT, *STAFF),
            body=CancelBurial,
            body_optional=True,
            aggregate=BurialRegistration,
            run=cancel_burial,
            retry_lost_race=True,
        ),
    ),
)
