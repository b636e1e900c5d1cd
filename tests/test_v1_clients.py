"""Published osu!api v1 client libraries from PyPI, pointed at this service by
their base URL alone, read the demo data (and a fixture of recent plays)
back as the library models it.

- ossapi's `OssapiV1` (sync, requests): `BASE_URL` overridden on the instance.
- aiosu's v1 `Client` (async, pydantic-validated): its `base_url` keyword.

Every value is checked against `server.demo.demo_data()` computed here, not
against what the server says. One demo server is shared by the module; the
recent-plays test starts its own through the plugin's `osu_api_server`."""

from __future__ import annotations

import asyncio
import base64
import json
import lzma
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

# the clients come with the `test` extra (pip install -e '.[test]')
import aiosu
import httpx
import pydantic  # aiosu's models are pydantic models
import pytest
from aiosu.exceptions import APIException
from aiosu.models import BeatmapRankStatus, Gamemode, Mods
from aiosu.v1 import Client as AiosuV1
from ossapi import InvalidKeyException, OssapiV1, ReplayUnavailableException
from ossapi.enums import RankStatus
from ossapi.ossapi import User as OssapiV1User

from server.constants import MapStatus, Privileges, ScoreStatus, level_from_score
from server.demo import demo_data
from server.pytest_plugin import ServerFactory, ServerURL

UTC = timezone.utc
COOKIEZI = 3
# bancho.py map status -> v1 `approved` (README, "How bancho.py's data maps onto v1")
APPROVED = {
    MapStatus.NOT_SUBMITTED: -2, MapStatus.PENDING: 0, MapStatus.UPDATE_AVAILABLE: -1,
    MapStatus.RANKED: 1, MapStatus.APPROVED: 2, MapStatus.QUALIFIED: 3, MapStatus.LOVED: 4,
}
DATED = {MapStatus.RANKED, MapStatus.APPROVED, MapStatus.QUALIFIED, MapStatus.LOVED}


# --- the demo data, as the tests expect to read it back -----------------------


class Demo:
    def __init__(self) -> None:
        data = demo_data()
        self.users = {u["id"]: u for u in data["users"]}
        self.maps = {m["id"]: m for m in data["maps"]}
        self.maps_by_md5 = {m["md5"]: m for m in data["maps"]}
        self.scores = data["scores"]
        self.stats = {(s["id"], s["mode"]): s for s in data["stats"]}
        # stored replays (base64) and .osu files, keyed by score / map id
        self.replays = {int(k): v for k, v in data.get("replays", {}).items()}
        self.beatmap_files = {int(k): v for k, v in data.get("beatmap_files", {}).items()}

    def replay_available(self, score_id: int) -> bool:
        return score_id in self.replays

    def without_replay(self, user_id: int, mode: int = 0) -> dict[str, Any]:
        """One of the player's scores with no stored replay."""
        return next(s for s in self.scores
                    if s["userid"] == user_id and s["mode"] == mode and s["id"] not in self.replays)

    def unrestricted(self, user_id: int) -> bool:
        return bool(self.users[user_id]["priv"] & Privileges.UNRESTRICTED)

    def ranks(self, user_id: int, mode: int) -> tuple[int, int]:
        """(global, country) rank by pp among unrestricted players."""
        pp = self.stats[(user_id, mode)]["pp"]
        country = self.users[user_id]["country"]
        above = [u for u in self.users if self.unrestricted(u) and self.stats[(u, mode)]["pp"] > pp]
        return 1 + len(above), 1 + sum(self.users[u]["country"] == country for u in above)

    def leaderboard(self, map_id: int, mode: int = 0) -> list[dict[str, Any]]:
        md5 = self.maps[map_id]["md5"]
        rows = [s for s in self.scores
                if s["map_md5"] == md5 and s["mode"] == mode and s["status"] == ScoreStatus.BEST
                and self.unrestricted(s["userid"])]
        return sorted(rows, key=lambda s: (-s["score"], s["play_time"], s["id"]))[:50]

    def best(self, user_id: int, mode: int = 0, limit: int = 10) -> list[dict[str, Any]]:
        rows = [s for s in self.scores
                if s["userid"] == user_id and s["mode"] == mode and s["status"] == ScoreStatus.BEST
                and self.maps_by_md5[s["map_md5"]]["status"] in (MapStatus.RANKED, MapStatus.APPROVED)]
        return sorted(rows, key=lambda s: (-s["pp"], -s["id"]))[:limit]

    def set_ids(self) -> list[int]:
        return sorted({m["set_id"] for m in self.maps.values()})

    def board_map(self, status: MapStatus, mode: int = 0) -> int:
        """The map of that status and mode with the longest leaderboard."""
        ids = [i for i, m in self.maps.items() if m["status"] == status and m["mode"] == mode]
        return max(ids, key=lambda i: (len(self.leaderboard(i, mode)), -i))

    def best_player(self) -> int:
        """The unrestricted player with the most best scores (mode 0)."""
        return max((u for u in self.users if self.unrestricted(u)), key=lambda u: (len(self.best(u, limit=100)), -u))

    def with_replay(self, mode: int = 0) -> list[dict[str, Any]]:
        """Up to two scores of unrestricted players with a stored replay."""
        return [s for s in self.scores
                if s["id"] in self.replays and s["mode"] == mode and self.unrestricted(s["userid"])][:2]


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    """One demo-data server for the module (the plugin's fixture is
    function-scoped; its factory is what it wraps)."""
    factory = ServerFactory(tmp_path_factory.mktemp("v1_clients"))
    try:
        yield factory(env={"INGEST_TOKEN": INGEST_TOKEN})
    finally:
        factory.stop_all()


