"""Where live state is read from, for every route that shows it: the
upstream bancho.py's own API when LIVE_UPSTREAM_URL is set
(server/upstream.py), else the tables the ingest API fills
(server/queries/live.py). With an upstream, its answers are passed on as
it gave them, so a status or a match reads exactly as bancho.py shows it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request

from .formats import bancho as fmt
from .queries import live
from .snapshots import snapshots
from .upstream import Upstream

__all__ = ["online_count", "player_status", "online_among", "match", "v2_status", "open_match"]


def _upstream(request: Request) -> Upstream | None:
    return request.app.state.upstream


def _online_since(request: Request) -> int:
    return int(time.time()) - request.app.state.settings.presence_ttl


async def online_count(request: Request) -> int:
    """Unrestricted players online, the bot left out."""
    upstream = _upstream(request)
    if upstream is not None:
        _, body = await upstream.get("/v1/get_player_count")
        return int(body["counts"]["online"])
    db = request.app.state.db
    since = _online_since(request)
    # sessions change only through the ingest API, whose writes refresh the
    # snapshot at once: only an expiring session shows up to SNAPSHOT_MAX_AGE late
    return await snapshots(db).get("online_count", lambda db: live.count_online(db, since))


async def player_status(request: Request, player: dict[str, Any]) -> dict[str, Any]:
    """get_player_status's player_status of a player found here."""
    upstream = _upstream(request)
    if player["id"] == live.BOT_ID:  # always online there (and its API takes no id below 3)
        return fmt.player_status_online(await live.online_session(request.app.state.db, live.BOT_ID, 0))
    if upstream is not None:
        status, body = await upstream.get("/v1/get_player_status", id=player["id"])
        if status == 200:
            return body["player_status"]
        # bancho.py does not know them (say, a player made since it read its
        # players): offline, as it would show them
    else:
        db = request.app.state.db
        # who holds a session, from a snapshot: most players asked about are
        # offline and cost no query
        if player["id"] in await snapshots(db).get("session_holders", live.session_holders):
            session = await live.online_session(db, player["id"], _online_since(request))
            if session is not None:
                return fmt.player_status_online(session)
    return {"online": False, "last_seen": player["latest_activity"]}


async def online_among(request: Request, user_ids: list[int], found_online: set[int]) -> set[int]:
    """Which of these players are online: what the database's own join
    found (found_online), or the upstream's statuses of each."""
    upstream = _upstream(request)
    if upstream is None:
        return found_online
    asked = [i for i in user_ids if i != live.BOT_ID]
    answers = await asyncio.gather(*(upstream.get("/v1/get_player_status", id=i) for i in asked))
    return {i for i, (status, body) in zip(asked, answers, strict=True)
            if status == 200 and body["player_status"]["online"]} | ({live.BOT_ID} & set(user_ids))


async def match(request: Request, match_id: int) -> dict[str, Any] | None:
    """get_match's match, or None when there is no such match live."""
    upstream = _upstream(request)
    if upstream is not None:
        status, body = await upstream.get("/v1/get_match", id=match_id)
        return body["match"] if status == 200 else None
    since = int(time.time()) - request.app.state.settings.match_ttl
    state = await live.match_state(request.app.state.db, match_id, since)
    return None if state is None else fmt.match(*state)


# when a match was first seen upstream, which osu!api v1 shows as its start
# (bancho.py's get_match tells no time); a few hundred matches at most are live
_FIRST_SEEN: dict[tuple[int, str], float] = {}


async def open_match(request: Request, match_id: int) -> dict[str, Any] | None:
    """A live match as osu!api v1's get_match needs it (id, name, start), or None."""
    upstream = _upstream(request)
    if upstream is None:
        since = int(time.time()) - request.app.state.settings.match_ttl
        return await live.match_by_id(request.app.state.db, match_id, since)
    found = await match(request, match_id)
    if found is None:
        return None
    if len(_FIRST_SEEN) > 10_000:
        _FIRST_SEEN.clear()
    started = _FIRST_SEEN.setdefault((match_id, found["name"]), time.time())
    return {"id": match_id, "name": found["name"], "created_at": int(started)}


async def v2_status(request: Request, player_id: int) -> tuple[int, dict[str, Any]] | None:
    """bancho.py /v2's status answer from upstream (status code, body), or
    None when there is no upstream (the caller reads the sessions)."""
    upstream = _upstream(request)
    if upstream is None:
        return None
    return await upstream.get(f"/v2/players/{player_id}/status")
