"""How our value types are stored in events: every custom type's transcoding, in one place.

Stored shapes are our own dicts, never a library object, so the stored format does not
depend on a library version (docs/architecture.md, decision 6). ``PersonalData`` goes through a
``PersonalDataTranscoding`` that the application is given: pass-through for tests and tools
that need no key store, encrypting in production (infrastructure/privacy).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic

from domain.actor import ActorRecord, Role
from domain.authorities import RemedyKind, RemedyNotice, legacy_notice
from domain.case import InformationRequest
from domain.case_charges import Charge
from domain.decision import (
    CostsDecision,
    Decision,
    DecisionOutcome,
    Hearing,
    Provision,
    ProvisionKind,
    RulesApplied,
)
from domain.documents import Channel, Dispatch, DocumentKind, IssuedDocument, Outcome
from domain.objection import Objection, ObjectionCosts, ObjectionDecision
from domain.personal_data import Erased, PersonalData
from domain.processing_clock import ProcessingClock
from persistence.payment_transcodings import register_payment_transcodings


class DateAsISO(Transcoding):
    """A calendar date as ``YYYY-MM-DD``."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumByValue(Transcoding):
    """Members of one plain ``Enum`` class, stored by value under the class's topic.

    Only plain ``Enum``s reach a transcoding: the JSON encoder writes a ``StrEnum`` (a
    ``str``) itself, and it would come back as a plain ``str``.
    """

    def __init__(self, enum_class: type[Enum]) -> None:
        if issubclass(enum_class, str | int):
            raise TypeError(f"{enum_class} is a str/int enum; the JSON encoder bypasses it")
        self.type = enum_class
        self.name = f"enum:{get_topic(enum_class)}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return cast(type[Enum], resolve_topic(self.name.removeprefix("enum:")))(data)


class ErasedAsMarker(Transcoding):
    """An erased personal value stays erased when an aggregate holding it is snapshotted."""

    type = Erased
    name = "erased"

    def encode(self, obj: Erased) -> dict[str, Any]:
        return {"case": obj.case_id.hex, "subject": obj.subject, "art9": obj.special_category}

    def decode(self, data: dict[str, Any]) -> Erased:
        return Erased(UUID(data["case"]), data["subject"], bool(data.get("art9", False)))


class PersonalDataInClear(Transcoding):
    """Pass-through: the value stored unencrypted. Only for tests and benchmarks' baseline."""

    type = PersonalData
    name = "personal_data_clear"

    def encode(self, obj: PersonalData) -> dict[str, Any]:
        return {
            "case": obj.case_id.hex,
            "subject": obj.subject,
            "value": obj.value,
            "art9": obj.special_category,
        }

    def decode(self, data: dict[str, Any]) -> PersonalData:
        return PersonalData(
            UUID(data["case"]), data["subject"], data["value"], bool(data.get("art9", False))
        )


class ActorRecordAsDict(Transcoding):
    """Who acted: id, name (personal), role, tenant, on whose behalf."""

    type = ActorRecord
    name = "actor"

    def encode(self, obj: ActorRecord) -> dict[str, Any]:
        return {
            "id": obj.id,
            "name": obj.display_name,
            "role": obj.role.value,
            "tenant": obj.tenant,
            "on_behalf_of": obj.on_behalf_of,
        }

    def decode(self, data: dict[str, Any]) -> ActorRecord:
        return ActorRecord(
            id=data["id"],
            display_name=data["name"],
            role=Role(data["role"]),
            tenant=data["tenant"],
            on_behalf_of=data.get("on_behalf_of"),
        )


class ProcessingClockAsDict(Transcoding):
    """The processing clock as recorded by the event that changed it."""

    type = ProcessingClock
    name = "processing_clock"

    def encode(self, obj: ProcessingClock) -> dict[str, Any]:
        return {
            "period": obj.period_working_days,
            "started_on": obj.started_on,
            "stopped_since": obj.stopped_since,
            "restarts": obj.restarts_on_completeness,
            "waited": obj.waited_working_days,
            "extension": obj.extension_working_days,
            "deemed_approval": obj.deemed_approval,
            "months": obj.period_months,
            "extension_communicated_on": obj.extension_communicated_on,
            "due_on": obj.due,
            "decided_on": obj.decided_on,
            "reopened": obj.reopened_after_decision,
        }

    def decode(self, data: dict[str, Any]) -> ProcessingClock:
        clock = ProcessingClock(
            period_working_days=data["period"],
            started_on=data["started_on"],
            stopped_since=data["stopped_since"],
            restarts_on_completeness=data["restarts"],
            waited_working_days=data["waited"],
            extension_working_days=data["extension"],
            deemed_approval=data.get("deemed_approval", False),
            period_months=data.get("months", 0),
            extension_communicated_on=data.get("extension_communicated_on"),
            due=data.get("due_on"),
            decided_on=data.get("decided_on"),
            reopened_after_decision=data.get("reopened", False),
        )
        if "due_on" not in data:
            # Recorded before clocks carried their due date: computed once, as it was then.
            clock = clock.with_legacy_due()
        return clock


