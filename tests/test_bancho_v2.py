"""bancho.py's own /v2 API over the demo data, on both databases: every
route, its filters and paging totals, its objects' fields and JSON types in
bancho.py's models' order, its 404 bodies, pydantic's 422 items, and the
trailing slash's redirect. Expectations come from the demo data as Python
holds it, not from the SQL under test."""

from __future__ import annotations

import time

import pytest
from conftest import run

from server.db import Database
from server.queries import live

PLAYER_FIELDS = ["id", "name", "safe_name", "priv", "country", "silence_end", "donor_end", "creation_time",
                 "latest_activity", "clan_id", "clan_priv", "preferred_mode", "play_style", "custom_badge_name",
                 "custom_badge_icon", "userpage_content"]
STATS_FIELDS = ["id", "mode", "tscore", "rscore", "pp", "plays", "playtime", "acc", "max_combo", "total_hits",
                "replay_views", "xh_count", "x_count", "sh_count", "s_count", "a_count"]
MAP_FIELDS = ["id", "server", "set_id", "status", "md5", "artist", "title", "version", "creator", "filename",
              "last_update", "total_length", "max_combo", "frozen", "plays", "passes", "mode", "bpm", "cs", "ar",
              "od", "hp", "diff"]
SCORE_FIELDS = ["id", "map_md5", "userid", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50",
                "nmiss", "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "perfect"]
CLAN_FIELDS = ["id", "name", "tag", "owner", "created_at"]


def ok(client, path: str, **params) -> dict:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == ["status", "data", "meta"] and body["status"] == "success"
    return body


def ids(body: dict) -> list[int]:
    return [row["id"] for row in body["data"]]


# --- players


def test_players_page_in_id_order_with_the_total(client, demo_data):
    every = sorted([1] + [u["id"] for u in demo_data["users"]])
    first = ok(client, "/v2/players")
    assert ids(first) == every[:50]
    assert first["meta"] == {"total": len(every), "page": 1, "page_size": 50}
    second = ok(client, "/v2/players", page=2, page_size=5)
    assert ids(second) == every[5:10]
    assert second["meta"] == {"total": len(every), "page": 2, "page_size": 5}
    past = ok(client, "/v2/players", page=99, page_size=10)
    assert past["data"] == [] and past["meta"]["total"] == len(every)
    row = first["data"][0]
    assert list(row) == PLAYER_FIELDS
    assert "email" not in row and "pw_bcrypt" not in row and "api_key" not in row


def test_players_filter_by_exact_values(client, demo_data):
    users = demo_data["users"]
    country = users[0]["country"]
    by_country = ok(client, "/v2/players", country=country.upper(), page_size=100)  # MySQL compares without case
    assert ids(by_country) == sorted(u["id"] for u in users if u["country"] == country)
    clan = users[0]["clan_id"]
    in_clan = ok(client, "/v2/players", clan_id=clan, page_size=100)
    assert ids(in_clan) == sorted(u["id"] for u in users if u.get("clan_id", 0) == clan)
    assert in_clan["meta"]["total"] == len(in_clan["data"])
    both = ok(client, "/v2/players", clan_id=clan, priv=users[0]["priv"], page_size=100)
    assert ids(both) == sorted(u["id"] for u in users if u.get("clan_id", 0) == clan and u["priv"] == users[0]["priv"])
    assert ok(client, "/v2/players", priv=2**70)["data"] == []  # past SQL's integers: no row, no error


def test_one_player_restricted_ones_too(client, demo_data):
    restricted = next(u for u in demo_data["users"] if not u["priv"] & 1)
    body = ok(client, f"/v2/players/{restricted['id']}")
    assert body["data"]["id"] == restricted["id"] and body["data"]["name"] == restricted["name"]
    assert body["meta"] == {}
    missing = client.get("/v2/players/999999")
    assert (missing.status_code, missing.json()) == (404, {"status": "error", "error": "Player not found."})
    assert client.get(f"/v2/players/{2**64}").status_code == 404


def test_player_stats_one_mode_and_every_mode(client, demo_data):
    mine = sorted((s for s in demo_data["stats"] if s["id"] == 3), key=lambda s: s["mode"])
    one = ok(client, "/v2/players/3/stats/0")["data"]
    assert list(one) == STATS_FIELDS
    assert isinstance(one["pp"], float) and isinstance(one["acc"], float)
    assert (one["tscore"], one["plays"]) == (mine[0]["tscore"], mine[0]["plays"])
    every = ok(client, "/v2/players/3/stats", page_size=100)
    assert [s["mode"] for s in every["data"]] == [s["mode"] for s in mine]
    assert every["meta"]["total"] == len(mine)
    missing = client.get("/v2/players/3/stats/7")
    assert (missing.status_code, missing.json()) == (404, {"status": "error", "error": "Player stats not found."})
    nobody = ok(client, "/v2/players/999999/stats")
    assert nobody["data"] == [] and nobody["meta"]["total"] == 0


def test_player_status_while_online_and_the_bot_always(client, demo_url):
    bot = ok(client, "/v2/players/1/status")["data"]
    assert list(bot) == ["login_time", "action", "info_text", "mode", "mods", "beatmap_id"]
    assert bot["action"] == 0 and bot["beatmap_id"] == 0 and isinstance(bot["login_time"], int)
    offline = client.get("/v2/players/3/status")
    assert (offline.status_code, offline.json()) == (404, {"status": "error", "error": "Player status not found."})

    async def with_session(db_call):
        async with Database(demo_url) as db:
            return await db_call(db)

    md5 = client.get("/v1/get_map_info", params={"id": 1000}).json()["map"]["md5"]
    now = int(time.time())
    run(with_session(lambda db: live.put_session(db, 3, {"login_time": now - 60.5, "action": 2, "info_text": "playing",
                                                         "mode": 0, "mods": 8, "map_md5": md5}, now)))
    try:
        status = ok(client, "/v2/players/3/status")["data"]
        assert status == {"login_time": now - 61, "action": 2, "info_text": "playing", "mode": 0, "mods": 8,
                          "beatmap_id": 1000}
    finally:
        run(with_session(lambda db: live.delete_session(db, 3)))


# --- maps, scores, clans


def test_maps_filter_and_types(client, demo_data):
    maps = sorted(demo_data["maps"], key=lambda m: m["id"])
    every = ok(client, "/v2/maps", page_size=100)
    assert ids(every) == [m["id"] for m in maps] and every["meta"]["total"] == len(maps)
    row = every["data"][0]
    assert list(row) == MAP_FIELDS
    assert row["server"] == "osu!" and row["frozen"] is False
    assert all(isinstance(row[f], float) for f in ("bpm", "cs", "ar", "od", "hp", "diff"))
    assert row["last_update"] == maps[0]["last_update"].replace(" ", "T")
    one_set = maps[0]["set_id"]
    assert ids(ok(client, "/v2/maps", set_id=one_set)) == [m["id"] for m in maps if m["set_id"] == one_set]
    loved = ok(client, "/v2/maps", status=5, mode=0, page_size=100)
    assert ids(loved) == [m["id"] for m in maps if m["status"] == 5 and m["mode"] == 0]
    by_artist = ok(client, "/v2/maps", artist=maps[0]["artist"].upper(), frozen="no", page_size=100)
    assert ids(by_artist) == [m["id"] for m in maps if m["artist"] == maps[0]["artist"]]
    assert ok(client, "/v2/maps", frozen="true")["data"] == []
    assert ok(client, f"/v2/maps/{maps[0]['id']}")["data"] == row
    missing = client.get("/v2/maps/1")
    assert (missing.status_code, missing.json()) == (404, {"status": "error", "error": "Map not found."})


def test_scores_filter_and_types(client, demo_data):
    scores = sorted(demo_data["scores"], key=lambda s: s["id"])
    mine = [s for s in scores if s["userid"] == 3]
    body = ok(client, "/v2/scores", user_id=3, page_size=100)
    assert ids(body) == [s["id"] for s in mine][:100] and body["meta"]["total"] == len(mine)
    row = body["data"][0]
    assert list(row) == SCORE_FIELDS
    assert isinstance(row["pp"], float) and isinstance(row["perfect"], bool)
    assert row["play_time"] == mine[0]["play_time"].replace(" ", "T")
    md5, mods = mine[0]["map_md5"], mine[0]["mods"]
    exact = ok(client, "/v2/scores", map_md5=md5, mods=mods, status=mine[0]["status"], mode=mine[0]["mode"],
               page_size=100)
    assert ids(exact) == [s["id"] for s in scores if (s["map_md5"], s["mods"], s["status"], s["mode"])
                          == (md5, mods, mine[0]["status"], mine[0]["mode"])]
    assert ok(client, f"/v2/scores/{mine[0]['id']}")["data"] == row
    missing = client.get("/v2/scores/99999999")
    assert (missing.status_code, missing.json()) == (404, {"status": "error", "error": "Score not found."})


def test_clans(client, demo_data):
    clans = sorted(demo_data["clans"], key=lambda c: c["id"])
    body = ok(client, "/v2/clans")
    assert ids(body) == [c["id"] for c in clans] and body["meta"]["total"] == len(clans)
    assert list(body["data"][0]) == CLAN_FIELDS
    assert ok(client, f"/v2/clans/{clans[0]['id']}")["data"] == body["data"][0]
    missing = client.get("/v2/clans/999")
    assert (missing.status_code, missing.json()) == (404, {"status": "error", "error": "Clan not found."})


# --- as FastAPI and pydantic answer


def test_refused_parameters_answer_pydantics_items_together(client):
    answer = client.get("/v2/players", params={"priv": "x", "page": "0", "page_size": "101"})
    assert answer.status_code == 422
    assert answer.json() == {"detail": [
        {"type": "int_parsing", "loc": ["query", "priv"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x"},
        {"type": "greater_than_equal", "loc": ["query", "page"], "msg": "Input should be greater than or equal to 1",
         "input": "0", "ctx": {"ge": 1}},
        {"type": "less_than_equal", "loc": ["query", "page_size"],
         "msg": "Input should be less than or equal to 100", "input": "101", "ctx": {"le": 100}},
    ]}
    path = client.get("/v2/players/abc/stats", params={"page": "x"})
    assert [(item["loc"], item["type"]) for item in path.json()["detail"]] == [
        (["path", "player_id"], "int_parsing"), (["query", "page"], "int_parsing")]
    frozen = client.get("/v2/maps", params={"frozen": "maybe"})
    assert frozen.json()["detail"][0]["type"] == "bool_parsing"


def test_pydantics_lax_numbers_are_read_as_bancho_py_reads_them(client):
    assert ok(client, "/v2/players", page=" 2 ", page_size="1_0")["meta"] == {
        "total": ok(client, "/v2/players")["meta"]["total"], "page": 2, "page_size": 10}


def test_a_trailing_slash_is_redirected_to_the_path_without_it(client):
    # the Location is the path alone, whatever Host the request names
    answer = client.get("/v2/players/", params={"page": 2}, headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/v2/players?page=2"
    assert client.get("/v2/players/", params={"page": 2}).json()["meta"]["page"] == 2
    assert client.get("//v2/players/", follow_redirects=False).status_code == 404


def test_the_api_is_in_the_openapi_document_under_its_own_tag(client):
    document = client.get("/openapi.json").json()
    assert "bancho.py's /v2 API" in [tag["name"] for tag in document["tags"]]
    assert document["paths"]["/v2/players/{player_id}/stats/{mode}"]["get"]["tags"] == ["bancho.py's /v2 API"]
    assert "security" not in document["paths"]["/v2/players"]["get"]  # no key, as in bancho.py


@pytest.mark.parametrize("path", ["/v2/players", "/v2/maps", "/v2/scores", "/v2/clans"])
def test_every_list_takes_the_same_paging(client, path):
    assert ok(client, path, page_size=1)["meta"]["page_size"] == 1
    assert client.get(path, params={"page_size": 0}).status_code == 422
