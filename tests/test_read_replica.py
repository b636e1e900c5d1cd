"""DATABASE_READ_URL: reads go to the replica, writes (and the reads after
them in the same request, and everything in a transaction) to the primary.
Two MariaDB databases on the session server stand in for a primary and its
replica; they are made to differ on purpose so each answer shows where it
was read from."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from conftest import _migrated_with_demo, run
from starlette.testclient import TestClient

from server.app import create_app
from server.db import Database
from server.settings import Settings, load_settings

PLAYER = 3
KEY = str(uuid.UUID(int=3))
TOKEN = "replica-ingest-token"


@pytest.fixture(scope="module")
def pair(mariadb, tmp_path_factory):
    suffix = uuid.uuid4().hex[:8]
    primary, replica = f"rr_primary_{suffix}", f"rr_replica_{suffix}"
    data_dir = tmp_path_factory.mktemp("replica-data")
    for name in (primary, replica):
        mariadb.create_database(name)
        run(_migrated_with_demo(mariadb.url(name), data_dir))
        mariadb.execute(f"UPDATE users SET api_key = '{KEY}' WHERE id = {PLAYER}", database=name)
    # the replica differs on purpose: whatever shows this name was read there
    mariadb.execute(f"UPDATE users SET name = 'replica-name', safe_name = 'replica-name' WHERE id = {PLAYER}", database=replica)
    settings = Settings(
        database_url=mariadb.url(primary), database_read_url=mariadb.url(replica),
        host="127.0.0.1", port=0, data_dir=data_dir, demo_on_empty=False, ingest_token=TOKEN,
    )
    with TestClient(create_app(settings)) as client:
        yield client, primary, replica


def sql_value(mariadb, sql: str, database: str) -> str:
    return mariadb.execute(sql, database=database).strip()


def player_name(client) -> str:
    response = client.get(f"/v1/get_player_info?id={PLAYER}&scope=info")
    assert response.status_code == 200, response.text
    return response.json()["player"]["info"]["name"]


def test_reads_come_from_the_replica(pair):
    client, _, _ = pair
    assert player_name(client) == "replica-name"


def test_a_write_lands_in_the_primary_and_is_read_back(pair, mariadb):
    client, primary, replica = pair
    text = "written through the primary"
    response = client.post(
        "/v1/set_player_info", json={"userpage_content": text}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 200, response.text
    info = response.json()["player"]["info"]
    # read-your-writes: the answer is read back from the primary
    assert info["userpage_content"] == text
    assert info["name"] == "cookiezi"
    query = f"SELECT userpage_content FROM users WHERE id = {PLAYER}"
    assert sql_value(mariadb, query, primary) == text
    assert sql_value(mariadb, query, replica) == "hi, I am cookiezi"
    # a later request reads from the replica again
    assert player_name(client) == "replica-name"
    info = client.get(f"/v1/get_player_info?id={PLAYER}&scope=info").json()["player"]["info"]
    assert info["userpage_content"] == "hi, I am cookiezi"


def test_an_ingest_write_lands_in_the_primary(pair, mariadb):
    client, primary, replica = pair
    response = client.put(f"/ingest/sessions/{PLAYER}", json={}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    query = f"SELECT COUNT(*) FROM live_sessions WHERE user_id = {PLAYER}"
    assert sql_value(mariadb, query, primary) == "1"
    assert sql_value(mariadb, query, replica) == "0"
    assert player_name(client) == "replica-name"


def test_ready_checks_both(pair):
    client, _, _ = pair
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


# --- routing rules, without a server ------------------------------------------


def test_a_mixed_pair_is_refused(tmp_path):
    mysql, sqlite = "mysql://u:p@127.0.0.1:3306/db", f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(ValueError, match="DATABASE_READ_URL"):
        Database(mysql, read_url=sqlite)
    settings = Settings(database_url=mysql, database_read_url=sqlite, host="127.0.0.1", port=0,
                        data_dir=tmp_path, demo_on_empty=False)
    with pytest.raises(SystemExit, match="DATABASE_READ_URL"):
        create_app(settings)
    with pytest.raises(SystemExit, match="DATABASE_READ_URL"):
        load_settings({"DATABASE_URL": sqlite, "DATABASE_READ_URL": mysql, "DATA_DIR": str(tmp_path)})
    assert load_settings({"DATABASE_URL": sqlite, "DATA_DIR": str(tmp_path)}).database_read_url is None


def test_routing_per_task_and_in_transactions(tmp_path):
    """Two SQLite files whose one row differs: a read shows which answered."""

    async def set_up():
        async with Database(f"sqlite:///{tmp_path / 'p.db'}", read_url=f"sqlite:///{tmp_path / 'r.db'}") as db:
            for target, name in ((db, "primary"), (db.reader, "replica")):
                await target.execute("CREATE TABLE t (name TEXT)")
                await target.execute("INSERT INTO t VALUES (:n)", {"n": name})

    async def scenario():
        # in a task of its own: its writes pin that task's reads (and those
        # of tasks it would start), not this one's
        await asyncio.create_task(set_up())
        db = Database(f"sqlite:///{tmp_path / 'p.db'}", read_url=f"sqlite:///{tmp_path / 'r.db'}")
        await db.connect()
        try:
            where = lambda: db.fetch_val("SELECT name FROM t")  # noqa: E731

            async def fresh_read():
                return await where()

            async def write_then_read():
                await db.execute("UPDATE t SET name = name")
                return await where()

            async def in_transaction():
                async with db.transaction():
                    return await where()

            assert await asyncio.create_task(fresh_read()) == "replica"
            assert await asyncio.create_task(write_then_read()) == "primary"
            # the other task's write did not pin this task's reads
            assert await asyncio.create_task(fresh_read()) == "replica"
            assert await asyncio.create_task(in_transaction()) == "primary"
            assert await asyncio.create_task(fresh_read()) == "replica"
            assert await asyncio.gather(fresh_read(), write_then_read(), fresh_read()) == ["replica", "primary", "replica"]
        finally:
            await db.disconnect()

    run(scenario())
