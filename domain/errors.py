"""Named domain errors: every refused command says why, in the terms of the domain."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """A command the domain refuses: the message says why."""


class InvalidTransition(DomainError):
    """A command that the case's current state does not allow."""

    def __init__(self, command: str, status: str, allowed: Iterable[str]) -> None:
        self.command = command
        self.status = status
        self.allowed = tuple(sorted(allowed))
        allowed_text = ", ".join(self.allowed) or "none"
        super().__init__(f"cannot {command} a case that is {status}; allowed now: {allowed_text}")


class CaseHeldByAnotherClerk(DomainError):
    """The case is claimed by someone else."""

    def __init__(self, holder_id: str) -> None:
        self.holder_id = holder_id
        super().__init__(f"the case is held by {holder_id}; they must release it first")


class NotTheHolder(DomainError):
    """A command that only the clerk holding the case may give."""

    def __init__(self, command: str, holder_id: str | None) -> None:
        self.command = command
        self.holder_id = holder_id
        who = f"held by {holder_id}" if holder_id else "not claimed by anyone"
        super().__init__(f"only the clerk holding the case may {command}; it is {who}")


class InvalidCommand(DomainError):
    """A command whose input breaks a rule (missing reason, deadline in the past, ...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def about(self, field: str) -> InvalidCommand:
        """The same refusal, naming the field the caller knows it by (``data.reading``)."""
        return InvalidCommand(field, self.message)


class WrongTenant(DomainError):
    """An actor acting on a case of a tenant they do not act for."""

    def __init__(self, actor_tenant: str, case_tenant: str) -> None:
        self.actor_tenant = actor_tenant
        self.case_tenant = case_tenant
        super().__init__(f"an actor of {actor_tenant} cannot act on a case of {case_tenant}")
