"""Migrations on a real database: a run stopped at any point (an exception,
a killed process, a build the server finishes alone) is finished by the
next; nothing is bounded by DB_TIMEOUT; index builds on bancho.py's tables
leave the table open to reads and writes; one process migrates at a time,
and one that waits (for another migration, for a table's metadata lock)
says so; `db removal-sql` takes out exactly what was added."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import run
from test_schema import describe

from server import footprint, migration_steps, schema
from server import migrate as migrate_module
from server.db import Database
from server.migrate import LEDGER, MigrationError, Progress, create_bancho_schema, migrate, reporter
from server.progress import StatusLine

REPO = Path(__file__).resolve().parent.parent
# rows in the large table: enough that each index build on it takes a
# good part of a second or more, long enough to be watched and killed
LARGE_SCORES = 500_000


class Died(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the
    way out handles it as an error."""


def environment(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY", "HOST", "PORT")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(DATABASE_URL=url, DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", *args]


async def _reference(url: str):
    async with Database(url) as db:
        await migrate(db)
        return await describe(db)


@pytest.fixture(scope="module")
def reference(backend):
    """The catalogue of a database migrated in one go."""
    return run(_reference(backend.new_database_url()))


async def _ledger(db: Database) -> dict[str, int]:
    return {row["name"]: row["applied_at"] for row in await db.fetch_all(f"SELECT * FROM {LEDGER}")}


def _all_files() -> list[str]:
    return ["base.sql"] + [m.name for m in schema.migrations()]


# --- stopped at any step, finished by the next run


def test_a_run_stopped_after_any_step_is_finished_by_the_next(backend, reference):
    """Each run dies after doing one more step than the state it found
    (MySQL keeps every step done; SQLite rolls the file it was in back), and
    a last run finishes: the schema is the one made in one go, the bot and
    its stats are there once, and every file is recorded as applied."""

    async def go(url):
        deaths = 0
        done: list[str] = []

        def die_after_one(progress: Progress) -> None:
            if progress.finished:
                done.append(progress.what)
                raise Died

        async with Database(url) as db:
            while True:
                done.clear()
                try:
                    await migrate(db, die_after_one)
                    break
                except Died:
                    deaths += 1
                    assert deaths < 500, f"no progress: {done}"
                if backend.kind == "sqlite" and deaths >= 3:
                    break  # a file never gets past its first step there: the rest in one go
            if backend.kind == "sqlite":
                assert await migrate(db) == _all_files()
            users = await db.fetch_all("SELECT id FROM users")
            bot_stats = await db.fetch_val("SELECT COUNT(*) FROM stats WHERE id = 1")
            return deaths, await describe(db), await _ledger(db), users, bot_stats

    deaths, description, ledger, users, bot_stats = run(go(backend.new_database_url()))
    steps = sum(len(migration_steps.steps(f, "mysql")) for f in [schema.base_schema(), *schema.migrations()])
    if backend.kind == "mariadb":
        assert deaths == steps  # one step a run, every one of them
    assert description == reference
    assert sorted(ledger) == sorted(_all_files()) and all(ledger.values())
    assert users == [{"id": 1}] and bot_stats == 8


def test_a_file_stopped_half_way_on_sqlite_leaves_nothing_of_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'half.db'}"

    async def go():
        async with Database(url) as db:
            seen = []

            def die_in_0006(progress: Progress) -> None:
                if progress.finished and progress.file == "0006_listing_indexes.sql":
                    seen.append(progress.number)
                    if len(seen) == 4:
                        raise Died

            with pytest.raises(Died):
                await migrate(db, die_in_0006)
            ledger = await _ledger(db)
            left = await migration_steps.index_columns(db, "scores", "api_scores_user_best_index")
            return ledger, left, await migrate(db)

    ledger, left, applied = run(go())
    assert "0005_indexes.sql" in ledger and "0006_listing_indexes.sql" not in ledger
    assert left is None  # the file's first index went back with it
    assert applied == ["0006_listing_indexes.sql", "0007_lookup_indexes.sql"]


