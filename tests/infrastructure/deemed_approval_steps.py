"""Cases of a service whose rule orders deemed approval (§ 42a HVwVfG), for wired tests.

No service of the catalogue orders it today, so the general service stands in: whether a
case runs a § 42a period is recorded in its clock at submission, and everything after reads
the clock, not the service's flag.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import UUID

from domain.case import Case
from infrastructure.wiring import Vorgang
from tests.projections.legal_track import general_case, in_review


@contextlib.contextmanager
def statutory_period() -> Iterator[None]:
    """Cases submitted meanwhile run a § 42a period, as under a rule ordering it."""
    declared = Case.DEEMED_APPROVAL
    Case.DEEMED_APPROVAL = True
    try:
        yield
    finally:
        Case.DEEMED_APPROVAL = declared


def statutory_case(v: Vorgang) -> UUID:
    """A general case of Usingen with a § 42a period, complete and claimed now."""
    with statutory_period():
        case_id = general_case(v)
    in_review(v, case_id)
    return case_id
