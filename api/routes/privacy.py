"""Administration of personal data: erasure by destroying keys."""

from __future__ import annotations

from uuid import UUID

import structlog
from fastapi import APIRouter

from api.access import allow
from api.dependencies import ActorDep, PrivacyServiceDep
from api.routes.cases import PROBLEMS
from api.schemas import ALL_SUBJECTS, Erase, ErasureOut
from domain.actor import Role

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1/admin", tags=["privacy"], responses=PROBLEMS)  # type: ignore[arg-type]


@router.post(
    "/cases/{case_id}/erasure", summary="Erase personal data of a case", **allow(Role.ADMIN)
)
def erase(case_id: UUID, body: Erase, actor: ActorDep, privacy: PrivacyServiceDep) -> ErasureOut:
    """Destroy the keys of the named data subjects, then record the erasure.

    `subjects` is required: a list of data subjects (`applicant`, `case-text`,
    `actor:<id>`), or `"all"` for every data subject of the case. An empty list is a 422.
    """
    result = privacy.erase(
        case_id,
        actor=actor,
        reason=body.reason,
        legal_basis=body.legal_basis,
        subjects=None if body.subjects == ALL_SUBJECTS else body.subjects,
    )
    log.info("personal data erased", case_id=str(case_id), keys=result.destroyed_keys)
    return ErasureOut(
        case_id=result.case_id,
        subjects=list(result.subjects),
        destroyed_keys=result.destroyed_keys,
        version=result.version,
    )
