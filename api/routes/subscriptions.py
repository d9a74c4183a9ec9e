"""Webhook subscriptions: a service account subscribes to the feed's events of its towns.

The secret (``whsec_…``) is shown once, in the answer to the subscription; afterwards only
its owner's receiver knows it. The owner (a service account with ``webhooks:manage``) and
the administrators of its town read the subscription's status and dead letters, ask for a
dead letter to be delivered again, enable a disabled subscription and delete it. Another
account's subscription answers 404, as if it did not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from api.access import allow
from api.dependencies import ActorDep, FacadeDep
from api.problems import BadHeader, NotFound
from api.routes.cases import PROBLEMS
from api.routes.feed import MAX_SEQUENCE
from api.routes.read_models import tenant_for
from api.schemas import CommandBody, ShortText, Text
from application.webhooks import DeliveryStatus, SubscriptionNotFound, SubscriptionView
from domain.actor import Actor, Role, Scope
from domain.errors import InvalidCommand
from domain.webhooks import DeadLetter, SubscriptionFilter
from projections.feed import PUBLIC_TYPES, TYPE_PREFIX, TYPE_VERSION
from projections.feed_query import sequence_text

router = APIRouter(prefix="/api/v1", tags=["webhooks"], responses=PROBLEMS)  # type: ignore[arg-type]
MANAGERS = allow(Role.INTEGRATOR, Role.ADMIN, integrator_scope=Scope.WEBHOOKS_MANAGE)
SubscriptionId = Annotated[UUID, Path(description="The subscription's id")]
SERVICE = re.compile(r"^[a-z][a-z0-9-]{1,59}$")


class Subscribe(CommandBody):
    """Where to post, and which events: the towns (default: your own), services and types."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://archiv.example/vorgang/hooks",
                    "tenants": ["usingen"],
                    "services": ["road-opening"],
                    "types": ["de.vorgang.case.decided.v1"],
                }
            ]
        }
    }

    url: str = Field(max_length=2000, description="An absolute https (or http) URL")
    tenants: list[ShortText] = Field(
        default_factory=list, max_length=10, description="Towns you act for; none: your own"
    )
    services: list[ShortText] = Field(
        default_factory=list, max_length=50, description="Service ids; none: every service"
    )
    types: list[ShortText] = Field(
        default_factory=list,
        max_length=200,
        description="Feed types (GET /api/v1/feed/types); none: every type",
    )
    personal_data: bool = Field(
        default=False,
        description="Personal data in the events (needs the scope personal-data:read)",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="whsec_ and 24 to 64 bytes in base64; none: one is generated",
    )
    after: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,20}$",
        description="Deliver events after this sequence (0: from the first); none: from now",
    )


class WebhookReason(CommandBody):
    """Why (recorded in the subscription's history)."""

    model_config = {"json_schema_extra": {"examples": [{"reason": "Empfänger repariert"}]}}

    reason: Text


class SubscriptionOut(CommandBody):
    """A subscription (never its secret)."""

    id: UUID
    url: str
    tenants: list[str]
    services: list[str]
    types: list[str]
    owner: str = Field(description="The service account that subscribed")
    owner_tenant: str
    personal_data: bool
    status: str = Field(description="active, disabled (see disabled_reason) or deleted")
    disabled_reason: str | None = Field(description="gone (410 from the receiver) or failing")
    created_at: datetime
    version: int
    dead_letters: int = Field(description="Events that exhausted their retries")

    @classmethod
    def of(cls, view: SubscriptionView) -> SubscriptionOut:
        return cls(
            id=view.id,
            url=view.url,
            tenants=list(view.tenants),
            services=list(view.services),
            types=list(view.types),
            owner=view.owner,
            owner_tenant=view.owner_tenant,
            personal_data=view.personal_data,
            status=view.status,
            disabled_reason=view.disabled_reason,
            created_at=view.created_at,
            version=view.version,
            dead_letters=view.dead_letters,
        )


class SubscribedOut(SubscriptionOut):
    """The new subscription and its secret: shown this once, keep it with the receiver."""

    secret: str


class DeliveryOut(CommandBody):
    """Where the delivery stands."""

    cursor: str = Field(description="The sequence delivered (or dead-lettered) last")
    head: str = Field(description="The feed's last sequence")
    lag: int = Field(description="Events of the subscription after the cursor")
    attempts: int = Field(description="Failed attempts of the next event")
    next_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's last HTTP status")
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None


class SubscriptionStatusOut(SubscriptionOut):
    """A subscription and where its delivery stands."""

    delivery: DeliveryOut

    @classmethod
    def of_status(cls, status: DeliveryStatus) -> SubscriptionStatusOut:
        return cls(
            **SubscriptionOut.of(status.subscription).model_dump(),
            delivery=DeliveryOut(
                cursor=sequence_text(status.cursor),
                head=sequence_text(status.head),
                lag=status.lag,
                attempts=status.attempts,
                next_attempt_at=status.next_attempt_at,
                last_status=status.last_status,
                last_error=status.last_error,
                last_attempt_at=status.last_attempt_at,
                last_delivered_at=status.last_delivered_at,
            ),
        )


class DeadLetterOut(CommandBody):
    """An event that exhausted its retries; delivery moved on past it."""

    sequence: str
    event_id: str = Field(description="The event's id: the webhook-id it was sent with")
    type: str
    attempts: int
    last_error: str
    at: datetime
    redelivery_requested: bool

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterOut:
        return cls(
            sequence=sequence_text(letter.sequence),
            event_id=letter.event_id,
            type=letter.type,
            attempts=letter.attempts,
            last_error=letter.last_error,
            at=letter.at,
            redelivery_requested=letter.redelivery_requested,
        )