INGEST_TOKEN = "v1-clients-ingest-token"


def open_live_match(url: ServerURL, match_id: int, name: str) -> None:
    """Report an open multiplayer match through the ingest API."""
    response = httpx.put(
        f"{url}/ingest/matches/{match_id}",
        json={"name": name, "host_id": 3, "slots": [{"slot": 0, "user_id": 3}]},
        headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
    )
    assert response.status_code == 200, response.text


def ossapi_client(url: ServerURL, key: str | None = None) -> OssapiV1:
    api = OssapiV1(key or url.api_key)
    api.BASE_URL = f"{url}/api/"
    return api


def run_aiosu(url: ServerURL, call, key: str | None = None):
    """Run `call(client)` on an aiosu v1 client pointed at the server."""
    async def main():
        async with AiosuV1(key or url.api_key, base_url=str(url)) as client:
            return await call(client)

    return asyncio.run(main())


# --- ossapi ---------------------------------------------------------------------


def test_ossapi_get_user_by_id_and_name(server, demo):
    api = ossapi_client(server)
    stats = demo.stats[(COOKIEZI, 0)]
    rank, country_rank = demo.ranks(COOKIEZI, 0)
    by_id = api.get_user(COOKIEZI)
    by_name = api.get_user("cookiezi", user_type="string")
    # without `type` (ossapi sends it only when asked) a name is told from an id
    by_name_detected = api.get_user("Cookiezi")
    for user in (by_id, by_name, by_name_detected):
        assert isinstance(user, OssapiV1User)
        assert user.user_id == COOKIEZI
        assert user.username == "cookiezi"
        assert user.country == "KR"
        assert user.rank == rank and isinstance(user.rank, int)
        assert user.country_rank == country_rank
        assert isinstance(user.level, float)
        assert user.level == pytest.approx(level_from_score(stats["tscore"]), rel=1e-5)
        assert user.accuracy == stats["acc"] and isinstance(user.accuracy, float)
        assert user.pp_raw == stats["pp"]
        assert user.playcount == stats["plays"]
        assert user.ranked_score == stats["rscore"] and user.total_score == stats["tscore"]
        assert user.count_rank_a == stats["a_count"]
        assert user.seconds_played == stats["playtime"]
        assert user.join_date == datetime.fromtimestamp(demo.users[COOKIEZI]["creation_time"], UTC)
        assert user.events == []
    # all digits without `type` is an id; unknown and restricted players are []
    assert api.get_user("999999") == []
    assert api.get_user(9) == []  # restricted in the demo data


