"""`db load FILE`: load a JSON fixture file (a tool author's own test data)
into the database. The file maps table names of bancho.py's schema to lists
of records keyed by column name. Every record is checked against the schema
before anything is written, the first bad one is reported with its position,
and the whole file goes in as one transaction: a bad file changes nothing.

Columns a record leaves out take the schema's default, or one derived here
where bancho.py would have filled it in (safe_name from name, a stats row in
every mode for each new player, ...)."""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import orjson

from . import schema
from .constants import PLAYABLE_MODES, USERNAME_PATTERN, safe_name
from .db import Database

Record = dict[str, Any]

_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?Z?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# (signed, unsigned) ranges, as MariaDB's strict mode enforces them. SQLite
# stores at most a signed 64-bit integer, so BIGINT UNSIGNED stops there too.
_INT_RANGES = {
    "tinyint": ((-(2**7), 2**7 - 1), (0, 2**8 - 1)),
    "int": ((-(2**31), 2**31 - 1), (0, 2**32 - 1)),
    "bigint": ((-(2**63), 2**63 - 1), (0, 2**63 - 1)),
}
# A password hash no password matches: fixtures never carry real ones.
_NO_PASSWORD = "$2b$12$" + "." * 53


class FixtureError(ValueError):
    """A fixture that cannot be loaded; the message says where and why."""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _user_defaults(record: Record) -> Record:
    name = record.get("name")
    if not isinstance(name, str) or not USERNAME_PATTERN.match(name):
        raise ValueError("'name' must match ^[\\w \\[\\]-]{2,15}$")
    if record.get("id") is None:
        # left to auto-increment, a player would get no stats rows (they are
        # derived from the id) and a different id on each backend
        raise ValueError("'id' is required: stats, scores and clans refer to a player by id")
    safe = safe_name(name)
    return {"safe_name": safe, "email": f"{safe}@fixture.invalid", "pw_bcrypt": _NO_PASSWORD}


def _map_defaults(record: Record) -> Record:
    parts = [str(record.get(k, "")) for k in ("artist", "title", "creator", "version")]
    return {"filename": "{} - {} ({}) [{}].osu".format(*parts), "last_update": _now()}


def _score_defaults(record: Record) -> Record:
    return {"client_flags": 0, "time_elapsed": 0, "perfect": 0, "online_checksum": "0" * 32, "ngeki": 0, "nkatu": 0}


def _dated(column: str) -> Callable[[Record], Record]:
    return lambda record: {column: _now()}


# Values bancho.py fills in itself, so a fixture need not spell them out.
_DERIVED: dict[str, Callable[[Record], Record]] = {
    "users": _user_defaults,
    "maps": _map_defaults,
    "scores": _score_defaults,
    "clans": _dated("created_at"),
    "tourney_pools": _dated("created_at"),
}


def _check_value(column: schema.Column, value: Any) -> Any:
    """The value as it is stored, or ValueError saying what is wrong."""
    if value is None:
        if column.nullable:
            return None
        raise ValueError(f"'{column.name}' must not be null")
    if column.type in _INT_RANGES:
        low, high = _INT_RANGES[column.type][column.unsigned]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"'{column.name}' must be an integer from {low} to {high}")
        return value
    if column.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"'{column.name}' must be a number")
        return value
    if not isinstance(value, str):
        raise ValueError(f"'{column.name}' must be a string")
    if column.type in ("varchar", "char") and column.length is not None and len(value) > column.length:
        raise ValueError(f"'{column.name}' must be at most {column.length} characters long")
    if column.type == "datetime":
        match = _DATETIME.match(value)
        if not match:
            raise ValueError(f"'{column.name}' must be a date and time such as 2024-01-31 12:00:00")
        return f"{match.group(1)} {match.group(2)}"
    if column.type == "date" and not _DATE.match(value):
        raise ValueError(f"'{column.name}' must be a date such as 2024-01-31")
    if column.type == "enum" and value not in column.choices:
        raise ValueError(f"'{column.name}' must be one of {', '.join(column.choices)}")
    return value


def _check_record(table: str, columns: dict[str, schema.Column], record: Any) -> Record:
    if not isinstance(record, dict):
        raise ValueError("a record must be a JSON object")
    unknown = [key for key in record if key not in columns]
    if unknown:
        raise ValueError(f"unknown column '{unknown[0]}' (the columns of {table}: {', '.join(columns)})")
    derived = _DERIVED.get(table)
    full = {**derived(record), **record} if derived else dict(record)
    for column in columns.values():
        if column.name not in full and not column.has_default:
            raise ValueError(f"'{column.name}' is required")
    return {name: _check_value(columns[name], value) for name, value in full.items()}


# Keys a fixture must not repeat within itself; checked before writing, so
# the error can name the record.
_UNIQUE_KEYS: dict[str, list[tuple[str, ...]]] = {
    "users": [("id",), ("name",), ("safe_name",)],
    "maps": [("id",), ("md5",)],
    "scores": [("id",)],
    "clans": [("id",), ("name",), ("tag",)],
    "stats": [("id", "mode")],
    "tourney_pools": [("id",)],
    "relationships": [("user1", "user2")],
}


