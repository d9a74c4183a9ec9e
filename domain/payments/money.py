"""Money as the cash office counts it: ``Decimal`` euros with exactly two places, above zero.

Every amount of a receivable, a payment or a refund passes ``euros`` before it reaches an
event, so a float's rounding, a third decimal or a negative amount never enters the books.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from domain.errors import InvalidCommand

CURRENCY: Final = "EUR"
CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
MAXIMUM: Final = Decimal(1_000_000_000)


def euros(value: Decimal | str | int, field: str) -> Decimal:
    """An amount in euros, quantized to cents; refuses zero, negative, fractions of a cent."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise InvalidCommand(field, "an amount is a decimal number of euros (never a float)")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise InvalidCommand(field, "is not a number of euros") from None
    if not amount.is_finite():
        raise InvalidCommand(field, "is not a number of euros")
    if amount <= 0:
        raise InvalidCommand(field, "an amount must be above zero")
    if amount > MAXIMUM:
        raise InvalidCommand(field, f"an amount must not exceed {MAXIMUM} euros")
    if amount != amount.quantize(CENT):
        raise InvalidCommand(field, "an amount has at most two decimal places")
    return amount.quantize(CENT)
