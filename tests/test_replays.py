"""Replays, on SQLite and MariaDB: the demo's stored frame streams, the full
.osr that get_replay assembles around them (read back with the published
parser osrparse, every header field checked against the demo data computed
here), the raw stream without headers, the error answers, the download file
name, and v1's get_replay serving the same stream."""

from __future__ import annotations

import base64
import email.message
import email.utils
import hashlib
import lzma
import struct
from datetime import datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

osrparse = pytest.importorskip("osrparse")

from conftest import run  # noqa: E402

from server import demo, fixtures, replays  # noqa: E402
from server.app import create_app  # noqa: E402
from server.constants import Privileges, ScoreStatus  # noqa: E402
from server.db import Database  # noqa: E402
from server.keys import create_key  # noqa: E402
from server.migrate import migrate  # noqa: E402

UTC = timezone.utc
# the .osr header osu! and bancho.py write: the LZMA-alone properties 0x5D
# (lc=3, lp=0, pb=2) and a 2 MiB dictionary, then the size (unknown: -1)
LZMA_ALONE_HEADER = b"\x5d\x00\x00\x20\x00" + b"\xff" * 8
PLAYED_MODES = [0, 1, 2, 3, 4, 5, 6, 8]


# --- expectations, computed here from the demo data ---------------------------


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {row["id"]: row for row in rows}


def best_scores(demo_data) -> list[dict]:
    return [s for s in demo_data["scores"] if s["status"] == ScoreStatus.BEST]


def expected_replay_md5(score: dict, name: str, map_md5: str) -> str:
    """bancho.py's formula, spelled out independently of server.replays."""
    text = (
        f"{score['n100'] + score['n300']}p{score['n50']}o{score['ngeki']}o{score['nkatu']}"
        f"t{score['nmiss']}a{map_md5}r{score['max_combo']}e{'True' if score['perfect'] == 1 else 'False'}"
        f"y{name}o{score['score']}u0{score['mods']}True"
    )
    return hashlib.md5(text.encode()).hexdigest()


