"""Deemed approval (Genehmigungsfiktion, § 42a HVwVfG) and its certificate (§ 42a (3)).

Only where a legal rule orders it (``Case.DEEMED_APPROVAL``, the service's rule named in
``Case.DEEMED_APPROVAL_RULE``): when the statutory period — from the receipt of the complete
documents, extended at most once with reasons communicated in time (§ 42a (2)) — ended
without a decision, the approval applied for is deemed granted (§ 42a (1) sentence 1). It
takes effect on the day after the period's last day; the case records it as an event, run
by the scheduler as the system on that day (``domain/case_timers.py``) or by a clerk.

A deemed approval is an approval: it needs no notification (it was never issued), and the
rules on finality and on objections apply to it (§ 42a (1) sentence 2 HVwVfG). Nothing
restarts the clock or decides afterwards; it ends only as an approval ends — the
applicant's withdrawal of the application while it is not final, or the authority's
withdrawal or revocation (§§ 48, 49 HVwVfG, not modelled here).

On request the certificate (Bescheinigung, § 42a (3) HVwVfG) is issued: a document in the
case file whose text names the town, the authority, the reference, what was deemed approved,
the day it took effect and the legal basis. Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

FICTION_BASIS: Final = "§ 42a Abs. 1 Satz 1 HVwVfG"
CERTIFICATE_BASIS: Final = "§ 42a Abs. 3 HVwVfG"


def legal_basis(service_rule: str | None) -> str:
    """The legal basis of a deemed approval: § 42a (1) sentence 1 with the service's rule."""
    return f"{FICTION_BASIS} i. V. m. {service_rule}" if service_rule else FICTION_BASIS


@dataclass(frozen=True, slots=True)
class DeemedApproval:
    """The approval deemed granted: the period's last day, the day it took effect, its basis."""

    period_ended_on: date
    took_effect_on: date  # the day after the period's last day
    legal_basis: str
    recorded_by: str  # the actor id (the scheduler, or a clerk)


@dataclass(frozen=True, slots=True)
class DeemedApprovalCertificate:
    """The certificate of § 42a (3) HVwVfG as issued into the case file."""

    number: int  # 1 for the first; a copy requested again is the next
    issued_on: date
    town: str
    authority: str
    reference: str
    subject: str
    took_effect_on: date
    legal_basis: str
    text: str


def certificate_text(
    *,
    town: str,
    authority: str,
    reference: str,
    subject: str,
    took_effect_on: date,
    legal_basis: str,
    issued_on: date,
) -> str:
    """The certificate's wording (German: it is an official document of the town)."""
    return (
        f"{authority}\n"
        f"Aktenzeichen: {reference}\n"
        f"Bescheinigung über den Eintritt der Genehmigungsfiktion ({CERTIFICATE_BASIS})\n\n"
        f"Hiermit wird bescheinigt, dass {subject} mit Ablauf der Entscheidungsfrist gemäß "
        f"{legal_basis} als genehmigt gilt. Die Genehmigung gilt seit dem "
        f"{took_effect_on:%d.%m.%Y} als erteilt.\n\n"
        f"{town}, den {issued_on:%d.%m.%Y}\n{authority}"
    )
