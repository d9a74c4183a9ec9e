"""A water meter reading (Zählerstandsmeldung): one case per reading reported.

The customer (or the supply's meter reader, or a clerk at the counter) reports the reading
of a meter: its number, the counter, the day, who read it, optionally a photo. It is
submitted like every application (``POST /api/v1/cases``, service ``water-meter-reading``)
and, in the same save as the submission, checked against the town's ``WaterMeter`` and
recorded in its history (``on_submission``), answering the town's campaign open for that
day, if any:

- a reading the rules reject (lower than the one before without a declared rollover, before
  the last reading, in the future, of a removed meter) is refused naming ``data.reading``:
  nothing is stored, the customer sees why at once;
- a reading in line is accepted and the file closed: nobody needs to look at it;
- a reading with a flag (consumption far outside the meter's history, an expired calibration,
  a rollover, a second reading of the day) waits for a clerk, who confirms it or corrects it
  (the correction is the meter's, with its reason; the reported reading stays in the history);
- a meter number the town does not know waits for a clerk, who names the meter it was meant
  for (and the reading is checked then) or rejects it with a reason.

Two readings of one meter at once: one save fails on the meter's version and the submission
is decided again from a fresh load (``SHARED_ATTEMPTS``), so the second is checked against
the first. The reader's name is personal data; the meter number and the counter are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Actor, ActorRecord
from domain.case import Case
from domain.case_steps import STAFF, OptionalReason, Reason
from domain.commands import Acting, CommandBody, SharedAggregates, Step, Steps, Text
from domain.errors import InvalidCommand, InvalidTransition
from domain.lifecycle import CaseStatus, ChangesStatus, extend_lifecycle
from domain.personal_data import PersonalValue
from domain.personal_fields import Personal
from domain.rules.water_meters import ReadingCheck, ReadingKind
from domain.services.forms import Form, Name, labelled
from domain.water.campaign import ReadingCampaign, campaign_id
from domain.water.meter import MeterReading, WaterMeter, meter_id, normalised_meter_number
from domain.working_days import berlin_date

SERVICE_ID: Final = "water-meter-reading"
LEGAL_BASIS: Final = (
    "§ 20 AVBWasserV (Ablesung, Schätzung) i. V. m. der Wasserversorgungssatzung der Stadt/Gemeinde"
)
EARLIEST_READ_ON: Final = date(2000, 1, 1)

EVENT_LABELS: Final = {
    "ReadingChecked": ("Zählerstand geprüft", "Reading checked"),
    "ReadingConfirmed": ("Zählerstand bestätigt", "Reading confirmed"),
    "ReadingCorrectedByClerk": ("Zählerstand berichtigt", "Reading corrected"),
    "MeterAssigned": ("Zähler zugeordnet", "Meter assigned"),
    "ReadingRejected": ("Zählerstand zurückgewiesen", "Reading rejected"),
}


class ReadBy(StrEnum):
    """Who read the meter."""

    CUSTOMER = "customer"  # Selbstablesung
    METER_READER = "meter_reader"  # the supply's reader (Ableser)
    CLERK = "clerk"  # taken at the counter or on the phone


class Outcome(StrEnum):
    """What the check at submission (or at a meter's assignment) found."""

    ACCEPTED = "accepted"
    FLAGGED = "flagged"
    METER_UNKNOWN = "meter_unknown"


class ReadingStatus:
    """Statuses of a reading waiting for a clerk."""

    FLAGGED: Final = "reading_flagged"
    METER_UNKNOWN: Final = "meter_unknown"


MeterNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=30)]
AttachmentReference = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,199}$")
]


# ------------------------------------------------------------------- the form


