"""A business customer's account (Gewerbekunde): the company and the staff who act for it.

A road-works contractor or a market trader has one account per town, numbered
``GK-<TENANTCODE>-NNNN`` by the application (a sequence); its id follows from town and number
(``business_customer_id``). The customer's own staff are applicants who are members with an
account role: an ``owner`` manages members and pays, a ``payer`` pays and sees, a ``viewer``
sees. An account always keeps at least one owner. The company's name is ``PersonalData`` of
the account (subject ``company``: a sole trader's business name names a person).

Dunning, late-payment surcharges and monthly statements come later (#24 leaves them out); they
belong beside this account, reading the receivables it is billed for.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import ActorRecord, Role
from domain.case import check_aware
from domain.errors import InvalidCommand
from domain.payments.receivable import check_identifier, check_text
from domain.personal_data import PersonalData, PersonalValue

BUSINESS_CUSTOMER_NAMESPACE: Final = UUID("9d3a6b1e-2f4c-5e87-a0b9-6c1d7e8f2a45")
COMPANY: Final = "company"  # the data subject of the company's name
CUSTOMER_NUMBER: Final = re.compile(r"GK-[A-Z0-9]{2,12}-\d{4,8}")
REGISTRARS: Final = frozenset({Role.CLERK, Role.ADMIN, Role.SUPERVISOR, Role.SYSTEM})


class AccountRole(StrEnum):
    """What a member of a business customer's staff may do in its account."""

    OWNER = "owner"  # manages members and pays
    PAYER = "payer"  # pays and sees
    VIEWER = "viewer"  # sees


def business_customer_id(tenant: str, customer_number: str) -> UUID:
    """The id of a town's business customer account: the same in every process."""
    return uuid5(BUSINESS_CUSTOMER_NAMESPACE, f"{tenant}/{customer_number}")


class BusinessCustomer(Aggregate):
    """A business customer's account and its members."""

    @classmethod
    def register(
        cls,
        *,
        tenant: str,
        customer_number: str,
        company: PersonalData,
        owner: str,
        actor: ActorRecord,
        at: datetime,
    ) -> BusinessCustomer:
        """Staff open an account for a company; ``owner`` is its first user (an applicant's id)."""
        check_aware(at)
        check_text(tenant, "tenant")
        if not isinstance(customer_number, str) or not CUSTOMER_NUMBER.fullmatch(customer_number):
            raise InvalidCommand("customer_number", "must look like GK-USI-0001")
        customer_id = business_customer_id(tenant, customer_number)
        if not isinstance(company, PersonalData):
            raise InvalidCommand("company", "must be a PersonalData value")
        if company.case_id != customer_id or company.subject != COMPANY:
            raise InvalidCommand("company", "belongs to the account's company subject")
        if not company.value.strip():
            raise InvalidCommand("company", "the company's name is needed")
        check_identifier(owner, "owner")
        if actor.role not in REGISTRARS:
            raise InvalidCommand("actor", "town staff register business customers")
        return cls(
            id=customer_id,
            tenant=tenant,
            customer_number=customer_number,
            company=company,
            owner=owner,
            actor=actor,
            at=at,
        )

    class Registered(Aggregate.Created):
        """A business customer's account opened, its first user its owner."""

        tenant: str
        customer_number: str
        company: PersonalValue
        owner: str
        actor: ActorRecord
        at: datetime

    @event(Registered)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        customer_number: str,
        company: PersonalValue,
        owner: str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.customer_number = customer_number
        self.company = company
        self.registered_at = at
        self.members: dict[str, AccountRole] = {owner: AccountRole.OWNER}

    # ------------------------------------------------------------------ queries

    def role_of(self, member_id: str) -> AccountRole | None:
        """The member's role in the account, or None for someone who is not a member."""
        found = self.members.get(member_id)
        return None if found is None else AccountRole(found)  # a snapshot holds plain str

    def may_pay(self, member_id: str) -> bool:
        """Whether the member may pay the account's receivables (owner, payer)."""
        return self.role_of(member_id) in (AccountRole.OWNER, AccountRole.PAYER)

    def may_see(self, member_id: str) -> bool:
        """Whether the member may see the account's receivables and payments."""
        return self.role_of(member_id) is not None

    def may_manage(self, member_id: str) -> bool:
        """Whether the member may add and remove members (owners)."""
        return self.role_of(member_id) is AccountRole.OWNER

    @property
    def owners(self) -> tuple[str, ...]:
        """The account's owners."""
        return tuple(m for m in self.members if self.role_of(m) is AccountRole.OWNER)

    # ------------------------------------------------------------------ members

    def _check_owner(self, actor_id: str, at: datetime) -> None:
        check_aware(at)
        if not self.may_manage(actor_id):
            raise InvalidCommand("actor", "only an owner of the account manages its members")

    def add_member(
        self,
        *,
        member: str,
        role: AccountRole,
        actor_id: str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        """An owner adds a member of the company's staff, or changes a member's role."""
        self._check_owner(actor_id, at)
        check_identifier(member, "member")
        try:
            account_role = AccountRole(role)
        except ValueError:
            raise InvalidCommand("role", "must be owner, payer or viewer") from None
        previous = self.role_of(member)
        if previous is account_role:
            raise InvalidCommand("member", f"is a member as {account_role} already")
        if previous is AccountRole.OWNER and self.owners == (member,):
            raise InvalidCommand("role", "the account's last owner stays an owner")
        self._member_added(
            member=member, role=account_role, previous_role=previous, actor=actor, at=at
        )

    class MemberAdded(Aggregate.Event):
        """A member added to the account, or their role changed (``previous_role``)."""

        member: str
        role: AccountRole
        previous_role: AccountRole | None
        actor: ActorRecord
        at: datetime

    @event(MemberAdded)
    def _member_added(
        self,
        *,
        member: str,
        role: AccountRole,
        previous_role: AccountRole | None,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        self.members[member] = AccountRole(role)

    def remove_member(
        self, *, member: str, actor_id: str, actor: ActorRecord, at: datetime
    ) -> None:
        """An owner removes a member (never the last owner)."""
        self._check_owner(actor_id, at)
        role = self.role_of(member)
        if role is None:
            raise InvalidCommand("member", "is not a member of the account")
        if role is AccountRole.OWNER and self.owners == (member,):
            raise InvalidCommand("member", "the account's last owner cannot be removed")
        self._member_removed(member=member, role=role, actor=actor, at=at)

    class MemberRemoved(Aggregate.Event):
        """A member removed from the account (the role they had)."""

        member: str
        role: AccountRole
        actor: ActorRecord
        at: datetime

    @event(MemberRemoved)
    def _member_removed(
        self, *, member: str, role: AccountRole, actor: ActorRecord, at: datetime
    ) -> None:
        self.members.pop(member, None)
