"""Live state on SQLite and MariaDB: the ingest API the game server calls
(token, validation, sessions, matches, clean-up) and what the bancho-style
endpoints make of it (get_player_count, get_player_status, get_match,
get_mappool's creator). Runs over a database of its own holding the demo
data, so the shared `client` fixture never sees a session; each test starts
with the live tables empty. Time is simulated by writing heartbeat_at and
updated_at in the past through SQL."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Iterator

import httpx
import pytest
from conftest import run
from starlette.testclient import TestClient

from server import background, demo
from server.app import create_app
from server.db import Database
from server.migrate import migrate

TOKEN = "test-ingest-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PRESENCE_TTL = 90
MATCH_TTL = 300
LIVE_TABLES = ("live_sessions", "live_matches", "live_match_refs", "live_match_slots")
BOT, PLAYER, OTHER, RESTRICTED = 1, 3, 4, 9
MAP_ID = 1000
# a match shows its map as the game server names it, known here or not
MATCH_MAP_MD5 = "0123456789abcdef0123456789abcdef"


class Live:
    """The app with ingest enabled over the module's database, and SQL on
    that app's own connection (in its event loop)."""

    def __init__(self, client: TestClient, url: str, backend) -> None:
        self.client = client
        self.url = url
        self.backend = backend

    @property
    def db(self) -> Database:
        return self.client.app.state.db

    def sql(self, query: str, values: dict | None = None) -> None:
        self.client.portal.call(self.db.execute, query, values)

    def rows(self, query: str, values: dict | None = None) -> list[dict[str, Any]]:
        return self.client.portal.call(self.db.fetch_all, query, values)

    def put(self, path: str, body: Any, headers: dict | None = None):
        return self.client.put(path, json=body, headers=AUTH if headers is None else headers)

    def get(self, path: str, status: int = 200) -> dict:
        response = self.client.get(path)
        assert response.status_code == status, response.text
        return response.json()

    def other_app(self, **changes) -> TestClient:
        """Another app over the same database, with other settings."""
        return TestClient(create_app(self.backend.settings(self.url, **changes)))


@pytest.fixture(scope="module")
def live_app(backend, tmp_path_factory) -> Iterator[Live]:
    url = backend.new_database_url()
    data_dir = tmp_path_factory.mktemp("live-data")

    async def prepare():
        async with Database(url) as db:
            await migrate(db)
            await demo.load(db, data_dir)

    run(prepare())
    settings = backend.settings(
        url, data_dir=data_dir, ingest_token=TOKEN, presence_ttl=PRESENCE_TTL, match_ttl=MATCH_TTL
    )
    with TestClient(create_app(settings)) as client:
        yield Live(client, url, backend)


@pytest.fixture
def live(live_app: Live) -> Live:
    for table in LIVE_TABLES:
        live_app.sql(f"DELETE FROM {table}")
    return live_app


@pytest.fixture
def map_md5(live: Live) -> str:
    """The md5 of a map the database knows (the demo data derives it from
    the map's .osu text)."""
    return live.get(f"/v1/get_map_info?id={MAP_ID}")["map"]["md5"]


def ok(response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}


def error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["status"]
    return body["status"]


def online_count(live: Live) -> int:
    return live.get("/v1/get_player_count")["counts"]["online"]


def status_of(live: Live, user_id: int) -> dict:
    return live.get(f"/v1/get_player_status?id={user_id}")["player_status"]


def match_body(**changes) -> dict:
    body = {
        "name": "OWC: (日本) vs (대한민국) 🏆",
        "mode": 0,
        "mods": 64,
        "seed": -12345,
        "host_id": PLAYER,
        "referee_ids": [OTHER],
        "in_progress": True,
        "is_scrimming": False,
        "map": {"id": MAP_ID, "md5": MATCH_MAP_MD5, "name": "xi - FREEDOM DiVE [Normal]"},
        "slots": [
            {"slot": 0, "user_id": PLAYER, "status": 32, "team": 1, "mods": 8, "loaded": True, "skipped": False},
            {"slot": 1, "user_id": None, "status": 1},
            {"slot": 3, "user_id": 5, "status": 32, "team": 2, "mods": 0, "loaded": False, "skipped": True},
        ],
    }
    body.update(changes)
    return body


