"""The osu!api v1 layer over the demo data, on SQLite and MariaDB: key
checks, field sets in the live API's order, string types, the status and
grade mappings, relax/autopilot through `rx`, and the not-found shapes."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest
from conftest import run
from starlette.testclient import TestClient

from server import fixtures
from server.app import create_app
from server.constants import MapStatus, Privileges, ScoreStatus, level_from_score
from server.db import Database
from server.keys import create_key
from server.migrate import migrate

BEATMAP_KEYS = [
    "beatmapset_id", "beatmap_id", "approved", "total_length", "hit_length", "version",
    "file_md5", "diff_size", "diff_overall", "diff_approach", "diff_drain", "mode",
    "count_normal", "count_slider", "count_spinner", "submit_date", "approved_date",
    "last_update", "artist", "artist_unicode", "title", "title_unicode", "creator",
    "creator_id", "bpm", "source", "tags", "genre_id", "language_id", "favourite_count",
    "rating", "storyboard", "video", "download_unavailable", "audio_unavailable",
    "playcount", "passcount", "packs", "max_combo", "diff_aim", "diff_speed",
    "difficultyrating",
]
USER_KEYS = [
    "user_id", "username", "join_date", "count300", "count100", "count50", "playcount",
    "ranked_score", "total_score", "pp_rank", "level", "pp_raw", "accuracy",
    "count_rank_ss", "count_rank_ssh", "count_rank_s", "count_rank_sh", "count_rank_a",
    "country", "total_seconds_played", "pp_country_rank", "events",
]
SCORES_KEYS = [
    "score_id", "score", "username", "maxcombo", "count50", "count100", "count300",
    "countmiss", "countkatu", "countgeki", "perfect", "enabled_mods", "user_id", "date",
    "rank", "pp", "replay_available",
]
BEST_KEYS = [
    "beatmap_id", "score_id", "score", "maxcombo", "count50", "count100", "count300",
    "countmiss", "countkatu", "countgeki", "perfect", "enabled_mods", "user_id", "date",
    "rank", "pp", "replay_available",
]
RECENT_KEYS = [
    "beatmap_id", "score", "maxcombo", "count50", "count100", "count300", "countmiss",
    "countkatu", "countgeki", "perfect", "enabled_mods", "user_id", "date", "rank",
    "score_id",
]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
INTEGER = re.compile(r"^-?\d+$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
INVALID_KEY = {"error": "Please provide a valid API key."}
APPROVED = {-1: "-2", 0: "0", 1: "-1", 2: "1", 3: "2", 4: "3", 5: "4"}


async def _new_key(url: str) -> str:
    async with Database(url) as db:
        await migrate(db)
        return (await create_key(db, "tests"))[1]


@pytest.fixture(scope="session")
def key(demo_url, client) -> str:
    return run(_new_key(demo_url))


def v1(client, key, path: str, status: int = 200):
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}k={key}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def all_strings(obj: dict, nullable: set[str] = frozenset(), skip: set[str] = frozenset()) -> None:
    for field, value in obj.items():
        if field in skip:
            continue
        if value is None:
            assert field in nullable, f"{field} is null"
        else:
            assert isinstance(value, str), f"{field} is {type(value).__name__}"


def by_id(rows):
    return {row["id"]: row for row in rows}


def unrestricted(user) -> bool:
    return bool(user["priv"] & Privileges.UNRESTRICTED)


# --- keys -------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["get_user", "get_beatmaps", "get_scores", "get_user_best", "get_user_recent", "get_match", "get_replay"])
@pytest.mark.parametrize("key_part", ["", "k=", "k=0123456789abcdef0123456789abcdef01234567"])
def test_missing_or_unknown_key_answers_401(client, endpoint, key_part):
    response = client.get(f"/api/{endpoint}?u=3&b=1000&{key_part}")
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


@pytest.mark.parametrize("prefix", ["/api/", "/api/v1/", "/api//"])
def test_prefixes_and_doubled_slash(client, key, prefix):
    assert v1(client, key, f"{prefix}get_user?u=3")[0]["user_id"] == "3"


def test_post_form_is_answered_like_get(client, key):
    response = client.post("/api/get_user", data={"k": key, "u": "3"})
    assert response.status_code == 200 and response.json()[0]["user_id"] == "3"
    # a form is a few parameters: a huge one is refused before it is read whole
    response = client.post("/api/get_user", data={"k": key, "u": "3", "pad": "x" * 100_000})
    assert response.status_code == 413


# --- get_user ---------------------------------------------------------------


def test_get_user_fields_types_and_values(client, key, demo_data):
    user = by_id(demo_data["users"])[3]
    stats = next(s for s in demo_data["stats"] if s["id"] == 3 and s["mode"] == 0)
    [shown] = v1(client, key, "/api/get_user?u=3")
    assert list(shown) == USER_KEYS
    all_strings(shown, skip={"events"})
    assert shown["events"] == []
    assert shown["username"] == user["name"]
    assert shown["country"] == user["country"].upper()
    assert shown["join_date"] == datetime.fromtimestamp(user["creation_time"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert shown["playcount"] == str(stats["plays"])
    assert shown["ranked_score"] == str(stats["rscore"]) and shown["total_score"] == str(stats["tscore"])
    assert shown["pp_raw"] == str(stats["pp"])
    assert float(shown["accuracy"]) == pytest.approx(stats["acc"], abs=1e-3)
    assert float(shown["level"]) == pytest.approx(level_from_score(stats["tscore"]), abs=1e-3)
    assert (shown["count_rank_ss"], shown["count_rank_ssh"], shown["count_rank_s"], shown["count_rank_sh"], shown["count_rank_a"]) == tuple(
        str(stats[k]) for k in ("x_count", "xh_count", "s_count", "sh_count", "a_count")
    )
    assert shown["total_seconds_played"] == str(stats["playtime"])
    for field in ("count300", "count100", "count50", "pp_rank", "pp_country_rank", "playcount"):
        assert INTEGER.match(shown[field]), field
    assert DATE.match(shown["join_date"])


def test_get_user_ranks_match_the_bancho_api(client, key):
    for user_id in (3, 4, 10, 21):
        [shown] = v1(client, key, f"/api/get_user?u={user_id}")
        stats = client.get(f"/v1/get_player_info?id={user_id}&scope=stats").json()["player"]["stats"]["0"]
        assert (shown["pp_rank"], shown["pp_country_rank"]) == (str(stats["rank"]), str(stats["country_rank"]))


def test_get_user_hit_counts_sum_scores_on_maps_with_leaderboards(client, key, demo_data):
    maps = {m["md5"]: m for m in demo_data["maps"]}
    listed = {MapStatus.RANKED, MapStatus.APPROVED, MapStatus.LOVED}
    mine = [s for s in demo_data["scores"] if s["userid"] == 4 and s["mode"] == 0 and maps[s["map_md5"]]["status"] in listed]
    [shown] = v1(client, key, "/api/get_user?u=4")
    assert shown["count300"] == str(sum(s["n300"] for s in mine))
    assert shown["count50"] == str(sum(s["n50"] for s in mine))


def test_get_user_lookup_forms(client, key):
    assert v1(client, key, "/api/get_user?u=freddie%20benson")[0]["username"] == "Freddie Benson"
    assert v1(client, key, "/api/get_user?u=Freddie_Benson&type=string")[0]["username"] == "Freddie Benson"
    assert v1(client, key, "/api/get_user?u=3&type=id")[0]["user_id"] == "3"
    # forced as a name, "3" is nobody
    assert v1(client, key, "/api/get_user?u=3&type=string") == []


@pytest.mark.parametrize("path", ["/api/get_user?u=3", "/api/get_user?u=freddie%20benson&m=1"])
def test_get_user_is_one_query(client, key, path):
    # the player with their stats; the key, ranks and hit totals come from
    # the snapshots once built (twice: a key newer than the keys' snapshot
    # has it read anew at the next request)
    v1(client, key, path)
    v1(client, key, path)
    before = client.app.state.db.query_count
    assert len(v1(client, key, path)) == 1
    assert client.app.state.db.query_count - before == 1


def test_get_user_hides_restricted_and_unknown(client, key, demo_data):
    restricted = next(u for u in demo_data["users"] if not unrestricted(u))
    assert v1(client, key, f"/api/get_user?u={restricted['id']}") == []
    assert v1(client, key, f"/api/get_user?u={restricted['name']}&type=string") == []
    assert v1(client, key, "/api/get_user?u=4000") == []
    assert v1(client, key, "/api/get_user") == []


def test_get_user_modes_and_rx(client, key, demo_data):
    stats = {(s["id"], s["mode"]): s for s in demo_data["stats"]}
    assert v1(client, key, "/api/get_user?u=3&m=1")[0]["total_score"] == str(stats[(3, 1)]["tscore"])
    assert v1(client, key, "/api/get_user?u=3&m=0&rx=1")[0]["total_score"] == str(stats[(3, 4)]["tscore"])
    assert v1(client, key, "/api/get_user?u=3&m=0&rx=2")[0]["total_score"] == str(stats[(3, 8)]["tscore"])
    # relax mania and autopilot taiko do not exist
    assert v1(client, key, "/api/get_user?u=3&m=3&rx=1") == []
    assert v1(client, key, "/api/get_user?u=3&m=1&rx=2") == []
    # a bad m reads as osu!, never an error
    assert v1(client, key, "/api/get_user?u=3&m=9")[0]["total_score"] == str(stats[(3, 0)]["tscore"])
    assert v1(client, key, "/api/get_user?u=3&m=x")[0]["total_score"] == str(stats[(3, 0)]["tscore"])


# --- get_beatmaps -----------------------------------------------------------


def test_get_beatmaps_by_id_fields_and_types(client, key, demo_data):
    beatmap = demo_data["maps"][0]
    [shown] = v1(client, key, f"/api/get_beatmaps?b={beatmap['id']}")
    assert list(shown) == BEATMAP_KEYS
    all_strings(shown, nullable={"approved_date", "packs", "diff_aim", "diff_speed", "max_combo"})
    assert shown["file_md5"] == beatmap["md5"]
    assert shown["beatmapset_id"] == str(beatmap["set_id"])
    assert shown["approved"] == APPROVED[beatmap["status"]]
    assert shown["playcount"] == str(beatmap["plays"]) and shown["passcount"] == str(beatmap["passes"])
    assert float(shown["difficultyrating"]) == pytest.approx(beatmap["diff"], abs=1e-3)
    for field in ("submit_date", "last_update", "approved_date"):
        assert DATE.match(shown[field])
    for field in ("diff_size", "diff_overall", "diff_approach", "diff_drain", "bpm", "rating"):
        assert NUMBER.match(shown[field]), field


def test_get_beatmaps_status_mapping_and_approved_date(client, key, demo_data):
    shown = {m["beatmap_id"]: m for m in v1(client, key, "/api/get_beatmaps")}
    assert len(shown) == len(demo_data["maps"])
    seen = set()
    for beatmap in demo_data["maps"]:
        row = shown[str(beatmap["id"])]
        assert row["approved"] == APPROVED[beatmap["status"]]
        dated = beatmap["status"] in (MapStatus.RANKED, MapStatus.APPROVED, MapStatus.QUALIFIED, MapStatus.LOVED)
        assert (row["approved_date"] is not None) == dated
        seen.add(beatmap["status"])
    assert seen == set(APPROVED), "the demo data has every status"


def test_get_beatmaps_filters(client, key, demo_data):
    first = demo_data["maps"][0]
    set_maps = [m for m in demo_data["maps"] if m["set_id"] == first["set_id"]]
    assert [m["beatmap_id"] for m in v1(client, key, f"/api/get_beatmaps?s={first['set_id']}")] == [str(m["id"]) for m in set_maps]
    assert [m["beatmap_id"] for m in v1(client, key, f"/api/get_beatmaps?h={first['md5']}")] == [str(first["id"])]
    taiko = [str(m["id"]) for m in demo_data["maps"] if m["mode"] == 1]
    assert sorted(m["beatmap_id"] for m in v1(client, key, "/api/get_beatmaps?m=1")) == sorted(taiko)
    with_converts = v1(client, key, "/api/get_beatmaps?m=1&a=1")
    assert len(with_converts) == len(taiko) + sum(m["mode"] == 0 for m in demo_data["maps"])
    assert {m["mode"] for m in with_converts} == {"1"}
    assert len(v1(client, key, "/api/get_beatmaps?limit=3")) == 3
    assert v1(client, key, "/api/get_beatmaps?b=999999") == []
    assert v1(client, key, "/api/get_beatmaps?b=abc") == []


def test_get_beatmaps_since_pages_by_ranked_date(client, key, demo_data):
    dated = sorted(
        (m for m in demo_data["maps"] if m["status"] in (2, 3, 4, 5) and m["last_update"] > "2022-06-01 00:00:00"),
        key=lambda m: (m["last_update"], m["id"]),
    )
    shown = v1(client, key, "/api/get_beatmaps?since=2022-06-01")
    assert [m["beatmap_id"] for m in shown] == [str(m["id"]) for m in dated]


def test_get_beatmaps_by_mapper(client, key, demo_data):
    # a mapper is known by name; one who also plays here has an id
    rows = v1(client, key, "/api/get_beatmaps?u=nakagawa-kanon&type=string")
    expected = [str(m["id"]) for m in demo_data["maps"] if m["creator"] == "Nakagawa-Kanon"]
    assert [r["beatmap_id"] for r in rows] == expected
    assert all(r["creator_id"] == "0" for r in rows)
    mathi = next(u for u in demo_data["users"] if u["name"] == "Mathi")
    by_name = v1(client, key, "/api/get_beatmaps?u=Mathi")
    assert by_name and all(r["creator_id"] == str(mathi["id"]) for r in by_name)
    assert v1(client, key, f"/api/get_beatmaps?u={mathi['id']}") == by_name
    assert v1(client, key, "/api/get_beatmaps?u=Sotarks&type=string") == []


# --- scores -----------------------------------------------------------------


def test_get_scores_board(client, key, demo_data):
    beatmap = demo_data["maps"][0]
    users = by_id(demo_data["users"])
    expected = sorted(
        (s for s in demo_data["scores"] if s["map_md5"] == beatmap["md5"] and s["mode"] == 0
         and s["status"] == ScoreStatus.BEST and unrestricted(users[s["userid"]])),
        key=lambda s: (-s["score"], s["play_time"], s["id"]),
    )
    rows = v1(client, key, f"/api/get_scores?b={beatmap['id']}&limit=100")
    assert [r["score_id"] for r in rows] == [str(s["id"]) for s in expected]
    assert list(rows[0]) == SCORES_KEYS
    all_strings(rows[0], nullable={"pp"})
    assert rows[0]["username"] == users[expected[0]["userid"]]["name"]
    assert rows[0]["date"] == expected[0]["play_time"]
    # every demo best score has a stored replay
    assert all(r["replay_available"] == "1" for r in rows)


def test_get_scores_mods_are_an_exact_combination(client, key, demo_data):
    beatmap = demo_data["maps"][0]
    rows = v1(client, key, f"/api/get_scores?b={beatmap['id']}&mods=8&limit=100")
    assert rows and all(r["enabled_mods"] == "8" for r in rows)
    assert v1(client, key, f"/api/get_scores?b={beatmap['id']}&mods=HD&limit=100") == rows


def test_get_scores_pp_is_null_where_the_map_gives_none(client, key, demo_data):
    loved = next(m for m in demo_data["maps"] if m["status"] == MapStatus.LOVED)
    rows = v1(client, key, f"/api/get_scores?b={loved['id']}&limit=100")
    assert rows and all(r["pp"] is None for r in rows)


def test_get_scores_for_one_user_gives_best_per_mod_combination(client, key, demo_data):
    beatmap = demo_data["maps"][0]
    candidates = {}
    for s in demo_data["scores"]:
        if s["map_md5"] == beatmap["md5"] and s["mode"] == 0 and s["status"] != ScoreStatus.FAILED:
            candidates.setdefault(s["userid"], []).append(s)
    user_id, plays = max(candidates.items(), key=lambda kv: (len({p["mods"] for p in kv[1]}), -kv[0]))
    best = {}
    for s in sorted(plays, key=lambda s: (-s["score"], s["id"])):
        best.setdefault(s["mods"], s)
    rows = v1(client, key, f"/api/get_scores?b={beatmap['id']}&u={user_id}")
    assert [r["score_id"] for r in rows] == [str(s["id"]) for s in best.values()]


def test_get_scores_unknown(client, key):
    assert v1(client, key, "/api/get_scores?b=999999") == []
    assert v1(client, key, "/api/get_scores") == []


def test_get_user_best(client, key, demo_data):
    maps = {m["md5"]: m for m in demo_data["maps"]}
    expected = sorted(
        (s for s in demo_data["scores"] if s["userid"] == 4 and s["mode"] == 0 and s["status"] == ScoreStatus.BEST
         and maps[s["map_md5"]]["status"] in (MapStatus.RANKED, MapStatus.APPROVED)),
        key=lambda s: (-s["pp"], -s["id"]),
    )
    rows = v1(client, key, "/api/get_user_best?u=4&limit=100")
    assert [r["score_id"] for r in rows] == [str(s["id"]) for s in expected]
    assert list(rows[0]) == BEST_KEYS
    all_strings(rows[0])
    assert rows[0]["beatmap_id"] == str(maps[expected[0]["map_md5"]]["id"])
    assert len(v1(client, key, "/api/get_user_best?u=4")) == min(10, len(expected))
    assert len(v1(client, key, "/api/get_user_best?u=4&limit=1000")) == len(expected[:100])


# --- get_user_recent, get_replay and /osu over a fixture of our own ---------


@pytest.fixture(scope="module")
def recent(backend, tmp_path_factory):
    """A small database with plays from the last hours, a replay file and a
    .osu file."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = lambda delta: (now - delta).strftime("%Y-%m-%d %H:%M:%S")
    md5 = "a" * 32
    data = {
        "users": [{"id": 3, "name": "Recent Player", "country": "de", "priv": 3},
                  {"id": 4, "name": "Hidden Player", "country": "de", "priv": 2}],
        "maps": [{"id": 50, "set_id": 5, "status": 2, "md5": md5, "artist": "A", "title": "T",
                  "version": "V", "creator": "Recent Player", "last_update": "2020-01-01 00:00:00",
                  "total_length": 100, "max_combo": 500, "mode": 0, "diff": 5.0}],
        "scores": [
            {"id": 1, "map_md5": md5, "userid": 3, "score": 1000, "pp": 10.0, "acc": 90.0, "max_combo": 100, "mods": 0,
             "n300": 90, "n100": 10, "n50": 0, "nmiss": 1, "grade": "B", "status": 1, "mode": 0, "play_time": stamp(timedelta(hours=2))},
            {"id": 2, "map_md5": md5, "userid": 3, "score": 500, "pp": 0.0, "acc": 80.0, "max_combo": 50, "mods": 8,
             "n300": 40, "n100": 10, "n50": 0, "nmiss": 5, "grade": "F", "status": 0, "mode": 0, "play_time": stamp(timedelta(hours=1))},
            {"id": 3, "map_md5": md5, "userid": 3, "score": 2000, "pp": 20.0, "acc": 95.0, "max_combo": 300, "mods": 0,
             "n300": 95, "n100": 5, "n50": 0, "nmiss": 0, "grade": "A", "status": 2, "mode": 0, "play_time": stamp(timedelta(days=3))},
            {"id": 4, "map_md5": md5, "userid": 4, "score": 9000, "pp": 90.0, "acc": 99.0, "max_combo": 500, "mods": 0,
             "n300": 99, "n100": 1, "n50": 0, "nmiss": 0, "grade": "S", "status": 2, "mode": 0, "play_time": stamp(timedelta(hours=3))},
        ],
    }
    url = backend.new_database_url()

    async def prepare():
        async with Database(url) as db:
            await migrate(db)
            await fixtures.load(db, data)
            return (await create_key(db, "recent"))[1]

    api_key = run(prepare())
    settings = backend.settings(url, data_dir=tmp_path_factory.mktemp("recent-data"), ingest_token=INGEST_TOKEN)
    settings.replays_dir.mkdir(parents=True)
    settings.beatmaps_dir.mkdir(parents=True)
    (settings.replays_dir / "3.osr").write_bytes(b"\x5d\x00\x00\x20\x00frames")
    (settings.replays_dir / "4.osr").write_bytes(b"restricted player's frames")
    (settings.beatmaps_dir / "50.osu").write_bytes("\ufeffosu file format v14\n\n[General]\n".encode())
    with TestClient(create_app(settings)) as test_client:
        yield test_client, api_key


