"""Demo e-payment: a road-works contractor pays its permits' fees as a business customer.

In every town the contractor "Tiefbau Hochtaunus GmbH" holds a business customer account
(its site manager the owner, its accountant a payer). Two road opening permits are billed to
it: the first was paid at the town's cash office, so its case went on to ``decided``; the
second waits in ``awaiting_payment`` for the contractor to pay online through the payment
provider (the simulator ``make run`` starts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from application.payments import PaymentService
from domain.actor import Actor, Role
from domain.case_steps import BILL_TO, BillTo
from domain.payments.business_customer import AccountRole, BusinessCustomer, business_customer_id
from domain.personal_data import PersonalData
from domain.tenants import tenant as tenant_named
from infrastructure.demo_road_opening import permitted
from infrastructure.demo_steps import Office, Step, case_of, today
from infrastructure.wiring import Vorgang

COMPANY: Final = "Tiefbau Hochtaunus GmbH"
# Demo accounts are numbered from 9001, apart from the accounts a town registers (from 0001).
DEMO_ACCOUNT: Final = 9001
OWNER_INDEX: Final = 900  # the site manager's applicant account: portal:demo-<town>-900
PAYER_INDEX: Final = 901  # the accountant's


def contractor(tenant: str, index: int) -> Actor:
    """The contractor's staff member with this demo index, as the portal signs them in."""
    names = {OWNER_INDEX: "Jörg Brenner", PAYER_INDEX: "Sabine Adler"}
    return Actor(f"portal:demo-{tenant}-{index}", names[index], Role.APPLICANT, tenant)


def cash_office(tenant: str) -> Actor:
    """The town's cash office (never the clerk who decided)."""
    return Actor(f"kasse.{tenant}", "Gemeindekasse", Role.CASH_OFFICE, tenant)


def demo_account_id(tenant: str) -> UUID:
    """The contractor's account in this town."""
    prefix = tenant_named(tenant).reference_prefix
    return business_customer_id(tenant, f"GK-{prefix}-{DEMO_ACCOUNT}")


def ensure_account(vorgang: Vorgang, town: Office, clock: FixedClock) -> UUID:
    """The contractor's account, registered by the town's clerk the first time."""
    tenant = town.clerk.tenant
    account_id = demo_account_id(tenant)
    if vorgang.store.index.stored_ids([account_id]):
        return account_id
    prefix = tenant_named(tenant).reference_prefix
    owner = contractor(tenant, OWNER_INDEX)
    account = BusinessCustomer.register(
        tenant=tenant,
        customer_number=f"GK-{prefix}-{DEMO_ACCOUNT}",
        company=PersonalData(case_id=account_id, subject="company", value=COMPANY),
        owner=owner.id,
        actor=town.clerk.recorded_in(account_id),
        at=clock.now(),
    )
    account.add_member(
        member=contractor(tenant, PAYER_INDEX).id,
        role=AccountRole.PAYER,
        actor_id=owner.id,
        actor=owner.recorded_in(account_id),
        at=clock.now(),
    )
    vorgang.store.save(account)
    return account_id


def billed_and_permitted(vorgang: Vorgang, index: int, paid: bool) -> Step:
    """Billed to the contractor's account by its site manager, permitted (the fee awaits
    payment before issue); paid at the cash office the next day when ``paid``."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        account = ensure_account(vorgang, town, clock)
        applicant = contractor(town.clerk.tenant, index)
        h.handle(case_id, BILL_TO(BillTo(business_customer=account)), applicant, None)
        permitted(h, case_id, town, clock)
        if not paid:
            return
        clock.advance(timedelta(days=1))
        payments = PaymentService(vorgang.store, clock)
        case = case_of(h, case_id)
        for charge in case.charges:
            payments.record_receipt(
                cash_office(case.tenant),
                charge.kassenzeichen,
                amount=charge.amount,
                channel="counter",
                received_on=today(clock),
                reference=f"BAR-{today(clock):%Y%m%d}-{charge.number:02d}",
            )

    return step


def payment_scenarios(vorgang: Vorgang) -> tuple[tuple[int, Step], ...]:
    """The contractor's two permits: (applicant index, scenario)."""
    return (
        (OWNER_INDEX, billed_and_permitted(vorgang, OWNER_INDEX, paid=True)),
        (PAYER_INDEX, billed_and_permitted(vorgang, PAYER_INDEX, paid=False)),
    )
