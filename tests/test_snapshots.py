"""Ranks and the player count come from in-process snapshots
(server/snapshots.py): right when fresh, rebuilt at once after the
service's own writes, at most SNAPSHOT_MAX_AGE old after another
process's, and built once for many concurrent requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import run
from starlette.testclient import TestClient

from server.app import create_app
from server.db import Database
from server.migrate import migrate
from server.queries import players
from server.snapshots import Snapshots, add_ranks

# (id, name, country, priv, pp in mode 0)
PLAYERS = [
    (3, "Alpha", "de", 3, 500.0),
    (4, "Bravo", "de", 3, 400.0),
    (5, "Charlie", "us", 3, 400.0),   # ties with Bravo: the same rank
    (6, "Delta", "us", 2, 900.0),     # restricted: no rank, not counted above others
    (7, "Echo", "us", 3, 0.0),        # no pp: no rank
    (8, "Foxtrot", "us", 3, 100.0),
]


async def _seed(url: str) -> None:
    async with Database(url) as db:
        await migrate(db)
        for user_id, name, country, priv, pp in PLAYERS:
            await db.execute(
                "INSERT INTO users (id, name, safe_name, email, priv, pw_bcrypt, country)"
                " VALUES (:id, :name, :safe, :email, :priv, :pw, :country)",
                {"id": user_id, "name": name, "safe": name.lower(), "email": f"{name}@example.com",
                 "priv": priv, "pw": "x" * 60, "country": country},
            )
            for mode in (0, 1, 2, 3, 4, 5, 6, 8):
                await db.execute("INSERT INTO stats (id, mode, pp) VALUES (:id, :mode, :pp)",
                                 {"id": user_id, "mode": mode, "pp": pp if mode == 0 else 0})


@pytest.fixture
def seeded(backend) -> str:
    url = backend.new_database_url()
    run(_seed(url))
    return url


def _ranks(client: TestClient, user_id: int) -> tuple[int, int]:
    answer = client.get(f"/v1/get_player_info?id={user_id}&scope=stats")
    assert answer.status_code == 200, answer.text
    stats = answer.json()["player"]["stats"]["0"]
    return stats["rank"], stats["country_rank"]


def _set_pp(url: str, user_id: int, pp: float) -> None:
    """A write by another process (the game server): its own Database."""
    async def go() -> None:
        async with Database(url) as db:
            await db.execute("UPDATE stats SET pp = :pp WHERE id = :id AND mode = 0", {"pp": pp, "id": user_id})
    run(go())


def test_ranks_share_ties_and_skip_restricted_and_pp_less_players(backend, seeded):
    with TestClient(create_app(backend.settings(seeded))) as client:
        assert _ranks(client, 3) == (1, 1)
        assert _ranks(client, 4) == (2, 2)
        assert _ranks(client, 5) == (2, 1)  # tied with Bravo; first of the unrestricted in us
        assert _ranks(client, 8) == (4, 2)
        assert _ranks(client, 6) == (0, 0)  # restricted
        assert _ranks(client, 7) == (0, 0)  # no pp


def test_another_process_write_shows_within_max_age_only(backend, seeded):
    settings = backend.settings(seeded, snapshot_max_age=3600)
    with TestClient(create_app(settings)) as client:
        assert _ranks(client, 8) == (4, 2)
        _set_pp(seeded, 4, 50.0)  # Bravo falls below Foxtrot
        # the snapshot is an hour fresh and this process did not write: the
        # pp it holds are as they were, Bravo's old 400 included, while
        # each player's own pp is read fresh
        assert _ranks(client, 8) == (4, 2)
        assert _ranks(client, 4) == (5, 3)
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=0))) as client:
        assert _ranks(client, 8) == (3, 2)
        assert _ranks(client, 4) == (4, 2)


def test_own_write_rebuilds_at_once(backend, seeded):
    settings = backend.settings(seeded, snapshot_max_age=3600)
    with TestClient(create_app(settings)) as client:
        assert _ranks(client, 8) == (4, 2)
        db: Database = client.app.state.db
        client.portal.call(db.execute, "UPDATE stats SET pp = 50 WHERE id = 4 AND mode = 0")
        assert _ranks(client, 8) == (3, 2)


def test_player_count_follows_the_same_rules(backend, seeded):
    def total(client: TestClient) -> int:
        answer = client.get("/v1/get_player_count")
        assert answer.status_code == 200
        return answer.json()["counts"]["total"]

    async def add_user(url: str) -> None:
        async with Database(url) as db:
            await db.execute(
                "INSERT INTO users (id, name, safe_name, email, pw_bcrypt) VALUES (9, 'Golf', 'golf', 'g@x', :pw)",
                {"pw": "x" * 60})

    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        before = total(client)
        assert before == len(PLAYERS) + 1  # the bot too
        run(add_user(seeded))
        assert total(client) == before  # cached, another process wrote
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=0))) as client:
        assert total(client) == before + 1


def test_concurrent_requests_share_one_build(backend, seeded):
    async def go() -> tuple[list[list[dict]], int]:
        async with Database(seeded) as db:
            cache = Snapshots(db, max_age=3600)
            built = 0

            async def build(database: Database) -> int:
                nonlocal built
                built += 1
                await asyncio.sleep(0.05)  # still building when the others ask
                return await players.count_players(database)

            values = await asyncio.gather(*(cache.get("count", build) for _ in range(20)))
            again = await cache.get("count", build)
            return values + [again], built

    values, built = run(go())
    assert built == 1
    assert set(values) == {len(PLAYERS) + 1}


def test_an_aged_snapshot_is_answered_while_one_rebuild_runs(backend, seeded, monkeypatch):
    class Clock:
        now = 1000.0

        def monotonic(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr("server.snapshots.time", clock)

    async def go() -> list[Any]:
        async with Database(seeded) as db:
            cache = Snapshots(db, max_age=10)
            builds = 0
            release = asyncio.Event()

            async def build(database: Database) -> int:
                nonlocal builds
                builds += 1
                if builds == 2:
                    await release.wait()  # the background rebuild, held
                return builds

            seen = [await cache.get("k", build)]
            clock.now += 15  # aged, under twice the age
            # answered at once from the old build, with one rebuild started
            seen += [await cache.get("k", build), await cache.get("k", build)]
            await asyncio.sleep(0)
            seen.append(builds)  # one rebuild for both
            release.set()
            for _ in range(5):
                await asyncio.sleep(0)
            seen.append(await cache.get("k", build))  # the rebuilt value
            clock.now += 25  # past twice the age: requests wait
            seen.append(await cache.get("k", build))
            await db.execute("UPDATE users SET country = 'de' WHERE id = 3")
            seen.append(await cache.get("k", build))  # this process wrote: waits
            return seen

    assert run(go()) == [1, 1, 1, 2, 2, 3, 4]


def test_add_ranks_without_an_app_uses_the_default_age(backend, seeded):
    async def go() -> list[dict]:
        async with Database(seeded) as db:
            rows = await db.fetch_all(
                "SELECT s.id, s.mode, s.pp, u.priv, u.country FROM stats s JOIN users u ON u.id = s.id"
                " WHERE s.mode = 0 ORDER BY s.id")
            return await add_ranks(db, rows)

    ranked = {row["id"]: (row["global_rank"], row["country_rank"]) for row in run(go())}
    assert ranked[3] == (1, 1) and ranked[5] == (2, 1) and ranked[6] == (0, 0)
    assert all("priv" not in row and "country" not in row for row in run(go()))


def test_map_rows_are_cached_by_id_and_md5_and_copied(backend, seeded):
    async def add_map(url: str, title: str) -> None:
        async with Database(url) as db:
            await db.execute("DELETE FROM maps WHERE id = 77")
            await db.execute(
                "INSERT INTO maps (id, set_id, status, md5, artist, title, version, creator, filename,"
                " last_update, total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff)"
                " VALUES (77, 70, 2, :md5, 'a', :title, 'v', 'c', 'f.osu', '2020-01-01 00:00:00',"
                " 60, 100, 0, 0, 0, 0, 120, 4, 9, 8, 5, 5.5)",
                {"md5": "7" * 32, "title": title})

    def title(client: TestClient, query: str) -> str:
        answer = client.get(f"/v1/get_map_info?{query}")
        assert answer.status_code == 200, answer.text
        return answer.json()["map"]["title"]

    run(add_map(seeded, "First"))
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        assert title(client, "id=77") == "First"
        assert title(client, "md5=" + "7" * 32) == "First"
        run(add_map(seeded, "Second"))  # another process rewrites the map
        assert title(client, "id=77") == "First"
        assert title(client, "md5=" + "7" * 32) == "First"

        async def mutate() -> dict:
            from server.queries import maps
            row = await maps.map_by_id(client.app.state.db, 77)
            row["title"] = "changed by a caller"
            return await maps.map_by_id(client.app.state.db, 77)

        assert client.portal.call(mutate)["title"] == "First"  # callers get copies
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=0))) as client:
        assert title(client, "id=77") == "Second"


def test_the_cache_keeps_the_most_recently_used_max_entries(backend, seeded, monkeypatch):
    import server.snapshots as snapshots_module

    monkeypatch.setattr(snapshots_module, "MAX_ENTRIES", 3)

    async def go() -> list[Any]:
        async with Database(seeded) as db:
            cache = Snapshots(db, max_age=3600)
            calls = []

            async def build(key):
                calls.append(key)
                return key

            for key in (1, 2, 3):
                await cache.get(key, lambda _db, key=key: build(key))
            await cache.get(1, lambda _db: build(1))  # still there, and now the most recently used
            assert await cache.get(2, lambda _db: build(2)) == 2  # so is 2
            await cache.get(4, lambda _db: build(4))  # 3, the least recently used, is dropped
            await cache.get(1, lambda _db: build(1))  # still there
            await cache.get(3, lambda _db: build(3))  # built again
            return calls

    assert run(go()) == [1, 2, 3, 4, 3]


def test_an_offline_players_status_costs_one_query(backend, seeded):
    # who holds a session comes from a snapshot: only the player is read
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        db: Database = client.app.state.db
        assert client.get("/v1/get_player_status?id=3").status_code == 200
        before = db.query_count
        answer = client.get("/v1/get_player_status?id=4")
        assert answer.status_code == 200
        assert answer.json()["player_status"]["online"] is False
        assert db.query_count - before == 1


def test_the_pp_leaderboard_pages_the_snapshot_and_reads_rows_fresh(backend, seeded):
    def board(client: TestClient, query: str = "") -> list[tuple[int, float]]:
        answer = client.get(f"/v1/get_leaderboard?sort=pp{query}")
        assert answer.status_code == 200, answer.text
        return [(row["player_id"], row["pp"]) for row in answer.json()["leaderboard"]]

    async def restrict(url: str, user_id: int) -> None:
        async with Database(url) as db:
            await db.execute("UPDATE users SET priv = 2 WHERE id = :id", {"id": user_id})

    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        # pp descending, ties by id; restricted and pp-less players left out
        assert board(client) == [(3, 500), (4, 400), (5, 400), (8, 100)]
        assert board(client, "&limit=2&offset=1") == [(4, 400), (5, 400)]
        assert board(client, "&country=US") == [(5, 400), (8, 100)]
        assert board(client, "&offset=4") == []
        # another process: the order is the snapshot's, each row is read fresh
        _set_pp(seeded, 4, 50.0)
        assert board(client) == [(3, 500), (4, 50), (5, 400), (8, 100)]
        run(restrict(seeded, 3))
        assert board(client) == [(4, 50), (5, 400), (8, 100)]
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=0))) as client:
        assert board(client) == [(5, 400), (8, 100), (4, 50)]


def test_name_search_from_the_index_matches_like(backend, seeded, monkeypatch):
    async def search_both(texts: list[str]) -> tuple[list, list]:
        async with Database(seeded) as db:
            await db.execute("UPDATE users SET name = 'x_Ray 100%' WHERE id = 7")
            indexed = [await players.search_players(db, text) for text in texts]
            assert isinstance(await Snapshots(db, 10).get("name_index", players._name_index), players.NameIndex)
            monkeypatch.setattr(players, "NAME_INDEX_MAX_PLAYERS", 0)  # the LIKE query instead
            await db.execute("UPDATE users SET name = name WHERE id = 7")  # a write: the snapshot rebuilt
            return indexed, [await players.search_players(db, text) for text in texts]

    texts = ["a", "AL", "ha", "o", "lph", "x", "x_r", "_", "%", "0%", "ray 1", "zz", "é", "Alpha", "ALPHAX"]
    indexed, by_like = run(search_both(texts))
    assert indexed == by_like
    assert [row["id"] for row in indexed[0]] == [3, 4, 5, 7]  # by id; Delta (restricted) never
    assert indexed[6] == [{"id": 7, "name": "x_Ray 100%"}]
    assert indexed[7] == indexed[8] == indexed[9] == [{"id": 7, "name": "x_Ray 100%"}]  # wildcards are literal
    assert indexed[11] == [] and indexed[14] == []


def test_listing_clans_come_from_the_snapshot_and_new_clans_show_at_once(backend, seeded):
    """Leaderboard rows name their players' clans as a LEFT JOIN would: the
    clan's id, name and tag, or three nulls for no clan or a clan id no
    clan has. A clan made by another process since the snapshot shows at
    once (read on the miss), as do a known clan's members."""
    async def write(url: str, *statements: str) -> None:
        async with Database(url) as db:
            for statement in statements:
                await db.execute(statement)

    def clans_of(client: TestClient) -> dict[int, tuple[Any, Any, Any]]:
        answer = client.get("/v1/get_leaderboard?sort=pp")
        assert answer.status_code == 200, answer.text
        return {row["player_id"]: (row["clan_id"], row["clan_name"], row["clan_tag"])
                for row in answer.json()["leaderboard"]}

    none = (None, None, None)
    run(write(seeded,
              "INSERT INTO clans (id, name, tag, owner, created_at) VALUES (1, 'First', 'ONE', 3, '2024-01-01 00:00:00')",
              "UPDATE users SET clan_id = 1 WHERE id = 3",
              "UPDATE users SET clan_id = 99 WHERE id = 5"))  # a clan that does not exist
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        assert clans_of(client) == {3: (1, "First", "ONE"), 4: none, 5: none, 8: none}
        run(write(seeded,
                  "INSERT INTO clans (id, name, tag, owner, created_at) VALUES (2, 'Second', 'TWO', 4, '2024-01-01 00:00:00')",
                  "UPDATE users SET clan_id = 2 WHERE id = 4",
                  "UPDATE users SET clan_id = 1 WHERE id = 8"))
        assert clans_of(client) == {3: (1, "First", "ONE"), 4: (2, "Second", "TWO"), 5: none, 8: (1, "First", "ONE")}
        # like bancho.py, the clan's answer has no "status" envelope
        assert client.get("/v1/get_clan?id=2").json()["tag"] == "TWO"


