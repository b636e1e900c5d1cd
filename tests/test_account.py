"""The authorized endpoints (get_friends, set_player_info, set_avatar) and
the avatars they serve back, on SQLite and MariaDB. The module works on a
database of its own (the demo data, API keys set on a few players, a
restricted friend and a block added), so the shared demo database stays
untouched; the images are built byte by byte here."""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zlib

import httpx
import pytest
from conftest import run
from PIL import Image
from starlette.testclient import TestClient

from server import demo, images
from server.app import create_app
from server.constants import Privileges
from server.db import Database
from server.migrate import migrate
from server.queries import live
from server.settings import load_settings

# users.api_key is bancho.py's CHAR(36), a UUID there
HOLDER_KEY = "11111111-1111-4111-8111-111111111111"  # user 3: supporter
PLAIN_KEY = "22222222-2222-4222-8222-222222222222"  # user 4: no supporter bit
RESTRICTED_KEY = "33333333-3333-4333-8333-333333333333"  # user 9: restricted
AVATAR_KEY = "55555555-5555-4555-8555-555555555555"  # user 5: avatars
HOLDER, PLAIN, RESTRICTED, AVATAR_USER = 3, 4, 9, 5
# small enough that the oversized case is cheap
AVATAR_MAX = 64 * 1024
INVALID_KEY = {"status": "Invalid API key."}
INFO_KEYS = [
    "id", "name", "safe_name", "priv", "country", "silence_end", "donor_end",
    "creation_time", "latest_activity", "clan_id", "clan_priv", "preferred_mode",
    "play_style", "custom_badge_name", "custom_badge_icon", "userpage_content",
]
# added to the demo relationships: a restricted friend and a block, both to
# be left out of the holder's friends, and a friendship towards the holder
EXTRA_RELATIONSHIPS = [(HOLDER, RESTRICTED, "friend"), (HOLDER, PLAIN, "block"), (PLAIN, HOLDER, "friend")]


# --- images, built by hand -----------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def make_png(width: int = 1, height: int = 1, extra: bytes = b"") -> bytes:
    """An 8-bit RGB PNG, every pixel red; `extra` chunks go before IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        images.PNG_SIGNATURE + png_chunk(b"IHDR", header) + extra
        + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b"")
    )


def make_gif() -> bytes:
    """A 1x1 GIF89a: a two-colour global table, a graphic control extension,
    one image, the trailer."""
    return (
        b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
        + b"\x21\xf9\x04\x01\x00\x00\x00\x00"
        + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
        + b"\x3b"
    )


def make_jpeg() -> bytes:
    """A 1x1 greyscale baseline JFIF: one quantisation table, one-code DC and
    AC Huffman tables, and a scan of a single block (DC difference 0, then
    end-of-block: two 0 bits, padded with 1s)."""
    segment = lambda marker, payload: b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload
    counts = bytes([1] + [0] * 15)  # one code of length 1
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, 1, 1, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + counts + b"\x00")
        + segment(0xC4, b"\x10" + counts + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"
        + b"\xff\xd9"
    )


PNG, GIF, JPEG = make_png(), make_gif(), make_jpeg()


def make_animation(screen: tuple[int, int], frames: list[tuple[int, int, int, int]]) -> bytes:
    """A GIF of the given canvas whose frames draw at (left, top) with the
    given width and height, each with make_gif's one-pixel image data (so
    only 1x1 frames decode; the others must be refused before)."""
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for left, top, width, height in frames:
        out += b"\x21\xf9\x04\x00\x05\x00\x00\x00"  # 50 ms a frame
        out += b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def pixels(data: bytes) -> tuple[str | None, tuple[int, int], list[bytes]]:
    """An image as Pillow decodes it: format, size, each frame's RGBA pixels."""
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(image.convert("RGBA").tobytes())
        return image.format, image.size, frames


# --- the module's own database and app ---------------------------------------------