def test_ossapi_get_beatmaps_by_id_and_set(server, demo):
    api = ossapi_client(server)
    expected = demo.maps[1002]
    [beatmap] = api.get_beatmaps(beatmap_id=1002)
    assert beatmap.beatmap_id == 1002 and beatmap.beatmapset_id == expected["set_id"]
    assert beatmap.version == expected["version"] and beatmap.title == expected["title"]
    assert beatmap.beatmap_hash == expected["md5"]
    # ossapi keeps `approved` as the raw string; it must name a RankStatus
    assert RankStatus(int(beatmap.approved)) is RankStatus.RANKED
    assert beatmap.mode == 0
    assert beatmap.star_rating == expected["diff"]
    assert beatmap.circle_size == expected["cs"] and beatmap.approach_rate == expected["ar"]
    assert beatmap.max_combo == expected["max_combo"] and beatmap.total_length == expected["total_length"]
    updated = _dt(expected["last_update"]).replace(tzinfo=UTC)
    assert beatmap.last_update == beatmap.submit_date == beatmap.approved_date == updated
    assert beatmap.storyboard is False and beatmap.video is False
    assert [b.beatmap_id for b in api.get_beatmaps(beatmap_hash=expected["md5"])] == [1002]
    # every set: its maps, each status's `approved`, each map's mode, the dates
    for set_id in demo.set_ids():
        rows = sorted(api.get_beatmaps(beatmapset_id=set_id), key=lambda b: b.beatmap_id)
        maps = sorted((m for m in demo.maps.values() if m["set_id"] == set_id), key=lambda m: m["id"])
        assert [b.beatmap_id for b in rows] == [m["id"] for m in maps]
        for b, m in zip(rows, maps, strict=True):
            assert RankStatus(int(b.approved)).value == APPROVED[m["status"]]
            assert b.mode == m["mode"]
            assert b.approved_date == (_dt(m["last_update"]).replace(tzinfo=UTC) if m["status"] in DATED else None)
    assert api.get_beatmaps(beatmap_id=999999) == []


def test_ossapi_get_scores_on_a_ranked_map(server, demo):
    api = ossapi_client(server)
    map_id = demo.board_map(MapStatus.RANKED)
    expected = demo.leaderboard(map_id)
    assert len(expected) >= 3
    scores = api.get_scores(map_id)
    assert len(scores) == len(expected)
    assert [s.replay_id for s in scores] == [e["id"] for e in expected]
    assert [s.user_id for s in scores] == [e["userid"] for e in expected]
    assert [s.username for s in scores] == [demo.users[e["userid"]]["name"] for e in expected]
    top, first = scores[0], expected[0]
    assert top.beatmap_id == map_id  # injected by ossapi
    assert top.score == first["score"] and top.max_combo == first["max_combo"]
    assert top.count_300 == first["n300"] and top.count_miss == first["nmiss"]
    assert top.mods.value == first["mods"]
    assert top.perfect is bool(first["perfect"])
    assert top.rank == first["grade"]
    assert top.pp == first["pp"]
    assert [s.replay_available for s in scores] == [demo.replay_available(e["id"]) for e in expected]
    assert top.date == _dt(first["play_time"]).replace(tzinfo=UTC)
    # a loved map's scores award no pp: null, read as None
    loved_id = demo.board_map(MapStatus.LOVED)
    loved = api.get_scores(loved_id)
    assert [s.replay_id for s in loved] == [e["id"] for e in demo.leaderboard(loved_id)]
    assert loved and all(s.pp is None for s in loved)
    # another mode through `m`
    taiko_id = demo.board_map(MapStatus.RANKED, mode=1)
    taiko = api.get_scores(taiko_id, mode=1)
    assert taiko and [s.replay_id for s in taiko] == [e["id"] for e in demo.leaderboard(taiko_id, mode=1)]
    # `mods` as a bitmask is an exact combination
    for mods in {e["mods"] for e in expected}:
        combination = api.get_scores(map_id, mods=mods)
        assert [s.replay_id for s in combination] == [e["id"] for e in expected if e["mods"] == mods]


