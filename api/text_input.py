"""Text the databases cannot store is refused at the door, the same on SQLite and PostgreSQL.

PostgreSQL refuses a NUL character (U+0000) in any text value, SQLite keeps it: a query
parameter or a body string with one would be a 500 on one database and stored on the
other (and then break a read model on PostgreSQL). Every query and path parameter is
checked by one app-wide dependency, every request body string by ``Body``'s validator,
both before anything reaches a database, as a 422 naming the field.
"""

from __future__ import annotations

from fastapi import Request

from api.problems import BadHeader
from domain.commands import NUL, without_nul
from domain.commands import NUL_MESSAGE as MESSAGE

__all__ = ["MESSAGE", "NUL", "no_nul_in_parameters", "without_nul"]


def no_nul_in_parameters(request: Request) -> None:
    """An app-wide dependency: no query or path parameter holds a NUL character."""
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise BadHeader(name.replace(NUL, "\\u0000"), MESSAGE, where="query")
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise BadHeader(name, MESSAGE, where="path")
