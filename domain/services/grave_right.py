"""The grave right application (Antrag auf ein Nutzungsrecht an einer Wahlgrabstätte).

A citizen asks the cemetery administration to acquire the grave right on a Wahlgrab or
Urnenwahlgrab (a named free grave, or any free grave of that type, in one cemetery or
anywhere in the town), to extend an existing right by whole years, to transfer it to a
successor (the statute's order of relatives; the successor's relationship and declaration
are recorded), or to return it early (only once every rest period in the grave has ended).

The decision applies the change to the ``Grave`` aggregate in the same atomic save as the
case (``retry_lost_race``: of two applications for one free grave, one gets it and the other
is decided again on what the winner saved). Before deciding, the case records what it found
on the grave (``GraveChecked``: type, the right's end before and after, or the reason for a
refusal), so the decision's terms — the fee for the years of use under the town's cemetery
fee statute, pro rata for an extension — replay from the case alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal, Self, TypeVar

from eventsourcing.domain import event
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from domain.actor import Actor, ActorRecord
from domain.case import Case, DecisionTerms
from domain.case_steps import STAFF
from domain.cemeteries import GraveAddress, GraveType, graves
from domain.commands import Acting, CommandBody, SharedAggregates, Step, Steps, Text
from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData
from domain.personal_fields import Personal, PersonalMarker
from domain.rules.cemetery import (
    FEE_RULES_ID,
    GRAVE_RIGHT_RULES_ID,
    GRAVE_RIGHT_TERMS,
    TARIFFS,
    years_after,
)
from domain.rules.versions import RulesChoice
from domain.services.forms import Form, Name, PlausibleDate, labelled
from domain.services.grave import Grave, RestPeriodRuns, RightDoesNotCover, grave_id
from domain.working_days import berlin_date

SERVICE_ID: Final = "grave-right"
LEGAL_BASIS: Final = (
    "Friedhofsordnung (Nutzungsrechte an Wahlgrabstätten) und Friedhofsgebührensatzung "
    "der Stadt/Gemeinde; § 2 Friedhofs- und Bestattungsgesetz Hessen (Friedhofsträger)"
)
GRAVE_CHECK_RULES_ID: Final = "grave-right-check"
GRAVE_CHECK_VERSION: Final = "1"  # what the check records; the grave's own rules are versioned

EVENT_LABELS: Final = {
    "GraveChecked": ("Grabstätte für die Entscheidung geprüft", "Grave checked for the decision"),
}

T = TypeVar("T")
SuccessorPersonal = Annotated[T, PersonalMarker(subject="successor")]
"""Personal data of the successor, a data subject of their own."""

Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")]


class Request(StrEnum):
    """What the application asks for."""

    ACQUIRE = "acquire"
    EXTEND = "extend"
    TRANSFER = "transfer"
    RETURN = "return"


class Relationship(StrEnum):
    """The successor's place in the statute's order of relatives (first comes first)."""

    SPOUSE = "spouse"  # Ehegatte
    REGISTERED_PARTNER = "registered_partner"  # eingetragene Lebenspartnerin/-partner
    CHILD = "child"
    STEPCHILD = "stepchild"
    GRANDCHILD = "grandchild"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    OTHER = "other"  # a person named by the holder, with the administration's consent


class GraveAddressForm(Form):
    """Where the grave lies: cemetery, field, row, number (as the cemetery register names it)."""

    cemetery: Token = labelled("Friedhof", "Cemetery", description="e.g. 'usingen-friedhof'")
    field: Token = labelled("Grabfeld", "Field")
    row: Token = labelled("Reihe", "Row")
    number: int = labelled("Nummer", "Number", ge=1, le=100_000)

    def address(self) -> GraveAddress:
        """The grave's address."""
        return GraveAddress(self.cemetery, self.field, self.row, int(self.number))


class Successor(Form):
    """Who takes the grave right over, how they are related, and when they declared it."""

    name: SuccessorPersonal[Name] = labelled("Name", "Name")
    address: SuccessorPersonal[Name] = labelled("Anschrift", "Address")
    relationship: Relationship = labelled("Verhältnis zur verstorbenen Person", "Relationship")
    declaration_on: PlausibleDate = labelled(
        "Übernahmeerklärung vom", "Declaration of acceptance on"
    )