def test_ossapi_get_user_best(server, demo):
    api = ossapi_client(server)
    player = demo.best_player()
    expected = demo.best(player)
    assert len(expected) >= 2
    best = api.get_user_best(player)
    assert [s.replay_id for s in best] == [e["id"] for e in expected]
    assert [s.beatmap_id for s in best] == [demo.maps_by_md5[e["map_md5"]]["id"] for e in expected]
    assert [s.pp for s in best] == [e["pp"] for e in expected]
    assert all(s.user_id == player and s.username is None for s in best)
    assert [s.replay_available for s in best] == [demo.replay_available(e["id"]) for e in expected]
    assert [s.date for s in best] == [_dt(e["play_time"]).replace(tzinfo=UTC) for e in expected]
    # the demo scores are from 2024: nothing in the last 24 hours
    assert api.get_user_recent(player) == []


def test_ossapi_get_match_unknown(server):
    # the official `{"match": 0, "games": []}`: ossapi indexes into the 0
    with pytest.raises(TypeError, match="not subscriptable"):
        ossapi_client(server).get_match(1)


def test_ossapi_get_match_of_an_open_match(server):
    open_live_match(server, 11, "ossapi lobby")
    info = ossapi_client(server).get_match(11)
    assert (info.match.match_id, info.match.name, info.match.end_time, info.games) == (11, "ossapi lobby", None, [])
    assert info.match.start_time is not None


def test_ossapi_get_replay(server, demo):
    api = ossapi_client(server)
    # the replays the demo data stores (if any) come back byte for byte
    for score in demo.with_replay():
        assert api.get_replay(score_id=score["id"], mode=0) == demo.replays[score["id"]]
    with pytest.raises(ReplayUnavailableException):
        api.get_replay(score_id=demo.without_replay(COOKIEZI)["id"], mode=0)
    with pytest.raises(ReplayUnavailableException):
        api.get_replay(score_id=999999, mode=0)
    with pytest.raises(ReplayUnavailableException):
        api.get_replay(beatmap_id=999999, user=COOKIEZI, mode=0)


def test_ossapi_invalid_key(server):
    with pytest.raises(InvalidKeyException):
        ossapi_client(server, key="0" * 40).get_user(COOKIEZI)


# --- aiosu ----------------------------------------------------------------------


def test_aiosu_get_user_by_id_and_name(server, demo):
    async def call(client):
        return (await client.get_user(COOKIEZI), await client.get_user("cookiezi", qtype="string"))

    stats = demo.stats[(COOKIEZI, 0)]
    rank, country_rank = demo.ranks(COOKIEZI, 0)
    level = level_from_score(stats["tscore"])
    for user in run_aiosu(server, call):
        assert isinstance(user, aiosu.models.User)
        assert user.id == COOKIEZI and user.username == "cookiezi"
        assert user.country_code == "KR"
        assert user.join_date == datetime.fromtimestamp(demo.users[COOKIEZI]["creation_time"], UTC).replace(tzinfo=None)
        s = user.statistics
        assert s.global_rank == rank and isinstance(s.global_rank, int)
        assert s.country_rank == country_rank
        assert s.level.current == int(level) and s.level.progress == pytest.approx((level - int(level)) * 100, abs=1)
        assert s.hit_accuracy == stats["acc"] and isinstance(s.hit_accuracy, float)
        assert s.pp == stats["pp"] and s.is_ranked is True
        assert s.play_count == stats["plays"] and s.play_time == stats["playtime"]
        assert s.ranked_score == stats["rscore"] and s.total_score == stats["tscore"]
        assert s.grade_counts.a == stats["a_count"] and s.grade_counts.ssh == stats["xh_count"]

    async def unknown(client):
        return await client.get_user(999999)

    # aiosu turns `[]` into its own 404
    with pytest.raises(APIException) as raised:
        run_aiosu(server, unknown)
    assert raised.value.status == 404 and str(raised.value) == "User not found"


