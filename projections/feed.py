"""The integration feed: public events as CloudEvents, a contract rather than a dump.

Domain events map to versioned public types (``de.vorgang.case.decided.v1``); internal ones
(claims, notes, drafts, hearings, erasures) are not published. A row keeps the event's
public data without personal data; the applicant's fields are kept once per case, sealed,
and opened only for a caller granted personal data (an erasure destroys the key, so they
are gone). Grounds, reasons and costs borne by a person are never published.

The legal track (notification, objection, finality) is published beside the main track:
``status`` is always where the work stands, so an objection lodged while the works run
says ``works_started``; the objection's own events say how it went and ended
(docs/feed.md). Rows once published are history: this view is not rebuilt for a change of
the domain, so a row written before the objection statuses were retired keeps the status
it was published with.

Citizens' offices' days are published beside the cases: bookings, cancellations, reminders
due and calls, never a contact, a confirmation code or a cancellation token. A booking is
named by its reference (the id of its ``appointment_booked`` event); its contact stays
sealed in a table of this view, for ``api/routes/appointment_contacts.py``, until erased.

Payments are published for the municipal accounting (HKR) and the payment integration: a
case's charges (``fee_charged``, ``charge_settled``, ``charge_withdrawn``), its receivables
(booked under their Kassenzeichen, with every payment, refund and cancellation and the
amount outstanding after it) and the payment requests of business customers. Never the
debtor or the payer, never card or account data, never a payment's own reference (a bank
statement's text may name people): Kassenzeichen, amounts, ids, keywords and dates only.

Water meters' readings are published for the water and wastewater fees: each reading a
meter's history records (installation, a reported reading accepted, an estimate, a clerk's
correction naming the reading it corrects, the final reading at removal) with its number in
that history, counter value, consumption, kind, flags and campaign year, under the meter's
town, number and property. A meter number and a property's id are no personal data; the
reader, the customer and a correction's free-text reason are never published.

A town's reading campaign of a year is published beside its meters, so a fee system learns
when the year's readings are complete: opened (start and deadline), each run of the
estimates after the deadline (how many meters were estimated, how many could not be) and
its close. Town, year and counts only; the staff who did it are never named.

A town's holiday programme (Ferienspiele, #27) is published per offering, so a youth
welfare or booking system learns what is offered and how the places went: published (its
activity, days, ages, places, fee, registration window and allocation rules), its window
closed early, its places drawn (how many children took part, were allocated a place and
wait), a place moved up after a cancellation (the registration case's id and the child's
number in it, the waiting position it left) and its health notes erased after it ended
(how many registrations). Ids and counts only: never a child, a guardian, an age, a health
note, the draw's seed or its lots, and never the staff who did it.

A town's markets (Kerb, Weihnachtsmarkt, #28) are published per market, so trade and booking
systems learn what is offered and how the pitches went: published (days, pitch plan,
categories wanted, criteria and weights, deadline, decisions_by), the selection's counts,
and each pitch given up, offered to the next in rank and assigned
(``projections/feed_markets.py``). Ids, pitch numbers and counts only: never a trader, a
score sheet, the selection's seed or lots, a free-text reason or the staff who did it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import singledispatch
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.appointments.office_day import OfficeDay
from domain.case import Case
from domain.case_charges import CaseCharges
from domain.case_documents import CaseDocuments
from domain.holiday.offering import HolidayOffering
from domain.lifecycle import CaseStatus
from domain.markets.market import Market
from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import SETTLED, Receivable
from domain.services.catalogue import SERVICES
from domain.services.dog_registration import DogRegistration
from domain.services.holiday_registration import SERVICE_ID as HOLIDAY_REGISTRATION
from domain.services.water_reading import SERVICE_ID as WATER_READING
from domain.tenants import tenant as tenant_named
from domain.timer_notice import NoticeSort, TimerNotice
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter
from domain.working_days import BERLIN
from projections.bulk import load_rows, upsert_rows
from projections.case_event_log import CaseEventLog
from projections.case_events import status_after
from projections.feed_markets import (
    MARKET_EVENTS,
    MARKET_TYPES,
    STALL_DATA,
    FeedMarkets,
    create_market_table,
)
from projections.inbox import utc_text
from projections.projection import Applied
from projections.sealed import view_json
from projections.view_store import ViewDatabase, ViewTransaction

SHARED_TYPES: Final = {
    "Submitted": ("submitted", "An application arrived."),
    "CompletenessConfirmed": (
        "completeness_confirmed",
        "The application is complete; the processing period runs.",
    ),
    "InformationRequested": (
        "information_requested",
        "The applicant was asked for information or documents.",
    ),
    "InformationProvided": ("information_provided", "The applicant answered."),
    "Decided": (
        "decided",
        "A decision took effect (after a countersignature where one is required).",
    ),
    "Countersigned": ("decided", ""),  # the countersignature is when a draft takes effect
    "PaymentRecorded": ("fee_paid", "The fee was paid."),
    "Notified": (
        "notified",
        "The decision was notified (Bekanntgabe, § 41 HVwVfG) on notified_on, by its delivery; "
        "the objection period runs until objection_deadline.",
    ),
    "RemedyNoticeFoundDefective": (
        "remedy_notice_defective",
        "The remedy notice was missing or wrong: an objection is admissible until "
        "objection_deadline, a year after the notification (§ 58 (2) VwGO).",
    ),
    "ObjectionLodged": (
        "objection_lodged",
        "An objection (Widerspruch) was received, in time or late (timely); the case's status "
        "stays where its work stands.",
    ),
    "ReinstatementGranted": (
        "objection_reinstated",
        "A late objection counts as lodged in time (Wiedereinsetzung, § 70 (2) with § 60 VwGO); "
        "a decision that was final is open again.",
    ),
    "ObjectionRemedied": (
        "objection_remedied",
        "The issuing authority remedied the objection (Abhilfe, § 72 VwGO), in full or in part "
        "(objection_outcome); with new_decision the case is reviewed again.",
    ),
    "ObjectionForwarded": ("objection_forwarded", "The objection went to the objection authority."),
    "ObjectionWithdrawn": ("objection_withdrawn", "The objection was withdrawn."),
    "ObjectionDecided": (
        "objection_decided",
        "The objection authority decided on the objection (Widerspruchsbescheid, § 73 VwGO): "
        "objection_outcome, served on served_on; an action lies until action_deadline; with "
        "new_decision the case is reviewed again.",
    ),
    "BecameFinal": (
        "final",
        "The decision became final (bestandskräftig) on final_on; a case whose service steps "
        "have begun keeps its status.",
    ),
    "DeemedApproved": (
        "deemed_approved",
        "The statutory period ended on period_ended_on without a decision: the approval is "
        "deemed granted from took_effect_on (Genehmigungsfiktion, § 42a HVwVfG; legal_basis).",
    ),
    "ApprovalExpired": (
        "expired",
        "The approval's last day of validity (after extensions or renewals) was valid_until: "
        "it ceased to be effective by lapse of time from expired_on (§ 43 (2) HVwVfG; "
        "legal_basis). The case's status does not move.",
    ),
    "DeemedApprovalCertified": (
        "deemed_approval_certified",
        "The certificate of the deemed approval (§ 42a (3) HVwVfG) was issued (number).",
    ),
    "Withdrawn": ("withdrawn", "The applicant withdrew the application."),
    "Closed": ("closed", "The file was closed."),
    "FeeCharged": (
        "fee_charged",
        "A fee the decision assessed was charged under its Kassenzeichen (kassenzeichen, "
        "amount, currency, ledger, legal_basis, refers_to, prepaid, due_on); its receivable "
        "is published as receivable_created.",
    ),
    "ChargeSettled": (
        "charge_settled",
        "A charge was paid in full (kassenzeichen, amount, currency); a case awaiting payment "
        "goes on (status).",
    ),
    "ChargeWithdrawn": (
        "charge_withdrawn",
        "A charge was replaced by a later assessment (kassenzeichen; reason, a keyword such as "
        "reassessed): nothing more is owed under it, its receivable is published as "
        "receivable_cancelled and the new amount as another fee_charged.",
    ),
    "DocumentIssued": (
        "document_issued",
        "A letter was issued and sealed (number; kind: decision, objection_decision, "
        "deemed_approval_certificate, information_request, charge_assessment; sha256 of the "
        "PDF served at /api/v1/cases/{case_id}/documents/{number}).",
    ),
    "DocumentSent": (
        "document_sent",
        "The letter went out (number; channel: postbox, letter, portal, counter; sent_on).",
    ),
    "DeliveryReported": (
        "delivery_reported",
        "The channel reported what became of a sending (number; outcome: accepted, posted, "
        "retrieved, handed_over, failed; on). A completed delivery of a decision is followed "
        "by its notified event, the Bekanntgabe it sets.",
    ),
}


# Notices the scheduler sent (domain/timer_notice.py): aggregates of their own, never case
# events, published under the case they are for. Keyed by ``TimerNotice.<sort>``.
NOTICE_TYPES: Final = {
    f"TimerNotice.{NoticeSort.REMINDER}": (
        "reminder_sent",
        "The clerk holding the case (or the teams handling the service) was reminded of the "
        "timer due on due_on (timer: its kind). The case's version does not move.",
    ),
    f"TimerNotice.{NoticeSort.ESCALATION}": (
        "escalated",
        "The timer due on due_on (timer: its kind) was missed: the supervisors of the teams "
        "handling the service were told. The case's version does not move.",
    ),
}


# Citizens' offices' days (domain/appointments/office_day.py): aggregates of their own, never
# case events. Published without personal data and without the confirmation code or the
# cancellation token (capabilities); a booking is named by its reference, the id of its
# appointment_booked event. Keyed by ``OfficeDay.<event>``.
APPOINTMENT_TYPES: Final = {
    "OfficeDay.BookingConfirmed": (
        "appointment_booked",
        "A citizens' office appointment was booked: office, day, starts, service; booking is "
        "its reference (this event's id), the subject of the booking's later events.",
    ),
    "OfficeDay.BookingCancelled": (
        "appointment_cancelled",
        "The booking was cancelled (reason, where one was recorded: a keyword such as rebooked, "
        "citizen_request, office_closure); its slot is free again.",
    ),
    "OfficeDay.ReminderDue": (
        "appointment_reminder_due",
        "The booking's reminder fell due before the appointment: send it. The contact to send "
        "it to is at links.contact, for a service account granted appointments:contact, until "
        "the contact is erased.",
    ),
    "OfficeDay.TicketCalled": (
        "ticket_called",
        "A ticket (T017, W042: numbers, never names) was called to a counter (call: 1st, 2nd ...).",
    ),
    "OfficeDay.TicketServed": ("ticket_served", "The called ticket was served at its counter."),
    "OfficeDay.TicketMissed": ("ticket_missed", "Nobody came after the last call: a no-show."),
}
KEYWORD: Final = re.compile(r"[a-z_]{1,40}")
APPOINTMENT_EVENTS: Final[tuple[type[Any], ...]] = (
    OfficeDay.Opened,
    OfficeDay.BookingConfirmed,
    OfficeDay.BookingCancelled,
    OfficeDay.ReminderDue,
    OfficeDay.TicketDrawn,
    OfficeDay.TicketCalled,
    OfficeDay.TicketServed,
    OfficeDay.TicketMissed,
    OfficeDay.ContactErased,
)


# Receivables and payment requests (domain/payments): aggregates of their own, never case
# events. Published without the debtor or the payer, without card or account data and
# without a payment's own reference. Keyed by ``Receivable.<event>``, ``PaymentRequest.<event>``.
RECEIVABLE_TYPES: Final = {
    "Receivable.Opened": (
        "receivable_created",
        "A charge was booked as a receivable under its Kassenzeichen (for the municipal "
        "accounting, HKR): amount, currency, due_on, ledger, legal_basis, prepaid, reference "
        "and case_id of the case, service, town (and official_key), business_customer.",
    ),
    "Receivable.DueDateSet": (
        "receivable_due_date_set",
        "The receivable falls due on due_on (set with the Bekanntgabe).",
    ),
    "Receivable.PaymentApplied": (
        "receivable_payment_applied",
        "Money was received for the receivable (amount, channel: provider, counter, "
        "bank_transfer; received_on; applied to what was owed, overpaid beyond it; request_id "
        "of a payment request); status and outstanding after it; settled: this payment "
        "settled the receivable.",
    ),
    "Receivable.Cancelled": (
        "receivable_cancelled",
        "Nothing more is owed (reason, a keyword such as case_withdrawn); money paid so far "
        "is credit, to be refunded.",
    ),
    "Receivable.RefundRecorded": (
        "receivable_refunded",
        "Credit was paid back (amount); refunded in all and the credit left after it.",
    ),
}
REQUEST_TYPES: Final = {
    "PaymentRequest.Requested": (
        "payment_request_created",
        "A business customer asked to pay receivables online: items (kassenzeichen, case_id, "
        "reference, amount), total, currency, business_customer, expires_at.",
    ),
    "PaymentRequest.PaymentReceived": (
        "payment_request_payment_received",
        "The provider received money for the request (amount; allocations per Kassenzeichen; "
        "overpaid: allocated to nobody); status paid once the total is paid, else as before.",
    ),
    "PaymentRequest.PaymentFailed": (
        "payment_request_failed",
        "The provider reports the payment failed (reason, a code such as card_declined).",
    ),
    "PaymentRequest.Expired": ("payment_request_expired", "The request lapsed unpaid."),
    "PaymentRequest.Cancelled": (
        "payment_request_cancelled",
        "The request was called off before any money arrived (reason, a keyword).",
    ),
    "PaymentRequest.RefundApproved": (
        "payment_request_refund_approved",
        "A refund (refund, amount) was approved by a second person; the provider pays it next.",
    ),
    "PaymentRequest.RefundPaid": (
        "payment_request_refund_paid",
        "The provider paid the refund back (refund, amount, provider_refund_reference).",
    ),
}
PAYMENT_EVENTS: Final[tuple[type[Any], ...]] = (
    Receivable.Opened,
    Receivable.DueDateSet,
    Receivable.PaymentApplied,
    Receivable.Cancelled,
    Receivable.RefundRecorded,
    PaymentRequest.Requested,
    PaymentRequest.CheckoutStarted,
    PaymentRequest.PaymentReceived,
    PaymentRequest.PaymentFailed,
    PaymentRequest.Expired,
    PaymentRequest.Cancelled,
    PaymentRequest.RefundRequested,
    PaymentRequest.RefundApproved,
    PaymentRequest.RefundRejected,
    PaymentRequest.RefundPaid,
)
PAYMENT_KEYWORD: Final = re.compile(r"[a-z][a-z0-9_]{0,59}")  # as domain/payments checks


# Water meters (domain/water/meter.py): aggregates of their own, shared by the reading cases
# of their property. Published for the water and wastewater fees: every reading the meter's
# history records, numbered as there, without the reader, the customer or free text.
# Keyed by ``WaterMeter.<event>``.
WATER_METER_TYPES: Final = {
    "WaterMeter.Installed": (
        "water_meter_installed",
        "A water meter was installed at a property (property_id; main_meter: the main meter's "
        "id for a garden water sub-meter): installed_on, calibration_valid_until, digits, and "
        "its first reading (number 1, kind installed, value: the counter's start).",
    ),
    "WaterMeter.ReadingRecorded": (
        "water_meter_reading_recorded",
        "A reported reading was accepted into the meter's history (number, read_on, value in "
        "m³, consumption since the reading before, kind reported, flags such as "
        "far_above_history, campaign_year, case_id of the reading case).",
    ),
    "WaterMeter.ReadingEstimated": (
        "water_meter_reading_estimated",
        "A reading was estimated for a campaign without one (§ 20 (2) AVBWasserV): number, "
        "read_on (the deadline), value, consumption, kind estimated, campaign_year.",
    ),
    "WaterMeter.ReadingCorrected": (
        "water_meter_correction_recorded",
        "A clerk corrected the reading of a day: number (the correction's), corrects (the "
        "number of the reading corrected, which stays in the history) and corrected_value, "
        "the new value and the consumption since the reading standing before it, kind "
        "corrected, the corrected reading's campaign_year and case_id.",
    ),
    "WaterMeter.Removed": (
        "water_meter_removed",
        "The meter was removed (an exchange, the supply ended) with its final reading: number, "
        "read_on (removed_on), value, consumption, kind removed, flags.",
    ),
    "WaterMeter.Recalibrated": (
        "water_meter_recalibrated",
        "The meter's calibration (Eichung) runs to a new day: calibration_valid_until.",
    ),
}
WATER_METER_EVENTS: Final[tuple[type[Any], ...]] = (
    WaterMeter.Installed,
    WaterMeter.ReadingRecorded,
    WaterMeter.ReadingEstimated,
    WaterMeter.ReadingCorrected,
    WaterMeter.Removed,
    WaterMeter.Recalibrated,
)
WATER_SERVICE: Final = WATER_READING  # the meters' rows are the reading service's

# A town's reading campaign of a year (domain/water/campaign.py, id ``campaign_id``):
# published so a fee system learns when a year's readings are complete, under the reading
# service. Keyed by ``ReadingCampaign.<event>``.
WATER_CAMPAIGN_TYPES: Final = {
    "ReadingCampaign.Opened": (
        "water_campaign_opened",
        "A town opened its reading campaign of a year (year, starts_on, deadline): readings "
        "from starts_on answer it (campaign_year on the meters' readings).",
    ),
    "ReadingCampaign.EstimatesMade": (
        "water_campaign_estimates_made",
        "After the deadline the meters without a reading were estimated (one run; a later "
        "run is published too): estimated, not_estimable (nothing to estimate from), "
        "estimated_at. Each estimate is a water_meter_reading_estimated of its meter.",
    ),
    "ReadingCampaign.Closed": (
        "water_campaign_closed",
        "The campaign was closed (closed_at): the year's readings are complete, a reading "
        "after it answers no campaign.",
    ),
}
WATER_CAMPAIGN_EVENTS: Final[tuple[type[Any], ...]] = (
    ReadingCampaign.Opened,
    ReadingCampaign.EstimatesMade,
    ReadingCampaign.Closed,
)

# A town's holiday offering (domain/holiday/offering.py, id ``offering_id``): published under
# the holiday registration service, ids and counts only (never a child, a health note, the
# draw's seed or lots). Keyed by ``HolidayOffering.<event>``; registrations and cancellations
# are the registration cases' own events, the staff's changes the town's business.
HOLIDAY_OFFERING_TYPES: Final = {
    "HolidayOffering.Published": (
        "holiday_offering_published",
        "A town published an offering of its holiday programme (Ferienspiele, § 11 SGB VIII): "
        "year, code, activity, location, starts_on, ends_on, min_age, max_age, places, fee, "
        "registration_opens_at, registration_closes_at and the allocation rules.",
    ),
    "HolidayOffering.WindowClosed": (
        "holiday_offering_window_closed",
        "The staff closed the registration window before its hour (closed_at; reason only "
        "as a keyword); the places are drawn next.",
    ),
    "HolidayOffering.PlacesDrawn": (
        "holiday_offering_places_drawn",
        "The places were drawn once, with a seed drawn by the system (algorithm; the seed and "
        "the lots stay with the decision, for the auditors' replay): drawn_at, children "
        "taking part, allocated and waiting (in draw order, the waiting list).",
    ),
    "HolidayOffering.PlaceMovedUp": (
        "holiday_offering_place_moved_up",
        "A cancellation freed a place and the next child on the waiting list that fits moved "
        "up: case_id of its registration, child (its number there), from_position on the "
        "waiting list, because_of (the case whose cancellation freed it).",
    ),
    "HolidayOffering.HealthNotesErased": (
        "holiday_offering_health_notes_erased",
        "After the offering ended, the health notes and allergies of its registrations were "
        "erased (erased_at; registrations: how many cases).",
    ),
}
HOLIDAY_OFFERING_EVENTS: Final[tuple[type[Any], ...]] = (
    HolidayOffering.Published,
    HolidayOffering.WindowClosed,
    HolidayOffering.PlacesDrawn,
    HolidayOffering.PlaceMovedUp,
    HolidayOffering.HealthNotesErased,
)
HOLIDAY_SERVICE: Final = HOLIDAY_REGISTRATION  # the offerings' rows are the registrations'


def _published() -> dict[str, tuple[str, str]]:
    found = dict(SHARED_TYPES)
    for definition in SERVICES.values():
        found |= definition.case_class.PUBLIC_EVENTS
    return (
        found
        | NOTICE_TYPES
        | APPOINTMENT_TYPES
        | RECEIVABLE_TYPES
        | REQUEST_TYPES
        | WATER_METER_TYPES
        | WATER_CAMPAIGN_TYPES
        | HOLIDAY_OFFERING_TYPES
        | MARKET_TYPES
    )


PUBLIC_TYPES: Final = {event: public for event, (public, _) in _published().items()}
DESCRIPTIONS: Final = {public: meaning for public, meaning in _published().values() if meaning}
TYPE_PREFIX: Final = "de.vorgang.case."
TYPE_VERSION: Final = "v1"
ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://vorgang.example/feed")
ROW_COLUMNS = ("sequence", "id", "type", "tenant", "service", "case_id", "time", "data")
CASE_COLUMNS = ("case_id", "reference", "tenant", "service", "status", "applicant")
DAY_COLUMNS = ("office_day", "tenant", "office", "day", "slots", "tickets")
BOOKING_COLUMNS = (
    "reference",
    "office_day",
    "code",
    "tenant",
    "office",
    "day",
    "service",
    "starts",
    "contact",
    "status",
    "reminded",
)


RECEIVABLE_STATE = (
    "receivable_id",
    "tenant",
    "kassenzeichen",
    "case_id",
    "reference",
    "service",
    "amount",
    "paid",
    "refunded",
    "status",
)
REQUEST_STATE = (
    "request_id",
    "tenant",
    "business_customer",
    "total",
    "paid",
    "status",
    "provider",
    "provider_reference",
    "refunds",
)
METER_STATE = (
    "meter_id",
    "tenant",
    "meter_number",
    "property_id",
    "main_meter",
    "digits",
    "readings",
)
CAMPAIGN_STATE = ("campaign_id", "tenant", "year", "starts_on", "deadline")
OFFERING_STATE = ("offering_id", "tenant", "year", "code", "starts_on", "ends_on", "places")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


@singledispatch
def public_data(event: Any) -> dict[str, Any]:
    """What a published event adds to the shared ``data``: facts of the procedure, never
    personal data (grounds, reasons, names)."""
    return {}


@public_data.register(Case.Decided)
@public_data.register(Case.Countersigned)
def _decision(event: Case.Decided | Case.Countersigned) -> dict[str, Any]:
    decision = event.decision
    return {
        "outcome": decision.outcome.value,
        "fee": str(decision.fee) if decision.fee is not None else None,
    }


@public_data.register(CaseCharges.FeeCharged)
def _fee_charged(event: CaseCharges.FeeCharged) -> dict[str, Any]:
    charge = event.charge
    return {
        "kassenzeichen": charge.kassenzeichen,
        "amount": _amount(charge.amount),
        "currency": "EUR",
        "ledger": charge.ledger,
        "legal_basis": charge.legal_basis,
        "refers_to": charge.refers_to,
        "prepaid": charge.prepaid,
        "due_on": _day(charge.due_on),
    }


@public_data.register(CaseCharges.ChargeSettled)
def _charge_settled(event: CaseCharges.ChargeSettled) -> dict[str, Any]:
    # The payment's own id stays out: a receipt's reference is a bank statement's text.
    return {
        "kassenzeichen": event.kassenzeichen,
        "amount": _amount(event.amount),
        "currency": "EUR",
    }


@public_data.register(CaseCharges.ChargeWithdrawn)
def _charge_withdrawn(event: CaseCharges.ChargeWithdrawn) -> dict[str, Any]:
    # The reason is published only when it is a keyword (never free text).
    reason = {"reason": event.reason} if PAYMENT_KEYWORD.fullmatch(event.reason) else {}
    return {"kassenzeichen": event.kassenzeichen, **reason}


@public_data.register(CaseDocuments.DocumentIssued)
def _document_issued(event: CaseDocuments.DocumentIssued) -> dict[str, Any]:
    document = event.document
    return {
        "number": document.number,
        "kind": document.kind.value,
        "sha256": document.sha256,
        "refers_to": document.refers_to,
    }


@public_data.register(CaseDocuments.DocumentSent)
def _document_sent(event: CaseDocuments.DocumentSent) -> dict[str, Any]:
    return {
        "number": event.number,
        "channel": event.dispatch.channel.value,
        "sent_on": _day(event.dispatch.sent_on),
    }


@public_data.register(CaseDocuments.DeliveryReported)
def _delivery_reported(event: CaseDocuments.DeliveryReported) -> dict[str, Any]:
    return {"number": event.number, "outcome": str(event.outcome), "on": _day(event.on)}


@public_data.register(Case.Notified)
def _notified(event: Case.Notified) -> dict[str, Any]:
    return {
        "delivery": event.delivery,
        "sent_on": _day(event.sent_on),
        "notified_on": _day(event.notified_on),
        "objection_deadline": _day(event.objection_deadline),
    }


@public_data.register(DogRegistration.TaxChangeNotified)
def _tax_change_notified(event: DogRegistration.TaxChangeNotified) -> dict[str, Any]:
    # The amending notice's Bekanntgabe as ``notified`` has it, and what it dates: the
    # years' new charges (their receivables follow as receivable_due_date_set).
    return {
        "delivery": event.delivery,
        "sent_on": _day(event.sent_on),
        "notified_on": _day(event.notified_on),
        "objection_deadline": _day(event.objection_deadline),
        "due_on": _day(event.due_on),
        "years": list(event.years),
        "kassenzeichen": list(event.kassenzeichen),
    }


@public_data.register(Case.RemedyNoticeFoundDefective)
def _remedy_notice_defective(event: Case.RemedyNoticeFoundDefective) -> dict[str, Any]:
    return {"objection_deadline": _day(event.objection_deadline)}


@public_data.register(Case.ObjectionLodged)
def _objection_lodged(event: Case.ObjectionLodged) -> dict[str, Any]:
    objection = event.objection
    return {"received_on": _day(objection.received_on), "timely": objection.timely}


@public_data.register(Case.ObjectionForwarded)
def _objection_forwarded(event: Case.ObjectionForwarded) -> dict[str, Any]:
    return {"authority": event.authority}  # an authority's name, never a person's


@public_data.register(Case.ObjectionRemedied)
def _objection_remedied(event: Case.ObjectionRemedied) -> dict[str, Any]:
    # Remedies recorded before version 3 carry no remedy record: they were all in full.
    remedy = event.remedy
    return {
        "objection_outcome": remedy.outcome if remedy is not None else "remedied",
        "new_decision": event.new_decision,
        "fee_refund": _amount(remedy.costs.fee_refund) if remedy is not None else None,
    }


@public_data.register(Case.ObjectionDecided)
def _objection_decided(event: Case.ObjectionDecided) -> dict[str, Any]:
    decision = event.decision
    return {
        "objection_outcome": decision.outcome,
        "authority": decision.decided_by,
        "served_on": _day(decision.served_on),
        "action_deadline": _day(decision.action_deadline),
        "new_decision": event.new_decision,
        "fee_refund": _amount(decision.costs.fee_refund),
    }


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@public_data.register(Case.BecameFinal)
def _became_final(event: Case.BecameFinal) -> dict[str, Any]:
    return {"final_on": _day(event.final_on)}


@public_data.register(Case.DeemedApproved)
def _deemed_approved(event: Case.DeemedApproved) -> dict[str, Any]:
    return {
        "period_ended_on": _day(event.period_ended_on),
        "took_effect_on": _day(event.took_effect_on),
        "legal_basis": event.legal_basis,
    }


@public_data.register(Case.ApprovalExpired)
def _approval_expired(event: Case.ApprovalExpired) -> dict[str, Any]:
    return {
        "valid_until": _day(event.valid_until),
        "expired_on": _day(event.expired_on),
        "legal_basis": event.legal_basis,
    }


@public_data.register(Case.DeemedApprovalCertified)
def _deemed_approval_certified(event: Case.DeemedApprovalCertified) -> dict[str, Any]:
    return {"number": event.number}


for _stall_event, _stall_data in STALL_DATA.items():  # market stall cases (#28)
    public_data.register(_stall_event, _stall_data)


def _published_classes() -> dict[type[Any], str]:
    """The published event classes (the shared lifecycle's and each service's) → public name."""
    found: dict[type[Any], str] = {
        getattr(Case, name): public for name, (public, _) in SHARED_TYPES.items()
    }
    # Events declared in the documents and charges mixins are stored under the mixins' classes.
    for name, (public, _) in SHARED_TYPES.items():
        for mixin in (CaseDocuments, CaseCharges):
            if name in vars(mixin):
                found[getattr(mixin, name)] = public
    for definition in SERVICES.values():
        for name, (public, _) in definition.case_class.PUBLIC_EVENTS.items():
            found[getattr(definition.case_class, name)] = public
    return found


PUBLISHED_CLASSES: Final = _published_classes()


def published_as(event: object) -> str | None:
    """The public name of the event's class (or of a class it derives from), if published."""
    for klass in type(event).__mro__:
        if klass in PUBLISHED_CLASSES:
            return PUBLISHED_CLASSES[klass]
    return None