def test_name_index_remembers_its_answers_within_a_bound(monkeypatch):
    index = players.NameIndex([(3, "Alpha"), (4, "alphonse"), (5, "Bravo"), (6, "Al"), (7, "Zed")])
    first = index.search("AL")
    assert [row["id"] for row in first] == [3, 4, 6]
    assert index.search("al") is first  # remembered: the index does not change
    monkeypatch.setattr(players, "NAME_INDEX_REMEMBERED", 2)
    # a name with the text twice is found once; past the bound all is forgotten
    assert [row["id"] for row in index.search("a")] == [3, 4, 5, 6]
    again = index.search("al")
    assert again is not first and again == first
    assert index.search("zz") == []


def test_a_players_scores_show_their_maps_from_the_snapshots(backend, seeded):
    """A listed score's map is the one the snapshots hold (as get_map_info
    shows it), and a map the snapshots remember as missing, made since by
    another process with a score on it, is read for the listing."""
    md5 = "8" * 32

    async def add_map_and_score(url: str) -> None:
        async with Database(url) as db:
            await db.execute(
                "INSERT INTO maps (id, set_id, status, md5, artist, title, version, creator, filename,"
                " last_update, total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff)"
                " VALUES (88, 80, 2, :md5, 'a', 'Late map', 'v', 'c', 'f.osu', '2020-01-01 00:00:00',"
                " 60, 100, 0, 0, 0, 0, 120, 4, 9, 8, 5, 5.5)", {"md5": md5})
            await db.execute(
                "INSERT INTO scores (id, map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
                " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, userid, perfect,"
                " online_checksum) VALUES (1, :md5, 1000, 10, 95.5, 50, 0, 90, 5, 0, 1, 0, 0, 'A', 2, 0,"
                " '2024-01-01 00:00:00', 60000, 0, 3, 0, :checksum)", {"md5": md5, "checksum": "c" * 32})

    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        assert client.get(f"/v1/get_map_info?md5={md5}").status_code == 404  # remembered as missing
        run(add_map_and_score(seeded))
        answer = client.get("/v1/get_player_scores?id=3&scope=best")
        assert answer.status_code == 200, answer.text
        [score] = answer.json()["scores"]
        assert score["beatmap"]["title"] == "Late map" and score["beatmap"]["md5"] == md5
        assert score["beatmap"] == client.get(f"/v1/get_map_info?md5={md5}").json()["map"]


