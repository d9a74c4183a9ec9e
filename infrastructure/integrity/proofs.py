"""A case's proof for its file (Akte): its records in the chain and the nearest checkpoint.

Every stored record of the case (from the recorder, as stored), its previous link and link
from the chain table, and the first signed log checkpoint at or after its last position
(None while none covers it yet). Anyone holding the proof recomputes each link from its
previous link and record; ``vorgang audit verify --case-file`` checks it against the store
(``infrastructure/integrity/verify.py``, ``verify_case_proof``). Records not chained yet are
left out: the proof covers what the chain holds.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from application.store import VorgangStore
from infrastructure.integrity.checkpoints import (
    CHAIN_TABLE,
    TABLE,
    checkpoint_from_json,
    checkpoint_json,
)
from infrastructure.log_position import LogPositions
from infrastructure.view_database import ViewDatabase
from persistence.chain import (
    GENESIS,
    LOG_CHAIN,
    CaseProof,
    ChainedRecord,
    Checkpoint,
    StoredRecord,
)


class ProofsFromTheChain:
    """``IntegrityProofs`` over the recorder and the chain table."""

    def __init__(self, store: VorgangStore, views: ViewDatabase) -> None:
        self.store = store
        self.views = views
        self.positions = LogPositions(store)

    def proof_of(self, case_id: UUID) -> CaseProof:
        """The case's chained records and the first log checkpoint at or after the last."""
        chained: list[ChainedRecord] = []
        for event in self.store.recorder.select_events(case_id):
            position = self.positions.of(case_id, event.originator_version)
            if position is None:
                continue
            rows = self.views.query(
                f"SELECT position, link FROM {CHAIN_TABLE} WHERE position <= ? "
                "ORDER BY position DESC LIMIT 2",
                (position,),
            )
            if not rows or int(rows[0][0]) != position:
                continue  # not chained yet
            previous = bytes.fromhex(str(rows[1][1])) if len(rows) > 1 else GENESIS
            record = StoredRecord(
                position, event.topic, case_id, event.originator_version, bytes(event.state)
            )
            chained.append(ChainedRecord(record, previous, bytes.fromhex(str(rows[0][1]))))
        chained.sort(key=lambda c: c.record.position)
        return CaseProof(tuple(chained), self._checkpoint_from(chained))

    def _checkpoint_from(self, chained: list[ChainedRecord]) -> Checkpoint | None:
        if not chained:
            return None
        rows = self.views.query(
            "SELECT chain, position, link, signed_at, key_id, signature "
            f"FROM {TABLE} WHERE chain = ? AND position >= ? ORDER BY position LIMIT 1",
            (LOG_CHAIN, chained[-1].record.position),
        )
        if not rows:
            return None
        chain, position, link, signed_at, key_id, signature = rows[0]
        return checkpoint_from_json(
            {
                "chain": chain,
                "position": position,
                "link": link,
                "signed_at": signed_at,
                "key_id": key_id,
                "signature": signature,
            }
        )


def case_proof_json(proof: CaseProof) -> dict[str, Any]:
    """A case's proof as JSON: recomputable by anyone with SHA-256 (decision 35)."""
    return {
        "records": [
            {
                "position": c.record.position,
                "topic": c.record.topic,
                "originator_id": str(c.record.originator_id),
                "originator_version": c.record.originator_version,
                "state": base64.b64encode(c.record.state).decode(),
                "previous_link": c.previous_link.hex(),
                "link": c.link.hex(),
            }
            for c in proof.records
        ],
        "checkpoint": checkpoint_json(proof.checkpoint) if proof.checkpoint else None,
    }


def case_proof_from_json(data: Mapping[str, Any]) -> CaseProof:
    """A case's proof from its JSON (``ValueError``/``KeyError`` when malformed)."""
    records = tuple(
        ChainedRecord(
            StoredRecord(
                int(r["position"]),
                str(r["topic"]),
                UUID(str(r["originator_id"])),
                int(r["originator_version"]),
                base64.b64decode(str(r["state"]), validate=True),
            ),
            bytes.fromhex(str(r["previous_link"])),
            bytes.fromhex(str(r["link"])),
        )
        for r in data["records"]
    )
    checkpoint = data.get("checkpoint")
    return CaseProof(records, checkpoint_from_json(checkpoint) if checkpoint else None)


def find_proof(document: Any) -> Mapping[str, Any]:
    """The proof in a case file's JSON: the document itself, or under a key that holds one."""
    if isinstance(document, Mapping):
        if "records" in document and "checkpoint" in document:
            return document
        for value in document.values():
            if isinstance(value, Mapping):
                try:
                    return find_proof(value)
                except ValueError:
                    continue
    raise ValueError("no integrity proof (records and checkpoint) in the file")