class Feed(CaseEventLog):
    """Published case events in log order (internal ones are read to keep the status)."""

    name: ClassVar[str] = "feed"
    # 2: the applicant's sealed fields per case. The citizens' offices' tables came with
    # version 2 still: no office-day event existed before them, so nothing published before
    # would change, and published rows are history (a rebuild would re-derive old rows).
    # So with the water meters' table: no meter event was stored before the feed followed them,
    # and with the campaigns' table (the campaigns came with the meters, #26), and with the
    # holiday offerings' table (#27), and with the markets' table (#28).
    version: ClassVar[int] = 2
    row_columns = ROW_COLUMNS
    case_columns = CASE_COLUMNS

    def create_tables(self, tx: ViewTransaction) -> None:
        """Events by sequence, indexed for the filters; the per-case state."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (sequence BIGINT PRIMARY KEY, "
            "id TEXT NOT NULL, type TEXT NOT NULL, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "case_id TEXT NOT NULL, time TEXT NOT NULL, data TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_tenant ON {self.table} (tenant, sequence)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} (case_id TEXT PRIMARY KEY, "
            "reference TEXT NOT NULL, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "status TEXT NOT NULL, applicant TEXT)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.days_table} (office_day TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, office TEXT NOT NULL, day TEXT NOT NULL, slots TEXT NOT NULL, "
            "tickets TEXT NOT NULL)"
        )
        # The code only finds the booking its later events name; it is never published.
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.bookings_table} (reference TEXT PRIMARY KEY, "
            "office_day TEXT NOT NULL, code TEXT NOT NULL, tenant TEXT NOT NULL, "
            "office TEXT NOT NULL, day TEXT NOT NULL, service TEXT NOT NULL, "
            "starts TEXT NOT NULL, contact TEXT, status TEXT NOT NULL, reminded INTEGER NOT NULL)"
        )
        tx.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.bookings_table}_code "
            f"ON {self.bookings_table} (office_day, code)"
        )
        # What a receivable's or a payment request's later events draw from: amounts as
        # decimal text, ids; never the debtor or the payer.
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.receivables_table} (receivable_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, kassenzeichen TEXT NOT NULL, case_id TEXT NOT NULL, "
            "reference TEXT NOT NULL, service TEXT NOT NULL, amount TEXT NOT NULL, "
            "paid TEXT NOT NULL, refunded TEXT NOT NULL, status TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.requests_table} (request_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, business_customer TEXT NOT NULL, total TEXT NOT NULL, "
            "paid TEXT NOT NULL, status TEXT NOT NULL, provider TEXT, provider_reference TEXT, "
            "refunds TEXT NOT NULL)"
        )
        # What a meter's later events draw from: its town, number, property, counter digits
        # and its history as published (number, day, value, kind, campaign year, case).
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.meters_table} (meter_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, meter_number TEXT NOT NULL, property_id TEXT NOT NULL, "
            "main_meter TEXT, digits INTEGER NOT NULL, readings TEXT NOT NULL)"
        )
        # What a campaign's later events draw from: its town, year, start and deadline.
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.campaigns_table} (campaign_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, starts_on TEXT NOT NULL, "
            "deadline TEXT NOT NULL)"
        )
        # What an offering's later events draw from: its town, year, code, days and places.
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.offerings_table} (offering_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, code TEXT NOT NULL, "
            "starts_on TEXT NOT NULL, ends_on TEXT NOT NULL, places INTEGER NOT NULL)"
        )
        create_market_table(tx, self.markets_table)

    @property
    def days_table(self) -> str:
        """Per office day: town, office, day, its slots' starts and its tickets' services."""
        return f"{self.key}_days"

    @property
    def bookings_table(self) -> str:
        """Per booking: its reference, where and when, its sealed contact (until erased)."""
        return f"{self.key}_bookings"

    @property
    def receivables_table(self) -> str:
        """Per receivable: its town, Kassenzeichen, case and amounts so far."""
        return f"{self.key}_receivables"

    @property
    def requests_table(self) -> str:
        """Per payment request: its town, account, total, what was paid, its refunds."""
        return f"{self.key}_requests"

    @property
    def meters_table(self) -> str:
        """Per water meter: its town, number, property and history as published."""
        return f"{self.key}_meters"

    @property
    def campaigns_table(self) -> str:
        """Per reading campaign: its town, year, start and deadline."""
        return f"{self.key}_campaigns"

    @property
    def offerings_table(self) -> str:
        """Per holiday offering: its town, year, code, days and places."""
        return f"{self.key}_offerings"

    @property
    def markets_table(self) -> str:
        """Per market: its town, year, code, kind, days and pitches."""
        return f"{self.key}_markets"

    def tables(self) -> list[str]:
        """Events, cases, office days, bookings, receivables, payment requests, meters,
        reading campaigns, holiday offerings and markets."""
        return [
            *super().tables(),
            self.days_table,
            self.bookings_table,
            self.receivables_table,
            self.requests_table,
            self.meters_table,
            self.campaigns_table,
            self.offerings_table,
            self.markets_table,
        ]

    def topics(self) -> list[str]:
        """Every case event, the notices the scheduler sent for cases, office days' events,
        receivables', payment requests', water meters', reading campaigns', holiday
        offerings' and markets' events."""
        others = [
            get_topic(klass)
            for klass in (
                *APPOINTMENT_EVENTS,
                *PAYMENT_EVENTS,
                *WATER_METER_EVENTS,
                *WATER_CAMPAIGN_EVENTS,
                *HOLIDAY_OFFERING_EVENTS,
                *MARKET_EVENTS,
            )
        ]
        return sorted({*super().topics(), get_topic(TimerNotice.Sent), *others})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Case events as before; an office day's, a receivable's, a payment request's, a
        water meter's, a reading campaign's, a holiday offering's or a market's events with
        its state loaded for the batch."""
        ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, OfficeDay.Event)}
        )
        self._days = OfficeDays(tx, self.days_table, self.bookings_table, ids)
        self._books = PaymentBooks(tx, self.receivables_table, self.requests_table, batch)
        self._meters = WaterMeters(tx, self.meters_table, batch)
        self._campaigns = WaterCampaigns(tx, self.campaigns_table, batch)
        self._offerings = Offerings(tx, self.offerings_table, batch)
        self._markets = FeedMarkets(tx, self.markets_table, batch)
        try:
            super().apply(tx, batch)
            self._days.store()
            self._books.store()
            self._meters.store()
            self._campaigns.store()
            self._offerings.store()
            self._markets.store()
        finally:
            self._days = None
            self._books = None
            self._meters = None
            self._campaigns = None
            self._offerings = None
            self._markets = None

    def _case_of(self, event: Any) -> str:
        """A notice belongs to the case it was sent for; any other event to its aggregate."""
        if isinstance(event, TimerNotice.Sent):
            return str(event.case_id)
        return str(event.originator_id)

    def _row(self, cases: dict[str, dict[str, Any]], applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        if isinstance(event, OfficeDay.Event):
            return self._office_day_row(applied)
        if isinstance(event, Receivable.Event | PaymentRequest.Event):
            books = self._books
            if books is None:  # pragma: no cover - only ever called from apply
                raise RuntimeError("payment books are loaded per batch")
            return books.row(applied)
        if isinstance(event, WaterMeter.Event):
            meters = self._meters
            if meters is None:  # pragma: no cover - only ever called from apply
                raise RuntimeError("water meters are loaded per batch")
            return meters.row(applied)
        if isinstance(event, ReadingCampaign.Event):
            campaigns = self._campaigns
            if campaigns is None:  # pragma: no cover - only ever called from apply
                raise RuntimeError("reading campaigns are loaded per batch")
            return campaigns.row(applied)
        if isinstance(event, HolidayOffering.Event):
            offerings = self._offerings
            if offerings is None:  # pragma: no cover - only ever called from apply
                raise RuntimeError("holiday offerings are loaded per batch")
            return offerings.row(applied)
        if isinstance(event, Market.Event):
            return self._market_row(applied)
        case_id = self._case_of(event)
        if isinstance(event, TimerNotice.Sent):
            return self._notice_row(cases.get(case_id), applied)
        if isinstance(event, Case.Submitted):
            cases[case_id] = {
                "case_id": case_id,
                "reference": event.reference,
                "tenant": event.tenant,
                "service": event.service,
                "status": CaseStatus.SUBMITTED,
                "applicant": self._json.to_text(event.applicant),
            }
        case = cases.get(case_id)
        if case is None:
            return None
        case["status"] = status_after(event, case["status"])
        public = published_as(event)
        if public is None:
            return None
        if isinstance(event, Case.Decided) and event.status == CaseStatus.PENDING_COUNTERSIGN:
            return None  # a draft is not public; its countersignature is
        data: dict[str, Any] = {
            "case_id": case_id,
            "reference": case["reference"],
            "service": case["service"],
            "status": case["status"],
            "version": event.originator_version,
            "links": {"case": f"/api/v1/cases/{case_id}"},
        }
        data |= public_data(event)
        return (
            applied.position,
            str(uuid.uuid5(ID_NAMESPACE, f"{case_id}/{event.originator_version}")),
            f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
            case["tenant"],
            case["service"],
            case_id,
            utc_text(getattr(event, "at", None) or event.timestamp),  # when it happened
            view_json(data),
        )

    def _notice_row(self, case: dict[str, Any] | None, applied: Applied) -> tuple[Any, ...] | None:
        """A reminder or escalation, under its case; it leaves the case's state as it was."""
        event: Any = applied.event
        if case is None:
            return None  # a case the feed never saw submitted
        public, _ = NOTICE_TYPES[f"TimerNotice.{event.sort}"]
        case_id = case["case_id"]
        data: dict[str, Any] = {
            "case_id": case_id,
            "reference": case["reference"],
            "service": case["service"],
            "status": case["status"],
            "version": event.case_version,  # a notice does not move the case's version
            "links": {"case": f"/api/v1/cases/{case_id}"},
            "timer": event.kind,
            "due_on": _day(event.due_on),
            "fired_on": _day(event.fired_on),
            "addressees": list(event.addressees),  # staff and team ids, never names
        }
        return (
            applied.position,
            str(uuid.uuid5(ID_NAMESPACE, f"notice/{event.originator_id}")),
            f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
            case["tenant"],
            case["service"],
            case_id,
            utc_text(event.at),
            view_json(data),
        )

    _days: OfficeDays | None = None  # while a batch is applied: the office days it touches
    _books: PaymentBooks | None = None  # and the receivables and payment requests it touches
    _meters: WaterMeters | None = None  # and the water meters it touches
    _campaigns: WaterCampaigns | None = None  # and the reading campaigns it touches
    _offerings: Offerings | None = None  # and the holiday offerings it touches
    _markets: FeedMarkets | None = None  # and the markets it touches

    def _market_row(self, applied: Applied) -> tuple[Any, ...] | None:
        """A market's event: its state kept, and its public row if it has one."""
        markets = self._markets
        if markets is None:  # pragma: no cover - only ever called from apply
            raise RuntimeError("markets are loaded per batch")
        public = markets.public(applied)
        return None if public is None else _payment_row(applied, *public)

    def _office_day_row(self, applied: Applied) -> tuple[Any, ...] | None:
        """An office day's event: its state kept, and its public row if it has one."""
        event: Any = applied.event
        days = self._days
        if days is None:  # pragma: no cover - only ever called from apply
            raise RuntimeError("office days are loaded per batch")
        office_day = str(event.originator_id)
        if isinstance(event, OfficeDay.Opened):
            days.open(office_day, event)
            return None
        day = days.days.get(office_day)
        if day is None:
            return None  # a day the feed never saw opened
        booking: dict[str, Any] | None
        if isinstance(event, OfficeDay.BookingConfirmed):
            booking = days.book(
                office_day, event, reference=_event_id(office_day, event.originator_version)
            )
            booking["contact"] = self._json.to_text(event.contact)  # sealed, as stored
            return _appointment_row(applied, day, booking, _booking_data(booking))
        if isinstance(event, OfficeDay.BookingCancelled | OfficeDay.ReminderDue):
            booking = days.booking(office_day, event.code)
            if booking is None:
                return None
            data = _booking_data(booking)
            if isinstance(event, OfficeDay.BookingCancelled):
                booking["status"] = "cancelled"
                if KEYWORD.fullmatch(event.reason):  # a keyword; free text would stay unsaid
                    data["reason"] = event.reason
            else:
                booking["reminded"] = 1
                data["links"] = {"contact": contact_link(booking)}
            return _appointment_row(applied, day, booking, data)
        if isinstance(event, OfficeDay.ContactErased):
            booking = days.booking(office_day, event.code)
            if booking is not None:
                booking["contact"] = None  # its key is destroyed: nothing left to open
            return None
        if isinstance(event, OfficeDay.TicketDrawn):
            day["tickets"][event.ticket] = {"queue": event.queue, "service": event.service}
            return None
        return self._ticket_row(applied, day)

    def _ticket_row(self, applied: Applied, day: dict[str, Any]) -> tuple[Any, ...] | None:
        """A call, a service or a no-show: ticket numbers and counters, never names."""
        event: Any = applied.event
        ticket = day["tickets"].get(event.ticket)
        if ticket is None:
            return None
        if isinstance(event, OfficeDay.TicketCalled):
            ticket["counter"] = event.counter
        data: dict[str, Any] = {
            "office": day["office"],
            "day": day["day"],
            "service": ticket["service"],
            "ticket": event.ticket,
            "queue": ticket["queue"],
            "counter": ticket.get("counter"),
        }
        if isinstance(event, OfficeDay.TicketCalled):
            data["call"] = event.call
        subject = day["office_day"]
        return _appointment_row(applied, day, {"service": ticket["service"]}, data, subject)


def _event_id(office_day: str, version: int) -> str:
    """An office day's event's CloudEvents id: stable, so a redelivery has the same id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{office_day}/{version}"))


def contact_link(booking: dict[str, Any]) -> str:
    """Where a service account granted appointments:contact reads the booking's contact."""
    return (
        f"/api/v1/appointments/{booking['tenant']}/{booking['office']}/reminders/"
        f"{booking['reference']}/contact"
    )


def _booking_data(booking: dict[str, Any]) -> dict[str, Any]:
    """What every booking event says: where, when, which service, and its reference."""
    return {
        "office": booking["office"],
        "day": booking["day"],
        "starts": booking["starts"],
        "service": booking["service"],
        "booking": booking["reference"],
    }


def _appointment_row(
    applied: Applied,
    day: dict[str, Any],
    about: dict[str, Any],
    data: dict[str, Any],
    subject: str | None = None,
) -> tuple[Any, ...]:
    event: Any = applied.event
    public, _ = APPOINTMENT_TYPES[f"OfficeDay.{type(event).__name__}"]
    return (
        applied.position,
        _event_id(day["office_day"], event.originator_version),
        f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
        day["tenant"],
        about["service"],
        subject or about["reference"],
        utc_text(event.at),
        view_json(data),
    )


class OfficeDays:
    """The office days a batch touches, and their bookings: read once, stored at its end."""

    def __init__(
        self, tx: ViewTransaction, days_table: str, bookings_table: str, ids: Sequence[str]
    ) -> None:
        self.tx = tx
        self.days_table = days_table
        self.bookings_table = bookings_table
        self.days = {
            office_day: row
            | {"slots": json.loads(row["slots"]), "tickets": json.loads(row["tickets"])}
            for office_day, row in load_rows(tx, days_table, DAY_COLUMNS, ids).items()
        }
        self.bookings: dict[tuple[str, str], dict[str, Any]] = {}

    def open(self, office_day: str, event: Any) -> None:
        """An office day opened: its town, office, day and its slots' starts."""
        day = event.day.isoformat() if isinstance(event.day, date) else str(event.day)
        self.days[office_day] = {
            "office_day": office_day,
            "tenant": event.tenant,
            "office": event.office,
            "day": day,
            "slots": {s["slot"]: s["starts"] for s in event.slots},
            "tickets": {},
        }

    def book(self, office_day: str, event: Any, *, reference: str) -> dict[str, Any]:
        """A new booking of the day, under its reference."""
        day = self.days[office_day]
        hour, minute = (int(p) for p in day["slots"][event.slot].split(":"))
        starts = datetime.combine(date.fromisoformat(day["day"]), time(hour, minute), BERLIN)
        booking = {
            "reference": reference,
            "office_day": office_day,
            "code": event.code,
            "tenant": day["tenant"],
            "office": day["office"],
            "day": day["day"],
            "service": event.service,
            "starts": starts.isoformat(),
            "contact": None,
            "status": "booked",
            "reminded": 0,
        }
        self.bookings[(office_day, event.code)] = booking
        return booking

    def booking(self, office_day: str, code: str) -> dict[str, Any] | None:
        """A booking of the day by its code (None: the feed never saw it confirmed)."""
        key = (office_day, code)
        if key not in self.bookings:
            found = self.tx.query(
                f"SELECT {', '.join(BOOKING_COLUMNS)} FROM {self.bookings_table} "
                "WHERE office_day = ? AND code = ?",
                (office_day, code),
            )
            if not found:
                return None
            self.bookings[key] = dict(zip(BOOKING_COLUMNS, found[0], strict=True))
        return self.bookings[key]

    def store(self) -> None:
        """Write the days and bookings back (each batch touches few)."""
        days = [
            day | {"slots": view_json(day["slots"]), "tickets": view_json(day["tickets"])}
            for day in self.days.values()
        ]
        upsert_rows(self.tx, self.days_table, DAY_COLUMNS, days)
        upsert_rows(self.tx, self.bookings_table, BOOKING_COLUMNS, list(self.bookings.values()))


def reminded_booking(
    views: ViewDatabase, tenant: str, office: str, reference: str
) -> tuple[str, str, str, str] | None:
    """A booking whose reminder fell due and which still stands: (day, starts, service, the
    sealed contact); None for another town's or office's reference, or once erased."""
    feed = Feed()
    found = views.query(
        f"SELECT day, starts, service, contact FROM {feed.bookings_table} WHERE reference = ? "
        "AND tenant = ? AND office = ? AND reminded = 1 AND status = 'booked'",
        (reference, tenant, office),
    )
    if not found or found[0][3] is None:
        return None
    day, starts, service, sealed = found[0]
    return str(day), str(starts), str(service), str(sealed)


class PaymentBooks:
    """The receivables and payment requests a batch touches: read once, stored at its end."""

    def __init__(
        self,
        tx: ViewTransaction,
        receivables_table: str,
        requests_table: str,
        batch: Sequence[Applied],
    ) -> None:
        self.tx = tx
        self.receivables_table = receivables_table
        self.requests_table = requests_table

        def ids(kind: type[Any]) -> list[str]:
            return sorted({str(a.event.originator_id) for a in batch if isinstance(a.event, kind)})

        self.receivables = load_rows(tx, receivables_table, RECEIVABLE_STATE, ids(Receivable.Event))
        self.requests = {
            key: row | {"refunds": json.loads(row["refunds"])}
            for key, row in load_rows(
                tx, requests_table, REQUEST_STATE, ids(PaymentRequest.Event)
            ).items()
        }

    def row(self, applied: Applied) -> tuple[Any, ...] | None:
        """The event's public row (None: internal), its aggregate's state kept."""
        if isinstance(applied.event, Receivable.Event):
            return self._receivable_row(applied)
        return self._request_row(applied)

    def _receivable_row(self, applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        key = str(event.originator_id)
        extra: dict[str, Any] = {}
        if isinstance(event, Receivable.Opened):
            self.receivables[key] = {
                "receivable_id": key,
                "tenant": event.tenant,
                "kassenzeichen": event.kassenzeichen,
                "case_id": str(event.case_id),
                "reference": event.case_reference,
                "service": event.service,
                "amount": _amount(event.amount),
                "paid": "0.00",
                "refunded": "0.00",
                "status": "open",
            }
            town = tenant_named(event.tenant)
            extra = {
                "amount": _amount(event.amount),
                "due_on": _day(event.due_on),
                "ledger": event.ledger,
                "legal_basis": event.legal_basis,
                "prepaid": bool(event.prepaid),
                "town": event.tenant,
                "official_key": town.official_key,
                "business_customer": _text(event.business_customer),
            }
        receivable = self.receivables.get(key)
        if receivable is None:
            return None  # a receivable the feed never saw opened
        if isinstance(event, Receivable.DueDateSet):
            extra = {"due_on": _day(event.due_on)}
        elif isinstance(event, Receivable.PaymentApplied):
            settles = event.status == SETTLED and receivable["status"] != SETTLED
            receivable["paid"] = _amount(Decimal(receivable["paid"]) + event.amount)
            receivable["status"] = event.status
            extra = {
                "amount": _amount(event.amount),
                "applied": _amount(event.applied),
                "overpaid": _amount(event.overpaid),
                "channel": event.channel,
                "received_on": _day(event.received_on),
                "request_id": _text(event.request_id),
                "settled": settles,
            }
        elif isinstance(event, Receivable.Cancelled):
            receivable["status"] = "cancelled"
            extra = {"reason": event.reason} if PAYMENT_KEYWORD.fullmatch(event.reason) else {}
        elif isinstance(event, Receivable.RefundRecorded):
            receivable["refunded"] = _amount(Decimal(receivable["refunded"]) + event.amount)
            extra = {"amount": _amount(event.amount), "refunded": receivable["refunded"]}
        key_name = f"Receivable.{type(event).__name__}"
        if key_name not in RECEIVABLE_TYPES:
            return None
        data = _receivable_data(receivable, event.originator_version) | extra
        return _payment_row(applied, RECEIVABLE_TYPES[key_name][0], receivable, data)

    def _request_row(self, applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        key = str(event.originator_id)
        extra: dict[str, Any] = {}
        if isinstance(event, PaymentRequest.Requested):
            self.requests[key] = {
                "request_id": key,
                "tenant": event.tenant,
                "business_customer": str(event.business_customer),
                "total": _amount(event.total),
                "paid": "0.00",
                "status": "requested",
                "provider": None,
                "provider_reference": None,
                "refunds": {},
            }
            extra = {
                "items": [
                    {
                        "kassenzeichen": item.kassenzeichen,
                        "case_id": str(item.case_id),
                        "reference": item.case_reference,
                        "amount": _amount(item.amount),
                    }
                    for item in event.items
                ],
                "expires_at": utc_text(event.expires_at),
            }
        request = self.requests.get(key)
        if request is None:
            return None  # a request the feed never saw made
        status = getattr(event, "status", None)
        if isinstance(status, str):
            request["status"] = status
        if isinstance(event, PaymentRequest.CheckoutStarted):
            request["provider"] = event.provider
            request["provider_reference"] = event.provider_reference
        elif isinstance(event, PaymentRequest.PaymentReceived):
            request["paid"] = _amount(Decimal(request["paid"]) + event.amount)
            extra = {
                "amount": _amount(event.amount),
                "paid_at": utc_text(event.paid_at),
                "overpaid": _amount(event.overpaid),
                "allocations": [
                    {"kassenzeichen": a.kassenzeichen, "amount": _amount(a.amount)}
                    for a in event.allocations
                ],
            }
        elif isinstance(event, PaymentRequest.PaymentFailed | PaymentRequest.Cancelled):
            extra = {"reason": event.reason} if PAYMENT_KEYWORD.fullmatch(event.reason) else {}
        elif isinstance(event, PaymentRequest.RefundRequested):
            request["refunds"][event.refund] = _amount(event.amount)  # the reason stays sealed
        elif isinstance(event, PaymentRequest.RefundApproved):
            extra = {"refund": event.refund, "amount": request["refunds"].get(event.refund)}
        elif isinstance(event, PaymentRequest.RefundPaid):
            extra = {
                "refund": event.refund,
                "amount": request["refunds"].get(event.refund),
                "provider_refund_reference": event.provider_refund_reference,
            }
        key_name = f"PaymentRequest.{type(event).__name__}"
        if key_name not in REQUEST_TYPES:
            return None
        data = _request_data(request, event.originator_version) | extra
        about = {"tenant": request["tenant"], "service": "", "subject": key}
        return _payment_row(applied, REQUEST_TYPES[key_name][0], about, data)

    def store(self) -> None:
        """Write the receivables and requests back (each batch touches few)."""
        upsert_rows(
            self.tx, self.receivables_table, RECEIVABLE_STATE, list(self.receivables.values())
        )
        requests = [r | {"refunds": view_json(r["refunds"])} for r in self.requests.values()]
        upsert_rows(self.tx, self.requests_table, REQUEST_STATE, requests)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _receivable_data(receivable: dict[str, Any], version: int) -> dict[str, Any]:
    """What every receivable event says: which charge of which case, and where it stands."""
    cancelled = receivable["status"] == "cancelled"
    amount, paid = Decimal(receivable["amount"]), Decimal(receivable["paid"])
    owed = Decimal(0) if cancelled else amount
    outstanding = Decimal(0) if cancelled else max(amount - paid, Decimal(0))
    credit = max(paid - Decimal(receivable["refunded"]) - owed, Decimal(0))
    return {
        "kassenzeichen": receivable["kassenzeichen"],
        "case_id": receivable["case_id"],
        "reference": receivable["reference"],
        "service": receivable["service"],
        "status": receivable["status"],
        "outstanding": _amount(outstanding.quantize(Decimal("0.01"))),
        "credit": _amount(credit.quantize(Decimal("0.01"))),
        "currency": "EUR",
        "version": version,
        "links": {"case": f"/api/v1/cases/{receivable['case_id']}"},
    }


def _request_data(request: dict[str, Any], version: int) -> dict[str, Any]:
    """What every payment request event says: whose, how much, where it stands."""
    return {
        "payment_request": request["request_id"],
        "business_customer": request["business_customer"],
        "status": request["status"],
        "total": request["total"],
        "paid": request["paid"],
        "currency": "EUR",
        "provider": request["provider"],
        "provider_reference": request["provider_reference"],
        "version": version,
        "links": {"payment_request": f"/api/v1/payment-requests/{request['request_id']}"},
    }


def _payment_row(
    applied: Applied, public: str, about: dict[str, Any], data: dict[str, Any]
) -> tuple[Any, ...]:
    """A receivable's row has its id as subject and its case's service; a request's, its id."""
    event: Any = applied.event
    aggregate = str(event.originator_id)
    return (
        applied.position,
        _event_id(aggregate, event.originator_version),
        f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
        about["tenant"],
        about["service"],
        about.get("subject", aggregate),
        utc_text(event.at),
        view_json(data),
    )


class WaterMeters:
    """The water meters a batch touches, with their histories: read once, stored at its end.

    Each reading event is published with its number in the meter's history (the
    installation is number 1, as in ``WaterMeter.readings``); a recalibration records no
    reading.
    """

    def __init__(self, tx: ViewTransaction, table: str, batch: Sequence[Applied]) -> None:
        self.tx = tx
        self.table = table
        ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, WaterMeter.Event)}
        )
        self.meters = {
            key: row | {"readings": json.loads(row["readings"])}
            for key, row in load_rows(tx, table, METER_STATE, ids).items()
        }

    def row(self, applied: Applied) -> tuple[Any, ...] | None:
        """The event's public row, the meter's state and history kept (None: never installed)."""
        event: Any = applied.event
        key = str(event.originator_id)
        if isinstance(event, WaterMeter.Installed):
            self.meters[key] = {
                "meter_id": key,
                "tenant": event.tenant,
                "meter_number": event.meter_number,
                "property_id": event.property_id,
                "main_meter": _text(event.main_meter),
                "digits": event.digits,
                "readings": [],
            }
        meter = self.meters.get(key)
        if meter is None:
            return None  # a meter the feed never saw installed
        extra: dict[str, Any]
        if isinstance(event, WaterMeter.Recalibrated):
            extra = {"calibration_valid_until": _day(event.calibration_valid_until)}
        else:
            extra = self._reading(meter, event)
        key_name = f"WaterMeter.{type(event).__name__}"
        if key_name not in WATER_METER_TYPES:
            return None
        public, _ = WATER_METER_TYPES[key_name]
        data = _meter_data(meter, event.originator_version) | extra
        if data.get("case_id") is not None:
            data["links"]["case"] = f"/api/v1/cases/{data['case_id']}"
        about = {"tenant": meter["tenant"], "service": WATER_SERVICE}
        return _payment_row(applied, public, about, data)

    def _reading(self, meter: dict[str, Any], event: Any) -> dict[str, Any]:
        """The reading the event adds to the history, as published, and kept for later ones."""
        readings: list[dict[str, Any]] = meter["readings"]
        reading: dict[str, Any] = {
            "number": len(readings) + 1,
            "read_on": None,
            "value": None,
            "kind": None,
            "consumption": None,
            "flags": [],
            "campaign_year": None,
            "case_id": None,
        }
        extra: dict[str, Any] = {}
        if isinstance(event, WaterMeter.Installed):
            reading |= {"read_on": _day(event.installed_on), "value": _amount(event.start_value)}
            reading["kind"] = "installed"
            extra = {
                "installed_on": _day(event.installed_on),
                "calibration_valid_until": _day(event.calibration_valid_until),
                "digits": event.digits,
            }
        elif isinstance(event, WaterMeter.ReadingRecorded):
            reading |= {
                "read_on": _day(event.read_on),
                "value": _amount(event.value),
                "kind": "reported",
                "consumption": _amount(event.consumption),
                "flags": list(event.flags),
                "campaign_year": event.campaign_year,
                "case_id": str(event.case_id),
            }
        elif isinstance(event, WaterMeter.ReadingEstimated):
            reading |= {
                "read_on": _day(event.read_on),
                "value": _amount(event.value),
                "kind": "estimated",
                "consumption": _amount(event.consumption),
                "campaign_year": event.campaign_year,
            }
        elif isinstance(event, WaterMeter.ReadingCorrected):
            corrected = readings[event.corrects - 1]
            reading |= {
                "read_on": _day(event.read_on),
                "value": _amount(event.value),
                "kind": "corrected",
                "consumption": _consumption_to(meter, event.read_on, event.value),
                "campaign_year": corrected["campaign_year"],
                "case_id": corrected["case_id"],
            }
            extra = {"corrects": event.corrects, "corrected_value": corrected["value"]}
            if PAYMENT_KEYWORD.fullmatch(event.reason):  # free text may name people
                extra["reason"] = event.reason
        elif isinstance(event, WaterMeter.Removed):
            reading |= {
                "read_on": _day(event.removed_on),
                "value": _amount(event.value),
                "kind": "removed",
                "consumption": _amount(event.consumption),
                "flags": list(event.flags),
            }
            extra = {"removed_on": _day(event.removed_on)}
        readings.append(reading)
        return reading | extra

    def store(self) -> None:
        """Write the meters back (each batch touches few)."""
        meters = [m | {"readings": view_json(m["readings"])} for m in self.meters.values()]
        upsert_rows(self.tx, self.table, METER_STATE, meters)


