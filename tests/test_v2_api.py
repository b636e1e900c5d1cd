"""The osu!api v2 layer (server/routes/v2.py) over the demo data, on SQLite
and MariaDB: the token endpoint in its three credential styles, every token
failure, every endpoint, and both score shapes. Expectations come from
server.demo.demo_data(), not from the SQL under test."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import jwt
import pytest
from conftest import run

from server import oauth
from server.constants import MapStatus, Privileges, ScoreStatus
from server.db import Database
from server.public_url import parse_public_urls
from server.routes.v2 import common as v2_common
from server.settings import load_settings

COOKIEZI = 3
LEGACY = {}
CURRENT = {"x-api-version": "20240529"}


@pytest.fixture(scope="session")
def oauth_client(demo_url):
    async def create():
        async with Database(demo_url) as db:
            return await oauth.create_client(db, "tests")

    return run(create())


@pytest.fixture(scope="session")
def token(client, oauth_client) -> str:
    client_id, secret = oauth_client
    answer = client.post("/oauth/token", data={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials", "scope": "public"})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture
def get(client, token):
    def fetch(path: str, headers: dict | None = None, status: int = 200):
        answer = client.get(f"/api/v2/{path}", headers={"Authorization": f"Bearer {token}", **(headers or {})})
        assert answer.status_code == status, (path, answer.text)
        return answer.json()

    return fetch


class Demo:
    def __init__(self, data: dict) -> None:
        self.users = {u["id"]: u for u in data["users"]}
        self.maps = {m["id"]: m for m in data["maps"]}
        self.maps_by_md5 = {m["md5"]: m for m in data["maps"]}
        self.scores = data["scores"]
        self.stats = {(s["id"], s["mode"]): s for s in data["stats"]}

    def unrestricted(self, user_id: int) -> bool:
        return bool(self.users[user_id]["priv"] & Privileges.UNRESTRICTED)

    def leaderboard(self, map_id: int) -> list[dict]:
        m = self.maps[map_id]
        rows = [s for s in self.scores if s["map_md5"] == m["md5"] and s["mode"] == m["mode"]
                and s["status"] == ScoreStatus.BEST and self.unrestricted(s["userid"])]
        return sorted(rows, key=lambda s: (-s["score"], s["play_time"], s["id"]))

    def best(self, user_id: int, mode: int = 0) -> list[dict]:
        rows = [s for s in self.scores if s["userid"] == user_id and s["mode"] == mode
                and s["status"] == ScoreStatus.BEST and s["map_md5"] in self.maps_by_md5
                and self.maps_by_md5[s["map_md5"]]["status"] in (MapStatus.RANKED, MapStatus.APPROVED)]
        return sorted(rows, key=lambda s: (-s["pp"], -s["id"]))


@pytest.fixture(scope="session")
def demo(demo_data) -> Demo:
    return Demo(demo_data)


# --- OAuth ----------------------------------------------------------------------------------


def _form(oauth_client, **changes):
    client_id, secret = oauth_client
    return {"client_id": str(client_id), "client_secret": secret, "grant_type": "client_credentials", **changes}


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/token/"])
@pytest.mark.parametrize("style", ["form", "basic", "json"])
def test_token_accepts_every_credential_style(client, oauth_client, path, style):
    client_id, secret = oauth_client
    if style == "form":
        answer = client.post(path, data=_form(oauth_client, scope="public"))
    elif style == "basic":
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        answer = client.post(path, data={"grant_type": "client_credentials", "scope": "public"},
                             headers={"Authorization": f"Basic {basic}"})
    else:
        answer = client.post(path, json={**_form(oauth_client), "client_id": client_id})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == str(client_id) and claims["sub"] == "" and claims["scopes"] == ["public"]
    assert claims["exp"] - claims["iat"] == 86400 and len(claims["jti"]) == 32


@pytest.mark.parametrize("changes, status, error", [
    ({"client_secret": "0" * 40}, 401, "invalid_client"),
    ({"client_id": "999999"}, 401, "invalid_client"),
    ({"client_id": "abc"}, 401, "invalid_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
    ({"scope": "public identify"}, 400, "invalid_scope"),
])
def test_token_refusals(client, oauth_client, changes, status, error):
    answer = client.post("/oauth/token", data=_form(oauth_client, **changes))
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["error_description"]


def _signing_secret(demo_url):
    async def read():
        async with Database(demo_url) as db:
            return await oauth.signing_secret(db, None)

    return run(read())


def test_every_token_failure_answers_401(client, oauth_client, token, demo_url):
    client_id, _ = oauth_client
    secret = _signing_secret(demo_url)
    claims = jwt.decode(token, options={"verify_signature": False})
    expired = oauth.issue_token(secret, client_id, ["public"], 60, now=int(datetime.now().timestamp()) - 3600)
    forged = jwt.encode({**claims}, "not the secret, though long enough for HS256", algorithm="HS256")
    unsigned = jwt.encode({**claims}, None, algorithm="none")
    for header in [None, "Bearer", "Bearer garbage", f"Basic {token}", f"Bearer {expired}",
                   f"Bearer {forged}", f"Bearer {unsigned}"]:
        answer = client.get("/api/v2/users/3", headers={"Authorization": header} if header else {})
        assert answer.status_code == 401, header
        assert answer.json() == {"authentication": "basic"}


def test_a_signing_secret_kept_in_a_file(backend, demo_url, oauth_client, token, tmp_path):
    secret_file = tmp_path / "oauth_secret"
    secret_file.write_text("a-secret-from-a-file-0123456789abcdef\nignored\n")
    settings = backend.settings(demo_url, oauth_secret=load_settings({"OAUTH_SECRET_FILE": str(secret_file)}).oauth_secret)
    assert settings.oauth_secret == "a-secret-from-a-file-0123456789abcdef"
    from starlette.testclient import TestClient

    from server.app import create_app

    with TestClient(create_app(settings)) as other:
        answer = other.post("/oauth/token", data=_form(oauth_client))
        assert answer.status_code == 200, answer.text
        signed = answer.json()["access_token"]
        jwt.decode(signed, settings.oauth_secret, algorithms=["HS256"], audience=str(oauth_client[0]))
        assert other.get("/api/v2/users/3", headers={"Authorization": f"Bearer {signed}"}).status_code == 200
        # a token signed with the database's secret is not this server's
        assert other.get("/api/v2/users/3", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("content,message", [
    (None, "cannot read"), ("", "no secret"), ("\nsecret\n", "no secret"), (b"\xff\xfe", "cannot read")])
def test_a_bad_secret_file_stops_the_start(tmp_path, content, message):
    path = tmp_path / "secret"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit, match=message):
        load_settings({"OAUTH_SECRET_FILE": str(path)})
    with pytest.raises(SystemExit, match="not both"):
        load_settings({"OAUTH_SECRET_FILE": str(path), "OAUTH_SECRET": "x"})


def test_a_token_without_the_public_scope_answers_403(client, oauth_client, demo_url):
    no_scope = oauth.issue_token(_signing_secret(demo_url), oauth_client[0], [], 600)
    answer = client.get("/api/v2/users/3", headers={"Authorization": f"Bearer {no_scope}"})
    assert answer.status_code == 403 and answer.json() == {"error": "A required scope is missing."}


def test_revoking_the_current_token(client, oauth_client):
    fresh = client.post("/oauth/token", data=_form(oauth_client)).json()["access_token"]
    headers = {"Authorization": f"Bearer {fresh}"}
    assert client.get("/api/v2/users/3", headers=headers).status_code == 200
    answer = client.delete("/api/v2/oauth/tokens/current", headers=headers)
    assert answer.status_code == 204 and answer.content == b""
    assert client.get("/api/v2/users/3", headers=headers).status_code == 401
    assert client.delete("/api/v2/oauth/tokens/current", headers=headers).status_code == 401


def test_a_revoked_client_gets_no_tokens_and_its_tokens_stop(client, demo_url):
    async def create():
        async with Database(demo_url) as db:
            return await oauth.create_client(db, "short-lived")

    client_id, secret = run(create())
    form = {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    held = client.post("/oauth/token", data=form).json()["access_token"]

    async def revoke():
        async with Database(demo_url) as db:
            assert await oauth.revoke_client(db, client_id)

    run(revoke())
    assert client.post("/oauth/token", data=form).status_code == 401
    assert client.get("/api/v2/users/3", headers={"Authorization": f"Bearer {held}"}).status_code == 401


# --- users ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["users/3", "users/3/", "users/@cookiezi", "users/cookiezi/osu/",
                                  "users/cookiezi?key=username", "users/3?key=id"])
def test_get_user(get, demo, path):
    body = get(path)
    user, stats = demo.users[COOKIEZI], demo.stats[(COOKIEZI, 0)]
    assert body["id"] == COOKIEZI and body["username"] == "cookiezi" and body["country_code"] == "KR"
    assert body["playmode"] == "osu" and body["join_date"].endswith("+00:00")
    assert body["statistics"]["pp"] == pytest.approx(stats["pp"])
    assert body["statistics"]["ranked_score"] == stats["rscore"]
    assert body["statistics"]["grade_counts"]["ss"] == stats["x_count"]
    assert set(body["statistics_rulesets"]) == {"osu", "taiko", "fruits", "mania"}
    assert body["team"]["id"] == user["clan_id"] and "flag_url" in body["team"]
    assert body["kudosu"] == {"available": 0, "total": 0} and body["badges"] == []
    assert body["page"]["raw"] == user["userpage_content"]
    assert body["scores_best_count"] == min(100, len([s for s in demo.scores if s["userid"] == 3 and s["mode"] == 0
                                                      and s["status"] == 2 and demo.maps_by_md5.get(s["map_md5"], {}).get("status") in (2, 3, 5)]))


def test_get_user_in_a_mode(get, demo):
    body = get("users/3/taiko")
    assert body["statistics"]["ranked_score"] == demo.stats[(3, 1)]["rscore"]


@pytest.mark.parametrize("path", ["users/9", "users/999999", "users/@nobody", "users/3/relax"])
def test_unknown_or_restricted_users_are_404(get, path):
    assert get(path, status=404) == {"error": None}


def test_get_users(get, demo):
    body = get("users?ids[]=4&ids[]=3&ids[]=9&ids[]=999999")
    assert [u["id"] for u in body["users"]] == [4, 3]  # restricted and unknown skipped
    assert body["users"][1]["statistics_rulesets"]["osu"]["pp"] == pytest.approx(demo.stats[(3, 0)]["pp"])


def test_user_best_scores_both_shapes(get, demo):
    expected = demo.best(COOKIEZI)
    legacy = get("users/3/scores/best?limit=100")
    assert [s["id"] for s in legacy] == [s["id"] for s in expected]
    first = legacy[0]
    assert first["created_at"].endswith("+00:00") and first["mode"] == "osu" and first["mode_int"] == 0
    assert set(first["statistics"]) == {"count_50", "count_100", "count_300", "count_geki", "count_katu", "count_miss"}
    assert first["statistics"]["count_300"] == expected[0]["n300"]
    assert isinstance(first["mods"], list) and all(isinstance(m, str) for m in first["mods"])
    assert first["weight"]["percentage"] == 100 and first["beatmap"]["id"] == demo.maps_by_md5[expected[0]["map_md5"]]["id"]
    assert first["user"]["id"] == COOKIEZI and first["beatmapset"]["id"] == first["beatmap"]["beatmapset_id"]
    current = get("users/3/scores/best?limit=100", CURRENT)
    assert [s["id"] for s in current] == [s["id"] for s in expected]
    new = current[0]
    assert new["ended_at"] == first["created_at"] and new["legacy_score_id"] == new["id"]
    assert new["legacy_total_score"] == new["total_score"] == expected[0]["score"]
    assert new["statistics"].get("great") == expected[0]["n300"] and "count_300" not in new["statistics"]
    assert all(isinstance(m, dict) and "acronym" in m for m in new["mods"]) and new["type"] == "solo_score"
    assert new["beatmap_id"] == first["beatmap"]["id"] and new["ruleset_id"] == 0
    # limit and offset
    assert [s["id"] for s in get("users/3/scores/best?limit=1&offset=1")] == [expected[1]["id"]]
    assert get("users/3/scores/best?offset=100") == []


def test_user_firsts_are_number_ones(get, demo):
    top = demo.leaderboard(1000)[0]
    firsts = get(f"users/{top['userid']}/scores/firsts?limit=100")
    assert top["id"] in [s["id"] for s in firsts]
    for score in firsts:
        assert demo.leaderboard(score["beatmap"]["id"])[0]["id"] == score["id"]


def test_user_recent_scores_within_a_day(get, demo, monkeypatch):
    mine = sorted((s for s in demo.scores if s["userid"] == COOKIEZI and s["mode"] == 0
                   and s["map_md5"] in demo.maps_by_md5), key=lambda s: (s["play_time"], s["id"]))
    last = datetime.strptime(mine[-1]["play_time"], "%Y-%m-%d %H:%M:%S")
    monkeypatch.setattr(v2_common, "utc_now", lambda: last + timedelta(hours=1))
    day = [s for s in mine if datetime.strptime(s["play_time"], "%Y-%m-%d %H:%M:%S") > last - timedelta(hours=23)]
    with_fails = get("users/3/scores/recent?include_fails=1&limit=100")
    assert {s["id"] for s in with_fails} == {s["id"] for s in day}
    passed = get("users/3/scores/recent?limit=100")
    assert {s["id"] for s in passed} == {s["id"] for s in day if s["status"] != ScoreStatus.FAILED}
    monkeypatch.setattr(v2_common, "utc_now", lambda: last + timedelta(days=2))
    assert get("users/3/scores/recent?include_fails=1") == []


def test_most_played(get, demo):
    body = get("users/3/beatmapsets/most_played?limit=100")
    counts = {}
    for s in demo.scores:
        if s["userid"] == 3 and s["mode"] == 0 and s["map_md5"] in demo.maps_by_md5:
            map_id = demo.maps_by_md5[s["map_md5"]]["id"]
            counts[map_id] = counts.get(map_id, 0) + 1
    assert {b["beatmap_id"]: b["count"] for b in body} == counts
    assert all(b["beatmap"]["id"] == b["beatmap_id"] and b["beatmapset"]["id"] == b["beatmap"]["beatmapset_id"] for b in body)
    assert get("users/3/beatmapsets/favourite") == []


def test_search_users(get):
    body = get("search?mode=user&query=cookie")
    assert body["user"]["total"] == 1 and body["user"]["data"][0]["id"] == COOKIEZI and "wiki_page" not in body
    assert get("search?query=zzzz") == {"user": {"data": [], "total": 0}, "wiki_page": {"data": [], "total": 0}}


# --- beatmaps ---------------------------------------------------------------------------------


def _check_beatmap(body, m):
    assert body["id"] == m["id"] and body["beatmapset_id"] == m["set_id"] and body["checksum"] == m["md5"]
    assert body["mode_int"] == m["mode"] and body["max_combo"] == m["max_combo"]
    assert body["difficulty_rating"] == pytest.approx(m["diff"]) and body["last_updated"].endswith("+00:00")
    assert body["failtimes"]["fail"] == [0] * 100 and body["lazer_only"] is False
    status = {2: ("ranked", 1), 3: ("approved", 2), 4: ("qualified", 3), 5: ("loved", 4), 0: ("pending", 0),
              1: ("pending", 0), -1: ("graveyard", -2)}[m["status"]]
    assert (body["status"], body["ranked"]) == status


def test_get_beatmap_by_id_and_lookup(get, demo, demo_url):
    m = demo.maps[1000]
    body = get("beatmaps/1000/")
    _check_beatmap(body, m)
    assert body["beatmapset"]["id"] == m["set_id"] and len(body["beatmapset"]["ratings"]) == 11
    assert body["beatmapset"]["nominations_summary"]["current"] == 0
    assert get(f"beatmaps/lookup?checksum={m['md5']}")["id"] == 1000
    assert get("beatmaps/lookup?id=1000")["id"] == 1000

    async def filename():
        async with Database(demo_url) as db:
            return await db.fetch_val("SELECT filename FROM maps WHERE id = 1001")

    assert get(f"beatmaps/lookup?filename={run(filename())}")["id"] == 1001
    assert get("beatmaps/999999", status=404) == {"error": None}
    assert get("beatmaps/lookup?checksum=" + "0" * 32, status=404) == {"error": None}


def test_get_beatmaps(get, demo):
    body = get("beatmaps?ids[]=1001&ids[]=1000&ids[]=999999")
    assert [b["id"] for b in body["beatmaps"]] == [1000, 1001]
    for b in body["beatmaps"]:
        _check_beatmap(b, demo.maps[b["id"]])


def test_beatmap_scores_both_shapes(get, demo):
    expected = demo.leaderboard(1000)
    legacy = get("beatmaps/1000/scores")
    assert [s["id"] for s in legacy["scores"]] == [s["id"] for s in expected]
    assert legacy["score_count"] == len(expected)
    assert legacy["scores"][0]["user"]["id"] == expected[0]["userid"] and legacy["scores"][0]["rank_global"] == 1
    current = get("beatmaps/1000/scores", CURRENT)
    assert current["scores"][0]["total_score"] == expected[0]["score"] and current["scores"][0]["beatmap_id"] == 1000
    assert get("beatmaps/1000/scores?limit=1")["scores"][0]["id"] == expected[0]["id"]
    nomod = get("beatmaps/1000/scores?mods[]=NM")["scores"]
    assert [s["id"] for s in nomod] == [s["id"] for s in expected if s["mods"] == 0]
    pending = next(m for m in demo.maps.values() if m["status"] == MapStatus.PENDING)
    assert get(f"beatmaps/{pending['id']}/scores")["scores"] == []
    assert get("beatmaps/1000/scores?mode=bogus", status=422)


def test_beatmap_user_score_and_all(get, demo):
    board = demo.leaderboard(1000)
    mine = next(i for i, s in enumerate(board) if s["userid"] == COOKIEZI)
    body = get("beatmaps/1000/scores/users/3")
    assert body["position"] == mine + 1 and body["score"]["id"] == board[mine]["id"]
    assert body["score"]["beatmap"]["id"] == 1000 and body["score"]["user"]["id"] == COOKIEZI
    every = get("beatmaps/1000/scores/users/3/all", CURRENT)["scores"]
    passed = [s for s in demo.scores if s["userid"] == 3 and s["map_md5"] == demo.maps[1000]["md5"]
              and s["mode"] == 0 and s["status"] != ScoreStatus.FAILED]
    assert sorted(s["id"] for s in every) == sorted(s["id"] for s in passed)
    assert [s["legacy_total_score"] for s in every] == sorted((s["score"] for s in passed), reverse=True)
    assert get("beatmaps/1000/scores/users/999999", status=404) == {"error": None}


def test_beatmapsets(get, demo):
    in_set = sorted(m["id"] for m in demo.maps.values() if m["set_id"] == 100)
    body = get("beatmapsets/100")
    assert body["id"] == 100 and [b["id"] for b in body["beatmaps"]] == in_set
    assert body["covers"]["cover@2x"].endswith("cover@2x.jpg") and body["availability"]["download_disabled"] is False
    assert body["status"] == "ranked" and body["ranked"] == 1 and body["ranked_date"].endswith("+00:00")
    assert body["play_count"] == sum(demo.maps[i]["plays"] for i in in_set)
    assert get("beatmapsets/lookup?beatmap_id=1000")["id"] == 100
    assert get("beatmapsets/999999", status=404) == {"error": None}
    assert get("beatmapsets/lookup?beatmap_id=999999", status=404) == {"error": None}


# --- rankings and scores ----------------------------------------------------------------------


def test_rankings(get, demo):
    body = get("rankings/osu/performance")
    ranked = sorted((u for u in demo.users if demo.unrestricted(u) and demo.stats[(u, 0)]["pp"] > 0),
                    key=lambda u: (-demo.stats[(u, 0)]["pp"], u))
    assert [r["user"]["id"] for r in body["ranking"]] == ranked[:50]
    assert body["total"] == len(ranked) and body["ranking"][0]["global_rank"] == 1
    assert body["cursor"] is None and body["cursor_string"] is None
    kr = get("rankings/osu/performance?country=KR")["ranking"]
    assert kr and all(r["user"]["country_code"] == "KR" for r in kr)
    by_score = get("rankings/osu/score")["ranking"]
    assert [r["ranked_score"] for r in by_score] == sorted((r["ranked_score"] for r in by_score), reverse=True)
    countries = get("rankings/osu/country")["ranking"]
    assert [c["performance"] for c in countries] == sorted((c["performance"] for c in countries), reverse=True)
    assert get("rankings/osu/performance?cursor[page]=2")["ranking"] == []
    assert get("rankings/relax/performance", status=404)


def test_scores_by_id_both_forms_and_shapes(get, demo):
    score = demo.best(COOKIEZI)[0]
    legacy = get(f"scores/{score['id']}")
    assert legacy["id"] == score["id"] and legacy["score"] == score["score"] and legacy["user"]["id"] == COOKIEZI
    assert legacy["beatmap"]["checksum"] == score["map_md5"] and legacy["rank_global"] >= 1
    current = get(f"scores/osu/{score['id']}/", CURRENT)
    assert current["legacy_score_id"] == score["id"] and current["ended_at"] == legacy["created_at"]
    assert get(f"scores/taiko/{score['id']}", status=404) == {"error": None}
    assert get("scores/99999999", status=404) == {"error": None}
    relax = next(s for s in demo.scores if s["mode"] >= 4)
    get(f"scores/{relax['id']}", status=404)


def test_rank_history_and_highest_come_from_the_track_snapshots(client, get):
    # a player nobody has tracked has neither
    untracked = get("users/5/osu")
    assert untracked["rank_history"] is None and untracked["rank_highest"] is None
    # an osu!track update records today's rank, which v2 then reports
    assert client.post("/track/update?user=4&mode=0").status_code == 200
    rank = client.get("/v1/get_player_info?id=4&scope=stats").json()["player"]["stats"]["0"]["rank"]
    assert rank > 0
    user = get("users/4/osu")
    assert user["rank_history"] == {"mode": "osu", "data": [rank]}
    assert user["rankHistory"] == user["rank_history"]
    assert user["rank_highest"]["rank"] == rank
    assert user["rank_highest"]["updated_at"].endswith("+00:00")
    # the history is of the mode asked for
    assert get("users/4/taiko")["rank_history"] is None


# --- absolute URLs ---------------------------------------------------------------


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1:8123", "http://127.0.0.1:8123/"),  # a local harness gets its own address
    ("localhost", "http://localhost/"),
    ("[::1]:9000", "http://[::1]:9000/"),
    ("evil.example", "http://localhost/"),  # never a forged name
    ("10.0.0.9", "http://localhost/"),
])
def test_absolute_urls_never_repeat_a_forged_host(get, host, expected):
    body = get(f"users/{COOKIEZI}", headers={"Host": host})
    assert body["avatar_url"] == f"{expected}avatars/{COOKIEZI}"
    beatmap = get("beatmaps/1000", headers={"Host": host})
    assert beatmap["url"] == f"{expected}beatmaps/1000"


@pytest.mark.parametrize("host,expected", [
    ("api.example.com", "https://api.example.com/"),
    ("evil.example", "https://api.example.com/"),
    ("127.0.0.1:8123", "https://api.example.com/"),
    ("Mirror.Example:8080", "http://mirror.example:8080/osu/"),
])
def test_public_url_names_the_bases(backend, demo_url, token, host, expected):
    from starlette.testclient import TestClient

    from server.app import create_app

    settings = backend.settings(demo_url, public_urls=parse_public_urls(
        "https://api.example.com, http://mirror.example:8080/osu"))
    scheme = "http" if "Mirror" in host else "https"
    with TestClient(create_app(settings), base_url=f"{scheme}://{host}") as other:
        answer = other.get(f"/api/v2/users/{COOKIEZI}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["avatar_url"] == f"{expected}avatars/{COOKIEZI}"


@pytest.mark.parametrize("value", ["api.example.com", "ftp://x", "https://", "http://h:port", "http://h/?q=1"])
def test_a_bad_public_url_stops_the_start(value):
    with pytest.raises(SystemExit, match="PUBLIC_URL"):
        load_settings({"PUBLIC_URL": value})
