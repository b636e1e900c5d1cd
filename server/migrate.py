"""`db migrate` (and the start of `serve`): create bancho.py's schema where
there is none, then apply our own numbered migrations that have not run yet.

The rules, for a database of any size beside a live bancho.py:
- no statement has a time limit (DB_TIMEOUT bounds requests, not this);
- a run may stop at any point, and the next one does the remainder: the
  ledger counts each file's steps as they finish, the one step an
  interruption leaves in doubt is checked against the catalogue
  (server/migration_steps.py), and a file counts as applied only once its
  last step has run;
- one process migrates a database at a time (MySQL: a named lock held for
  the run; SQLite: each file in a write transaction of its own), and one
  that waits says what for;
- our indexes on bancho.py's tables are built online (ALGORITHM=INPLACE,
  LOCK=NONE in the files): bancho.py reads and writes the table meanwhile.
  A build still waits for the transactions that have the table open at its
  start and end; it waits at most LOCK_WAIT seconds at a time, so
  bancho.py's queries queued behind it are held no longer, and tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Protocol

from . import migration_steps, schema
from .db import Database, DatabaseUnavailable, conflicts_raised
from .migration_steps import MigrationError, Step

__all__ = ["LEDGER", "MigrationError", "Progress", "create_bancho_schema", "migrate", "reporter"]

# Which of our files ran: created here, not by a file, since it must exist
# before the first file is recorded. A row whose applied_at is 0 is a file
# begun and not finished (MySQL; SQLite rolls a file back whole), and
# steps_done counts its steps known to be done: only the next one can be in
# doubt after an interruption, and the catalogue settles that one. (Checked
# against the catalogue alone, a step could look undone because of a later
# step of the same file: 0006 drops an index and makes another of that name.)
LEDGER = "api_migrations"
BASE = "base.sql"

# seconds a DDL statement waits for the table's metadata lock before it is
# tried again (lock_wait_timeout); the pause between tries grows to PAUSE_MAX
LOCK_WAIT = 10
PAUSE_MAX = 30.0
# seconds between two looks at a running statement, and before the first
POLL = 1.0


@dataclass(frozen=True)
class Progress:
    """Where a run is: the step running (or waited for) and for how long."""

    file: str
    number: int  # the step's number in its file, from 1
    total: int  # the file's steps
    what: str  # the step, in words
    seconds: float
    percent: float | None = None  # as far as the database reports it
    note: str | None = None  # what it waits for
    finished: bool = False

    def text(self) -> str:
        parts = [f"{self.file} {self.number}/{self.total}: {self.what}" if self.file else self.what]
        if self.finished:
            parts.append(f"done in {self.seconds:.1f} s")
        else:
            if self.percent is not None:
                parts.append(f"{self.percent:.0f}%")
            parts.append(f"{self.seconds:.0f} s")
            if self.note:
                parts.append(self.note)
        return ", ".join(parts)


Report = Callable[[Progress], None]


def _quiet(progress: Progress) -> None:
    pass


async def migrate(db: Database, report: Report | None = None) -> list[str]:
    """Bring the schema up to date; returns the names of the files applied
    (or finished, after an interrupted run). `report` hears, about once a
    second, where a running step is."""
    report = report or _quiet
    # every file is read before anything is written: a file we could not
    # resume is refused before it starts
    plan = [(f, migration_steps.steps(f, db.dialect)) for f in (schema.base_schema(), *schema.migrations())]
    applied: list[str] = []
    # (a lock wait here is for the steps to handle, not to run again blindly)
    with conflicts_raised():
        async with db.session(), _one_migration_at_a_time(db, report):
            async with _write_transaction(db, report):
                await _prepare_ledger(db)
            watcher = await _Watcher.start(db)
            for sql_file, steps in plan:
                async with _write_transaction(db, report):
                    if await _apply(db, sql_file.name, steps, watcher, report):
                        applied.append(sql_file.name)
    return applied


async def create_bancho_schema(db: Database) -> None:
    """bancho.py's tables alone, in an empty database, as a bancho.py
    install leaves it (no ledger, nothing of ours): the benchmark's data set
    and the tests of what migrate adds."""
    for step in migration_steps.steps(schema.base_schema(), db.dialect):
        await db.execute(step.sql)


async def _prepare_ledger(db: Database) -> None:
    if not await migration_steps.table_exists(db, LEDGER):
        await db.execute(
            f"CREATE TABLE {LEDGER} (name VARCHAR(128) NOT NULL PRIMARY KEY, applied_at INT NOT NULL,"
            " steps_done INT NOT NULL DEFAULT 0)"
        )
    elif "steps_done" not in await migration_steps.table_columns(db, LEDGER):  # (made before it counted steps)
        await db.execute(f"ALTER TABLE {LEDGER} ADD COLUMN steps_done INT NOT NULL DEFAULT 0")


async def _apply(db: Database, name: str, steps: list[Step], watcher: "_Watcher", report: Report) -> bool:
    row = await db.fetch_one(f"SELECT applied_at, steps_done FROM {LEDGER} WHERE name = :name", {"name": name})
    if row is not None and row["applied_at"]:
        return False
    if name == BASE and row is None and await migration_steps.table_exists(db, "users"):
        return False  # bancho.py made this database: its tables are as it left them
    if row is None:
        await db.execute(f"INSERT INTO {LEDGER} (name, applied_at) VALUES (:name, 0)", {"name": name})
    done = row["steps_done"] if row is not None else 0
    for number, step in enumerate(steps, 1):
        if number <= done:
            continue
        if not await migration_steps.is_done(db, step):
            where = Progress(name, number, len(steps), step.describe(), 0.0)
            started = time.monotonic()
            await watcher.run(step, where, report)
            seconds = time.monotonic() - started
            report(Progress(where.file, number, where.total, where.what, seconds, finished=True))
        await db.execute(f"UPDATE {LEDGER} SET steps_done = :number WHERE name = :name",
                         {"name": name, "number": number})
    await db.execute(f"UPDATE {LEDGER} SET applied_at = :now WHERE name = :name",
                     {"name": name, "now": int(time.time())})
    return True


@contextlib.asynccontextmanager
async def _one_migration_at_a_time(db: Database, report: Report) -> AsyncIterator[None]:
    """MySQL: a named lock for this database, held by the session's
    connection for the run (the server frees it if the process dies), and
    a bounded wait for tables' metadata locks. SQLite: each file takes the
    write lock (_write_transaction), waiting for it a second at a time."""
    if db.dialect != "mysql":
        await db.execute(f"PRAGMA busy_timeout = {int(POLL * 1000)}")
        yield
        return
    lock = "CONCAT('api_migrate_', MD5(DATABASE()))"
    started = time.monotonic()
    while not await db.fetch_val(f"SELECT GET_LOCK({lock}, :wait)", {"wait": POLL}):
        holder = await db.fetch_one(
            f"SELECT p.id, p.info FROM information_schema.processlist AS p WHERE p.id = IS_USED_LOCK({lock})"
        )
        doing = f" (connection {holder['id']}: {_first_line(holder['info'])})" if holder and holder["info"] else ""
        report(Progress("", 0, 0, "waiting: another process is migrating this database" + doing,
                        time.monotonic() - started))
    await db.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT}")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseUnavailable):  # a lost connection frees the lock itself
            await db.execute("SET SESSION lock_wait_timeout = DEFAULT")
            await db.fetch_val(f"SELECT RELEASE_LOCK({lock})")


@contextlib.asynccontextmanager
async def _write_transaction(db: Database, report: Report) -> AsyncIterator[None]:
    """SQLite: the block in a transaction holding the write lock from its
    start (BEGIN IMMEDIATE), so what it reads cannot change under it and a
    failure leaves nothing of it behind. MySQL commits DDL statement by
    statement: the block runs as it is."""
    if db.dialect != "sqlite":
        yield
        return
    started = time.monotonic()
    while True:
        try:
            await db.execute("BEGIN IMMEDIATE")
            break
        except DatabaseUnavailable as exc:
            if "locked" not in str(exc.__cause__):
                raise
            report(Progress("", 0, 0, "waiting: another process is writing to this database",
                            time.monotonic() - started))
    try:
        yield
    except BaseException:
        # (SQLite has already rolled back after some errors: the first error
        # is the one to report)
        with contextlib.suppress(DatabaseUnavailable, sqlite3.OperationalError):
            await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")


class _Watcher:
    """Runs a step and, while it runs, reports where it is: MySQL's thread
    state of the session (waiting for a metadata lock, say) and MariaDB's
    progress of an online index build (Innodb_onlineddl_pct_progress, in
    hundredths of a percent; MySQL reports none, so only the time shows)."""

    def __init__(self, db: Database, connection_id: int | None, mariadb: bool) -> None:
        self.db = db
        self.connection_id = connection_id
        self.mariadb = mariadb

    @classmethod
    async def start(cls, db: Database) -> "_Watcher":
        if db.dialect != "mysql":
            return cls(db, None, False)
        row = await db.fetch_one("SELECT CONNECTION_ID() AS id, VERSION() AS version")
        return cls(db, int(row["id"]), "mariadb" in str(row["version"]).lower())

    async def run(self, step: Step, where: Progress, report: Report) -> None:
        started = time.monotonic()
        pause = 1.0
        while True:
            watching = asyncio.create_task(self._watch(step, where, started, report))
            try:
                await self.db.execute(step.sql)
                return
            except Exception as exc:
                if not _is_lock_wait_timeout(exc):
                    raise
            finally:
                watching.cancel()
                await asyncio.gather(watching, return_exceptions=True)
            # bancho.py's queries queued behind ours go on; ours waits its turn
            report(Progress(where.file, where.number, where.total, where.what, time.monotonic() - started,
                            note=f"other connections' transactions hold {step.table}; trying again in {pause:.0f} s"))
            await asyncio.sleep(pause)
            pause = min(pause * 2, PAUSE_MAX)

    async def _watch(self, step: Step, where: Progress, started: float, report: Report) -> None:
        await asyncio.sleep(POLL)
        while True:
            try:
                percent, note = await self._state(step)
            except Exception:  # (say, no right to read the processlist): the time alone
                percent, note = None, None
            report(Progress(where.file, where.number, where.total, where.what, time.monotonic() - started,
                            percent=percent, note=note))
            await asyncio.sleep(POLL)

    async def _state(self, step: Step) -> tuple[float | None, str | None]:
        if self.connection_id is None:
            return None, None
        state = await self.db.fetch_val(
            "SELECT state FROM information_schema.processlist WHERE id = :id", {"id": self.connection_id}
        )
        if state and "metadata lock" in str(state).lower():
            return None, f"waiting for other connections' transactions on {step.table} to end"
        if self.mariadb and step.kind in ("create index", "drop index", "add column"):
            value = await self.db.fetch_val(
                "SELECT variable_value FROM information_schema.global_status"
                " WHERE variable_name = 'INNODB_ONLINEDDL_PCT_PROGRESS'"
            )
            if value and int(value) > 0:
                return int(value) / 100, None
        return None, None


def _is_lock_wait_timeout(exc: BaseException) -> bool:
    """MySQL's ER_LOCK_WAIT_TIMEOUT (1205): here, lock_wait_timeout passed
    while a DDL statement waited for its table's metadata lock."""
    return type(exc).__module__.startswith(("asyncmy", "pymysql")) and bool(exc.args) and exc.args[0] == 1205


def _first_line(text: object) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= 100 else line[:97] + "..."


class Line(Protocol):
    """What a Report writes to: server/progress.py's StatusLine or LogLine."""

    def show(self, text: str) -> None: ...
    def done(self, text: str | None) -> None: ...


# a step shown while it runs once it has taken this long, and kept as a
# line of its own when it took LONG_STEP or more
SHOW_AFTER = 1.0
LONG_STEP = 2.0


def reporter(line: Line) -> Report:
    """A Report for a person: the running step (or a wait) once it has
    taken a second, and a line for each step that took two or more."""

    def report(progress: Progress) -> None:
        if progress.finished:
            line.done(progress.text() if progress.seconds >= LONG_STEP else None)
        elif progress.seconds >= SHOW_AFTER:
            line.show(progress.text())

    return report
