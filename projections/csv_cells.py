"""CSV cells that a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""

from __future__ import annotations

from typing import Any

# What makes a spreadsheet read a cell as a formula (or a DDE call): =, +, -, @, tab and
# carriage return, and their full-width forms, which some spreadsheets fold to ASCII.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: Any) -> Any:
    """Text that would start a formula, also after leading spaces, gets a leading ``'``.

    Numbers and empty cells are left alone: only text comes from people.
    """
    if not isinstance(value, str):
        return value
    if value[:1] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value
