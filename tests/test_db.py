"""The MySQL path of server/db.py runs statements as cached server-side
prepared statements, in the binary protocol. These tests hold it to the text
protocol's answers, value for value, on the real MariaDB, and check that a
statement is prepared once per connection rather than once per call."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncmy
import pytest
from conftest import _migrated_with_demo, run

from server.db import Database, DatabaseUnavailable, _within

# every table the schema has (bancho.py's and ours), read whole
TABLES_QUERY = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()"

# FLOAT values the text protocol prints differently from their 4 bytes
# widened to a double, with and without declared decimals
EXPRESSIONS = (
    "SELECT CAST(0.1 AS FLOAT) AS a, CAST(98.605 AS FLOAT) AS b, CAST(-3.4e38 AS FLOAT) AS c,"
    " CAST(1.0E-7 AS FLOAT) AS d, CAST(16777217 AS FLOAT) AS e, CAST(NULL AS FLOAT) AS f,"
    " CAST(2.5 AS DOUBLE) AS g, 1 / 3 AS h, SUM(1) AS i"
)


@pytest.fixture(scope="module")
def demo_url(mariadb, tmp_path_factory) -> str:
    """The demo data on MariaDB (these tests are about its protocol alone)."""
    mariadb.create_database("prepared")
    url = mariadb.url("prepared")
    run(_migrated_with_demo(url, tmp_path_factory.mktemp("prepared-data")))
    # FLOATs of every kind of declared decimals: few, many and none
    mariadb.execute(
        "CREATE TABLE float_shapes (id INT PRIMARY KEY, a FLOAT(4,2), b FLOAT(12,2), c FLOAT(20,14), d FLOAT);"
        " INSERT INTO float_shapes VALUES (1, 0.125, 1234567.85, 0.1, 16777217),"
        " (2, -9.99, 0.005, 3.14159265358979, 1e-7), (3, NULL, NULL, NULL, NULL), (4, 0.1, 99.995, 1.5, 98.605)",
        "prepared",
    )
    return url


async def _text_protocol_rows(url: str, query: str) -> list[dict]:
    """The rows as a plain asyncmy connection reads them: the text protocol
    (no statement cache, no parameters)."""
    parts = urlsplit(url)
    connection = await asyncmy.connect(
        host=parts.hostname, port=parts.port, user=parts.username, password=parts.password,
        db=parts.path.lstrip("/"), charset="utf8mb4", autocommit=True,
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(query)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
    finally:
        connection.close()


def test_prepared_statements_answer_as_the_text_protocol(demo_url):
    async def check() -> int:
        compared = 0
        async with Database(demo_url) as db:
            tables = sorted(row["name"] for row in await db.fetch_all(TABLES_QUERY))
            for query in [f"SELECT * FROM `{table}` ORDER BY 1" for table in tables] + [EXPRESSIONS]:
                binary = await db.fetch_all(query)
                text = await _text_protocol_rows(demo_url, query)
                assert binary == text, query
                # same types too: 1 == 1.0 == True in Python
                assert [[type(v) for v in row.values()] for row in binary] == \
                    [[type(v) for v in row.values()] for row in text], query
                compared += len(binary)
        return compared

    # the demo data fills scores, maps and stats: thousands of values compared
    assert run(check()) > 1000


def test_float_columns_keep_their_declared_decimals(demo_url):
    """The FLOAT(6,3) and FLOAT(7,3) columns of scores read back with three
    decimals at most, whatever their 4 bytes widen to."""
    async def rows():
        async with Database(demo_url) as db:
            return await db.fetch_all("SELECT pp, acc FROM scores WHERE id > :id ORDER BY id", {"id": 0})

    values = [row[column] for row in run(rows()) for column in ("pp", "acc")]
    assert values and all(round(value, 3) == value for value in values)
    assert any(value != int(value) for value in values)


def test_columns_sharing_a_name_read_as_the_text_protocol(demo_url):
    # a row's dict keeps the last of them: a FLOAT shadowed by a later
    # column is not rounded in its place, and a FLOAT kept last is
    queries = ["SELECT a AS v, id AS v FROM float_shapes ORDER BY id",
               "SELECT id AS v, c AS v, b FROM float_shapes ORDER BY id"]

    async def both() -> list[tuple[list, list]]:
        async with Database(demo_url) as db:
            return [(await db.fetch_all(query), await _text_protocol_rows(demo_url, query)) for query in queries]

    (ids, ids_text), (floats, floats_text) = run(both())
    assert ids == ids_text and [row["v"] for row in ids] == [1, 2, 3, 4]
    assert all(type(row["v"]) is int for row in ids)  # 1 == 1.0: the type tells
    assert floats == floats_text and floats[0]["v"] == 0.10000000149012  # FLOAT(20,14) prints its noise


def test_statements_are_prepared_once_per_connection(demo_url):
    query = "SELECT name FROM users WHERE id = :id"

    async def count() -> tuple[int, int]:
        async with Database(demo_url) as db:
            async def status() -> dict[str, int]:
                rows = await db.fetch_all("SHOW SESSION STATUS LIKE 'Com_stmt_%'")
                return {row["Variable_name"]: int(row["Value"]) for row in rows}

            await db.fetch_one(query, {"id": 1})
            pool = db._db._backend._pool
            # one connection in the pool at first: the session's counters are its own
            assert pool.size == 1
            before = await status()
            for user_id in range(1, 41):
                await db.fetch_one(query, {"id": user_id})
            after = await status()
        return (after["Com_stmt_prepare"] - before["Com_stmt_prepare"],
                after["Com_stmt_execute"] - before["Com_stmt_execute"])

    prepared, executed = run(count())
    # both statements were prepared (or, for SHOW, found unpreparable)
    # before the first count: the 40 lookups only executed
    assert prepared == 0
    assert executed >= 40


@pytest.mark.parametrize("values", [{"id": 1}, {"id": "1"}])
def test_parameters_bind_by_name_in_any_order(backend, values):
    async def read():
        url = backend.new_database_url()
        await _migrated_with_demo(url, backend.data_dir)
        async with Database(url) as db:
            return await db.fetch_one(
                "SELECT :tag AS tag, u.id FROM users u WHERE u.id = :id AND :tag = :tag AND '%' = '%'",
                {**values, "tag": "x"},
            )

    row = run(read())
    assert row["tag"] == "x" and row["id"] == 1


def test_a_statement_past_the_timeout_is_cut_off_and_the_database_goes_on(mariadb):
    mariadb.create_database("cut_off")

    async def go() -> tuple[str, dict, int]:
        async with Database(mariadb.url("cut_off"), timeout=0.3) as db:
            started = asyncio.get_running_loop().time()
            with pytest.raises(DatabaseUnavailable) as raised:
                await db.fetch_val("SELECT SLEEP(:seconds)", {"seconds": 3})
            assert asyncio.get_running_loop().time() - started < 2
            await asyncio.sleep(0.5)  # past the timeout again: no cancellation left behind
            return str(raised.value), dict(db.failures), await db.fetch_val("SELECT :n + 1", {"n": 41})

    message, failures, answer = run(go())
    assert "did not answer within 0.3 s" in message
    assert failures == {"timeout": 1, "unavailable": 0, "conflict": 0, "error": 0}
    assert answer == 42


def test_the_timeout_tells_its_own_cancellation_from_anothers():
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    async def fast() -> str:
        await asyncio.sleep(0)
        return "done"

    async def go() -> list[str]:
        seen = []
        with pytest.raises(TimeoutError):
            await _within(0.05, slow)
        seen.append("timed out")
        assert await _within(0.05, fast) == "done"
        await asyncio.sleep(0.1)  # its timer was cancelled: nothing fires now
        seen.append("no stray cancel")
        # cancelled from outside before the time: a cancellation, not a timeout
        task = asyncio.ensure_future(_within(5, slow))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        seen.append("cancelled")
        # an outer timeout that ends first is the outer one's
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await _within(5, slow)
        seen.append("outer timeout")
        return seen

    assert asyncio.run(go()) == ["timed out", "no stray cancel", "cancelled", "outer timeout"]
