"""server/formats/common.py: the conversions every API's formats share."""

from __future__ import annotations

from datetime import datetime

import orjson

from server.formats.common import iso_datetime, json_datetime, picked


def test_picked_copies_a_row_of_the_shown_shape_and_picks_any_other():
    keys = ("a", "b")
    row = {"a": 1, "b": 2}
    out = picked(row, keys)
    assert out == row and out is not row
    out["a"] = 9
    assert row["a"] == 1  # a copy: the caller's row is left as it was
    # other orders and extra keys: the keys' order, nothing else
    assert list(picked({"b": 2, "a": 1}, keys).items()) == [("a", 1), ("b", 2)]
    assert list(picked({"a": 1, "c": 3, "b": 2}, keys).items()) == [("a", 1), ("b", 2)]
    assert list(picked({"x": 0, "a": 1, "b": 2}, keys, ("x",)).items()) == [("a", 1), ("b", 2)]
    assert list(picked({"b": 2, "x": 0, "a": 1}, keys, ("x",)).items()) == [("a", 1), ("b", 2)]


def test_json_datetime_writes_what_iso_datetime_does():
    for value in (datetime(2021, 12, 31, 5, 29, 13), datetime(2021, 12, 31, 5, 29, 13, 500),
                  "2021-12-31 05:29:13", "2021-12-31T05:29:13.250", None):
        assert orjson.dumps(json_datetime(value)) == orjson.dumps(iso_datetime(value)), value
