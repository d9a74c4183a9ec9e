from pathlib import Path

import pytest

from application.facade import DatabaseUnavailable
from infrastructure.database import DatabaseUrlError, parse_database_url
from infrastructure.wiring import open_store
from persistence.transcodings import PersonalDataInClear


def test_a_sqlite_url_selects_the_embedded_store_and_creates_its_folder(tmp_path: Path) -> None:
    target = parse_database_url(f"sqlite:///{tmp_path}/sub/dir/v.db")
    assert target.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert (tmp_path / "sub" / "dir").is_dir()


def test_a_postgres_url_selects_postgres_with_a_short_timeout_and_no_db_functions() -> None:
    target = parse_database_url(
        "postgresql://vorgang:s3cret@db.internal:6543/vorgang?schema=usingen", connect_timeout=3
    )
    assert target.env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert target.env["POSTGRES_PORT"] == "6543"
    assert target.env["POSTGRES_SCHEMA"] == "usingen"
    assert target.env["POSTGRES_CONNECT_TIMEOUT"] == "3"
    assert target.env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"
    assert "s3cret" not in target.display


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "must start with sqlite:/// or postgresql://"),
        ("sqlite://host/file.db", "three slashes"),
        ("postgresql://host:5432/", "needs a database name"),
        ("postgresql://host:port/db", "not a number"),
    ],
)
def test_a_wrong_url_gets_one_clear_line(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        parse_database_url(url)


def test_an_unreachable_database_is_one_clear_line_not_a_traceback_wall() -> None:
    target = parse_database_url("postgresql://postgres@127.0.0.1:1/nowhere", connect_timeout=1)
    with pytest.raises(DatabaseUnavailable) as raised:
        open_store(target, PersonalDataInClear())
    message = str(raised.value)
    assert message.startswith("cannot open postgresql://postgres@127.0.0.1:1/nowhere")
    assert "\n" not in message