def test_aiosu_get_beatmaps_by_id_and_set(server, demo):
    set_ids = demo.set_ids()

    async def call(client):
        by_id = await client.get_beatmap(beatmap_id=1002)
        by_hash = await client.get_beatmap(hash=demo.maps[1002]["md5"])
        assert [s.beatmaps[0].id for s in by_hash] == [1002]
        by_set = {}
        for set_id in set_ids:
            mode = {m["mode"] for m in demo.maps.values() if m["set_id"] == set_id}.pop()
            by_set[set_id] = await client.get_beatmap(beatmapset_id=set_id, mode=Gamemode(mode))
        return by_id, by_set

    by_id, by_set = run_aiosu(server, call)
    expected = demo.maps[1002]
    [beatmapset] = by_id
    assert isinstance(beatmapset, aiosu.models.Beatmapset)
    assert beatmapset.id == expected["set_id"] and beatmapset.title == expected["title"]
    assert beatmapset.status is BeatmapRankStatus.RANKED
    updated = _dt(expected["last_update"])
    assert beatmapset.submitted_date == beatmapset.ranked_date == beatmapset.last_updated == updated
    [beatmap] = beatmapset.beatmaps
    assert beatmap.id == 1002 and beatmap.version == expected["version"]
    assert beatmap.mode is Gamemode.STANDARD and beatmap.status is BeatmapRankStatus.RANKED
    assert beatmap.difficulty_rating == expected["diff"] and beatmap.checksum == expected["md5"]
    assert beatmap.cs == expected["cs"] and beatmap.ar == expected["ar"]
    assert beatmap.max_combo == expected["max_combo"] and beatmap.total_length == expected["total_length"]
    assert beatmap.last_updated == updated
    for set_id, sets in by_set.items():
        maps = sorted((m for m in demo.maps.values() if m["set_id"] == set_id), key=lambda m: m["id"])
        rows = sorted((s.beatmaps[0] for s in sets), key=lambda b: b.id)
        assert [b.id for b in rows] == [m["id"] for m in maps]
        for s, m in zip(sorted(sets, key=lambda s: s.beatmaps[0].id), maps, strict=True):
            assert s.status is BeatmapRankStatus(APPROVED[m["status"]])
            assert s.beatmaps[0].mode is Gamemode(m["mode"])
            assert s.ranked_date == (_dt(m["last_update"]) if m["status"] in DATED else None)


def test_aiosu_get_scores_on_a_ranked_map(server, demo):
    map_id = demo.board_map(MapStatus.RANKED)
    loved_id = demo.board_map(MapStatus.LOVED)
    taiko_id = demo.board_map(MapStatus.RANKED, mode=1)
    expected = demo.leaderboard(map_id)
    assert len(expected) >= 3
    combinations = sorted({e["mods"] for e in expected})

    async def call(client):
        return (await client.get_beatmap_scores(map_id), await client.get_beatmap_scores(loved_id),
                await client.get_beatmap_scores(taiko_id, mode=Gamemode.TAIKO),
                # aiosu sends `mods` as acronyms ("HD", "HDDT", and "NM" for none)
                [await client.get_beatmap_scores(map_id, mods=Mods(m)) for m in combinations])

    scores, loved, taiko, by_mods = run_aiosu(server, call)
    assert len(scores) == len(expected)
    assert [s.id for s in scores] == [e["id"] for e in expected]
    assert [s.user_id for s in scores] == [e["userid"] for e in expected]
    top, first = scores[0], expected[0]
    assert isinstance(top, aiosu.models.Score)
    assert top.beatmap_id == map_id and top.mode is Gamemode.STANDARD
    assert top.score == first["score"] and top.max_combo == first["max_combo"]
    assert top.statistics.count_300 == first["n300"] and top.statistics.count_miss == first["nmiss"]
    assert int(top.mods) == first["mods"]
    assert top.rank == first["grade"] and top.passed is True
    assert top.perfect is bool(first["perfect"])
    assert top.pp == first["pp"]
    assert [s.replay for s in scores] == [demo.replay_available(e["id"]) for e in expected]
    assert top.created_at == _dt(first["play_time"])
    # aiosu computes accuracy itself from the hit counts
    assert top.accuracy == pytest.approx(first["acc"] / 100, abs=1e-4)
    assert [s.id for s in loved] == [e["id"] for e in demo.leaderboard(loved_id)]
    assert loved and all(s.pp is None for s in loved)
    assert taiko and [s.id for s in taiko] == [e["id"] for e in demo.leaderboard(taiko_id, mode=1)]
    assert all(s.mode is Gamemode.TAIKO for s in taiko)
    for mods, combination in zip(combinations, by_mods, strict=True):
        assert [s.id for s in combination] == [e["id"] for e in expected if e["mods"] == mods]