INGEST_CALLS = [
    ("PUT", f"/ingest/sessions/{PLAYER}", {}),
    ("POST", f"/ingest/sessions/{PLAYER}/heartbeat", {}),
    ("DELETE", f"/ingest/sessions/{PLAYER}", None),
    ("PUT", "/ingest/matches/1", match_body()),
    ("DELETE", "/ingest/matches/1", None),
]


# --- the token -------------------------------------------------------------------


@pytest.mark.parametrize("method,path,body", INGEST_CALLS)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN,
     "Bearer tökén".encode("utf-8"), "Bearer tökén".encode("latin-1"), f"Bearer {TOKEN}".encode("utf-16")],
)
def test_missing_or_wrong_token_answers_401(live, method, path, body, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = live.client.request(method, path, json=body, headers=headers)
    assert error(response, 401) == "Invalid ingest token."
    assert response.headers["www-authenticate"] == "Bearer"
    assert live.rows("SELECT user_id FROM live_sessions") == []


def test_scheme_is_case_insensitive(live):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}, headers={"Authorization": f"bearer {TOKEN}"}))


def test_a_non_ascii_token_is_compared_as_utf8(live):
    with live.other_app(ingest_token="jeton-secret-é") as client:
        good = client.put(f"/ingest/sessions/{PLAYER}", json={}, headers={"Authorization": "Bearer jeton-secret-é".encode()})
        ok(good)
        bad = client.put(f"/ingest/sessions/{PLAYER}", json={}, headers={"Authorization": "Bearer jeton-secret-è".encode()})
        assert error(bad, 401) == "Invalid ingest token."


@pytest.mark.parametrize("method,path,body", INGEST_CALLS)
def test_without_ingest_token_the_api_is_disabled(live, method, path, body):
    with live.other_app() as disabled:
        response = disabled.request(method, path, json=body, headers=AUTH)
        assert error(response, 503) == "Ingest is disabled: set INGEST_TOKEN."
        # the read API is still served
        assert disabled.get("/v1/get_player_count").status_code == 200


# --- sessions ----------------------------------------------------------------------


def test_a_session_makes_the_player_online(live, demo_data, map_md5):
    total = len(demo_data["users"]) + 1
    assert live.get("/v1/get_player_count")["counts"] == {"online": 0, "total": total}
    ok(live.put(f"/ingest/sessions/{PLAYER}", {
        "login_time": 1700000000.125, "action": 2, "info_text": "xi - FREEDOM DiVE [Normal] ♪🎵",
        "mode": 4, "mods": 72, "map_md5": map_md5.upper(),
    }))
    assert live.get("/v1/get_player_count")["counts"] == {"online": 1, "total": total}
    expected_map = live.get(f"/v1/get_map_info?id={MAP_ID}")["map"]
    body = live.get(f"/v1/get_player_status?id={PLAYER}")
    assert body == {
        "status": "success",
        "player_status": {
            "online": True,
            "login_time": 1700000000.125,
            "status": {"action": 2, "info_text": "xi - FREEDOM DiVE [Normal] ♪🎵", "mode": 4, "mods": 72,
                       "beatmap": expected_map},
        },
    }
    assert list(body["player_status"]) == ["online", "login_time", "status"]
    assert list(body["player_status"]["status"]) == ["action", "info_text", "mode", "mods", "beatmap"]
    name = next(u["name"] for u in demo_data["users"] if u["id"] == PLAYER)
    assert live.get(f"/get_player_status?name={name.upper()}") == body
    # other players stay offline
    assert status_of(live, OTHER)["online"] is False


def test_session_defaults_and_maps_not_known_here(live):
    before = time.time()
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    status = status_of(live, PLAYER)
    assert before - 1 <= status["login_time"] <= time.time() + 1
    assert status["status"] == {"action": 0, "info_text": "", "mode": 0, "mods": 0, "beatmap": None}
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"login_time": 5, "map_md5": "f" * 32}))
    status = status_of(live, PLAYER)
    assert status["login_time"] == 5.0 and isinstance(status["login_time"], float)
    assert status["status"]["beatmap"] is None


