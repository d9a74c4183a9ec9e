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
from domain.case import InformationRequest, Objection
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.personal_data import Erased, PersonalData
from domain.processing_clock import ProcessingClock


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
        }

    def decode(self, data: dict[str, Any]) -> ProcessingClock:
        return ProcessingClock(
            period_working_days=data["period"],
            started_on=data["started_on"],
            stopped_since=data["stopped_since"],
            restarts_on_completeness=data["restarts"],
            waited_working_days=data["waited"],
            extension_working_days=data["extension"],
        )


class RulesAppliedAsDict(Transcoding):
    """Rules id, version and the inputs they read."""

    type = RulesApplied
    name = "rules_applied"

    def encode(self, obj: RulesApplied) -> dict[str, Any]:
        return {"id": obj.rules_id, "version": obj.version, "inputs": obj.inputs}

    def decode(self, data: dict[str, Any]) -> RulesApplied:
        return RulesApplied(data["id"], data["version"], dict(data["inputs"]))


class DecisionAsDict(Transcoding):
    """The decision record."""

    type = Decision
    name = "decision"

    def encode(self, obj: Decision) -> dict[str, Any]:
        return {
            "outcome": obj.outcome.value,
            "justification": obj.justification,
            "legal_basis": obj.legal_basis,
            "legal_remedy_notice": obj.legal_remedy_notice,
            "decided_by": obj.decided_by,
            "decided_at": obj.decided_at,
            "effective_from": obj.effective_from,
            "conditions": list(obj.conditions),
            "expires_on": obj.expires_on,
            "fee": obj.fee,
            "rules": list(obj.rules),
            "particulars": obj.particulars,
            "countersigned_by": obj.countersigned_by,
            "countersigned_at": obj.countersigned_at,
        }

    def decode(self, data: dict[str, Any]) -> Decision:
        fee = data.get("fee")
        return Decision(
            outcome=DecisionOutcome(data["outcome"]),
            justification=data["justification"],
            legal_basis=data["legal_basis"],
            legal_remedy_notice=data["legal_remedy_notice"],
            decided_by=data["decided_by"],
            decided_at=data["decided_at"],
            effective_from=data["effective_from"],
            conditions=tuple(data.get("conditions", ())),
            expires_on=data.get("expires_on"),
            fee=Decimal(fee) if isinstance(fee, str) else fee,
            rules=tuple(data.get("rules") or ()),
            particulars=dict(data.get("particulars") or {}),
            countersigned_by=data.get("countersigned_by"),
            countersigned_at=data.get("countersigned_at"),
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
        return {"received_on": obj.received_on, "grounds": obj.grounds, "lodged_by": obj.lodged_by}

    def decode(self, data: dict[str, Any]) -> Objection:
        return Objection(data["received_on"], data["grounds"], data["lodged_by"])


STORED_ENUMS: tuple[type[Enum], ...] = (DecisionOutcome,)


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    """Register every value type that events and snapshots hold, except ``PersonalData``."""
    for transcoding in (
        DateAsISO(),
        ErasedAsMarker(),
        ActorRecordAsDict(),
        ProcessingClockAsDict(),
        RulesAppliedAsDict(),
        DecisionAsDict(),
        InformationRequestAsDict(),
        ObjectionAsDict(),
    ):
        transcoder.register(transcoding)
    for enum_class in STORED_ENUMS:
        transcoder.register(EnumByValue(enum_class))