# --- what may stand in a migration


def test_every_shipped_statement_is_one_the_catalogue_can_confirm():
    kinds = {step.kind for f in [schema.base_schema(), *schema.migrations()]
             for step in migration_steps.steps(f, "mysql")}
    assert kinds <= set(migration_steps.KINDS)
    assert {"create table", "create index", "drop index", "insert rows"} <= kinds


def test_index_builds_on_bancho_tables_are_declared_online():
    """A build that cannot run online fails instead of silently locking a
    table a live bancho.py writes to (MySQL's default would fall back)."""
    theirs = footprint.bancho_tables()
    builds = [(m.name, s) for m in schema.migrations() for s in migration_steps.steps(m, "mysql")
              if s.kind == "create index" and s.table in theirs]
    assert len(builds) >= 15
    for name, step in builds:
        assert re.search(r"\bALGORITHM=INPLACE LOCK=NONE$", step.sql), (name, step.sql)
        assert "ALGORITHM" not in migration_steps.steps(
            schema.SqlFile(name, step.sql), "sqlite")[0].sql  # SQLite has no such clause


def test_a_statement_that_could_not_be_resumed_is_refused_before_anything_runs(backend, monkeypatch):
    odd = schema.SqlFile("0001_odd.sql", "CREATE TABLE api_odd (id INT NOT NULL);\nUPDATE users SET priv = 3;\n")
    monkeypatch.setattr(schema, "migrations", lambda: [odd])

    async def go(url):
        async with Database(url) as db:
            with pytest.raises(MigrationError, match=r"0001_odd.sql: cannot tell .* UPDATE users SET priv = 3"):
                await migrate(db)
            return await db.table_names()

    assert run(go(backend.new_database_url())) == set()  # not even the ledger


def test_an_index_of_that_name_with_another_key_stops_the_run_with_what_to_do(backend, monkeypatch):
    async def go(url):
        async with Database(url) as db:
            await create_bancho_schema(db)
            await db.execute("CREATE INDEX api_scores_user_best_index ON scores (userid)")
            with pytest.raises(MigrationError) as caught:
                await migrate(db)
            return str(caught.value)

    message = run(go(backend.new_database_url()))
    assert "api_scores_user_best_index on scores exists with the key (userid)" in message
    assert "not (userid, mode, status, pp)" in message
    assert "DROP INDEX api_scores_user_best_index ON scores" in message


def test_a_database_left_by_the_old_migrations_half_way_is_finished(backend):
    """What the issue met: 0006's first index built, the run cut off by the
    old DB_TIMEOUT before recording the file. The next run makes the rest."""

    async def go(url):
        async with Database(url) as db:
            await migrate(db)
            await db.execute(f"DELETE FROM {LEDGER} WHERE name IN ('0006_listing_indexes.sql', '0007_lookup_indexes.sql')")
            for index in footprint.added_indexes()[1:]:
                if index.name.startswith("api_scores_") or index.table in ("ratings", "favourites", "maps"):
                    await db.execute(f"DROP INDEX {index.name}" + (f" ON {index.table}" if db.dialect == "mysql" else ""))
            applied = await migrate(db)
            return applied, await describe(db)

    applied, description = run(go(backend.new_database_url()))
    assert applied == ["0006_listing_indexes.sql", "0007_lookup_indexes.sql"]
    assert {i.name for i in footprint.added_indexes()} <= set(description["indexes"])


def test_a_ledger_from_before_steps_were_counted_is_brought_up_to_date(backend):
    async def go(url):
        async with Database(url) as db:
            await migrate(db)
            await db.execute(f"ALTER TABLE {LEDGER} DROP COLUMN steps_done")
            before = await db.fetch_all(f"SELECT name, applied_at FROM {LEDGER} ORDER BY name")
            applied = await migrate(db)
            after = await db.fetch_all(f"SELECT name, applied_at FROM {LEDGER} ORDER BY name")
            return applied, before == after, await migration_steps.table_columns(db, LEDGER)

    applied, unchanged, columns = run(go(backend.new_database_url()))
    assert applied == [] and unchanged
    assert columns == ["name", "applied_at", "steps_done"]


