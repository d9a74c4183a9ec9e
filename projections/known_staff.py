"""Staff a town knows: whoever has acted on one of its cases as clerk or supervisor.

The identity provider keeps the staff directory and the system copies none of it; the audit
trail records who acted, in which role, on which town's cases. A supervisor's assignment is
checked against it, so a mistyped id is refused instead of becoming a holder nobody is.
"""

from __future__ import annotations

from domain.actor import Role
from projections.audit_trail import AuditTrail
from projections.view_store import ViewDatabase

STAFF_ROLES = (Role.CLERK.value, Role.SUPERVISOR.value)


class KnownStaff:
    """The role in which a member of staff last acted for a town, from the audit trail."""

    name = AuditTrail.name

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views
        self.table = AuditTrail().table

    def role_of(self, tenant: str, staff_id: str) -> Role | None:
        """The staff role of ``staff_id``'s latest event in a case of ``tenant``, or None."""
        rows = self.views.query(
            f"SELECT actor_role FROM {self.table} WHERE actor_id = ? AND tenant = ? "
            "AND actor_role IN (?, ?) ORDER BY position DESC LIMIT 1",
            [staff_id, tenant, *STAFF_ROLES],
        )
        return Role(rows[0][0]) if rows else None