def test_get_user_recent_last_day_newest_first(recent):
    client, key = recent
    rows = v1(client, key, "/api/get_user_recent?u=3")
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    assert [r["score"] for r in rows] == ["500", "1000"]  # the 3-day-old play is out
    assert list(rows[0]) == RECENT_KEYS
    assert rows[0]["rank"] == "F" and rows[0]["score_id"] is None  # failed: no score id
    assert rows[1]["score_id"] == "1"
    all_strings(rows[0], nullable={"score_id"})
    assert len(v1(client, key, "/api/get_user_recent?u=3&limit=1")) == 1


def test_replay_available_and_get_replay(recent):
    client, key = recent
    [row] = v1(client, key, "/api/get_scores?b=50")
    assert (row["score_id"], row["replay_available"]) == ("3", "1")
    expected = {"content": base64.b64encode(b"\x5d\x00\x00\x20\x00frames").decode(), "encoding": "base64"}
    assert v1(client, key, "/api/get_replay?m=0&s=3") == expected
    assert v1(client, key, "/api/get_replay?m=0&b=50&u=3") == expected
    assert v1(client, key, "/api/get_replay?m=0&b=50&u=3&mods=0") == expected


def test_replay_presence_is_remembered_as_long_as_a_snapshot(recent, backend, tmp_path):
    """Whether a listed score's replay is stored is found out once and then
    remembered up to SNAPSHOT_MAX_AGE, or until this process writes."""
    _, key = recent
    url = recent[0].app.state.settings.database_url

    def available(client: TestClient) -> str:
        [row] = v1(client, key, "/api/get_scores?b=50")
        return row["replay_available"]

    settings = backend.settings(url, data_dir=tmp_path / "remembering", snapshot_max_age=3600)
    settings.replays_dir.mkdir(parents=True)
    with TestClient(create_app(settings)) as client:
        assert available(client) == "0"
        (settings.replays_dir / "3.osr").write_bytes(b"frames")
        assert available(client) == "0"  # remembered
        client.portal.call(client.app.state.db.execute, "UPDATE maps SET plays = plays WHERE id = 50")
        assert available(client) == "1"  # a write through this process: found out anew
    settings = backend.settings(url, data_dir=tmp_path / "fresh", snapshot_max_age=0)
    settings.replays_dir.mkdir(parents=True)
    with TestClient(create_app(settings)) as client:
        assert available(client) == "0"
        (settings.replays_dir / "3.osr").write_bytes(b"frames")
        assert available(client) == "1"  # nothing is kept at age 0


