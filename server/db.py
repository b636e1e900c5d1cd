"""The database connection, for either dialect, behind one small interface
that hands rows back as plain dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import databases

Values = Mapping[str, Any] | None


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


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        options: dict[str, Any] = {}
        if self.dialect == "mysql":
            options = {"min_size": 1, "max_size": 10, "charset": "utf8mb4"}
        self._db = databases.Database(driver_url(url), **options)
        # statements sent so far: lets tests prove a listing is not N+1
        self.query_count = 0

    async def connect(self) -> None:
        path = sqlite_path(self.url) if self.dialect == "sqlite" else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        await self._db.connect()

    async def disconnect(self) -> None:
        await self._db.disconnect()

    async def __aenter__(self) -> "Database":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def fetch_one(self, query: str, values: Values = None) -> dict[str, Any] | None:
        self.query_count += 1
        row = await self._db.fetch_one(query, values)
        return None if row is None else dict(row._mapping)

    async def fetch_all(self, query: str, values: Values = None) -> list[dict[str, Any]]:
        self.query_count += 1
        return [dict(row._mapping) for row in await self._db.fetch_all(query, values)]

    async def fetch_val(self, query: str, values: Values = None) -> Any:
        self.query_count += 1
        return await self._db.fetch_val(query, values)

    async def execute(self, query: str, values: Values = None) -> Any:
        self.query_count += 1
        return await self._db.execute(query, values)

    async def execute_many(self, query: str, values: list[Mapping[str, Any]]) -> None:
        if values:
            await self._db.execute_many(query, values)

    def transaction(self):
        return self._db.transaction()

    async def table_names(self) -> set[str]:
        if self.dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()"
        return {row["name"] for row in await self.fetch_all(query)}