class MeterReadingApplication(Form):
    """What the portal (or the reader's device) sends for one reading."""

    meter_number: MeterNumber = labelled(
        "Zählernummer", "Meter number", description="As printed on the meter, e.g. 'WZ-4711'"
    )
    reading: Decimal = labelled(
        "Zählerstand (m³)",
        "Reading (m³)",
        ge=0,
        max_digits=15,
        decimal_places=3,
        description="The counter in cubic metres, to the litre (three decimals at most).",
    )
    read_on: date = labelled("Ablesedatum", "Read on")
    read_by: ReadBy = labelled("Abgelesen durch", "Read by", default=ReadBy.CUSTOMER)
    reader_name: Personal[Name] | None = labelled(
        "Name der ablesenden Person", "Reader's name", default=None
    )
    photo: AttachmentReference | None = labelled(
        "Foto des Zählers (Anlage)",
        "Photo of the meter (attachment reference)",
        default=None,
        description="e.g. 'att:2026/zaehler.jpg'",
    )
    rollover_declared: bool = labelled(
        "Zählwerk übergelaufen",
        "Counter rolled over",
        default=False,
        description="The counter passed its end and started again from zero.",
    )

    def check(self, submitted_on: date) -> None:
        """A meter number the town could have; a day read not in the future, not long past."""
        try:
            normalised_meter_number(self.meter_number)
        except InvalidCommand as refused:
            raise refused.about("data.meter_number") from None
        if self.read_on > submitted_on:
            raise InvalidCommand("data.read_on", "a reading is not dated in the future")
        if self.read_on < EARLIEST_READ_ON:
            raise InvalidCommand("data.read_on", f"not before {EARLIEST_READ_ON}")


def example(on: date) -> dict[str, Any]:
    """A reading every town accepts: read today, of a meter number no town has (so it waits
    for a clerk to name the meter; a known meter's reading is checked against its history)."""
    return {
        "meter_number": "WZ-BEISPIEL-0001",
        "reading": "1234.567",
        "read_on": on.isoformat(),
        "read_by": "customer",
        "photo": "att:2026/zaehlerstand.jpg",
    }


# ------------------------------------------------------------------- the case