def test_get_beatmaps_favourites_and_rating_from_the_snapshots(recent, backend, tmp_path):
    """A set's favourite count and a map's average rating, counted apart from
    the maps and kept as long as a snapshot: another process's new rating
    shows after SNAPSHOT_MAX_AGE or a write through this process."""
    _, key = recent
    url = recent[0].app.state.settings.database_url
    md5 = "a" * 32

    async def write(*statements: str) -> None:
        async with Database(url) as db:
            for statement in statements:
                await db.execute(statement)

    def shown(client: TestClient) -> tuple[str, str]:
        [row] = v1(client, key, "/api/get_beatmaps?b=50")
        assert [row] == v1(client, key, "/api/get_beatmaps?s=5")
        return row["favourite_count"], row["rating"]

    run(write("DELETE FROM favourites", "DELETE FROM ratings"))
    with TestClient(create_app(backend.settings(url, data_dir=tmp_path, snapshot_max_age=3600))) as client:
        assert shown(client) == ("0", "0")  # none yet
        run(write("INSERT INTO favourites (userid, setid, created_at) VALUES (3, 5, 0), (4, 5, 0), (3, 6, 0)",
                  f"INSERT INTO ratings (userid, map_md5, rating) VALUES (3, '{md5}', 10), (4, '{md5}', 7)"))
        assert shown(client) == ("0", "0")  # kept
        client.portal.call(client.app.state.db.execute, "UPDATE maps SET plays = plays WHERE id = 50")
        assert shown(client) == ("2", "8.5")  # a write here: counted anew
    with TestClient(create_app(backend.settings(url, data_dir=tmp_path, snapshot_max_age=0))) as client:
        run(write(f"INSERT INTO ratings (userid, map_md5, rating) VALUES (5, '{md5}', 1)"))
        assert shown(client) == ("2", "6")
    run(write("DELETE FROM favourites", "DELETE FROM ratings"))


