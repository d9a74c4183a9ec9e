"""Cases found by their reference (``USI-2026-000012``) through the case search's index.

The search view holds every case's town and reference, indexed together; a step that names
another case by its reference (a road opening permit linking its traffic sign order) finds
it there. A reference the view does not know yet is looked for again once the view caught
up with the log, and in the log itself if it does not catch up in time: an unknown reference
is then refused, never a reference the view is merely behind on.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands import ReferencesInTheLog
from application.store import VorgangStore
from domain.tenants import TENANTS
from infrastructure.projection_host import ProjectionHost
from infrastructure.view_database import ViewDatabase
from projections.search import LIVE_TABLE, CaseSearch

REFERENCE_LOOKUP_SECONDS: Final = 5.0  # only when the view lags the log and knows no such case


class ReferencesInTheSearchView:
    """Case ids by reference, from the case search's (tenant, reference) index."""

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        self.store = store
        self.views = views
        self.projections = projections
        self.towns = {t.reference_prefix: tenant for tenant, t in TENANTS.items()}

    def case_id(self, reference: str, aggregate_type: type[Aggregate]) -> UUID | None:
        """The id of the case with this reference, or None if there is none."""
        tenant = self.towns.get(reference.split("-", 1)[0])
        if tenant is None:
            return None
        found = self._indexed(tenant, reference)
        if found is not None:
            return found
        head = self.store.recorder.max_notification_id() or 0
        if self.projections.wait_for(CaseSearch.name, head, REFERENCE_LOOKUP_SECONDS):
            return self._indexed(tenant, reference)
        return ReferencesInTheLog(self.store).case_id(reference, aggregate_type)

    def _indexed(self, tenant: str, reference: str) -> UUID | None:
        rows = self.views.query(
            f"SELECT case_id FROM {LIVE_TABLE} WHERE tenant = ? AND reference = ?",  # noqa: S608 (our view)
            [tenant, reference],
        )
        return UUID(str(rows[0][0])) if rows else None
