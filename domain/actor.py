"""Who acts: the person behind every command, recorded in every event."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from domain.personal_data import PersonalData, PersonalValue, Subjects


class Role(StrEnum):
    """What a person may do; the access-control issue refines this."""

    APPLICANT = "applicant"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    CASH_OFFICE = "cash_office"  # the town's cash office (Gemeindekasse): receipts, refunds
    AUDITOR = "auditor"
    DATA_PROTECTION_OFFICER = "data_protection_officer"  # reads the access log of staff reads
    ADMIN = "admin"
    INTEGRATOR = "integrator"  # a system that reads the feed (a service account)
    SYSTEM = "system"


# The primary role of a person with several: the one recorded in events unless a route
# names the role acted in. Staff roles first, since their checks are the narrowest.
ROLE_PRECEDENCE: tuple[Role, ...] = (
    Role.SUPERVISOR,
    Role.CLERK,
    Role.CASH_OFFICE,
    Role.AUDITOR,
    Role.DATA_PROTECTION_OFFICER,
    Role.ADMIN,
    Role.APPLICANT,
    Role.INTEGRATOR,  # a service account (client credentials): acts by its scopes
    Role.SYSTEM,
)


def primary_role(roles: Iterable[Role]) -> Role | None:
    """The first of ``roles`` by ``ROLE_PRECEDENCE`` (None for none)."""
    held = set(roles)
    return next((r for r in ROLE_PRECEDENCE if r in held), None)


class Scope(StrEnum):
    """What a service account (an integrator) was granted; people act by their role alone."""

    FEED_READ = "feed:read"  # the public event feed, pull and stream
    PERSONAL_DATA = "personal-data:read"  # personal fields in what it reads (the archive)
    APPOINTMENT_CONTACT = "appointments:contact"  # a booking's contact, to send its reminder
    WEBHOOKS_MANAGE = "webhooks:manage"  # its webhook subscriptions and their dead letters


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting person as the application knows it (from a token or the CLI)."""

    id: str
    display_name: str
    role: Role
    tenant: str
    on_behalf_of: str | None = None  # the tenant this person acts for under a delegation
    scopes: frozenset[Scope] = frozenset()  # grants of a service account
    teams: frozenset[str] = frozenset()  # staff: the offices they work in (domain.teams)
    serves: frozenset[str] | None = None  # the services those teams handle; None: all
    roles: frozenset[Role] = frozenset()  # every role held (permissions are their union)
    # the teams claim as the token gave it (names or group paths), resolved by the roster;
    # empty: the token names no team
    team_claim: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an actor needs an id")
        if not self.tenant:
            raise ValueError("an actor needs a tenant")
        if not self.roles:
            object.__setattr__(self, "roles", frozenset({self.role}))
        elif self.role not in self.roles:
            raise ValueError(f"the role {self.role} is not one of the actor's roles")

    def acts_as(self, *roles: Role) -> bool:
        """Whether this person holds any of ``roles`` (a permission check)."""
        return not self.roles.isdisjoint(roles)

    def acting_in(self, allowed: Iterable[Role]) -> Actor:
        """This person with the role they act in where only ``allowed`` roles may act.

        The primary role among those allowed is the one recorded in events; without any
        of them, the person is unchanged.
        """
        role = primary_role(self.roles & set(allowed))
        return self if role is None or role is self.role else replace(self, role=role)

    def holds(self, scope: Scope) -> bool:
        """Whether this service account was granted ``scope``."""
        return scope in self.scopes

    def recorded_in(self, case_id: UUID) -> ActorRecord:
        """The actor as an event stores it: the display name is personal data.

        An applicant's name belongs to the applicant subject, so erasing the applicant erases
        it everywhere in the case; staff names have a subject each.
        """
        subject = Subjects.APPLICANT if self.role is Role.APPLICANT else Subjects.actor(self.id)
        return ActorRecord(
            id=self.id,
            display_name=PersonalData(case_id=case_id, subject=subject, value=self.display_name),
            role=self.role,
            tenant=self.tenant,
            on_behalf_of=self.on_behalf_of,
        )


@dataclass(frozen=True, slots=True)
class ActorRecord:
    """The actor as recorded in an event: who, in which role, for which tenant."""

    id: str
    display_name: PersonalValue
    role: Role
    tenant: str
    on_behalf_of: str | None = None
