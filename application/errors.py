"""Errors of the use cases, named for what the caller did wrong (the API maps them to HTTP)."""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError


class ApplicationError(Exception):
    """A use case refused or failed; the message says why."""


class CaseNotFound(ApplicationError):
    """No such case, or none the actor may see (the two are indistinguishable on purpose)."""

    def __init__(self, case_id: UUID, version: int | None = None) -> None:
        self.case_id = case_id
        self.version = version
        at = f" at version {version}" if version is not None else ""
        super().__init__(f"case {case_id}{at} not found")


class VersionMismatch(ApplicationError):
    """The caller expected another version of the case (a stale If-Match)."""

    def __init__(self, case_id: UUID, expected: int, actual: int) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        super().__init__(f"case {case_id} is at version {actual}, not {expected}")


class ConcurrentUpdate(ApplicationError):
    """Someone else saved the case between our load and our save: nothing was written."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} was changed concurrently; reload and retry")


class IdempotencyConflict(ApplicationError):
    """The same idempotency key was used before with a different request."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(
            "this Idempotency-Key was already used for a different request "
            f"(case {case_id}); use a new key for a new application"
        )


class UnknownService(ApplicationError):
    """A service id that the catalogue does not offer."""

    def __init__(self, service: str, known: list[str]) -> None:
        self.service = service
        super().__init__(f"unknown service {service!r}; offered: {', '.join(sorted(known))}")


class InvalidApplicationData(ApplicationError):
    """Application data that the service's model refuses; each error names its field."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))

    @classmethod
    def of(cls, error: ValidationError, *, prefix: str) -> InvalidApplicationData:
        """From pydantic's errors, with field paths under ``prefix``."""
        return cls(
            [
                (".".join([prefix, *(str(part) for part in e["loc"])]), str(e["msg"]))
                for e in error.errors()
            ]
        )
