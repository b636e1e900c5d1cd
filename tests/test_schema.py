"""The schema on both backends: `migrate` builds, from sql/base.sql, tables,
columns, keys and indexes that match the MySQL text (and so each other); it
is idempotent; our own numbered migrations run once each, in order; and a
database set up by bancho.py itself (base.sql loaded by hand) is served as
it is."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from conftest import run
from starlette.testclient import TestClient

from server import schema
from server.app import create_app
from server.db import Database
from server.migrate import migrate
from server.settings import Settings

LEDGER = "api_migrations"
PLAYABLE_MODES = ["0", "1", "2", "3", "4", "5", "6", "8"]

# --- what sql/base.sql says, read independently of server/schema.py's parser


def _create_indexes(text: str) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    """CREATE [UNIQUE] INDEX name ON table (a, b DESC) -> {name: (table, (a, b), unique)}
    (the key parts' directions are not compared: the two databases'
    catalogues describe them differently)"""
    found = {}
    for unique, name, table, columns in re.findall(r"CREATE (UNIQUE )?INDEX (\w+) ON (\w+) \(([^)]*)\)", text):
        parts = (re.sub(r"\s+(ASC|DESC)$", "", c.strip(), flags=re.I).strip("`") for c in columns.split(","))
        found[name] = (table, tuple(parts), bool(unique))
    return found


def _table_bodies(text: str) -> dict[str, str]:
    return dict(re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", text, re.S))


def _unique_constraints(text: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """{table: {constraint name: columns}} from CONSTRAINT x UNIQUE (cols)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for table, body in _table_bodies(text).items():
        out[table] = {
            name: tuple(c.strip().strip("`") for c in columns.split(","))
            for name, columns in re.findall(r"CONSTRAINT (\w+) UNIQUE \(([^)]*)\)", body)
        }
    return out


def _primary_keys(text: str) -> dict[str, tuple[str, ...]]:
    out = {}
    for table, body in _table_bodies(text).items():
        composite = re.search(r"^\s*PRIMARY KEY \(([^)]*)\)", body, re.M)
        if composite:
            out[table] = tuple(c.strip().strip("`") for c in composite.group(1).split(","))
        else:
            inline = re.search(r"^\s*`?(\w+)`? .*\bPRIMARY KEY\b", body, re.M)
            out[table] = (inline.group(1),) if inline else ()
    return out


BASE = schema.base_schema()
BASE_TABLES = schema.tables(BASE)
EXPECTED_INDEXES = _create_indexes(BASE.text)
EXPECTED_UNIQUES = _unique_constraints(BASE.text)
EXPECTED_PRIMARY_KEYS = _primary_keys(BASE.text)


# the names of UNIQUE constraints declared inside CREATE TABLE, in every file
CONSTRAINT_NAMES: dict[str, set[str]] = {}
for _file in [BASE, *schema.migrations()]:
    for _table, _constraints in _unique_constraints(_file.text).items():
        CONSTRAINT_NAMES.setdefault(_table, set()).update(_constraints)


def expected_columns() -> dict[str, list[str]]:
    """Every table migrate creates: bancho.py's, ours, and the ledger."""
    columns = {table: [c.name for c in cols] for table, cols in BASE_TABLES.items()}
    for migration in schema.migrations():
        columns.update({t: [c.name for c in cols] for t, cols in schema.tables(migration).items()})
    columns[LEDGER] = ["name", "applied_at", "steps_done"]
    return columns


def our_tables() -> list[str]:
    """The tables of ours that migrate adds beside bancho.py's."""
    return [LEDGER] + [t for m in schema.migrations() for t in schema.tables(m)]


