"""API keys for the osu!api v1 layer (server/keys.py, `python -m server keys`):
the library on SQLite and MariaDB, the command line over an SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from server import keys
from server.db import Database
from server.migrate import migrate

HEX40 = re.compile(r"[0-9a-f]{40}")
ROOT = Path(__file__).resolve().parent.parent


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def db_url(backend) -> str:
    """A fresh database of the backend's kind, migrated."""
    url = backend.new_database_url()

    async def setup() -> None:
        async with Database(url) as db:
            applied = await migrate(db)
            assert "0001_api_keys.sql" in applied
            assert "api_keys" in await db.table_names()
            assert await migrate(db) == []  # recorded in api_migrations: applied once

    run(setup())
    return url


def with_db(url: str, work):
    async def go():
        async with Database(url) as db:
            return await work(db)

    return run(go())


def test_create_and_check(db_url):
    async def work(db: Database):
        key_id, key = await keys.create_key(db, "bot")
        assert isinstance(key_id, int) and key_id >= 1
        assert HEX40.fullmatch(key), key
        assert await keys.is_valid_key(db, key)
        wrong = ("0" if key[0] != "0" else "1") + key[1:]
        assert not await keys.is_valid_key(db, wrong)
        assert not await keys.is_valid_key(db, key.upper())
        assert not await keys.is_valid_key(db, key + " ")
        # refused before the database is asked
        before = db.query_count
        assert not await keys.is_valid_key(db, "")
        assert not await keys.is_valid_key(db, None)
        assert not await keys.is_valid_key(db, "a" * 10_000)
        assert not await keys.is_valid_key(db, key * 250)
        assert db.query_count == before

        other_id, other = await keys.create_key(db, "bot")  # names need not be unique
        assert other_id != key_id and other != key
        assert await keys.is_valid_key(db, other) and await keys.is_valid_key(db, key)

    with_db(db_url, work)


def test_only_the_hash_is_stored(db_url):
    async def work(db: Database):
        key_id, key = await keys.create_key(db, "bot")
        row = await db.fetch_one("SELECT * FROM api_keys WHERE id = :id", {"id": key_id})
        assert row is not None
        for column, value in row.items():
            assert key not in str(value), f"the key appears in column {column}"
            assert key[:20] not in str(value) and key[20:] not in str(value), column
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert row["revoked_at"] is None

    with_db(db_url, work)


def test_key_hash_is_unique(db_url):
    async def work(db: Database):
        await keys.create_key(db, "bot")
        digest = await db.fetch_val("SELECT key_hash FROM api_keys")
        with pytest.raises(Exception, match="(?i)unique|duplicate"):  # (each driver's own error type)
            await db.execute(
                "INSERT INTO api_keys (name, key_hash, created_at) VALUES ('copy', :h, 0)", {"h": digest}
            )

    with_db(db_url, work)


def test_list_and_revoke(db_url):
    async def work(db: Database):
        assert await keys.list_keys(db) == []
        key_id, key = await keys.create_key(db, "bot")
        other_id, other = await keys.create_key(db, "scoreboard")

        listed = await keys.list_keys(db)
        assert [k["id"] for k in listed] == [key_id, other_id]
        assert set(listed[0]) == {"id", "name", "created_at", "revoked_at"}  # never the hash
        assert listed[0]["name"] == "bot" and listed[0]["revoked_at"] is None
        assert isinstance(listed[0]["created_at"], int) and listed[0]["created_at"] > 0

        assert await keys.revoke_key(db, key_id) is True
        assert not await keys.is_valid_key(db, key)
        assert await keys.is_valid_key(db, other)  # the other key is untouched
        listed = {k["id"]: k for k in await keys.list_keys(db)}
        assert listed[key_id]["revoked_at"] is not None
        assert listed[key_id]["revoked_at"] >= listed[key_id]["created_at"]
        assert listed[other_id]["revoked_at"] is None

        revoked_at = listed[key_id]["revoked_at"]
        assert await keys.revoke_key(db, key_id) is False  # already revoked
        assert await keys.revoke_key(db, 99) is False  # no such key
        assert (await keys.list_keys(db))[0]["revoked_at"] == revoked_at

    with_db(db_url, work)


