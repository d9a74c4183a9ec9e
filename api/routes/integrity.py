"""For auditors: the tamper-evident log — verification, signed checkpoints, the public key.

Decision 35: a hash chain over every stored record in log order, its head signed at
intervals with the deployment's Ed25519 key. Auditors keep copies of the checkpoints outside
the system (``GET /integrity/checkpoints``) and check them with the published key
(``GET /integrity/key``); ``GET /integrity`` recomputes the chains now from their trusted
starts (a full run from the first record only on the command line).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from api.access import allow, public
from api.dependencies import ActorDep, process
from api.ports import IntegrityPort, Process
from api.routes.cases import PROBLEMS
from domain.actor import Role, Scope
from persistence.chain import LOG_CHAIN, ChainReport, Checkpoint

router = APIRouter(prefix="/api/v1/integrity", tags=["audit"], responses=PROBLEMS)  # type: ignore[arg-type]


def integrity(p: Annotated[Process, Depends(process)]) -> IntegrityPort:
    """The tamper-evident logs of the process."""
    return p.integrity


IntegrityDep = Annotated[IntegrityPort, Depends(integrity)]

LINK = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"
SIGNATURE = (
    "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEg=="
)


CHECKPOINT_EXAMPLE: dict[str, Any] = {
    "chain": "log",
    "position": 4000,
    "link": LINK,
    "signed_at": "2026-03-02T08:00:00+00:00",
    "key_id": "3f2a9c0d1e4b5a67",
    "signature": SIGNATURE,
}


class DisagreementOut(BaseModel):
    """Where the recomputed chain first disagrees, and how."""

    position: int
    kind: Literal[
        "altered", "deleted", "inserted", "chain-rewritten", "bad-signature", "unknown-checkpoint"
    ]
    detail: str


class ChainOut(BaseModel):
    """One chain verified from its trusted start."""

    chain: str
    ok: bool
    verified_from: int
    verified_to: int
    records: int
    checkpoints_checked: int
    disagreement: DisagreementOut | None


class CheckpointOut(BaseModel):
    """A chain's head at a moment, signed: keep a copy outside the system."""

    chain: str
    position: int
    link: str  # 64 hex digits
    signed_at: str
    key_id: str
    signature: str  # base64 of the Ed25519 signature

    model_config = ConfigDict(json_schema_extra={"examples": [CHECKPOINT_EXAMPLE]})


class FullRunOut(BaseModel):
    """The last signed verification of the log from its first record."""

    verified_at: str
    verified_to: int
    records: int
    ok: bool
    verified_by: str


class IntegrityOut(BaseModel):
    """Both chains verified now (each from its trusted start), the log's head, its last
    signed checkpoint, and (``full=true``) the last full run's signed result."""

    chains: list[ChainOut]
    head: int
    last_checkpoint: CheckpointOut | None
    last_full_run: FullRunOut | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "chains": [
                        {
                            "chain": "log",
                            "ok": True,
                            "verified_from": 3000,
                            "verified_to": 4211,
                            "records": 1211,
                            "checkpoints_checked": 2,
                            "disagreement": None,
                        },
                        {
                            "chain": "access-log",
                            "ok": False,
                            "verified_from": 0,
                            "verified_to": 86,
                            "records": 86,
                            "checkpoints_checked": 0,
                            "disagreement": {
                                "position": 87,
                                "kind": "deleted",
                                "detail": "the line at 87 is missing",
                            },
                        },
                    ],
                    "head": 4211,
                    "last_checkpoint": None,
                }
            ]
        }
    )


class CheckpointsOut(BaseModel):
    """A page of a chain's signed checkpoints, in position order."""

    chain: str
    checkpoints: list[CheckpointOut]
    next_after: int | None  # pass as ?after= for the next page; None: no more

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "chain": "log",
                    "checkpoints": [CHECKPOINT_EXAMPLE],
                    "next_after": None,
                }
            ]
        }
    )


class KeyOut(BaseModel):
    """A public key that signs (or signed) checkpoints."""

    key_id: str
    algorithm: Literal["Ed25519"]
    public_key: str  # base64 of the raw 32 bytes
    pem: str


