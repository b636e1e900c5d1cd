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