class WaterMeterReading(Case):
    """One reported reading of a water meter: checked, then closed or left for a clerk."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "ReadingChecked": (
            "water_meter_reading_checked",
            "Water meter reading: checked against the meter (accepted, flagged for a clerk, "
            "or the meter number unknown).",
        ),
        "ReadingConfirmed": (
            "water_meter_reading_confirmed",
            "Water meter reading: a clerk confirmed the flagged reading.",
        ),
        "ReadingCorrectedByClerk": (
            "water_meter_reading_corrected",
            "Water meter reading: a clerk corrected the reading.",
        ),
        "MeterAssigned": (
            "water_meter_assigned",
            "Water meter reading: a clerk named the meter the reading was meant for.",
        ),
        "ReadingRejected": (
            "water_meter_reading_rejected",
            "Water meter reading: a clerk rejected the reading.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            ReadingStatus.FLAGGED: {"confirm_reading", "correct_reading"},
            ReadingStatus.METER_UNKNOWN: {"assign_meter", "reject_reading"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        # The reading as submitted, read from the stored form once (never validated again).
        application = self.application
        self.value = Decimal(str(application.reading))  # the counter reported, in m³
        self.read_on: date = application.read_on  # the day the meter was read
        self.rollover_declared = bool(application.rollover_declared)
        self.outcome: Outcome | None = None
        self.meter_id: UUID | None = None
        self.meter_number = normalised_meter_number(application.meter_number)
        self.flags: tuple[str, ...] = ()
        self.consumption: Decimal | None = None
        self.campaign_year: int | None = None
        self.corrected_value: Decimal | None = None

    @property
    def application(self) -> MeterReadingApplication:
        """The reading as submitted, typed, read as stored (never validated again)."""
        return MeterReadingApplication.stored(self.data)

    def reading_on(self, meter: WaterMeter) -> MeterReading:
        """The reading this case recorded in the meter's history."""
        for reading in meter.readings:
            if reading.case_id == self.id and reading.kind == ReadingKind.REPORTED:
                return reading
        raise InvalidCommand("meter", "the reading is not recorded on this meter")

    # ------------------------------------------------------------- the check

    def check_against(
        self,
        meter: WaterMeter | None,
        campaign_year: int | None,
        *,
        actor: Actor,
        at: datetime,
        field: str = "data.reading",
    ) -> None:
        """Check the reading against its meter and record it there (or note the meter is not
        known); at submission, or after a clerk named the meter. A rejection is refused
        naming ``field``, and nothing is recorded."""
        if self.status not in (CaseStatus.SUBMITTED, ReadingStatus.METER_UNKNOWN):
            raise InvalidTransition("check_reading", self.status, self.allowed_commands())
        if meter is None:
            self._note_check(None, None, campaign_year, actor=actor, at=at)
            return
        check = self._record_on(meter, campaign_year, actor=actor, at=at, field=field)
        self._note_check(meter, check, campaign_year, actor=actor, at=at)

    def _record_on(
        self,
        meter: WaterMeter,
        campaign_year: int | None,
        *,
        actor: Actor,
        at: datetime,
        field: str,
    ) -> ReadingCheck:
        """Record the reading in the meter's history as the rules check it (refused naming
        ``field`` if they reject it: then nothing is recorded anywhere)."""
        try:
            return meter.record_reported(
                case_id=self.id,
                value=self.value,
                read_on=self.read_on,
                rollover_declared=self.rollover_declared,
                today=berlin_date(at),
                actor=actor,
                at=at,
                campaign_year=campaign_year,
            )
        except InvalidCommand as refused:
            raise refused.about(field) from None

    def _note_check(
        self,
        meter: WaterMeter | None,
        check: ReadingCheck | None,
        campaign_year: int | None,
        *,
        actor: Actor,
        at: datetime,
    ) -> None:
        """Note what the check found: accepted, flagged, or no such meter."""
        flags = [] if check is None else [flag.value for flag in check.flags]
        if meter is None:
            status, outcome = ReadingStatus.METER_UNKNOWN, Outcome.METER_UNKNOWN
        elif flags:
            status, outcome = ReadingStatus.FLAGGED, Outcome.FLAGGED
        else:
            status, outcome = CaseStatus.CLOSED, Outcome.ACCEPTED
        self._reading_checked(
            status=status,
            actor=actor.recorded_in(self.id),
            at=at,
            outcome=outcome.value,
            meter_id=None if meter is None else meter.id,
            meter_number=self.meter_number if meter is None else meter.meter_number,
            read_on=self.read_on,
            value=self.value,
            flags=flags,
            consumption=None if check is None else check.consumption,
            campaign_year=campaign_year,
        )

    class ReadingChecked(ChangesStatus):
        """The reading was checked against its meter: accepted (the file closes), flagged for
        a clerk, or its meter number is not known to the town."""

        actor: ActorRecord
        at: datetime
        outcome: str
        meter_id: UUID | None
        meter_number: str
        read_on: date
        value: Decimal
        flags: list[str]
        consumption: Decimal | None
        campaign_year: int | None

    @event(ReadingChecked)
    def _reading_checked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        outcome: str,
        meter_id: UUID | None,
        meter_number: str,
        read_on: date,
        value: Decimal,
        flags: list[str],
        consumption: Decimal | None,
        campaign_year: int | None,
        status: str,
    ) -> None:
        self.outcome = Outcome(outcome)
        self.meter_id = meter_id
        self.meter_number = meter_number
        self.flags = tuple(flags)
        self.consumption = consumption
        self.campaign_year = campaign_year
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- a clerk's steps

    def confirm_reading(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """A clerk confirms a flagged reading as reported (it stands in the meter's history)."""
        record = self._begin("confirm_reading", actor, at)
        text = self._case_text(reason, "reason") if reason else None
        self._reading_confirmed(status=CaseStatus.CLOSED, actor=record, at=at, reason=text)

    class ReadingConfirmed(ChangesStatus):
        """A clerk confirmed the flagged reading; the file is closed."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue | None

    @event(ReadingConfirmed)
    def _reading_confirmed(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue | None, status: str
    ) -> None:
        self.status = status
        self.last_activity_at = at

    def correct_reading(
        self, *, actor: Actor, at: datetime, meter: WaterMeter, value: Decimal, reason: str
    ) -> None:
        """A clerk corrects a flagged reading on its meter, with a reason; the reading as
        reported stays in the meter's history."""
        record = self._begin("correct_reading", actor, at)
        if meter.id != self.meter_id:
            raise InvalidCommand("meter", "not the meter the reading was recorded on")
        own = self.reading_on(meter)
        meter.correct(
            read_on=self.read_on,
            value=value,
            reason=reason,
            actor=actor,
            at=at,
            corrects=own.number,
        )
        self._reading_corrected(
            status=CaseStatus.CLOSED,
            actor=record,
            at=at,
            value=value,
            reason=self._case_text(reason, "reason"),
        )

    class ReadingCorrectedByClerk(ChangesStatus):
        """A clerk corrected the reading (on the meter, too); the file is closed."""

        actor: ActorRecord
        at: datetime
        value: Decimal
        reason: PersonalValue

    @event(ReadingCorrectedByClerk)
    def _reading_corrected(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        value: Decimal,
        reason: PersonalValue,
        status: str,
    ) -> None:
        self.corrected_value = value
        self.status = status
        self.last_activity_at = at

    def assign_meter(
        self,
        *,
        actor: Actor,
        at: datetime,
        meter: WaterMeter,
        campaign_year: int | None,
        reason: str,
    ) -> None:
        """A clerk names the meter a reading of an unknown number was meant for; the reading
        is checked against it then (refused naming ``meter_number`` if the rules reject it)."""
        record = self._begin("assign_meter", actor, at)
        if meter.tenant != self.tenant:
            raise InvalidCommand("meter_number", "the town has no meter of this number")
        text = self._case_text(reason, "reason")
        check = self._record_on(meter, campaign_year, actor=actor, at=at, field="meter_number")
        self._meter_assigned(
            actor=record,
            at=at,
            meter_id=meter.id,
            meter_number=meter.meter_number,
            reported_number=self.meter_number,
            reason=text,
        )
        self._note_check(meter, check, campaign_year, actor=actor, at=at)

    class MeterAssigned(Aggregate.Event):
        """A clerk named the meter the reading was meant for (the number reported kept)."""

        actor: ActorRecord
        at: datetime
        meter_id: UUID
        meter_number: str
        reported_number: str
        reason: PersonalValue

    @event(MeterAssigned)
    def _meter_assigned(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        meter_id: UUID,
        meter_number: str,
        reported_number: str,
        reason: PersonalValue,
    ) -> None:
        self.meter_number = meter_number
        self.last_activity_at = at

    def reject_reading(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """A clerk rejects a reading whose meter cannot be found, with the reason."""
        record = self._begin("reject_reading", actor, at)
        self._reading_rejected(
            status=CaseStatus.CLOSED,
            actor=record,
            at=at,
            reason=self._case_text(reason, "reason"),
        )

    class ReadingRejected(ChangesStatus):
        """A clerk rejected the reading; the file is closed and nothing was recorded."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(ReadingRejected)
    def _reading_rejected(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, status: str
    ) -> None:
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------------- state

    def can_be_withdrawn(self) -> bool:
        """A reading recorded on its meter is corrected by a clerk, never withdrawn."""
        return False

    def service_state(self) -> dict[str, Any]:
        """The meter, the reading, what the check found and a clerk's correction."""
        return {
            "meter_number": self.meter_number,
            "meter_id": self.meter_id,
            "read_on": self.read_on,
            "reading": self.value,
            "outcome": self.outcome.value if self.outcome else None,
            "flags": list(self.flags),
            "consumption": self.consumption,
            "campaign_year": self.campaign_year,
            "corrected_value": self.corrected_value,
        }


# ------------------------------------------------------------------- shared aggregates


class _NotStored(Exception):
    """No aggregate of the id is stored."""


def _not_stored(_id: UUID) -> Any:
    raise _NotStored


def stored_meter(shared: SharedAggregates, tenant: str, number: str) -> WaterMeter | None:
    """The town's meter of the number, if it has one."""
    try:
        return shared.identified(WaterMeter, meter_id(tenant, number), _not_stored)
    except _NotStored:
        return None


def campaign_answered(shared: SharedAggregates, tenant: str, read_on: date) -> int | None:
    """The year of the town's campaign a reading of the day answers: the latest that takes it
    (a campaign's deadline may lie early in the next year), or None."""
    for year in (read_on.year, read_on.year - 1):
        try:
            campaign = shared.identified(ReadingCampaign, campaign_id(tenant, year), _not_stored)
        except _NotStored:
            continue
        if campaign.takes_reading(read_on):
            return year
    return None


def check_at_submission(case: Case, acting: Acting) -> Sequence[Aggregate]:
    """The service's step in the submission's save: check the reading, record it."""
    if not isinstance(case, WaterMeterReading):
        raise InvalidCommand("service", "not a water meter reading")
    shared: SharedAggregates = acting.context
    meter = stored_meter(shared, case.tenant, case.meter_number)
    year = campaign_answered(shared, case.tenant, case.read_on)
    case.check_against(meter, year, actor=acting.actor, at=acting.at)
    return [] if meter is None else [meter]


def meter_met_at(tenant: str, data: Mapping[str, Any]) -> str | None:
    """The meter a reading of these data records on (readings of it are decided in turn)."""
    number = data.get("meter_number")
    if not isinstance(number, str):
        return None
    try:
        return f"water-meter:{meter_id(tenant, normalised_meter_number(number))}"
    except InvalidCommand:
        return None  # refused by the form's check before any meter is loaded


def _recorded_meter(case: WaterMeterReading, acting: Acting) -> WaterMeter:
    meter = (
        None
        if case.meter_id is None
        else stored_meter(acting.context, case.tenant, case.meter_number)
    )
    if meter is None:
        raise InvalidCommand("meter", "the reading is not recorded on a meter")
    return meter


# ------------------------------------------------------------------- steps


class ReadingCorrection(CommandBody):
    """The counter as it really stood on the day read, and why."""

    value: Decimal = Field(ge=0, max_digits=15, decimal_places=3, description="m³")
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"value": "1243.567", "reason": "Ziffer auf dem Foto verlesen (4 statt 3)."}
            ]
        },
    )