class RulesAppliedAsDict(Transcoding):
    """Rules id, version and the inputs they read."""

    type = RulesApplied
    name = "rules_applied"

    def encode(self, obj: RulesApplied) -> dict[str, Any]:
        return {"id": obj.rules_id, "version": obj.version, "inputs": obj.inputs}

    def decode(self, data: dict[str, Any]) -> RulesApplied:
        return RulesApplied(data["id"], data["version"], dict(data["inputs"]))


class RemedyNoticeAsDict(Transcoding):
    """The remedy notice a decision carried, and whether it was complete."""

    type = RemedyNotice
    name = "remedy_notice"

    def encode(self, obj: RemedyNotice) -> dict[str, Any]:
        return {
            "kind": obj.kind.value,
            "text": obj.text,
            "addressed_to": obj.addressed_to,
            "version": obj.version,
            "complete": obj.complete,
        }

    def decode(self, data: dict[str, Any]) -> RemedyNotice:
        return RemedyNotice(
            RemedyKind(data["kind"]),
            data["text"],
            data["addressed_to"],
            data["version"],
            data["complete"],
        )


class ProvisionAsDict(Transcoding):
    """An ancillary provision: kind and text."""

    type = Provision
    name = "provision"

    def encode(self, obj: Provision) -> dict[str, Any]:
        return {"kind": obj.kind.value, "text": obj.text}

    def decode(self, data: dict[str, Any]) -> Provision:
        return Provision(ProvisionKind(data["kind"]), data["text"])


class HearingAsDict(Transcoding):
    """§ 28: when the hearing was held, or why none was needed."""

    type = Hearing
    name = "hearing"

    def encode(self, obj: Hearing) -> dict[str, Any]:
        return {"held_on": obj.held_on, "not_needed_because": obj.not_needed_because}

    def decode(self, data: dict[str, Any]) -> Hearing:
        return Hearing(data["held_on"], data["not_needed_because"])


class CostsDecisionAsDict(Transcoding):
    """The costs decision of a decision."""

    type = CostsDecision
    name = "costs_decision"

    def encode(self, obj: CostsDecision) -> dict[str, Any]:
        return {
            "legal_basis": obj.legal_basis,
            "debtor": obj.debtor,
            "amount": obj.amount,
            "due_on": obj.due_on,
            "cash_reference": obj.cash_reference,
        }

    def decode(self, data: dict[str, Any]) -> CostsDecision:
        amount = data["amount"]
        return CostsDecision(
            legal_basis=data["legal_basis"],
            debtor=data["debtor"],
            amount=Decimal(amount) if isinstance(amount, str) else amount,
            due_on=data["due_on"],
            cash_reference=data["cash_reference"],
        )


class DecisionAsDict(Transcoding):
    """The decision record."""

    type = Decision
    name = "decision"

    def encode(self, obj: Decision) -> dict[str, Any]:
        return {
            "outcome": obj.outcome.value,
            "justification": obj.justification,
            "legal_basis": obj.legal_basis,
            "remedy_notice": obj.remedy_notice,
            "decided_by": obj.decided_by,
            "decided_at": obj.decided_at,
            "effective_from": obj.effective_from,
            "provisions": list(obj.provisions),
            "expires_on": obj.expires_on,
            "fee": obj.fee,
            "rules": list(obj.rules),
            "particulars": obj.particulars,
            "countersigned_by": obj.countersigned_by,
            "countersigned_at": obj.countersigned_at,
            "operative_part": obj.operative_part,
            "issuing_authority": obj.issuing_authority,
            "addressee": obj.addressee,
            "representative": obj.representative,
            "hearing": obj.hearing,
            "discretion": obj.discretion,
            "costs": obj.costs,
            "valid_for_months": obj.valid_for_months,
            "notified_on": obj.notified_on,
        }

    def decode(self, data: dict[str, Any]) -> Decision:
        fee = data.get("fee")
        notice = data.get("remedy_notice")
        if notice is None:  # recorded when clerks typed the notice
            notice = legacy_notice(data.get("legal_remedy_notice", ""))
        provisions = data.get("provisions")
        if provisions is None:  # recorded when every condition was a requirement (Auflage)
            provisions = [
                Provision(ProvisionKind.REQUIREMENT, c) for c in data.get("conditions", ())
            ]
        return Decision(
            outcome=DecisionOutcome(data["outcome"]),
            justification=data["justification"],
            legal_basis=data["legal_basis"],
            remedy_notice=notice,
            decided_by=data["decided_by"],
            decided_at=data["decided_at"],
            effective_from=data["effective_from"],
            provisions=tuple(provisions),
            expires_on=data.get("expires_on"),
            fee=Decimal(fee) if isinstance(fee, str) else fee,
            rules=tuple(data.get("rules") or ()),
            particulars=dict(data.get("particulars") or {}),
            countersigned_by=data.get("countersigned_by"),
            countersigned_at=data.get("countersigned_at"),
            operative_part=data.get("operative_part"),
            issuing_authority=data.get("issuing_authority"),
            addressee=data.get("addressee"),
            representative=data.get("representative"),
            hearing=data.get("hearing"),
            discretion=data.get("discretion"),
            costs=data.get("costs"),
            valid_for_months=data.get("valid_for_months"),
            notified_on=data.get("notified_on"),
        )


