"""server/params.py reads query strings as Starlette's QueryParams does,
for any bytes a client sends: the value of each name (a repeated name's
last), escaped or not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams
from starlette.requests import Request

from server.params import query_values

# the characters that mean something in a query string, some that do not,
# and bytes past ASCII (sent raw by careless clients)
PIECES = st.sampled_from(["&", "=", "%", "+", ";", "%2", "%41", "%C3%A9", "%zz", "a", "b", "k", "1", " ", "\xe9", "é"])


def _read(raw: bytes) -> dict[str, str]:
    return query_values(Request({"type": "http", "query_string": raw, "headers": []}))


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_query_values_read_as_starlette_reads_them(text):
    raw = text.encode("utf-8")
    expected = QueryParams(raw)
    assert _read(raw) == {name: expected[name] for name in expected.keys()}


def test_query_values_examples():
    assert _read(b"") == {}
    assert _read(b"id=3&scope=best&id=4") == {"id": "4", "scope": "best"}
    assert _read(b"q=a+b%20c&&flag") == {"q": "a b c", "flag": ""}
