"""Hostile input to every parameter of every GET endpoint (the list comes
from /openapi.json's document, so new endpoints are covered at once), and
path traversal into the file endpoints: no 500, no file's contents leak,
and the database is unchanged afterwards. On both backends."""

from __future__ import annotations

import pytest
from api_walk import (
    Credentials,
    Subjects,
    build_url,
    fetch_token,
    get_operations,
    headers_for,
    prepare,
    realistic,
    table_fingerprint,
)
from conftest import run
from starlette.testclient import TestClient

from server.app import create_app

BAD_VALUES = [
    "' OR 1=1 --",
    "1; DROP TABLE users",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    str(2**63),
    str(-(2**63) - 1),
    "1e309",
    "\U0001F600\U0001F525",
    "\u202eRTL\u200f\u05e9\u05dc\u05d5\u05dd",
    "\x00",
    "",
    "A" * 10_000,
    # past Python's 4,300-digit int() limit: decided on the text, never converted
    "9" * 5_000,
]
PASSWD = b"root:x:0:0"
# raw paths (sent as written: encoded slashes and dots reach the router)
TRAVERSALS = [
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "%2fetc%2fpasswd",
    "3%00.png",
    "3%2f..%2f..%2f..%2fetc%2fpasswd",
]
FILE_PATHS = ["/osu/{}", "/avatars/{}", "/v1/get_replay?id={}", "/get_replay?id={}", "/v1/get_replay?include_headers=0&id={}"]


class Walk:
    def __init__(self, client: TestClient, url: str, subjects: Subjects, credentials: Credentials) -> None:
        self.client, self.url, self.subjects, self.credentials = client, url, subjects, credentials
        # users and scores as they were before any hostile request
        self.before = run(table_fingerprint(url))


@pytest.fixture(scope="module")
def walk(backend) -> Walk:
    url = backend.new_database_url()
    subjects, credentials = run(prepare(url, backend.data_dir))
    with TestClient(create_app(backend.settings(url, ingest_token="bad-input")), raise_server_exceptions=False) as client:
        fetch_token(client, credentials)
        yield Walk(client, url, subjects, credentials)


def _check(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    assert PASSWD not in response.content, f"{what}: /etc/passwd leaked"


@pytest.mark.parametrize("path,op", get_operations(), ids=[p for p, _ in get_operations()])
def test_every_parameter_survives_bad_input(walk: Walk, path, op):
    params = op.get("parameters", [])
    if not params:
        pytest.skip("no parameters")
    base = {p["name"]: realistic(path, p, walk.subjects, 0) for p in params}
    headers = headers_for(op, walk.credentials)
    for param in params:
        for bad in BAD_VALUES:
            if param["in"] == "path" and bad == "":
                continue  # an empty path segment is another path
            url, query = build_url(path, op, {**base, param["name"]: bad}, walk.credentials)
            response = walk.client.get(url, params=query, headers=headers)
            _check(response, f"{path} {param['name']}={bad[:40]!r}")


def test_file_endpoints_refuse_traversal(walk: Walk):
    for template in FILE_PATHS:
        for raw in TRAVERSALS + ["../../../../etc/passwd", "/etc/passwd", str(2**63), "-1", "1e309", "9" * 5_000]:
            response = walk.client.get(template.format(raw))
            _check(response, template.format(raw))
            assert response.status_code in (400, 404), (template.format(raw), response.status_code)


def test_database_unchanged(walk: Walk):
    """(runs after the tests above, in file order, on the same database)"""
    assert run(table_fingerprint(walk.url)) == walk.before