def test_put_replaces_the_whole_session(live, map_md5):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"login_time": 10.5, "action": 2, "mods": 8, "map_md5": map_md5}))
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"login_time": 20.5, "action": 1}))
    status = status_of(live, PLAYER)
    assert status["login_time"] == 20.5
    assert status["status"] == {"action": 1, "info_text": "", "mode": 0, "mods": 0, "beatmap": None}
    assert len(live.rows("SELECT user_id FROM live_sessions")) == 1


def test_heartbeat_keeps_the_session_fresh_and_updates_what_it_names(live, map_md5):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"login_time": 100.0, "action": 2, "info_text": "playing", "mods": 8}))
    almost = int(time.time()) - PRESENCE_TTL + 5
    live.sql("UPDATE live_sessions SET heartbeat_at = :t", {"t": almost})
    ok(live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", headers=AUTH))  # no body at all
    [row] = live.rows("SELECT heartbeat_at FROM live_sessions")
    assert row["heartbeat_at"] >= int(time.time()) - 1
    ok(live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", json={"action": 0, "map_md5": map_md5}, headers=AUTH))
    status = status_of(live, PLAYER)
    assert status["login_time"] == 100.0
    assert status["status"]["action"] == 0 and status["status"]["info_text"] == "playing"
    assert status["status"]["mods"] == 8 and status["status"]["beatmap"]["md5"] == map_md5
    ok(live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", json={}, headers=AUTH))
    assert online_count(live) == 1


def test_heartbeat_without_a_session_answers_404(live):
    response = live.client.post(f"/ingest/sessions/{OTHER}/heartbeat", json={}, headers=AUTH)
    assert error(response, 404) == "Session not found."


def test_a_stale_session_is_offline_and_cannot_be_revived(live, demo_data):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"action": 2}))
    live.sql("UPDATE live_sessions SET heartbeat_at = :t", {"t": int(time.time()) - PRESENCE_TTL - 2})
    user = next(u for u in demo_data["users"] if u["id"] == PLAYER)
    assert status_of(live, PLAYER) == {"online": False, "last_seen": user["latest_activity"]}
    assert online_count(live) == 0
    # its heartbeat came too late: the game server must log the player in again
    response = live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", json={}, headers=AUTH)
    assert error(response, 404) == "Session not found."
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    assert online_count(live) == 1


def test_presence_ttl_is_a_setting(live):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    live.sql("UPDATE live_sessions SET heartbeat_at = :t", {"t": int(time.time()) - 50})
    assert status_of(live, PLAYER)["online"] is True
    with live.other_app(presence_ttl=30) as strict:
        assert strict.get(f"/v1/get_player_status?id={PLAYER}").json()["player_status"]["online"] is False
        assert strict.get("/v1/get_player_count").json()["counts"]["online"] == 0


def test_logout(live, demo_data):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    ok(live.client.delete(f"/ingest/sessions/{PLAYER}", headers=AUTH))
    assert status_of(live, PLAYER)["online"] is False
    assert online_count(live) == 0
    ok(live.client.delete(f"/ingest/sessions/{PLAYER}", headers=AUTH))  # already gone: still fine


def test_restricted_players_the_bot_and_unknown_ids_are_never_counted(live, demo_data):
    assert not next(u for u in demo_data["users"] if u["id"] == RESTRICTED)["priv"] & 1
    for user_id in (BOT, RESTRICTED, 999_999, PLAYER, OTHER):
        ok(live.put(f"/ingest/sessions/{user_id}", {}))
    assert online_count(live) == 2
    # a restricted player can still play (bancho.py lets them log in): the
    # status shows it, only the count leaves them out
    assert status_of(live, RESTRICTED)["online"] is True
    assert live.get("/v1/get_player_status?id=999999", 404) == {"status": "Player not found."}