@pytest.fixture(scope="module")
def account_env(backend, tmp_path_factory):
    url = backend.new_database_url()
    data_dir = tmp_path_factory.mktemp("account-data")

    async def prepare():
        async with Database(url) as db:
            await migrate(db)
            await demo.load(db, data_dir)
            for user_id, key in ((HOLDER, HOLDER_KEY), (PLAIN, PLAIN_KEY), (RESTRICTED, RESTRICTED_KEY), (AVATAR_USER, AVATAR_KEY)):
                await db.execute("UPDATE users SET api_key = :key WHERE id = :id", {"key": key, "id": user_id})
            for user1, user2, kind in EXTRA_RELATIONSHIPS:
                await db.execute(
                    "INSERT INTO relationships (user1, user2, type) VALUES (:a, :b, :t)", {"a": user1, "b": user2, "t": kind}
                )

    run(prepare())
    settings = backend.settings(url, data_dir=data_dir, avatar_max_bytes=AVATAR_MAX)
    with TestClient(create_app(settings)) as client:
        yield client, url, settings


@pytest.fixture
def client(account_env) -> TestClient:
    return account_env[0]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def info(client, user_id: int) -> dict:
    response = client.get(f"/v1/get_player_info?id={user_id}&scope=info")
    assert response.status_code == 200, response.text
    return response.json()["player"]["info"]