def test_aiosu_get_user_best(server, demo):
    player = demo.best_player()

    async def call(client):
        return await client.get_user_bests(player), await client.get_user_recents(player)

    best, recent = run_aiosu(server, call)
    expected = demo.best(player, limit=100)
    assert len(expected) >= 2
    assert [s.id for s in best] == [e["id"] for e in expected]
    assert [s.beatmap_id for s in best] == [demo.maps_by_md5[e["map_md5"]]["id"] for e in expected]
    assert [s.pp for s in best] == [e["pp"] for e in expected]
    assert [s.created_at for s in best] == [_dt(e["play_time"]) for e in expected]
    assert all(s.user_id == player and s.passed for s in best)
    assert [s.replay for s in best] == [demo.replay_available(e["id"]) for e in expected]
    assert recent == []


def test_aiosu_get_match_unknown(server):
    # the official `{"match": 0, "games": []}` fails aiosu's Match validation
    with pytest.raises(pydantic.ValidationError, match="Invalid match type"):
        run_aiosu(server, lambda client: client.get_match(1))


def test_aiosu_get_match_of_an_open_match(server):
    open_live_match(server, 12, "aiosu lobby")
    match = run_aiosu(server, lambda client: client.get_match(12))
    assert (match.id, match.name, match.end_time, match.games) == (12, "aiosu lobby", None, [])
    assert match.start_time is not None


def test_aiosu_get_replay(server, demo):
    async def call(client):
        return [await client.get_replay(score_id=s["id"]) for s in demo.with_replay()]

    for score, replay in zip(demo.with_replay(), run_aiosu(server, call), strict=True):
        assert replay.encoding == "base64" and replay.content == demo.replays[score["id"]]
    # `{"error": "Replay not available."}` comes with 200, as the official
    # API sends it; aiosu then fails to validate it as a replay
    score_id = demo.without_replay(COOKIEZI)["id"]
    with pytest.raises(pydantic.ValidationError, match="content"):
        run_aiosu(server, lambda client: client.get_replay(score_id=score_id))


def test_aiosu_beatmap_file(server, demo):
    # the .osu files the demo data stores (if any) come back as text
    shipped = list(demo.beatmap_files.items())[:2]

    async def call(client):
        return [(await client.get_beatmap_osu(map_id)).read() for map_id, _ in shipped]

    assert run_aiosu(server, call) == [text for _, text in shipped]
    # no such .osu file: 404, which aiosu raises
    with pytest.raises(APIException) as raised:
        run_aiosu(server, lambda client: client.get_beatmap_osu(999999))
    assert raised.value.status == 404


def test_aiosu_invalid_key(server):
    with pytest.raises(APIException) as raised:
        run_aiosu(server, lambda client: client.get_user(COOKIEZI), key="0" * 40)
    assert raised.value.status == 401
    assert str(raised.value) == "Please provide a valid API key."


# --- recent plays, over a fixture of our own, through the plugin's fixture -------


OSU_FILE = "osu file format v14\n\n[General]\nMode: 0\n\n[Metadata]\nTitle:FREEDOM DiVE\nArtist:xi\n"


