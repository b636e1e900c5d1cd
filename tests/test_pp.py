"""calculate_pp and the demo maps' .osu files, on SQLite and MariaDB.
Expectations come from rosu-pp-py called directly on the files, so the
endpoint's parameter handling and shapes are checked against an
independent calculation; the demo rows are checked against their files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import rosu_pp_py as rosu
from conftest import run
from starlette.testclient import TestClient

from server import beatmap_files, fixtures
from server.app import create_app
from server.cli import ensure_api_key
from server.constants import Mods
from server.db import Database
from server.migrate import migrate

REPO = Path(__file__).resolve().parent.parent
KEY_USER = 3
PERFORMANCE_KEYS = ["pp", "pp_acc", "pp_aim", "pp_speed", "pp_flashlight", "effective_miss_count", "pp_difficulty"]
DIFFICULTY_KEYS = [
    "stars", "aim", "speed", "flashlight", "slider_factor", "speed_note_count", "stamina", "color", "rhythm", "peak",
]
RESULT_KEYS = ["performance", "difficulty", "accuracy"]
# a map of each mode: osu!, taiko, catch, mania
MAPS_BY_MODE = {0: 1000, 1: 1080, 2: 1100, 3: 1120}


async def _key(url: str) -> str:
    async with Database(url) as db:
        key, _ = await ensure_api_key(db, KEY_USER)
        return key


@pytest.fixture
def headers(demo_url) -> dict[str, str]:
    """User 3's key on the demo database (made if missing; an api_key on a
    player changes nothing the other tests read). Asked for each test, so a
    key another test gave user 3 is used as it is."""
    return {"Authorization": f"Bearer {run(_key(demo_url))}"}


def calculate(client: TestClient, query: str, headers: dict[str, str], status: int = 200, prefix: str = "/v1/"):
    response = client.get(f"{prefix}calculate_pp?{query}", headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def osu_path(backend, map_id: int) -> Path:
    return backend.data_dir / "osu" / f"{map_id}.osu"


def parsed(backend, map_id: int) -> rosu.Beatmap:
    return rosu.Beatmap(path=str(osu_path(backend, map_id)))


# --- the demo maps' files ------------------------------------------------------


def test_demo_files_agree_with_their_rows(demo_data):
    files = demo_data["beatmap_files"]
    assert sorted(files, key=int) == [str(m["id"]) for m in sorted(demo_data["maps"], key=lambda m: m["id"])]
    for row in demo_data["maps"]:
        text = files[str(row["id"])]
        assert text.startswith("osu file format v14\n")
        assert f"\nBeatmapID:{row['id']}\n" in text and f"\nBeatmapSetID:{row['set_id']}\n" in text
        for field in ("Title", "Artist", "Creator", "Version"):
            assert f"\n{field}:{row[field.lower()]}\n" in text
        assert row["md5"] == hashlib.md5(text.encode()).hexdigest()
        beatmap = rosu.Beatmap(content=text)
        assert int(beatmap.mode) == row["mode"]
        for setting in ("cs", "ar", "od", "hp"):
            assert getattr(beatmap, setting) == pytest.approx(row[setting], abs=1e-4), (row["id"], setting)
        # the column keeps 2 decimals; rosu-pp-py derives the BPM from the
        # beat length, which it reads to 2 decimals
        assert beatmap.bpm == pytest.approx(row["bpm"], abs=0.01)
        attributes = rosu.Difficulty(lazer=False).calculate(beatmap)
        assert attributes.max_combo == row["max_combo"], row["id"]
        assert abs(attributes.stars - row["diff"]) <= 0.001, row["id"]
        assert not beatmap.is_suspicious()


def test_demo_files_have_each_modes_objects(demo_data):
    for row in demo_data["maps"]:
        text = demo_data["beatmap_files"][str(row["id"])]
        beatmap = rosu.Beatmap(content=text)
        objects = [line.split(",") for line in text.split("[HitObjects]\n", 1)[1].splitlines() if line]
        if row["mode"] == 0:
            assert beatmap.n_circles and beatmap.n_sliders and beatmap.n_spinners == 1
        elif row["mode"] == 1:
            sounds = {int(o[4]) for o in objects if int(o[3]) & 1}
            assert 0 in sounds and sounds & {2, 8}  # dons and kats
            assert any(s & 4 for s in sounds)  # big notes
        elif row["mode"] == 2:
            assert beatmap.n_circles and beatmap.n_sliders and beatmap.n_spinners == 1
            assert len({o[0] for o in objects}) > 20  # fruits all over the playfield
        else:
            keys = round(row["cs"])
            columns = {int(o[0]) * keys // 512 for o in objects}
            assert columns == set(range(keys))
            assert beatmap.n_holds and beatmap.n_circles
        # the drain length the row gives, within a few beats
        last = max(int(o[5]) if int(o[3]) & 8 else int(o[2]) for o in objects)
        assert abs((last - int(objects[0][2])) / 1000 - row["total_length"]) < 8 * 60 / row["bpm"] + 1


def test_demo_files_are_deterministic_and_quick(demo_data):
    rows = [dict(row) for row in demo_data["maps"]]
    started = time.perf_counter()
    first = [beatmap_files.demo_file(row) for row in rows]
    elapsed = time.perf_counter() - started
    assert [beatmap_files.demo_file(row) for row in rows] == first
    assert elapsed < 3, f"making the demo maps' files took {elapsed:.2f} s"


def test_demo_files_on_disk_match_the_served_rows(client, backend, demo_data):
    """The files the demo load wrote, against the rows as the database
    keeps them (diff as FLOAT(6,3))."""
    for row in demo_data["maps"]:
        served = client.get(f"/v1/get_map_info?id={row['id']}").json()["map"]
        beatmap = parsed(backend, row["id"])
        attributes = rosu.Difficulty(lazer=False).calculate(beatmap)
        assert served["mode"] == int(beatmap.mode)
        assert served["max_combo"] == attributes.max_combo
        assert abs(served["diff"] - attributes.stars) <= 0.001 + 1e-6
        assert client.get(f"/osu/{row['id']}").text == demo_data["beatmap_files"][str(row["id"])]


# --- authorization ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/v1/", "/"])
@pytest.mark.parametrize(
    "auth",
    [None, "Bearer ", "Bearer not-a-key", f"Bearer {uuid.UUID(int=0)}", "Basic abc", "Bearer " + "a" * 100],
)
def test_calculate_pp_wants_a_key(client, prefix, auth):
    headers = {} if auth is None else {"Authorization": auth}
    assert calculate(client, "id=1000", headers, 401, prefix) == {"status": "Invalid API key."}


def test_authorization_comes_before_parameters(client):
    assert calculate(client, "id=abc&mode=7", {}, 401) == {"status": "Invalid API key."}


# --- results ----------------------------------------------------------------------


def _expected(beatmap: rosu.Beatmap, **kwargs) -> rosu.PerformanceAttributes:
    return rosu.Performance(lazer=False, **kwargs).calculate(beatmap)


@pytest.mark.parametrize("prefix", ["/v1/", "/"])
@pytest.mark.parametrize("mode", sorted(MAPS_BY_MODE))
def test_accuracy_list(client, backend, headers, mode, prefix):
    map_id = MAPS_BY_MODE[mode]
    body = calculate(client, f"id={map_id}", headers, prefix=prefix)
    assert [r["accuracy"] for r in body] == [100, 99, 98, 95]
    beatmap = parsed(backend, map_id)
    stars = rosu.Difficulty(lazer=False).calculate(beatmap).stars
    for result in body:
        assert list(result) == RESULT_KEYS
        assert list(result["performance"]) == PERFORMANCE_KEYS
        assert list(result["difficulty"]) == DIFFICULTY_KEYS
        assert result["performance"]["pp"] == round(_expected(beatmap, accuracy=result["accuracy"]).pp, 3)
        assert result["difficulty"]["stars"] == pytest.approx(stars)
    pps = [r["performance"]["pp"] for r in body]
    assert pps == sorted(pps, reverse=True) and len(set(pps)) == 4 and pps[-1] > 0


def test_mode_specific_attributes(client, headers):
    osu = calculate(client, "id=1000", headers)[0]
    assert osu["difficulty"]["aim"] > 0 and osu["performance"]["pp_aim"] > 0
    assert osu["difficulty"]["stamina"] is None and osu["difficulty"]["peak"] is None
    taiko = calculate(client, "id=1080", headers)[0]
    assert taiko["difficulty"]["stamina"] > 0 and taiko["difficulty"]["aim"] is None
    assert taiko["performance"]["pp_difficulty"] > 0


def test_chosen_accuracies_misses_and_combo(client, backend, headers):
    body = calculate(client, "id=1001&acc=97.5&acc=90&misses=3&combo=200", headers)
    beatmap = parsed(backend, 1001)
    assert [r["accuracy"] for r in body] == [97.5, 90]
    for result in body:
        expected = _expected(beatmap, accuracy=result["accuracy"], misses=3, combo=200)
        assert result["performance"]["pp"] == round(expected.pp, 3)
    full = calculate(client, "id=1001&acc=97.5", headers)[0]
    assert body[0]["performance"]["pp"] < full["performance"]["pp"]


@pytest.mark.parametrize("mode", sorted(MAPS_BY_MODE))
def test_hit_counts_give_one_result(client, backend, headers, mode):
    map_id = MAPS_BY_MODE[mode]
    body = calculate(client, f"id={map_id}&n100=7&n50=2&misses=1&combo=50", headers)
    assert isinstance(body, dict) and list(body) == RESULT_KEYS
    beatmap = parsed(backend, map_id)
    expected = _expected(beatmap, n_geki=0, n_katu=0, n100=7, n50=2, misses=1, combo=50)
    assert body["performance"]["pp"] == round(expected.pp, 3)
    state = expected.state
    if mode == 0:
        total = state.n300 + state.n100 + state.n50 + state.misses
        accuracy = (300 * state.n300 + 100 * state.n100 + 50 * state.n50) / (300 * total)
        assert state.n100 == 7 and state.n50 == 2 and state.misses == 1
        assert total == beatmap.n_objects
        assert body["accuracy"] == round(100 * accuracy, 3)
    assert 0 < body["accuracy"] < 100


def test_any_count_asks_for_one_result(client, headers):
    body = calculate(client, "id=1000&ngeki=0", headers)
    assert isinstance(body, dict) and body["accuracy"] == 100.0
    assert body["performance"] == calculate(client, "id=1000", headers)[0]["performance"]


@pytest.mark.parametrize("mods", ["16", "64", "HR", "DT", "HDDT", "512"])
def test_harder_mods_raise_the_stars(client, backend, headers, mods):
    plain = calculate(client, "id=1000", headers)[0]
    modded = calculate(client, f"id=1000&mods={mods}", headers)[0]
    assert modded["difficulty"]["stars"] > plain["difficulty"]["stars"]
    assert modded["performance"]["pp"] > plain["performance"]["pp"]


def test_mods_as_rosu_computes_them(client, backend, headers):
    beatmap = parsed(backend, 1000)
    body = calculate(client, "id=1000&mods=80", headers)  # HR + DT
    assert body[0]["difficulty"]["stars"] == pytest.approx(rosu.Difficulty(mods=80, lazer=False).calculate(beatmap).stars)
    assert body[1]["performance"]["pp"] == round(_expected(beatmap, mods=80, accuracy=99).pp, 3)
    # acronyms and numbers alike; NC counts as DT, as in bancho.py
    assert calculate(client, "id=1000&mods=HRDT", headers) == body
    assert calculate(client, "id=1000&mods=512", headers) == calculate(client, "id=1000&mods=DT", headers)
    easier = calculate(client, "id=1000&mods=EZHT", headers)[0]
    assert easier["difficulty"]["stars"] < body[0]["difficulty"]["stars"]


def test_relax_and_autopilot_modes_imply_their_mod(client, headers):
    relax = calculate(client, "id=1000&mode=4", headers)
    assert relax == calculate(client, f"id=1000&mods={int(Mods.RELAX)}", headers)
    assert relax != calculate(client, "id=1000", headers)
    autopilot = calculate(client, "id=1000&mode=8", headers)
    assert autopilot == calculate(client, f"id=1000&mods={int(Mods.AUTOPILOT)}", headers)


def test_osu_maps_convert_to_other_modes(client, backend, headers):
    beatmap = parsed(backend, 1000)
    beatmap.convert(rosu.GameMode.Mania, 0)
    body = calculate(client, "id=1000&mode=3", headers)
    assert body[0]["difficulty"]["stars"] == pytest.approx(rosu.Difficulty(lazer=False).calculate(beatmap).stars)
    assert body[0]["difficulty"]["aim"] is None


def test_other_maps_keep_their_mode(client, headers):
    own = calculate(client, "id=1080", headers)
    assert calculate(client, "id=1080&mode=1", headers) == own
    assert calculate(client, "id=1080&mode=0", headers) == own  # bancho.py's default mode
    assert calculate(client, "id=1080&mode=3", headers, 400) == {
        "status": "Beatmaps of osu!taiko cannot be converted to osu!mania."
    }


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,status,message",
    [
        ("", 400, "Missing required parameter 'id'."),
        ("id=", 400, "Missing required parameter 'id'."),
        ("id=abc", 400, "Invalid 'id': must be an integer."),
        ("id=-1", 400, "Invalid 'id': must be between 0 and 2147483647."),
        ("id=99999999999", 400, "Invalid 'id': must be between 0 and 2147483647."),
        ("id=999999", 404, "Beatmap not found."),
        ("id=1000&mode=7", 400, "Invalid gamemode."),
        ("id=1000&mode=9", 400, "Invalid gamemode."),
        ("id=1000&mode=11", 400, "Invalid gamemode."),
        ("id=1000&mode=12", 400, "Invalid 'mode': must be between 0 and 11."),
        ("id=1000&mode=x", 400, "Invalid 'mode': must be an integer."),
        ("id=1000&mods=ZZ", 400, "Invalid 'mods': expected a number or mod acronyms such as HDDT."),
        ("id=1000&mods=99999999999", 400, "Invalid 'mods': out of range."),
        ("id=1000&misses=-1", 400, "Invalid 'misses': must be between 0 and 2147483647."),
        ("id=1000&combo=x", 400, "Invalid 'combo': must be an integer."),
        ("id=1000&n100=1.5", 400, "Invalid 'n100': must be an integer."),
        ("id=1000&acc=101", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000&acc=-1", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000&acc=99&acc=abc", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000&acc=nan", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000&acc=inf", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000&acc=", 400, "Invalid 'acc': each must be a number from 0 to 100."),
        ("id=1000" + "&acc=99" * 101, 400, "Invalid 'acc': at most 100 values."),
    ],
)
def test_bad_requests(client, headers, query, status, message):
    assert calculate(client, query, headers, status) == {"status": message}


def test_edge_values_are_calculated(client, headers):
    for query in ("id=1000&acc=0", "id=1000&misses=2147483647", "id=1000&combo=0", "id=1000&n100=2147483647"):
        body = calculate(client, query, headers)
        result = body if isinstance(body, dict) else body[0]
        assert result["performance"]["pp"] >= 0


@pytest.fixture(scope="module")
def own_files(backend, tmp_path_factory):
    """A database of its own whose maps have a missing, an unreadable and a
    good .osu file, and a player with a key."""
    key = str(uuid.uuid4())
    data_dir = tmp_path_factory.mktemp("pp-data")
    good = beatmap_files.osu_file(
        {"id": 52, "set_id": 5, "mode": 0, "artist": "A", "title": "T", "creator": "C", "version": "V",
         "cs": 4, "ar": 9, "od": 8, "hp": 5, "bpm": 180, "total_length": 30},
        stars=4,
    )

    def beatmap(map_id: int) -> dict:
        return {"id": map_id, "set_id": 5, "status": 2, "md5": hashlib.md5(str(map_id).encode()).hexdigest(),
                "artist": "A", "title": "T", "version": f"V{map_id}", "creator": "C", "total_length": 30,
                "max_combo": 100, "mode": 0, "diff": 4.0}

    data = {
        "users": [{"id": 3, "name": "Keyholder", "api_key": key}],
        "maps": [beatmap(map_id) for map_id in (50, 51, 52, 53, 54)],
        "beatmap_files": {
            "51": "osu file format v14\n\n[General]\nMode: 0\n\n[HitObjects]\n",
            "52": good,
            "53": "\x00\x01 not a beatmap at all",
        },
    }
    url = backend.new_database_url()

    async def prepare():
        async with Database(url) as db:
            await migrate(db)
            await fixtures.load(db, data, data_dir)

    run(prepare())
    (data_dir / "osu" / "54.osu").mkdir()  # not even a file
    with TestClient(create_app(backend.settings(url, data_dir=data_dir))) as test_client:
        yield test_client, {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "map_id,message",
    [
        (50, "Beatmap file could not be fetched."),
        (51, "Beatmap file could not be parsed: it has no hit objects."),
        (53, "Beatmap file could not be parsed: it has no hit objects."),
        (54, "Beatmap file could not be fetched."),
    ],
)
def test_unusable_files(own_files, map_id, message):
    client, headers = own_files
    assert calculate(client, f"id={map_id}", headers, 400) == {"status": message}
    assert calculate(client, f"id={map_id}&n100=1", headers, 400) == {"status": message}


def test_a_fixtures_file_is_calculated(own_files):
    client, headers = own_files
    body = calculate(client, "id=52", headers)
    assert len(body) == 4 and body[0]["performance"]["pp"] > 0
    assert calculate(client, "id=55", headers, 404) == {"status": "Beatmap not found."}


# --- `python -m server users api-key` -------------------------------------------------


def _start(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server", *args], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_users_api_key_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY", "HOST", "PORT")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'keys.db'}"
    # (each run is an interpreter start-up: those that can, run side by side)
    helping = _start(env, tmp_path, "users", "api-key", "--help")
    assert _finish(_start(env, tmp_path, "db", "demo")).returncode == 0
    first = _finish(_start(env, tmp_path, "users", "api-key", "3"))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) == 36 and str(uuid.UUID(key)) == key and first.stdout == key + "\n"
    assert "created" in first.stderr
    again, other, unknown = (
        _finish(process)
        for process in [_start(env, tmp_path, "users", "api-key", user) for user in ("3", "4", "999")]
    )
    assert (again.returncode, again.stdout, again.stderr) == (0, key + "\n", "")
    assert other.returncode == 0 and len(other.stdout.strip()) == 36 and other.stdout.strip() != key
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr.strip() == "error: no player with id 999"
    helped = _finish(helping)
    assert helped.returncode == 0 and "Print the player's API key" in " ".join(helped.stdout.split())
