"""``vorgang webhooks dead-letters``: the operator lists dead letters and asks for redelivery.

The command line acts as an administrator of the subscription's town (named by
``--operator``, recorded in the redelivery's event with the reason), so it sees what the
town's administrators see over HTTP.
"""

from __future__ import annotations

from uuid import UUID

from application.webhooks import SubscriptionService
from domain.actor import Actor, Role
from domain.tenants import TENANTS
from projections.feed_query import sequence_text


def town_admin(operator: str, tenant: str) -> Actor:
    """The operator, acting as an administrator of ``tenant``."""
    return Actor(operator, f"{operator} (Kommandozeile)", Role.ADMIN, tenant)


def owner_tenant(service: SubscriptionService, subscription_id: UUID) -> str | None:
    """The town of the subscription's owner (None: no such subscription)."""
    for tenant in TENANTS:
        if subscription_id in service.index.ids(owner_tenant=tenant):
            return tenant
    return None


def dead_letter_lines(
    service: SubscriptionService, operator: str, subscription_id: UUID | None = None
) -> list[str]:
    """Every dead letter (of one subscription, or of all), one line each."""
    lines = []
    for tenant in TENANTS:
        admin = town_admin(operator, tenant)
        for subscription in service.subscriptions(admin):
            if subscription_id is not None and subscription.id != subscription_id:
                continue
            for letter in service.dead_letters(admin, subscription.id):
                pending = "  redelivery requested" if letter.redelivery_requested else ""
                lines.append(
                    f"{subscription.id}  {sequence_text(letter.sequence)}  {letter.type}  "
                    f"{letter.attempts} attempts  {letter.last_error}  "
                    f"{letter.at.isoformat(timespec='seconds')}{pending}"
                )
    return lines


def request_redelivery(
    service: SubscriptionService, operator: str, subscription_id: UUID, sequence: int, reason: str
) -> str:
    """Ask for one dead letter's redelivery; the line says what was asked."""
    tenant = owner_tenant(service, subscription_id)
    if tenant is None:
        raise LookupError(f"no subscription {subscription_id}")
    service.redeliver(town_admin(operator, tenant), subscription_id, sequence, reason=reason)
    return (
        f"redelivery of {sequence_text(sequence)} to {subscription_id} requested: "
        "the worker delivers it under its webhook-id"
    )