class GraveRightApplication(Form):
    """What the form portal sends for a grave right."""

    request: Request = labelled("Anliegen", "Request")
    grave: GraveAddressForm | None = labelled(
        "Grabstätte", "Grave", default=None, description="Required except to acquire any free one."
    )
    grave_type: Literal["wahlgrab", "urnenwahlgrab"] | None = labelled(
        "Grabart (beliebige freie Grabstätte)",
        "Grave type (any free grave)",
        default=None,
        description="To acquire any free grave of this type instead of a named one.",
    )
    cemetery: Token | None = labelled(
        "Friedhof (beliebige freie Grabstätte)",
        "Cemetery (any free grave)",
        default=None,
        description="With grave_type: only in this cemetery; anywhere in the town if omitted.",
    )
    years: int | None = labelled(
        "Verlängerung um Jahre", "Extend by years", default=None, ge=1, le=30
    )
    successor: Successor | None = labelled("Nachfolger(in)", "Successor", default=None)
    reason: Personal[Text] | None = labelled("Begründung", "Reason", default=None)

    @model_validator(mode="after")
    def fits_the_request(self) -> Self:
        """Each request names what it needs, and nothing another request needs."""
        wanted = {
            Request.ACQUIRE: set(),
            Request.EXTEND: {"grave", "years"},
            Request.TRANSFER: {"grave", "successor"},
            Request.RETURN: {"grave"},
        }[self.request]
        for name in ("grave", "years", "successor"):
            if name in wanted and getattr(self, name) is None:
                raise ValueError(f"{name} is required to {self.request.value} a grave right")
        if self.request is not Request.EXTEND and self.years is not None:
            raise ValueError("years: only to extend a grave right")
        if self.request is not Request.TRANSFER and self.successor is not None:
            raise ValueError("successor: only to transfer a grave right")
        if self.request is Request.ACQUIRE:
            if (self.grave is None) == (self.grave_type is None):
                raise ValueError("to acquire, name either a grave or a grave_type (any free one)")
        elif self.grave_type is not None or self.cemetery is not None:
            raise ValueError("grave_type and cemetery: only to acquire any free grave")
        if self.cemetery is not None and self.grave_type is None:
            raise ValueError("cemetery: only with grave_type")
        return self


def example(_on: date) -> dict[str, Any]:
    """Any free Urnenwahlgrab of the town: every town has such graves, and some stay free."""
    return {"request": "acquire", "grave_type": "urnenwahlgrab"}


# ------------------------------------------------------------------ the case


