"""Walking every GET endpoint of the OpenAPI document (server/openapi.py)
with realistic parameter values, for tests/test_bad_input.py and
tests/test_secrets.py: new endpoints are covered as soon as the document
names them.

`prepare()` fills a database of the caller's own with the demo data and
gives it credentials of every kind (players' api_keys, a v1 key, an OAuth
client), so the authorized endpoints are walked past their key check."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote

from starlette.testclient import TestClient

from server import demo, keys, oauth
from server.db import Database
from server.migrate import migrate
from server.openapi import document as _document
from server.routes import endpoints


def document() -> dict:
    return _document(endpoints())

_BANCHO_PLAYER = ("search_players", "get_player_info", "get_player_status", "get_player_scores", "get_player_most_played")
_BANCHO_MAP = ("get_map_info", "get_map_scores", "calculate_pp")
_BANCHO_SCORE = ("get_score_info", "get_replay")


def get_operations(*, one_spelling: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """(path, operation) of every GET in the document; with one_spelling,
    the second spelling of an endpoint (bare /<name> beside /v1/<name>,
    /api/v1/ beside /api/, v2's trailing slash) is left out, since it runs
    the same handler."""
    paths = document()["paths"]
    out = []
    for path, item in paths.items():
        if "get" not in item:
            continue
        if one_spelling and (
            (not path.startswith("/v1/") and f"/v1{path}" in paths)
            or path.startswith("/api/v1/")
            or (path.startswith("/api/v2/") and path.endswith("/"))
        ):
            continue
        out.append((path, item["get"]))
    return out


@dataclass
class Subjects:
    """What the database holds, to name in requests."""

    players: list[dict[str, Any]]
    maps: list[dict[str, Any]]
    scores: list[int]
    clans: list[int]
    pools: list[int]
    secrets: dict[int, dict[str, str]] = field(default_factory=dict)


@dataclass
class Credentials:
    player_key: str
    v1_key: str
    oauth_client: tuple[int, str]
    token: str = ""


def unique_password_hash(user_id: int) -> str:
    """A bcrypt-shaped hash that appears nowhere else."""
    return f"$2b$12${uuid.uuid4().hex}{user_id:08d}{uuid.uuid4().hex[:13]}"


async def prepare(url: str, data_dir) -> tuple[Subjects, Credentials]:
    """Migrate, load the demo data, give every player an api_key and a
    password hash of their own; a v1 key and an OAuth client."""
    async with Database(url) as db:
        await migrate(db)
        await demo.load(db, data_dir)
        players = [dict(r) for r in await db.fetch_all("SELECT id, name FROM users ORDER BY id")]
        for player in players:
            await db.execute(
                "UPDATE users SET api_key = :key, pw_bcrypt = :pw WHERE id = :id",
                {"key": str(uuid.uuid4()), "pw": unique_password_hash(player["id"]), "id": player["id"]},
            )
        secrets = {
            row["id"]: {"email": row["email"], "pw_bcrypt": row["pw_bcrypt"], "api_key": row["api_key"]}
            for row in await db.fetch_all("SELECT id, email, pw_bcrypt, api_key FROM users")
        }
        maps = [dict(r) for r in await db.fetch_all("SELECT id, md5, set_id FROM maps ORDER BY id")]
        scores = [r["id"] for r in await db.fetch_all("SELECT id FROM scores ORDER BY id")]
        clans = [r["id"] for r in await db.fetch_all("SELECT id FROM clans ORDER BY id")]
        pools = [r["id"] for r in await db.fetch_all("SELECT id FROM tourney_pools ORDER BY id")]
        _, v1_key = await keys.create_key(db, "api_walk")
        client = await oauth.create_client(db, "api_walk")
    subjects = Subjects([p for p in players if p["id"] >= 3], maps, scores, clans, pools, secrets)
    return subjects, Credentials(secrets[3]["api_key"], v1_key, client)


def fetch_token(client: TestClient, credentials: Credentials) -> None:
    client_id, secret = credentials.oauth_client
    answer = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": str(client_id), "client_secret": secret, "scope": "public"})
    assert answer.status_code == 200, answer.text
    credentials.token = answer.json()["access_token"]


async def table_fingerprint(url: str) -> dict[str, Any]:
    """Row counts of every table that holds players and plays, and a
    checksum of users and scores."""
    async with Database(url) as db:
        out: dict[str, Any] = {}
        for table in ("users", "scores", "stats", "maps", "clans", "relationships", "api_keys"):
            try:
                out[f"{table}:count"] = (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]
            except Exception:  # a table this schema does not have
                continue
        for table in ("users", "scores"):
            rows = await db.fetch_all(f"SELECT * FROM {table} ORDER BY id")
            out[f"{table}:rows"] = [tuple(str(v) for v in dict(r).values()) for r in rows]
        return out


# --- realistic values ----------------------------------------------------------------------------


def _endpoint(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def realistic(path: str, param: dict[str, Any], subjects: Subjects, index: int) -> str | None:
    """A value for `param` naming the index-th subject, or None to leave
    an optional parameter out."""
    name, schema = param["name"], param["schema"]
    player = subjects.players[index % len(subjects.players)]
    beatmap = subjects.maps[index % len(subjects.maps)]
    score = subjects.scores[index % len(subjects.scores)]
    endpoint = _endpoint(path)
    if path.startswith("/api/v2/"):
        if name == "user":
            return str(player["id"]) if index % 2 == 0 else "@" + player["name"]
        values = {
            "beatmap": beatmap["id"], "beatmapset": beatmap["set_id"], "score": score, "mode": "osu",
            "checksum": beatmap["md5"], "id": beatmap["id"], "beatmap_id": beatmap["id"], "query": player["name"][:3],
            "limit": 10,
        }
        if name == "type":
            return schema["enum"][0]
        if name in ("ids[]", "ids"):
            pool = subjects.players if "/users" in path else subjects.maps
            return ",".join(str(p["id"]) for p in pool[index % len(pool):][:50])
        return None if name not in values else str(values[name])
    if path.startswith("/api/"):
        values = {"u": player["id"] if index % 2 == 0 else player["name"], "b": beatmap["id"], "h": beatmap["md5"],
                  "m": 0, "mp": 1, "limit": 10, "s": score if endpoint == "get_replay" else beatmap["set_id"]}
        return None if name not in values else str(values[name])
    if path.startswith("/track/"):
        values = {"user": player["id"], "mode": 0, "limit": 10}
        return None if name not in values else str(values[name])
    if name == "user_id":
        return str(player["id"])
    if name == "beatmap_id":
        return str(beatmap["id"])
    if name == "id":
        if endpoint in _BANCHO_PLAYER:
            return str(player["id"]) if index % 2 == 0 else None
        if endpoint in _BANCHO_MAP:
            return str(beatmap["id"])
        if endpoint in _BANCHO_SCORE:
            return str(score)
        if endpoint == "get_clan":
            return str(subjects.clans[index % len(subjects.clans)])
        if endpoint == "get_mappool":
            return str(subjects.pools[index % len(subjects.pools)])
        if endpoint == "get_match":
            return "1"
    if name == "name":
        return player["name"] if index % 2 == 1 else None
    if name == "q":
        return player["name"][:3].ljust(2, "a")
    if name == "scope":
        return "all" if "all" in schema.get("enum", ()) else schema["enum"][index % len(schema["enum"])]
    if name in ("mode", "limit"):
        return {"mode": "0", "limit": "10"}[name]
    if param.get("required"):
        return str(schema.get("minimum", 1)) if schema.get("type") == "integer" else "x"
    return None


def headers_for(op: dict[str, Any], credentials: Credentials) -> dict[str, str]:
    security = {name for entry in op.get("security", []) for name in entry}
    if "playerKey" in security:
        return {"Authorization": f"Bearer {credentials.player_key}"}
    if "oauth2" in security:
        return {"Authorization": f"Bearer {credentials.token}"}
    return {}


def build_url(path: str, op: dict[str, Any], values: dict[str, str | None], credentials: Credentials) -> tuple[str, dict[str, str]]:
    """The URL (path parameters quoted, nothing else) and query parameters."""
    query: dict[str, str] = {}
    url = path
    for param in op.get("parameters", []):
        value = values.get(param["name"])
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", quote(value or "", safe=""))
        elif param["in"] == "query" and value is not None:
            query[param["name"]] = value
    if any("v1Key" in entry for entry in op.get("security", [])):
        query["k"] = credentials.v1_key
    return url, query


def realistic_requests(subjects: Subjects, credentials: Credentials, per_operation: int) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """(url, query, headers) of realistic calls to every GET endpoint."""
    for path, op in get_operations(one_spelling=False):
        for index in range(per_operation if op.get("parameters") else 1):
            values = {p["name"]: realistic(path, p, subjects, index) for p in op.get("parameters", [])}
            url, query = build_url(path, op, values, credentials)
            yield url, query, headers_for(op, credentials)


def path_template_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)