def test_get_user_best_and_recent_check_the_player_in_their_one_query(recent):
    client, key = recent
    db: Database = client.app.state.db
    for path in ("/api/get_user_best?u=3&type=id", "/api/get_user_recent?u=3&type=id"):
        shown = v1(client, key, path)  # the key (read anew after it), the map
        assert shown and v1(client, key, path) == shown
        before = db.query_count
        assert v1(client, key, path) == shown
        assert db.query_count - before == 1
    # user 4 is restricted, with a best score and a recent one: none shown
    for path in ("/api/get_user_best?u=4&type=id", "/api/get_user_recent?u=4&type=id",
                 "/api/get_user_best?u=Hidden Player", "/api/get_user_best?u=999&type=id",
                 "/api/get_user_recent?u=nobody&type=string"):
        assert v1(client, key, path) == [], path
    assert [r["score_id"] for r in v1(client, key, "/api/get_user_best?u=Recent Player")] == ["3"]


def test_get_beatmaps_one_map_from_the_snapshots(recent, backend, tmp_path):
    """One map asked for by id or md5 (a mode aside) is answered from the
    snapshots, with no query once held; its mapper, named with a space, is
    matched to the player by bancho.py's safe name, there and in SQL."""
    _, key = recent
    url = recent[0].app.state.settings.database_url
    with TestClient(create_app(backend.settings(url, data_dir=tmp_path, snapshot_max_age=3600))) as client:
        db: Database = client.app.state.db
        [shown] = v1(client, key, "/api/get_beatmaps?b=50")
        assert (shown["creator"], shown["creator_id"], shown["mode"]) == ("Recent Player", "3", "0")
        before = db.query_count
        assert v1(client, key, "/api/get_beatmaps?b=50") == [shown]
        assert v1(client, key, "/api/get_beatmaps?b=50&m=0") == [shown]
        assert v1(client, key, "/api/get_beatmaps?b=50&m=1") == []  # not a taiko map
        [converted] = v1(client, key, "/api/get_beatmaps?b=50&m=1&a=1")
        assert converted == {**shown, "mode": "1"}
        assert db.query_count == before
        assert v1(client, key, f"/api/get_beatmaps?h={'A' * 32}") == [shown]  # its own snapshot: one query
        assert db.query_count == before + 1
        # by the mapper's id: their name, then the maps (SQL)
        assert v1(client, key, "/api/get_beatmaps?u=3&type=id") == [shown]
        assert v1(client, key, "/api/get_beatmaps?u=Recent Player&type=string") == [shown]
        assert v1(client, key, "/api/get_beatmaps?u=4&type=id") == []
        assert v1(client, key, "/api/get_beatmaps?u=999&type=id") == []
        assert v1(client, key, "/api/get_beatmaps?b=50&u=3&type=id") == [shown]
        assert v1(client, key, "/api/get_beatmaps?b=50&u=4&type=id") == []


