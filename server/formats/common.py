"""Value conversions every API's formats share."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def iso_datetime(value: Any) -> str | None:
    """A DATETIME column as ISO 8601 without zone ('2021-12-31T05:29:13').
    MySQL hands back datetime objects, SQLite the stored text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value.replace(microsecond=0) if value.microsecond else value).isoformat()
    return str(value).replace(" ", "T")[:19]


def json_datetime(value: Any) -> Any:
    """What iso_datetime gives, as a value for the JSON encoder: a
    whole-second datetime as it is, which orjson writes as that same text
    (in C, at a fraction of isoformat's cost, in a listing's every row)."""
    if type(value) is datetime and not value.microsecond:
        return value
    return iso_datetime(value)


def picked(row: dict[str, Any], keys: tuple[str, ...], dropping: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row's values under keys, in keys' order. The queries select
    exactly those columns (and the ones named in dropping) in that order,
    so a copy of the row, made in C, is the answer; a row of any other
    shape is picked key by key. A listing's every row comes through here."""
    out = dict(row)
    for key in dropping:
        del out[key]
    return out if tuple(out) == keys else {key: row[key] for key in keys}


def unprefixed(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The columns of a row that start with prefix, with the prefix removed."""
    size = len(prefix)
    return {key[size:]: value for key, value in row.items() if key.startswith(prefix)}
