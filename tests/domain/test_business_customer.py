"""A business customer's account: registered by town staff, its members managed by its owners.

Owners manage members and pay, payers pay and see, viewers see; an account never loses its
last owner; the company's name is sealed personal data of the account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.actor import ActorRecord, Role
from domain.errors import InvalidCommand
from domain.payments.business_customer import (
    AccountRole,
    BusinessCustomer,
    business_customer_id,
)
from domain.personal_data import PersonalData, Subjects

TOWN = "usingen"
NUMBER = "GK-USI-0001"
ID = business_customer_id(TOWN, NUMBER)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPANY = PersonalData(ID, "company", "Tiefbau Müller GmbH")
OWNER = "portal:4711"
PAYER = "portal:4712"
VIEWER = "portal:4713"


def person(actor_id: str, role: Role) -> ActorRecord:
    """An actor as the account records them."""
    return ActorRecord(actor_id, PersonalData(ID, Subjects.actor(actor_id), actor_id), role, TOWN)


CLERK = person("anna.schmidt", Role.CLERK)
OWNER_RECORD = person(OWNER, Role.APPLICANT)


def registered(**changes: Any) -> BusinessCustomer:
    """Tiefbau Müller's account, its owner the contractor's first user."""
    given: dict[str, Any] = {
        "tenant": TOWN,
        "customer_number": NUMBER,
        "company": COMPANY,
        "owner": OWNER,
        "actor": CLERK,
        "at": AT,
    }
    given.update(changes)
    return BusinessCustomer.register(**given)


def with_staff() -> BusinessCustomer:
    customer = registered()
    for member, role in ((PAYER, AccountRole.PAYER), (VIEWER, AccountRole.VIEWER)):
        customer.add_member(member=member, role=role, actor_id=OWNER, actor=OWNER_RECORD, at=AT)
    return customer


def test_an_account_is_registered_with_its_owner() -> None:
    customer = registered()
    assert customer.id == ID
    assert customer.id != business_customer_id("schmitten", NUMBER)
    assert customer.company == COMPANY
    assert customer.role_of(OWNER) is AccountRole.OWNER
    assert customer.owners == (OWNER,)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_number": "USI-1"}, "customer_number"),
        ({"company": PersonalData(ID, Subjects.APPLICANT, "X")}, "company"),
        ({"company": "Tiefbau Müller GmbH"}, "company"),
        ({"owner": ""}, "owner"),
        ({"actor": OWNER_RECORD}, "actor"),
        ({"at": datetime(2026, 3, 2, 9, 0)}, "at"),
    ],
)
def test_registration_refuses_what_no_town_opens(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        registered(**changes)
    assert refused.value.field == field


def test_account_roles_say_who_pays_and_who_sees() -> None:
    customer = with_staff()
    assert [customer.may_pay(m) for m in (OWNER, PAYER, VIEWER, "stranger")] == [
        True,
        True,
        False,
        False,
    ]
    assert [customer.may_see(m) for m in (OWNER, PAYER, VIEWER, "stranger")] == [
        True,
        True,
        True,
        False,
    ]
    assert customer.role_of("stranger") is None


def test_only_an_owner_manages_members() -> None:
    customer = with_staff()
    with pytest.raises(InvalidCommand) as refused:
        customer.add_member(
            member="portal:9", role=AccountRole.OWNER, actor_id=PAYER, actor=OWNER_RECORD, at=AT
        )
    assert refused.value.field == "actor"
    with pytest.raises(InvalidCommand) as refused:
        customer.remove_member(member=VIEWER, actor_id=PAYER, actor=OWNER_RECORD, at=AT)
    assert refused.value.field == "actor"


def test_a_role_is_changed_by_adding_the_member_again() -> None:
    customer = with_staff()
    customer.add_member(
        member=VIEWER, role=AccountRole.PAYER, actor_id=OWNER, actor=OWNER_RECORD, at=AT
    )
    assert customer.may_pay(VIEWER)
    changed = customer.collect_events()[-1]
    assert isinstance(changed, BusinessCustomer.MemberAdded)
    assert changed.previous_role is AccountRole.VIEWER
    with pytest.raises(InvalidCommand) as refused:
        customer.add_member(
            member=VIEWER, role=AccountRole.PAYER, actor_id=OWNER, actor=OWNER_RECORD, at=AT
        )
    assert refused.value.field == "member"
    with pytest.raises(InvalidCommand) as refused:
        customer.add_member(member=VIEWER, role="boss", actor_id=OWNER, actor=OWNER_RECORD, at=AT)  # type: ignore[arg-type]
    assert refused.value.field == "role"


def test_the_last_owner_is_never_removed_or_demoted() -> None:
    customer = with_staff()
    with pytest.raises(InvalidCommand) as refused:
        customer.remove_member(member=OWNER, actor_id=OWNER, actor=OWNER_RECORD, at=AT)
    assert refused.value.field == "member"
    with pytest.raises(InvalidCommand) as refused:
        customer.add_member(
            member=OWNER, role=AccountRole.VIEWER, actor_id=OWNER, actor=OWNER_RECORD, at=AT
        )
    assert refused.value.field == "role"
    customer.add_member(
        member=PAYER, role=AccountRole.OWNER, actor_id=OWNER, actor=OWNER_RECORD, at=AT
    )
    customer.remove_member(member=OWNER, actor_id=PAYER, actor=OWNER_RECORD, at=AT)
    assert customer.owners == (PAYER,)
    assert not customer.may_see(OWNER)
    with pytest.raises(InvalidCommand) as refused:
        customer.remove_member(member=OWNER, actor_id=PAYER, actor=OWNER_RECORD, at=AT)
    assert refused.value.field == "member"


def test_the_account_replays_from_its_events() -> None:
    customer = with_staff()
    customer.remove_member(member=VIEWER, actor_id=OWNER, actor=OWNER_RECORD, at=AT)
    rebuilt: BusinessCustomer | None = None
    for e in customer.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.__dict__ == customer.__dict__