@pytest.mark.parametrize(
    "query",
    ["m=0&s=1", "m=0&s=99", "s=3", "m=1&s=3", "m=0&s=4", "m=0&b=50&u=3&mods=8", "m=0&b=50&u=4", "m=0"],
)
def test_get_replay_not_available(recent, query):
    client, key = recent
    assert v1(client, key, f"/api/get_replay?{query}") == {"error": "Replay not available."}


INGEST_TOKEN = "v1-tests-ingest-token"


def test_get_match_unknown_shape(recent):
    client, key = recent
    for query in ("mp=63", "mp=abc", ""):
        assert v1(client, key, f"/api/get_match?{query}") == {"match": 0, "games": []}


def test_get_match_serves_an_open_live_match(recent):
    client, key = recent
    before = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    body = {"name": "v1 test lobby", "host_id": 3, "slots": [{"slot": 0, "user_id": 3}]}
    response = client.put("/ingest/matches/7", json=body, headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
    assert response.status_code == 200, response.text
    shown = v1(client, key, "/api/get_match?mp=7")
    assert list(shown) == ["match", "games"] and shown["games"] == []
    assert list(shown["match"]) == ["match_id", "name", "start_time", "end_time"]
    assert (shown["match"]["match_id"], shown["match"]["name"], shown["match"]["end_time"]) == ("7", "v1 test lobby", None)
    started = datetime.strptime(shown["match"]["start_time"], "%Y-%m-%d %H:%M:%S")
    assert abs((started - before).total_seconds()) <= 5
    # an update keeps the start time
    client.put("/ingest/matches/7", json={**body, "name": "renamed"}, headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
    again = v1(client, key, "/api/get_match?mp=7")["match"]
    assert (again["name"], again["start_time"]) == ("renamed", shown["match"]["start_time"])
    client.delete("/ingest/matches/7", headers={"Authorization": f"Bearer {INGEST_TOKEN}"})
    assert v1(client, key, "/api/get_match?mp=7") == {"match": 0, "games": []}


def test_beatmap_file(recent):
    client, _ = recent
    response = client.get("/osu/50")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("osu file format v14")
    assert client.get("/osu/51").status_code == 404
    assert client.get("/osu/abc").status_code == 404
