"""The database connection, for either dialect, behind one small interface
that hands rows back as plain dicts."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import random
import re
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping, TypeVar

import databases

Values = Mapping[str, Any] | None
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database could not be reached, the connection was lost, or a call
    took longer than the timeout: the app answers 503 (server/ops.py).
    Raised from the driver's own error, which stays as __cause__."""


# MySQL/MariaDB error numbers that mean "the server is not there for us"
# rather than "this statement is wrong": every client-side error (CR_*,
# 2000-2999: cannot connect, server gone away, lost connection...) and the
# server's too many connections (1040), shutdown in progress (1053),
# aborted connection (1152), network read/write errors (1158-1161),
# connection killed (1927) and idle disconnect (4031).
_MYSQL_UNAVAILABLE = {1040, 1053, 1152, 1158, 1159, 1160, 1161, 1927, 4031}
# SQLite: another process holds the lock past the busy timeout, or the
# file cannot be opened or read
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


# MySQL/MariaDB errors after which the same write, run again, may succeed:
# a deadlock (1213, InnoDB has rolled the transaction back) and a lock wait
# timeout (1205, the statement has been rolled back)
_MYSQL_CONFLICT = {1205, 1213}
# runs of a write (or a whole transaction) before a conflict is answered as
# an error; the waits between them grow from CONFLICT_BACKOFF, with jitter
WRITE_ATTEMPTS = 4
CONFLICT_BACKOFF = 0.01


def is_conflict(exc: BaseException) -> bool:
    """Whether a driver error is a lock conflict with another writer, which
    running the write again resolves."""
    module = type(exc).__module__ or ""
    if not module.startswith(("asyncmy", "pymysql")):
        return False
    return bool(exc.args) and exc.args[0] in _MYSQL_CONFLICT


def is_duplicate_key(exc: BaseException) -> bool:
    """Whether a driver error is a unique (or primary) key refusing a second
    row with the same value: for writes where the row being there already
    is an answer, not a failure."""
    if isinstance(exc, sqlite3.IntegrityError):
        return str(exc).startswith("UNIQUE constraint failed")
    module = type(exc).__module__ or ""
    # ER_DUP_ENTRY and ER_DUP_ENTRY_WITH_KEY_NAME
    return module.startswith(("asyncmy", "pymysql")) and bool(exc.args) and exc.args[0] in (1062, 1586)


def is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error means the database is out of reach (as opposed
    to a bad statement or a constraint, which stay errors of their own)."""
    if isinstance(exc, (OSError, TimeoutError)):  # refused, reset, unreachable
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    module = type(exc).__module__ or ""
    if module.startswith(("asyncmy", "pymysql")):
        if type(exc).__name__ == "InterfaceError":  # a connection already closed
            return True
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        return code is not None and (2000 <= code < 3000 or code in _MYSQL_UNAVAILABLE)
    return False


# Read-your-writes for a Database with a reader (DATABASE_READ_URL): set once
# the current task has written or opened a transaction, after which its
# reads go to the primary too. A ContextVar set inside a task stays in that
# task (and the tasks it starts), so one request's writes never pin another
# request's reads; app.RoutedReads also starts every request unset.
_use_primary: contextvars.ContextVar[bool] = contextvars.ContextVar("db_use_primary", default=False)


# Whether this task's writes run again after a lock conflict (see
# _retrying_conflicts): off for the migrations, whose DDL waits for
# metadata locks and gives way in its own manner (server/migrate.py).
_retry_conflicts: contextvars.ContextVar[bool] = contextvars.ContextVar("db_retry_conflicts", default=True)


@contextlib.contextmanager
def conflicts_raised() -> Iterator[None]:
    """Within the block, this task's lock conflicts reach the caller at once."""
    token = _retry_conflicts.set(False)
    try:
        yield
    finally:
        _retry_conflicts.reset(token)


@contextlib.contextmanager
def primary_reads(value: bool = True) -> Iterator[None]:
    """Within the block, this task's reads go to the primary (value=True:
    start-up, migrations, background jobs) or start out routed afresh
    (value=False: the start of a request)."""
    token = _use_primary.set(value)
    try:
        yield
    finally:
        _use_primary.reset(token)