def test_pool_creator_online_follows_presence(live, demo_data):
    pool = demo_data["tourney_pools"][0]
    path = f"/v1/get_mappool?id={pool['id']}"
    assert live.get(path)["created_by"]["online"] is False
    ok(live.put(f"/ingest/sessions/{pool['created_by']}", {}))
    assert live.get(path)["created_by"]["online"] is True
    live.sql("UPDATE live_sessions SET heartbeat_at = :t", {"t": int(time.time()) - PRESENCE_TTL - 2})
    assert live.get(path)["created_by"]["online"] is False


# --- matches ---------------------------------------------------------------------


def names(demo_data) -> dict[int, str]:
    return {u["id"]: u["name"] for u in demo_data["users"]}


def test_match_put_and_get(live, demo_data):
    ok(live.put("/ingest/matches/7", match_body()))
    name = names(demo_data)
    expected = {
        "status": "success",
        "match": {
            "name": "OWC: (日本) vs (대한민국) 🏆",
            "mode": 0,
            "mods": 64,
            "seed": -12345,
            "host": {"id": PLAYER, "name": name[PLAYER]},
            "refs": [{"id": OTHER, "name": name[OTHER]}],
            "in_progress": True,
            "is_scrimming": False,
            "map": {"id": MAP_ID, "md5": MATCH_MAP_MD5, "name": "xi - FREEDOM DiVE [Normal]"},
            "active_slots": {
                "0": {"loaded": True, "mods": 8, "player": {"id": PLAYER, "name": name[PLAYER]},
                      "skipped": False, "status": 32, "team": 1},
                "3": {"loaded": False, "mods": 0, "player": {"id": 5, "name": name[5]},
                      "skipped": True, "status": 32, "team": 2},
            },
        },
    }
    for prefix in ("/v1/", "/"):
        body = live.get(f"{prefix}get_match?id=7")
        assert body == expected
        assert list(body["match"]) == list(expected["match"])
        assert list(body["match"]["active_slots"]["0"]) == ["loaded", "mods", "player", "skipped", "status", "team"]


def test_match_defaults(live, demo_data):
    ok(live.put("/ingest/matches/64", {"name": "", "host_id": 999_999}))
    assert live.get("/v1/get_match?id=64")["match"] == {
        "name": "", "mode": 0, "mods": 0, "seed": 0, "host": {"id": 999_999, "name": None}, "refs": [],
        "in_progress": False, "is_scrimming": False, "map": {"id": 0, "md5": "", "name": ""}, "active_slots": {},
    }


def test_match_put_replaces_the_whole_state(live, demo_data):
    ok(live.put("/ingest/matches/7", match_body()))
    ok(live.put("/ingest/matches/8", match_body(name="another match")))
    replacement = match_body(
        name="renamed", host_id=OTHER, referee_ids=[PLAYER, 6, PLAYER], in_progress=False, is_scrimming=True,
        map={"id": -1, "md5": "", "name": ""},
        slots=[{"slot": 5, "user_id": OTHER, "status": 8, "team": 0, "mods": 0, "loaded": False, "skipped": False}],
    )
    ok(live.put("/ingest/matches/7", replacement))
    match = live.get("/v1/get_match?id=7")["match"]
    name = names(demo_data)
    assert match["name"] == "renamed" and match["host"] == {"id": OTHER, "name": name[OTHER]}
    assert match["refs"] == [{"id": PLAYER, "name": name[PLAYER]}, {"id": 6, "name": name[6]}]
    assert (match["in_progress"], match["is_scrimming"]) == (False, True)
    assert match["map"] == {"id": -1, "md5": "", "name": ""}
    assert list(match["active_slots"]) == ["5"]
    # the other match is untouched
    other = live.get("/v1/get_match?id=8")["match"]
    assert other["name"] == "another match" and list(other["active_slots"]) == ["0", "3"]
    assert len(live.rows("SELECT match_id FROM live_match_slots WHERE match_id = 7")) == 1
    assert len(live.rows("SELECT match_id FROM live_match_refs WHERE match_id = 7")) == 2