def test_a_memo_is_emptied_past_its_bound_its_age_or_a_write(backend, seeded):
    async def go() -> None:
        async with Database(seeded) as db:
            store = Snapshots(db, max_age=3600)
            facts = store.memo("facts", 3)
            facts.update({1: True, 2: False})
            assert store.memo("facts", 3) is facts  # kept
            facts[3] = True
            assert store.memo("facts", 3) == {}  # at its bound: a new one
            store.memo("facts", 3)[4] = True
            await db.execute("UPDATE users SET name = name WHERE id = 3")
            assert store.memo("facts", 3) == {}  # a write through this process
            young = Snapshots(db, max_age=0)
            young.memo("facts")[5] = True
            assert young.memo("facts") == {}  # at age 0 nothing is kept

    run(go())


def _rename(url: str, user_id: int, name: str) -> None:
    """A rename by another process (the game server): its own Database."""
    async def go() -> None:
        async with Database(url) as db:
            await db.execute("UPDATE users SET name = :name, safe_name = :safe WHERE id = :id",
                             {"name": name, "safe": name.lower(), "id": user_id})
    run(go())


def test_a_listings_player_comes_from_the_snapshots(backend, seeded):
    """The player a listing endpoint looks up is held like a map: the
    listing is then its one query; another process's rename shows once the
    snapshot ages, this process's own write at once; callers get copies."""
    def listed_name(client: TestClient, query: str) -> tuple[int, str | None]:
        answer = client.get(f"/v1/get_player_scores?{query}&scope=recent")
        return answer.status_code, answer.json()["player"]["name"] if answer.status_code == 200 else None

    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        db: Database = client.app.state.db
        assert listed_name(client, "id=3") == (200, "Alpha")
        before = db.query_count
        assert listed_name(client, "id=3") == (200, "Alpha")
        assert db.query_count - before == 1  # the scores alone
        assert listed_name(client, "name=alpha") == (200, "Alpha")
        _rename(seeded, 3, "Renamed")
        assert listed_name(client, "id=3") == (200, "Alpha")  # held
        assert listed_name(client, "name=alpha") == (200, "Alpha")
        assert listed_name(client, "name=renamed") == (200, "Renamed")  # not held: read

        async def mutate() -> dict:
            row = await players.held_player(db, user_id=4)
            row["name"] = "changed by a caller"
            return await players.held_player(db, user_id=4)

        assert client.portal.call(mutate)["name"] == "Bravo"
        client.portal.call(db.execute, "UPDATE users SET name = 'Own', safe_name = 'own' WHERE id = 3")
        assert listed_name(client, "id=3") == (200, "Own")  # this process wrote: read again
        assert listed_name(client, "name=alpha") == (404, None)
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=0))) as client:
        _rename(seeded, 3, "Alpha")
        assert listed_name(client, "id=3") == (200, "Alpha")
        assert listed_name(client, "name=own") == (404, None)