def expect(response, status: int, message_part: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if message_part is not None:
        assert message_part in body["status"], body
    return body


# --- authorization -------------------------------------------------------------------

CALLS = [
    ("GET", "get_friends"),
    ("POST", "set_player_info"),
    ("PUT", "set_player_info"),
    ("POST", "set_avatar"),
    ("PUT", "set_avatar"),
]
BAD_AUTH = [
    {},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": f"Bearer {HOLDER_KEY[:-1]}0"},
    {"Authorization": f"Basic {HOLDER_KEY}"},
    {"Authorization": HOLDER_KEY},
    {"Authorization": "Bearer " + "x" * 100},
    {"Authorization": "Bearer "},
]


@pytest.mark.parametrize("prefix", ["/v1/", "/"])
@pytest.mark.parametrize("method,name", CALLS)
@pytest.mark.parametrize("headers", BAD_AUTH, ids=range(len(BAD_AUTH)))
def test_missing_or_bad_key_answers_401(client, prefix, method, name, headers):
    before = info(client, HOLDER)
    body = PNG if name == "set_avatar" else b'{"userpage_content": "hacked"}'
    headers = {**headers, "Content-Type": "image/png" if name == "set_avatar" else "application/json"}
    response = client.request(method, f"{prefix}{name}", content=body, headers=headers)
    assert expect(response, 401) == INVALID_KEY
    assert info(client, HOLDER) == before


@pytest.mark.parametrize("method,name", [("POST", "get_friends"), ("GET", "set_player_info"), ("GET", "set_avatar"), ("DELETE", "set_avatar")])
def test_wrong_method_answers_405(client, method, name):
    response = client.request(method, f"/v1/{name}", headers=auth(HOLDER_KEY))
    assert expect(response, 405) == {"status": "Method not allowed."}


# --- get_friends --------------------------------------------------------------------


def expected_friends(demo_data, user_id: int) -> list[dict]:
    users = {u["id"]: u for u in demo_data["users"]}
    clans = {c["id"]: c for c in demo_data["clans"]}
    links = [(r["user1"], r["user2"], r["type"]) for r in demo_data["relationships"]] + EXTRA_RELATIONSHIPS
    out = []
    for friend_id in sorted({b for a, b, kind in links if a == user_id and kind == "friend"}):
        user = users[friend_id]
        if not user["priv"] & Privileges.UNRESTRICTED:
            continue
        clan = clans.get(user.get("clan_id"))
        out.append({
            "id": user["id"],
            "name": user["name"],
            "country": user["country"],
            "clan": None if clan is None else {
                "id": clan["id"], "name": clan["name"], "tag": clan["tag"],
                "members": sum(1 for u in demo_data["users"] if u.get("clan_id") == clan["id"]),
            },
            "online": False,
        })
    return out


@pytest.mark.parametrize("prefix", ["/v1/", "/"])
def test_friends_match_the_relationships(client, demo_data, prefix):
    body = expect(client.get(f"{prefix}get_friends", headers=auth(HOLDER_KEY)), 200)
    expected = expected_friends(demo_data, HOLDER)
    assert body == {"status": "success", "friends": expected}
    ids = [f["id"] for f in body["friends"]]
    assert RESTRICTED not in ids  # a restricted friend is hidden
    assert PLAIN not in ids  # a block is not a friendship
    assert any(f["clan"] for f in expected) and any(f["clan"] is None for f in expected)


def test_friends_are_one_way_and_one_query(client, demo_data):
    db = client.app.state.db
    before = db.query_count
    body = expect(client.get("/v1/get_friends", headers=auth(PLAIN_KEY)), 200)
    assert db.query_count - before <= 2  # the key's player, then the friends
    assert body["friends"] == expected_friends(demo_data, PLAIN)
    assert HOLDER in [f["id"] for f in body["friends"]]


def test_restricted_player_may_list_friends(client, demo_data):
    body = expect(client.get("/v1/get_friends", headers=auth(RESTRICTED_KEY)), 200)
    assert body["friends"] == expected_friends(demo_data, RESTRICTED)


def test_friend_with_a_live_session_is_online(account_env, demo_data):
    client, url, _ = account_env
    friend_id = expected_friends(demo_data, HOLDER)[0]["id"]

    async def log_in(now: int):
        async with Database(url) as db:
            session = {"login_time": float(now), "action": 0, "info_text": "", "mode": 0, "mods": 0, "map_md5": ""}
            await live.put_session(db, friend_id, session, now)

    async def log_out():
        async with Database(url) as db:
            await live.delete_session(db, friend_id)

    run(log_in(int(time.time())))
    try:
        friends = expect(client.get("/v1/get_friends", headers=auth(HOLDER_KEY)), 200)["friends"]
        assert [f["id"] for f in friends if f["online"]] == [friend_id]
    finally:
        run(log_out())


# --- set_player_info ----------------------------------------------------------------


def test_set_player_info_json_put(client):
    before = info(client, HOLDER)
    changes = {
        "userpage_content": "hello\nworld\t[b]bold[/b] ünïcödé 日本語",
        "custom_badge_name": "Champion",
        "custom_badge_icon": "fas fa-crown",
        "preferred_mode": 4,
        "play_style": 5,
    }
    response = client.put("/v1/set_player_info", json=changes, headers=auth(HOLDER_KEY))
    body = expect(response, 200)
    assert body["status"] == "success" and list(body["player"]) == ["info"]
    answered = body["player"]["info"]
    assert list(answered) == INFO_KEYS
    assert answered == {**before, **changes}
    assert info(client, HOLDER) == answered


def test_set_player_info_form_post_and_clearing(client):
    response = client.post(
        "/set_player_info",
        data={"userpage_content": "from a form", "preferred_mode": "1", "play_style": "0"},
        headers=auth(HOLDER_KEY),
    )
    answered = expect(response, 200)["player"]["info"]
    assert (answered["userpage_content"], answered["preferred_mode"], answered["play_style"]) == ("from a form", 1, 0)
    # a form's empty value and JSON's null both clear a nullable field
    answered = expect(client.post("/set_player_info", data={"custom_badge_name": ""}, headers=auth(HOLDER_KEY)), 200)["player"]["info"]
    assert answered["custom_badge_name"] is None and answered["userpage_content"] == "from a form"
    answered = expect(client.put("/v1/set_player_info", json={"userpage_content": None, "custom_badge_icon": ""}, headers=auth(HOLDER_KEY)), 200)["player"]["info"]
    assert answered["userpage_content"] is None and answered["custom_badge_icon"] is None


def test_rename_updates_safe_name_and_lookups(client):
    old_name = info(client, HOLDER)["name"]
    body = expect(client.post("/v1/set_player_info", json={"name": "Flower Dance"}, headers=auth(HOLDER_KEY)), 200)
    assert (body["player"]["info"]["name"], body["player"]["info"]["safe_name"]) == ("Flower Dance", "flower_dance")
    assert info(client, HOLDER)["name"] == "Flower Dance"
    assert client.get("/v1/get_player_info?name=flower_dance&scope=info").json()["player"]["info"]["id"] == HOLDER
    assert client.get(f"/v1/get_player_info?name={old_name}&scope=info").status_code == 404
    # renaming to a case variant of one's own name is no clash
    body = expect(client.post("/v1/set_player_info", json={"name": "flower dance"}, headers=auth(HOLDER_KEY)), 200)
    assert body["player"]["info"]["name"] == "flower dance"
    expect(client.post("/v1/set_player_info", json={"name": old_name}, headers=auth(HOLDER_KEY)), 200)


@pytest.mark.parametrize("taken", ["Rafis", "RAFIS", "mrekk", "Freddie_Benson"])
def test_name_taken_answers_409_and_changes_nothing(client, taken):
    before = info(client, HOLDER)
    payload = {"name": taken, "userpage_content": "should not land", "play_style": 15}
    response = client.post("/v1/set_player_info", json=payload, headers=auth(HOLDER_KEY))
    assert expect(response, 409) == {"status": "Username already taken by another player."}
    assert info(client, HOLDER) == before
    # the same name is still usable afterwards by its holder: nothing was locked up
    expect(client.post("/v1/set_player_info", json={"play_style": before["play_style"]}, headers=auth(HOLDER_KEY)), 200)


@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "a"),
        ("name", "x" * 16),
        ("name", "bad/name"),
        ("name", "under_and space"),
        ("name", " padded"),
        ("name", "two  spaces"),
        ("name", "emoji\U0001F600"),
        ("name", 123),
        ("name", None),
        ("userpage_content", "x" * 2049),
        ("userpage_content", "nul\x00byte"),
        ("userpage_content", "bell\x07"),
        ("userpage_content", "smile \U0001F600"),
        ("userpage_content", 5),
        ("userpage_content", ["list"]),
        ("custom_badge_name", "x" * 17),
        ("custom_badge_name", "tab\there"),
        ("custom_badge_name", {"a": 1}),
        ("custom_badge_icon", "x" * 65),
        ("custom_badge_icon", "<script>"),
        ("custom_badge_icon", "fa-star;color:red"),
        ("preferred_mode", 7),
        ("preferred_mode", 9),
        ("preferred_mode", 12),
        ("preferred_mode", -1),
        ("preferred_mode", "std"),
        ("preferred_mode", True),
        ("preferred_mode", 1.5),
        ("preferred_mode", None),
        ("play_style", 16),
        ("play_style", -1),
        ("play_style", "mouse"),
        ("play_style", 2**40),
    ],
)
def test_each_invalid_field_answers_400_and_changes_nothing(client, field, value):
    before = info(client, HOLDER)
    # good fields beside the bad one: one statement, so none of them lands
    payload = {"userpage_content": "good", "custom_badge_name": "Good", "play_style": 3, field: value}
    response = client.post("/v1/set_player_info", json=payload, headers=auth(HOLDER_KEY))
    expect(response, 400, f"'{field}'")
    assert info(client, HOLDER) == before