def test_match_delete(live):
    ok(live.put("/ingest/matches/7", match_body()))
    ok(live.client.delete("/ingest/matches/7", headers=AUTH))
    assert live.get("/v1/get_match?id=7", 404) == {"status": "Match not found."}
    for table, column in (("live_matches", "id"), ("live_match_refs", "match_id"), ("live_match_slots", "match_id")):
        assert live.rows(f"SELECT {column} FROM {table}") == [], table
    ok(live.client.delete("/ingest/matches/7", headers=AUTH))  # already gone: still fine


def test_a_match_not_updated_expires(live):
    ok(live.put("/ingest/matches/7", match_body()))
    live.sql("UPDATE live_matches SET updated_at = :t", {"t": int(time.time()) - MATCH_TTL + 5})
    assert live.get("/v1/get_match?id=7")["match"]["name"] == match_body()["name"]
    live.sql("UPDATE live_matches SET updated_at = :t", {"t": int(time.time()) - MATCH_TTL - 2})
    assert live.get("/v1/get_match?id=7", 404) == {"status": "Match not found."}
    ok(live.put("/ingest/matches/7", match_body()))  # updated again: back
    assert live.get("/v1/get_match?id=7")["match"]["name"] == match_body()["name"]


@pytest.mark.parametrize("query", ["", "id=", "id=0", "id=65", "id=x", "id=-1", "id=1.5"])
def test_get_match_id_is_required_1_to_64(live, query):
    assert "'id'" in live.get(f"/v1/get_match?{query}", 400)["status"]


def test_get_match_unknown_id(live):
    assert live.get("/v1/get_match?id=12", 404) == {"status": "Match not found."}


# --- clean-up --------------------------------------------------------------------


def _expire_some(live: Live) -> None:
    """Players OTHER (fresh) and RESTRICTED (expired), matches 2 (fresh)
    and 3 (expired)."""
    now = int(time.time())
    ok(live.put(f"/ingest/sessions/{OTHER}", {}))
    ok(live.put(f"/ingest/sessions/{RESTRICTED}", {}))
    ok(live.put("/ingest/matches/2", match_body()))
    ok(live.put("/ingest/matches/3", match_body()))
    live.sql("UPDATE live_sessions SET heartbeat_at = :t WHERE user_id = :u", {"t": now - PRESENCE_TTL - 2, "u": RESTRICTED})
    live.sql("UPDATE live_matches SET updated_at = :t WHERE id = 3", {"t": now - MATCH_TTL - 2})


def _expired_are_gone(live: Live) -> bool:
    sessions = {r["user_id"] for r in live.rows("SELECT user_id FROM live_sessions")}
    assert OTHER in sessions
    gone = RESTRICTED not in sessions
    for table, column in (("live_matches", "id"), ("live_match_refs", "match_id"), ("live_match_slots", "match_id")):
        ids = {r[column] for r in live.rows(f"SELECT {column} FROM {table}")}
        assert 2 in ids, table
        gone = gone and 3 not in ids
    return gone


def test_clean_up_deletes_what_has_expired_and_nothing_else(live):
    _expire_some(live)
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    ok(live.put("/ingest/matches/5", match_body()))
    # writes leave expired rows to the background job (they are not served)
    assert not _expired_are_gone(live)
    assert online_count(live) == 2
    live.client.portal.call(background.clean_up_live, live.db, live.client.app.state.settings)
    assert _expired_are_gone(live)


def test_the_clean_up_runs_in_the_background(live):
    _expire_some(live)
    # an app that cleans up every second (its shortest time to live)
    with live.other_app(presence_ttl=1, match_ttl=MATCH_TTL, ingest_token=TOKEN) as client:
        assert background.clean_up_interval(client.app.state.settings) == 1
        deadline = time.monotonic() + 10
        while not _expired_are_gone(live):
            assert time.monotonic() < deadline, "the background clean-up did not run"
            time.sleep(0.1)


