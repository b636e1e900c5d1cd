"""osu.py (PyPI `osu.py`), a published osu!api v2 client, pointed at a live
server process of ours by its base URL and token URL alone, reads the demo
data back: a token through its own client credentials flow, users by id and
by name, user scores, beatmaps by id and by lookup, beatmap scores,
beatmapsets, rankings and scores by id, in both score shapes. osu.py is run
strict (OSUPY_TEST: a key it expects that is missing raises), and every
value is checked against server.demo.demo_data()."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

os.environ.setdefault("OSUPY_TEST", "1")  # before osu.py is imported: strict parsing

import osu  # noqa: E402
import pytest  # noqa: E402

from server.constants import MapStatus, Privileges, ScoreStatus  # noqa: E402
from server.demo import demo_data  # noqa: E402
from server.pytest_plugin import ServerFactory  # noqa: E402

COOKIEZI = 3
CURRENT = "20240529"  # osu.py's own default is newer; both are >= 20220705
LEGACY = "20220704"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int, str]]:
    """A demo server and an OAuth client made with the CLI on its database."""
    workdir = tmp_path_factory.mktemp("v2_clients")
    factory = ServerFactory(workdir)
    try:
        url = factory()
        data_dir = workdir / "server0"
        env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'api.db'}"}
        done = subprocess.run([sys.executable, "-m", "server", "oauth", "create", "--name", "osu.py"],
                              env=env, capture_output=True, text=True, check=True)
        client_id, secret = done.stdout.strip().splitlines()[-1].split(" ")
        yield url, int(client_id), secret
    finally:
        factory.stop_all()


def _client(server, api_version: str) -> osu.Client:
    url, client_id, secret = server
    client = osu.Client.from_credentials(client_id, secret, None, request_wait_time=0, limit_per_minute=100_000)
    client.http.base_url = f"{url}/api/v2/"
    client.http.token_url = f"{url}/oauth/token/"
    client.set_api_version(api_version)
    return client


@pytest.fixture(scope="module")
def api(server) -> osu.Client:
    return _client(server, CURRENT)


@pytest.fixture(scope="module")
def legacy_api(server) -> osu.Client:
    return _client(server, LEGACY)


class Demo:
    def __init__(self) -> None:
        data = demo_data()
        self.users = {u["id"]: u for u in data["users"]}
        self.maps = {m["id"]: m for m in data["maps"]}
        self.maps_by_md5 = {m["md5"]: m for m in data["maps"]}
        self.scores = {s["id"]: s for s in data["scores"]}
        self.stats = {(s["id"], s["mode"]): s for s in data["stats"]}

    def unrestricted(self, user_id: int) -> bool:
        return bool(self.users[user_id]["priv"] & Privileges.UNRESTRICTED)

    def best(self, user_id: int) -> list[dict]:
        rows = [s for s in self.scores.values() if s["userid"] == user_id and s["mode"] == 0
                and s["status"] == ScoreStatus.BEST and s["map_md5"] in self.maps_by_md5
                and self.maps_by_md5[s["map_md5"]]["status"] in (MapStatus.RANKED, MapStatus.APPROVED)]
        return sorted(rows, key=lambda s: (-s["pp"], -s["id"]))

    def leaderboard(self, map_id: int) -> list[dict]:
        m = self.maps[map_id]
        rows = [s for s in self.scores.values() if s["map_md5"] == m["md5"] and s["mode"] == m["mode"]
                and s["status"] == ScoreStatus.BEST and self.unrestricted(s["userid"])]
        return sorted(rows, key=lambda s: (-s["score"], s["play_time"], s["id"]))


DEMO = Demo()


def test_osu_py_runs_strict():
    with pytest.raises(KeyError):
        osu.util.get_required({}, "missing")


def test_token(api):
    token = api.auth.get_token()
    assert token and token.count(".") == 2


def test_users_by_id_and_name(api):
    by_id = api.get_user(COOKIEZI, key="id")
    by_name = api.get_user("cookiezi", key="username")
    stats = DEMO.stats[(COOKIEZI, 0)]
    for user in (by_id, by_name):
        assert user.id == COOKIEZI and user.username == "cookiezi" and user.country_code == "KR"
        assert user.statistics.pp == pytest.approx(stats["pp"])
        assert user.statistics.ranked_score == stats["rscore"]
        assert user.statistics.grade_counts.ss == stats["x_count"]
        assert user.join_date is not None
    taiko = api.get_user(COOKIEZI, mode="taiko", key="id")
    assert taiko.statistics.ranked_score == DEMO.stats[(COOKIEZI, 1)]["rscore"]
    users = api.get_users([4, COOKIEZI])
    assert [u.id for u in users] == [4, COOKIEZI]


@pytest.mark.parametrize("shape", ["current", "legacy"])
def test_user_scores(api, legacy_api, shape):
    client = api if shape == "current" else legacy_api
    expected = DEMO.best(COOKIEZI)
    scores = client.get_user_scores(COOKIEZI, "best", mode="osu", limit=100)
    assert [s.id for s in scores] == [s["id"] for s in expected]
    first = scores[0]
    assert first.beatmap.id == DEMO.maps_by_md5[expected[0]["map_md5"]]["id"]
    assert first.rank.value == expected[0]["grade"]
    if shape == "current":
        assert type(first).__name__ == "SoloScore"
        assert first.legacy_total_score == expected[0]["score"] and first.ended_at is not None
    else:
        assert type(first).__name__ == "LegacyScore"
        assert first.score == expected[0]["score"] and first.created_at is not None
        assert first.statistics.count_300 == expected[0]["n300"]


def test_beatmaps_by_id_and_lookup(api):
    m = DEMO.maps[1000]
    for beatmap in (api.get_beatmap(1000), api.lookup_beatmap(checksum=m["md5"]), api.lookup_beatmap(id=1000)):
        assert beatmap.id == 1000 and beatmap.beatmapset_id == m["set_id"] and beatmap.checksum == m["md5"]
        assert beatmap.max_combo == m["max_combo"] and beatmap.ranked.value == 1
        assert beatmap.beatmapset.id == m["set_id"]
    assert [b.id for b in api.get_beatmaps([1001, 1000])] == [1000, 1001]


@pytest.mark.parametrize("shape", ["current", "legacy"])
def test_beatmap_scores(api, legacy_api, shape):
    client = api if shape == "current" else legacy_api
    expected = DEMO.leaderboard(1000)
    board = client.get_beatmap_scores(1000)
    assert [s.id for s in board.scores] == [s["id"] for s in expected]
    assert board.scores[0].user.id == expected[0]["userid"]
    mine = client.get_user_beatmap_score(1000, COOKIEZI)
    place = next(i for i, s in enumerate(expected) if s["userid"] == COOKIEZI)
    assert mine.position == place + 1 and mine.score.id == expected[place]["id"]
    every = client.get_user_beatmap_scores(1000, COOKIEZI)
    assert expected[place]["id"] in [s.id for s in every]


def test_beatmapsets(api):
    in_set = sorted(m["id"] for m in DEMO.maps.values() if m["set_id"] == 100)
    beatmapset = api.get_beatmapset(100)
    assert beatmapset.id == 100 and sorted(b.id for b in beatmapset.beatmaps) == in_set
    assert beatmapset.artist == DEMO.maps[1000]["artist"] and beatmapset.covers.cover_2x


def test_rankings(api):
    ranked = sorted((u for u in DEMO.users if DEMO.unrestricted(u) and DEMO.stats[(u, 0)]["pp"] > 0),
                    key=lambda u: (-DEMO.stats[(u, 0)]["pp"], u))
    rankings = api.get_ranking("osu", "performance")
    assert [r.user.id for r in rankings.ranking] == ranked[:50]
    assert rankings.ranking[0].pp == pytest.approx(DEMO.stats[(ranked[0], 0)]["pp"])
    countries = api.get_ranking("osu", "country")
    assert countries.ranking


@pytest.mark.parametrize("shape", ["current", "legacy"])
def test_scores_by_id(api, legacy_api, shape):
    client = api if shape == "current" else legacy_api
    expected = DEMO.best(COOKIEZI)[0]
    for score in (client.get_score_by_id_only(expected["id"]), client.get_score_by_id("osu", expected["id"])):
        assert score.id == expected["id"] and score.user_id == COOKIEZI
        assert score.beatmap.checksum == expected["map_md5"]


def test_search_most_played_and_other_score_lists(api):
    found = api.search(mode="user", query="cookie")
    assert COOKIEZI in [u.id for u in found.user]
    played = api.get_user_beatmaps(COOKIEZI, "most_played", limit=100)
    mine = [s for s in DEMO.scores.values() if s["userid"] == COOKIEZI and s["mode"] == 0]
    counts: dict[int, int] = {}
    for s in mine:
        beatmap_id = DEMO.maps_by_md5[s["map_md5"]]["id"]
        counts[beatmap_id] = counts.get(beatmap_id, 0) + 1
    assert {p.beatmap_id: p.count for p in played} == counts
    # firsts and recent parse (the demo's plays are older than a day: no recent ones)
    firsts = api.get_user_scores(COOKIEZI, "firsts", mode="osu", limit=100)
    assert all(s.user_id == COOKIEZI for s in firsts)
    assert api.get_user_scores(COOKIEZI, "recent", mode="osu", include_fails=True) == []