def test_a_players_listing_leaves_out_unknown_maps_and_reads_on(backend, seeded):
    """Recent scores are not joined to their maps: a score on a map the
    server does not know is left out once the maps are read, and the next
    page of scores makes up the limit."""
    known = {"91": "1" * 32, "92": "2" * 32}

    async def add(url: str) -> None:
        async with Database(url) as db:
            for map_id, md5 in known.items():
                await db.execute(
                    "INSERT INTO maps (id, set_id, status, md5, artist, title, version, creator, filename,"
                    " last_update, total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff)"
                    " VALUES (:id, 90, 2, :md5, 'a', 't', 'v', 'c', 'f.osu', '2020-01-01 00:00:00',"
                    " 60, 100, 0, 0, 0, 0, 120, 4, 9, 8, 5, 5.5)", {"id": int(map_id), "md5": md5})
            # newest first: 11 and 14 are on maps nobody knows
            for score_id, md5, day in ((11, "e" * 32, 9), (12, known["91"], 8), (13, known["92"], 7),
                                       (14, "f" * 32, 6), (15, known["91"], 5)):
                await db.execute(
                    "INSERT INTO scores (id, map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
                    " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, userid, perfect,"
                    " online_checksum) VALUES (:id, :md5, 1000, 10, 95.5, 50, 0, 90, 5, 0, 1, 0, 0, 'A', 1, 0,"
                    " :played, 60000, 0, 5, 0, :checksum)",
                    {"id": score_id, "md5": md5, "played": f"2024-01-0{day} 00:00:00", "checksum": str(score_id) * 16})

    run(add(seeded))
    with TestClient(create_app(backend.settings(seeded, snapshot_max_age=3600))) as client:
        def recent(limit: int) -> list[int]:
            answer = client.get(f"/v1/get_player_scores?id=5&scope=recent&limit={limit}")
            assert answer.status_code == 200, answer.text
            return [score["id"] for score in answer.json()["scores"]]

        assert recent(1) == [12]
        assert recent(2) == [12, 13]  # two pages: 11 and 14 are left out
        assert recent(3) == [12, 13, 15]
        assert recent(100) == [12, 13, 15]