def test_a_deadlocked_match_write_runs_again(live, backend):
    """MariaDB chooses the smaller of two deadlocked transactions to roll
    back: here the app's replace of match 5, against another transaction
    that has written much. The app runs its transaction again and answers
    200 with the match it was sent."""
    if backend.kind != "mariadb":
        pytest.skip("SQLite takes one writer at a time: no deadlocks")
    ok(live.put("/ingest/matches/5", match_body(name="before")))
    conflicts = live.db.failures["conflict"]

    async def scenario() -> Any:
        async with Database(live.url) as other, Database(live.url) as watcher:
            await watcher.execute("CREATE TABLE IF NOT EXISTS deadlock_weight (n INT)")
            async with other.transaction():
                other_id = await other.fetch_val("SELECT CONNECTION_ID()")
                await other.execute_many("INSERT INTO deadlock_weight (n) VALUES (:n)", [{"n": n} for n in range(500)])
                await other.execute("DELETE FROM live_match_slots WHERE match_id = 5")
                answer: list[Any] = []
                request = threading.Thread(target=lambda: answer.append(
                    live.put("/ingest/matches/5", match_body(name="after"))))
                request.start()
                # the app holds match 5's row and waits for the slots ...
                deadline = time.monotonic() + 10
                while not await watcher.fetch_val(
                    "SELECT COUNT(*) FROM information_schema.processlist"
                    " WHERE info LIKE 'DELETE FROM live_match_slots%' AND id != :ours", {"ours": other_id}
                ):
                    assert time.monotonic() < deadline, "the app's write never waited"
                    await asyncio.sleep(0.02)
                # ... which we hold while we ask for its match row: a deadlock
                await other.fetch_all("SELECT id FROM live_matches WHERE id = 5 FOR UPDATE")
            await asyncio.to_thread(request.join, 20)
            await watcher.execute("DROP TABLE deadlock_weight")
            return answer

    answer = run(scenario())
    assert len(answer) == 1
    ok(answer[0])
    assert live.db.failures["conflict"] > conflicts
    match = live.get("/v1/get_match?id=5")["match"]
    assert match["name"] == "after"
    assert len(match["active_slots"]) == 2


def test_concurrent_writers_never_fail(backend, osu_api_server):
    """Sixteen writers at once (sessions, heartbeats, log-outs, matches),
    through a server process whose clean-up runs every second meanwhile
    (MATCH_TTL=1): every write answers as it would alone."""
    env = {"INGEST_TOKEN": TOKEN, "MATCH_TTL": "1", "RATE_LIMIT_PER_MINUTE": "0"}
    if backend.kind == "mariadb":
        env["DATABASE_URL"] = backend.new_database_url()
    server = osu_api_server(env=env)

    async def writer(client: httpx.AsyncClient, n: int) -> list[int]:
        player, statuses = 100 + n, []
        for i in range(40):
            calls = [
                client.put(f"/ingest/sessions/{player}", json={"action": i % 13}),
                client.post(f"/ingest/sessions/{player}/heartbeat", json={"mods": i}),
                client.put(f"/ingest/matches/{1 + (n + i) % 64}", json=match_body(host_id=player)),
                client.delete(f"/ingest/sessions/{player}") if i % 5 == 4 else None,
                client.delete(f"/ingest/matches/{1 + (n * 7 + i) % 64}") if i % 3 == 2 else None,
            ]
            for call in calls:
                if call is not None:
                    statuses.append((await call).status_code)
        return statuses

    async def load() -> list[int]:
        async with httpx.AsyncClient(base_url=server, headers=AUTH, timeout=30) as client:
            return [s for batch in await asyncio.gather(*(writer(client, n) for n in range(16))) for s in batch]

    statuses = run(load())
    assert len(statuses) > 16 * 40 * 3
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}


# --- validation ------------------------------------------------------------------

LONG = "x" * 257


