"""The municipalities that share Vorgang (tenants) and their reference prefixes."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Tenant:
    """A municipality: its id in code, its name, and the prefix of its case references."""

    id: str
    display_name: str
    reference_prefix: str
    official_key: str  # Amtlicher Gemeindeschlüssel (AGS)
    # Whether applicants see the names of the staff handling their case (else only the role).
    applicants_see_staff_names: bool = False
    # Longer retention of a service's files than the catalogue's, as (service id, years);
    # never shorter: domain.retention refuses that (the legal minimum for fee assessments).
    retention_years: tuple[tuple[str, int], ...] = ()


TENANTS: Final = MappingProxyType(
    {
        t.id: t
        for t in (
            Tenant("usingen", "Stadt Usingen", "USI", "06434011"),
            Tenant("neu-anspach", "Stadt Neu-Anspach", "NAN", "06434007"),
            Tenant("schmitten", "Gemeinde Schmitten im Taunus", "SMI", "06434009"),
            # example configuration: the small municipality names its clerks to citizens
            Tenant("glashuetten", "Gemeinde Glashütten", "GLA", "06434003", True),
        )
    }
)


class UnknownTenant(ValueError):
    """A tenant id that is not one of the municipalities served."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"unknown tenant {tenant_id!r}; known: {', '.join(sorted(TENANTS))}")
        self.tenant_id = tenant_id


def tenant(tenant_id: str) -> Tenant:
    """The tenant with this id, or ``UnknownTenant``."""
    try:
        return TENANTS[tenant_id]
    except KeyError:
        raise UnknownTenant(tenant_id) from None
