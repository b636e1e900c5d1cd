"""The SQL of each domain, as named functions with bound parameters."""

from __future__ import annotations

import functools
from typing import Any, Iterable


def in_list(name: str, items: Iterable[Any], values: dict[str, Any]) -> str:
    """`IN (:name0, :name1, ...)` with the items bound as parameters in
    `values` (the caller makes sure there is at least one)."""
    items = list(items)
    names, text = _in_list_names(name, len(items))
    values.update(zip(names, items, strict=True))
    return text


@functools.lru_cache(maxsize=1024)  # a listing's page: the same length each time
def _in_list_names(name: str, count: int) -> tuple[tuple[str, ...], str]:
    names = tuple(f"{name}{i}" for i in range(count))
    return names, f"IN ({', '.join(':' + n for n in names)})"


def force_index(db: Any, index: str) -> str:
    """` FORCE INDEX (index)` after a table on MySQL/MariaDB, whose optimiser,
    given ORDER BY ... LIMIT over a player or a map with many scores, often
    sorts every matching row instead of walking the index made for that
    order (seen with EXPLAIN at bench scale). SQLite's planner finds those
    indexes unaided, and its INDEXED BY fails the query outright when an
    index cannot be used, so there it is nothing."""
    return f" FORCE INDEX ({index})" if db.dialect == "mysql" else ""


def in_order_join(db: Any) -> str:
    """An inner join the planner takes in the written order, the left side
    first: STRAIGHT_JOIN on MySQL/MariaDB, CROSS JOIN on SQLite (which
    reads it so). For a small derived table joined to a large one that the
    planner would otherwise scan, probing the small one for each row."""
    return "STRAIGHT_JOIN" if db.dialect == "mysql" else "CROSS JOIN"
