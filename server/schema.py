"""The schema's one source of truth is MySQL text in sql/: bancho.py's tables
in base.sql and our own tables in numbered files under sql/migrations/. This
module reads those files and derives the SQLite form from them, so the two
dialects cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

Dialect = str  # "mysql" or "sqlite"


@dataclass(frozen=True)
class SqlFile:
    name: str
    text: str


def _sql_dir():
    # A source checkout (or editable install) has sql/ beside server/; a built
    # wheel carries the same files as the subpackage server.sql.
    checkout = Path(__file__).resolve().parent.parent / "sql"
    if (checkout / "base.sql").is_file():
        return checkout
    return resources.files("server.sql")


def base_schema() -> SqlFile:
    return SqlFile("base.sql", (_sql_dir() / "base.sql").read_text("utf-8"))


def migrations() -> list[SqlFile]:
    """Our own migrations, in the order of their number prefix."""
    folder = _sql_dir() / "migrations"
    if not folder.is_dir():
        return []
    files = [f for f in folder.iterdir() if f.name.endswith(".sql")]
    return [SqlFile(f.name, f.read_text("utf-8")) for f in sorted(files, key=lambda f: f.name)]


def split_statements(text: str) -> list[str]:
    """Split a SQL script on semicolons outside quotes, dropping comments."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                # a doubled quote inside a string is an escaped quote
                if i + 1 < len(text) and text[i + 1] == quote:
                    current.append(text[i + 1])
                    i += 1
                else:
                    quote = None
        elif ch in "'`\"":
            quote = ch
            current.append(ch)
        elif ch == "#" or text.startswith("-- ", i) or text.startswith("--\n", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
        else:
            current.append(ch)
        i += 1
    statement = "".join(current).strip()
    if statement:
        statements.append(statement)
    return statements


# MySQL column syntax SQLite does not take, and its replacement.
_SQLITE_REWRITES: list[tuple[re.Pattern[str], str]] = [
    # an auto-increment primary key must be spelled INTEGER to alias the rowid
    (re.compile(r"^(\s*\S+)\s+(?:BIG)?INT(?:\(\d+\))?(?:\s+UNSIGNED)?\s+AUTO_INCREMENT\s+PRIMARY KEY", re.I | re.M),
     r"\1 INTEGER PRIMARY KEY AUTOINCREMENT"),
    (re.compile(r"\s+AUTO_INCREMENT\b", re.I), ""),
    (re.compile(r"\s+UNSIGNED\b", re.I), ""),
    (re.compile(r"\bENUM\s*\([^)]*\)", re.I), "TEXT"),
    (re.compile(r"\s+(?:CHARSET|CHARACTER SET)\s+\w+", re.I), ""),
    (re.compile(r"\s+COMMENT\s+'(?:[^']|'')*'", re.I), ""),
    (re.compile(r"\s+ON UPDATE CURRENT_TIMESTAMP", re.I), ""),
    (re.compile(r"\bUNIX_TIMESTAMP\(\)", re.I), "unixepoch()"),
    # MySQL's online DDL clauses: SQLite builds an index in its own write
    # transaction, the only way it has
    (re.compile(r"\s+(?:ALGORITHM|LOCK)\s*=\s*\w+", re.I), ""),
    # an index name is unique in the whole SQLite schema, not per table
    (re.compile(r"^(DROP INDEX \S+)\s+ON\s+\S+$", re.I), r"\1"),
]

_ALTER_AUTO_INCREMENT = re.compile(r"^ALTER TABLE \S+ AUTO_INCREMENT\s*=", re.I)


def to_sqlite(statement: str) -> str | None:
    """The SQLite form of one MySQL statement of ours, or None when it has no
    meaning there (auto-increment offsets)."""
    if _ALTER_AUTO_INCREMENT.match(statement):
        return None
    for pattern, replacement in _SQLITE_REWRITES:
        statement = pattern.sub(replacement, statement)
    return statement


def statements_for(sql: SqlFile, dialect: Dialect) -> list[str]:
    statements = split_statements(sql.text)
    if dialect == "mysql":
        return statements
    return [s for s in map(to_sqlite, statements) if s is not None]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # lower-cased base type: int, tinyint, bigint, float, varchar, char, datetime, date, enum
    length: int | None  # VARCHAR/CHAR length
    choices: tuple[str, ...]  # ENUM values
    nullable: bool
    has_default: bool  # a DEFAULT, AUTO_INCREMENT or NULL makes a column optional on insert
    unsigned: bool = False  # an UNSIGNED integer column


_COLUMN = re.compile(r"^`?(\w+)`?\s+(\w+)(?:\(([^)]*)\))?(.*)$", re.S)
_NOT_COLUMNS = ("PRIMARY", "CONSTRAINT", "UNIQUE", "KEY", "INDEX")


def tables(sql: SqlFile) -> dict[str, list[Column]]:
    """The columns of each CREATE TABLE in a file of ours, in order."""
    found: dict[str, list[Column]] = {}
    for statement in split_statements(sql.text):
        match = re.match(r"CREATE TABLE (?:IF NOT EXISTS )?`?(\w+)`?\s*\((.*)\)\s*$", statement, re.I | re.S)
        if not match:
            continue
        columns = []
        for line in match.group(2).splitlines():
            line = line.strip().rstrip(",")
            if not line or line.split()[0].upper() in _NOT_COLUMNS:
                continue
            name, base, args, rest = _COLUMN.match(line).groups()
            rest_upper = rest.upper()
            base = base.lower()
            nullable = "NOT NULL" not in rest_upper
            columns.append(
                Column(
                    name=name,
                    type=base,
                    length=int(args) if base in ("varchar", "char") and args else None,
                    choices=tuple(re.findall(r"'((?:[^']|'')*)'", args or "")) if base == "enum" else (),
                    nullable=nullable,
                    has_default=nullable or "DEFAULT" in rest_upper or "AUTO_INCREMENT" in rest_upper,
                    unsigned=bool(re.match(r"\s*UNSIGNED\b", rest_upper)),
                )
            )
        found[match.group(1)] = columns
    return found