class InformationRequestAsDict(Transcoding):
    """Questions, reply deadline, whether documents are missing, who asked when."""

    type = InformationRequest
    name = "information_request"

    def encode(self, obj: InformationRequest) -> dict[str, Any]:
        return {
            "questions": list(obj.questions),
            "reply_by": obj.reply_by,
            "missing_documents": obj.missing_documents,
            "requested_by": obj.requested_by,
            "requested_at": obj.requested_at,
        }

    def decode(self, data: dict[str, Any]) -> InformationRequest:
        return InformationRequest(
            questions=tuple(data["questions"]),
            reply_by=data["reply_by"],
            missing_documents=data["missing_documents"],
            requested_by=data["requested_by"],
            requested_at=data["requested_at"],
        )


class ObjectionAsDict(Transcoding):
    """A Widerspruch as received."""

    type = Objection
    name = "objection"

    def encode(self, obj: Objection) -> dict[str, Any]:
        return {
            "received_on": obj.received_on,
            "grounds": obj.grounds,
            "lodged_by": obj.lodged_by,
            "deadline": obj.deadline,
            "state": obj.state,
            "reinstated": obj.reinstated,
            "heard_on": obj.heard_on,
            "hearing_committee": obj.hearing_committee,
            "forwarded_to": obj.forwarded_to,
            "remedy": obj.remedy,
            "remedies": list(obj.remedies),
            "decision": obj.decision,
            "withdrawn_on": obj.withdrawn_on,
        }

    def decode(self, data: dict[str, Any]) -> Objection:
        return Objection(
            received_on=data["received_on"],
            grounds=data["grounds"],
            lodged_by=data["lodged_by"],
            deadline=data.get("deadline"),
            state=data.get("state", "pending"),
            reinstated=data.get("reinstated", False),
            heard_on=data.get("heard_on"),
            hearing_committee=data.get("hearing_committee"),
            forwarded_to=data.get("forwarded_to"),
            remedy=data.get("remedy"),
            remedies=tuple(
                data.get("remedies") or ([data["remedy"]] if data.get("remedy") else [])
            ),
            decision=data.get("decision"),
            withdrawn_on=data.get("withdrawn_on"),
        )


class ObjectionCostsAsDict(Transcoding):
    """The costs decision of a remedy or a Widerspruchsbescheid."""

    type = ObjectionCosts
    name = "objection_costs"

    def encode(self, obj: ObjectionCosts) -> dict[str, Any]:
        return {
            "borne_by": obj.borne_by,
            "legal_basis": obj.legal_basis,
            "fee": obj.fee,
            "fee_refund": obj.fee_refund,
        }

    def decode(self, data: dict[str, Any]) -> ObjectionCosts:
        return ObjectionCosts(
            borne_by=data["borne_by"],
            legal_basis=data["legal_basis"],
            fee=_decimal(data["fee"]),
            fee_refund=_decimal(data["fee_refund"]),
        )


class ObjectionDecisionAsDict(Transcoding):
    """A remedy or a Widerspruchsbescheid."""

    type = ObjectionDecision
    name = "objection_decision"

    def encode(self, obj: ObjectionDecision) -> dict[str, Any]:
        return {
            "outcome": obj.outcome,
            "reasons": obj.reasons,
            "costs": obj.costs,
            "decided_by": obj.decided_by,
            "decided_on": obj.decided_on,
            "served_on": obj.served_on,
            "action_deadline": obj.action_deadline,
            "operative_part": obj.operative_part,
        }

    def decode(self, data: dict[str, Any]) -> ObjectionDecision:
        return ObjectionDecision(
            outcome=data["outcome"],
            reasons=data["reasons"],
            costs=data["costs"],
            decided_by=data["decided_by"],
            decided_on=data["decided_on"],
            served_on=data["served_on"],
            action_deadline=data["action_deadline"],
            operative_part=data.get("operative_part"),
        )


