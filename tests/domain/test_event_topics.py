"""Declared event classes keep the topics the events were stored under before.

A stored event names its class by topic (``module:Qualname``); a class that moved or was
renamed would leave every stored event of it unreadable. The literals below were listed
from the code before the events were declared as classes (``@event("Name")``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from eventsourcing.domain import Aggregate, CanMutateAggregate, decorated_func_callers
from eventsourcing.utils import get_topic

import domain
from domain.case import Case
from domain.services.road_opening import RoadOpeningPermit
from tests.domain.case_fixtures import CLERK, in_review, submitted

# Every command method's event, as it was stored: a command of the shared lifecycle records
# the Case's class even on a service's case (the library triggers the class of the method).
RECORDED_BY_METHOD = {
    "domain.case_charges:CaseCharges._billed_to": ("domain.case_charges:CaseCharges.BilledTo"),
    "domain.case_charges:CaseCharges._charge_settled": (
        "domain.case_charges:CaseCharges.ChargeSettled"
    ),
    # issue 25: a later assessment withdraws a charge
    "domain.case_charges:CaseCharges._charge_withdrawn": (
        "domain.case_charges:CaseCharges.ChargeWithdrawn"
    ),
    "domain.case_charges:CaseCharges._fee_charged": ("domain.case_charges:CaseCharges.FeeCharged"),
    "domain.payments.business_customer:BusinessCustomer._member_added": (
        "domain.payments.business_customer:BusinessCustomer.MemberAdded"
    ),
    "domain.payments.business_customer:BusinessCustomer._member_removed": (
        "domain.payments.business_customer:BusinessCustomer.MemberRemoved"
    ),
    "domain.payments.payment_request:PaymentRequest._cancelled": (
        "domain.payments.payment_request:PaymentRequest.Cancelled"
    ),
    "domain.payments.payment_request:PaymentRequest._checkout_started": (
        "domain.payments.payment_request:PaymentRequest.CheckoutStarted"
    ),
    "domain.payments.payment_request:PaymentRequest._expired": (
        "domain.payments.payment_request:PaymentRequest.Expired"
    ),
    "domain.payments.payment_request:PaymentRequest._payment_failed": (
        "domain.payments.payment_request:PaymentRequest.PaymentFailed"
    ),
    "domain.payments.payment_request:PaymentRequest._payment_received": (
        "domain.payments.payment_request:PaymentRequest.PaymentReceived"
    ),
    "domain.payments.payment_request:PaymentRequest._refund_approved": (
        "domain.payments.payment_request:PaymentRequest.RefundApproved"
    ),
    "domain.payments.payment_request:PaymentRequest._refund_paid": (
        "domain.payments.payment_request:PaymentRequest.RefundPaid"
    ),
    "domain.payments.payment_request:PaymentRequest._refund_rejected": (
        "domain.payments.payment_request:PaymentRequest.RefundRejected"
    ),
    "domain.payments.payment_request:PaymentRequest._refund_requested": (
        "domain.payments.payment_request:PaymentRequest.RefundRequested"
    ),
    "domain.payments.receivable:Receivable._cancelled": (
        "domain.payments.receivable:Receivable.Cancelled"
    ),
    "domain.payments.receivable:Receivable._due_date_set": (
        "domain.payments.receivable:Receivable.DueDateSet"
    ),
    "domain.payments.receivable:Receivable._payment_applied": (
        "domain.payments.receivable:Receivable.PaymentApplied"
    ),
    "domain.payments.receivable:Receivable._refund_recorded": (
        "domain.payments.receivable:Receivable.RefundRecorded"
    ),
    "domain.payments.reconciliation:Reconciliation._reconciled": (
        "domain.payments.reconciliation:Reconciliation.Reconciled"
    ),
    "domain.appointments.office_day:OfficeDay._booking_cancelled": (
        "domain.appointments.office_day:OfficeDay.BookingCancelled"
    ),
    "domain.appointments.office_day:OfficeDay._booking_confirmed": (
        "domain.appointments.office_day:OfficeDay.BookingConfirmed"
    ),
    "domain.appointments.office_day:OfficeDay._contact_erased": (
        "domain.appointments.office_day:OfficeDay.ContactErased"
    ),
    "domain.appointments.office_day:OfficeDay._reminder_due": (
        "domain.appointments.office_day:OfficeDay.ReminderDue"
    ),
    "domain.appointments.office_day:OfficeDay._slot_held": (
        "domain.appointments.office_day:OfficeDay.SlotHeld"
    ),
    "domain.appointments.office_day:OfficeDay._ticket_called": (
        "domain.appointments.office_day:OfficeDay.TicketCalled"
    ),
    "domain.appointments.office_day:OfficeDay._ticket_drawn": (
        "domain.appointments.office_day:OfficeDay.TicketDrawn"
    ),
    "domain.appointments.office_day:OfficeDay._ticket_missed": (
        "domain.appointments.office_day:OfficeDay.TicketMissed"
    ),
    "domain.appointments.office_day:OfficeDay._ticket_served": (
        "domain.appointments.office_day:OfficeDay.TicketServed"
    ),
    "domain.case:Case._approval_expired": "domain.case:Case.ApprovalExpired",
    "domain.case:Case._assigned": "domain.case:Case.Assigned",
    "domain.case:Case._became_final": "domain.case:Case.BecameFinal",
    "domain.case:Case._claimed": "domain.case:Case.Claimed",
    "domain.case:Case._closed": "domain.case:Case.Closed",
    "domain.case:Case._completeness_confirmed": "domain.case:Case.CompletenessConfirmed",
    "domain.case:Case._countersign_refused": "domain.case:Case.CountersignRefused",
    "domain.case:Case._countersigned": "domain.case:Case.Countersigned",
    "domain.case:Case._decided": "domain.case:Case.Decided",
    "domain.case:Case._deemed_approval_certified": "domain.case:Case.DeemedApprovalCertified",
    "domain.case:Case._deemed_approved": "domain.case:Case.DeemedApproved",
    "domain.case:Case._information_provided": "domain.case:Case.InformationProvided",
    "domain.case:Case._information_requested": "domain.case:Case.InformationRequested",
    "domain.case:Case._note_added": "domain.case:Case.NoteAdded",
    "domain.case:Case._notified": "domain.case:Case.Notified",
    "domain.case:Case._objection_decided": "domain.case:Case.ObjectionDecided",
    "domain.case:Case._objection_forwarded": "domain.case:Case.ObjectionForwarded",
    "domain.case:Case._objection_heard": "domain.case:Case.ObjectionHeard",
    "domain.case:Case._objection_lodged": "domain.case:Case.ObjectionLodged",
    "domain.case:Case._objection_remedied": "domain.case:Case.ObjectionRemedied",
    "domain.case:Case._objection_withdrawn": "domain.case:Case.ObjectionWithdrawn",
    "domain.case:Case._payment_recorded": "domain.case:Case.PaymentRecorded",
    "domain.case:Case._period_extended": "domain.case:Case.PeriodExtended",
    "domain.case:Case._personal_data_erased": "domain.case:Case.PersonalDataErased",
    "domain.case:Case._reinstatement_granted": "domain.case:Case.ReinstatementGranted",
    "domain.case:Case._released": "domain.case:Case.Released",
    "domain.case:Case._remedy_notice_found_defective": (
        "domain.case:Case.RemedyNoticeFoundDefective"
    ),
    "domain.case:Case._withdrawn": "domain.case:Case.Withdrawn",
    # issue 22: the documents a case issues and their delivery (mixed into every case)
    "domain.case_documents:CaseDocuments._delivery_reported": (
        "domain.case_documents:CaseDocuments.DeliveryReported"
    ),
    "domain.case_documents:CaseDocuments._document_issued": (
        "domain.case_documents:CaseDocuments.DocumentIssued"
    ),
    "domain.case_documents:CaseDocuments._document_sent": (
        "domain.case_documents:CaseDocuments.DocumentSent"
    ),
    "domain.reference:ReferenceCounter._handed_over": (
        "domain.reference:ReferenceCounter.HandedOver"
    ),
    "domain.reference:ReferenceCounter._issued": "domain.reference:ReferenceCounter.Issued",
    # issue 25: the dog register, the roll of tax tags and the keeper's household
    "domain.services.dog_register:DogHousehold._dog_details_changed": (
        "domain.services.dog_register:DogHousehold.DogDetailsChanged"
    ),
    "domain.services.dog_register:DogHousehold._dog_entered": (
        "domain.services.dog_register:DogHousehold.DogEntered"
    ),
    "domain.services.dog_register:DogHousehold._dog_left": (
        "domain.services.dog_register:DogHousehold.DogLeft"
    ),
    "domain.services.dog_register:DogRegister._deregistered": (
        "domain.services.dog_register:DogRegister.Deregistered"
    ),
    "domain.services.dog_register:DogRegister._registered": (
        "domain.services.dog_register:DogRegister.Registered"
    ),
    "domain.services.dog_register:TaxTagRoll._tag_issued": (
        "domain.services.dog_register:TaxTagRoll.TagIssued"
    ),
    "domain.services.dog_register:TaxTagRoll._tag_withdrawn": (
        "domain.services.dog_register:TaxTagRoll.TagWithdrawn"
    ),
    # issue 25: the dog registration service
    "domain.services.dog_registration:DogRegistration._dangerous_dog_permit_decided": (
        "domain.services.dog_registration:DogRegistration.DangerousDogPermitDecided"
    ),
    "domain.services.dog_registration:DogRegistration._dog_deregistered": (
        "domain.services.dog_registration:DogRegistration.DogDeregistered"
    ),
    "domain.services.dog_registration:DogRegistration._dog_found_dangerous": (
        "domain.services.dog_registration:DogRegistration.DogFoundDangerous"
    ),
    "domain.services.dog_registration:DogRegistration._dog_registered": (
        "domain.services.dog_registration:DogRegistration.DogRegistered"
    ),
    "domain.services.dog_registration:DogRegistration._relief_decided": (
        "domain.services.dog_registration:DogRegistration.ReliefDecided"
    ),
    "domain.services.dog_registration:DogRegistration._tag_replaced": (
        "domain.services.dog_registration:DogRegistration.TagReplaced"
    ),
    "domain.services.dog_registration:DogRegistration._tax_change_notified": (
        "domain.services.dog_registration:DogRegistration.TaxChangeNotified"
    ),
    "domain.services.dog_registration:DogRegistration._tax_year_assessed": (
        "domain.services.dog_registration:DogRegistration.TaxYearAssessed"
    ),
    "domain.services.grave:Grave._burial_recorded": "domain.services.grave:Grave.BurialRecorded",
    "domain.services.grave:Grave._place_released": "domain.services.grave:Grave.PlaceReleased",
    "domain.services.grave:Grave._place_reserved": "domain.services.grave:Grave.PlaceReserved",
    "domain.services.grave:Grave._right_extended": "domain.services.grave:Grave.RightExtended",
    "domain.services.grave:Grave._right_granted": "domain.services.grave:Grave.RightGranted",
    "domain.services.grave:Grave._right_returned": "domain.services.grave:Grave.RightReturned",
    "domain.services.grave:Grave._right_transferred": (
        "domain.services.grave:Grave.RightTransferred"
    ),
    "domain.services.parking_holding:PermitHolding._released": (
        "domain.services.parking_holding:PermitHolding.Released"
    ),
    "domain.services.parking_holding:PermitHolding._taken": (
        "domain.services.parking_holding:PermitHolding.Taken"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._number_plate_changed": (
        "domain.services.resident_parking:ResidentParkingPermit.NumberPlateChanged"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._permit_returned": (
        "domain.services.resident_parking:ResidentParkingPermit.PermitReturned"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._permit_revoked": (
        "domain.services.resident_parking:ResidentParkingPermit.PermitRevoked"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._renewed": (
        "domain.services.resident_parking:ResidentParkingPermit.PermitRenewed"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._permit_decision_notified": (
        "domain.services.resident_parking:ResidentParkingPermit.PermitDecisionNotified"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._revocation_became_final": (
        "domain.services.resident_parking:ResidentParkingPermit.RevocationBecameFinal"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._revocation_objection_decided": (
        "domain.services.resident_parking:ResidentParkingPermit.RevocationObjectionDecided"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._revocation_objection_lodged": (
        "domain.services.resident_parking:ResidentParkingPermit.RevocationObjectionLodged"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._revocation_objection_remedied": (
        "domain.services.resident_parking:ResidentParkingPermit.RevocationObjectionRemedied"
    ),
    "domain.services.resident_parking:ResidentParkingPermit._revocation_objection_withdrawn": (
        "domain.services.resident_parking:ResidentParkingPermit.RevocationObjectionWithdrawn"
    ),
    "domain.services.road_opening:RoadOpeningPermit._permit_extended": (
        "domain.services.road_opening:RoadOpeningPermit.PermitExtended"
    ),
    "domain.services.road_opening:RoadOpeningPermit._restoration_inspected": (
        "domain.services.road_opening:RoadOpeningPermit.RestorationInspected"
    ),
    "domain.services.road_opening:RoadOpeningPermit._security_deposit_released": (
        "domain.services.road_opening:RoadOpeningPermit.SecurityDepositReleased"
    ),
    "domain.services.road_opening:RoadOpeningPermit._security_deposit_taken": (
        "domain.services.road_opening:RoadOpeningPermit.SecurityDepositTaken"
    ),
    "domain.services.road_opening:RoadOpeningPermit._sign_order_linked": (
        "domain.services.road_opening:RoadOpeningPermit.SignOrderLinked"
    ),
    "domain.services.road_opening:RoadOpeningPermit._works_completed": (
        "domain.services.road_opening:RoadOpeningPermit.WorksCompleted"
    ),
    "domain.services.road_opening:RoadOpeningPermit._works_started": (
        "domain.services.road_opening:RoadOpeningPermit.WorksStarted"
    ),
    "domain.services.sewer_connection:SewerConnection._connection_accepted": (
        "domain.services.sewer_connection:SewerConnection.ConnectionAccepted"
    ),
    "domain.services.sewer_connection:SewerConnection._connection_charge_assessed": (
        "domain.services.sewer_connection:SewerConnection.ConnectionChargeAssessed"
    ),
    "domain.services.sewer_connection:SewerConnection._connection_defects_found": (
        "domain.services.sewer_connection:SewerConnection.ConnectionDefectsFound"
    ),
    "domain.services.burial:BurialRegistration._burial_cancelled": (
        "domain.services.burial:BurialRegistration.BurialCancelled"
    ),
    "domain.services.burial:BurialRegistration._burial_carried_out": (
        "domain.services.burial:BurialRegistration.BurialCarriedOut"
    ),
    "domain.services.grave_right:GraveRightCase._grave_checked": (
        "domain.services.grave_right:GraveRightCase.GraveChecked"
    ),
    "domain.services.headstone_permit:HeadstonePermit._headstone_inspected": (
        "domain.services.headstone_permit:HeadstonePermit.HeadstoneInspected"
    ),
    "domain.services.headstone_permit:HeadstonePermit._headstone_set": (
        "domain.services.headstone_permit:HeadstonePermit.HeadstoneSet"
    ),
    "domain.services.headstone_permit:HeadstonePermit._stability_checked": (
        "domain.services.headstone_permit:HeadstonePermit.StabilityChecked"
    ),
    "domain.services.sewer_connection:SewerConnection._connection_point_determined": (
        "domain.services.sewer_connection:SewerConnection.ConnectionPointDetermined"
    ),
    "domain.services.sewer_connection:SewerConnection._construction_reported": (
        "domain.services.sewer_connection:SewerConnection.ConstructionReported"
    ),
    "domain.services.sewer_connection:SewerConnection._connection_charge_notified": (
        "domain.services.sewer_connection:SewerConnection.ConnectionChargeNotified"
    ),
    "domain.services.sewer_connection:SewerConnection._drainage_plans_recorded": (
        "domain.services.sewer_connection:SewerConnection.DrainagePlansRecorded"
    ),
    "domain.services.sewer_connection:SewerConnection._leak_test_recorded": (
        "domain.services.sewer_connection:SewerConnection.LeakTestRecorded"
    ),
    "domain.services.sewer_connection:SewerConnection._owner_authorisation_recorded": (
        "domain.services.sewer_connection:SewerConnection.OwnerAuthorisationRecorded"
    ),
    "domain.services.traffic_sign_order:TrafficSignOrder._authority_heard": (
        "domain.services.traffic_sign_order:TrafficSignOrder.AuthorityHeard"
    ),
    "domain.services.traffic_sign_order:TrafficSignOrder._signs_put_up": (
        "domain.services.traffic_sign_order:TrafficSignOrder.SignsPutUp"
    ),
    "domain.services.traffic_sign_order:TrafficSignOrder._signs_removed": (
        "domain.services.traffic_sign_order:TrafficSignOrder.SignsRemoved"
    ),
    "domain.team_roster:TeamRoster._team_configured": (
        "domain.team_roster:TeamRoster.TeamConfigured"
    ),
    "domain.team_roster:TeamRoster._team_dissolved": "domain.team_roster:TeamRoster.TeamDissolved",
    # issue 29: webhook subscriptions
    "domain.webhooks:Subscription._dead_lettered": "domain.webhooks:Subscription.DeadLettered",
    "domain.webhooks:Subscription._deleted": "domain.webhooks:Subscription.Deleted",
    "domain.webhooks:Subscription._disabled": "domain.webhooks:Subscription.Disabled",
    "domain.webhooks:Subscription._enabled": "domain.webhooks:Subscription.Enabled",
    "domain.webhooks:Subscription._redelivered": "domain.webhooks:Subscription.Redelivered",
    "domain.webhooks:Subscription._redelivery_requested": (
        "domain.webhooks:Subscription.RedeliveryRequested"
    ),
    # issue 26: a town's water meters, its reading campaign of a year, a reading's file
    "domain.services.water_reading:WaterMeterReading._meter_assigned": (
        "domain.services.water_reading:WaterMeterReading.MeterAssigned"
    ),
    "domain.services.water_reading:WaterMeterReading._reading_checked": (
        "domain.services.water_reading:WaterMeterReading.ReadingChecked"
    ),
    "domain.services.water_reading:WaterMeterReading._reading_confirmed": (
        "domain.services.water_reading:WaterMeterReading.ReadingConfirmed"
    ),
    "domain.services.water_reading:WaterMeterReading._reading_corrected": (
        "domain.services.water_reading:WaterMeterReading.ReadingCorrectedByClerk"
    ),
    "domain.services.water_reading:WaterMeterReading._reading_rejected": (
        "domain.services.water_reading:WaterMeterReading.ReadingRejected"
    ),
    # issue 28: a town's markets of a year, a market, a trader's stall application
    "domain.markets.calendar:MarketCalendar._market_listed": (
        "domain.markets.calendar:MarketCalendar.MarketListed"
    ),
    "domain.markets.market:Market._application_recorded": (
        "domain.markets.market:Market.ApplicationRecorded"
    ),
    "domain.markets.market:Market._application_withdrawn": (
        "domain.markets.market:Market.ApplicationWithdrawn"
    ),
    "domain.markets.market:Market._offer_declined": ("domain.markets.market:Market.OfferDeclined"),
    "domain.markets.market:Market._offer_expired": ("domain.markets.market:Market.OfferExpired"),
    "domain.markets.market:Market._pitch_assigned": ("domain.markets.market:Market.PitchAssigned"),
    "domain.markets.market:Market._pitch_given_up": ("domain.markets.market:Market.PitchGivenUp"),
    "domain.markets.market:Market._pitch_offered": ("domain.markets.market:Market.PitchOffered"),
    "domain.markets.market:Market._selection_made": ("domain.markets.market:Market.SelectionMade"),
    "domain.services.market_stall:MarketStallApplication._application_recorded": (
        "domain.services.market_stall:MarketStallApplication.ApplicationRecorded"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_given_up": (
        "domain.services.market_stall:MarketStallApplication.PitchGivenUp"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_revoked": (
        "domain.services.market_stall:MarketStallApplication.PitchRevoked"
    ),
    "domain.services.market_stall:MarketStallApplication._admitted_on_remedy": (
        "domain.services.market_stall:MarketStallApplication.AdmittedOnRemedy"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_offer_accepted": (
        "domain.services.market_stall:MarketStallApplication.PitchOfferAccepted"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_offer_declined": (
        "domain.services.market_stall:MarketStallApplication.PitchOfferDeclined"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_offer_expired": (
        "domain.services.market_stall:MarketStallApplication.PitchOfferExpired"
    ),
    "domain.services.market_stall:MarketStallApplication._pitch_offer_noted": (
        "domain.services.market_stall:MarketStallApplication.PitchOfferNoted"
    ),
    "domain.services.market_stall:MarketStallApplication._score_sheet_recorded": (
        "domain.services.market_stall:MarketStallApplication.ScoreSheetRecorded"
    ),
    "domain.services.market_stall:MarketStallApplication._selection_noted": (
        "domain.services.market_stall:MarketStallApplication.SelectionNoted"
    ),
    # issue 27: the holiday programme
    "domain.holiday.offering:HolidayOffering._health_notes_erased": (
        "domain.holiday.offering:HolidayOffering.HealthNotesErased"
    ),
    "domain.holiday.offering:HolidayOffering._place_moved_up": (
        "domain.holiday.offering:HolidayOffering.PlaceMovedUp"
    ),
    "domain.holiday.offering:HolidayOffering._places_drawn": (
        "domain.holiday.offering:HolidayOffering.PlacesDrawn"
    ),
    "domain.holiday.offering:HolidayOffering._registration_cancelled": (
        "domain.holiday.offering:HolidayOffering.RegistrationCancelled"
    ),
    "domain.holiday.offering:HolidayOffering._registration_recorded": (
        "domain.holiday.offering:HolidayOffering.RegistrationRecorded"
    ),
    "domain.holiday.offering:HolidayOffering._staff_changed": (
        "domain.holiday.offering:HolidayOffering.StaffChanged"
    ),
    "domain.holiday.offering:HolidayOffering._window_closed": (
        "domain.holiday.offering:HolidayOffering.WindowClosed"
    ),
    "domain.holiday.programme:HolidayProgramme._draw_noted": (
        "domain.holiday.programme:HolidayProgramme.DrawNoted"
    ),
    "domain.holiday.programme:HolidayProgramme._offering_listed": (
        "domain.holiday.programme:HolidayProgramme.OfferingListed"
    ),
    "domain.services.holiday_registration:HolidayRegistration._draw_outcome_recorded": (
        "domain.services.holiday_registration:HolidayRegistration.DrawOutcomeRecorded"
    ),
    "domain.services.holiday_registration:HolidayRegistration._health_notes_erased": (
        "domain.services.holiday_registration:HolidayRegistration.HealthNotesErased"
    ),
    "domain.services.holiday_registration:HolidayRegistration._moved_up": (
        "domain.services.holiday_registration:HolidayRegistration.MovedUp"
    ),
    "domain.services.holiday_registration:HolidayRegistration._registered_for_offering": (
        "domain.services.holiday_registration:HolidayRegistration.RegisteredForOffering"
    ),
    "domain.services.holiday_registration:HolidayRegistration._registration_cancelled": (
        "domain.services.holiday_registration:HolidayRegistration.RegistrationCancelled"
    ),
    "domain.water.campaign:ReadingCampaign._closed": "domain.water.campaign:ReadingCampaign.Closed",
    "domain.water.campaign:ReadingCampaign._estimates_made": (
        "domain.water.campaign:ReadingCampaign.EstimatesMade"
    ),
    "domain.water.meter:WaterMeter._reading_corrected": (
        "domain.water.meter:WaterMeter.ReadingCorrected"
    ),
    "domain.water.meter:WaterMeter._reading_estimated": (
        "domain.water.meter:WaterMeter.ReadingEstimated"
    ),
    "domain.water.meter:WaterMeter._reading_recorded": (
        "domain.water.meter:WaterMeter.ReadingRecorded"
    ),
    "domain.water.meter:WaterMeter._recalibrated": "domain.water.meter:WaterMeter.Recalibrated",
    "domain.water.meter:WaterMeter._removed": "domain.water.meter:WaterMeter.Removed",
}

BASE_CLASSES = ["Created", "Event"]
CASE_EVENTS = [
    "ApprovalExpired",  # issue 21: the approval's validity ended (§ 43 (2) HVwVfG)
    "Assigned",
    "BecameFinal",
    "BilledTo",  # issue 24: fees billed to a business customer, charged, settled
    "ChargeSettled",
    "ChargeWithdrawn",  # issue 25: a later assessment withdraws a charge
    "Claimed",
    "Closed",
    "CompletenessConfirmed",
    "CountersignRefused",
    "Countersigned",
    "Decided",
    "DeemedApprovalCertified",
    "DeemedApproved",
    "DeliveryReported",  # issue 22: documents and their delivery
    "DocumentIssued",
    "DocumentSent",
    "FeeCharged",
    "InformationProvided",
    "InformationRequested",
    "NoteAdded",
    "Notified",
    "ObjectionDecided",
    "ObjectionForwarded",
    "ObjectionHeard",
    "ObjectionLodged",
    "ObjectionRemedied",
    "ObjectionWithdrawn",
    "PaymentRecorded",
    "PeriodExtended",
    "PersonalDataErased",
    "ReinstatementGranted",
    "Released",
    "RemedyNoticeFoundDefective",
    "Submitted",
    "Withdrawn",
]
# Each aggregate's event classes (its own and those the library defines on it for its bases).
EVENT_CLASSES = {
    # issue 23: one citizens' office's day (appointments, tickets, calls)
    "domain.appointments.office_day:OfficeDay": [
        "BookingCancelled",
        "BookingConfirmed",
        "ContactErased",
        "Opened",
        "ReminderDue",
        "SlotHeld",
        "TicketCalled",
        "TicketDrawn",
        "TicketMissed",
        "TicketServed",
    ],
    "domain.case:Case": CASE_EVENTS,
    "domain.case_charges:CaseCharges": [
        "BilledTo",
        "ChargeSettled",
        "ChargeWithdrawn",
        "Created",
        "Event",
        "FeeCharged",
    ],
    "domain.case_documents:CaseDocuments": [
        "Created",
        "DeliveryReported",
        "DocumentIssued",
        "DocumentSent",
        "Event",
    ],
    # issue 24: e-payment
    "domain.payments.business_customer:BusinessCustomer": [
        "MemberAdded",
        "MemberRemoved",
        "Registered",
    ],
    "domain.payments.payment_request:PaymentRequest": [
        "Cancelled",
        "CheckoutStarted",
        "Expired",
        "PaymentFailed",
        "PaymentReceived",
        "RefundApproved",
        "RefundPaid",
        "RefundRejected",
        "RefundRequested",
        "Requested",
    ],
    "domain.payments.receivable:Receivable": [
        "Cancelled",
        "DueDateSet",
        "Opened",
        "PaymentApplied",
        "RefundRecorded",
    ],
    "domain.payments.reconciliation:Reconciliation": ["Opened", "Reconciled"],
    "domain.reference:ReferenceCounter": ["HandedOver", "Issued", "Started"],
    # issue 25: the dog register, the roll of tax tags and the keeper's household
    "domain.services.dog_register:DogHousehold": [
        "DogDetailsChanged",
        "DogEntered",
        "DogLeft",
        "Started",
    ],
    "domain.services.dog_register:DogRegister": ["Deregistered", "Registered", "Started"],
    "domain.services.dog_register:TaxTagRoll": ["Started", "TagIssued", "TagWithdrawn"],
    # issue 25: the dog registration service
    "domain.services.dog_registration:DogRegistration": [
        *CASE_EVENTS,
        "DangerousDogPermitDecided",
        "DogDeregistered",
        "DogFoundDangerous",
        "DogRegistered",
        "ReliefDecided",
        "TagReplaced",
        "TaxChangeNotified",
        "TaxYearAssessed",
    ],
    "domain.services.grave:Grave": [
        "BurialRecorded",
        "Opened",
        "PlaceReleased",
        "PlaceReserved",
        "RightExtended",
        "RightGranted",
        "RightReturned",
        "RightTransferred",
    ],
    "domain.services.grave_right:GraveRightCase": [*CASE_EVENTS, "GraveChecked"],
    "domain.services.headstone_permit:HeadstonePermit": [
        *CASE_EVENTS,
        "HeadstoneInspected",
        "HeadstoneSet",
        "StabilityChecked",
    ],
    "domain.services.burial:BurialRegistration": [
        *CASE_EVENTS,
        "BurialCancelled",
        "BurialCarriedOut",
    ],
    "domain.services.parking_holding:PermitHolding": ["Released", "Started", "Taken"],
    "domain.services.resident_parking:ResidentParkingPermit": [
        *CASE_EVENTS,
        "NumberPlateChanged",
        "PermitDecisionNotified",
        "PermitRenewed",
        "PermitReturned",
        "PermitRevoked",
        "RevocationBecameFinal",
        "RevocationObjectionDecided",
        "RevocationObjectionLodged",
        "RevocationObjectionRemedied",
        "RevocationObjectionWithdrawn",
    ],
    "domain.services.road_opening:RoadOpeningPermit": [
        *CASE_EVENTS,
        "PermitExtended",
        "RestorationInspected",
        "SecurityDepositReleased",
        "SecurityDepositTaken",
        "SignOrderLinked",
        "WorksCompleted",
        "WorksStarted",
    ],
    "domain.services.sewer_connection:SewerConnection": [
        *CASE_EVENTS,
        "ConnectionAccepted",
        "ConnectionChargeAssessed",
        "ConnectionChargeNotified",
        "ConnectionDefectsFound",
        "ConnectionPointDetermined",
        "ConstructionReported",
        "DrainagePlansRecorded",
        "LeakTestRecorded",
        "OwnerAuthorisationRecorded",
    ],
    "domain.services.traffic_sign_order:TrafficSignOrder": [
        *CASE_EVENTS,
        "AuthorityHeard",
        "SignsPutUp",
        "SignsRemoved",
    ],
    "domain.team_roster:TeamRoster": ["Started", "TeamConfigured", "TeamDissolved"],
    "domain.timer_notice:TimerNotice": ["Sent"],
    # issue 29: webhook subscriptions
    "domain.webhooks:Subscription": [
        "Created",
        "DeadLettered",
        "Deleted",
        "Disabled",
        "Enabled",
        "Redelivered",
        "RedeliveryRequested",
    ],
    # issue 28: a town's markets of a year, a market, a trader's stall application
    "domain.markets.calendar:MarketCalendar": ["MarketListed", "Started"],
    "domain.markets.market:Market": [
        "ApplicationRecorded",
        "ApplicationWithdrawn",
        "OfferDeclined",
        "OfferExpired",
        "PitchAssigned",
        "PitchGivenUp",
        "PitchOffered",
        "Published",
        "SelectionMade",
    ],
    "domain.services.market_stall:MarketStallApplication": [
        *CASE_EVENTS,
        "AdmittedOnRemedy",
        "ApplicationRecorded",
        "PitchGivenUp",
        "PitchRevoked",
        "PitchOfferAccepted",
        "PitchOfferDeclined",
        "PitchOfferExpired",
        "PitchOfferNoted",
        "ScoreSheetRecorded",
        "SelectionNoted",
    ],
    # issue 27: a town's holiday programme of a year, its offerings, a family's registration
    "domain.holiday.offering:HolidayOffering": [
        "HealthNotesErased",
        "PlaceMovedUp",
        "PlacesDrawn",
        "Published",
        "RegistrationCancelled",
        "RegistrationRecorded",
        "StaffChanged",
        "WindowClosed",
    ],
    "domain.holiday.programme:HolidayProgramme": ["DrawNoted", "OfferingListed", "Started"],
    "domain.services.holiday_registration:HolidayRegistration": [
        *CASE_EVENTS,
        "DrawOutcomeRecorded",
        "HealthNotesErased",
        "MovedUp",
        "RegisteredForOffering",
        "RegistrationCancelled",
    ],
    # issue 26: a town's water meters, its reading campaign of a year, a reading's file
    "domain.services.water_reading:WaterMeterReading": [
        *CASE_EVENTS,
        "MeterAssigned",
        "ReadingChecked",
        "ReadingConfirmed",
        "ReadingCorrectedByClerk",
        "ReadingRejected",
    ],
    "domain.water.campaign:ReadingCampaign": [
        "Closed",
        "EstimatesMade",
        "Opened",
    ],
    "domain.water.meter:WaterMeter": [
        "Installed",
        "ReadingCorrected",
        "ReadingEstimated",
        "ReadingRecorded",
        "Recalibrated",
        "Removed",
    ],
}


def domain_aggregates() -> Iterator[type[Aggregate]]:
    """Every aggregate class of domain/, after importing every module."""
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    pending: list[type[Aggregate]] = [Aggregate]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("domain."):
                yield sub


def test_every_aggregate_keeps_its_event_classes_under_their_stored_topics() -> None:
    found: dict[str, dict[str, str]] = {}
    for aggregate in domain_aggregates():
        events = found.setdefault(get_topic(aggregate), {})
        for name in dir(aggregate):
            value = getattr(aggregate, name)
            if isinstance(value, type) and issubclass(value, CanMutateAggregate):
                events[name] = get_topic(value)
    expected = {
        aggregate: {name: f"{aggregate}.{name}" for name in sorted([*BASE_CLASSES, *names])}
        for aggregate, names in EVENT_CLASSES.items()
    }
    assert {a: dict(sorted(e.items())) for a, e in sorted(found.items())} == expected


def test_every_command_method_records_the_topic_it_recorded_before() -> None:
    list(domain_aggregates())  # every module imported, whichever test ran first
    recorded = {
        f"{decorator.decorated_func.__module__}:{decorator.decorated_func.__qualname__}": (
            get_topic(event_class)
        )
        for decorator, event_class in decorated_func_callers.items()
        if decorator.decorated_func.__module__.startswith("domain.")
    }
    assert dict(sorted(recorded.items())) == RECORDED_BY_METHOD


def test_a_service_case_records_the_shared_lifecycle_under_the_case_topic() -> None:
    permit = in_review(RoadOpeningPermit)
    submitted_event, confirmed, claimed = permit.collect_events()
    assert get_topic(type(submitted_event)) == (
        "domain.services.road_opening:RoadOpeningPermit.Submitted"
    )
    assert get_topic(type(confirmed)) == "domain.case:Case.CompletenessConfirmed"
    assert get_topic(type(claimed)) == "domain.case:Case.Claimed"


def test_events_are_read_through_their_declared_fields() -> None:
    case = submitted()
    case.claim(actor=CLERK, at=case.submitted_at)
    claimed = case.collect_events()[-1]
    assert isinstance(claimed, Case.Claimed)
    assert claimed.actor.id == CLERK.id
    assert claimed.at == case.submitted_at
