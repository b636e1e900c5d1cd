"""The osu!track layer under /track/, on SQLite and MariaDB, each module on
databases of its own: a playthrough (snapshot, new scores arrive, update
shows the differences and the new top plays, history, peak, hiscores and
bestplays reflect it), unknown and restricted players, the rate limit,
concurrent updates from two app instances, every parameter error, the
snapshot command and the in-process loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from conftest import run
from starlette.testclient import TestClient

from server import cli, fixtures, track
from server.app import create_app
from server.constants import level_from_score
from server.db import Database
from server.migrate import migrate

REPO = Path(__file__).resolve().parent.parent

INVALID_USER = "Invalid or missing `user` param; must be a valid osu! user ID"
INVALID_HISCORES_USER = (
    "Invalid or missing `user` param; must be a valid osu! user ID (default) or username "
    "(if `userMode` is set to `username`)"
)
INVALID_MODE = "Invalid or missing `mode` param; must be a valid osu! game mode; 0=osu!, 1=taiko, 2=ctb, 3=mania"
INVALID_LIMIT = "Invalid `limit` param; must be a non-zero integer greater than 0 and less than or equal to 10000"
TOO_MANY = "Too many requests, please try again later."

UPDATE_KEYS = [
    "username", "mode", "playcount", "pp_rank", "pp_raw", "accuracy", "total_score", "ranked_score",
    "count300", "count50", "count100", "level", "count_rank_a", "count_rank_s", "count_rank_ss",
    "levelup", "first", "exists", "newhs",
]
NEWHS_KEYS = [
    "beatmap_id", "score_id", "score", "maxcombo", "count50", "count100", "count300", "countmiss",
    "countkatu", "countgeki", "perfect", "enabled_mods", "user_id", "date", "rank", "pp",
    "replay_available", "ranking",
]
HISTORY_KEYS = [
    "count300", "count100", "count50", "playcount", "ranked_score", "total_score", "pp_rank", "level",
    "pp_raw", "accuracy", "count_rank_ss", "count_rank_s", "count_rank_a", "timestamp",
]
HISCORE_KEYS = ["beatmap_id", "score", "pp", "mods", "rank", "score_time", "update_time"]
NULL_PEAK = [{"best_global_rank": None, "best_rank_timestamp": None, "best_accuracy": None, "best_acc_timestamp": None}]


def ms(text: str) -> int:
    """'2024-03-01 12:00:00' (UTC) in Unix milliseconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) * 1000


def iso(text: str) -> str:
    """'2024-03-01 12:00:00' as osu!track prints it."""
    return text.replace(" ", "T") + ".000Z"


def md5(map_id: int) -> str:
    return f"{map_id:032x}"


def level(total_score: int) -> float:
    return float(f"{level_from_score(total_score):.6g}")


NOW = int(time.time())
OLD = 1_500_000_000  # 2017: not active


def _map(map_id: int, status: int = 2) -> dict:
    return {"id": map_id, "set_id": map_id, "status": status, "md5": md5(map_id), "artist": "A", "title": f"T{map_id}",
            "version": "V", "creator": "Mapper", "last_update": "2020-01-01 00:00:00", "total_length": 100,
            "max_combo": 1000, "mode": 0, "diff": 5.0}


def _score(score_id, user, map_id, pp, played, *, status=2, score=1_000_000, n300=500, n100=20, n50=2, nmiss=0,
           grade="S", mods=0, mode=0, perfect=0) -> dict:
    return {"id": score_id, "map_md5": md5(map_id), "userid": user, "score": score, "pp": pp, "acc": 97.5,
            "max_combo": 900, "mods": mods, "n300": n300, "n100": n100, "n50": n50, "nmiss": nmiss, "ngeki": 40,
            "nkatu": 7, "grade": grade, "status": status, "mode": mode, "play_time": played, "perfect": perfect}


def _user(user_id, name, pp, *, priv=3, active=NOW, plays=10, tscore=5_000_000) -> tuple[dict, dict]:
    return (
        {"id": user_id, "name": name, "country": "de", "priv": priv, "latest_activity": active, "creation_time": OLD},
        {"id": user_id, "mode": 0, "pp": pp, "plays": plays, "tscore": tscore, "rscore": tscore // 2, "acc": 95.5,
         "x_count": 0, "s_count": 1, "a_count": 2},
    )