def subscription_filter(actor: Actor, body: Subscribe) -> SubscriptionFilter:
    """The body's filter; an unknown type or a malformed service names its field."""
    known = {f"{TYPE_PREFIX}{t}.{TYPE_VERSION}" for t in PUBLIC_TYPES.values()}
    for index, name in enumerate(body.types):
        if name not in known:
            raise InvalidCommand(f"types.{index}", f"unknown type {name!r}")
    for index, name in enumerate(body.services):
        if not SERVICE.match(name):
            raise InvalidCommand(f"services.{index}", "a service id (e.g. road-opening)")
    tenants = body.tenants or [actor.tenant]
    return SubscriptionFilter(
        tuple(tenant_for(actor, t) for t in tenants), tuple(body.services), tuple(body.types)
    )


def found(call: Any) -> Any:
    """The use case's answer; a subscription not found (or not the caller's) is 404."""
    try:
        return call()
    except SubscriptionNotFound as error:
        raise NotFound(str(error)) from None


@router.post(
    "/subscriptions",
    summary="Subscribe a URL to the feed's events (the secret is shown once)",
    status_code=201,
    **MANAGERS,
)
def subscribe(
    body: Subscribe, actor: ActorDep, vorgang: FacadeDep, response: Response
) -> SubscribedOut:
    """Service accounts with webhooks:manage; the URL must pass the SSRF guard (else 422)."""
    after = None if body.after is None else int(body.after)
    if after is not None and after > MAX_SEQUENCE:
        raise InvalidCommand("after", "after lies beyond every possible sequence")
    created = vorgang.webhooks.subscribe(
        actor,
        url=body.url,
        filter=subscription_filter(actor, body),
        personal_data=body.personal_data,
        secret=body.secret,
        after=after,
    )
    response.headers["Location"] = f"/api/v1/subscriptions/{created.subscription.id}"
    response.headers["Cache-Control"] = "no-store"
    return SubscribedOut(
        **SubscriptionOut.of(created.subscription).model_dump(), secret=created.secret
    )


@router.get("/subscriptions", summary="Your subscriptions (an admin: the town's)", **MANAGERS)
def subscriptions(actor: ActorDep, vorgang: FacadeDep) -> list[SubscriptionOut]:
    """Oldest first; deleted ones are left out."""
    return [SubscriptionOut.of(s) for s in vorgang.webhooks.subscriptions(actor)]


@router.get(
    "/subscriptions/{subscription_id}",
    summary="A subscription and its delivery: cursor, lag, last error, next attempt",
    **MANAGERS,
)
def subscription(
    subscription_id: SubscriptionId, actor: ActorDep, vorgang: FacadeDep
) -> SubscriptionStatusOut:
    """404 for another account's subscription."""
    status = found(lambda: vorgang.webhooks.status(actor, subscription_id))
    return SubscriptionStatusOut.of_status(status)


@router.delete(
    "/subscriptions/{subscription_id}",
    summary="Unsubscribe (the secret is destroyed)",
    **MANAGERS,
)
def unsubscribe(
    subscription_id: SubscriptionId,
    actor: ActorDep,
    vorgang: FacadeDep,
    reason: Annotated[str | None, Query(max_length=500, description="Why (required)")] = None,
) -> SubscriptionOut:
    """Nothing is delivered any more; the history stays. Without a reason: 422."""
    found(lambda: vorgang.webhooks.get(actor, subscription_id))  # another's: 404 first
    if not reason or not reason.strip():
        raise BadHeader("reason", "say why the subscription is deleted", "query")
    return SubscriptionOut.of(
        found(lambda: vorgang.webhooks.delete(actor, subscription_id, reason=reason))
    )


@router.post(
    "/subscriptions/{subscription_id}/enable",
    summary="Deliver again to a disabled subscription, from where it stopped",
    **MANAGERS,
)
def enable(
    subscription_id: SubscriptionId, body: WebhookReason, actor: ActorDep, vorgang: FacadeDep
) -> SubscriptionOut:
    """409 unless it is disabled."""
    return SubscriptionOut.of(
        found(lambda: vorgang.webhooks.enable(actor, subscription_id, reason=body.reason))
    )


@router.get(
    "/subscriptions/{subscription_id}/dead-letters",
    summary="Events that exhausted their retries",
    **MANAGERS,
)
def dead_letters(
    subscription_id: SubscriptionId, actor: ActorDep, vorgang: FacadeDep
) -> list[DeadLetterOut]:
    """In sequence order."""
    letters = found(lambda: vorgang.webhooks.dead_letters(actor, subscription_id))
    return [DeadLetterOut.of(letter) for letter in letters]


@router.post(
    "/subscriptions/{subscription_id}/dead-letters/{sequence}/redelivery",
    summary="Deliver a dead letter again (beside the sequence, under its webhook-id)",
    status_code=202,
    **MANAGERS,
)
def redeliver(
    subscription_id: SubscriptionId,
    sequence: Annotated[str, Path(pattern=r"^[0-9]{1,20}$", description="Its sequence")],
    body: WebhookReason,
    actor: ActorDep,
    vorgang: FacadeDep,
) -> DeadLetterOut:
    """The worker delivers it with its own retries; 422 for no dead letter there."""
    number = int(sequence)
    if number > MAX_SEQUENCE:
        raise BadHeader("sequence", "sequence lies beyond every possible sequence", "path")
    letter = found(
        lambda: vorgang.webhooks.redeliver(actor, subscription_id, number, reason=body.reason)
    )
    return DeadLetterOut.of(letter)