def test_recent_plays_and_replays(osu_api_server, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = lambda delta: (now - delta).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    md5 = "49432582c252e289bccb6bafb63dfd6c"
    replay = lzma.compress(b"0|256|-500|0,-1|256|-500|0,", format=lzma.FORMAT_ALONE)
    common = {"map_md5": md5, "userid": 3, "mode": 0, "max_combo": 800, "acc": 95.0,
              "n100": 20, "n50": 1, "ngeki": 90, "nkatu": 5}
    fixture = {
        "users": [{"id": 3, "name": "Tool Author", "country": "de", "priv": 3,
                   "creation_time": 1_600_000_000}],
        "maps": [{"id": 1000, "set_id": 100, "status": 2, "md5": md5, "artist": "xi",
                  "title": "FREEDOM DiVE", "version": "FOUR DIMENSIONS",
                  "creator": "Nakagawa-Kanon", "last_update": "2014-05-01 12:00:00",
                  "total_length": 258, "max_combo": 2385, "mode": 0, "diff": 7.1}],
        "scores": [
            # a pass an hour ago (the player's best), a fail half an hour ago,
            # and a pass from three days ago that the 24-hour window leaves out
            {**common, "id": 11, "score": 900000, "pp": 300.5, "mods": 8, "n300": 700,
             "nmiss": 2, "grade": "A", "status": 2, "play_time": stamp(timedelta(hours=1))},
            {**common, "id": 12, "score": 120000, "pp": 0.0, "mods": 0, "n300": 150,
             "nmiss": 9, "grade": "F", "status": 0, "play_time": stamp(timedelta(minutes=30))},
            {**common, "id": 13, "score": 500000, "pp": 200.0, "mods": 0, "n300": 650,
             "nmiss": 5, "grade": "B", "status": 1, "play_time": stamp(timedelta(days=3))},
        ],
        "replays": {"11": base64.b64encode(replay).decode("ascii")},
        "beatmap_files": {"1000": OSU_FILE},
    }
    path = tmp_path / "recent.json"
    path.write_text(json.dumps(fixture))
    server = osu_api_server(path)

    # ossapi
    api = ossapi_client(server)
    failed, passed = api.get_user_recent(3)
    assert failed.replay_id is None and failed.rank == "F" and failed.score == 120000
    assert passed.replay_id == 11 and passed.rank == "A" and passed.mods.value == 8
    assert passed.date == now - timedelta(hours=1) and failed.date == now - timedelta(minutes=30)
    assert {failed.beatmap_id, passed.beatmap_id} == {1000}
    # recent rows carry neither pp nor replay_available
    assert passed.pp is None and passed.replay_available is None
    assert api.get_user_recent("Tool Author", user_type="string")[1].replay_id == 11
    [best] = api.get_user_best(3)
    assert best.replay_id == 11 and best.replay_available is True
    assert base64.b64decode(api.get_replay(score_id=11, mode=0)) == replay
    assert base64.b64decode(api.get_replay(beatmap_id=1000, user=3, mode=0)) == replay
    user = api.get_user(3)
    assert user.country == "DE" and user.rank == 0 and user.pp_raw == 0.0  # a zeroed stats row

    # aiosu
    async def call(client):
        return (await client.get_user_recents(3), await client.get_replay(score_id=11),
                await client.get_beatmap_scores(1000), await client.get_beatmap_osu(1000))

    recent, replay_answer, board, osu_file = run_aiosu(server, call)
    failed, passed = recent
    assert failed.id is None and failed.passed is False and failed.rank == "F"
    assert passed.id == 11 and passed.passed is True and int(passed.mods) == 8
    assert passed.created_at == (now - timedelta(hours=1)).replace(tzinfo=None)
    assert passed.beatmap_id == failed.beatmap_id == 1000
    assert replay_answer.encoding == "base64" and base64.b64decode(replay_answer.content) == replay
    [top] = board
    assert top.id == 11 and top.replay is True and top.pp == 300.5
    # /osu/<id> as text/plain, which aiosu insists on
    assert osu_file.read() == OSU_FILE