def playthrough_data() -> dict:
    people = [
        _user(4, "Rival", 400),
        _user(5, "Hidden One", 1000, priv=2),
        _user(7, "Limited", 100),
        _user(8, "Racer One", 90),
        _user(9, "Racer Two", 80),
        _user(10, "Soon Hidden", 10),
    ]
    player = {"id": 3, "name": "Track Player", "country": "de", "priv": 3, "latest_activity": NOW, "creation_time": OLD}
    stats = {"id": 3, "mode": 0, "tscore": 50_000_000, "rscore": 20_000_000, "pp": 300, "plays": 40, "acc": 97.25,
             "x_count": 1, "xh_count": 0, "s_count": 3, "sh_count": 1, "a_count": 5, "playtime": 3600, "max_combo": 800}
    return {
        "users": [player] + [u for u, _ in people],
        "stats": [stats] + [s for _, s in people],
        "maps": [_map(i) for i in (100, 101, 102, 105, 106, 110)] + [_map(103, 3), _map(104, 5), _map(107, 4)],
        "scores": [
            _score(1, 3, 100, 100.5, "2024-01-10 10:00:00", perfect=1),
            _score(2, 3, 101, 80.25, "2024-01-20 11:00:00", grade="A", mods=72),
            _score(3, 3, 102, 60.0, "2024-02-01 00:00:00", grade="SH", mods=8, n300=300),
            _score(4, 3, 104, 0.0, "2024-02-02 00:00:00", n300=111),  # loved: counts hits, no top play
            _score(5, 3, 100, 0.0, "2024-02-03 00:00:00", status=0, grade="F", n300=50, n100=3, n50=1),  # failed
            _score(6, 3, 107, 30.0, "2024-02-04 00:00:00", n300=999),  # qualified: neither
            _score(20, 4, 100, 150.75, "2024-01-15 00:00:00"),
            _score(21, 5, 100, 999.5, "2024-01-16 00:00:00"),
            _score(22, 7, 110, 50.5, "2023-05-01 00:00:00"),
            _score(23, 8, 110, 40.5, "2023-05-02 00:00:00"),
            _score(24, 9, 110, 30.5, "2023-05-03 00:00:00"),
            _score(25, 10, 110, 500.5, "2023-05-04 00:00:00"),
        ],
    }


async def _prepare(url: str, data: dict) -> None:
    async with Database(url) as db:
        await migrate(db)
        await fixtures.load(db, data)


async def _sql(url: str, *statements: tuple[str, dict] | str) -> list:
    """Run statements in order; the rows of the last one that returns any."""
    rows: list = []
    async with Database(url) as db:
        for statement in statements:
            query, values = (statement, None) if isinstance(statement, str) else statement
            if query.lstrip().upper().startswith("SELECT"):
                rows = await db.fetch_all(query, values)
            else:
                await db.execute(query, values)
    return rows


def sql(url: str, *statements) -> list:
    return run(_sql(url, *statements))


@pytest.fixture(scope="module")
def world(backend, tmp_path_factory):
    """A database of this module's own (never the shared demo one) and a
    way to build apps over it with settings of the test's choosing."""
    url = backend.new_database_url()
    run(_prepare(url, playthrough_data()))
    data_dir = tmp_path_factory.mktemp("track-data")

    def settings(**changes):
        return backend.settings(url, data_dir=data_dir, **changes)

    return url, settings


@pytest.fixture
def clock(monkeypatch):
    """Set the time the track layer sees: clock.set('2024-03-01 12:00:00')."""

    class Clock:
        now = ms("2024-03-01 12:00:00")

        def set(self, text: str) -> int:
            self.now = ms(text)
            return self.now

        def advance(self, seconds: float) -> None:
            self.now += int(seconds * 1000)

    c = Clock()
    monkeypatch.setattr(track, "now_ms", lambda: c.now)
    return c


