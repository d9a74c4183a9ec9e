"""Bekanntgabe: the day a decision counts as notified, by how it was delivered.

§ 41 HVwVfG (the Hessian text follows § 41 VwVfG): a decision takes effect towards its
addressee with its Bekanntgabe (§ 43 (1) HVwVfG), and every period against it (the objection
period, a permit's validity and lapse) runs from that day, not from the day it was decided.

* ``counter`` — handed over in person (Aushändigung): that day.
* ``letter`` — by ordinary post within Germany: the presumed day, the third (until 2024) or
  fourth (from 2025) day after posting (§ 41 (2) sentence 1).
* ``electronic`` — sent electronically (e-mail with a qualified signature, De-Mail): the same
  presumed day after sending (§ 41 (2) sentence 2).
* ``portal`` — made available for retrieval in the portal: the day after retrieval
  (§ 41 (2a) sentence 1 VwVfG; the HVwVfG has the same provision).
* ``postbox`` — provided in the addressee's electronic postbox (BundID, Mein
  Unternehmenskonto) for retrieval: likewise the day after retrieval (§ 41 (2a) HVwVfG with
  § 9 OZG); a message not retrieved is not notified, and the letter follows.
* ``formal_service`` — formal service (Zustellung) under the HVwZG: the day of service on the
  certificate (Zustellungsurkunde, Empfangsbekenntnis; § 41 (5) HVwVfG, §§ 3-5 HVwZG).

Where the letter or message arrived later than presumed, the actual receipt wins (§ 41 (2)
sentence 3: "außer wenn er nicht oder zu einem späteren Zeitpunkt zugegangen ist"); an earlier
receipt does not bring the day forward.

Two choices are rules of their own, versioned like tariffs (docs/architecture.md, decision 23):
the number of days (three until the federal Postrechtsmodernisierungsgesetz of 15 July 2024,
four in § 41 (2) VwVfG from 1 January 2025), and whether a presumed day that falls on a
Saturday, Sunday or public holiday moves to the next working day. Vorgang follows the
Federal Finance Court for the latter (BFH, judgment of 14 October 2003 - IX R 68/98, BStBl.
II 2003, 898, on the same presumption in § 122 (2) AO with § 108 (3) AO; likewise BSG,
judgment of 6 May 2010 - B 14 AS 12/09 R): the day moves. The older Hessian line (HessVGH,
OS IV 97/65: the presumption holds on a Sunday too) is the other side; a town that follows it
amends the table (``RuleBook``) and the decision's notification records which version applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Final

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.versions import in_force
from domain.working_days import next_working_day

RULES_ID: Final = "bekanntgabe"


class Delivery(Enum):
    """How a decision reached its addressee."""

    COUNTER = "counter"
    LETTER = "letter"
    ELECTRONIC = "electronic"
    PORTAL = "portal"
    POSTBOX = "postbox"
    FORMAL_SERVICE = "formal_service"


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """One version of the Bekanntgabe rules: the presumed days and the weekend choice."""

    version: str
    valid_from: date
    days_after_posting: int  # letter and electronic message alike
    moves_off_non_working_days: bool
    legal_basis: str
    authority: str  # the case law or text the weekend choice follows

    def notified_on(self, delivery: Delivery, sent_on: date, received_on: date | None) -> date:
        """The day the decision counts as notified; refusals name the field at fault."""
        if received_on is not None and received_on < sent_on:
            raise InvalidCommand("received_on", "must not lie before sent_on")
        if delivery is Delivery.COUNTER:
            if received_on is not None and received_on != sent_on:
                raise InvalidCommand(
                    "received_on", "a decision handed over at the counter is received that day"
                )
            return sent_on
        if delivery in (Delivery.PORTAL, Delivery.POSTBOX):
            if received_on is None:
                raise InvalidCommand(
                    "received_on",
                    f"a decision in the {delivery.value} counts as notified the day after its "
                    "retrieval: give the day of retrieval",
                )
            return received_on + timedelta(days=1)
        if delivery is Delivery.FORMAL_SERVICE:
            if received_on is None:
                raise InvalidCommand(
                    "received_on", "give the day of service on the certificate of service"
                )
            return received_on
        presumed = self.presumed_day(sent_on)
        if received_on is not None and received_on > presumed:
            return received_on
        return presumed

    def presumed_day(self, sent_on: date) -> date:
        """The presumed day of receipt of a letter or message sent on ``sent_on``."""
        day = sent_on + timedelta(days=self.days_after_posting)
        return next_working_day(day) if self.moves_off_non_working_days else day

    def record(
        self, delivery: Delivery, sent_on: date, received_on: date | None, notified_on: date
    ) -> RulesApplied:
        """The rule as the notification records it, for replay."""
        return RulesApplied(
            rules_id=RULES_ID,
            version=self.version,
            inputs={
                "delivery": delivery.value,
                "sent_on": sent_on.isoformat(),
                "received_on": received_on.isoformat() if received_on else None,
                "days_after_posting": self.days_after_posting,
                "moves_off_non_working_days": self.moves_off_non_working_days,
                "notified_on": notified_on.isoformat(),
            },
        )


_WEEKEND_AUTHORITY: Final = (
    "BFH, Urteil vom 14.10.2003 - IX R 68/98; BSG, Urteil vom 06.05.2010 - B 14 AS 12/09 R"
)

RULES: Final[tuple[NotificationRule, ...]] = (
    NotificationRule(
        version="he-3-tage",
        valid_from=date(1977, 1, 1),
        days_after_posting=3,
        moves_off_non_working_days=True,
        legal_basis="§ 41 Abs. 2 HVwVfG (dritter Tag nach Aufgabe zur Post bzw. Absendung)",
        authority=_WEEKEND_AUTHORITY,
    ),
    NotificationRule(
        version="2025-4-tage",
        valid_from=date(2025, 1, 1),
        days_after_posting=4,
        moves_off_non_working_days=True,
        legal_basis=(
            "§ 41 Abs. 2 VwVfG i. d. F. des Postrechtsmodernisierungsgesetzes vom 15.07.2024 "
            "(vierter Tag nach Aufgabe zur Post bzw. Absendung); § 41 HVwVfG gleichlautend "
            "angewandt"
        ),
        authority=_WEEKEND_AUTHORITY,
    ),
)


def rule_on(sent_on: date) -> NotificationRule:
    """The rule in force on the day the decision was sent."""
    return in_force(RULES, sent_on)