class MeterAssignment(CommandBody):
    """The meter a reading of an unknown number was meant for, and how that was found."""

    meter_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=4, max_length=30)
    ]
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "meter_number": "WZ-USI-000123",
                    "reason": "Zahlendreher; Zähler der Verbrauchsstelle laut Foto.",
                }
            ]
        },
    )


def _correct(case: WaterMeterReading, body: ReadingCorrection, acting: Acting) -> Sequence[Any]:
    case.check_allowed("correct_reading")
    meter = _recorded_meter(case, acting)
    case.correct_reading(
        actor=acting.actor, at=acting.at, meter=meter, value=body.value, reason=body.reason
    )
    return [meter]


def _assign(case: WaterMeterReading, body: MeterAssignment, acting: Acting) -> Sequence[Any]:
    case.check_allowed("assign_meter")
    try:
        number = normalised_meter_number(body.meter_number)
    except InvalidCommand as refused:
        raise refused.about("meter_number") from None
    meter = stored_meter(acting.context, case.tenant, number)
    if meter is None:
        raise InvalidCommand("meter_number", "the town has no meter of this number")
    year = campaign_answered(acting.context, case.tenant, case.read_on)
    case.assign_meter(
        actor=acting.actor, at=acting.at, meter=meter, campaign_year=year, reason=body.reason
    )
    return [meter]


