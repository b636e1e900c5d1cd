"""The authorized bancho.py-style endpoints: the caller is the player whose
`users.api_key` comes as `Authorization: Bearer <key>` (server/auth.py).

- get_friends (GET): the key holder's unrestricted friends.
- set_player_info (POST/PUT): update the key holder's public profile fields.
- set_avatar (POST/PUT): replace the key holder's avatar.
- /avatars/<user id> (GET): the avatar set_avatar stored.

Each endpoint answers under /v1/<name> and /<name>, like the rest of the
bancho-style API."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from typing import Any, Callable
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from .. import avatars, images, presence
from ..auth import authorized
from ..constants import PLAYABLE_MODES, USERNAME_PATTERN, Privileges, safe_name
from ..db import Database
from ..endpoints import Endpoint
from ..formats import account as fmt
from ..formats import bancho as bancho_fmt
from ..params import Args, PathInteger, read_body
from ..queries import account, players
from ..responses import ApiError, JSONResponse, bad_request, success
from ..schemas import (
    BAD_REQUEST,
    BINARY,
    INT,
    OBJ,
    PLAYER_KEY,
    STR,
    UNAUTHORIZED,
    Schema,
    any_of,
    arr,
    binary_body,
    content,
    enum,
    integer,
    json_body,
    nullable,
    obj,
    status_error,
    string,
)
from ..schemas import success as success_schema

# set_player_info's fields are short: the longest, userpage_content, is 2048
# characters, at most 12 bytes each as JSON \u escapes of a surrogate pair
MAX_INFO_BODY = 32 * 1024
# room for a multipart form's boundaries and part headers around the avatar
MULTIPART_OVERHEAD = 64 * 1024

UNRESTRICTED = int(Privileges.UNRESTRICTED)
# guweb (bancho.py's web front-end) lets only supporters rename themselves
SUPPORTER = int(Privileges.SUPPORTER | Privileges.PREMIUM)

# the Font Awesome class names bancho.py's front-ends use as badge icons
BADGE_ICON_PATTERN = re.compile(r"^[A-Za-z0-9 _-]+$")


def _db(request: Request) -> Database:
    return request.app.state.db


def _require_unrestricted(player: dict[str, Any]) -> None:
    if not player["priv"] & UNRESTRICTED:
        raise ApiError(403, "Restricted players cannot change their profile.")


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


# --- get_friends ---------------------------------------------------------------


async def get_friends(request: Request, p: Args) -> Response:
    player = request.state.player
    online_since = int(time.time()) - request.app.state.settings.presence_ttl
    rows = await account.friends(_db(request), player["id"], online_since)
    online = await presence.online_among(request, [row["id"] for row in rows],
                                         {row["id"] for row in rows if row["online"]})
    return success(friends=[fmt.friend({**row, "online": row["id"] in online}) for row in rows])


# --- set_player_info -------------------------------------------------------------


def _has_controls(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _outside_bmp(text: str) -> bool:
    # bancho.py's name, badge name and userpage columns are MySQL's 3-byte
    # utf8, which cannot hold characters past U+FFFF (emoji and the like)
    return any(ord(c) > 0xFFFF for c in text)


def _text(field: str, value: Any, max_length: int, *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Invalid '{field}': must be a string{' or null' if nullable else ''}.")
    if len(value) > max_length:
        raise bad_request(f"Invalid '{field}': must be at most {max_length} characters long.")
    if _outside_bmp(value):
        raise bad_request(f"Invalid '{field}': characters past U+FFFF (such as emoji) cannot be stored.")
    return value


def _integer(field: str, value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,10}", value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad_request(f"Invalid '{field}': must be an integer.")


def _name(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    # guweb's rules for a new name: bancho.py's username pattern (2-15
    # letters, digits, spaces, _ - [ ]), '_' or ' ' but not both, no leading,
    # trailing or doubled spaces
    name = _text("name", value, 15, nullable=False)
    if not USERNAME_PATTERN.match(name):
        raise bad_request(
            "Invalid 'name': must be 2 to 15 characters: letters, digits, spaces, '_', '-', '[' and ']'."
        )
    if "_" in name and " " in name:
        raise bad_request("Invalid 'name': may contain '_' or ' ', but not both.")
    if name != name.strip() or "  " in name:
        raise bad_request("Invalid 'name': may not start or end with a space or hold two in a row.")
    if name != player["name"] and not player["priv"] & SUPPORTER:
        raise ApiError(403, "Username changes are currently a supporter perk.")
    return {"name": name, "safe_name": safe_name(name)}


def _userpage(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    text = _text("userpage_content", value, 2048, nullable=True)
    if text and _has_controls(text, "\t\n\r"):
        raise bad_request("Invalid 'userpage_content': control characters other than tabs and line breaks are not allowed.")
    return {"userpage_content": text or None}


def _badge_name(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    text = _text("custom_badge_name", value, 16, nullable=True)
    if text and _has_controls(text):
        raise bad_request("Invalid 'custom_badge_name': control characters are not allowed.")
    return {"custom_badge_name": text or None}


def _badge_icon(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    text = _text("custom_badge_icon", value, 64, nullable=True)
    if text and not BADGE_ICON_PATTERN.match(text):
        raise bad_request(
            "Invalid 'custom_badge_icon': letters, digits, spaces, '-' and '_' only (an icon class such as 'fas fa-star')."
        )
    return {"custom_badge_icon": text or None}


def _preferred_mode(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    mode = _integer("preferred_mode", value)
    if mode not in PLAYABLE_MODES:
        modes = ", ".join(str(int(m)) for m in PLAYABLE_MODES)
        raise bad_request(f"Invalid 'preferred_mode': must be one of {modes}.")
    return {"preferred_mode": mode}


def _play_style(value: Any, player: dict[str, Any]) -> dict[str, Any]:
    style = _integer("play_style", value)
    if not 0 <= style <= 15:
        raise bad_request(
            "Invalid 'play_style': must be 0 to 15 (the sum of 1 mouse, 2 tablet, 4 keyboard, 8 touch)."
        )
    return {"play_style": style}


# the fields set_player_info takes, in the order they are checked: each
# one's check, and what the body's documentation says of it
INFO_FIELDS: dict[str, tuple[Callable[[Any, dict[str, Any]], dict[str, Any]], Schema]] = {
    "name": (_name, string(2, 15, USERNAME_PATTERN.pattern)),
    "userpage_content": (_userpage, nullable(string(max_length=2048))),
    "custom_badge_name": (_badge_name, nullable(string(max_length=16))),
    "custom_badge_icon": (_badge_icon, nullable(string(max_length=64, pattern=BADGE_ICON_PATTERN.pattern))),
    "preferred_mode": (_preferred_mode, any_of(enum(*(int(m) for m in PLAYABLE_MODES)), STR)),
    "play_style": (_play_style, any_of(integer(0, 15), STR)),
}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise bad_request(f"Field '{key}' is given more than once.")
        out[key] = value
    return out


def _json_fields(body: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(body, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise bad_request("Invalid JSON body.") from None
    if not isinstance(fields, dict):
        raise bad_request("The JSON body must be an object of fields.")
    return fields


def _form_fields(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=64)
    except UnicodeDecodeError:
        raise bad_request("Invalid form: it must be UTF-8.") from None
    except ValueError:
        raise bad_request("Invalid form: too many fields.") from None
    # a form cannot send null: an empty value clears a nullable field
    return _no_duplicates(pairs)


async def set_player_info(request: Request, p: Args) -> Response:
    player = request.state.player
    _require_unrestricted(player)
    media = _media_type(request.headers)
    body = await read_body(request, MAX_INFO_BODY, f"Request body too large (max {MAX_INFO_BODY} bytes).")
    if media == "application/json" or media.endswith("+json"):
        fields = _json_fields(body)
    elif media == "application/x-www-form-urlencoded":
        fields = _form_fields(body)
    elif not body:
        fields = {}
    else:
        raise ApiError(415, "Send the fields as JSON (application/json) or a url-encoded form.")

    unknown = [name for name in fields if name not in INFO_FIELDS]
    if unknown:
        raise bad_request(
            f"Unknown or read-only field(s): {', '.join(unknown)}. Settable: {', '.join(INFO_FIELDS)}."
        )
    if not fields:
        raise bad_request(f"No fields to update. Settable: {', '.join(INFO_FIELDS)}.")
    # every field is checked before anything is written
    values: dict[str, Any] = {}
    for name, (check, _) in INFO_FIELDS.items():
        if name in fields:
            values.update(check(fields[name], player))

    db = _db(request)
    try:
        await account.update_player(db, player["id"], values)
    except account.NameTaken:
        raise ApiError(409, "Username already taken by another player.") from None
    row = await players.player_by_id(db, player["id"])
    return success(player={"info": bancho_fmt.player_info(row)})


# --- set_avatar --------------------------------------------------------------------

# what a Content-Type or a file name may claim, as images.py's kinds
_CLAIMED_TYPES = {
    "image/png": "png", "image/x-png": "png", "image/apng": "png",
    "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/pjpeg": "jpeg",
    "image/gif": "gif",
}
_CLAIMED_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "gif": "gif"}


def _check_claims(image: images.ImageInfo, content_type: str | None, filename: str | None) -> None:
    """A declared image type, or a file name's image extension, must agree
    with what the bytes are. Generic types (application/octet-stream) and
    other extensions claim nothing."""
    if content_type and content_type.startswith("image/") and _CLAIMED_TYPES.get(content_type) != image.kind:
        raise bad_request(f"The file is a {image.name} image but was sent as {content_type}.")
    extension = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else None
    if extension in _CLAIMED_EXTENSIONS and _CLAIMED_EXTENSIONS[extension] != image.kind:
        raise bad_request(f"The file is a {image.name} image but is named {filename!r}.")


async def _multipart_avatar(headers: Headers, body: bytes) -> tuple[bytes, str | None, str | None]:
    """The `avatar` file of a multipart form (bancho.py's field), with the
    Content-Type and file name its part declares."""

    async def stream():
        yield body

    parser = MultiPartParser(headers, stream(), max_files=1, max_fields=16, max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise bad_request(f"Invalid multipart form: {exc.message}") from None
    try:
        upload = form.get("avatar")
        if not isinstance(upload, UploadFile):
            raise bad_request("Must provide the avatar as the multipart file field 'avatar'.")
        data = await upload.read()
        media = _media_type(upload.headers) or None
        return data, media, upload.filename
    finally:
        await form.close()


async def set_avatar(request: Request, p: Args) -> Response:
    player = request.state.player
    _require_unrestricted(player)
    settings = request.app.state.settings
    limit = settings.avatar_max_bytes
    too_large = f"Avatar too large (max {limit} bytes)."
    media = _media_type(request.headers)
    if media == "multipart/form-data":
        body = await read_body(request, limit + MULTIPART_OVERHEAD, too_large)
        data, claimed_type, filename = await _multipart_avatar(request.headers, body)
        if len(data) > limit:
            raise ApiError(413, too_large)
    else:
        data = await read_body(request, limit, too_large)
        claimed_type, filename = media or None, None
    if not data:
        raise bad_request("Must provide the avatar image (PNG, JPEG or GIF) as the request body.")
    try:
        # decoding takes CPU time: off the event loop
        image, stored = await run_in_threadpool(images.reencode, data)
    except images.ImageError as exc:
        raise bad_request(str(exc)) from None
    _check_claims(image, claimed_type, filename)
    await run_in_threadpool(avatars.store, settings.avatars_dir, player["id"], image.extension, stored)
    return success(avatar=fmt.avatar(player["id"], image, len(stored)))


async def get_avatar(request: Request, p: Args) -> Response:
    found = await run_in_threadpool(avatars.read, request.app.state.settings.avatars_dir, p.user_id)
    if found is None:
        return JSONResponse({"status": "Avatar not found."}, status_code=404)
    data, media_type = found
    # avatars change in place: clients must come back for a new one
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=media_type, headers=headers)


# --- the declarations -----------------------------------------------------------

TAG = "bancho.py-style API (authorized)"
FORBIDDEN = status_error("Restricted player, or a rename without supporter")
TOO_LARGE = status_error("Request body too large")
INFO_BODY = obj(optional={name: schema for name, (_, schema) in INFO_FIELDS.items()})


def _authorized(handler, summary: str, methods: tuple[str, ...], answers: dict[int | str, Schema],
                body: Schema | None = None) -> Endpoint:
    name = handler.__name__
    return Endpoint(name, handler, summary, TAG, (f"/v1/{name}", f"/{name}"), methods,
                    answers={401: UNAUTHORIZED, **answers}, security=PLAYER_KEY, body=body, serve=authorized)


ENDPOINTS: list[Endpoint] = [
    _authorized(get_friends, "The key holder's friends", ("GET",),
                {200: json_body(success_schema(friends=arr(obj({"id": INT, "name": STR}))))}),
    _authorized(set_player_info, "Update the key holder's profile fields", ("POST", "PUT"),
                {200: json_body(success_schema(player=obj({"info": bancho_fmt.PLAYER_INFO_SCHEMA}))),
                 400: BAD_REQUEST, 403: FORBIDDEN, 409: status_error("Username already taken"), 413: TOO_LARGE,
                 415: status_error("Unsupported body type")},
                body={"required": False, "content": content({"application/json": INFO_BODY,
                                                             "application/x-www-form-urlencoded": INFO_BODY})}),
    _authorized(set_avatar, "Replace the key holder's avatar (PNG, JPEG or GIF)", ("POST", "PUT"),
                {200: json_body(success_schema(avatar=OBJ)), 400: BAD_REQUEST, 403: FORBIDDEN, 413: TOO_LARGE},
                body={"required": True, "content": {
                    **content({"image/png": BINARY, "image/jpeg": BINARY, "image/gif": BINARY}),
                    "multipart/form-data": {"schema": obj({"avatar": BINARY})},
                }}),
    Endpoint("get_avatar", get_avatar, "The avatar set_avatar stored", "bancho.py-style API",
             ("/avatars/{user_id}",),
             params=(PathInteger("user_id", "a player id"),),
             answers={200: binary_body("The image", "image/png", "image/jpeg", "image/gif"),
                      404: status_error("Avatar not found")}),
]
