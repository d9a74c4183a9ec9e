"""Webhook subscriptions: which feed events an integrator is called for, and what befell them.

A subscription is an aggregate of its own: created by a service account (its owner) with a
URL and filters, deleted by the owner or an administrator of the owner's town, disabled by
the delivery (the receiver answered 410 Gone, or it kept failing) and enabled again by a
person. Events that exhausted their retries are its dead letters; a person may ask for one
to be delivered again. Every change names who, when and why.

The signing secret (``whsec_…``) is personal data of the subscription in the sense of
decision 14: a ``PersonalData`` value under the subscription's own key, so it is encrypted in
the stored event and destroyed with the key when the subscription is deleted. It is shown
once, on creation.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role, Scope
from domain.case import clean_text
from domain.errors import InvalidCommand, InvalidTransition
from domain.personal_data import PersonalData, PersonalValue, Subjects

SECRET_SUBJECT = "webhook-secret"  # noqa: S105 - the key that seals the secret; destroyed on deletion
SECRET_PREFIX = "whsec_"  # noqa: S105
SECRET_BYTES = (24, 64)  # the Standard Webhooks specification's bounds for a secret
MAX_URL = 2000
DELIVERY = "system:webhook-delivery"  # who disables a subscription and records dead letters


class SubscriptionStatus(StrEnum):
    """Where a subscription stands."""

    ACTIVE = "active"
    DISABLED = "disabled"  # delivery stopped until a person enables it again
    DELETED = "deleted"


class DisableReason(StrEnum):
    """Why the delivery stopped calling a receiver."""

    GONE = "gone"  # the receiver answered 410 Gone
    FAILING = "failing"  # too many events in a row went to the dead letters


def check_secret(secret: str) -> str:
    """A signing secret as the specification has it: ``whsec_`` and 24 to 64 bytes in base64."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidCommand("secret", f"a signing secret starts with {SECRET_PREFIX}")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCommand("secret", "the secret after whsec_ is not base64") from None
    if not SECRET_BYTES[0] <= len(raw) <= SECRET_BYTES[1]:
        raise InvalidCommand(
            "secret", f"a signing secret holds {SECRET_BYTES[0]} to {SECRET_BYTES[1]} bytes"
        )
    return secret