@pytest.mark.parametrize(
    "body,field",
    [
        ({"action": -1}, "action"), ({"action": 14}, "action"), ({"action": "2"}, "action"),
        ({"action": True}, "action"), ({"action": 2.0}, "action"), ({"action": None}, "action"),
        ({"mode": 7}, "mode"), ({"mode": 9}, "mode"), ({"mode": 11}, "mode"), ({"mode": 12}, "mode"),
        ({"mode": -1}, "mode"),
        ({"mods": -1}, "mods"), ({"mods": 2**31}, "mods"), ({"mods": 1.5}, "mods"),
        ({"info_text": LONG}, "info_text"), ({"info_text": 5}, "info_text"), ({"info_text": None}, "info_text"),
        ({"map_md5": "xyz"}, "map_md5"), ({"map_md5": "g" * 32}, "map_md5"), ({"map_md5": 5}, "map_md5"),
        ({"login_time": "now"}, "login_time"), ({"login_time": -1}, "login_time"),
        ({"login_time": True}, "login_time"), ({"login_time": 2**40}, "login_time"),
        ({"heartbeat_at": 1}, "heartbeat_at"), ({"user_id": 3}, "user_id"),
    ],
)
def test_session_fields_are_validated(live, body, field):
    message = error(live.put(f"/ingest/sessions/{PLAYER}", body), 400)
    assert f"'{field}'" in message
    assert live.rows("SELECT user_id FROM live_sessions") == []


@pytest.mark.parametrize(
    "body,field",
    [({"action": 99}, "action"), ({"login_time": 1.0}, "login_time"), ({"mode": 10}, "mode"), ({"map_md5": "0"}, "map_md5")],
)
def test_heartbeat_fields_are_validated(live, body, field):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {"action": 2}))
    response = live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", json=body, headers=AUTH)
    assert f"'{field}'" in error(response, 400)
    assert status_of(live, PLAYER)["status"]["action"] == 2


@pytest.mark.parametrize("user_id", ["0", "abc", "-3", "99999999999", "2147483648", "1e3"])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST"])
def test_session_user_id_is_validated(live, user_id, method):
    path = f"/ingest/sessions/{user_id}" + ("/heartbeat" if method == "POST" else "")
    response = live.client.request(method, path, json={}, headers=AUTH)
    assert "'user_id'" in error(response, 400)


def slot(**changes) -> dict:
    return {"slot": 0, "user_id": PLAYER, "status": 4, "team": 0, "mods": 0, "loaded": False, "skipped": False, **changes}


@pytest.mark.parametrize(
    "changes,missing,field",
    [
        ({}, "name", "name"), ({}, "host_id", "host_id"),
        ({"name": 5}, None, "name"), ({"name": "n" * 65}, None, "name"),
        ({"mode": 7}, None, "mode"), ({"mode": "0"}, None, "mode"),
        ({"mods": -1}, None, "mods"), ({"seed": 2**31}, None, "seed"), ({"seed": 1.5}, None, "seed"),
        ({"host_id": 0}, None, "host_id"), ({"host_id": None}, None, "host_id"),
        ({"in_progress": 1}, None, "in_progress"), ({"is_scrimming": "false"}, None, "is_scrimming"),
        ({"referee_ids": 4}, None, "referee_ids"), ({"referee_ids": [4, "x"]}, None, "referee_ids[1]"),
        ({"referee_ids": [0]}, None, "referee_ids[0]"), ({"referee_ids": list(range(1, 66))}, None, "referee_ids"),
        ({"map": None}, None, "map"), ({"map": [1]}, None, "map"),
        ({"map": {"id": -2, "md5": "", "name": ""}}, None, "map.id"),
        ({"map": {"id": 1, "md5": "abc", "name": ""}}, None, "map.md5"),
        ({"map": {"id": 1, "md5": "", "name": LONG}}, None, "map.name"),
        ({"map": {"id": 1, "md5": "", "name": "", "set_id": 1}}, None, "map.set_id"),
        ({"slots": {}}, None, "slots"), ({"slots": [slot(slot=i, user_id=10 + i) for i in range(17)]}, None, "slots"),
        ({"slots": [5]}, None, "slots[0]"),
        ({"slots": [slot(), slot(slot=16, user_id=4)]}, None, "slots[1].slot"),
        ({"slots": [slot(), slot(user_id=4)]}, None, "slots[1].slot"),
        ({"slots": [slot(), slot(slot=1)]}, None, "slots[1].user_id"),
        ({"slots": [slot(user_id=0)]}, None, "slots[0].user_id"),
        ({"slots": [{"user_id": 3}]}, None, "slots[0].slot"),
        ({"slots": [slot(status=256)]}, None, "slots[0].status"),
        ({"slots": [slot(team=3)]}, None, "slots[0].team"),
        ({"slots": [slot(mods=-8)]}, None, "slots[0].mods"),
        ({"slots": [slot(loaded="yes")]}, None, "slots[0].loaded"),
        ({"slots": [slot(skipped=0)]}, None, "slots[0].skipped"),
        ({"slots": [slot(ready=True)]}, None, "slots[0].ready"),
        ({"refs": [4]}, None, "refs"),
    ],
)
def test_match_fields_are_validated(live, changes, missing, field):
    body = match_body(**changes)
    if missing:
        del body[missing]
    message = error(live.put("/ingest/matches/7", body), 400)
    assert f"'{field}'" in message
    assert live.rows("SELECT id FROM live_matches") == []


