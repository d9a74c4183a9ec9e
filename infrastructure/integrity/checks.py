"""What `vorgang audit verify` reads and prints: auditors' copies, case files, a line a chain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infrastructure.integrity.checkpoints import checkpoint_from_json
from infrastructure.integrity.proofs import case_proof_from_json, find_proof
from infrastructure.integrity.verify import chain_head, verify_case_proof
from persistence.chain import ChainReport, Checkpoint

if TYPE_CHECKING:
    from infrastructure.wiring import Vorgang


def load_copies(path: Path) -> list[Checkpoint]:
    """An auditor's saved checkpoints: the JSON of GET /api/v1/integrity/checkpoints (or
    its list of checkpoints, or several such pages in a list)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [checkpoint_from_json(item) for item in _items(document)]


def _items(document: Any) -> list[Any]:
    if isinstance(document, dict):
        return list(document["checkpoints"])
    if isinstance(document, list):
        items: list[Any] = []
        for entry in document:
            items += (
                _items(entry) if isinstance(entry, dict) and "checkpoints" in entry else [entry]
            )
        return items
    raise ValueError("expected the JSON of GET /api/v1/integrity/checkpoints")


def verify_case_file(vorgang: Vorgang, path: Path) -> ChainReport:
    """A case file's (Akte's) integrity proof checked against the store."""
    proof = case_proof_from_json(find_proof(json.loads(path.read_text(encoding="utf-8"))))
    return verify_case_proof(proof, vorgang.store, vorgang.views, vorgang.integrity.public_keys)


def report_json(report: ChainReport) -> dict[str, Any]:
    """A chain's report as JSON (the CLI's --json and GET /api/v1/integrity alike)."""
    found = report.disagreement
    return {
        "chain": report.chain,
        "ok": report.ok,
        "verified_from": report.verified_from,
        "verified_to": report.verified_to,
        "records": report.records,
        "checkpoints_checked": report.checkpoints_checked,
        "disagreement": (
            None
            if found is None
            else {"position": found.position, "kind": found.kind, "detail": found.detail}
        ),
    }


def audit_lines(vorgang: Vorgang, reports: Sequence[ChainReport], *, as_json: bool) -> list[str]:
    """One line per chain (or the JSON of all), and what is not chained yet."""
    head, chained = vorgang.integrity.head(), chain_head(vorgang.views)
    if as_json:
        document = {
            "chains": [report_json(r) for r in reports],
            "head": head,
            "chained": chained,
        }
        return [json.dumps(document, indent=2)]
    lines = []
    for report in reports:
        found = report.disagreement
        verdict = "ok" if found is None else f"{found.kind} at position {found.position}"
        lines.append(
            f"{report.chain}: {verdict}: positions {report.verified_from}..{report.verified_to}, "
            f"{report.records} records, {report.checkpoints_checked} checkpoints checked"
        )
        if found is not None:
            lines.append(f"  {found.detail}")
    if head > chained:
        lines.append(f"not yet chained: positions {chained + 1}..{head}")
    return lines