def _standing(readings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One reading a day, in order of date: the last correction, else the last recorded
    (as ``WaterMeter`` reads its history)."""
    by_day: dict[str, dict[str, Any]] = {}
    for reading in readings:
        kept = by_day.get(reading["read_on"])
        if kept is None or reading["kind"] == "corrected" or kept["kind"] != "corrected":
            by_day[reading["read_on"]] = reading
    return [by_day[day] for day in sorted(by_day)]


def _consumption_to(meter: dict[str, Any], read_on: date, value: Decimal) -> str | None:
    """A corrected value's consumption since the reading standing on the day before it
    (a lower value: the counter rolled over); None for the first day of the history."""
    before = [r for r in _standing(meter["readings"]) if r["read_on"] < read_on.isoformat()]
    if not before:
        return None
    last = Decimal(before[-1]["value"])
    capacity = Decimal(10) ** int(meter["digits"])
    return _amount(value - last if value >= last else capacity - last + value)


def _meter_data(meter: dict[str, Any], version: int) -> dict[str, Any]:
    """What every water meter event says: which meter of which town and property."""
    return {
        "tenant": meter["tenant"],
        "meter_id": meter["meter_id"],
        "meter_number": meter["meter_number"],
        "property_id": meter["property_id"],
        "main_meter": meter["main_meter"],
        "service": WATER_SERVICE,
        "version": version,
        "links": {"meter": f"/api/v1/water-meters/{meter['meter_id']}"},
    }


class WaterCampaigns:
    """The reading campaigns a batch touches: read once, stored at its end.

    Only the campaign's opening names its town and year; its later events draw them from
    here. Who opened, estimated or closed it is never published.
    """

    def __init__(self, tx: ViewTransaction, table: str, batch: Sequence[Applied]) -> None:
        self.tx = tx
        self.table = table
        ids = sorted(
            {
                str(a.event.originator_id)
                for a in batch
                if isinstance(a.event, ReadingCampaign.Event)
            }
        )
        self.campaigns = load_rows(tx, table, CAMPAIGN_STATE, ids)

    def row(self, applied: Applied) -> tuple[Any, ...] | None:
        """The event's public row, the campaign kept (None: never seen opened)."""
        event: Any = applied.event
        key = str(event.originator_id)
        if isinstance(event, ReadingCampaign.Opened):
            self.campaigns[key] = {
                "campaign_id": key,
                "tenant": event.tenant,
                "year": event.year,
                "starts_on": _day(event.starts_on),
                "deadline": _day(event.deadline),
            }
        campaign = self.campaigns.get(key)
        key_name = f"ReadingCampaign.{type(event).__name__}"
        if campaign is None or key_name not in WATER_CAMPAIGN_TYPES:
            return None  # a campaign the feed never saw opened
        extra: dict[str, Any] = {}
        if isinstance(event, ReadingCampaign.EstimatesMade):
            extra = {
                "estimated": event.estimated,
                "not_estimable": event.not_estimable,
                "estimated_at": utc_text(event.at),
            }
        elif isinstance(event, ReadingCampaign.Closed):
            extra = {"closed_at": utc_text(event.at)}
        public, _ = WATER_CAMPAIGN_TYPES[key_name]
        data = _campaign_data(campaign, event.originator_version) | extra
        about = {"tenant": campaign["tenant"], "service": WATER_SERVICE}
        return _payment_row(applied, public, about, data)

    def store(self) -> None:
        """Write the campaigns back (each batch touches few)."""
        upsert_rows(self.tx, self.table, CAMPAIGN_STATE, list(self.campaigns.values()))


def _campaign_data(campaign: dict[str, Any], version: int) -> dict[str, Any]:
    """What every campaign event says: which town's campaign of which year, until when."""
    return {
        "tenant": campaign["tenant"],
        "campaign_id": campaign["campaign_id"],
        "year": int(campaign["year"]),
        "starts_on": campaign["starts_on"],
        "deadline": campaign["deadline"],
        "service": WATER_SERVICE,
        "version": version,
        "links": {"campaign": f"/api/v1/water-campaigns/{campaign['year']}"},
    }


class Offerings:
    """The holiday offerings a batch touches: read once, stored at its end.

    Only the offering's publication names its town, year and code; its later events draw
    them from here. What the draw counted comes from its record's lists (lengths only);
    who did it, the children and the seed are never published.
    """

    def __init__(self, tx: ViewTransaction, table: str, batch: Sequence[Applied]) -> None:
        self.tx = tx
        self.table = table
        ids = sorted(
            {
                str(a.event.originator_id)
                for a in batch
                if isinstance(a.event, HolidayOffering.Event)
            }
        )
        self.offerings = load_rows(tx, table, OFFERING_STATE, ids)

    def row(self, applied: Applied) -> tuple[Any, ...] | None:
        """The event's public row, the offering kept (None: never seen published, or an
        event that is not published)."""
        event: Any = applied.event
        key = str(event.originator_id)
        extra: dict[str, Any] = {}
        if isinstance(event, HolidayOffering.Published):
            self.offerings[key] = {
                "offering_id": key,
                "tenant": event.tenant,
                "year": event.year,
                "code": event.code,
                "starts_on": _day(event.starts_on),
                "ends_on": _day(event.ends_on),
                "places": event.places,
            }
            extra = {
                "activity": event.activity,
                "location": event.location,
                "min_age": event.min_age,
                "max_age": event.max_age,
                "fee": _amount(event.fee),
                "currency": "EUR",
                "registration_opens_at": utc_text(event.registration_opens_at),
                "registration_closes_at": utc_text(event.registration_closes_at),
                "rules": dict(event.rules),  # as published: booleans and a number
            }
        offering = self.offerings.get(key)
        key_name = f"HolidayOffering.{type(event).__name__}"
        if offering is None or key_name not in HOLIDAY_OFFERING_TYPES:
            return None
        if isinstance(event, HolidayOffering.WindowClosed):
            extra = {"closed_at": utc_text(event.at)}
            if PAYMENT_KEYWORD.fullmatch(event.reason):  # free text may name people
                extra["reason"] = event.reason
        elif isinstance(event, HolidayOffering.PlacesDrawn):
            record = event.record
            allocated, waiting = len(record["allocated"]), len(record["waiting"])
            extra = {
                "drawn_at": utc_text(event.at),
                "algorithm": record["algorithm"],
                "children": allocated + waiting,
                "allocated": allocated,
                "waiting": waiting,
            }
        elif isinstance(event, HolidayOffering.PlaceMovedUp):
            extra = {
                "case_id": str(event.case_id),
                "child": event.child,
                "from_position": event.from_position,
                "because_of": str(event.because_of),
            }
        elif isinstance(event, HolidayOffering.HealthNotesErased):
            extra = {"erased_at": utc_text(event.at), "registrations": len(event.cases)}
        public, _ = HOLIDAY_OFFERING_TYPES[key_name]
        data = _offering_data(offering, event.originator_version) | extra
        if "case_id" in extra:
            data["links"]["case"] = f"/api/v1/cases/{extra['case_id']}"
        about = {"tenant": offering["tenant"], "service": HOLIDAY_SERVICE}
        return _payment_row(applied, public, about, data)

    def store(self) -> None:
        """Write the offerings back (each batch touches few)."""
        upsert_rows(self.tx, self.table, OFFERING_STATE, list(self.offerings.values()))


def _offering_data(offering: dict[str, Any], version: int) -> dict[str, Any]:
    """What every offering event says: which town's offering of which year, when, how many
    places."""
    return {
        "tenant": offering["tenant"],
        "offering_id": offering["offering_id"],
        "year": int(offering["year"]),
        "code": offering["code"],
        "starts_on": offering["starts_on"],
        "ends_on": offering["ends_on"],
        "places": int(offering["places"]),
        "service": HOLIDAY_SERVICE,
        "version": version,
        "links": {"offering": f"/api/v1/holiday-offerings/{offering['offering_id']}"},
    }