def reading_step(name: str, path: str, summary: str, description: str, **more: Any) -> Step:
    """A clerk's step on a reading, posted at ``/api/v1/cases/{case_id}/<path>``."""
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        description=description,
        roles=STAFF,
        aggregate=WaterMeterReading,
        **more,
    )


STEPS: Final = Steps(
    "water meter reading",
    (
        reading_step(
            "confirm_reading",
            "reading-confirmation",
            "Water meter reading: confirm a flagged reading",
            "The reading stands as reported (it is in the meter's history); the file closes.",
            body=OptionalReason,
            body_optional=True,
        ),
        reading_step(
            "correct_reading",
            "reading-correction",
            "Water meter reading: correct a flagged reading",
            "Corrected on the meter with the reason, in the same save; the reading as "
            "reported stays in the meter's history. The file closes.",
            body=ReadingCorrection,
            run=_correct,
            retry_lost_race=True,
        ),
        reading_step(
            "assign_meter",
            "meter-assignment",
            "Water meter reading: name the meter of an unknown number",
            "The reading is checked against that meter then: accepted (the file closes), "
            "flagged, or refused naming meter_number.",
            body=MeterAssignment,
            run=_assign,
            retry_lost_race=True,
        ),
        reading_step(
            "reject_reading",
            "reading-rejection",
            "Water meter reading: reject a reading of an unknown meter",
            "With the reason; nothing is recorded on any meter. The file closes.",
            body=Reason,
        ),
    ),
)