def play_time(score: dict) -> datetime:
    return datetime.strptime(score["play_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def expected_ticks(score: dict) -> int:
    since_year_one = play_time(score) - datetime(1, 1, 1, tzinfo=UTC)
    return (since_year_one.days * 86400 + since_year_one.seconds) * 10_000_000


def frame_texts(stream: bytes) -> list[str]:
    """The `w|x|y|z` frames of a stored stream, decoded here with lzma."""
    text = lzma.decompress(stream, format=lzma.FORMAT_ALONE).decode("ascii")
    assert text.endswith(",")
    return text[:-1].split(",")


def stored(demo_data, score_id: int) -> bytes:
    return base64.b64decode(demo_data["replays"][str(score_id)])


def first_best(demo_data, mode: int) -> dict:
    return min((s for s in best_scores(demo_data) if s["mode"] == mode), key=lambda s: s["id"])


def get_osr(client: TestClient, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-description"] == "File Transfer"
    return response.content


# --- the demo's stored replays ------------------------------------------------


def test_every_demo_best_score_has_a_stored_replay(backend, client, demo_data):
    bests = best_scores(demo_data)
    assert len(bests) > 300
    assert set(demo_data["replays"]) == {str(s["id"]) for s in bests}
    folder = backend.data_dir / "osr"
    on_disk = {int(path.stem) for path in folder.glob("*.osr")}
    assert {s["id"] for s in bests} <= on_disk
    for score in bests:
        content = (folder / f"{score['id']}.osr").read_bytes()
        assert content == stored(demo_data, score["id"])
        assert content.startswith(LZMA_ALONE_HEADER)
        assert len(content) < 4096  # small: the demo loads fast
    # nothing but best scores got one
    others = {s["id"] for s in demo_data["scores"] if s["status"] != ScoreStatus.BEST}
    assert not others & on_disk


@pytest.mark.parametrize("mode", PLAYED_MODES)
def test_demo_stream_frames(demo_data, mode):
    score = first_best(demo_data, mode)
    frames = frame_texts(stored(demo_data, score["id"]))
    # the two lead-in frames, the play frames, then the seed frame
    assert frames[:2] == ["0|256|-500|0", "-1|256|-500|0"]
    assert len(frames) == 2 + demo.REPLAY_FRAMES + 1
    assert frames[-1] == f"-12345|0|0|{demo.replay_seed(score['id'])}"
    fields = [frame.split("|") for frame in frames[2:-1]]
    assert all(len(f) == 4 for f in fields)
    # the play frames' time deltas cover the play exactly
    assert sum(int(f[0]) for f in fields) == score["time_elapsed"]
    vanilla = mode % 4
    if vanilla == 0:
        assert all(0 <= float(f[1]) <= 512 and 0 <= float(f[2]) <= 384 and int(f[3]) in (0, 5, 10, 15) for f in fields)
    elif vanilla == 1:
        assert all(f[1].isdigit() and int(f[3]) < 16 for f in fields)
    elif vanilla == 2:
        assert all(0 <= float(f[1]) <= 512 and f[3] in ("0", "1") for f in fields)
    else:
        assert all(f[1].isdigit() and f[3] == "0" for f in fields)


def test_demo_frames_is_deterministic_and_sized():
    one = replays.demo_frames(1234, 90_000, mode=0, frames=50)
    assert one == replays.demo_frames(1234, 90_000, mode=0, frames=50)
    assert one != replays.demo_frames(1235, 90_000, mode=0, frames=50)
    assert one.startswith(LZMA_ALONE_HEADER)
    frames = frame_texts(one)
    assert len(frames) == 53 and frames[-1] == "-12345|0|0|1234"
    assert sum(int(f.split("|")[0]) for f in frames[2:-1]) == 90_000
    # no play frames: the lead-in and the seed alone
    assert frame_texts(replays.demo_frames(-7, 0, frames=0)) == ["0|256|-500|0", "-1|256|-500|0", "-12345|0|0|-7"]
    for bad in (dict(seed=2**31), dict(length_ms=-1), dict(frames=-1), dict(columns=0)):
        args = dict(seed=1, length_ms=1000) | bad
        with pytest.raises(ValueError):
            replays.demo_frames(args.pop("seed"), args.pop("length_ms"), **args)


# --- get_replay with headers: the full .osr ----------------------------------


@pytest.mark.parametrize("mode", PLAYED_MODES)
def test_full_osr_read_by_osrparse(client, demo_data, mode):
    score = first_best(demo_data, mode)
    player = by_id(demo_data["users"])[score["userid"]]
    beatmap = next(m for m in demo_data["maps"] if m["md5"] == score["map_md5"])
    frames = stored(demo_data, score["id"])

    body = get_osr(client, f"/v1/get_replay?id={score['id']}")
    replay = osrparse.Replay.from_string(body)

    assert replay.mode is osrparse.GameMode(mode % 4)
    assert replay.game_version == 20200207
    assert replay.beatmap_hash == beatmap["md5"]
    assert replay.username == player["name"]
    assert replay.replay_hash == expected_replay_md5(score, player["name"], beatmap["md5"])
    assert (replay.count_300, replay.count_100, replay.count_50) == (score["n300"], score["n100"], score["n50"])
    assert (replay.count_geki, replay.count_katu, replay.count_miss) == (score["ngeki"], score["nkatu"], score["nmiss"])
    assert replay.score == score["score"]
    assert replay.max_combo == score["max_combo"]
    assert replay.perfect is bool(score["perfect"])
    assert replay.mods.value == score["mods"]
    assert replay.life_bar_graph is None
    # osrparse goes through a float: exact to a few microseconds
    assert abs(replay.timestamp - play_time(score)) < timedelta(milliseconds=1)
    assert len(replay.replay_data) == 2 + demo.REPLAY_FRAMES
    assert replay.rng_seed == demo.replay_seed(score["id"])
    assert sum(event.time_delta for event in replay.replay_data[2:]) == score["time_elapsed"]
    assert replay.replay_id == score["id"]

    # the raw layout, byte for byte where osrparse rounds or converts
    name = player["name"].encode()
    prefix = 1 + 4 + 34 + 2 + len(name) + 34 + 6 * 2 + 4 + 2 + 1 + 4 + 1
    assert body[prefix - 1] == 0x00  # the empty life bar
    assert struct.unpack_from("<q", body, prefix)[0] == expected_ticks(score)
    assert struct.unpack_from("<i", body, prefix + 8)[0] == len(frames)
    assert body[prefix + 12 : prefix + 12 + len(frames)] == frames
    assert body[prefix + 12 + len(frames) :] == struct.pack("<q", score["id"])
    assert len(body) == prefix + 12 + len(frames) + 8

    # the older path answers the same
    assert get_osr(client, f"/get_replay?id={score['id']}&include_headers=true") == body


def test_full_osr_download_name(client, demo_data):
    score = first_best(demo_data, 0)
    player = by_id(demo_data["users"])[score["userid"]]
    beatmap = next(m for m in demo_data["maps"] if m["md5"] == score["map_md5"])
    response = client.get(f"/v1/get_replay?id={score['id']}")
    name = (f"{player['name']} - {beatmap['artist']} - {beatmap['title']} [{beatmap['version']}]"
            f" ({score['play_time'][:10]}).osr")
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


@pytest.mark.parametrize("flag", ["1", "true", "True", "yes", "on"])
def test_include_headers_true_spellings(client, demo_data, flag):
    score = first_best(demo_data, 0)
    assert get_osr(client, f"/v1/get_replay?id={score['id']}&include_headers={flag}") == get_osr(
        client, f"/v1/get_replay?id={score['id']}"
    )


# --- get_replay without headers: the stored stream ----------------------------


@pytest.mark.parametrize("flag", ["false", "0", "no", "off", "FALSE"])
def test_without_headers_the_stored_bytes(client, demo_data, flag):
    score = first_best(demo_data, 1)
    response = client.get(f"/v1/get_replay?id={score['id']}&include_headers={flag}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-description"] == "File Transfer"
    assert "content-disposition" not in response.headers
    assert response.content == stored(demo_data, score["id"])


# --- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "'id'"),
        ("?id=", "'id'"),
        ("?id=abc", "'id'"),
        ("?id=-1", "'id'"),
        ("?id=1.5", "'id'"),
        (f"?id={2**63}", "'id'"),
        ("?id=1&include_headers=maybe", "'include_headers'"),
        ("?id=1&include_headers=", "'include_headers'"),
    ],
)
def test_bad_parameters(client, query, named):
    for prefix in ("/v1", ""):
        response = client.get(f"{prefix}/get_replay{query}")
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert named in response.json()["status"]


def test_replay_not_found(client, demo_data):
    failed = next(s for s in demo_data["scores"] if s["status"] == ScoreStatus.FAILED)
    for score_id in (failed["id"], 0, 10**15, 2**63 - 1):
        for flag in ("true", "false"):
            response = client.get(f"/v1/get_replay?id={score_id}&include_headers={flag}")
            assert response.status_code == 404
            assert response.json() == {"status": "Replay not found."}


def test_stray_file_without_a_score(backend, client):
    score_id = 4_000_000_000_123
    path = backend.data_dir / "osr" / f"{score_id}.osr"
    path.write_bytes(b"stray frames")
    try:
        response = client.get(f"/v1/get_replay?id={score_id}")
        assert response.status_code == 404
        assert response.json() == {"status": "Score not found."}
        # without headers the file alone is served, as bancho.py does
        raw = client.get(f"/v1/get_replay?id={score_id}&include_headers=false")
        assert (raw.status_code, raw.content) == (200, b"stray frames")
    finally:
        path.unlink()


# --- names that need care, over a fixture of our own ---------------------------

ODD_PLAYER = "Zoë [ö]-x"
ODD_MAP = {"artist": "AC/DC \\ Co", "title": 'Say "Hi" ☆', "version": "Ünïcode; x=1"}


@pytest.fixture(scope="module")
def odd(backend, tmp_path_factory):
    """A player and a map whose names are not plain ASCII, a score on it
    with hit counts beyond what int16 holds, and a replay for each score;
    plus a score whose map the server does not know."""
    md5 = "b" * 32
    frames = replays.demo_frames(42, 60_000, mode=0, frames=10)
    data = {
        "users": [{"id": 3, "name": ODD_PLAYER, "country": "de", "priv": 3}],
        "maps": [{"id": 70, "set_id": 7, "status": 2, "md5": md5, **ODD_MAP, "creator": "x",
                  "last_update": "2020-01-01 00:00:00", "total_length": 60, "max_combo": 70000,
                  "mode": 0, "diff": 5.0}],
        "scores": [
            {"id": 1, "map_md5": md5, "userid": 3, "score": 3_000_000_000 // 2, "pp": 10.0, "acc": 90.0,
             "max_combo": 70000, "mods": 24, "n300": 70000, "n100": 10, "n50": 0, "nmiss": 0, "ngeki": 7,
             "nkatu": 3, "grade": "SH", "status": 2, "mode": 4, "perfect": 1, "play_time": "2023-12-31 23:59:59"},
            {"id": 2, "map_md5": "c" * 32, "userid": 3, "score": 1, "pp": 0.0, "acc": 90.0, "max_combo": 1,
             "mods": 0, "n300": 1, "n100": 0, "n50": 0, "nmiss": 0, "grade": "A", "status": 2, "mode": 0,
             "play_time": "2023-12-31 23:59:59"},
        ],
        "replays": {"1": base64.b64encode(frames).decode(), "2": base64.b64encode(frames).decode()},
    }
    url = backend.new_database_url()
    data_dir = tmp_path_factory.mktemp("odd-data")

    async def prepare():
        async with Database(url) as db:
            await migrate(db)
            await fixtures.load(db, data, data_dir)

    run(prepare())
    with TestClient(create_app(backend.settings(url, data_dir=data_dir))) as test_client:
        yield test_client, frames


def test_download_name_is_escaped_and_encoded(odd):
    client, _ = odd
    response = client.get("/v1/get_replay?id=1")
    assert response.status_code == 200
    header = response.headers["content-disposition"]
    name = f"{ODD_PLAYER} - {ODD_MAP['artist']} - {ODD_MAP['title']} [{ODD_MAP['version']}] (2023-12-31).osr"
    # a plain-ASCII stand-in, quotes and backslashes escaped, then the real name
    fallback = name.replace("\\", "\\\\").replace('"', '\\"')
    fallback = "".join(ch if ord(ch) < 128 else "_" for ch in fallback)
    assert header.startswith(f'attachment; filename="{fallback}"; filename*=UTF-8\'\'')
    assert header.isascii() and "\n" not in header and "\r" not in header
    # read back with the standard library's parser: the quoted stand-in,
    # then the RFC 5987/2231 form carrying the exact name
    message = email.message.Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    params = message.get_params(header="content-disposition")
    assert [p for p, _ in params] == ["attachment", "filename", "filename"]
    assert params[1][1] == "".join(ch if ord(ch) < 128 else "_" for ch in name)
    assert params[2][1][0] == "UTF-8"
    assert email.utils.collapse_rfc2231_value(params[2][1]) == name


def test_odd_score_in_the_osr(odd):
    client, frames = odd
    body = get_osr(client, "/v1/get_replay?id=1")
    replay = osrparse.Replay.from_string(body)
    assert replay.mode is osrparse.GameMode.STD  # relax osu! is osu!
    assert replay.username == ODD_PLAYER
    row = {"n300": 70000, "n100": 10, "n50": 0, "ngeki": 7, "nkatu": 3, "nmiss": 0,
           "max_combo": 70000, "perfect": 1, "score": 1_500_000_000, "mods": 24}
    assert replay.replay_hash == expected_replay_md5(row, ODD_PLAYER, "b" * 32)
    assert replay.score == 1_500_000_000 and replay.mods.value == 24 and replay.perfect is True
    # osu! reads counts and combo as unsigned 16-bit: too large ones saturate
    offset = 1 + 4 + 34 + 2 + len(ODD_PLAYER.encode()) + 34
    assert struct.unpack_from("<6H", body, offset) == (65535, 10, 0, 7, 3, 0)
    assert struct.unpack_from("<H", body, offset + 16)[0] == 65535
    assert replay.replay_id == 1 and replay.rng_seed == 42 and len(replay.replay_data) == 12
    assert body[-8 - len(frames) : -8] == frames
    assert abs(replay.timestamp - datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)) < timedelta(milliseconds=1)


