"""Text the databases cannot store is refused at the door, the same on SQLite and PostgreSQL.

PostgreSQL refuses a NUL character (U+0000) in any text value, SQLite keeps it: a query
parameter or a body string with one would be a 500 on one database and stored on the
other (and then break a read model on PostgreSQL). Every query and path parameter is
checked by one app-wide dependency, every request body string by ``Body``'s validator,
both before anything reaches a database, as a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.problems import BadHeader

NUL = "\x00"
MESSAGE = "contains a NUL character (U+0000), which is not text"


def no_nul_in_parameters(request: Request) -> None:
    """An app-wide dependency: no query or path parameter holds a NUL character."""
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise BadHeader(name.replace(NUL, "\\u0000"), MESSAGE, where="query")
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise BadHeader(name, MESSAGE, where="path")


def without_nul(value: Any, path: str = "") -> Any:
    """``value`` unchanged, or ``ValueError`` naming where inside it a NUL character is."""
    if isinstance(value, str):
        if NUL in value:
            raise ValueError(f"{path} {MESSAGE}" if path else MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                raise ValueError(f"a key {MESSAGE}")
            without_nul(item, inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            without_nul(item, f"{path}[{index}]" if path else f"[{index}]")
    return value