class GraveRightCase(Case):
    """A grave right application: decided by what the grave allows, applied to the grave."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    FEE_LEGAL_BASIS: ClassVar[str] = (
        "Friedhofsgebührenordnung der Gemeinde i. V. m. §§ 1 ff., 10 KAG"
    )
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a grave right"
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "GraveChecked": (
            "grave_right_checked",
            "Grave right: the grave was checked for the decision.",
        ),
    }

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.grave_check: dict[str, Any] | None = None

    @property
    def application(self) -> GraveRightApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return GraveRightApplication.stored(self.data)

    @property
    def request(self) -> Request:
        """What the application asks for."""
        return Request(self.application.request)

    # --------------------------------------------------------------- decision

    def decide_by_grave(
        self,
        *,
        actor: Actor,
        at: datetime,
        grave: Grave | None,
        not_found: InvalidCommand | None,
        representative: str | None = None,
    ) -> None:
        """Apply the request to the grave and approve, or refuse naming the grave's reason."""
        record = self._begin("decide", actor, at)
        self.check_holder("decide", actor)
        if grave is not None and grave.tenant != self.tenant:
            raise ValueError(f"not a grave of {self.tenant}")  # a wiring error, never a user's
        today = berlin_date(at)
        check: dict[str, Any] = {"request": self.request.value, "years": self.application.years}
        if grave is None:
            check |= {"grave": None, "grave_type": None, "right_ended_on": None, "ends_on": None}
            check["refusal"] = _refusal_text(not_found, None)
        else:
            right = grave.right
            in_force = right is not None and right.in_force_on(today)
            check |= {
                "grave": str(grave.address),
                "grave_type": grave.grave_type.value,
                "right_ended_on": right.ends_on.isoformat() if right and in_force else None,
            }
            try:
                ends_on = self._apply(grave, actor, at)
            except InvalidCommand as refused:
                check |= {"ends_on": None, "refusal": _refusal_text(refused, grave)}
            else:
                check |= {"ends_on": ends_on.isoformat() if ends_on else None, "refusal": None}
        self._grave_checked(actor=record, at=at, check=check)
        refusal = check["refusal"]
        if refusal and check["grave"]:
            # The refusal names the grave: of two applicants for one grave, the loser reads
            # which grave was taken, not just that some right holds.
            justification = f"Grabstätte {check['grave']}: {refusal}"
        else:
            justification = refusal or self._approval_text(check)
        super().decide(
            actor=actor,
            at=at,
            outcome=DecisionOutcome.REJECTED if refusal else DecisionOutcome.APPROVED,
            justification=justification,
            legal_basis=LEGAL_BASIS,
            representative=representative,
        )

    def _apply(self, grave: Grave, actor: Actor, at: datetime) -> date | None:
        """The grave's command for the request; the right's last day after it (None: returned)."""
        application = self.application
        if self.request is Request.ACQUIRE:
            holder = self.applicant.get("name")
            if not isinstance(holder, PersonalData):
                raise InvalidCommand("applicant.name", "the holder's name is needed (erased)")
            return grave.grant_right(case_id=self.id, holder=holder, actor=actor, at=at)
        if self.request is Request.EXTEND:
            years = int(application.years or 0)
            return grave.extend_right(case_id=self.id, years=years, actor=actor, at=at)
        if self.request is Request.TRANSFER:
            successor = application.successor
            name = successor.name if successor is not None else None
            if successor is None or not isinstance(name, PersonalData):
                raise InvalidCommand("data.successor.name", "the successor is needed (erased)")
            reason = (
                f"Übertragung an {Relationship(successor.relationship).value} "
                f"(Übernahmeerklärung vom {successor.declaration_on})"
            )
            grave.transfer_right(case_id=self.id, successor=name, actor=actor, at=at, reason=reason)
            return grave.right.ends_on if grave.right else None
        reason_text = application.reason
        reason = reason_text.value if isinstance(reason_text, PersonalData) else None
        grave.return_right(
            case_id=self.id, actor=actor, at=at, reason=reason or "Rückgabe auf Antrag"
        )
        return None

    @staticmethod
    def _approval_text(check: Mapping[str, Any]) -> str:
        what = {
            "acquire": "Das Nutzungsrecht wird verliehen",
            "extend": "Das Nutzungsrecht wird verlängert",
            "transfer": "Das Nutzungsrecht wird übertragen",
            "return": "Die Rückgabe des Nutzungsrechts wird angenommen",
        }[str(check["request"])]
        until = f" bis zum {check['ends_on']}" if check.get("ends_on") else ""
        return f"{what}{until} (Grabstätte {check['grave']})."

    class GraveChecked(Case.Event):
        """What the decision found on the grave: type, the right's end, or why it refused."""

        actor: ActorRecord
        at: datetime
        check: dict[str, Any]

    @event(GraveChecked)
    def _grave_checked(self, *, actor: ActorRecord, at: datetime, check: dict[str, Any]) -> None:
        self.grave_check = dict(check)
        self.last_activity_at = at

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms:
        """The grave as checked; an approval's fee for the years of use, and the right's end."""
        check = self.grave_check
        if outcome.is_approval and (check is None or check.get("refusal")):
            # A clerk may refuse by hand; a grant or change goes by the grave, changing it.
            raise InvalidCommand(
                "outcome",
                "a grave right is granted, extended, transferred or returned only by the "
                "decision by the grave (grave right decision), which changes the grave with it",
            )
        if check is None:  # a refusal by hand, before any check
            return DecisionTerms()
        checked = RulesApplied(GRAVE_CHECK_RULES_ID, GRAVE_CHECK_VERSION, dict(check))
        if not outcome.is_approval or check.get("refusal"):
            return DecisionTerms(rules=(checked,))
        request = Request(check["request"])
        grave_type = GraveType(check["grave_type"])
        ends_on = date.fromisoformat(check["ends_on"]) if check.get("ends_on") else None
        fees = rules.by_fee_debt_day(TARIFFS[self.tenant], FEE_RULES_ID)
        if request is Request.ACQUIRE:
            terms = rules.by_decision_day(GRAVE_RIGHT_TERMS[self.tenant], GRAVE_RIGHT_RULES_ID)
            if terms is None or fees is None:
                return DecisionTerms(rules=(checked,))
            years, term = terms.term(grave_type)
            fee, assessed = fees.assess_grave_use(grave_type, years)
            until = years_after(decided_on, years)
            return DecisionTerms(expires_on=until, fee=fee, rules=(checked, term, assessed))
        if request is Request.EXTEND:
            if fees is None:
                return DecisionTerms(rules=(checked,))
            fee, assessed = fees.assess_extension(grave_type, int(check["years"]))
            return DecisionTerms(expires_on=ends_on, fee=fee, rules=(checked, assessed))
        return DecisionTerms(expires_on=ends_on, rules=(checked,))

    def can_be_withdrawn(self) -> bool:
        """Until the grave was changed by an approval; after it the right is returned."""
        return super().can_be_withdrawn() and self.decision_left_nothing_behind()

    def check_decision_reopenable(self) -> None:
        """Only a refusal is reopened: an applied change to the grave is not decided twice."""
        if self.decision is not None and self.decision.outcome.is_approval:
            raise InvalidCommand(
                "new_decision",
                "the grave was changed by this decision; a remedy is a new application",
            )

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """The request and what the decision found on the grave (public facts, no names)."""
        check = self.grave_check or {}
        return {
            "request": self.request.value,
            "grave": check.get("grave"),
            "grave_type": check.get("grave_type"),
            "right_ended_on": check.get("right_ended_on"),
            "right_ends_on": check.get("ends_on"),
            "refusal": check.get("refusal"),
        }