def ok(response: httpx.Response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- the playthrough -----------------------------------------------------------


def newhs_row(score_id, beatmap_id, score, pp, played, ranking, *, mods=0, grade="S", n300=500, n100=20, n50=2,
              perfect=0, replay="0") -> dict:
    return {
        "beatmap_id": str(beatmap_id), "score_id": str(score_id), "score": str(score), "maxcombo": "900",
        "count50": str(n50), "count100": str(n100), "count300": str(n300), "countmiss": "0", "countkatu": "7",
        "countgeki": "40", "perfect": str(perfect), "enabled_mods": str(mods), "user_id": "3", "date": played,
        "rank": grade, "pp": pp, "replay_available": replay, "ranking": ranking,
    }


def test_playthrough(world, clock):
    url, settings = world
    app_settings = settings(track_update_interval=0)
    app_settings.replays_dir.mkdir(parents=True, exist_ok=True)
    (app_settings.replays_dir / "1.osr").write_bytes(b"frames")
    t1 = clock.set("2024-03-01 12:00:00")
    with TestClient(create_app(app_settings)) as client:
        # --- the first update: absolute values, every top play is new
        first = ok(client.post("/track/update?user=3&mode=0"))
        assert list(first) == UPDATE_KEYS
        hits300 = 500 + 500 + 300 + 111 + 50  # ranked, approved... and loved maps; failed plays too
        assert {k: first[k] for k in UPDATE_KEYS[:-1]} == {
            "username": "Track Player", "mode": 0, "playcount": 40, "pp_rank": 2, "pp_raw": 300.0,
            "accuracy": 97.25, "total_score": 50_000_000, "ranked_score": 20_000_000, "count300": hits300,
            "count50": 2 + 2 + 2 + 2 + 1, "count100": 20 * 4 + 3, "level": level(50_000_000), "count_rank_a": 5,
            "count_rank_s": 3, "count_rank_ss": 1, "levelup": False, "first": True, "exists": True,
        }
        assert first["newhs"] == [
            newhs_row(1, 100, 1_000_000, "100.5", "2024-01-10 10:00:00", 0, perfect=1, replay="1"),
            newhs_row(2, 101, 1_000_000, "80.25", "2024-01-20 11:00:00", 1, mods=72, grade="A"),
            newhs_row(3, 102, 1_000_000, "60", "2024-02-01 00:00:00", 2, mods=8, grade="SH", n300=300),
        ]
        assert all(list(row) == NEWHS_KEYS for row in first["newhs"])
        ok(client.post("/track/update?user=4&mode=0"))  # the rival, for bestplays

        # nothing changed: no snapshot, zero differences, nothing new
        clock.set("2024-03-02 12:00:00")
        same = ok(client.post("/track/update?user=3&mode=0"))
        assert (same["first"], same["newhs"], same["playcount"], same["pp_rank"], same["pp_raw"]) == (False, [], 0, 0, 0)
        assert len(ok(client.get("/track/stats_history?user=3&mode=0"))) == 1

        # --- new scores arrive: a new best, and a better play replacing one
        sql(url,
            ("INSERT INTO scores (id, map_md5, userid, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
             " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, perfect, online_checksum)"
             " VALUES (:id, :md5, 3, :score, :pp, 99.0, 900, 0, :n300, :n100, 0, 0, 40, 7, :grade, 2, 0, :played,"
             " 0, 0, 0, :checksum)",
             {"id": 30, "md5": md5(105), "score": 2_000_000, "pp": 200.5, "n300": 700, "n100": 10, "grade": "X",
              "played": "2024-03-05 08:00:00", "checksum": "c" * 32}),
            ("UPDATE scores SET status = 1 WHERE id = 2", {}),
            ("INSERT INTO scores (id, map_md5, userid, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss,"
             " ngeki, nkatu, grade, status, mode, play_time, time_elapsed, client_flags, perfect, online_checksum)"
             " VALUES (:id, :md5, 3, :score, :pp, 99.0, 900, 0, :n300, :n100, 0, 0, 40, 7, :grade, 2, 0, :played,"
             " 0, 0, 0, :checksum)",
             {"id": 31, "md5": md5(101), "score": 1_500_000, "pp": 90.5, "n300": 400, "n100": 5, "grade": "S",
              "played": "2024-03-06 09:00:00", "checksum": "d" * 32}),
            ("UPDATE stats SET pp = 450, plays = 43, tscore = 80000000, rscore = 30000000, acc = 98.5, x_count = 2"
             " WHERE id = 3 AND mode = 0", {}),
        )
        t2 = clock.set("2024-03-10 12:00:00")
        second = ok(client.post("/track/update?user=3&mode=0"))
        assert {k: second[k] for k in UPDATE_KEYS[:-1]} == {
            "username": "Track Player", "mode": 0, "playcount": 3, "pp_rank": -1, "pp_raw": 150.0,
            "accuracy": 1.25, "total_score": 30_000_000, "ranked_score": 10_000_000, "count300": 1100,
            "count50": 0, "count100": 15, "level": float(f"{level(80_000_000) - level(50_000_000):.6g}"),
            "count_rank_a": 0, "count_rank_s": 0, "count_rank_ss": 1, "levelup": True, "first": False,
            "exists": True,
        }
        assert int(level(80_000_000)) > int(level(50_000_000))
        # the current top list: #30 (200.5), #1 (100.5), #31 (90.5), #3 (60)
        assert second["newhs"] == [
            newhs_row(30, 105, 2_000_000, "200.5", "2024-03-05 08:00:00", 0, grade="X", n300=700, n100=10, n50=0),
            newhs_row(31, 101, 1_500_000, "90.5", "2024-03-06 09:00:00", 2, n300=400, n100=5, n50=0),
        ]

        # a third snapshot: the same rank (a tie for the peak), lower accuracy
        sql(url, ("UPDATE stats SET plays = 44, acc = 98.25 WHERE id = 3 AND mode = 0", {}))
        t3 = clock.set("2024-03-20 06:30:00")
        third = ok(client.post("/track/update?user=3&mode=0"))
        assert (third["playcount"], third["pp_rank"], third["accuracy"], third["newhs"]) == (1, 0, -0.25, [])

        # --- stats_history: every snapshot, oldest first, typed as osu!track
        history = ok(client.get("/track/stats_history?user=3&mode=0"))
        assert [row["timestamp"] for row in history] == [
            "2024-03-01T12:00:00.000Z", "2024-03-10T12:00:00.000Z", "2024-03-20T06:30:00.000Z"]
        assert all(list(row) == HISTORY_KEYS for row in history)
        assert history[0] == {
            "count300": hits300, "count100": 83, "count50": 9, "playcount": 40, "ranked_score": "20000000",
            "total_score": "50000000", "pp_rank": 2, "level": level(50_000_000), "pp_raw": 300.0,
            "accuracy": 97.25, "count_rank_ss": 1, "count_rank_s": 3, "count_rank_a": 5,
            "timestamp": "2024-03-01T12:00:00.000Z",
        }
        assert (history[1]["pp_rank"], history[1]["total_score"], history[1]["accuracy"]) == (1, "80000000", 98.5)
        assert (history[2]["playcount"], history[2]["accuracy"]) == (44, 98.25)

        def stamps(query):
            return [row["timestamp"][:10] for row in ok(client.get(f"/track/stats_history?user=3&mode=0&{query}"))]

        assert stamps("from=2024-03-05") == ["2024-03-10", "2024-03-20"]
        assert stamps("to=2024-03-05") == ["2024-03-01"]
        assert stamps("from=2024-03-10&to=2024-03-20") == ["2024-03-10"]  # `to` is midnight: 06:30 is out
        assert stamps("from=2024-03-10T12:00:00Z&to=2024-03-10T12:00:00.000Z") == ["2024-03-10"]  # inclusive
        assert stamps("from=not-a-date&to=2024-13-45") == ["2024-03-01", "2024-03-10", "2024-03-20"]  # ignored
        assert stamps("from=2025") == []

        # --- peak: the best rank's latest time (a tie), the best accuracy's time
        assert ok(client.get("/track/peak?user=3&mode=0")) == [{
            "best_global_rank": 1, "best_rank_timestamp": "2024-03-20T06:30:00.000Z",
            "best_accuracy": 98.5, "best_acc_timestamp": "2024-03-10T12:00:00.000Z",
        }]
        assert (t1, t2, t3) == (ms("2024-03-01 12:00:00"), ms("2024-03-10 12:00:00"), ms("2024-03-20 06:30:00"))

        # --- hiscores: every recorded top play, by play time
        def play(beatmap_id, score, pp, mods, grade, played, recorded):
            return {"beatmap_id": beatmap_id, "score": score, "pp": pp, "mods": mods, "rank": grade,
                    "score_time": iso(played), "update_time": iso(recorded)}

        p1 = play(100, 1_000_000, 100.5, 0, "S", "2024-01-10 10:00:00", "2024-03-01 12:00:00")
        p2 = play(101, 1_000_000, 80.25, 72, "A", "2024-01-20 11:00:00", "2024-03-01 12:00:00")
        p3 = play(102, 1_000_000, 60.0, 8, "SH", "2024-02-01 00:00:00", "2024-03-01 12:00:00")
        p30 = play(105, 2_000_000, 200.5, 0, "X", "2024-03-05 08:00:00", "2024-03-10 12:00:00")
        p31 = play(101, 1_500_000, 90.5, 0, "S", "2024-03-06 09:00:00", "2024-03-10 12:00:00")
        hiscores = ok(client.get("/track/hiscores?user=3&mode=0"))
        assert hiscores == [p1, p2, p3, p30, p31]
        assert all(list(row) == HISCORE_KEYS for row in hiscores)
        assert ok(client.get("/track/hiscores?user=3&mode=0&from=2024-02-01")) == [p3, p30, p31]
        assert ok(client.get("/track/hiscores?user=3&mode=0&to=2024-02-01")) == [p1, p2, p3]  # midnight, inclusive
        assert ok(client.get("/track/hiscores?user=3&mode=0&from=2024-03-01&to=2024-03-06")) == [p30]
        for name in ("Track Player", "track_player", "TRACK PLAYER"):
            assert ok(client.get("/track/hiscores", params={"user": name, "userMode": "username", "mode": "0"})) == hiscores
        assert ok(client.get("/track/hiscores?user=3&mode=0&userMode=other")) == hiscores  # unknown: an id
        assert ok(client.get("/track/hiscores?user=3&mode=banana")) == hiscores  # a bad mode reads as 0 here
        assert ok(client.get("/track/hiscores?user=3")) == hiscores

        # --- bestplays: everyone's recorded plays by pp
        rival = {"user": 4, **play(100, 1_000_000, 150.75, 0, "S", "2024-01-15 00:00:00", "2024-03-01 12:00:00")}
        mine = [{"user": 3, **p} for p in (p30, p1, p31, p2, p3)]
        every = ok(client.get("/track/bestplays?mode=0&from=2024-01-01"))
        assert every == [mine[0], rival, *mine[1:]]
        assert ok(client.get("/track/bestplays?mode=0&from=2024-01-01&limit=2")) == [mine[0], rival]
        assert ok(client.get("/track/bestplays?mode=0&from=2024-01-12&to=2024-03-06")) == [mine[0], rival, mine[3], mine[4]]
        assert ok(client.get("/track/bestplays?mode=0&from=2024-01-01&limit=1e1")) == every
        assert ok(client.get("/track/bestplays?mode=1")) == []


# --- unknown and restricted players ----------------------------------------------


@pytest.mark.parametrize("user", ["999999", "5", "2147483648"])  # none, restricted, beyond any id
def test_unknown_or_restricted_user(world, user):
    url, settings = world
    with TestClient(create_app(settings())) as client:
        answer = ok(client.post(f"/track/update?user={user}&mode=2"))
        assert answer == {
            "username": None, "mode": 2, "playcount": 0, "pp_rank": 0, "pp_raw": 0, "accuracy": 0,
            "total_score": 0, "ranked_score": 0, "count300": 0, "count50": 0, "count100": 0, "level": 0,
            "count_rank_a": 0, "count_rank_s": 0, "count_rank_ss": 0, "levelup": False, "first": False,
            "exists": False, "newhs": [],
        }
        assert list(answer) == UPDATE_KEYS
        assert ok(client.get(f"/track/stats_history?user={user}&mode=0")) == []
        assert ok(client.get(f"/track/peak?user={user}&mode=0")) == NULL_PEAK
        response = client.get(f"/track/hiscores?user={user}&mode=0")
        assert (response.status_code, response.text) == (400, INVALID_HISCORES_USER)
    if user == "5":
        assert sql(url, "SELECT COUNT(*) AS n FROM track_state WHERE user_id = 5")[0]["n"] == 0


# the day player 10 made their one play
ITS_DAY = "from=2023-05-04&to=2023-05-05"


def test_a_player_restricted_later_reads_as_unknown(world):
    url, settings = world
    with TestClient(create_app(settings(track_update_interval=0))) as client:
        assert ok(client.post("/track/update?user=10&mode=0"))["exists"] is True
        assert len(ok(client.get("/track/stats_history?user=10&mode=0"))) == 1
        assert [row["user"] for row in ok(client.get(f"/track/bestplays?mode=0&{ITS_DAY}"))] == [10]
        sql(url, "UPDATE users SET priv = 2 WHERE id = 10")
        try:
            assert ok(client.post("/track/update?user=10&mode=0"))["exists"] is False
            assert ok(client.get("/track/stats_history?user=10&mode=0")) == []
            assert ok(client.get("/track/peak?user=10&mode=0")) == NULL_PEAK
            assert client.get("/track/hiscores?user=10&mode=0").status_code == 400
            assert ok(client.get(f"/track/bestplays?mode=0&{ITS_DAY}")) == []
        finally:
            sql(url, "UPDATE users SET priv = 3 WHERE id = 10")


def test_hiscores_of_an_untracked_player_takes_an_update_first(world):
    url, settings = world
    with TestClient(create_app(settings())) as client:
        rows = ok(client.get("/track/hiscores?user=9&mode=0"))
        assert [(row["beatmap_id"], row["pp"]) for row in rows] == [(110, 30.5)]
        assert len(ok(client.get("/track/stats_history?user=9&mode=0"))) == 1


# --- the rate limit ----------------------------------------------------------------


def test_rate_limit_per_player_and_mode(world, clock):
    url, settings = world
    clock.set("2024-06-01 00:00:00")
    with TestClient(create_app(settings(track_update_interval=60))) as client:
        assert ok(client.post("/track/update?user=7&mode=0"))["first"] is True
        refused = client.post("/track/update?user=7&mode=0")
        assert (refused.status_code, refused.text, refused.headers["retry-after"]) == (429, TOO_MANY, "60")
        assert refused.headers["content-type"].startswith("text/plain")
        clock.advance(45.5)
        assert client.post("/track/update?user=7&mode=0").headers["retry-after"] == "15"
        # another mode of the same player, and another player, are not limited
        assert ok(client.post("/track/update?user=7&mode=1"))["exists"] is True
        assert ok(client.post("/track/update?user=4&mode=3"))["exists"] is True
        # reading is never limited
        assert len(ok(client.get("/track/stats_history?user=7&mode=0"))) == 1
        clock.advance(14.5)
        again = ok(client.post("/track/update?user=7&mode=0"))
        assert (again["first"], again["playcount"]) == (False, 0)
    assert sql(url, "SELECT COUNT(*) AS n FROM track_snapshots WHERE user_id = 7 AND mode = 0")[0]["n"] == 1


def test_rate_limit_setting_is_read_from_the_environment():
    from server.settings import load_settings

    assert load_settings({}).track_update_interval == 60
    assert load_settings({"TRACK_UPDATE_INTERVAL": "900"}).track_update_interval == 900
    assert load_settings({"TRACK_UPDATE_INTERVAL": "0"}).track_update_interval == 0
    assert load_settings({}).track_snapshot_interval == 0
    with pytest.raises(SystemExit, match="TRACK_SNAPSHOT_INTERVAL"):
        load_settings({"TRACK_SNAPSHOT_INTERVAL": "-5"})


# --- concurrent updates --------------------------------------------------------------


async def _concurrent_updates(apps, path: str, count: int) -> list[httpx.Response]:
    """Fire `count` updates at once, spread over several app instances (each
    with its own connection pool, as separate processes would have)."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://track")))
        return await asyncio.gather(*(clients[i % len(clients)].post(path) for i in range(count)))


@pytest.mark.parametrize("interval", [0, 60])
def test_concurrent_updates_record_one_snapshot(world, interval):
    url, settings = world
    user = 8 if interval == 0 else 9
    sql(url, ("DELETE FROM track_snapshots WHERE user_id = :u", {"u": user}),
        ("DELETE FROM track_hiscores WHERE user_id = :u", {"u": user}),
        ("DELETE FROM track_state WHERE user_id = :u", {"u": user}))
    apps = [create_app(settings(track_update_interval=interval)) for _ in range(2)]
    responses = run(_concurrent_updates(apps, f"/track/update?user={user}&mode=0", 12))
    statuses = sorted(response.status_code for response in responses)
    answers = [response.json() for response in responses if response.status_code == 200]
    if interval == 0:
        assert statuses == [200] * 12  # the later ones waited for the lock
    else:
        assert statuses == [200] + [429] * 11
    assert [answer["first"] for answer in answers].count(True) == 1
    assert sum(len(answer["newhs"]) for answer in answers) == 1
    counts = sql(url, ("SELECT (SELECT COUNT(*) FROM track_snapshots WHERE user_id = :u) AS snapshots,"
                       " (SELECT COUNT(*) FROM track_hiscores WHERE user_id = :u) AS plays", {"u": user}))[0]
    assert (counts["snapshots"], counts["plays"]) == (1, 1)
    lock = sql(url, ("SELECT locked_until, lock_token FROM track_state WHERE user_id = :u AND mode = 0", {"u": user}))
    assert [(row["locked_until"], row["lock_token"]) for row in lock] == [(0, None)]  # released


# --- parameter errors, as osu!track answers them ---------------------------------------

BAD_USERS = ["", "user=", "user=0", "user=-3", "user=abc", "user=3.5", "user=1e3", "user=3&user=4"]
BAD_MODES = ["", "mode=", "mode=7", "mode=9", "mode=12", "mode=osu", "mode=%200", "mode=0&mode=1", "mode=-1"]


def _expect(response: httpx.Response, status: int, text: str) -> None:
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["content-type"].startswith("text/plain")


@pytest.fixture(scope="module")
def reader(world):
    url, settings = world
    with TestClient(create_app(settings())) as client:
        yield client


@pytest.mark.parametrize("path", ["/track/stats_history", "/track/peak", "/track/update"])
@pytest.mark.parametrize("user", BAD_USERS)
def test_invalid_user(reader, path, user):
    send = reader.post if path.endswith("update") else reader.get
    _expect(send(f"{path}?{user}&mode=0"), 400, INVALID_USER)


@pytest.mark.parametrize("path", ["/track/stats_history", "/track/peak", "/track/update", "/track/bestplays"])
@pytest.mark.parametrize("mode", BAD_MODES)
def test_invalid_mode(reader, path, mode):
    send = reader.post if path.endswith("update") else reader.get
    _expect(send(f"{path}?user=3&{mode}"), 400, INVALID_MODE)


def test_the_user_is_checked_before_the_mode(reader):
    _expect(reader.get("/track/stats_history?user=x&mode=x"), 400, INVALID_USER)
    _expect(reader.get("/track/bestplays?mode=x&limit=0"), 400, INVALID_MODE)


@pytest.mark.parametrize("user", ["", "user=", "user=0", "user=abc", "user=999999", "user=5",
                                  "user=Nobody&userMode=username", "user=3&userMode=username",
                                  "user=Hidden One&userMode=username", "userMode=username"])
def test_invalid_hiscores_user(reader, user):
    _expect(reader.get(f"/track/hiscores?{user}&mode=0"), 400, INVALID_HISCORES_USER)


@pytest.mark.parametrize("limit", ["0", "-1", "10001", "1.5", "abc", "", "1e9", "Infinity", "5&limit=6"])
def test_invalid_limit(reader, limit):
    _expect(reader.get(f"/track/bestplays?mode=0&limit={limit}"), 400, INVALID_LIMIT)


@pytest.mark.parametrize("limit", ["1", "10000", " 7 ", "3.0", "1e2", "+5"])
def test_valid_limits(reader, limit):
    ok(reader.get("/track/bestplays", params={"mode": "0", "limit": limit}))


@pytest.mark.parametrize("user", ["3", " 3 ", "+3", "3.0", "003"])
def test_valid_user_spellings(reader, user):
    ok(reader.get("/track/stats_history", params={"user": user, "mode": "0"}))


def test_relax_and_autopilot_modes_are_an_extension(reader):
    for mode in ("4", "5", "6", "8"):
        assert ok(reader.get(f"/track/peak?user=3&mode={mode}")) == NULL_PEAK


def test_methods(reader):
    assert reader.get("/track/update?user=3&mode=0").status_code == 405
    assert reader.post("/track/stats_history?user=3&mode=0").status_code == 405
    assert reader.get("/track/nothing").status_code == 404


# --- the scheduled snapshot job ------------------------------------------------------


def job_data() -> dict:
    users, stats, scores = [], [], []
    for user_id in range(20, 27):
        active = OLD if user_id == 25 else NOW  # 25 has not played for years
        user, stat = _user(user_id, f"Player {user_id}", 100 + user_id, priv=2 if user_id == 26 else 3, active=active)
        users.append(user)
        stats.append(stat)
        scores.append(_score(100 + user_id, user_id, 200, 10.5 + user_id, "2024-05-01 00:00:00"))
    # 22 plays taiko too: two snapshots
    stats.append({"id": 22, "mode": 1, "pp": 50, "plays": 3, "tscore": 1000, "rscore": 500, "acc": 90.0})
    return {"users": users, "stats": stats, "maps": [_map(200)], "scores": scores}


def environment(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRACK_SNAPSHOT_INTERVAL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = url
    return env


def snapshot_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", "track", "snapshot", *args], env=env, cwd=cwd, text=True,
        capture_output=True, timeout=120,
    )


def snapshotted(url: str) -> list[tuple[int, int]]:
    rows = sql(url, "SELECT user_id, mode FROM track_snapshots ORDER BY user_id, mode")
    return [(row["user_id"], row["mode"]) for row in rows]


def test_snapshot_command(backend, tmp_path):
    url = backend.new_database_url()
    run(_prepare(url, job_data()))
    env = environment(url, tmp_path)

    helped = snapshot_cli(env, tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    for option in ("--batch", "--since-days", "--resume", "--max-batches"):
        assert option in helped.stdout

    # a first run stopped after one batch of two players
    first = snapshot_cli(env, tmp_path, "--batch", "2", "--max-batches", "1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "stopped after 2 of 5 players (2 snapshots recorded); continue with --resume"
    assert first.stderr.splitlines() == [
        "snapshot: 0/5 players (0%), 0 snapshots recorded",
        "snapshot: 2/5 players (40%), 2 snapshots recorded",
    ]
    assert snapshotted(url) == [(20, 0), (21, 0)]

    # resumed: the rest, with the run's own batch size; never the idle or restricted
    resumed = snapshot_cli(env, tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "resumed at 2 players; snapshotted 5 players: 6 snapshots recorded"
    assert resumed.stderr.splitlines() == [
        "snapshot: 2/5 players (40%), 2 snapshots recorded",
        "snapshot: 4/5 players (80%), 5 snapshots recorded",
        "snapshot: 5/5 players (100%), 6 snapshots recorded",
    ]
    assert snapshotted(url) == [(20, 0), (21, 0), (22, 0), (22, 1), (23, 0), (24, 0)]
    plays = sql(url, "SELECT user_id, score_id FROM track_hiscores ORDER BY user_id")
    assert [(row["user_id"], row["score_id"]) for row in plays] == [(u, 100 + u) for u in (20, 21, 22, 23, 24)]

    # --resume with nothing to resume starts a new run: unchanged players record nothing
    again = snapshot_cli(env, tmp_path, "--resume")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "snapshotted 5 players: 0 snapshots recorded"
    assert len(snapshotted(url)) == 6

    # another run holding the job's lease: refused
    sql(url, "UPDATE track_jobs SET locked_until = 99999999999999, lock_token = 'someone-else'")
    busy = snapshot_cli(env, tmp_path)
    assert busy.returncode == 1
    assert "another snapshot run is in progress" in busy.stderr
    sql(url, "UPDATE track_jobs SET locked_until = 0, lock_token = NULL")

    # (in-process from here, to spare process start-ups) a wider activity
    # window takes in the idle player; a batch of 0 is refused
    async def wide():
        async with Database(url) as db:
            return await track.run_job(db, backend.settings(url, data_dir=tmp_path), since_days=10000)

    state = run(wide())
    assert (state.finished, state.players_done, state.snapshots) == (True, 6, 1)
    with pytest.raises(SystemExit) as refused:
        cli.build_parser().parse_args(["track", "snapshot", "--batch", "0"])
    assert refused.value.code == 2


def test_snapshot_loop_in_the_app(backend, tmp_path):
    url = backend.new_database_url()
    run(_prepare(url, job_data()))
    settings = backend.settings(url, data_dir=tmp_path, track_snapshot_interval=1)
    def finished() -> bool:
        jobs = sql(url, "SELECT finished_at FROM track_jobs")
        return bool(jobs) and jobs[0]["finished_at"] is not None

    with TestClient(create_app(settings)):
        # the job records its end after its last snapshot: wait for both
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (len(snapshotted(url)) >= 6 and finished()):
            time.sleep(0.2)
    assert snapshotted(url) == [(20, 0), (21, 0), (22, 0), (22, 1), (23, 0), (24, 0)]
    job = sql(url, "SELECT finished_at, players_done, locked_until FROM track_jobs")
    assert job[0]["players_done"] == 5 and job[0]["finished_at"] is not None
