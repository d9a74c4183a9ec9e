"""The one event store of a deployment: every aggregate type is saved through it.

docs/architecture.md, decision 2: one ``Application`` subclass, so there is one totally ordered
notification log that projections and the feed follow. It is built once at start-up and
injected into the use-case classes; nothing imports a module-level instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding

from domain.reference import ReferenceCounter
from persistence.new_aggregates import creating
from persistence.store_index import StoreIndex, store_index_for
from persistence.transcodings import register_value_transcodings


class VorgangStore(Application[UUID]):
    """The event store, notification log and repository of one deployment."""

    name = "vorgang"  # PostgreSQL table names derive from it: keep it pinned
    is_snapshotting_enabled = True
    # Reference counters of earlier releases are still read once per town and year (to
    # continue after their last number); their snapshots keep that read short.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {ReferenceCounter: 50}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        personal_data: Transcoding,
    ) -> None:
        # Set before the base class builds its transcoder, which calls register_transcodings.
        self._personal_data_transcoding = personal_data
        self._after_save: list[Callable[[], None]] = []
        self._policies: list[Callable[[Sequence[Any]], Sequence[Any]]] = []
        super().__init__(env=dict(env) if env is not None else None)
        # Which aggregates exist, and reference numbers: one statement each (decision 18).
        self.index: StoreIndex = store_index_for(self.recorder)
        from application.receivables import ReceivablesOfCases  # it saves through this store

        self.follow_with(ReceivablesOfCases(self))

    def follow_with(self, policy: Callable[[Sequence[Any]], Sequence[Any]]) -> None:
        """Save what ``policy`` derives from every save's aggregates in the same transaction
        (a case's charge opens its receivable: application/receivables.py)."""
        self._policies.append(policy)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save, with what the policies derive, telling the encoders which aggregates this
        save creates."""
        for policy in self._policies:
            objs = (*objs, *policy(objs))
        created = frozenset(
            obj.id
            for obj in objs
            if (pending := getattr(obj, "pending_events", None))
            and pending[0].originator_version == 1
        )
        with creating(created):
            return super().save(*objs, **kwargs)

    def after_save(self, listener: Callable[[], None]) -> None:
        """Call this after every save in this process (projection runners wake on it)."""
        self._after_save.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        for listener in self._after_save:
            listener()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """The library's own, our value types, and the personal-data transcoding."""
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)
        transcoder.register(self._personal_data_transcoding)
