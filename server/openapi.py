"""The OpenAPI 3.1 document of the whole service, served as /openapi.json:
made from the endpoints' declarations (server/endpoints.py), every route
with its parameters, request bodies and every answer it can give, error
bodies included. tests/test_openapi.py checks it against the app's routes
and the OpenAPI specification, and runs schemathesis against a live
server."""

from __future__ import annotations

from typing import Any, Sequence

from starlette.requests import Request
from starlette.responses import Response

from . import NAME, version
from .endpoints import Endpoint
from .params import Args
from .responses import dumps
from .schemas import OBJ, STR, json_body, obj

DESCRIPTION = (
    "The JSON API of an osu! private server's api. subdomain over bancho.py's database: the "
    "bancho.py-style API (/v1/<name> and /<name>), osu!api v1 (/api/...), osu!api v2 "
    "(/api/v2/..., /oauth/token), osu!track (/track/...), the ingest API and the operations "
    "endpoints. See the README for the behaviour behind each."
)
SECURITY_SCHEMES = {
    "playerKey": {"type": "http", "scheme": "bearer", "description": "a player's users.api_key"},
    "v1Key": {"type": "apiKey", "in": "query", "name": "k", "description": "a key from `keys create`"},
    "ingestToken": {"type": "http", "scheme": "bearer", "description": "INGEST_TOKEN"},
    "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
        "tokenUrl": "/oauth/token", "scopes": {"public": "read public data"}}}},
}


# the API families, in the order a reader meets them (the docs page's)
TAGS = {
    "bancho.py-style API": "bancho.py's own JSON API, at /v1/<name> and /<name>.",
    "bancho.py-style API (authorized)": "For the player whose users.api_key comes as `Authorization: Bearer`.",
    "bancho.py's /v2 API": "bancho.py's second JSON API: players, maps, scores and clans under /v2/, paged.",
    "osu!api v1": "The legacy osu!api, at /api/<name> and /api/v1/<name>; every call takes a key `k`.",
    "osu!api v2": "osu!api v2 over bancho.py's data: an OAuth client's token from /oauth/token.",
    "osu!track": "osu!track's stats history, under /track/.",
    "ingest (game server)": "Live state the game server pushes (INGEST_TOKEN).",
    "operations": "Health, readiness, metrics and this documentation.",
}


def document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    tags = dict.fromkeys(TAGS)
    for endpoint in endpoints:
        for path, item in endpoint.operations().items():
            paths.setdefault(path, {}).update(item)
        tags.setdefault(endpoint.tag)
    return {
        "openapi": "3.1.0",
        "info": {"title": NAME, "version": version(), "description": DESCRIPTION},
        "tags": [{"name": tag, **({"description": TAGS[tag]} if tag in TAGS else {})} for tag in tags],
        "paths": paths,
        "components": {"securitySchemes": SECURITY_SCHEMES},
    }


async def openapi_json(request: Request, p: Args) -> Response:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = dumps(document(state.endpoints))
    return Response(state.openapi, media_type="application/json")


ENDPOINT = Endpoint("openapi", openapi_json, "This document", "operations", ("/openapi.json",),
                    answers={200: json_body(obj({"openapi": STR, "paths": OBJ}))})