@pytest.mark.parametrize(
    "payload,named",
    [
        ({"country": "us"}, ["country"]),
        ({"priv": 2**31 - 1, "userpage_content": "x"}, ["priv"]),
        ({"api_key": "x", "pw_bcrypt": "y", "play_style": 1}, ["api_key", "pw_bcrypt"]),
        ({"safe_name": "someone"}, ["safe_name"]),
    ],
)
def test_unknown_or_read_only_fields_answer_400(client, payload, named):
    before = info(client, HOLDER)
    body = expect(client.post("/v1/set_player_info", json=payload, headers=auth(HOLDER_KEY)), 400, "Unknown or read-only field(s)")
    for name in named:
        assert name in body["status"]
    assert info(client, HOLDER) == before


@pytest.mark.parametrize(
    "kwargs,status,message",
    [
        ({"json": {}}, 400, "No fields to update"),
        ({"data": {}}, 400, "No fields to update"),
        ({}, 400, "No fields to update"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "Invalid JSON body"),
        ({"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, 400, "must be an object"),
        ({"content": b'{"play_style": 1, "play_style": 2}', "headers": {"Content-Type": "application/json"}}, 400, "'play_style' is given more than once"),
        ({"content": b"play_style=1&play_style=2", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "more than once"),
        ({"content": b"userpage_content=%ff", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "UTF-8"),
        ({"content": b"play_style=1", "headers": {"Content-Type": "text/plain"}}, 415, "JSON"),
        ({"content": b'{"userpage_content": "' + b"x" * 40000 + b'"}', "headers": {"Content-Type": "application/json"}}, 413, "too large"),
    ],
)
def test_body_errors(client, kwargs, status, message):
    before = info(client, HOLDER)
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    headers = {**kwargs.pop("headers", {}), **auth(HOLDER_KEY)}
    expect(client.post("/v1/set_player_info", headers=headers, **kwargs), status, message)
    assert info(client, HOLDER) == before


def test_oversized_streamed_body_is_refused(client):
    before = info(client, HOLDER)
    chunks = (b"x" * 4096 for _ in range(20))  # no Content-Length: chunked
    response = client.post(
        "/v1/set_player_info", content=chunks, headers={**auth(HOLDER_KEY), "Content-Type": "application/json"}
    )
    expect(response, 413, "too large")
    assert info(client, HOLDER) == before


def test_rename_is_a_supporter_perk(client):
    before = info(client, PLAIN)
    assert not before["priv"] & (Privileges.SUPPORTER | Privileges.PREMIUM)
    response = client.post("/v1/set_player_info", json={"name": "New Name", "play_style": 1}, headers=auth(PLAIN_KEY))
    assert expect(response, 403) == {"status": "Username changes are currently a supporter perk."}
    assert info(client, PLAIN) == before
    # sending one's own name unchanged is no rename; other fields are free
    body = expect(client.post("/v1/set_player_info", json={"name": before["name"], "play_style": 2}, headers=auth(PLAIN_KEY)), 200)
    assert body["player"]["info"]["play_style"] == 2


def test_restricted_player_cannot_change_profile(client):
    before = info(client, RESTRICTED)
    response = client.post("/v1/set_player_info", json={"userpage_content": "hi"}, headers=auth(RESTRICTED_KEY))
    assert expect(response, 403) == {"status": "Restricted players cannot change their profile."}
    response = client.post("/v1/set_avatar", content=PNG, headers=auth(RESTRICTED_KEY))
    expect(response, 403, "Restricted")
    assert info(client, RESTRICTED) == before
    assert client.get(f"/avatars/{RESTRICTED}").status_code == 404


# --- set_avatar ---------------------------------------------------------------------


def avatar_files(settings, user_id: int) -> list[str]:
    folder = settings.avatars_dir
    return sorted(p.name for p in folder.iterdir() if p.name.split(".")[0] == str(user_id)) if folder.exists() else []


def served(client, user_id: int) -> tuple[bytes, str]:
    response = client.get(f"/avatars/{user_id}")
    assert response.status_code == 200, response.text
    return response.content, response.headers["content-type"]


def served_pixels(client, user_id: int) -> tuple:
    data, media_type = served(client, user_id)
    return media_type, pixels(data)


def same_image(data: bytes, media_type: str) -> tuple:
    return media_type, pixels(data)


def test_avatar_round_trips_in_each_format(account_env):
    client, _, settings = account_env
    uploads = [
        ("POST", "/v1/set_avatar", {"content": PNG, "headers": {"Content-Type": "image/png"}}, PNG, "image/png", "png"),
        ("PUT", "/set_avatar", {"content": JPEG, "headers": {"Content-Type": "application/octet-stream"}}, JPEG, "image/jpeg", "jpg"),
        ("POST", "/v1/set_avatar", {"content": GIF}, GIF, "image/gif", "gif"),  # no Content-Type at all
        # bancho.py's form: a multipart upload in the field 'avatar'
        ("PUT", "/v1/set_avatar", {"files": {"avatar": ("me.jpeg", JPEG, "image/jpeg")}}, JPEG, "image/jpeg", "jpg"),
        ("POST", "/v1/set_avatar", {"files": {"avatar": ("avatar", PNG, "application/octet-stream")}}, PNG, "image/png", "png"),
    ]
    for method, path, kwargs, data, media_type, extension in uploads:
        headers = {**kwargs.pop("headers", {}), **auth(AVATAR_KEY)}
        body = expect(client.request(method, path, headers=headers, **kwargs), 200)
        stored, served_type = served(client, AVATAR_USER)
        assert body == {
            "status": "success",
            "avatar": {"url": f"/avatars/{AVATAR_USER}", "type": media_type, "width": 1, "height": 1, "size": len(stored)},
        }
        # the image Pillow wrote anew: the same pixels in the same format
        assert served_type == media_type
        assert pixels(stored) == pixels(data)
        # the earlier avatar, whatever its format, is gone; no temporary file is left
        assert avatar_files(settings, AVATAR_USER) == [f"{AVATAR_USER}.{extension}"]
    response = client.get(f"/avatars/{AVATAR_USER}")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


def truncated(data: bytes, cut: int) -> bytes:
    return data[:-cut]


IDAT_AT = PNG.index(b"IDAT")
BAD_AVATARS = [
    ("text", {"content": b"hello, I am not an image", "headers": {"Content-Type": "image/png"}}, 400, "Invalid file type"),
    ("html", {"content": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}, 400, "Invalid file type"),
    ("empty", {"content": b""}, 400, "Must provide"),
    ("png-claimed-gif", {"content": PNG, "headers": {"Content-Type": "image/gif"}}, 400, "PNG image but was sent as image/gif"),
    ("png-claimed-webp", {"content": PNG, "headers": {"Content-Type": "image/webp"}}, 400, "sent as image/webp"),
    ("png-named-gif", {"files": {"avatar": ("avatar.gif", PNG, "application/octet-stream")}}, 400, "named 'avatar.gif'"),
    ("jpeg-part-gif", {"files": {"avatar": ("a", JPEG, "image/gif")}}, 400, "JPEG image but was sent as image/gif"),
    ("png-cut-in-its-pixels", {"content": PNG[: IDAT_AT + 6]}, 400, "Invalid PNG image: truncated"),
    ("png-header-only", {"content": PNG[:8]}, 400, "Invalid PNG image"),
    ("png-no-ihdr", {"content": images.PNG_SIGNATURE + png_chunk(b"IDAT", b"x") + png_chunk(b"IEND", b"")}, 400, "Invalid PNG image"),
    ("png-zero-width", {"content": make_png(width=0)}, 400, "Invalid PNG image"),
    ("png-huge", {"content": make_png(width=5000)}, 400, "5000x1 pixels"),
    ("jpeg-truncated", {"content": truncated(JPEG, 2)}, 400, "Invalid JPEG image: truncated"),
    ("jpeg-no-frame", {"content": JPEG.replace(JPEG[JPEG.index(b"\xff\xc0") : JPEG.index(b"\xff\xc4")], b"")}, 400, "Invalid JPEG image"),
    ("jpeg-soi-only", {"content": b"\xff\xd8\xff\xd9"}, 400, "Invalid JPEG image"),
    ("gif-truncated", {"content": truncated(GIF, 4)}, 400, "Invalid GIF image: truncated"),
    ("gif-no-image", {"content": GIF[:13 + 6] + b"\x3b"}, 400, "Invalid GIF image"),
    ("gif-header-only", {"content": b"GIF89a"}, 400, "Invalid GIF image"),
    # bombs: a huge frame on a tiny canvas, as the first frame or a later one
    ("gif-huge-first-frame", {"content": make_animation((1, 1), [(0, 0, 65535, 65535)])}, 400, "Invalid GIF image: too many pixels"),
    ("gif-huge-later-frame", {"content": make_animation((1, 1), [(0, 0, 1, 1), (0, 0, 4097, 1)])}, 400, "frame 2 is 4097x1 pixels"),
    ("gif-too-many-frames", {"content": make_animation((1, 1), [(0, 0, 1, 1)] * 1001)}, 400, "more than 1000 frames"),
    ("gif-too-many-pixels", {"content": make_animation((4096, 4096), [(0, 0, 1, 1)] * 3)}, 400, "3 frames of 4096x4096 pixels"),
    ("multipart-no-avatar", {"files": {"picture": ("a.png", PNG, "image/png")}}, 400, "'avatar'"),
    ("multipart-text-field", {"data": {"avatar": "not a file"}, "files": {"other": ("x", b"x", "text/plain")}}, 400, "'avatar'"),
    ("oversized", {"content": make_png(extra=png_chunk(b"tEXt", b"Comment\x00" + b"x" * AVATAR_MAX))}, 413, "Avatar too large"),
    ("oversized-multipart", {"files": {"avatar": ("a.png", make_png(extra=png_chunk(b"tEXt", b"C\x00" + b"x" * AVATAR_MAX)), "image/png")}}, 413, "Avatar too large"),
    # no Content-Length: refused while it streams in (a fresh generator each run)
    ("oversized-streamed", {"content": lambda: (b"\x89PNG" + b"x" * 4096 for _ in range(20))}, 413, "Avatar too large"),
]


@pytest.mark.parametrize("kwargs,status,message", [case[1:] for case in BAD_AVATARS], ids=[case[0] for case in BAD_AVATARS])
def test_bad_avatar_is_refused_and_the_old_one_stays(account_env, kwargs, status, message):
    client, _, settings = account_env
    expect(client.post("/v1/set_avatar", content=GIF, headers=auth(AVATAR_KEY)), 200)
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    if callable(kwargs.get("content")):
        kwargs["content"] = kwargs["content"]()
    headers = {**kwargs.pop("headers", {}), **auth(AVATAR_KEY)}
    expect(client.post("/v1/set_avatar", headers=headers, **kwargs), status, message)
    assert served_pixels(client, AVATAR_USER) == same_image(GIF, "image/gif")
    assert avatar_files(settings, AVATAR_USER) == [f"{AVATAR_USER}.gif"]


def test_avatar_just_under_the_limit_is_accepted(client):
    filler = b"Comment\x00" + b"x" * (AVATAR_MAX - len(make_png()) - 12 - 8)
    big = make_png(extra=png_chunk(b"tEXt", filler))
    assert len(big) == AVATAR_MAX
    expect(client.post("/v1/set_avatar", content=big, headers=auth(AVATAR_KEY)), 200)
    assert served_pixels(client, AVATAR_USER) == same_image(big, "image/png")


HIDDEN = b"<?php system($_GET['c']); ?>"


@pytest.mark.parametrize("data,media_type", [
    (PNG + HIDDEN, "image/png"),  # appended after the end marker
    (make_png(extra=png_chunk(b"tEXt", b"Comment\x00" + HIDDEN)), "image/png"),  # in a chunk
    (GIF[:-1] + b"\x21\xfe" + bytes([len(HIDDEN)]) + HIDDEN + b"\x00\x3b", "image/gif"),  # a comment block
    (GIF + HIDDEN, "image/gif"),
    (JPEG[:2] + b"\xff\xfe" + struct.pack(">H", len(HIDDEN) + 2) + HIDDEN + JPEG[2:], "image/jpeg"),  # COM segment
], ids=["png-appended", "png-text", "gif-comment", "gif-appended", "jpeg-comment"])
def test_what_a_file_hides_beside_its_pixels_is_not_stored(account_env, data, media_type):
    client, _, settings = account_env
    expect(client.post("/v1/set_avatar", content=data, headers=auth(AVATAR_KEY)), 200)
    stored, served_type = served(client, AVATAR_USER)
    assert HIDDEN not in stored and b"system" not in stored
    assert (served_type, pixels(stored)) == same_image(data, media_type)


def test_a_jpeg_keeps_its_orientation_and_loses_its_location(account_env):
    client, _, _ = account_env
    source = Image.new("RGB", (4, 2), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned 90 degrees
    exif[0x010F] = "Camera maker"
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # a GPS latitude
    original = io.BytesIO()
    source.save(original, "JPEG", quality=90, exif=exif, icc_profile=b"any bytes at all" * 8, comment=HIDDEN)
    expect(client.post("/v1/set_avatar", content=original.getvalue(), headers=auth(AVATAR_KEY)), 200)
    stored, _ = served(client, AVATAR_USER)
    with Image.open(io.BytesIO(stored)) as image:
        kept = image.getexif()
        assert dict(kept) == {0x0112: 6}
        assert "icc_profile" not in image.info and "comment" not in image.info
        assert kept.get_ifd(0x8825) == {}
        # the same quantisation: quality="keep", no second loss
        with Image.open(original) as first:
            assert image.quantization == first.quantization


def test_an_animation_keeps_its_frames_and_timing(account_env):
    client, _, _ = account_env
    frames = [Image.new("P", (8, 8), index % 2) for index in range(3)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    animation = io.BytesIO()
    frames[0].save(animation, "GIF", save_all=True, append_images=frames[1:], duration=[40, 120, 300], loop=0)
    body = expect(client.post("/v1/set_avatar", content=animation.getvalue(), headers=auth(AVATAR_KEY)), 200)
    assert body["avatar"]["width"] == 8
    stored, _ = served(client, AVATAR_USER)
    assert pixels(stored) == pixels(animation.getvalue())
    with Image.open(io.BytesIO(stored)) as image:
        timing = []
        for index in range(image.n_frames):
            image.seek(index)
            timing.append(image.info["duration"])
        assert timing == [40, 120, 300] and image.info["loop"] == 0


def test_a_thousand_small_frames_are_accepted():
    info, _ = images.reencode(make_animation((1, 1), [(0, 0, 1, 1)] * images.MAX_FRAMES))
    assert info == images.ImageInfo("gif", 1, 1, images.MAX_FRAMES)


def test_uploads_through_two_instances_always_leave_one_avatar(account_env, backend, osu_api_server, tmp_path):
    """A PNG through one server process and a JPEG through another, at the
    same moment, over one database and one DATA_DIR: the player always ends
    with exactly one avatar."""
    _, url, _ = account_env
    shared = tmp_path / "shared-data"
    env = {"DATABASE_URL": url, "DATA_DIR": str(shared), "DEMO_ON_EMPTY": "0", "RATE_LIMIT_PER_MINUTE": "0"}
    first, second = osu_api_server(env=env), osu_api_server(env=env)
    folder = shared / "avatars"

    async def race() -> list[str]:
        problems = []
        async with httpx.AsyncClient(headers=auth(AVATAR_KEY), timeout=30) as http:
            for attempt in range(150):
                answers = await asyncio.gather(
                    http.post(f"{first}/v1/set_avatar", content=PNG),
                    http.post(f"{second}/v1/set_avatar", content=JPEG),
                )
                if [a.status_code for a in answers] != [200, 200]:
                    problems.append(f"{attempt}: {[a.text for a in answers]}")
                files = sorted(p.name for p in folder.iterdir() if p.name.startswith(f"{AVATAR_USER}."))
                if len(files) != 1:
                    problems.append(f"{attempt}: files {files}")
                fetched = await http.get(f"{first}/avatars/{AVATAR_USER}")
                if fetched.status_code != 200:
                    problems.append(f"{attempt}: GET answered {fetched.status_code}")
        return problems

    assert run(race()) == []


def test_missing_avatar_is_404_or_the_default_image(account_env):
    client, _, settings = account_env
    nobody = 999999
    assert expect(client.get(f"/avatars/{nobody}"), 404) == {"status": "Avatar not found."}
    assert client.get("/avatars/abc").status_code == 404
    settings.avatars_dir.mkdir(parents=True, exist_ok=True)
    default = settings.avatars_dir / "default.jpg"
    default.write_bytes(JPEG)
    try:
        assert served(client, nobody) == (JPEG, "image/jpeg")
    finally:
        default.unlink()


def test_avatar_left_by_bancho_py_is_served_and_replaced(account_env):
    client, _, settings = account_env
    user_id = PLAIN
    settings.avatars_dir.mkdir(parents=True, exist_ok=True)
    (settings.avatars_dir / f"{user_id}.jpeg").write_bytes(JPEG)
    assert served(client, user_id) == (JPEG, "image/jpeg")
    expect(client.post("/v1/set_avatar", content=PNG, headers=auth(PLAIN_KEY)), 200)
    assert served_pixels(client, user_id) == same_image(PNG, "image/png")
    assert avatar_files(settings, user_id) == [f"{user_id}.png"]


# --- the parts on their own -----------------------------------------------------------


def test_images_identify_sizes():
    assert images.identify(make_png(3, 2)) == images.ImageInfo("png", 3, 2)
    assert images.identify(JPEG) == images.ImageInfo("jpeg", 1, 1)
    assert images.identify(GIF) == images.ImageInfo("gif", 1, 1)
    assert images.identify(GIF.replace(b"GIF89a", b"GIF87a")).kind == "gif"


def test_avatar_max_bytes_setting():
    assert load_settings({}).avatar_max_bytes == 2 * 1024 * 1024
    assert load_settings({"AVATAR_MAX_BYTES": "1000"}).avatar_max_bytes == 1000
    for bad in ("0", "-1", "2MB", "1.5"):
        with pytest.raises(SystemExit, match="AVATAR_MAX_BYTES"):
            load_settings({"AVATAR_MAX_BYTES": bad})
