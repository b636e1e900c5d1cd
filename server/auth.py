"""Who is calling the authorized bancho-style endpoints: the player whose
`users.api_key` (bancho.py's column) comes as `Authorization: Bearer <key>`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .endpoints import Endpoint, plain
from .queries import players
from .responses import ApiError

# bancho.py's keys are UUIDs (36 characters); anything longer is not a key
MAX_KEY_LENGTH = 64


async def authorized_player(request: Request) -> dict[str, Any]:
    """The key holder's users row, or a 401 {"status": "Invalid API key."}."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(401, "Invalid API key.")
    player = await players.player_by_api_key(request.app.state.db, key)
    if player is None:
        raise ApiError(401, "Invalid API key.")
    return player


async def authorized(endpoint: Endpoint, request: Request) -> Response:
    """How an authorized endpoint is served: the key first (a 401 comes
    before any 400), then the parameters as `plain` reads them; the handler
    finds the key holder in request.state.player."""
    request.state.player = await authorized_player(request)
    return await plain(endpoint, request)