def _refusal_text(refused: InvalidCommand | None, grave: Grave | None) -> str:
    """Why the grave refuses, in words a citizen reads (naming the burial that blocks)."""
    if refused is None:
        return "the grave could not be found"
    if grave is not None and isinstance(refused, RestPeriodRuns | RightDoesNotCover):
        until = refused.until if isinstance(refused, RestPeriodRuns) else refused.needed_until
        burial = next((o for o in grave.occupations if o.rest_ends_on == until), None)
        if burial is not None:
            what = "reservation for the burial" if burial.reserved else "burial"
            ends = f"the right must cover the rest period of the {what} of {burial.starts_on.year}"
            if isinstance(refused, RightDoesNotCover):
                return (
                    f"{ends} until {until}: it would end on {refused.ends_on}; "
                    f"extend it by {refused.extension_years} year(s) first"
                )
            return f"{ends} until {until}: it cannot be returned before"
    return str(refused)


# ------------------------------------------------------------------- steps


def grave_by_address(shared: SharedAggregates, tenant: str, address: GraveAddress) -> Grave:
    """The town's grave at an address (opened if nothing happened to it yet)."""
    return shared.identified(
        Grave, grave_id(tenant, address), lambda _id: Grave.open(tenant=tenant, address=address)
    )


def free_grave(
    shared: SharedAggregates, tenant: str, grave_type: GraveType, cemetery: str | None, on: date
) -> Grave:
    """The first grave of a type (in a cemetery) without a right or a running rest period."""
    for spec in graves(tenant):
        if spec.grave_type is not grave_type:
            continue
        if cemetery is not None and spec.address.cemetery != cemetery:
            continue
        grave = grave_by_address(shared, tenant, spec.address)
        right_free = grave.right is None or not grave.right.in_force_on(on)
        rest_free = grave.last_rest_ends_on is None or grave.last_rest_ends_on < on
        if right_free and rest_free:
            return grave
    where = f" in {cemetery}" if cemetery else ""
    raise InvalidCommand("data.grave_type", f"no free {grave_type.label_de}{where} in {tenant}")


def the_grave(shared: SharedAggregates, case: GraveRightCase, on: date) -> Grave:
    """The grave the application names, or the free one it asks for."""
    application = case.application
    if application.grave is not None:
        return grave_by_address(shared, case.tenant, application.grave.address())
    grave_type = GraveType(str(application.grave_type))
    return free_grave(shared, case.tenant, grave_type, application.cemetery, on)


class GraveRightDecision(CommandBody):
    """Decide by the grave: the change applied and approved, or refused with the reason."""

    representative: Text | None = Field(
        default=None, description="Who acts for the applicant, if anyone (named in the decision)"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"representative": "Bestattungshaus Ernst"}]},
    )


def decide_by_grave(case: GraveRightCase, body: GraveRightDecision, acting: Acting) -> list[Grave]:
    """Apply the request to the grave with the decision; the grave is saved with the case."""
    grave: Grave | None = None
    not_found: InvalidCommand | None = None
    try:
        grave = the_grave(acting.context, case, berlin_date(acting.at))
    except InvalidCommand as refused:  # an address the town lacks, or no free grave
        not_found = refused
    case.decide_by_grave(
        actor=acting.actor,
        at=acting.at,
        grave=grave,
        not_found=not_found,
        representative=body.representative,
    )
    return [grave] if grave is not None else []


STEPS: Final = Steps(
    "grave right",
    (
        Step(
            name="decide_grave_right",
            method="decide",
            path="/{case_id}/grave-right-decision",
            summary="Grave right: decide by the grave",
            description="Grants, extends, transfers or returns the grave right on the grave in "
            "the same save, with the fee of the cemetery fee statute; or refuses naming why "
            "(a Reihengrab has no right, a right in force, a rest period that still runs, ...).",
            roles=STAFF,
            body=GraveRightDecision,
            aggregate=GraveRightCase,
            run=decide_by_grave,
            retry_lost_race=True,
            holder_only=True,  # GraveRightCase.decide_by_grave: Case.check_holder
        ),
    ),
)
