"""The staff a town knows, read from the audit trail (who has acted for it, in which role)."""

from __future__ import annotations

from typing import Final

from application.commands import StaffNotKnownYet
from application.store import VorgangStore
from domain.actor import Role
from infrastructure.projection_host import ProjectionHost
from infrastructure.view_database import ViewDatabase
from projections.known_staff import KnownStaff

ASSIGNEE_LOOKUP_SECONDS: Final = 5.0  # only when the trail lags the log and knows no such staff


class StaffSeenInTheAuditTrail:
    """Staff known to a town by the audit trail, waiting for it only when it lags the log."""

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        self.store = store
        self.projections = projections
        self.known = KnownStaff(views)

    def role_of(self, tenant: str, staff_id: str) -> Role | None:
        """The role staff last acted in for the town; an unknown id once the trail is current."""
        found = self.known.role_of(tenant, staff_id)
        if found is not None:
            return found
        head = self.store.recorder.max_notification_id() or 0
        if self.projections.wait_for(self.known.name, head, ASSIGNEE_LOOKUP_SECONDS):
            return self.known.role_of(tenant, staff_id)
        raise StaffNotKnownYet("the audit trail, which knows the town's staff, is catching up")