def test_score_on_an_unknown_map_is_not_found(odd):
    client, frames = odd
    response = client.get("/v1/get_replay?id=2")
    assert (response.status_code, response.json()) == (404, {"status": "Score not found."})
    assert client.get("/v1/get_replay?id=2&include_headers=0").content == frames


# --- the .osr assembly on its own ------------------------------------------------


def test_osr_file_unit():
    row = {"id": 2**40, "mode": 11, "n300": 1, "n100": 2, "n50": 3, "ngeki": 4, "nkatu": 5, "nmiss": 6,
           "score": -5, "max_combo": 7, "perfect": 0, "mods": 2**30,
           "play_time": datetime(2020, 2, 7, 12, 0, 0, 250000)}
    name = "ü" * 100  # 200 bytes of UTF-8: a two-byte ULEB128 length
    body = replays.osr_file(row, name, "d" * 32, b"xyz")
    assert body[:5] == struct.pack("<Bi", 3, 20200207)
    assert body[5:39] == b"\x0b\x20" + b"d" * 32
    assert body[39:42] == b"\x0b\xc8\x01" and body[42:242] == name.encode()
    ticks = struct.unpack_from("<q", body, len(body) - 8 - 3 - 4 - 8)[0]
    assert ticks == 637166736002500000  # 2020-02-07 12:00:00.25 UTC in .NET ticks
    # the same instant as text (SQLite), as an aware datetime, or in another zone
    for same in ("2020-02-07 12:00:00.250000", datetime(2020, 2, 7, 12, 0, 0, 250000, tzinfo=UTC),
                 datetime(2020, 2, 7, 13, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))):
        assert replays.osr_file({**row, "play_time": same}, name, "d" * 32, b"xyz") == body
    assert body.endswith(struct.pack("<i", 3) + b"xyz" + struct.pack("<q", 2**40))
    assert replays.osu_string("") == b"\x00" and replays.osu_string(None) == b"\x00"
    assert replays.uleb128(0) == b"\x00" and replays.uleb128(127) == b"\x7f"
    assert replays.uleb128(128) == b"\x80\x01" and replays.uleb128(624485) == b"\xe5\x8e\x26"


