"""Who acts: the person behind every command, recorded in every event."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.personal_data import PersonalData, PersonalValue, Subjects


class Role(StrEnum):
    """What a person may do; the access-control issue refines this."""

    APPLICANT = "applicant"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATOR = "integrator"  # a system that reads the feed (a service account)
    SYSTEM = "system"


class Scope(StrEnum):
    """What a service account (an integrator) was granted; people act by their role alone."""

    FEED_READ = "feed:read"  # the public event feed, pull and stream
    PERSONAL_DATA = "personal-data:read"  # personal fields in what it reads (the archive)


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

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an actor needs an id")
        if not self.tenant:
            raise ValueError("an actor needs a tenant")

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