def check_url(url: str) -> str:
    """An absolute http(s) URL without credentials or fragment (where events are posted)."""
    if len(url) > MAX_URL:
        raise InvalidCommand("url", f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidCommand("url", "not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidCommand("url", "an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidCommand("url", "credentials do not belong in the URL: verify the signature")
    if parts.fragment:
        raise InvalidCommand("url", "a fragment is never sent: leave it out")
    if port == 0:
        raise InvalidCommand("url", "port 0 is no port")
    return url


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Which events a subscription receives: its towns, and optionally services and types."""

    tenants: tuple[str, ...]
    services: tuple[str, ...] = ()  # none: every service
    types: tuple[str, ...] = ()  # none: every type

    def matches(self, tenant: str, service: str, type: str) -> bool:
        """Whether a feed event of this town, service and type is delivered."""
        return (
            tenant in self.tenants
            and (not self.services or service in self.services)
            and (not self.types or type in self.types)
        )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event that exhausted its retries; delivery moved on past it."""

    sequence: int
    event_id: str
    type: str
    attempts: int
    last_error: str
    at: datetime
    redelivery_requested: bool = False


class Subscription(Aggregate):
    """One integrator's webhook: its URL, its filters, its secret, its dead letters."""

    class Created(Aggregate.Created):
        """A service account subscribed; delivery starts after ``starts_after``."""

        actor: ActorRecord
        at: datetime
        url: str
        tenants: list[str]
        services: list[str]
        types: list[str]
        owner: str
        owner_tenant: str
        personal_data: bool
        secret: PersonalValue
        starts_after: int

    @event(Created)
    def __init__(
        self,
        *,
        id: UUID,
        actor: ActorRecord,
        at: datetime,
        url: str,
        tenants: list[str],
        services: list[str],
        types: list[str],
        owner: str,
        owner_tenant: str,
        personal_data: bool,
        secret: PersonalValue,
        starts_after: int,
    ) -> None:
        self.created_at = at
        self.url = url
        self.filter = SubscriptionFilter(tuple(tenants), tuple(services), tuple(types))
        self.owner = owner
        self.owner_tenant = owner_tenant
        self.personal_data = personal_data
        self.secret = secret
        self.starts_after = starts_after
        self.status = SubscriptionStatus.ACTIVE
        self.disabled_reason: str | None = None
        self.dead_letters: dict[int, DeadLetter] = {}

    @classmethod
    def subscribe(
        cls,
        *,
        id: UUID,
        actor: Actor,
        at: datetime,
        url: str,
        filter: SubscriptionFilter,
        personal_data: bool,
        secret: str,
        starts_after: int,
    ) -> Subscription:
        """A service account subscribes to the events of the towns it acts for."""
        if not actor.acts_as(Role.INTEGRATOR):
            raise InvalidCommand("owner", "only a service account (integrator) subscribes")
        if not filter.tenants:
            raise InvalidCommand("tenants", "name at least one town")
        for town in filter.tenants:
            if town not in (actor.tenant, actor.on_behalf_of):
                raise InvalidCommand("tenants", f"the service account does not act for {town}")
        if personal_data and not actor.holds(Scope.PERSONAL_DATA):
            raise InvalidCommand(
                "personal_data", "the service account holds no personal data grant"
            )
        if starts_after < 0:
            raise InvalidCommand("after", "a sequence is not negative")
        return cls(
            id=id,
            actor=actor.acting_in((Role.INTEGRATOR,)).recorded_in(id),
            at=at,
            url=check_url(url),
            tenants=sorted(set(filter.tenants)),
            services=sorted(set(filter.services)),
            types=sorted(set(filter.types)),
            owner=actor.id,
            owner_tenant=actor.tenant,
            personal_data=personal_data,
            secret=PersonalData(case_id=id, subject=SECRET_SUBJECT, value=check_secret(secret)),
            starts_after=starts_after,
        )

    # ------------------------------------------------------------------ who may

    def may_be_managed_by(self, actor: Actor) -> bool:
        """The owner, or an administrator of the owner's town."""
        if actor.acts_as(Role.INTEGRATOR) and actor.id == self.owner:
            return True
        return actor.acts_as(Role.ADMIN) and actor.tenant == self.owner_tenant

    def _check_not_deleted(self, command: str) -> None:
        if self.status is SubscriptionStatus.DELETED:
            raise InvalidTransition(command, self.status.value, [])

    # ------------------------------------------------------------------ commands

    def delete(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """Stop for good; the secret's key is destroyed after the save."""
        self._check_not_deleted("delete")
        self._deleted(actor=self._recorded(actor), at=at, reason=self._reason(reason))

    class Deleted(Aggregate.Event):
        """Unsubscribed: nothing is delivered any more."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(Deleted)
    def _deleted(self, *, actor: ActorRecord, at: datetime, reason: PersonalValue) -> None:
        self.status = SubscriptionStatus.DELETED

    def disable(self, *, at: datetime, reason: DisableReason, detail: str) -> None:
        """The delivery stops calling the receiver (410 Gone, or failing for too long)."""
        if self.status is not SubscriptionStatus.ACTIVE:
            raise InvalidTransition("disable", self.status.value, self._allowed())
        self._disabled(actor=self._delivery(), at=at, reason=reason.value, detail=detail[:300])

    class Disabled(Aggregate.Event):
        """Delivery stopped; ``reason`` is a keyword, ``detail`` what the receiver said."""

        actor: ActorRecord
        at: datetime
        reason: str
        detail: str

    @event(Disabled)
    def _disabled(self, *, actor: ActorRecord, at: datetime, reason: str, detail: str) -> None:
        self.status = SubscriptionStatus.DISABLED
        self.disabled_reason = reason

    def enable(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """Deliver again, from where the delivery stopped."""
        if self.status is not SubscriptionStatus.DISABLED:
            raise InvalidTransition("enable", self.status.value, self._allowed())
        self._enabled(actor=self._recorded(actor), at=at, reason=self._reason(reason))

    class Enabled(Aggregate.Event):
        """A person enabled the subscription again."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(Enabled)
    def _enabled(self, *, actor: ActorRecord, at: datetime, reason: PersonalValue) -> None:
        self.status = SubscriptionStatus.ACTIVE
        self.disabled_reason = None

    def record_dead_letter(
        self,
        *,
        at: datetime,
        sequence: int,
        event_id: str,
        type: str,
        attempts: int,
        last_error: str,
    ) -> bool:
        """An event exhausted its retries; False if that is recorded already (a retry after
        a crash between the record and the cursor)."""
        self._check_not_deleted("record_dead_letter")
        known = self.dead_letters.get(sequence)
        if known is not None and not known.redelivery_requested:
            return False
        self._dead_lettered(
            actor=self._delivery(),
            at=at,
            sequence=sequence,
            event_id=event_id,
            type=type,
            attempts=attempts,
            last_error=last_error[:300],
        )
        return True

    class DeadLettered(Aggregate.Event):
        """The event at ``sequence`` went to the dead letters after ``attempts`` attempts."""

        actor: ActorRecord
        at: datetime
        sequence: int
        event_id: str
        type: str
        attempts: int
        last_error: str

    @event(DeadLettered)
    def _dead_lettered(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        sequence: int,
        event_id: str,
        type: str,
        attempts: int,
        last_error: str,
    ) -> None:
        self.dead_letters = {
            **self.dead_letters,
            sequence: DeadLetter(sequence, event_id, type, attempts, last_error, at),
        }

    def request_redelivery(self, sequence: int, *, actor: Actor, at: datetime, reason: str) -> None:
        """Deliver a dead letter again (beside the sequence: it is out of order by nature)."""
        self._check_not_deleted("request_redelivery")
        letter = self.dead_letters.get(sequence)
        if letter is None:
            raise InvalidCommand("sequence", f"no dead letter at sequence {sequence}")
        if letter.redelivery_requested:
            raise InvalidCommand("sequence", f"the redelivery of {sequence} is under way")
        self._redelivery_requested(
            actor=self._recorded(actor), at=at, sequence=sequence, reason=self._reason(reason)
        )

    class RedeliveryRequested(Aggregate.Event):
        """A person asked for a dead letter to be delivered again."""

        actor: ActorRecord
        at: datetime
        sequence: int
        reason: PersonalValue

    @event(RedeliveryRequested)
    def _redelivery_requested(
        self, *, actor: ActorRecord, at: datetime, sequence: int, reason: PersonalValue
    ) -> None:
        letter = self.dead_letters[sequence]
        self.dead_letters = {
            **self.dead_letters,
            sequence: DeadLetter(
                letter.sequence,
                letter.event_id,
                letter.type,
                letter.attempts,
                letter.last_error,
                letter.at,
                redelivery_requested=True,
            ),
        }

    def record_redelivered(self, sequence: int, *, at: datetime) -> bool:
        """A redelivered dead letter arrived; False if it was no pending redelivery."""
        letter = self.dead_letters.get(sequence)
        if letter is None or not letter.redelivery_requested:
            return False
        self._redelivered(actor=self._delivery(), at=at, sequence=sequence)
        return True

    class Redelivered(Aggregate.Event):
        """A dead letter was delivered after all; it is a dead letter no more."""

        actor: ActorRecord
        at: datetime
        sequence: int

    @event(Redelivered)
    def _redelivered(self, *, actor: ActorRecord, at: datetime, sequence: int) -> None:
        self.dead_letters = {k: v for k, v in self.dead_letters.items() if k != sequence}

    # ------------------------------------------------------------------ helpers

    @property
    def pending_redeliveries(self) -> list[DeadLetter]:
        """Dead letters a person asked to deliver again, in sequence order."""
        return sorted(
            (d for d in self.dead_letters.values() if d.redelivery_requested),
            key=lambda d: d.sequence,
        )

    def _allowed(self) -> list[str]:
        return {
            SubscriptionStatus.ACTIVE: ["delete", "disable", "request_redelivery"],
            SubscriptionStatus.DISABLED: ["delete", "enable", "request_redelivery"],
            SubscriptionStatus.DELETED: [],
        }[self.status]

    def _recorded(self, actor: Actor) -> ActorRecord:
        if not self.may_be_managed_by(actor):
            raise InvalidCommand("actor", "only the owner or an administrator of its town")
        return actor.acting_in((Role.INTEGRATOR, Role.ADMIN)).recorded_in(self.id)

    def _delivery(self) -> ActorRecord:
        system = Actor(DELIVERY, "Webhook-Zustellung", Role.SYSTEM, tenant=self.owner_tenant)
        return system.recorded_in(self.id)

    def _reason(self, reason: str) -> PersonalData:
        # free text may name people: sealed like every other reason (decision 14)
        return PersonalData(
            case_id=self.id, subject=Subjects.CASE_TEXT, value=clean_text(reason, "reason")[:1000]
        )