def test_the_parsed_file_is_what_base_sql_says():
    # guard the reference itself, so a parser that finds nothing cannot pass
    assert len(BASE_TABLES) == len(_table_bodies(BASE.text)) == 22
    assert [c.name for c in BASE_TABLES["stats"]][:3] == ["id", "mode", "tscore"]
    assert [c.name for c in BASE_TABLES["logs"]][:4] == ["id", "from", "to", "action"]
    assert len(EXPECTED_INDEXES) == 30
    assert EXPECTED_INDEXES["scores_fetch_leaderboard_generic_index"] == ("scores", ("map_md5", "status", "mode"), False)
    assert EXPECTED_PRIMARY_KEYS["maps"] == ("server", "id")
    assert EXPECTED_PRIMARY_KEYS["users"] == ("id",)
    assert EXPECTED_UNIQUES["users"]["users_safe_name_uindex"] == ("safe_name",)


# --- what a live database says


async def describe(db: Database) -> dict[str, Any]:
    """Tables with their columns in order, nullability, primary keys, unique
    keys and plain indexes, read from the database's own catalogue."""
    if db.dialect == "sqlite":
        return await _describe_sqlite(db)
    return await _describe_mysql(db)


async def _describe_sqlite(db: Database) -> dict[str, Any]:
    tables = [
        row["name"]
        for row in await db.fetch_all(
            # (no literal percent sign: the databases package's SQLite
            # backend %-formats every query string)
            "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) != 'sqlite_' ORDER BY name"
        )
    ]
    columns, not_null, primary, uniques = {}, {}, {}, {}
    for table in tables:
        info = await db.fetch_all(f"PRAGMA table_info({table})")
        columns[table] = [row["name"] for row in info]
        not_null[table] = {row["name"] for row in info if row["notnull"]}
        primary[table] = tuple(row["name"] for row in sorted(info, key=lambda r: r["pk"]) if row["pk"])
        uniques[table] = set()
        for index in await db.fetch_all(f"PRAGMA index_list({table})"):
            if index["origin"] == "u":
                cols = await db.fetch_all(f"PRAGMA index_info({index['name']})")
                uniques[table].add(tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"])))
    indexes = {}
    for table in tables:
        for index in await db.fetch_all(f"PRAGMA index_list({table})"):
            if index["origin"] == "c":  # made by CREATE INDEX, not by a key
                cols = await db.fetch_all(f"PRAGMA index_info({index['name']})")
                indexed = tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"]))
                indexes[index["name"]] = (table, indexed, bool(index["unique"]))
    return {"columns": columns, "not_null": not_null, "primary": primary, "uniques": uniques,
            "unique_names": None, "indexes": indexes}


async def _describe_mysql(db: Database) -> dict[str, Any]:
    columns: dict[str, list[str]] = {}
    not_null: dict[str, set[str]] = {}
    for row in await db.fetch_all(
        "SELECT table_name AS t, column_name AS c, is_nullable AS n FROM information_schema.columns"
        " WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(row["t"], []).append(row["c"])
        not_null.setdefault(row["t"], set())
        if row["n"] == "NO":
            not_null[row["t"]].add(row["c"])
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for row in await db.fetch_all(
        "SELECT table_name AS t, index_name AS i, non_unique AS nu, column_name AS c"
        " FROM information_schema.statistics WHERE table_schema = DATABASE()"
        " ORDER BY table_name, index_name, seq_in_index"
    ):
        key = keys.setdefault((row["t"], row["i"]), {"unique": not int(row["nu"]), "columns": []})
        key["columns"].append(row["c"])
    primary = {table: () for table in columns}
    uniques: dict[str, set[tuple[str, ...]]] = {table: set() for table in columns}
    unique_names: dict[str, set[str]] = {table: set() for table in columns}
    indexes = {}
    for (table, name), key in keys.items():
        if name == "PRIMARY":
            primary[table] = tuple(key["columns"])
        elif name in CONSTRAINT_NAMES.get(table, ()):
            uniques[table].add(tuple(key["columns"]))
            unique_names[table].add(name)
        else:
            indexes[name] = (table, tuple(key["columns"]), key["unique"])
    return {"columns": columns, "not_null": not_null, "primary": primary, "uniques": uniques,
            "unique_names": unique_names, "indexes": indexes}


async def _migrated(url: str) -> tuple[list[str], dict[str, Any]]:
    async with Database(url) as db:
        applied = await migrate(db)
        return applied, await describe(db)


@pytest.fixture(scope="module")
def migrated(backend) -> dict[str, Any]:
    """A freshly migrated database of each kind, described."""
    applied, description = run(_migrated(backend.new_database_url()))
    return {"applied": applied, **description}


def test_migrate_applies_base_sql_then_our_migrations(migrated):
    assert migrated["applied"] == ["base.sql"] + [m.name for m in schema.migrations()]


def test_tables_and_columns_in_order_match_base_sql(migrated):
    expected = expected_columns()
    assert sorted(migrated["columns"]) == sorted(expected)
    for table, columns in expected.items():
        assert migrated["columns"][table] == columns, table


def test_not_null_columns_match_base_sql(migrated):
    # SQLite lets a primary key column of a composite key hold NULL unless
    # told otherwise (a quirk MySQL does not share), so keys are compared
    # separately below
    for table, columns in BASE_TABLES.items():
        keys = set(EXPECTED_PRIMARY_KEYS[table])
        expected = {c.name for c in columns if not c.nullable} - keys
        assert migrated["not_null"][table] - keys == expected, table


def test_primary_and_unique_keys_match_base_sql(migrated):
    for table in BASE_TABLES:
        assert migrated["primary"][table] == EXPECTED_PRIMARY_KEYS[table], table
        assert migrated["uniques"][table] == set(EXPECTED_UNIQUES[table].values()), table
        if migrated["unique_names"] is not None:  # SQLite does not keep constraint names
            assert migrated["unique_names"][table] == set(EXPECTED_UNIQUES[table]), table


def test_indexes_match_create_index_statements(migrated):
    expected = dict(EXPECTED_INDEXES)
    for migration in schema.migrations():  # ours add (and replace) indexes of their own
        for name in re.findall(r"DROP INDEX (\w+)", migration.text):
            del expected[name]
        expected.update(_create_indexes(migration.text))
    assert migrated["indexes"] == expected


def test_bot_user_and_its_stats_are_created(backend):
    async def go(url):
        async with Database(url) as db:
            await migrate(db)
            users = await db.fetch_all("SELECT id, name, safe_name, priv, country, creation_time FROM users")
            modes = await db.fetch_all("SELECT mode FROM stats WHERE id = 1 ORDER BY mode")
            return users, [row["mode"] for row in modes]

    users, modes = run(go(backend.new_database_url()))
    assert len(users) == 1
    bot = users[0]
    assert (bot["id"], bot["name"], bot["safe_name"], bot["priv"], bot["country"]) == (1, "BanchoBot", "banchobot", 1, "ca")
    assert bot["creation_time"] > 1_600_000_000  # UNIX_TIMESTAMP() and its SQLite form both ran
    assert modes == [0, 1, 2, 3, 4, 5, 6, 8]


def test_both_backends_build_the_same_schema(mariadb, tmp_path):
    """SQLite's derived form and MariaDB's agree with each other directly,
    not only each with the file."""
    name = f"same_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    lite = run(_migrated(f"sqlite:///{tmp_path / 'same.db'}"))[1]
    maria = run(_migrated(mariadb.url(name)))[1]
    for part in ("columns", "not_null", "primary", "uniques", "indexes"):
        if part == "not_null":  # see test_not_null_columns_match_base_sql
            keys = {t: set(key) for t, key in lite["primary"].items()}
            assert {t: c - keys[t] for t, c in lite[part].items()} == {t: c - keys[t] for t, c in maria[part].items()}
        else:
            assert lite[part] == maria[part], part


def test_migrate_twice_applies_nothing_and_changes_nothing(backend):
    async def go(url):
        async with Database(url) as db:
            first = await migrate(db)
            before = await describe(db)
            users_before = await db.fetch_all("SELECT * FROM users ORDER BY id")
            ledger_before = await db.fetch_all(f"SELECT * FROM {LEDGER} ORDER BY name")
            second = await migrate(db)
            after = await describe(db)
            users_after = await db.fetch_all("SELECT * FROM users ORDER BY id")
            ledger_after = await db.fetch_all(f"SELECT * FROM {LEDGER} ORDER BY name")
            stats = await db.fetch_val("SELECT COUNT(*) FROM stats")
            return first, second, before, after, users_before, users_after, ledger_before, ledger_after, stats

    first, second, before, after, users_before, users_after, ledger_before, ledger_after, stats = run(
        go(backend.new_database_url())
    )
    assert first[0] == "base.sql"
    assert second == []
    assert after == before
    assert users_after == users_before and len(users_after) == 1  # base.sql's INSERTs did not run twice
    assert ledger_after == ledger_before
    assert stats == 8


# --- our own numbered migrations

MIGRATION_A = schema.SqlFile(
    "0001_a.sql",
    "-- a table of ours\n"
    "CREATE TABLE api_test_notes (\n"
    "    id INT AUTO_INCREMENT PRIMARY KEY,\n"
    "    user_id INT NOT NULL,\n"
    "    note VARCHAR(64) CHARSET utf8 NOT NULL COMMENT 'free text; it''s ours'\n"
    ");\n",
)
MIGRATION_B = schema.SqlFile(
    "0002_b.sql", "CREATE INDEX api_test_notes_user_id_index ON api_test_notes (user_id);\n"
)
MIGRATION_C = schema.SqlFile("0003_c.sql", "ALTER TABLE api_test_notes ADD COLUMN pinned TINYINT(1) DEFAULT 0 NOT NULL;\n")


def test_numbered_migrations_apply_once_in_order(backend, monkeypatch):
    shipped = [MIGRATION_A, MIGRATION_B]
    monkeypatch.setattr(schema, "migrations", lambda: list(shipped))

    async def go(url):
        async with Database(url) as db:
            first = await migrate(db)
            ledger = [row["name"] for row in await db.fetch_all(f"SELECT name FROM {LEDGER} ORDER BY applied_at, name")]
            description = await describe(db)
            await db.execute("INSERT INTO api_test_notes (user_id, note) VALUES (3, 'kept')")
            second = await migrate(db)
            # a release that ships one more migration: only that one runs
            shipped.append(MIGRATION_C)
            third = await migrate(db)
            fourth = await migrate(db)
            rows = await db.fetch_all("SELECT id, user_id, note, pinned FROM api_test_notes")
            final_ledger = await db.fetch_all(f"SELECT name, applied_at FROM {LEDGER} ORDER BY name")
            return first, ledger, description, second, third, fourth, rows, final_ledger

    first, ledger, description, second, third, fourth, rows, final_ledger = run(go(backend.new_database_url()))
    assert first == ["base.sql", "0001_a.sql", "0002_b.sql"]
    assert sorted(ledger) == ["0001_a.sql", "0002_b.sql", "base.sql"]  # base.sql: made by us, so recorded
    assert description["columns"]["api_test_notes"] == ["id", "user_id", "note"]
    assert description["indexes"]["api_test_notes_user_id_index"] == ("api_test_notes", ("user_id",), False)
    assert second == []
    assert third == ["0003_c.sql"]
    assert fourth == []
    assert rows == [{"id": 1, "user_id": 3, "note": "kept", "pinned": 0}]  # data survived
    assert [row["name"] for row in final_ledger] == ["0001_a.sql", "0002_b.sql", "0003_c.sql", "base.sql"]
    assert all(row["applied_at"] > 1_600_000_000 for row in final_ledger)


BROKEN = schema.SqlFile(
    "0001_a.sql",
    "CREATE TABLE api_test_notes (id INT NOT NULL);\n"
    "CREATE INDEX api_test_notes_oops ON api_test_nowhere (id);\n",
)


def test_a_migration_that_fails_part_way_leaves_nothing_behind_on_sqlite(tmp_path, monkeypatch):
    """SQLite's DDL is transactional: a file that fails (or a process
    stopped) part-way leaves no half-made table that would make every later
    run fail; the corrected file then applies. (MySQL commits DDL at once.)"""
    url = f"sqlite:///{tmp_path / 'half.db'}"
    monkeypatch.setattr(schema, "migrations", lambda: [BROKEN])

    async def broken_then_fixed():
        async with Database(url) as db:
            with pytest.raises(Exception, match="api_test_nowhere"):
                await migrate(db)
            tables = await db.table_names()
            ledger = await db.fetch_all(f"SELECT name FROM {LEDGER}")
            monkeypatch.setattr(schema, "migrations", lambda: [MIGRATION_A])
            return tables, ledger, await migrate(db), await db.table_names()

    tables, ledger, applied, fixed = run(broken_then_fixed())
    assert "users" in tables and "api_test_notes" not in tables  # base.sql went in, 0001 did not
    assert ledger == [{"name": "base.sql"}]
    assert applied == ["0001_a.sql"]
    assert "api_test_notes" in fixed


def test_base_sql_failing_part_way_leaves_an_empty_sqlite_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'base.db'}"
    real = schema.base_schema()
    monkeypatch.setattr(schema, "base_schema", lambda: schema.SqlFile("base.sql", real.text + "\nCREATE INDEX x ON nowhere (id);\n"))

    async def go():
        async with Database(url) as db:
            with pytest.raises(Exception, match="nowhere"):
                await migrate(db)
            left = await db.table_names()
            ledger = await db.fetch_all(f"SELECT * FROM {LEDGER}")
            monkeypatch.setattr(schema, "base_schema", lambda: real)
            return left, ledger, await migrate(db)

    left, ledger, applied = run(go())
    assert {t for t in left if not t.startswith("sqlite_")} == {LEDGER}  # made first, on its own
    assert ledger == []
    assert applied[0] == "base.sql"


def test_migration_files_are_found_and_ordered_by_number(tmp_path, monkeypatch):
    """schema.migrations() reads sql/migrations/*.sql in name order, whatever
    order the directory lists them in, and ignores other files."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (tmp_path / "base.sql").write_text(BASE.text)
    (folder / "0010_later.sql").write_text("SELECT 10;")
    (folder / "0002_b.sql").write_text(MIGRATION_B.text)
    (folder / "0001_a.sql").write_text(MIGRATION_A.text)
    (folder / "notes.txt").write_text("not a migration")
    monkeypatch.setattr(schema, "_sql_dir", lambda: tmp_path)
    found = schema.migrations()
    assert [m.name for m in found] == ["0001_a.sql", "0002_b.sql", "0010_later.sql"]
    assert found[0].text == MIGRATION_A.text


def test_the_shipped_migration_files_parse():
    for migration in schema.migrations():
        assert re.match(r"^\d{4}_\w+\.sql$", migration.name), migration.name
        assert schema.split_statements(migration.text), migration.name
        for dialect in ("mysql", "sqlite"):
            schema.statements_for(migration, dialect)


# --- an existing bancho.py database, as bancho.py leaves it

MAP_MD5 = "1cf5b2c2edfafd055536d2cefcb89c0e"
PW = "$2b$12$" + "x" * 53


def test_an_existing_bancho_database_is_served_as_it_is(mariadb, tmp_path):
    name = f"bancho_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    mariadb.execute_sql_file(name, schema._sql_dir() / "base.sql")  # as a bancho.py install does
    stats_rows = ", ".join(
        f"(3, {mode}, {1000 * (mode + 1)}, {500 * (mode + 1)}, {pp}, {mode + 2}, {60 * (mode + 1)}, {acc}, {100 + mode},"
        f" {900 + mode}, 0, 1, 0, 2, 0, 3)"
        for mode, pp, acc in [(0, 4321, 98.765), (1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 120, 91.5), (5, 0, 0), (6, 0, 0), (8, 0, 0)]
    )
    mariadb.execute(
        "INSERT INTO users (id, name, safe_name, email, priv, pw_bcrypt, country, silence_end, donor_end,"
        " creation_time, latest_activity, clan_id, clan_priv, preferred_mode, play_style, custom_badge_name,"
        " custom_badge_icon, userpage_content, api_key)"
        f" VALUES (3, 'Old Timer', 'old_timer', 'old@example.com', 3, '{PW}', 'fi', 0, 0,"
        " 1600000000, 1700000000, 0, 0, 0, 1, NULL, NULL, 'since 2020', NULL);\n"
        "INSERT INTO stats (id, mode, tscore, rscore, pp, plays, playtime, acc, max_combo, total_hits,"
        " replay_views, xh_count, x_count, sh_count, s_count, a_count)"
        f" VALUES {stats_rows};\n"
        "INSERT INTO maps (server, id, set_id, status, md5, artist, title, version, creator, filename,"
        " last_update, total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff)"
        f" VALUES ('osu!', 315, 141, 2, '{MAP_MD5}', 'xi', 'FREEDOM DiVE', 'FOUR DIMENSIONS', 'Nakagawa-Kanon',"
        " 'xi - FREEDOM DiVE (Nakagawa-Kanon) [FOUR DIMENSIONS].osu', '2014-05-18 17:22:01', 258, 2385,"
        " 0, 12, 3, 0, 222.22, 4, 9, 8, 6, 7.07);\n"
        "INSERT INTO scores (id, map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss, ngeki,"
        " nkatu, grade, status, mode, play_time, time_elapsed, client_flags, userid, perfect, online_checksum)"
        f" VALUES (7, '{MAP_MD5}', 1234567, 727.125, 99.83, 2385, 24, 1978, 4, 0, 0, 300, 3, 'SH', 2, 0,"
        f" '2024-02-03 04:05:06', 258000, 0, 3, 1, '{'a' * 32}'),"
        f" (8, '{MAP_MD5}', 999999, 650.5, 97.1, 1800, 0, 1900, 60, 2, 1, 280, 40, 'A', 1, 0,"
        f" '2024-02-04 10:00:00', 258000, 0, 3, 0, '{'b' * 32}');\n",
        database=name,
    )
    tables_before = mariadb.execute(
        "SELECT table_name, column_name, column_type FROM information_schema.columns"
        f" WHERE table_schema = '{name}' ORDER BY table_name, ordinal_position;"
    )

    settings = Settings(database_url=mariadb.url(name), host="127.0.0.1", port=0, data_dir=tmp_path, demo_on_empty=False)
    with TestClient(create_app(settings)) as client:
        info = client.get("/v1/get_player_info", params={"id": 3, "scope": "all"})
        assert info.status_code == 200, info.text
        player = info.json()["player"]
        assert info.json()["status"] == "success"
        assert player["info"] == {
            "id": 3, "name": "Old Timer", "safe_name": "old_timer", "priv": 3, "country": "fi",
            "silence_end": 0, "donor_end": 0, "creation_time": 1600000000, "latest_activity": 1700000000,
            "clan_id": 0, "clan_priv": 0, "preferred_mode": 0, "play_style": 1, "custom_badge_name": None,
            "custom_badge_icon": None, "userpage_content": "since 2020",
        }
        assert sorted(player["stats"]) == sorted(PLAYABLE_MODES)
        std = player["stats"]["0"]
        assert (std["tscore"], std["rscore"], std["pp"], std["plays"], std["playtime"]) == (1000, 500, 4321, 2, 60)
        assert std["acc"] == pytest.approx(98.765)
        assert (std["max_combo"], std["total_hits"], std["replay_views"]) == (100, 900, 0)
        assert (std["xh_count"], std["x_count"], std["sh_count"], std["s_count"], std["a_count"]) == (1, 0, 2, 0, 3)
        assert (std["rank"], std["country_rank"]) == (1, 1)
        assert player["stats"]["4"]["pp"] == 120 and player["stats"]["4"]["rank"] == 1
        assert player["stats"]["8"]["pp"] == 0 and player["stats"]["8"]["rank"] == 0

        by_name = client.get("/v1/get_player_info", params={"name": "old timer", "scope": "info"})
        assert by_name.status_code == 200 and by_name.json()["player"]["info"]["id"] == 3

        beatmap = client.get("/v1/get_map_info", params={"id": 315})
        assert beatmap.status_code == 200, beatmap.text
        m = beatmap.json()["map"]
        assert (m["md5"], m["id"], m["set_id"], m["status"], m["mode"]) == (MAP_MD5, 315, 141, 2, 0)
        assert (m["artist"], m["title"], m["version"], m["creator"]) == ("xi", "FREEDOM DiVE", "FOUR DIMENSIONS", "Nakagawa-Kanon")
        assert m["last_update"] == "2014-05-18T17:22:01"
        assert (m["total_length"], m["max_combo"], m["plays"], m["passes"]) == (258, 2385, 12, 3)
        assert m["bpm"] == pytest.approx(222.22)
        assert (m["cs"], m["ar"], m["od"], m["hp"]) == pytest.approx((4, 9, 8, 6))
        assert m["diff"] == pytest.approx(7.07)
        assert client.get("/v1/get_map_info", params={"md5": MAP_MD5}).json()["map"]["id"] == 315

        best = client.get("/v1/get_player_scores", params={"id": 3, "scope": "best"})
        assert best.status_code == 200, best.text
        assert best.json()["player"] == {"id": 3, "name": "Old Timer", "clan": None}
        scores = best.json()["scores"]
        assert [s["id"] for s in scores] == [7]  # the status-1 score is no best
        s = scores[0]
        assert (s["score"], s["max_combo"], s["mods"], s["n300"], s["n100"], s["ngeki"], s["nkatu"]) == (1234567, 2385, 24, 1978, 4, 300, 3)
        assert s["pp"] == pytest.approx(727.125) and s["acc"] == pytest.approx(99.83)
        assert (s["grade"], s["status"], s["mode"], s["perfect"]) == ("SH", 2, 0, 1)
        assert s["play_time"] == "2024-02-03T04:05:06"
        assert s["beatmap"]["md5"] == MAP_MD5 and s["beatmap"]["id"] == 315

        recent = client.get("/v1/get_player_scores", params={"id": 3, "scope": "recent"})
        assert [s["id"] for s in recent.json()["scores"]] == [8, 7]

        board = client.get("/v1/get_map_scores", params={"id": 315, "scope": "best"})
        assert board.status_code == 200, board.text
        rows = board.json()["scores"]
        assert len(rows) == 1
        row = rows[0]
        assert (row["map_md5"], row["score"], row["userid"], row["player_name"], row["player_country"]) == (
            MAP_MD5, 1234567, 3, "Old Timer", "fi")
        assert (row["clan_id"], row["clan_name"], row["clan_tag"]) == (None, None, None)
        assert row["play_time"] == "2024-02-03T04:05:06"

        count = client.get("/v1/get_player_count").json()
        assert count["counts"]["total"] == 2  # the bot and our player

    # serving added only our own tables (the ledger and our migrations');
    # bancho.py's tables are as they were
    ours = ", ".join(f"'{t}'" for t in our_tables())
    tables_after = mariadb.execute(
        "SELECT table_name, column_name, column_type FROM information_schema.columns"
        f" WHERE table_schema = '{name}' AND table_name NOT IN ({ours}) ORDER BY table_name, ordinal_position;"
    )
    assert tables_after == tables_before
    assert set(mariadb.execute("SHOW TABLES;", database=name).split()) == set(BASE_TABLES) | set(our_tables())
    assert mariadb.execute("SELECT COUNT(*) FROM users; SELECT COUNT(*) FROM scores;", database=name).split() == ["2", "2"]