# --- one at a time


def test_a_second_migration_waits_for_the_first_and_says_so(backend):
    async def go(url):
        async with Database(url) as db:
            holder = Database(url)
            await holder.connect()
            events: list[Progress] = []
            try:
                async with holder.session():
                    if db.dialect == "mysql":
                        assert await holder.fetch_val(
                            "SELECT GET_LOCK(CONCAT('api_migrate_', MD5(DATABASE())), 0)") == 1
                    else:
                        await holder.execute("BEGIN IMMEDIATE")
                    waiting = asyncio.create_task(migrate(db, events.append))
                    while not any(e.what.startswith("waiting: another process") for e in events):
                        assert not waiting.done(), waiting.result()
                        await asyncio.sleep(0.1)
                    ledger_made = await migration_steps.table_exists(holder, LEDGER)
                    if db.dialect == "mysql":
                        await holder.fetch_val("SELECT RELEASE_LOCK(CONCAT('api_migrate_', MD5(DATABASE())))")
                    else:
                        await holder.execute("COMMIT")
                    applied = await asyncio.wait_for(waiting, 60)
            finally:
                await holder.disconnect()
            return ledger_made, applied, [e.text() for e in events if e.what.startswith("waiting")]

    ledger_made, applied, waits = run(go(backend.new_database_url()))
    assert not ledger_made  # nothing was done while the other held the database
    assert applied == _all_files()
    expected = "another process is migrating this database" if backend.kind == "mariadb" else \
        "another process is writing to this database"
    assert expected in waits[0]


