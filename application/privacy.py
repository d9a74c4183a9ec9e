"""Erasure of personal data by destroying keys (crypto-shredding)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.cases import load_visible
from application.clock import Clock
from application.errors import ConcurrentUpdate
from application.store import VorgangStore
from domain.actor import Actor
from domain.case import Case
from domain.errors import InvalidCommand

SAVE_ATTEMPTS = 5


class KeyDestroyer(Protocol):
    """What erasure needs of the key store."""

    def subjects_of(self, case_id: UUID) -> list[str]:
        """The data subjects that have keys in this case."""
        ...

    def destroy(self, case_id: UUID, subjects: Collection[str] | None = None) -> list[str]:
        """Destroy the keys of these subjects; return the destroyed key ids."""
        ...


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What an erasure did: which subjects, how many keys, the case's new version."""

    case_id: UUID
    subjects: tuple[str, ...]
    destroyed_keys: int
    version: int


class PrivacyService:
    """Erases data subjects of a case and records that it did."""

    def __init__(self, store: VorgangStore, keys: KeyDestroyer, clock: Clock) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock

    def erase(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        reason: str,
        legal_basis: str,
        subjects: Collection[str] | None = None,
    ) -> ErasureResult:
        """Destroy the keys (every subject of the case if ``subjects`` is None), then record it.

        An empty collection is refused: erasure cannot be undone, so "nobody named" must
        never mean everyone. Keys go first: if recording fails, the data is gone all the
        same and a repeated call records the erasure (destroying keys again is harmless).
        """
        if subjects is not None and not subjects:
            raise InvalidCommand("subjects", "name at least one data subject, or erase them all")
        case = self._load(case_id, actor)
        known = self.keys.subjects_of(case_id)
        chosen = sorted(set(subjects)) if subjects is not None else known
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise InvalidCommand("subjects", f"no personal data of {', '.join(unknown)} here")
        case.check_erasure(
            actor=actor,
            at=self.clock.now(),
            subjects=chosen,
            reason=reason,
            legal_basis=legal_basis,
        )
        destroyed: set[str] = set()
        for _attempt in range(SAVE_ATTEMPTS):
            # Destroyed again on every attempt: a command that saved meanwhile (the reason
            # this attempt's save lost) may have written with a key made after the last
            # destroy, or, when all are erased, for a subject that had no key before.
            if subjects is None:
                chosen = self.keys.subjects_of(case_id)
            destroyed.update(self.keys.destroy(case_id, chosen))
            case.record_erasure(
                actor=actor,
                at=self.clock.now(),
                subjects=chosen,
                reason=reason,
                legal_basis=legal_basis,
            )
            try:
                self.store.save(case)
            except IntegrityError:
                case = self._load(case_id, actor)
                continue
            return ErasureResult(case_id, tuple(chosen), len(destroyed), case.version)
        raise ConcurrentUpdate(case_id)

    def _load(self, case_id: UUID, actor: Actor) -> Case:
        return load_visible(self.store, case_id, actor)