# --- the v1 layer serves the same streams ---------------------------------------


async def _new_key(url: str) -> str:
    async with Database(url) as db:
        await migrate(db)
        return (await create_key(db, "replays"))[1]


@pytest.fixture(scope="module")
def key(demo_url, client) -> str:
    return run(_new_key(demo_url))


def test_v1_get_replay_serves_the_stored_stream(client, key, demo_data):
    users = by_id(demo_data["users"])
    score = min(
        (s for s in best_scores(demo_data)
         if s["mode"] == 0 and users[s["userid"]]["priv"] & Privileges.UNRESTRICTED),
        key=lambda s: s["id"],
    )
    response = client.get(f"/api/get_replay?m=0&s={score['id']}&k={key}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["encoding"] == "base64"
    assert base64.b64decode(body["content"]) == stored(demo_data, score["id"])
    # by map and player: their highest-scoring passed play with those mods,
    # which has a replay when it is their best score on the map
    beatmap = next(m for m in demo_data["maps"] if m["md5"] == score["map_md5"])
    plays = [s for s in demo_data["scores"]
             if s["userid"] == score["userid"] and s["map_md5"] == score["map_md5"] and s["mode"] == 0
             and s["mods"] == score["mods"] and s["status"] != ScoreStatus.FAILED]
    top = min(plays, key=lambda s: (-s["score"], s["id"]))
    expected = ({"content": demo_data["replays"][str(top["id"])], "encoding": "base64"}
                if top["status"] == ScoreStatus.BEST else {"error": "Replay not available."})
    by_map = client.get(f"/api/get_replay?m=0&b={beatmap['id']}&u={score['userid']}&mods={score['mods']}&k={key}")
    assert (by_map.status_code, by_map.json()) == (200, expected)