def dialect_of(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use mysql:// or sqlite://")


def driver_url(url: str) -> str:
    """Pin each dialect to its async driver: asyncmy or aiosqlite."""
    rest = url.split("://", 1)[1]
    if dialect_of(url) == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return f"mysql+asyncmy://{rest}"


def sqlite_path(url: str) -> Path | None:
    """The file behind an sqlite:/// URL (None for in-memory)."""
    path = url.split("://", 1)[1][1:]
    return None if path in ("", ":memory:") else Path(path)


# A bind parameter in statement text: `:name`, as SQLAlchemy's text() reads
# it (not `::`, not `\\:`, not inside a word).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@functools.lru_cache(maxsize=4096)
def driver_statement(dialect: str, query: str) -> tuple[str, tuple[str, ...] | None]:
    """The statement text as the driver takes it, made once per text, with
    the names of its parameters in order where the driver binds by position.
    asyncmy gets `%s` placeholders (a literal % doubled) and a tuple: only
    then does it run the statement as a cached server-side prepared one, in
    the binary protocol, with its column descriptions read once per
    connection instead of parsed on every call. sqlite3 binds `:name`
    itself."""
    if dialect == "mysql":
        return _BIND.sub("%s", query.replace("%", "%%")), tuple(_BIND.findall(query))
    return query, None


# connections per process to MySQL/MariaDB (MariaDB allows 151 by default,
# shared by every worker and the game server)
POOL_SIZE = 10
# prepared statements kept per connection (asyncmy closes the least recently
# used past this): the hot paths issue some dozens of distinct statements,
# and MariaDB allows 16,382 (max_prepared_stmt_count) across all clients,
# here at most POOL_SIZE x this per worker
STATEMENT_CACHE_SIZE = 128


class Database:
    """timeout (seconds, None for none) bounds every call, the wait for a
    pooled connection included; past it, or when the driver cannot reach
    the server, the call raises DatabaseUnavailable.

    read_url (DATABASE_READ_URL, a replica of the same dialect) opens a
    second Database, self.reader: fetch_one/fetch_all/fetch_val go to it
    unless this task has written (execute, execute_many) or opened a
    transaction, which pins its later reads to the primary (read-your-writes,
    and a transaction's reads on the transaction's connection). Writes and
    transactions always use the primary. query_count, failures and
    pool_stats are the primary's alone."""

    def __init__(self, url: str, timeout: float | None = None, read_url: str | None = None) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.timeout = timeout
        self.reader: Database | None = None
        if read_url:
            if dialect_of(read_url) != self.dialect:
                raise ValueError(
                    f"DATABASE_READ_URL must be the same kind of database as DATABASE_URL "
                    f"({self.dialect}), not {dialect_of(read_url)}"
                )
            self.reader = Database(read_url, timeout=timeout)
        options: dict[str, Any] = {}
        if self.dialect == "mysql":
            options = {"min_size": 1, "max_size": POOL_SIZE, "charset": "utf8mb4",
                       "stmt_cache_size": STATEMENT_CACHE_SIZE}
            if timeout is not None:
                options["connect_timeout"] = timeout
        elif timeout is not None:
            # SQLite's busy timeout: wait that long for another writer's lock
            options = {"timeout": timeout}
        self._db = databases.Database(driver_url(url), **options)
        # statements sent so far: lets tests prove a listing is not N+1
        self.query_count = 0
        self._turns = asyncio.Semaphore(POOL_SIZE)  # made anew at each connect (see there)
        # statements that may have changed data, transactions included:
        # snapshots built from the data (server/snapshots.py) rebuild when it moves
        self.writes = 0
        # calls that failed, by kind: "timeout", "unavailable" (the driver
        # could not reach the server), "conflict" (a deadlock or lock wait
        # timeout, run again up to WRITE_ATTEMPTS times) and "error"
        # (anything else); /metrics
        self.failures = {"timeout": 0, "unavailable": 0, "conflict": 0, "error": 0}

    async def connect(self) -> None:
        path = sqlite_path(self.url) if self.dialect == "sqlite" else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        await self._db.connect()
        # calls wait for a pooled connection in the order they came: asyncmy's
        # pool hands a freed connection to whoever asks next, so under load
        # some waiters were passed over again and again (a long p99 tail)
        self._turns = asyncio.Semaphore(POOL_SIZE)
        if self.reader is not None:
            try:
                await self.reader.connect()
            except BaseException:
                await self._db.disconnect()
                raise

    async def disconnect(self) -> None:
        try:
            await self._db.disconnect()
        finally:
            if self.reader is not None:
                await self.reader.disconnect()

    def _read_target(self) -> "Database | None":
        """The reader when this read may go there, else None (the primary)."""
        if self.reader is None or _use_primary.get():
            return None
        return self.reader

    async def __aenter__(self) -> "Database":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def _bounded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one driver call within the timeout, in this task (a transaction's
        connection belongs to the task: asyncio.wait_for would run the call in
        a task of its own on 3.11, outside the transaction), and turn the
        driver's connection errors into DatabaseUnavailable. A call cut off
        mid-query leaves a connection asyncmy closes, so the pool never hands
        it out again."""
        try:
            if self.timeout is None:
                return await call()
            return await _within(self.timeout, call)
        except TimeoutError as exc:
            self.failures["timeout"] += 1
            raise DatabaseUnavailable(f"the database did not answer within {self.timeout:g} s") from exc
        except Exception as exc:
            if is_unavailable(exc):
                self.failures["unavailable"] += 1
                raise DatabaseUnavailable(f"the database is unreachable: {exc}") from exc
            self.failures["conflict" if is_conflict(exc) else "error"] += 1
            raise

    async def fetch_one(self, query: str, values: Values = None) -> dict[str, Any] | None:
        if (reader := self._read_target()) is not None:
            return await reader.fetch_one(query, values)
        rows = await self._bounded(lambda: self._run(query, values, _ROWS))
        return rows[0] if rows else None

    async def fetch_all(self, query: str, values: Values = None) -> list[dict[str, Any]]:
        if (reader := self._read_target()) is not None:
            return await reader.fetch_all(query, values)
        return await self._bounded(lambda: self._run(query, values, _ROWS))

    async def fetch_tuples(self, query: str, values: Values = None) -> list[tuple[Any, ...]]:
        """Rows as the driver gives them, values in select order: for reads
        of thousands of rows (the snapshots), where a dict a row is most of
        the cost."""
        if (reader := self._read_target()) is not None:
            return await reader.fetch_tuples(query, values)
        return await self._bounded(lambda: self._run(query, values, _TUPLES))

    async def fetch_val(self, query: str, values: Values = None) -> Any:
        if (reader := self._read_target()) is not None:
            return await reader.fetch_val(query, values)
        return await self._bounded(lambda: self._run(query, values, _FIRST_VALUE))

    async def execute(self, query: str, values: Values = None) -> Any:
        _use_primary.set(True)
        self.writes += 1
        return await self._write(lambda: self._run(query, values, _LAST_ROW_ID))

    async def execute_many(self, query: str, values: list[Mapping[str, Any]]) -> None:
        _use_primary.set(True)
        self.writes += 1
        if values:
            await self._write(lambda: self._run(query, values, _MANY))

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        """A write, run again after a lock conflict when it stands alone (a
        conflict has undone it). Inside a transaction the conflict has undone
        the whole transaction, so only all of it can run again: that is
        in_transaction's to do."""
        if self._in_transaction() or not _retry_conflicts.get():
            return await self._bounded(call)
        return await _retrying_conflicts(lambda: self._bounded(call))

    def _in_transaction(self) -> bool:
        held = self._db._connection_map.get(asyncio.current_task()) if _use_primary.get() else None
        return held is not None and bool(getattr(held, "_transaction_stack", None))

    async def _run(self, query: str, values: Any, want: int) -> Any:
        """One statement on the driver's own connection, past `databases`'
        per-call compiling and row wrapping (which cost as much as the query
        on a simple endpoint): the statement text is translated once
        (driver_statement), rows come back as plain dicts. Inside this
        task's transaction it runs on the transaction's connection; else on
        a connection from the pool, which a failed call closes rather than
        hands back (its state is unknown)."""
        self.query_count += 1
        statement, names = driver_statement(self.dialect, query)
        if names is not None:
            values = [_by_position(names, v) for v in values] if want == _MANY else _by_position(names, values)
        # a task in a transaction has set _use_primary: any other skips the look-up
        held = self._db._connection_map.get(asyncio.current_task()) if _use_primary.get() else None
        if held is not None and held._connection_counter > 0:
            async with held._query_lock:
                return await _on_connection(held.raw_connection, statement, values, want)
        pool = self._db._backend._pool
        async with self._turns:
            connection = await pool.acquire()
            try:
                return await _on_connection(connection, statement, values, want)
            except BaseException:
                await _discard(connection)
                raise
            finally:
                await pool.release(connection)

    def transaction(self) -> "_Transaction":
        return _Transaction(self)

    async def in_transaction(self, work: Callable[[], Awaitable[T]]) -> T:
        """work() in a transaction of its own, run again from the start after
        a lock conflict (each run starts afresh, so work must read what it
        decides on inside). Within an outer transaction it runs once, as
        part of that one."""

        async def once() -> T:
            async with self.transaction():
                return await work()

        if self._in_transaction() or not _retry_conflicts.get():
            return await once()
        return await _retrying_conflicts(once)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Within the block, this task's statements all run on one connection
        (of the primary), held until the block ends: for what belongs to a
        connection rather than to a statement, such as MySQL's GET_LOCK, a
        session variable or SQLite's BEGIN IMMEDIATE. Other tasks go on
        using the pool."""
        with primary_reads():
            async with self._db.connection():
                yield

    def pool_stats(self) -> dict[str, int] | None:
        """The MySQL connection pool's size (connections open or opening),
        free connections and maximum, or None (SQLite opens a connection per
        use; or the pool is not running). Read from asyncmy's pool inside
        `databases`, which has no public way to it."""
        pool = getattr(getattr(self._db, "_backend", None), "_pool", None)
        try:
            return {"size": int(pool.size), "free": int(pool.freesize), "max": int(pool.maxsize)}
        except (AttributeError, TypeError, ValueError):
            return None

    async def ping(self) -> None:
        """A round trip to the primary (never the reader: /ready pings that
        on its own) within the timeout; raises DatabaseUnavailable. SQLite
        answers SELECT 1 without opening the file, so there the schema is
        read (which waits for another writer's lock, as real queries do)."""
        with primary_reads():
            if self.dialect == "sqlite":
                await self.fetch_val("SELECT COUNT(*) FROM sqlite_master")
            else:
                await self.fetch_val("SELECT 1")

    async def table_names(self) -> set[str]:
        if self.dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()"
        return {row["name"] for row in await self.fetch_all(query)}


async def _retrying_conflicts(call: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(1, WRITE_ATTEMPTS):
        try:
            return await call()
        except Exception as exc:
            if not is_conflict(exc):
                raise
        # the other writer's transaction usually ends within milliseconds;
        # jitter keeps two victims of one deadlock from meeting again
        await asyncio.sleep(CONFLICT_BACKOFF * 2**attempt * random.uniform(0.5, 1.5))
    try:
        return await call()
    except Exception as exc:
        if not is_conflict(exc):
            raise
        # (a passing state the client may retry: 503, not a server error)
        raise DatabaseUnavailable(f"the write met other writers' locks {WRITE_ATTEMPTS} times: {exc}") from exc


async def _within(seconds: float, call: Callable[[], Awaitable[T]]) -> T:
    """asyncio.timeout(seconds) around call(), at a third of its cost (a
    timer, no context manager object; every statement pays it): past the
    time the task is cancelled and TimeoutError raised instead, while a
    cancellation from elsewhere stays a cancellation."""
    task = asyncio.current_task()
    assert task is not None
    cancelling = task.cancelling()
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await call()
    except asyncio.CancelledError:
        # ours alone when no other cancellation came since the call began
        if expired and task.uncancel() <= cancelling:
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()


# what _run hands back
_ROWS, _TUPLES, _FIRST_VALUE, _LAST_ROW_ID, _MANY = range(5)


def _by_position(names: tuple[str, ...], values: Values) -> tuple[Any, ...]:
    return tuple(values[name] for name in names) if names else ()


async def _on_connection(connection: Any, statement: str, values: Any, want: int) -> Any:
    """asyncmy and aiosqlite cursors have the same shape: execute, fetchall,
    description, lastrowid. asyncmy always gets a tuple (its prepared path;
    it also undoubles %% only when given parameters), sqlite3 a mapping."""
    async with connection.cursor() as cursor:
        if want == _MANY:
            await cursor.executemany(statement, values)
            return None
        await cursor.execute(statement, {} if values is None else values)
        if want == _LAST_ROW_ID:
            return cursor.lastrowid
        rows = await cursor.fetchall()
        if not rows:
            return None if want == _FIRST_VALUE else []
        names, floats, named_floats = _layout(cursor.description or ())
        if want == _ROWS:
            found = [dict(zip(names, row, strict=True)) for row in rows]
            for name, decimals, scale in named_floats:
                _as_text_protocol(found, name, decimals, scale)
            return found
        if floats:
            rows = [list(row) for row in rows]
            for position, decimals, scale in floats:
                _as_text_protocol(rows, position, decimals, scale)
        if want == _FIRST_VALUE:
            return rows[0][0]
        return [tuple(row) for row in rows]  # aiosqlite's are sqlite3.Row


# MySQL's FLOAT type code, and the decimals it reports for a FLOAT declared
# without any (NOT_FIXED_DEC)
_MYSQL_FLOAT, _NOT_FIXED_DEC = 4, 31
# a result's column names and FLOAT columns, by its description: asyncmy
# keeps one description per prepared statement and connection, so this is
# worked out once for each (sqlite3's, new every time, are not kept)
_Layout = tuple[list[str], list[tuple[int, int, float | None]], list[tuple[str, int, float | None]]]
_LAYOUTS: dict[int, tuple[Any, _Layout]] = {}
_LAYOUTS_KEPT = 4096


def _layout(description: Any) -> _Layout:
    """The column names, and each FLOAT column's (position, decimals, 10 **
    decimals where that is exact to use), and the same by name for the
    FLOATs a row's dict keeps (of columns sharing a name, the last)."""
    kept = _LAYOUTS.get(id(description))
    if kept is not None and kept[0] is description:  # held here, so its id is still its own
        return kept[1]
    names = [column[0] for column in description]
    last = {name: i for i, name in enumerate(names)}
    floats = [(i, column[5], 10.0 ** column[5] if column[5] <= 12 else None)
              for i, column in enumerate(description) if column[1] == _MYSQL_FLOAT]
    layout = (names, floats, [(names[i], decimals, scale) for i, decimals, scale in floats if last[names[i]] == i])
    if description and description[0][1] is not None:  # asyncmy's: sqlite3 describes no types
        if len(_LAYOUTS) >= _LAYOUTS_KEPT:
            _LAYOUTS.clear()
        _LAYOUTS[id(description)] = (description, layout)
    return layout


def _as_text_protocol(rows: list[Any], key: Any, decimals: int, scale: float | None) -> None:
    """Set one FLOAT column of rows (dicts by name, lists by position) to
    what the text protocol gives. The binary protocol sends a FLOAT's 4
    bytes, which widen to a double such as 98.12300109863281; MariaDB prints
    it as text to the column's decimals (FLOAT(6,3): 98.123), or with none
    declared to 6 significant digits (FLT_DIG). JSON answers must not
    change with the protocol. A 4-byte float times 10 ** decimals (up to
    12) is exact in a double, so rounding that to an integer and dividing
    back gives the same double as reading the printed decimal, at a fifth
    of round(x, n)'s cost. Column by column: a row's list copy had cost more
    than the rounding."""
    if scale is not None:
        for row in rows:
            if (value := row[key]) is not None:
                row[key] = round(value * scale) / scale
    elif decimals < _NOT_FIXED_DEC:
        for row in rows:
            if (value := row[key]) is not None:
                row[key] = round(value, decimals)
    else:
        for row in rows:
            if (value := row[key]) is not None:
                row[key] = float(f"{value:.6g}")


async def _discard(connection: Any) -> None:
    """Close a pooled connection a call failed on, so the pool drops it
    (asyncmy: a plain close; aiosqlite connections are not reused anyway)."""
    close = getattr(connection, "close", None)
    if close is not None and not asyncio.iscoroutinefunction(close):
        close()


class _Transaction:
    """`async with db.transaction():` as `databases` has it (savepoints when
    nested), with each step bounded and mapped like any call, and without
    `databases`' leak: when BEGIN, COMMIT or ROLLBACK fails (say the server
    went away) it keeps the connection counted as in use, so it would never
    go back to the pool, and a few such failures would leave a pool that
    hands out nothing even after the database is back. Here the connection
    is given back on any failure; a connection whose transaction could not
    be closed is discarded by the pool (asyncmy closes a connection released
    mid-transaction or after a lost query)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._transaction: Any = None
        self._connection: Any = None
        self._held = 0

    async def __aenter__(self) -> "_Transaction":
        # from here on this task reads from the primary: inside the
        # transaction (its connection) and after it (read-your-writes)
        _use_primary.set(True)
        self._connection = self._db._db.connection()
        # the count of holds on this task's connection before we start
        # (a private of databases 0.9's Connection; without it no repair)
        self._held = getattr(self._connection, "_connection_counter", None)
        self._transaction = self._connection.transaction()
        try:
            await self._db._bounded(self._transaction.start)
        except BaseException:
            await self._give_back()
            raise
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self._db.writes += 1  # what it wrote is visible to others from here
        finish = self._transaction.commit if exc_type is None else self._transaction.rollback
        try:
            await self._db._bounded(finish)
        except BaseException as failure:
            await self._give_back()
            # after an error in the body, that error says more than a failed
            # rollback (a cancellation still goes through)
            if exc_type is None or not isinstance(failure, Exception):
                raise

    async def _give_back(self) -> None:
        connection = self._connection
        if self._held is None:
            return
        stack = getattr(connection, "_transaction_stack", [])
        if self._transaction in stack:
            stack.remove(self._transaction)
        while connection._connection_counter > self._held:
            try:
                await connection.__aexit__(None, None, None)
            except Exception:
                break
