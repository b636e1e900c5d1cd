"""What each statement of a schema file does, and how to tell from the
database's own catalogue whether it has been done already.

MySQL and MariaDB commit every DDL statement on its own, and an index build
goes on in the server after the client that asked for it has died. So a
migration stopped at any point (killed, interrupted, the server gone) leaves
each statement done or not done, never half done, and the next run must do
exactly the remainder: every statement of ours is one of the kinds below,
each with a check of the catalogue that says whether it already ran."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import schema
from .db import Database


class MigrationError(Exception):
    """A schema file or a database the migrations cannot go on with; the
    message says what to do."""


@dataclass(frozen=True)
class Step:
    sql: str  # the statement as this dialect runs it
    kind: str  # one of KINDS
    table: str
    name: str = ""  # the index's or the column's name; the next id of set auto_increment
    columns: tuple[str, ...] = ()  # an index's key columns, in order

    def describe(self) -> str:
        if self.kind in ("create index", "drop index"):
            return f"{self.kind} {self.name} on {self.table}"
        if self.kind == "add column":
            return f"add column {self.name} to {self.table}"
        return f"{self.kind} {self.table}"


_NAME = r"`?(\w+)`?"
# statement kinds, each with the pattern that recognises it (MySQL text)
_PATTERNS = {
    "create table": re.compile(rf"^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}\s*\(", re.I),
    "create index": re.compile(
        rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+{_NAME}\s+ON\s+{_NAME}\s*\((.*)\)[^()]*$", re.I | re.S
    ),
    "drop index": re.compile(rf"^DROP\s+INDEX\s+{_NAME}\s+ON\s+{_NAME}", re.I),
    "add column": re.compile(rf"^ALTER\s+TABLE\s+{_NAME}\s+ADD\s+(?:COLUMN\s+)?{_NAME}\s", re.I),
    # a table's next id
    "set auto_increment": re.compile(rf"^ALTER\s+TABLE\s+{_NAME}\s+AUTO_INCREMENT\s*=\s*(\d+)\s*$", re.I),
    # the rows bancho.py's base.sql starts a database with (see _done)
    "insert rows": re.compile(rf"^INSERT\s+INTO\s+{_NAME}", re.I),
}
KINDS = tuple(_PATTERNS)


def _key_columns(text: str) -> tuple[str, ...]:
    """`a, b(10), c DESC` -> (a, b, c): the directions are not compared, as
    MariaDB before 10.8 reads DESC and builds the part ascending."""
    parts = []
    for part in text.split(","):
        name = re.sub(r"\s+(?:ASC|DESC)$", "", part.strip(), flags=re.I)
        parts.append(re.sub(r"\(\d+\)$", "", name).strip("`"))
    return tuple(parts)


def parse(statement: str) -> Step:
    """The step a MySQL statement of ours is; MigrationError for a statement
    whose effect the catalogue cannot confirm (it could not be repeated
    safely after an interruption)."""
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(statement)
        if match is None:
            continue
        if kind == "create index":
            return Step(statement, kind, match.group(2), match.group(1), _key_columns(match.group(3)))
        if kind in ("drop index", "add column"):
            return Step(statement, kind, match.group(2), match.group(1))
        if kind == "set auto_increment":
            return Step(statement, kind, match.group(1), match.group(2))
        return Step(statement, kind, match.group(1))
    first_line = statement.splitlines()[0]
    raise MigrationError(
        f"cannot tell from the catalogue whether this statement has run, so it could not be "
        f"resumed after an interruption: {first_line}"
    )


def steps(sql_file: schema.SqlFile, dialect: str) -> list[Step]:
    """The file's statements as steps, each carrying its text in the dialect."""
    found = []
    for statement in schema.split_statements(sql_file.text):
        try:
            step = parse(statement)
        except MigrationError as exc:
            raise MigrationError(f"{sql_file.name}: {exc}") from None
        text = statement if dialect == "mysql" else schema.to_sqlite(statement)
        if text is not None:  # (what SQLite has no use for)
            found.append(Step(text, step.kind, step.table, step.name, step.columns))
    return found


async def is_done(db: Database, step: Step) -> bool:
    """Whether the catalogue shows the step's effect already. A created
    index whose key differs from the file's is an error, not done: the file
    would be served by an index it does not describe."""
    if step.kind == "create table":
        return await table_exists(db, step.table)
    if step.kind == "create index":
        columns = await index_columns(db, step.table, step.name)
        if columns is None:
            return False
        if columns != step.columns:
            raise MigrationError(
                f"the index {step.name} on {step.table} exists with the key ({', '.join(columns)}), "
                f"not ({', '.join(step.columns)}) as this migration makes it: drop it "
                f"(DROP INDEX {step.name} ON {step.table}) and run `db migrate` again"
            )
        return True
    if step.kind == "drop index":
        return await index_columns(db, step.table, step.name) is None
    if step.kind == "add column":
        return step.name in await table_columns(db, step.table)
    if step.kind == "insert rows":
        # only base.sql inserts, one statement a table, into a table it has
        # just made: rows there are that statement's (a statement is atomic)
        return await db.fetch_val(f"SELECT COUNT(*) FROM (SELECT 1 FROM {step.table} LIMIT 1) AS one") > 0
    if step.kind == "set auto_increment":  # (MySQL only: SQLite has no use for it)
        next_id = await db.fetch_val(
            "SELECT auto_increment FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND table_name = :table", {"table": step.table})
        return next_id is not None and int(next_id) >= int(step.name)
    raise AssertionError(step.kind)


# --- the catalogue


async def table_exists(db: Database, table: str) -> bool:
    if db.dialect == "sqlite":
        query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = :table"
    else:
        query = ("SELECT COUNT(*) FROM information_schema.tables"
                 " WHERE table_schema = DATABASE() AND table_name = :table")
    return await db.fetch_val(query, {"table": table}) > 0


async def table_columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        rows = await db.fetch_all("SELECT name FROM pragma_table_info(:table) ORDER BY cid", {"table": table})
    else:
        rows = await db.fetch_all(
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = DATABASE() AND table_name = :table ORDER BY ordinal_position",
            {"table": table},
        )
    return [row["name"] for row in rows]


async def index_columns(db: Database, table: str, index: str) -> tuple[str, ...] | None:
    """The key columns of the named index on the table, in order; None when
    there is no such index."""
    if db.dialect == "sqlite":
        exists = await db.fetch_val(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = :index AND tbl_name = :table",
            {"index": index, "table": table},
        )
        if not exists:
            return None
        rows = await db.fetch_all("SELECT name FROM pragma_index_info(:index) ORDER BY seqno", {"index": index})
    else:
        rows = await db.fetch_all(
            "SELECT column_name AS name FROM information_schema.statistics"
            " WHERE table_schema = DATABASE() AND table_name = :table AND index_name = :index"
            " ORDER BY seq_in_index",
            {"table": table, "index": index},
        )
        if not rows:
            return None
    return tuple(row["name"] for row in rows)