BAD_NAMES = ["", "x" * 65, "two\nlines", "tab\there", "nul\x00", "   ", None]


def test_bad_names_are_refused(db_url):
    async def work(db: Database):
        for name in BAD_NAMES:
            with pytest.raises(ValueError):
                await keys.create_key(db, name)
        assert await keys.list_keys(db) == []

    with_db(db_url, work)


def test_name_limits_accepted(db_url):
    async def work(db: Database):
        await keys.create_key(db, "x" * 64)
        await keys.create_key(db, "ü bot #2")
        assert [k["name"] for k in await keys.list_keys(db)] == ["x" * 64, "ü bot #2"]

    with_db(db_url, work)


# --- the command line, as a separate process over an SQLite file


@pytest.fixture
def cli(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOST", "PORT")}
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'keys.db'}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    def invoke(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )

    invoke.url = env["DATABASE_URL"]
    return invoke


def test_cli_lifecycle(cli):
    created = cli("keys", "create", "--name", "bot")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert HEX40.fullmatch(key), created.stdout
    assert with_db(cli.url, lambda db: keys.is_valid_key(db, key))

    listed = cli("keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "bot" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout
    row = [line for line in listed.stdout.splitlines() if "bot" in line]
    assert len(row) == 1 and row[0].split()[0] == "1", listed.stdout

    revoked = cli("keys", "revoke", "1")
    assert revoked.returncode == 0, revoked.stderr
    assert not with_db(cli.url, lambda db: keys.is_valid_key(db, key))
    listed = cli("keys", "list")
    assert "revoked" in listed.stdout and "active" not in listed.stdout, listed.stdout

    again = cli("keys", "revoke", "1")
    assert again.returncode == 1 and "no active API key" in again.stderr

    missing = cli("keys", "revoke", "99")
    assert missing.returncode == 1
    assert "no active API key with id 99" in missing.stderr
    assert missing.stdout == ""


def test_cli_refuses_a_bad_name(cli):
    result = cli("keys", "create", "--name", "x" * 65)
    assert result.returncode == 2 and "64" in result.stderr
    assert result.stdout == ""
    assert cli("keys", "list").stdout.strip() == "no API keys"


@pytest.mark.parametrize(
    "command", [[], ["create"], ["list"], ["revoke"]], ids=["keys", "create", "list", "revoke"]
)
def test_cli_help(cli, command):
    result = cli("keys", *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m server keys")
    assert len(result.stdout.splitlines()) > 4  # says more than the usage line


def test_active_keys_are_held_in_process(db_url):
    """A held key costs no query; a key made by another process works at
    once; one revoked by another process only after the snapshot's age, one
    revoked through this process at once."""

    async def work(db: Database):
        _, key = await keys.create_key(db, "bot")
        assert await keys.is_valid_key(db, key)
        before = db.query_count
        assert await keys.is_valid_key(db, key)
        assert db.query_count == before

        async with Database(db_url) as other_process:
            other_id, other = await keys.create_key(other_process, "made elsewhere")
            before = db.query_count
            assert await keys.is_valid_key(db, other)  # not held yet: looked up
            assert await keys.is_valid_key(db, other)  # the keys read anew
            assert await keys.is_valid_key(db, other)  # and held
            assert db.query_count - before == 2
            first_id = (await keys.list_keys(other_process))[0]["id"]
            assert await keys.revoke_key(other_process, first_id)
        assert await keys.is_valid_key(db, key)  # held: up to SNAPSHOT_MAX_AGE late

        assert await keys.revoke_key(db, other_id)
        assert not await keys.is_valid_key(db, other)
        assert not await keys.is_valid_key(db, key)  # this write refreshed the snapshot

    with_db(db_url, work)
