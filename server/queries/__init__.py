"""The SQL of each domain, as named functions with bound parameters."""

from __future__ import annotations

from typing import Any, Iterable


def in_list(name: str, items: Iterable[Any], values: dict[str, Any]) -> str:
    """`IN (:name0, :name1, ...)` with the items bound as parameters in
    `values` (the caller makes sure there is at least one)."""
    names = []
    for i, item in enumerate(items):
        values[f"{name}{i}"] = item
        names.append(f":{name}{i}")
    return f"IN ({', '.join(names)})"


def force_index(db: Any, index: str) -> str:
    """` FORCE INDEX (index)` after a table on MySQL/MariaDB, whose optimiser,
    given ORDER BY ... LIMIT over a player or a map with many scores, often
    sorts every matching row instead of walking the index made for that
    order (seen with EXPLAIN at bench scale). SQLite's planner finds those
    indexes unaided, and its INDEXED BY fails the query outright when an
    index cannot be used, so there it is nothing."""
    return f" FORCE INDEX ({index})" if db.dialect == "mysql" else ""