# Files a fixture may carry beside its tables, keyed by map or score id:
# the folder under DATA_DIR, the file suffix, and how JSON holds the bytes.
FILE_KINDS = {
    "beatmap_files": ("osu", ".osu", "text"),  # .osu files, as text
    "replays": ("osr", ".osr", "base64"),  # replay frame streams (LZMA), base64
}


def validate_files(data: Any) -> dict[str, bytes]:
    """The fixture's files as {relative path under DATA_DIR: bytes}, or
    FixtureError naming the first bad entry."""
    files: dict[str, bytes] = {}
    for kind, (folder, suffix, encoding) in FILE_KINDS.items():
        entries = data.get(kind, {}) if isinstance(data, dict) else {}
        if not isinstance(entries, dict):
            raise FixtureError(f"{kind}: must be an object keyed by id")
        for key, value in entries.items():
            if not key.isdecimal() or int(key) > 2**63 - 1:
                raise FixtureError(f"{kind}[{key!r}]: the key must be an id")
            if not isinstance(value, str):
                raise FixtureError(f"{kind}[{key!r}]: must be a string ({encoding})")
            if encoding == "base64":
                try:
                    content = base64.b64decode(value, validate=True)
                except binascii.Error:
                    raise FixtureError(f"{kind}[{key!r}]: not valid base64") from None
            else:
                content = value.encode("utf-8")
            files[f"{folder}/{int(key)}{suffix}"] = content
    return files


def validate(data: Any) -> dict[str, list[Record]]:
    """The fixture's records ready to insert, or FixtureError naming the
    first bad record as table[index]."""
    if not isinstance(data, dict):
        raise FixtureError("a fixture must be a JSON object mapping table names to lists of records")
    tables = schema.tables(schema.base_schema())
    checked: dict[str, list[Record]] = {}
    for table, records in data.items():
        if table in FILE_KINDS:
            continue
        if table not in tables:
            raise FixtureError(f"unknown table '{table}' (known: {', '.join(sorted(tables))})")
        if not isinstance(records, list):
            raise FixtureError(f"{table}: must be a list of records")
        columns = {c.name: c for c in tables[table]}
        seen: dict[tuple[str, ...], set[tuple[Any, ...]]] = {}
        rows = []
        for index, record in enumerate(records):
            try:
                row = _check_record(table, columns, record)
            except ValueError as exc:
                raise FixtureError(f"{table}[{index}]: {exc}") from None
            for key in _UNIQUE_KEYS.get(table, []):
                if all(k in row for k in key):
                    value = tuple(row[k] for k in key)
                    if value in seen.setdefault(key, set()):
                        raise FixtureError(f"{table}[{index}]: duplicate {'/'.join(key)} {value if len(value) > 1 else value[0]!r}")
                    seen[key].add(value)
            rows.append(row)
        checked[table] = rows
    _add_missing_stats(checked)
    return checked


def _add_missing_stats(checked: dict[str, list[Record]]) -> None:
    """bancho.py creates a stats row in every mode when a player registers."""
    users = checked.get("users", [])
    if not users:
        return
    stats = checked.setdefault("stats", [])
    present = {(row.get("id"), row.get("mode")) for row in stats}
    for user in users:
        if "id" not in user:
            continue
        for mode in PLAYABLE_MODES:
            if (user["id"], int(mode)) not in present:
                stats.append({"id": user["id"], "mode": int(mode)})


async def load(db: Database, data: Any, data_dir: Path | None = None) -> dict[str, int]:
    """Validate, then insert everything in one transaction and put the
    fixture's files under data_dir. Returns the count of rows written per
    table (and of files). Files are staged before the transaction and moved
    into place only once it has committed, so a refused fixture leaves
    neither rows nor files behind."""
    checked = validate(data)
    files = validate_files(data)
    if files and data_dir is None:
        raise FixtureError("this fixture carries files, but no data folder was given for them")
    staged = _stage(files, data_dir) if files else []
    counts: dict[str, int] = {}
    try:
        await _insert(db, checked, counts)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in staged:
        os.replace(temporary, final)
    for kind in FILE_KINDS:
        if data.get(kind):
            counts[kind] = len(data[kind])
    return counts


def _stage(files: dict[str, bytes], data_dir: Path) -> list[tuple[Path, Path]]:
    staged = []
    for relative, content in files.items():
        final = data_dir / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        temporary.write_bytes(content)
        staged.append((temporary, final))
    return staged


async def _insert(db: Database, checked: dict[str, list[Record]], counts: dict[str, int]) -> None:
    async with db.transaction():
        for table, rows in checked.items():
            for columns, group in _by_columns(rows).items():
                # backquotes: some columns (desc, from, read...) are reserved words
                names = ", ".join(f"`{c}`" for c in columns)
                params = ", ".join(f":{c}" for c in columns)
                try:
                    await db.execute_many(f"INSERT INTO {table} ({names}) VALUES ({params})", group)
                except Exception as exc:  # the driver's integrity errors differ by dialect
                    raise FixtureError(f"{table}: the database refused a record: {exc}") from None
            counts[table] = len(rows)
    return counts


def load_file(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise FixtureError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise FixtureError(f"{path} is not valid JSON: {exc}") from None


def _by_columns(rows: list[Record]) -> dict[tuple[str, ...], list[Record]]:
    groups: dict[tuple[str, ...], list[Record]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return groups
