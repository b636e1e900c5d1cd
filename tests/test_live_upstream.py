"""Live state from a running bancho.py's own API (LIVE_UPSTREAM_URL). A
second instance of this service stands in for bancho.py: it speaks the
same API, and its live state is fed through its ingest API. The instance
under test reads its database as ever and asks the upstream who is online,
what they do and which matches are live: the counts, statuses and matches
flow through as the upstream gives them, however many requests arrive each
question goes upstream at most once a second, and while the upstream is
away those answers are 503s and everything else is served."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time

import httpx
import pytest

from server.pytest_plugin import ServerFactory
from server.upstream import FRESH_FOR, LIVE_UNAVAILABLE

TOKEN = "upstream-test-ingest-token"
MAP_1000_MD5 = "406a15f3282f76620a3f0a9d31299671"  # the demo map 1000
MATCH = {"name": "OWC: (KR) vs (US)", "host_id": 3, "mode": 0, "mods": 64, "referee_ids": [5],
         "in_progress": True, "map": {"id": 1000, "md5": MAP_1000_MD5, "name": "xi - FREEDOM DiVE [Normal]"},
         "slots": [{"slot": 0, "user_id": 3, "status": 32, "team": 1}, {"slot": 1, "user_id": 4, "status": 32}]}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(upstream, served): two servers over the demo data; the second asks
    the first for its live state."""
    factory = ServerFactory(tmp_path_factory.mktemp("live_upstream"))
    try:
        upstream = factory(env={"INGEST_TOKEN": TOKEN, "RATE_LIMIT_PER_MINUTE": "0"})
        served = factory(env={"LIVE_UPSTREAM_URL": str(upstream), "LIVE_UPSTREAM_HOST": "api.example.test",
                              "LIVE_UPSTREAM_TIMEOUT": "1", "RATE_LIMIT_PER_MINUTE": "0"})
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for user_id, body in ((3, {"action": 2, "info_text": "playing", "mods": 8, "map_md5": MAP_1000_MD5}),
                              (4, {"action": 0})):
            assert httpx.put(f"{upstream}/ingest/sessions/{user_id}", json=body, headers=headers).status_code == 200
        assert httpx.put(f"{upstream}/ingest/matches/1", json=MATCH, headers=headers).status_code == 200
        time.sleep(FRESH_FOR + 0.1)  # what the served one asked while starting has aged
        yield factory, upstream, served
    finally:
        factory.stop_all()


def both(pair, path: str, **params) -> tuple[httpx.Response, httpx.Response]:
    _, upstream, served = pair
    return httpx.get(f"{upstream}{path}", params=params), httpx.get(f"{served}{path}", params=params)


def test_the_online_count_comes_from_the_upstream(pair):
    theirs, ours = both(pair, "/v1/get_player_count")
    assert ours.json()["counts"]["online"] == theirs.json()["counts"]["online"] == 2
    assert ours.json()["counts"]["total"] == theirs.json()["counts"]["total"]


@pytest.mark.parametrize("user_id", [3, 4, 5])
def test_statuses_are_the_upstreams_own(pair, user_id):
    theirs, ours = both(pair, "/v1/get_player_status", id=user_id)
    assert ours.status_code == theirs.status_code == 200
    assert ours.json() == theirs.json()
    assert ours.json()["player_status"]["online"] is (user_id in (3, 4))


def test_the_status_of_bancho_py_s_v2_and_the_bot(pair):
    theirs, ours = both(pair, "/v2/players/3/status")
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
    assert ours.json()["data"]["beatmap_id"] == 1000
    theirs, ours = both(pair, "/v2/players/5/status")
    assert ours.status_code == 404 and ours.json() == theirs.json()
    bot = both(pair, "/v1/get_player_status", name="BanchoBot")[1].json()
    assert bot["player_status"]["online"] is True


def test_matches_are_the_upstreams_own(pair):
    theirs, ours = both(pair, "/v1/get_match", id=1)
    assert ours.status_code == 200 and ours.json() == theirs.json()
    assert ours.json()["match"]["name"] == MATCH["name"]
    theirs, ours = both(pair, "/v1/get_match", id=2)
    assert (ours.status_code, ours.json()) == (404, {"status": "Match not found."})
    _, _, served = pair
    v1 = httpx.get(f"{served}/api/get_match", params={"mp": 1, "k": served.api_key}).json()
    assert v1["match"]["name"] == MATCH["name"] and v1["match"]["match_id"] == "1" and v1["games"] == []


def test_a_pool_makers_and_friends_presence_come_from_the_upstream(pair):
    _, _, served = pair
    assert httpx.get(f"{served}/v1/get_mappool", params={"id": 1}).json()["created_by"]["online"] is True
    key = subprocess.run([sys.executable, "-m", "server", "users", "api-key", "14"], env=served.env,
                         capture_output=True, text=True, check=True).stdout.strip()
    friends = httpx.get(f"{served}/v1/get_friends", headers={"Authorization": f"Bearer {key}"}).json()["friends"]
    online = {friend["id"]: friend["online"] for friend in friends}
    assert online[3] is True and not any(online[i] for i in online if i not in (3, 4))


def _upstream_calls(upstream: str, route: str) -> float:
    """What the upstream answered on a route so far, from its /metrics
    (prometheus_client writes the labels in name order)."""
    series = f'osu_api_http_requests_total{{method="GET",route="{route}",status="2xx"}} '
    found = [line for line in httpx.get(f"{upstream}/metrics").text.splitlines() if line.startswith(series)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_each_question_goes_upstream_at_most_once_a_second(pair):
    _, upstream, served = pair
    before = _upstream_calls(upstream, "/v1/get_player_status")

    async def burst() -> float:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as client:
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get(f"{served}/v1/get_player_status", params={"id": 3})
                                             for _ in range(400)))
            assert {answer.status_code for answer in answers} == {200}
            return time.monotonic() - started

    took = asyncio.run(burst())
    asked = _upstream_calls(upstream, "/v1/get_player_status") - before
    assert 1 <= asked <= math.ceil(took) + 1, (asked, took)


def test_while_the_upstream_is_away_live_answers_are_503_and_the_rest_is_served(pair):
    factory, upstream, served = pair
    time.sleep(1.1)  # past what the last answers still serve
    factory.stop(upstream)
    status = httpx.get(f"{served}/v1/get_player_status", params={"id": 3})
    assert (status.status_code, status.json()) == (503, {"status": LIVE_UNAVAILABLE})
    v2 = httpx.get(f"{served}/v2/players/3/status")
    assert (v2.status_code, v2.json()) == (503, {"status": "error", "error": LIVE_UNAVAILABLE})
    v1 = httpx.get(f"{served}/api/get_match", params={"mp": 1, "k": served.api_key})
    assert (v1.status_code, v1.json()) == (503, {"error": LIVE_UNAVAILABLE})
    assert httpx.get(f"{served}/v1/get_player_count").status_code == 503
    profile = httpx.get(f"{served}/v1/get_player_info", params={"id": 3, "scope": "all"})
    assert profile.status_code == 200 and profile.json()["player"]["info"]["id"] == 3
    assert httpx.get(f"{served}/v2/players/3").status_code == 200
