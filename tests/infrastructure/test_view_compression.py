"""Large view values are compressed with lz4 on PostgreSQL, where the server has it."""

from __future__ import annotations

import pytest

from infrastructure.view_database import open_views
from tests.conftest import drop_postgres_schema, fresh_postgres_target


@pytest.mark.postgres
def test_a_large_view_value_is_stored_compressed_with_lz4() -> None:
    target = fresh_postgres_target()
    views = open_views(target)
    try:
        offered = views.query(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )[0][0]
        if not offered:
            pytest.skip("this PostgreSQL was built without lz4")
        with views.transaction() as tx:
            tx.execute("CREATE TABLE t (key TEXT PRIMARY KEY, state TEXT NOT NULL)")
            tx.execute("INSERT INTO t VALUES (?, ?)", ("a", '{"field": "value"} ' * 400))
        assert views.query("SELECT pg_column_compression(state) FROM t") == [("lz4",)]
    finally:
        views.close()
        drop_postgres_schema(target)