def test_snapshots_of_every_player_are_built_off_the_event_loop(backend, seeded, monkeypatch):
    """A mode's ranks and the name index are built in a worker thread: made
    on the loop, they held every request for as long as they took (140 ms
    for 200,000 players)."""
    import threading

    import server.queries.players as players_module
    import server.snapshots as snapshots_module

    built_in: dict[str, int] = {}

    class RecordedRanks(snapshots_module.ModeRanks):
        def __init__(self, ordered):
            built_in["ranks"] = threading.get_ident()
            super().__init__(ordered)

    class RecordedIndex(players_module.NameIndex):
        def __init__(self, rows):
            built_in["names"] = threading.get_ident()
            super().__init__(rows)

    monkeypatch.setattr(snapshots_module, "ModeRanks", RecordedRanks)
    monkeypatch.setattr(players_module, "NameIndex", RecordedIndex)
    with TestClient(create_app(backend.settings(seeded))) as client:
        loop_thread = client.portal.call(lambda: threading.get_ident())
        assert _ranks(client, 3) == (1, 1)
        found = client.get("/v1/search_players?q=alp").json()["result"]
        assert [player["name"] for player in found] == ["Alpha"]
    assert set(built_in) == {"ranks", "names"}
    assert loop_thread not in built_in.values()