def _decimal(value: Any) -> Decimal | None:
    return Decimal(value) if isinstance(value, str) else value


class DispatchAsDict(Transcoding):
    """One sending of a document and what the channel reported."""

    type = Dispatch
    name = "document_dispatch"

    def encode(self, obj: Dispatch) -> dict[str, Any]:
        return {
            "channel": obj.channel.value,
            "sent_on": obj.sent_on,
            "reference": obj.reference,
            "outcome": obj.outcome.value if obj.outcome is not None else None,
            "outcome_on": obj.outcome_on,
            "failure": obj.failure,
        }

    def decode(self, data: dict[str, Any]) -> Dispatch:
        outcome = data["outcome"]
        return Dispatch(
            channel=Channel(data["channel"]),
            sent_on=data["sent_on"],
            reference=data["reference"],
            outcome=Outcome(outcome) if outcome is not None else None,
            outcome_on=data["outcome_on"],
            failure=data["failure"],
        )


class IssuedDocumentAsDict(Transcoding):
    """A document the case issued: kind, hash, template, seal, deliveries."""

    type = IssuedDocument
    name = "issued_document"

    def encode(self, obj: IssuedDocument) -> dict[str, Any]:
        return {
            "number": obj.number,
            "kind": obj.kind.value,
            "title": obj.title,
            "sha256": obj.sha256,
            "size": obj.size,
            "template": obj.template,
            "seal": obj.seal,
            "automatic": obj.automatic,
            "subjects": list(obj.subjects),
            "addressee": obj.addressee,
            "issued_by": obj.issued_by,
            "issued_at": obj.issued_at,
            "refers_to": obj.refers_to,
            "cash_reference": obj.cash_reference,
            "media_type": obj.media_type,
            "dispatches": list(obj.dispatches),
        }

    def decode(self, data: dict[str, Any]) -> IssuedDocument:
        return IssuedDocument(
            number=data["number"],
            kind=DocumentKind(data["kind"]),
            title=data["title"],
            sha256=data["sha256"],
            size=data["size"],
            template=data["template"],
            seal=data["seal"],
            automatic=data["automatic"],
            subjects=tuple(data["subjects"]),
            addressee=data["addressee"],
            issued_by=data["issued_by"],
            issued_at=data["issued_at"],
            refers_to=data["refers_to"],
            cash_reference=data["cash_reference"],
            media_type=data["media_type"],
            dispatches=tuple(data["dispatches"]),
        )


class ChargeAsDict(Transcoding):
    """A fee a case charged under its Kassenzeichen."""

    type = Charge
    name = "charge"

    def encode(self, obj: Charge) -> dict[str, Any]:
        return {
            "number": obj.number,
            "kassenzeichen": obj.kassenzeichen,
            "amount": str(obj.amount),
            "ledger": obj.ledger,
            "legal_basis": obj.legal_basis,
            "refers_to": obj.refers_to,
            "prepaid": obj.prepaid,
            "due_on": obj.due_on,
        }

    def decode(self, data: dict[str, Any]) -> Charge:
        return Charge(
            number=data["number"],
            kassenzeichen=data["kassenzeichen"],
            amount=Decimal(data["amount"]),
            ledger=data["ledger"],
            legal_basis=data["legal_basis"],
            refers_to=data["refers_to"],
            prepaid=data["prepaid"],
            due_on=data["due_on"],
        )


STORED_ENUMS: tuple[type[Enum], ...] = (DecisionOutcome,)


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    """Register every value type that events and snapshots hold, except ``PersonalData``."""
    for transcoding in (
        DateAsISO(),
        ErasedAsMarker(),
        ActorRecordAsDict(),
        ProcessingClockAsDict(),
        RulesAppliedAsDict(),
        RemedyNoticeAsDict(),
        ProvisionAsDict(),
        HearingAsDict(),
        CostsDecisionAsDict(),
        DecisionAsDict(),
        InformationRequestAsDict(),
        ObjectionAsDict(),
        ObjectionCostsAsDict(),
        ObjectionDecisionAsDict(),
        DispatchAsDict(),
        IssuedDocumentAsDict(),
        ChargeAsDict(),
    ):
        transcoder.register(transcoding)
    for enum_class in STORED_ENUMS:
        transcoder.register(EnumByValue(enum_class))
    register_payment_transcodings(transcoder)
