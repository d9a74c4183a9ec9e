"""Decisions on a resident parking permit after its issue: renewal, plate change, revocation.

Each is an administrative act of its own (§ 35 HVwVfG): it records its operative part, legal
basis, fee with the fee's basis, remedy notice and who decided, and takes effect with its
Bekanntgabe (§§ 41, 43 (1) HVwVfG), the day ``domain/rules/notification.py`` sets for its
delivery; its objection period runs from that day (§ 70 (1) VwGO).

A revocation (Widerruf of a lawful favourable act, § 49 (2) HVwVfG) names its ground, the
hearing (§ 28 HVwVfG), the considerations of its discretion (§ 39 (1) sentence 3 HVwVfG)
and, where ordered, the immediate enforcement with its written reasons (§ 80 (2) sentence 1
no. 4, (3) VwGO). Without that order an objection suspends it (§ 80 (1) VwGO): the permit
stays valid until the revocation is final.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

from domain.objection import ObjectionState


class FollowUp:
    """The kinds of decision on an issued permit."""

    RENEWAL: Final = "renewal"
    PLATE_CHANGE: Final = "plate_change"
    REVOCATION: Final = "revocation"


class RevocationGround(StrEnum):
    """The grounds of § 49 (2) sentence 1 HVwVfG on which a permit may be revoked."""

    RESERVED = "reserved"  # no. 1: revocation reserved in the permit (Widerrufsvorbehalt)
    REQUIREMENT_NOT_MET = "requirement_not_met"  # no. 2: a requirement (Auflage) not met
    FACTS_CHANGED = "facts_changed"  # no. 3: moved out of the zone, vehicle sold or given up
    LAW_CHANGED = "law_changed"  # no. 4: the zone was lifted or cut (changed legal provision)
    SERIOUS_HARM = "serious_harm"  # no. 5: to prevent serious harm to the common good

    @property
    def legal_basis(self) -> str:
        """The provision the revocation cites."""
        return f"§ 49 Abs. 2 Satz 1 Nr. {GROUND_NUMBERS[self]} HVwVfG"

    @property
    def wording(self) -> str:
        """What the ground says, as the decision's reasons open."""
        return GROUND_WORDING[self]


GROUND_NUMBERS: Final = {
    RevocationGround.RESERVED: 1,
    RevocationGround.REQUIREMENT_NOT_MET: 2,
    RevocationGround.FACTS_CHANGED: 3,
    RevocationGround.LAW_CHANGED: 4,
    RevocationGround.SERIOUS_HARM: 5,
}
GROUND_WORDING: Final = {
    RevocationGround.RESERVED: "Der Widerruf ist im Bewohnerparkausweis vorbehalten.",
    RevocationGround.REQUIREMENT_NOT_MET: (
        "Eine mit dem Bewohnerparkausweis verbundene Auflage wurde nicht erfüllt."
    ),
    RevocationGround.FACTS_CHANGED: (
        "Auf Grund nachträglich eingetretener Tatsachen (Wegzug aus dem Bewohnerparkbereich, "
        "Veräußerung oder Abmeldung des Fahrzeugs) dürfte der Ausweis nicht mehr erteilt "
        "werden, und ohne den Widerruf wäre das öffentliche Interesse gefährdet."
    ),
    RevocationGround.LAW_CHANGED: (
        "Auf Grund einer geänderten Rechtsvorschrift (Aufhebung oder Änderung des "
        "Bewohnerparkbereichs) dürfte der Ausweis nicht mehr erteilt werden; von ihm wurde "
        "für die Zeit danach noch kein Gebrauch gemacht, und ohne den Widerruf wäre das "
        "öffentliche Interesse gefährdet."
    ),
    RevocationGround.SERIOUS_HARM: (
        "Der Widerruf ist geboten, um schwere Nachteile für das Gemeinwohl zu verhüten oder zu "
        "beseitigen."
    ),
}
# § 49 (2) sentence 2 with § 48 (4) HVwVfG: within a year of learning the facts.
REVOCATION_PERIOD_DAYS: Final = 365
IMMEDIATE_ENFORCEMENT_BASIS: Final = "§ 80 Abs. 2 Satz 1 Nr. 4, Abs. 3 Satz 1 VwGO"
SUSPENSIVE_EFFECT_BASIS: Final = "§ 80 Abs. 1 VwGO"
RENEWAL_OPERATIVE_PART: Final = (
    "Der Bewohnerparkausweis wird für die Zeit vom {valid_from} bis zum {valid_until} verlängert."
)
PLATE_CHANGE_OPERATIVE_PART: Final = (
    "Der Bewohnerparkausweis wird auf das Fahrzeug mit dem amtlichen Kennzeichen {plate} "
    "umgeschrieben."
)
REVOCATION_OPERATIVE_PART: Final = "Der Bewohnerparkausweis wird widerrufen."
IMMEDIATE_OPERATIVE_PART: Final = (
    " Die sofortige Vollziehung dieses Widerrufs wird angeordnet (§ 80 Abs. 2 Satz 1 Nr. 4 VwGO)."
)


class RevocationState:
    """Where a revocation stands."""

    AWAITING_NOTIFICATION: Final = "awaiting_notification"  # decided, not yet notified
    AWAITING_FINALITY: Final = "awaiting_finality"  # notified; the permit stays until final
    SUSPENDED: Final = "suspended"  # a timely objection suspends it (§ 80 (1) VwGO)
    IN_EFFECT: Final = "in_effect"  # immediately enforceable: the permit ended
    FINAL: Final = "final"  # unappealable: the permit ended
    LIFTED: Final = "lifted"  # remedied or granted on objection: the permit stands

    OPEN: Final = frozenset({AWAITING_NOTIFICATION, AWAITING_FINALITY, SUSPENDED, IN_EFFECT})


def revocation_final_from(revocation: dict[str, Any]) -> date | None:
    """The first day the revocation is final, or None while that cannot be said yet.

    The day after the objection period ended without a timely objection; after a withdrawn
    objection, the day after the period (or the withdrawal, if later); after the objection
    was dismissed, the day after the month for an action (§ 74 (1) VwGO) ended. A late
    objection never holds finality back.
    """
    deadline = revocation.get("objection_deadline")
    if deadline is None:
        return None
    first: date = deadline + timedelta(days=1)
    for objection in revocation.get("objections", []):
        if not objection.timely:
            continue
        if objection.is_open:
            return None
        if objection.state == ObjectionState.WITHDRAWN and objection.withdrawn_on:
            first = max(first, objection.withdrawn_on)
        if objection.decision is not None and objection.decision.action_deadline:
            first = max(first, objection.decision.action_deadline + timedelta(days=1))
    return first
