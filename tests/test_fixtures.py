"""`db load`'s fixture loader on both backends: a valid file goes in with the
values bancho.py would have derived, a bad record is reported with its
position before anything is written, and a file the database refuses
part-way changes nothing (one transaction)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from conftest import run

from server import fixtures
from server.db import Database
from server.migrate import migrate

ALL_MODES = [0, 1, 2, 3, 4, 5, 6, 8]
MD5_A = "0123456789abcdef0123456789abcdef"
MD5_B = "fedcba9876543210fedcba9876543210"


def _map(map_id: int, md5: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": map_id, "set_id": 500, "status": 2, "md5": md5, "artist": "Camellia", "title": "Ghost",
        "version": f"Diff {map_id}", "creator": "Mapper", "total_length": 120, "max_combo": 900,
        "mode": 0, "bpm": 200.5, "cs": 4.2, "ar": 9.3, "od": 8, "hp": 5, "diff": 6.25, **extra,
    }


def _score(score_id: int, md5: str, userid: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": score_id, "map_md5": md5, "score": 1_000_000 + score_id, "pp": 300.5, "acc": 98.5,
        "max_combo": 800, "mods": 8, "n300": 700, "n100": 20, "n50": 1, "nmiss": 0, "grade": "S",
        "status": 2, "mode": 0, "play_time": "2024-03-04T05:06:07Z", "userid": userid, **extra,
    }


VALID = {
    "users": [
        {"id": 3, "name": "Fixture Owner", "priv": 3, "country": "de", "clan_id": 1, "clan_priv": 3},
        {"id": 4, "name": "Second-Player", "priv": 3, "country": "jp"},
    ],
    "clans": [{"id": 1, "name": "Fixture Clan", "tag": "FIX", "owner": 3}],
    "maps": [_map(100, MD5_A), _map(101, MD5_B, status=5, mode=1)],
    "scores": [
        _score(1, MD5_A, 3),
        _score(2, MD5_A, 4, status=1, grade="A", play_time="2024-03-05 00:00:00"),
        _score(3, MD5_B, 3, mode=1, ngeki=5, nkatu=6),
    ],
}


def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


async def _fresh(url: str) -> Database:
    db = Database(url)
    await db.connect()
    await migrate(db)
    return db


async def _counts(db: Database) -> dict[str, int]:
    return {
        table: await db.fetch_val(f"SELECT COUNT(*) FROM {table}")
        for table in ("users", "stats", "clans", "maps", "scores", "relationships")
    }


def test_a_valid_fixture_loads_with_derived_values(backend):
    async def go(url):
        db = await _fresh(url)
        try:
            counts = await fixtures.load(db, valid())
            users = await db.fetch_all(
                "SELECT id, name, safe_name, email, priv, country, pw_bcrypt, clan_id, clan_priv, silence_end"
                " FROM users WHERE id > 1 ORDER BY id"
            )
            stats = await db.fetch_all("SELECT id, mode, pp, plays FROM stats WHERE id > 1 ORDER BY id, mode")
            clans = await db.fetch_all("SELECT id, name, tag, owner, created_at FROM clans")
            maps = await db.fetch_all("SELECT id, md5, status, mode, filename, plays, frozen, bpm, diff, server FROM maps ORDER BY id")
            scores = await db.fetch_all(
                "SELECT id, map_md5, userid, status, mode, grade, play_time, ngeki, nkatu, client_flags,"
                " time_elapsed, perfect, online_checksum FROM scores ORDER BY id"
            )
            return counts, users, stats, clans, maps, scores
        finally:
            await db.disconnect()

    counts, users, stats, clans, maps, scores = run(go(backend.new_database_url()))
    assert counts == {"users": 2, "clans": 1, "maps": 2, "scores": 3, "stats": 16}

    assert [(u["id"], u["name"], u["safe_name"]) for u in users] == [
        (3, "Fixture Owner", "fixture_owner"), (4, "Second-Player", "second-player")]
    assert [u["email"] for u in users] == ["fixture_owner@fixture.invalid", "second-player@fixture.invalid"]
    assert [(u["priv"], u["country"], u["clan_id"], u["clan_priv"], u["silence_end"]) for u in users] == [
        (3, "de", 1, 3, 0), (3, "jp", 0, 0, 0)]
    assert all(len(u["pw_bcrypt"]) == 60 for u in users)

    # bancho.py gives every new player a stats row in each playable mode
    assert [(s["id"], s["mode"]) for s in stats] == [(i, m) for i in (3, 4) for m in ALL_MODES]
    assert all(s["pp"] == 0 and s["plays"] == 0 for s in stats)

    assert [(c["id"], c["name"], c["tag"], c["owner"]) for c in clans] == [(1, "Fixture Clan", "FIX", 3)]
    assert clans[0]["created_at"] is not None

    assert [(m["id"], m["md5"], m["status"], m["mode"], m["server"]) for m in maps] == [
        (100, MD5_A, 2, 0, "osu!"), (101, MD5_B, 5, 1, "osu!")]
    assert maps[0]["filename"] == "Camellia - Ghost (Mapper) [Diff 100].osu"
    assert (maps[0]["plays"], maps[0]["frozen"]) == (0, 0)
    assert maps[0]["bpm"] == pytest.approx(200.5) and maps[0]["diff"] == pytest.approx(6.25)

    assert [(s["id"], s["map_md5"], s["userid"], s["status"], s["mode"], s["grade"]) for s in scores] == [
        (1, MD5_A, 3, 2, 0, "S"), (2, MD5_A, 4, 1, 0, "A"), (3, MD5_B, 3, 2, 1, "S")]
    # ISO 8601 with a T and a Z goes in as a plain DATETIME
    assert [str(s["play_time"]) for s in scores] == ["2024-03-04 05:06:07", "2024-03-05 00:00:00", "2024-03-04 05:06:07"]
    assert [(s["ngeki"], s["nkatu"]) for s in scores] == [(0, 0), (0, 0), (5, 6)]
    assert all((s["client_flags"], s["time_elapsed"], s["perfect"]) == (0, 0, 0) for s in scores)
    assert all(s["online_checksum"] == "0" * 32 for s in scores)


def test_stats_rows_given_in_the_file_are_kept_and_the_rest_filled_in(backend):
    data = {
        "users": [{"id": 7, "name": "Statful"}],
        "stats": [{"id": 7, "mode": 4, "pp": 1234, "plays": 9, "acc": 97.25}],
    }

    async def go(url):
        db = await _fresh(url)
        try:
            counts = await fixtures.load(db, data)
            rows = await db.fetch_all("SELECT mode, pp, plays, acc FROM stats WHERE id = 7 ORDER BY mode")
            return counts, rows
        finally:
            await db.disconnect()

    counts, rows = run(go(backend.new_database_url()))
    assert counts == {"users": 1, "stats": 8}
    assert [r["mode"] for r in rows] == ALL_MODES
    by_mode = {r["mode"]: r for r in rows}
    assert (by_mode[4]["pp"], by_mode[4]["plays"]) == (1234, 9)
    assert by_mode[4]["acc"] == pytest.approx(97.25)
    assert all(r["pp"] == 0 for m, r in by_mode.items() if m != 4)


# --- validation: the first bad record, by position, before any write


def _with(change) -> dict[str, Any]:
    data = valid()
    change(data)
    return data


BAD_FILES = [
    pytest.param(
        _with(lambda d: d["scores"][1].update(mode="0")),
        "scores[1]: 'mode' must be an integer from ",
        id="not-an-integer",
    ),
    pytest.param(
        _with(lambda d: d["scores"][2].update(mods=True)),
        "scores[2]: 'mods' must be an integer from ",
        id="bool-is-no-integer",
    ),
    pytest.param(
        _with(lambda d: d.update(players=[{"id": 5}])),
        "unknown table 'players' (known: achievements, ",
        id="unknown-table",
    ),
    pytest.param(
        _with(lambda d: d["users"][1].update(nmae="typo")),
        "users[1]: unknown column 'nmae' (the columns of users: id, name, safe_name, ",
        id="unknown-column",
    ),
    pytest.param(
        _with(lambda d: d["maps"][1].pop("md5")),
        "maps[1]: 'md5' is required",
        id="missing-required-column",
    ),
    pytest.param(
        _with(lambda d: d["scores"][0].update(play_time="04/03/2024 05:06")),
        "scores[0]: 'play_time' must be a date and time such as 2024-01-31 12:00:00",
        id="bad-datetime",
    ),
    pytest.param(
        _with(lambda d: d["users"][1].update(name="no!pe")),
        "users[1]: 'name' must match ^[\\w \\[\\]-]{2,15}$",
        id="bad-username",
    ),
    pytest.param(
        _with(lambda d: d["users"][0].update(name="x" * 16)),
        "users[0]: 'name' must match ",
        id="username-too-long",
    ),
    pytest.param(
        _with(lambda d: d["maps"].append(_map(100, "ab" * 16))),
        "maps[2]: duplicate id 100",
        id="duplicate-id",
    ),
    pytest.param(
        _with(lambda d: d["maps"].append(_map(102, MD5_A))),
        f"maps[2]: duplicate md5 '{MD5_A}'",
        id="duplicate-md5",
    ),
    pytest.param(
        _with(lambda d: d["users"].append({"id": 5, "name": "fixture_owner"})),
        "users[2]: duplicate safe_name 'fixture_owner'",
        id="duplicate-safe-name",
    ),
    pytest.param(
        _with(lambda d: d.update(stats=[{"id": 3, "mode": 0}, {"id": 3, "mode": 0}])),
        "stats[1]: duplicate id/mode (3, 0)",
        id="duplicate-composite-key",
    ),
    pytest.param(
        _with(lambda d: d["users"][0].update(country="deu")),
        "users[0]: 'country' must be at most 2 characters long",
        id="too-long",
    ),
    pytest.param(
        _with(lambda d: d["users"][1].update(country=None)),
        "users[1]: 'country' must not be null",
        id="null",
    ),
    pytest.param(
        _with(lambda d: d.update(relationships=[{"user1": 3, "user2": 4, "type": "enemy"}])),
        "relationships[0]: 'type' must be one of friend, block",
        id="enum",
    ),
    pytest.param(
        _with(lambda d: d["scores"][0].update(pp="300")),
        "scores[0]: 'pp' must be a number",
        id="not-a-number",
    ),
    pytest.param(
        _with(lambda d: d["clans"][0].update(name=5)),
        "clans[0]: 'name' must be a string",
        id="not-a-string",
    ),
    pytest.param(
        _with(lambda d: d["maps"].insert(1, ["not", "an", "object"])),
        "maps[1]: a record must be a JSON object",
        id="record-not-an-object",
    ),
    pytest.param(
        _with(lambda d: d.update(maps={"id": 1})),
        "maps: must be a list of records",
        id="table-not-a-list",
    ),
    pytest.param([VALID], "a fixture must be a JSON object mapping table names to lists of records", id="not-an-object"),
    pytest.param(
        # two bad records: the first one in the file is named
        _with(lambda d: (d["maps"][1].update(status="x"), d["scores"][0].update(mode="x"))),
        "maps[1]: 'status' must be an integer from ",
        id="first-bad-record-wins",
    ),
]


@pytest.mark.parametrize("data, message", BAD_FILES)
def test_validation_names_the_first_bad_record(data, message):
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_the_valid_file_itself_validates():
    checked = fixtures.validate(valid())
    assert [len(checked[t]) for t in ("users", "clans", "maps", "scores", "stats")] == [2, 1, 2, 3, 16]


def test_a_user_without_an_id_is_refused():
    # stats, scores and clans refer to players by id; a player left to the
    # database's auto-increment would get no stats rows, and a different id
    # on each backend
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate({"users": [{"id": 3, "name": "Has Id"}, {"name": "No Id"}]})
    assert str(caught.value).startswith("users[1]: 'id' is required")
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate({"users": [{"id": None, "name": "Null Id"}]})
    assert str(caught.value).startswith("users[0]: 'id' is required")


def test_a_bad_record_changes_nothing(backend):
    data = _with(lambda d: d["scores"][2].update(grade="ABC"))

    async def go(url):
        db = await _fresh(url)
        try:
            before = await _counts(db)
            with pytest.raises(fixtures.FixtureError) as caught:
                await fixtures.load(db, data)
            return before, await _counts(db), str(caught.value)
        finally:
            await db.disconnect()

    before, after, message = run(go(backend.new_database_url()))
    assert message == "scores[2]: 'grade' must be at most 2 characters long"
    assert after == before


# --- one transaction: what the database refuses part-way changes nothing

REFUSED = [
    # the bot user 1 that base.sql creates, after three tables went in fine
    pytest.param(
        _with(lambda d: d["users"].append({"id": 1, "name": "Impostor"})), "users", id="existing-user-id"
    ),
    # the bot's stats row for mode 0, in the last table written
    pytest.param(_with(lambda d: d.update(stats=[{"id": 1, "mode": 0, "pp": 5}])), "stats", id="existing-stats-row"),
    # a name bancho.py's unique key refuses although the file has it once
    pytest.param(
        _with(lambda d: d["users"].append({"id": 9, "name": "banchobot"})), "users", id="existing-user-name"
    ),
]


@pytest.mark.parametrize("data, table", REFUSED)
def test_a_file_the_database_refuses_changes_nothing(backend, data, table):
    fixtures.validate(copy.deepcopy(data))  # every record passes the checks

    async def go(url):
        db = await _fresh(url)
        try:
            before = await _counts(db)
            bot_before = await db.fetch_all("SELECT * FROM stats WHERE id = 1 ORDER BY mode")
            with pytest.raises(fixtures.FixtureError) as caught:
                await fixtures.load(db, data)
            after = await _counts(db)
            bot_after = await db.fetch_all("SELECT * FROM stats WHERE id = 1 ORDER BY mode")
            # the connection is usable afterwards, and the same rows load
            # once the refused record is gone
            good = await fixtures.load(db, valid())
            return before, after, bot_before, bot_after, str(caught.value), good, await _counts(db)
        finally:
            await db.disconnect()

    before, after, bot_before, bot_after, message, good, final = run(go(backend.new_database_url()))
    assert message.startswith(f"{table}: the database refused a record: ")
    assert after == before
    assert before["users"] == 1 and before["maps"] == 0 and before["scores"] == 0
    assert bot_after == bot_before
    assert good["users"] == 2
    assert final == {**before, "users": 3, "stats": 24, "clans": 1, "maps": 2, "scores": 3}


def test_the_transaction_spans_every_table_in_a_separate_connection(backend):
    """While a load is refused, another connection never sees its rows:
    checked from a second Database on the same URL after the failure."""
    data = _with(lambda d: d.update(stats=[{"id": 1, "mode": 8}]))  # refused: the bot has it

    async def go(url):
        db = await _fresh(url)
        try:
            with pytest.raises(fixtures.FixtureError):
                await fixtures.load(db, data)
        finally:
            await db.disconnect()
        async with Database(url) as other:
            return await _counts(other)

    counts = run(go(backend.new_database_url()))
    assert counts == {"users": 1, "stats": 8, "clans": 0, "maps": 0, "scores": 0, "relationships": 0}


# --- integer ranges: what validation lets through, the database stores


@pytest.mark.parametrize(
    "data, message",
    [
        ({"users": [{"id": 3, "name": "Big", "priv": 2**31}]}, "users[0]: 'priv' must be an integer from -2147483648 to 2147483647"),
        ({"stats": [{"id": 3, "mode": 0, "pp": -1}]}, "stats[0]: 'pp' must be an integer from 0 to 4294967295"),
        ({"stats": [{"id": 3, "mode": 128}]}, "stats[0]: 'mode' must be an integer from -128 to 127"),
        ({"stats": [{"id": 3, "mode": 0, "tscore": 2**63}]}, "stats[0]: 'tscore' must be an integer from 0 to 9223372036854775807"),
    ],
    ids=["signed-int", "unsigned-int", "signed-tinyint", "unsigned-bigint"],
)
def test_integers_out_of_the_columns_range_are_refused(data, message):
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate(data)
    assert str(caught.value) == message


def test_integers_at_the_edges_of_the_columns_range_are_stored(backend):
    data = {
        "users": [{"id": 2**31 - 1, "name": "Edge", "priv": -(2**31), "silence_end": 2**31 - 1}],
        "stats": [{"id": 2**31 - 1, "mode": 0, "pp": 2**32 - 1, "tscore": 2**63 - 1, "plays": 0}],
    }

    async def go(url):
        db = await _fresh(url)
        try:
            await fixtures.load(db, data)
            user = await db.fetch_one("SELECT id, priv, silence_end FROM users WHERE name = 'Edge'")
            stats = await db.fetch_one("SELECT pp, tscore FROM stats WHERE id = :id AND mode = 0", {"id": 2**31 - 1})
            return user, stats
        finally:
            await db.disconnect()

    user, stats = run(go(backend.new_database_url()))
    assert (user["id"], user["priv"], user["silence_end"]) == (2**31 - 1, -(2**31), 2**31 - 1)
    assert (stats["pp"], stats["tscore"]) == (2**32 - 1, 2**63 - 1)


# --- files a fixture carries: in place only once the rows have committed

OSU_TEXT = "osu file format v14\n\n[Metadata]\nTitle:Ghost\n"
REPLAY_BYTES = bytes(range(256)) * 3


def _with_files(data: dict[str, Any]) -> dict[str, Any]:
    data["beatmap_files"] = {"100": OSU_TEXT}
    data["replays"] = {"1": base64.b64encode(REPLAY_BYTES).decode("ascii")}
    return data


def _files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_files_land_under_the_data_folder(backend, tmp_path):
    data_dir = tmp_path / "data"

    async def go(url):
        db = await _fresh(url)
        try:
            return await fixtures.load(db, _with_files(valid()), data_dir)
        finally:
            await db.disconnect()

    counts = run(go(backend.new_database_url()))
    assert counts["beatmap_files"] == 1 and counts["replays"] == 1 and counts["scores"] == 3
    assert _files_under(data_dir) == ["osr/1.osr", "osu/100.osu"]
    assert (data_dir / "osu" / "100.osu").read_text("utf-8") == OSU_TEXT
    assert (data_dir / "osr" / "1.osr").read_bytes() == REPLAY_BYTES


def test_a_refused_fixture_leaves_no_files_behind(backend, tmp_path):
    data_dir = tmp_path / "data"
    data = _with_files(_with(lambda d: d["users"].append({"id": 1, "name": "Impostor"})))

    async def go(url):
        db = await _fresh(url)
        try:
            before = await _counts(db)
            with pytest.raises(fixtures.FixtureError) as caught:
                await fixtures.load(db, data, data_dir)
            return before, await _counts(db), str(caught.value)
        finally:
            await db.disconnect()

    before, after, message = run(go(backend.new_database_url()))
    assert message.startswith("users: the database refused a record: ")
    assert after == before
    assert _files_under(data_dir) == []  # neither the files nor their staged copies


@pytest.mark.parametrize(
    "files, message",
    [
        ({"replays": {"one": "AAAA"}}, "replays['one']: the key must be an id"),
        ({"replays": {"1": "not base64!"}}, "replays['1']: not valid base64"),
        ({"beatmap_files": {"100": 5}}, "beatmap_files['100']: must be a string (text)"),
        ({"beatmap_files": ["osu file format v14"]}, "beatmap_files: must be an object keyed by id"),
    ],
    ids=["key", "base64", "text", "not-an-object"],
)
def test_bad_files_are_named(files, message, tmp_path):
    with pytest.raises(fixtures.FixtureError) as caught:
        fixtures.validate_files({**valid(), **files})
    assert str(caught.value) == message


def test_files_without_a_data_folder_are_refused_before_any_write(backend):
    async def go(url):
        db = await _fresh(url)
        try:
            before = await _counts(db)
            with pytest.raises(fixtures.FixtureError) as caught:
                await fixtures.load(db, _with_files(valid()))
            return before, await _counts(db), str(caught.value)
        finally:
            await db.disconnect()

    before, after, message = run(go(backend.new_database_url()))
    assert message == "this fixture carries files, but no data folder was given for them"
    assert after == before
