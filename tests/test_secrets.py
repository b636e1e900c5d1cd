"""No answer ever holds a player's email, password hash or api_key. In a
database of the test's own, every player gets an api_key and a password
hash of their own; every GET endpoint of the OpenAPI document is then
called with realistic values (player ids and names, map ids and md5s,
score ids, clans and pools) and with credentials of every kind, and each
body is scanned for every player's secrets. On both backends."""

from __future__ import annotations

import pytest
from api_walk import fetch_token, prepare, realistic_requests
from conftest import run
from starlette.testclient import TestClient

from server.app import create_app

# calls per endpoint, each naming the next player, map and score
PER_OPERATION = 6


@pytest.fixture(scope="module")
def prepared(backend):
    url = backend.new_database_url()
    subjects, credentials = run(prepare(url, backend.data_dir))
    with TestClient(create_app(backend.settings(url)), raise_server_exceptions=False) as client:
        fetch_token(client, credentials)
        yield client, subjects, credentials


def _needles(subjects) -> dict[bytes, str]:
    needles: dict[bytes, str] = {}
    for user_id, secrets in subjects.secrets.items():
        for kind, value in secrets.items():
            if value:
                needles[value.encode()] = f"user {user_id}'s {kind}"
                needles[value.lower().encode()] = f"user {user_id}'s {kind}"
    return needles


def test_no_answer_holds_a_secret(prepared):
    client, subjects, credentials = prepared
    needles = _needles(subjects)
    assert len(needles) >= 3 * len(subjects.players)
    calls = statuses = 0
    for url, query, headers in realistic_requests(subjects, credentials, PER_OPERATION):
        response = client.get(url, params=query, headers=headers)
        calls += 1
        statuses += response.status_code == 200
        assert response.status_code < 500, (url, query, response.text[:300])
        body = response.content
        leaked = [what for needle, what in needles.items() if needle in body]
        assert not leaked, f"{url} {query}: {leaked}"
    # the walk reached real data, not only errors
    assert statuses > calls // 2, (statuses, calls)


def test_writes_answer_no_secret(prepared):
    """set_player_info answers the updated profile: not the secrets."""
    client, subjects, credentials = prepared
    needles = _needles(subjects)
    headers = {"Authorization": f"Bearer {credentials.player_key}"}
    response = client.post("/v1/set_player_info", json={"userpage_content": "hello"}, headers=headers)
    assert response.status_code == 200, response.text
    assert not [what for needle, what in needles.items() if needle in response.content]
