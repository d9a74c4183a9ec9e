"""Building blocks of fee tariffs: euros and cents as ``Decimal``, bounds and rate bands.

A tariff of a service is a frozen dataclass with ``version`` and ``valid_from`` (see
``domain.rules.versions``) whose ``assess`` returns the amount and the ``RulesApplied``
record of how it was reached; these helpers keep the arithmetic the same in every tariff.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

CENT: Final = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """The amount rounded to whole cents, half up (as German fee ordinances round)."""
    return amount.quantize(CENT, ROUND_HALF_UP)


def bounded(amount: Decimal, minimum: Decimal, maximum: Decimal) -> Decimal:
    """The amount within a tariff's minimum and maximum, in cents."""
    return cents(min(max(amount, minimum), maximum))


@dataclass(frozen=True, slots=True)
class Band:
    """A rate for sizes up to and including ``up_to``; the last band has no upper limit."""

    up_to: Decimal | None
    rate: Decimal


def band_for(bands: tuple[Band, ...], size: Decimal) -> Band:
    """The first band the size fits in (bands are ordered by ``up_to``, the last open)."""
    for band in bands:
        if band.up_to is None or size <= band.up_to:
            return band
    raise ValueError(f"no band for size {size}: the last band must be open")
