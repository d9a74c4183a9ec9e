"""The fees a case charges and their settlement: commands and events of every case.

``Case`` inherits these. A decision that assesses a fee charges it when it takes effect (in the
same command): one ``FeeCharged`` per charge line, each under a Kassenzeichen of its own that
the town's cash office books (``domain/payments`` keeps the receivable it opens). The case
records when a charge was settled — by the payment provider or the cash office, never by the
clerk who ordered it — and a case billed to a business customer that must pay before issue
leaves ``awaiting_payment`` only when every charge of its decision is settled.

Kassenzeichen: ``AAA-YY-NNNNNN-SS-C`` — the town's key (the last three digits of its AGS), the
year and number of the case's reference (unique per town and year), the charge's number
within the case, and a Luhn check digit (``domain.documents.cash_reference``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role
from domain.documents import cash_reference
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, ChangesStatus
from domain.tenants import tenant as tenant_named
from domain.working_days import berlin_date

if TYPE_CHECKING:
    from domain.decision import Decision

ADMINISTRATIVE_FEE: Final = "administrative_fee"  # Verwaltungsgebühr
SPECIAL_USE_FEE: Final = "special_use_fee"  # Sondernutzungsgebühr (§ 18 HStrG)
MAX_CHARGES: Final = 49  # the charge's two digits in the Kassenzeichen: 01-49
# Why a charge is withdrawn after an objection (a keyword: the receivable's cancel reason).
FEE_REFUNDED: Final = "fee_refunded"  # a remedy or Widerspruchsbescheid refunds (part of) it
DECISION_SET_ASIDE: Final = "decision_set_aside"  # a new decision replaces the one charging it
# Who records that money arrived: the provider's callback (the system) or the cash office.
SETTLERS: Final = frozenset({Role.SYSTEM, Role.CASH_OFFICE})


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """What a decision assesses on one ledger: the amount and the statute it arises under."""

    ledger: str
    amount: Decimal
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Charge:
    """A fee the case charged: its Kassenzeichen, amount, ledger and what assessed it.

    ``refers_to`` names the record (``decision:2``); ``prepaid``: the decision is issued only
    once it is paid; ``due_on``: the day it falls due (a prepaid charge at once; otherwise a
    month after the Bekanntgabe, unknown until then).
    """

    number: int
    kassenzeichen: str
    amount: Decimal
    ledger: str
    legal_basis: str
    refers_to: str
    prepaid: bool
    due_on: date | None = None


class ChargesMadeKnown(Aggregate.Event):
    """Base of a service's event that makes charges known outside its main decision (an
    amending assessment's Bekanntgabe): the charges listed fall due on ``due_on``, which the
    receivables policy sets on their receivables."""

    actor: ActorRecord
    at: datetime
    kassenzeichen: list[str]
    due_on: date


class CaseCharges(Aggregate):
    """Fees charged by a case, the account billed, and their settlement (mixed into ``Case``)."""

    # A service whose business customers pay before the decision is issued (Vorkasse).
    PREPAID_BY_BUSINESS_CUSTOMERS: ClassVar[bool] = False
    PAYMENT_BEFORE_ISSUE: ClassVar[bool] = False  # every applicant pays before issue
    # The ledgers whose charges make up a decision's fee (``Decision.fee``): what a fee refund
    # of a remedy or Widerspruchsbescheid lowers. A service charging its fee on ledgers of its
    # own names them (a special use fee beside it is not the fee, and is not refunded so).
    FEE_LEDGERS: ClassVar[frozenset[str]] = frozenset({ADMINISTRATIVE_FEE})

    if TYPE_CHECKING:  # state and commands of ``Case`` these methods use
        id: Any
        tenant: str
        reference: str
        status: str
        submitted_by: str
        decision: Decision | None
        decisions: list[Decision]
        last_activity_at: datetime
        fee_paid: Decimal | None

        def check_actor(self, actor: Actor, at: datetime) -> None: ...
        def check_allowed(self, command: str) -> None: ...
        def fee_legal_basis(self) -> str: ...

    # ------------------------------------------------------------------ queries
    # State kept by the events below (cases from before charges existed have none of it).

    @property
    def business_customer(self) -> UUID | None:
        """The business customer account the case's fees are billed to, if any."""
        billed: UUID | None = self.__dict__.get("_business_customer")
        return billed

    @property
    def charges(self) -> tuple[Charge, ...]:
        """The fees charged, in order."""
        charged: tuple[Charge, ...] = self.__dict__.get("_charges", ())
        return charged

    @property
    def settled_charges(self) -> frozenset[str]:
        """The Kassenzeichen of the charges paid in full."""
        settled: frozenset[str] = self.__dict__.get("_settled_charges", frozenset())
        return settled

    def payment_before_issue(self) -> bool:
        """Whether a fee must be paid before the decision is issued."""
        billed = self.business_customer is not None
        return self.PAYMENT_BEFORE_ISSUE or (self.PREPAID_BY_BUSINESS_CUSTOMERS and billed)

    def charge_under(self, kassenzeichen: str) -> Charge | None:
        """The charge under this Kassenzeichen, or None."""
        return next((c for c in self.charges if c.kassenzeichen == kassenzeichen), None)

    def charges_of_decision(self, number: int) -> tuple[Charge, ...]:
        """The charges the decision of this number assessed."""
        return tuple(c for c in self.charges if c.refers_to == f"decision:{number}")

    def charges_in_force(self, number: int) -> tuple[Charge, ...]:
        """The charges of the decision of this number that no later act withdrew."""
        withdrawn = self.withdrawn_charges
        return tuple(
            c for c in self.charges_of_decision(number) if c.kassenzeichen not in withdrawn
        )

    def fee_charges_in_force(self) -> tuple[Charge, ...]:
        """The charges of the decision in force that make up its fee, as they stand now (the
        charge a partial refund left, where one did); none if nothing was charged."""
        in_force = self.charges_in_force(len(self.decisions))
        return tuple(c for c in in_force if c.ledger in self.FEE_LEDGERS)

    def open_prepaid_charges(self) -> tuple[Charge, ...]:
        """Prepaid charges of the decision in force that are not settled yet."""
        return tuple(
            c
            for c in self.charges_of_decision(len(self.decisions))
            if c.prepaid
            and c.kassenzeichen not in self.settled_charges
            and c.kassenzeichen not in self.withdrawn_charges
        )

    def charge_commands(self) -> frozenset[str]:
        """``settle_charge`` while a charge is open and the case neither withdrawn nor closed
        (money arrives whatever step the case has reached)."""
        if self.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            return frozenset()
        closed = self.settled_charges | self.withdrawn_charges
        if any(c.kassenzeichen not in closed for c in self.charges):
            return frozenset({"settle_charge"})
        return frozenset()

    def charge_lines(self, decision: Decision) -> tuple[ChargeLine, ...]:
        """Extension point: what the decision assesses, one line per ledger (its fee)."""
        if not decision.outcome.is_approval or not decision.fee:
            return ()
        return (ChargeLine(ADMINISTRATIVE_FEE, decision.fee, self.fee_legal_basis()),)

    # ------------------------------------------------------------------ billing

    def bill_to(self, *, actor: Actor, at: datetime, business_customer: UUID) -> None:
        """The applicant has the case's fees billed to their business customer account.

        Until the decision is made; the application checks the applicant is a member of the
        account who may pay. A service that takes payment before issue from business customers
        then waits in ``awaiting_payment`` after an approval with a fee.
        """
        self.check_allowed("bill_to")
        self.check_actor(actor, at)
        if actor.role is Role.APPLICANT and actor.id != self.submitted_by:
            raise InvalidCommand("actor", "only the applicant who submitted the case bills it")
        if actor.role not in (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR):
            raise InvalidCommand("actor", "the applicant or the town's staff bill a case")
        if business_customer == self.business_customer:
            raise InvalidCommand("business_customer", "the case is billed to this account already")
        self._billed_to(
            actor=actor.recorded_in(self.id), at=at, business_customer=business_customer
        )

    class BilledTo(Aggregate.Event):
        """The case's fees are billed to a business customer's account."""

        actor: ActorRecord
        at: datetime
        business_customer: UUID

    @event(BilledTo)
    def _billed_to(self, *, actor: ActorRecord, at: datetime, business_customer: UUID) -> None:
        self.__dict__["_business_customer"] = business_customer
        self.last_activity_at = at

    # ------------------------------------------------------------------ charges

    def charge_fees(self, record: ActorRecord, at: datetime, decision: Decision) -> None:
        """Charge what the decision taking effect now assesses (called by decide, countersign)."""
        number = len(self.decisions)
        prepaid = self.payment_before_issue()
        for line in self.charge_lines(decision):
            self.charge_line(
                record,
                at,
                line,
                refers_to=f"decision:{number}",
                prepaid=prepaid,
                due_on=berlin_date(at) if prepaid else None,
            )

    def charge_line(
        self,
        record: ActorRecord,
        at: datetime,
        line: ChargeLine,
        *,
        refers_to: str,
        prepaid: bool = False,
        due_on: date | None = None,
    ) -> Charge | None:
        """Charge one line under the case's next Kassenzeichen (nothing for a zero amount).

        Called by the command that assesses it (a decision, a service's yearly assessment),
        so the charge and its receivable are saved with what assessed them.
        """
        if line.amount <= 0:
            return None
        sequence = len(self.charges) + 1
        if sequence > MAX_CHARGES:  # 50-99 are the Kassenzeichen of documents' own costs
            raise InvalidCommand("fee", f"a case charges at most {MAX_CHARGES} fees")
        _prefix, year, case_number = self.reference.split("-")
        official_key = tenant_named(self.tenant).official_key
        charge = Charge(
            number=sequence,
            kassenzeichen=cash_reference(official_key, int(year), int(case_number), sequence),
            amount=line.amount,
            ledger=line.ledger,
            legal_basis=line.legal_basis,
            refers_to=refers_to,
            prepaid=prepaid,
            due_on=due_on,
        )
        self._fee_charged(actor=record, at=at, charge=charge)
        return charge

    class FeeCharged(Aggregate.Event):
        """A fee the decision assessed was charged under its Kassenzeichen."""

        actor: ActorRecord
        at: datetime
        charge: Charge

    @event(FeeCharged)
    def _fee_charged(self, *, actor: ActorRecord, at: datetime, charge: Charge) -> None:
        self.__dict__["_charges"] = (*self.charges, charge)

    @property
    def withdrawn_charges(self) -> frozenset[str]:
        """The Kassenzeichen of charges withdrawn by a later assessment."""
        withdrawn: frozenset[str] = self.__dict__.get("_withdrawn_charges", frozenset())
        return withdrawn

    def withdraw_charge(
        self, record: ActorRecord, at: datetime, kassenzeichen: str, reason: str
    ) -> None:
        """A later assessment replaces a charge: it is withdrawn and its receivable cancelled.

        Called by the command that assesses anew (never a command of its own); what was paid
        under it stays on its receivable as a refund due, for the cash office to refund or
        set off against the new charge.
        """
        if self.charge_under(kassenzeichen) is None:
            raise InvalidCommand("kassenzeichen", "the case charged nothing under it")
        if kassenzeichen in self.withdrawn_charges:
            raise InvalidCommand("kassenzeichen", "the charge is withdrawn already")
        self._charge_withdrawn(actor=record, at=at, kassenzeichen=kassenzeichen, reason=reason)

    class ChargeWithdrawn(Aggregate.Event):
        """A charge was replaced by a later assessment; its receivable is cancelled."""

        actor: ActorRecord
        at: datetime
        kassenzeichen: str
        reason: str

    @event(ChargeWithdrawn)
    def _charge_withdrawn(
        self, *, actor: ActorRecord, at: datetime, kassenzeichen: str, reason: str
    ) -> None:
        self.__dict__["_withdrawn_charges"] = self.withdrawn_charges | {kassenzeichen}
        self.last_activity_at = at

    def check_fee_refund_charged(self, refund: Decimal) -> None:
        """A fee refund never exceeds what the fee's charge still asks (checked before the
        act that refunds records anything)."""
        charges = self.fee_charges_in_force()
        charged = sum((c.amount for c in charges), Decimal(0))
        if charges and refund > charged:
            raise InvalidCommand("fee_refund", f"must not exceed the fee charged ({charged} EUR)")

    def refund_fee(self, record: ActorRecord, at: datetime, refund: Decimal) -> None:
        """A remedy or Widerspruchsbescheid refunds the decision's fee, in full or in part.

        Each charge of the fee the refund reaches (in order) is withdrawn (its receivable
        cancelled: what was paid under it is a refund due for the cash office) and what remains
        of it is charged anew under the next Kassenzeichen, due when the fee was. No receivable
        owes the refunded part, and money paid is never lost; the cash office refunds the
        credit or sets it off against the rest. Called by the command that decides the refund
        (after its own event); a decision from before charges existed has none to reach.
        """
        costs = self.decision.costs if self.decision is not None else None
        left = refund
        for charge in self.fee_charges_in_force():
            if left <= 0:
                break
            share = min(left, charge.amount)
            left -= share
            self.withdraw_charge(record, at, charge.kassenzeichen, FEE_REFUNDED)
            self.charge_line(
                record,
                at,
                ChargeLine(charge.ledger, charge.amount - share, charge.legal_basis),
                refers_to=charge.refers_to,
                due_on=charge.due_on or (costs.due_on if costs is not None else None),
            )

    def set_aside_charges(self, record: ActorRecord, at: datetime) -> None:
        """A remedy or Widerspruchsbescheid calls for a new decision: the one in force gives
        way with its fees (their receivables cancelled, what was paid a refund due); the new
        decision charges its own when it takes effect, so a fee is never charged twice."""
        for charge in self.charges_in_force(len(self.decisions)):
            self.withdraw_charge(record, at, charge.kassenzeichen, DECISION_SET_ASIDE)

    def settle_charge(
        self, *, actor: Actor, at: datetime, kassenzeichen: str, amount: Decimal, payment: str
    ) -> None:
        """The charge is paid in full (reported by the provider or the cash office).

        Money arrives whatever the case's status: it is recorded while the case is open, and
        a case awaiting payment continues once its decision's prepaid charges are all settled.
        A withdrawn or closed case takes no settlement: its receivable keeps the money as a
        refund due.
        """
        self.check_allowed("settle_charge")
        self.check_actor(actor, at)
        if actor.role not in SETTLERS:
            raise InvalidCommand(
                "actor", "payments are confirmed by the payment provider or the cash office"
            )
        charge = self.charge_under(kassenzeichen)
        if charge is None:
            raise InvalidCommand("kassenzeichen", "the case charged nothing under it")
        if kassenzeichen in self.settled_charges:
            raise InvalidCommand("kassenzeichen", "the charge is settled already")
        if kassenzeichen in self.withdrawn_charges:
            raise InvalidCommand("kassenzeichen", "the charge was withdrawn by a later assessment")
        if amount != charge.amount:
            raise InvalidCommand("amount", f"the charge is {charge.amount}, not {amount}")
        status = self.status
        still_open = [c for c in self.open_prepaid_charges() if c.kassenzeichen != kassenzeichen]
        if status == CaseStatus.AWAITING_PAYMENT and not still_open:
            status = CaseStatus.DECIDED
        self._charge_settled(
            actor=actor.recorded_in(self.id),
            at=at,
            kassenzeichen=kassenzeichen,
            amount=amount,
            payment=payment,
            status=status,
        )

    class ChargeSettled(ChangesStatus):
        """A charge was paid in full; a case awaiting payment may continue."""

        actor: ActorRecord
        at: datetime
        kassenzeichen: str
        amount: Decimal
        payment: str

    @event(ChargeSettled)
    def _charge_settled(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        kassenzeichen: str,
        amount: Decimal,
        payment: str,
        status: str,
    ) -> None:
        self.__dict__["_settled_charges"] = self.settled_charges | {kassenzeichen}
        charge = self.charge_under(kassenzeichen)
        if charge is not None and charge.ledger == ADMINISTRATIVE_FEE:
            self.fee_paid = (self.fee_paid or Decimal(0)) + amount
        self.status = status
        self.last_activity_at = at