def test_a_rejected_replace_keeps_the_previous_state(live):
    ok(live.put("/ingest/matches/7", match_body()))
    error(live.put("/ingest/matches/7", match_body(name="new", slots=[slot(team=9)])), 400)
    match = live.get("/v1/get_match?id=7")["match"]
    assert match["name"] == match_body()["name"] and list(match["active_slots"]) == ["0", "3"]


@pytest.mark.parametrize("match_id", ["0", "65", "x", "-1"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_match_id_is_validated(live, match_id, method):
    response = live.client.request(method, f"/ingest/matches/{match_id}", json=match_body(), headers=AUTH)
    assert "'match_id'" in error(response, 400)


@pytest.mark.parametrize(
    "method,path",
    [("PUT", f"/ingest/sessions/{PLAYER}"), ("POST", f"/ingest/sessions/{PLAYER}/heartbeat"), ("PUT", "/ingest/matches/7")],
)
@pytest.mark.parametrize("content", [b'{"action": ', b"{'action': 1}", b"\xff\xfe", b"NaN", b'{"a": 1} x'])
def test_bad_json_answers_400(live, method, path, content):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    response = live.client.request(method, path, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert error(response, 400).startswith("Invalid JSON body")


@pytest.mark.parametrize("content", [b"", b"[]", b"null", b"3", b'"text"'])
@pytest.mark.parametrize("path", [f"/ingest/sessions/{PLAYER}", "/ingest/matches/7"])
def test_put_needs_a_json_object(live, path, content):
    response = live.client.put(path, content=content, headers=AUTH)
    assert error(response, 400) == "The body must be a JSON object."


def test_heartbeat_body_must_be_an_object_when_given(live):
    ok(live.put(f"/ingest/sessions/{PLAYER}", {}))
    response = live.client.post(f"/ingest/sessions/{PLAYER}/heartbeat", content=b"[]", headers=AUTH)
    assert error(response, 400) == "The body must be a JSON object."


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("path", [f"/ingest/sessions/{PLAYER}", "/ingest/matches/7"])
def test_oversized_bodies_answer_413(live, path, chunked):
    body = b'{"info_text": "' + b"x" * (64 * 1024) + b'"}'
    content = iter([body[i:i + 4096] for i in range(0, len(body), 4096)]) if chunked else body
    response = live.client.put(path, content=content, headers=AUTH)
    assert error(response, 413) == "Request body too large: at most 65536 bytes."
    assert live.rows("SELECT user_id FROM live_sessions") == []


def test_a_body_at_the_limit_is_read(live):
    # 64 KiB exactly, padded with whitespace: read, then judged on its fields
    body = b'{"info_text": "' + b"x" * 300 + b'"}'
    body += b" " * (64 * 1024 - len(body))
    response = live.client.put(f"/ingest/sessions/{PLAYER}", content=body, headers=AUTH)
    assert "'info_text'" in error(response, 400)
    body = b"{}" + b" " * (64 * 1024 - 2)
    ok(live.client.put(f"/ingest/sessions/{PLAYER}", content=body, headers=AUTH))


def test_unknown_ingest_paths_and_methods(live):
    assert error(live.client.get(f"/ingest/sessions/{PLAYER}", headers=AUTH), 405) == "Method not allowed."
    assert error(live.client.put("/ingest/nothing", json={}, headers=AUTH), 404) == "Not found."