def test_two_processes_migrating_at_once_apply_each_file_once(backend, tmp_path):
    url = backend.new_database_url()
    env = environment(url, tmp_path)
    processes = [subprocess.Popen(server_command("db", "migrate"), env=env, cwd=tmp_path, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    applied = [name for out, _ in outputs if out.startswith("applied: ")
               for name in out.strip().removeprefix("applied: ").split(", ")]
    assert sorted(applied) == sorted(_all_files())  # between them, each file once
    if backend.kind == "mariadb":  # the run's lock: the second found it all done
        assert sorted(out.strip() for out, _ in outputs)[-1] == "the schema is up to date"


# --- a metadata lock held by bancho.py's transactions


def test_a_build_waiting_for_a_table_in_use_gives_way_and_tries_again(mariadb, monkeypatch):
    """A transaction holds scores open (as a long bancho.py query would):
    the index build waits at most LOCK_WAIT, then lets the queries queued
    behind it through, says so, and tries again until it gets the table."""
    monkeypatch.setattr(migrate_module, "LOCK_WAIT", 1)
    monkeypatch.setattr(migrate_module, "POLL", 0.2)
    name = f"mdl_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    url = mariadb.url(name)

    async def go():
        async with Database(url) as db, Database(url) as bancho:
            await create_bancho_schema(db)
            events: list[Progress] = []
            async with bancho.session():
                await bancho.execute("BEGIN")
                await bancho.fetch_all("SELECT id FROM scores LIMIT 1")  # scores now in use
                migrating = asyncio.create_task(migrate(db, events.append))
                while not any(e.note and "trying again" in e.note for e in events):
                    assert not migrating.done(), migrating.result()
                    await asyncio.sleep(0.1)
                # between tries, another connection reads and writes scores at once
                async with Database(url) as other:
                    await other.execute(
                        "INSERT INTO scores (map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
                        " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, userid,"
                        " perfect, online_checksum) VALUES (:md5, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 'A', 2, 0,"
                        " '2024-01-01 00:00:00', 1, 0, 3, 0, :md5)", {"md5": "a" * 32})
                    written = await other.fetch_val("SELECT COUNT(*) FROM scores")
                assert not migrating.done()
                await bancho.execute("COMMIT")
            applied = await asyncio.wait_for(migrating, 120)
            return events, written, applied

    events, written, applied = run(go())
    assert written == 1
    assert applied == _all_files()[1:]  # base.sql was made by create_bancho_schema
    notes = [e.note for e in events if e.note]
    assert any("waiting for other connections' transactions on scores to end" in n for n in notes)
    assert any(n.startswith("other connections' transactions hold scores; trying again in") for n in notes)


# --- a large bancho.py database (MariaDB)


@pytest.fixture(scope="module")
def large(mariadb):
    """bancho.py's schema loaded by its client, as an install does, with
    LARGE_SCORES scores. The throwaway server's buffer pool is raised as the
    benchmark raises it, so the rows load in seconds."""
    if not mariadb.external:
        mariadb.execute("SET GLOBAL innodb_buffer_pool_size = 536870912;")
    name = f"large_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    mariadb.execute_sql_file(name, schema._sql_dir() / "base.sql")
    mariadb.execute(
        "INSERT INTO scores (map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss, ngeki, nkatu,"
        " grade, status, mode, play_time, time_elapsed, client_flags, userid, perfect, online_checksum)"
        " SELECT MD5(seq MOD 5000), seq * 7 MOD 1000003, (seq * 13 MOD 100000) / 100, 95.5, 500, 0, 400, 10,"
        " 0, 1, 50, 5, 'A', seq MOD 3, seq MOD 4, TIMESTAMP('2024-01-01') + INTERVAL (seq MOD 100000) MINUTE,"
        f" 60000, 0, 3 + seq MOD 20000, 0, MD5(seq) FROM seq_1_to_{LARGE_SCORES};"
        "INSERT INTO users (id, name, safe_name, email, priv, pw_bcrypt, country, creation_time, latest_activity)"
        " VALUES (3, 'Large', 'large', 'large@example.com', 3, 'x', 'fi', 1600000000, 1700000000);"
        "INSERT INTO stats (id, mode) SELECT 3, seq FROM seq_0_to_8 WHERE seq != 7;"
        "INSERT INTO maps (server, id, set_id, status, md5, artist, title, version, creator, filename,"
        " last_update, total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff)"
        " SELECT 'osu!', 1000 + seq, 1000 + seq, 2, MD5(seq), 'a', 't', 'v', 'c', 'f.osu', '2020-01-01', 60,"
        " 500, 0, 0, 0, 0, 120, 4, 9, 8, 5, 5 FROM seq_0_to_4999;",
        database=name,
    )
    return {"name": name, "url": mariadb.url(name)}


def _remove_ours(mariadb, name: str, tmp_path: Path) -> None:
    """`db removal-sql`, fed to the database's client as an operator would."""
    printed = subprocess.run(server_command("db", "removal-sql"), env=environment(mariadb.url(name), tmp_path),
                             cwd=tmp_path, capture_output=True, text=True, check=True)
    mariadb.execute(printed.stdout, database=name)


@pytest.fixture
def as_bancho_left_it(mariadb, large, tmp_path):
    """The large database with nothing of ours in it, whatever the last test did."""
    tables = mariadb.execute("SHOW TABLES;", database=large["name"]).split()
    if LEDGER in tables:
        _remove_ours(mariadb, large["name"], tmp_path)
    return large


def _scores_indexes(mariadb, name: str) -> set[str]:
    return set(mariadb.execute(
        f"SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = '{name}'"
        " AND table_name = 'scores';").split())


def _expected_scores_indexes() -> set[str]:
    theirs = {name for name, (table, _, _) in _create_indexes_of(schema.base_schema()).items() if table == "scores"}
    return theirs | {"PRIMARY"} | {i.name for i in footprint.added_indexes() if i.table == "scores"}


def _create_indexes_of(sql_file: schema.SqlFile) -> dict[str, tuple]:
    return {s.name: (s.table, s.columns, None) for s in migration_steps.steps(sql_file, "mysql")
            if s.kind == "create index"}


def _running(mariadb, prefix: str) -> str:
    return mariadb.execute(
        "SELECT id FROM information_schema.processlist"
        f" WHERE info LIKE '{prefix}%' AND id != CONNECTION_ID();").strip()


def test_serve_migrates_a_large_database_past_db_timeout(mariadb, as_bancho_left_it, tmp_path):
    """The first start on a real-size database, while a long query of
    bancho.py's holds scores: the first build on it waits for that query,
    then builds, far past DB_TIMEOUT (which bounds requests, not this), and
    the log says what it waited for and how long each long step took."""
    name, url = as_bancho_left_it["name"], as_bancho_left_it["url"]
    port = _free_port()
    env = environment(url, tmp_path, DB_TIMEOUT="1", PORT=str(port), HOST="127.0.0.1", DEMO_ON_EMPTY="0")
    query = mariadb.spawn("BEGIN; SELECT COUNT(*) FROM scores WHERE userid = 3; SELECT SLEEP(4); COMMIT;", name)
    while not _running(mariadb, "SELECT SLEEP(4)"):
        time.sleep(0.01)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(server_command("serve"), env=env, cwd=tmp_path, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, log.read_text()
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/get_player_scores?id=3&scope=best", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        query.wait(timeout=30)
    text = log.read_text()
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["scores"]) > 0
    assert "migrations applied: 0001_api_keys.sql" in text
    assert ("0006_listing_indexes.sql 1/15: create index api_scores_user_best_index on scores, 1 s,"
            " waiting for other connections' transactions on scores to end") in text, text
    took = re.search(r"0006_listing_indexes.sql 1/15: create index api_scores_user_best_index on scores,"
                     r" done in ([\d.]+) s", text)
    assert took and float(took.group(1)) > 2, text  # twice DB_TIMEOUT and more
    assert _scores_indexes(mariadb, name) == _expected_scores_indexes()
    ledger = mariadb.execute(f"SELECT name, applied_at > 0 FROM {LEDGER};", database=name)
    assert sorted(ledger.splitlines()) == sorted(f"{file}\t1" for file in _all_files()[1:])


def test_a_migration_killed_during_an_index_build_is_finished_by_the_next(mariadb, as_bancho_left_it, tmp_path):
    """SIGKILL while the second index of scores is being built: the server
    goes on building it for a dead client, the file is not recorded, and the
    next `db migrate` (waiting for that build if it still runs) does the rest."""
    name, url = as_bancho_left_it["name"], as_bancho_left_it["url"]
    env = environment(url, tmp_path)
    first = subprocess.Popen(server_command("db", "migrate"), env=env, cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _running(mariadb, "CREATE INDEX api_scores_user_recent_index"):
        assert first.poll() is None, "the migration ended before the build could be caught"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.kill()
    first.wait()
    recorded = mariadb.execute(f"SELECT name, applied_at FROM {LEDGER} WHERE applied_at = 0;", database=name)
    assert recorded.split()[0] == "0006_listing_indexes.sql"  # begun, not finished

    second = subprocess.run(server_command("db", "migrate"), env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "applied: 0006_listing_indexes.sql, 0007_lookup_indexes.sql"
    assert _scores_indexes(mariadb, name) == _expected_scores_indexes()
    assert mariadb.execute("SELECT COUNT(*) FROM scores;", database=name).strip() == str(LARGE_SCORES)
    again = subprocess.run(server_command("db", "migrate"), env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.stdout.strip() == "the schema is up to date"


def test_reads_and_writes_go_on_during_an_index_build(mariadb, as_bancho_left_it):
    """Online: while a build of scores runs, another connection inserts a
    score and reads it back, and the build is still running after it."""
    url = as_bancho_left_it["url"]

    async def go():
        async with Database(url) as db, Database(url) as bancho:
            migrating = asyncio.create_task(migrate(db))
            during = 0
            while not migrating.done() and during == 0:
                running = await bancho.fetch_all(
                    "SELECT id, info FROM information_schema.processlist"
                    " WHERE info LIKE 'CREATE INDEX api_scores_%' AND id != CONNECTION_ID()")
                if not running:
                    await asyncio.sleep(0.01)
                    continue
                md5 = uuid.uuid4().hex
                await bancho.execute(
                    "INSERT INTO scores (map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
                    " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, userid,"
                    " perfect, online_checksum) VALUES (:md5, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 'A', 2, 0,"
                    " '2024-01-01 00:00:00', 1, 0, 3, 0, :md5)", {"md5": md5})
                read = await bancho.fetch_val("SELECT COUNT(*) FROM scores WHERE map_md5 = :md5", {"md5": md5})
                still = await bancho.fetch_all(
                    "SELECT id, info FROM information_schema.processlist WHERE id = :id AND info = :info",
                    {"id": running[0]["id"], "info": running[0]["info"]})
                if read == 1 and still:
                    during += 1
            await migrating
            return during

    assert run(go()) == 1


def test_removal_sql_leaves_the_schema_bancho_made(backend, tmp_path):
    """Migrated, then `db removal-sql` run: the catalogue is that of a
    database with bancho.py's schema alone, rows untouched."""
    migrated_url, bancho_url = backend.new_database_url(), backend.new_database_url()

    async def go():
        async with Database(migrated_url) as db:
            await migrate(db)
            await db.execute("INSERT INTO users (id, name, safe_name, email, pw_bcrypt, country, creation_time,"
                             " latest_activity) VALUES (5, 'Kept', 'kept', 'k@example.com', 'x', 'fi', 0, 0)")
            for statement in footprint.removal_sql(db.dialect):
                await db.execute(statement)
            after = await describe(db)
            kept = await db.fetch_all("SELECT id FROM users ORDER BY id")
        async with Database(bancho_url) as db:
            await create_bancho_schema(db)
            return after, kept, await describe(db)

    after, kept, bancho = run(go())
    assert after == bancho
    assert kept == [{"id": 1}, {"id": 5}]


def test_the_removal_sql_command_names_every_index_and_table(tmp_path):
    printed = subprocess.run(server_command("db", "removal-sql"),
                             env=environment("mysql://u:p@127.0.0.1:1/bancho", tmp_path), cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout
    drops = [line for line in printed.splitlines() if not line.startswith("--")]
    assert drops == footprint.removal_sql("mysql")
    assert len([d for d in drops if d.startswith("DROP INDEX")]) == len(footprint.added_indexes()) == 15
    assert drops[-1] == f"DROP TABLE IF EXISTS {LEDGER};"


# --- what a person watching sees


class _Lines:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.kept: list[str | None] = []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def done(self, text: str | None) -> None:
        self.kept.append(text)


def test_the_reporter_shows_long_steps_and_keeps_a_line_for_each():
    lines = _Lines()
    report = reporter(lines)
    where = dict(file="0006_listing_indexes.sql", number=3, total=15, what="create index x on scores")
    report(Progress(**where, seconds=0.4))  # too soon to show
    report(Progress(**where, seconds=1.2, percent=41.5))
    report(Progress(**where, seconds=2.2, note="waiting for other connections' transactions on scores to end"))
    report(Progress(**where, seconds=3.25, finished=True))
    report(Progress(**where, seconds=0.3, finished=True))  # a short step: its shown line is cleared
    assert lines.shown == [
        "0006_listing_indexes.sql 3/15: create index x on scores, 42%, 1 s",
        "0006_listing_indexes.sql 3/15: create index x on scores, 2 s,"
        " waiting for other connections' transactions on scores to end",
    ]
    assert lines.kept == ["0006_listing_indexes.sql 3/15: create index x on scores, done in 3.2 s", None]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_status_line_redraws_on_a_terminal_and_is_throttled_elsewhere(monkeypatch):
    terminal = _Terminal()
    line = StatusLine(terminal)
    line.show("a")
    line.show("b")
    line.done("kept")
    assert terminal.getvalue() == "\ra\x1b[K\rb\x1b[K\r\x1b[Kkept\n"

    clock = iter([0.0, 0.0, 3.0, 11.0, 11.0])
    monkeypatch.setattr("server.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    line = StatusLine(log, every=10.0)
    line.show("first")
    line.show("too soon")
    line.show("later")
    line.done("kept")
    assert log.getvalue() == "first\nlater\nkept\n"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