class KeysOut(BaseModel):
    """The current signing key and the retired ones whose checkpoints still verify."""

    current: KeyOut
    previous: list[KeyOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current": {
                        "key_id": "3f2a9c0d1e4b5a67",
                        "algorithm": "Ed25519",
                        "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                        "pem": (
                            "-----BEGIN PUBLIC KEY-----\n"
                            "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                            "-----END PUBLIC KEY-----\n"
                        ),
                    },
                    "previous": [],
                }
            ]
        }
    )


def chain_out(report: ChainReport) -> ChainOut:
    """A report as the API gives it."""
    found = report.disagreement
    return ChainOut(
        chain=report.chain,
        ok=report.ok,
        verified_from=report.verified_from,
        verified_to=report.verified_to,
        records=report.records,
        checkpoints_checked=report.checkpoints_checked,
        disagreement=(
            None
            if found is None
            else DisagreementOut(position=found.position, kind=found.kind, detail=found.detail)  # type: ignore[arg-type]
        ),
    )


def checkpoint_out(checkpoint: Checkpoint) -> CheckpointOut:
    """A checkpoint as the API gives it (and an auditor's copy keeps it)."""
    return CheckpointOut(
        chain=checkpoint.chain,
        position=checkpoint.position,
        link=checkpoint.link.hex(),
        signed_at=checkpoint.signed_at,
        key_id=checkpoint.key_id,
        signature=base64.b64encode(checkpoint.signature).decode(),
    )


@router.get("", summary="Verify the log and the access log now", **allow(Role.AUDITOR))
def verify(
    actor: ActorDep,
    integrity: IntegrityDep,
    full: Annotated[
        bool,
        Query(
            description="Also give the last full run's signed result (a full run itself is "
            "`vorgang audit verify --full`: it reads the whole log, too long for a request)."
        ),
    ] = False,
) -> IntegrityOut:
    """Recompute each chain from its trusted start (the last checkpoint a signed run reached)
    and compare it with the chain table and the signed checkpoints; the first disagreement
    (altered, deleted, inserted, chain rewritten, bad signature) of each. Bounded: it never
    recomputes the whole log inside a request."""
    reports = integrity.verify(full=False, by=actor.id)
    latest = integrity.latest_checkpoint(LOG_CHAIN)
    last_full = integrity.last_full_run(LOG_CHAIN) if full else None
    return IntegrityOut(
        chains=[chain_out(r) for r in reports],
        head=integrity.head(),
        last_checkpoint=checkpoint_out(latest) if latest else None,
        last_full_run=None if last_full is None else FullRunOut(**vars(last_full)),
    )


@router.get(
    "/checkpoints",
    summary="The signed checkpoints of a chain",
    **allow(Role.AUDITOR, Role.SUPERVISOR, Role.INTEGRATOR, integrator_scope=Scope.FEED_READ),
)
def list_checkpoints(
    integrity: IntegrityDep,
    chain: Annotated[Literal["log", "access-log"], Query(description="log or access-log.")] = "log",
    after: Annotated[int, Query(ge=0, description="Only checkpoints after this position.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CheckpointsOut:
    """Keep these outside the system: `vorgang audit verify --checkpoints FILE` checks that
    the chain still passes through every one of them."""
    found = integrity.checkpoints(chain, after=after, limit=limit)
    return CheckpointsOut(
        chain=chain,
        checkpoints=[checkpoint_out(c) for c in found],
        next_after=found[-1].position if len(found) == limit else None,
    )


@router.get("/key", summary="The public key that signs the checkpoints", **public())
def key(integrity: IntegrityDep) -> KeysOut:
    """The current Ed25519 public key (raw, base64, and PEM) and retired ones."""
    keys = [
        KeyOut(
            key_id=k.key_id,
            algorithm="Ed25519",
            public_key=base64.b64encode(k.public_key).decode(),
            pem=k.pem,
        )
        for k in integrity.published_keys()
    ]
    return KeysOut(current=keys[0], previous=keys[1:])
