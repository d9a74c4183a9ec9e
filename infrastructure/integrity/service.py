"""The integrity of the logs as the API and the command line use it (decision 35)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.ports import FullRun, PublishedKey
from application.store import VorgangStore
from infrastructure.integrity import checkpoints as kept
from infrastructure.integrity.signing import ALGORITHM, CheckpointSigner, public_pem
from infrastructure.integrity.verify import (
    chain_head,
    last_full_run,
    log_head,
    verify_access_log_chain,
    verify_log,
)
from infrastructure.view_database import ViewDatabase
from persistence.chain import ChainReport, Checkpoint


@dataclass
class Integrity:
    """Verify both chains, list checkpoints, publish the keys."""

    store: VorgangStore
    views: ViewDatabase
    signer: CheckpointSigner
    public_keys: Mapping[str, bytes]
    every_events: int | None = None  # the count rule's N: checkpoint spacing is checked

    def verify(
        self, *, full: bool, by: str, auditor_copies: Sequence[Checkpoint] = ()
    ) -> list[ChainReport]:
        """The log's chain and the access log's (once it exists), each from its trusted start."""
        reports = [
            verify_log(
                self.store,
                self.views,
                self.public_keys,
                full=full,
                auditor_copies=auditor_copies,
                by=by,
                signer=self.signer,
                every_events=self.every_events,
            )
        ]
        reports.append(verify_access_log_chain(self.views, self.public_keys, auditor_copies))
        return reports

    def head(self) -> int:
        """The log's last position."""
        return log_head(self.store)

    def chained(self) -> int:
        """The last position the chain holds."""
        return chain_head(self.views)

    def checkpoints(self, chain: str, *, after: int = 0, limit: int = 100) -> list[Checkpoint]:
        """A chain's signed checkpoints after a position."""
        return kept.checkpoints(self.views, chain, after=after, limit=limit)

    def latest_checkpoint(self, chain: str) -> Checkpoint | None:
        """A chain's last checkpoint."""
        return kept.latest_checkpoint(self.views, chain)

    def published_keys(self) -> list[PublishedKey]:
        """The current public key first, then the retired ones."""
        return [
            PublishedKey(
                key_id=key_id,
                algorithm=ALGORITHM,
                public_key=public,
                pem=public_pem(public),
                current=key_id == self.signer.key_id,
            )
            for key_id, public in sorted(
                self.public_keys.items(), key=lambda item: item[0] != self.signer.key_id
            )
        ]

    def last_full_run(self, chain: str) -> FullRun | None:
        """The last signed run of a chain from its first record (``vorgang audit verify
        --full``, or an incremental one with no trusted start yet)."""
        found = last_full_run(self.views, chain, self.public_keys)
        return None if found is None else FullRun(*found)
