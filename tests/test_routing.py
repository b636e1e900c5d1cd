"""server/routing.py dispatches exactly as Starlette's own router: the same
route (or 404/405) for every path of the app's table, every method."""

from __future__ import annotations

import asyncio

from starlette.routing import Route, Router

from server.app import create_app
from server.routing import IndexedRouter

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")


def _dispatch(router: Router, method: str, path: str) -> object:
    """What the router hands the request to: the endpoint, or the status."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}
    chosen: list[object] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and not chosen:
            chosen.append(message["status"])

    originals = []
    for route in router.routes:  # record the endpoint instead of running it
        originals.append((route, route.app))

        async def record(scope, receive, send, route=route) -> None:
            chosen.append(route.endpoint)

        route.app = record
    try:
        asyncio.run(router.app(scope, receive, send))
    finally:
        for route, app in originals:
            route.app = app
    return chosen[0]


def test_every_path_and_method_goes_where_starlette_sends_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    routes = list(create_app().routes)
    indexed, plain = IndexedRouter(routes), Router(routes)
    paths = {route.path for route in routes}
    paths |= {"/api/v2/users/2/osu", "/api/v2/beatmaps/5", "/nowhere", "/v1/get_player_info/"}
    assert indexed._by_path  # the index is in use for this table
    for path in sorted(paths):
        for method in METHODS:
            assert _dispatch(indexed, method, path) == _dispatch(plain, method, path), (method, path)


def test_a_later_route_for_the_method_wins_over_an_earlier_partial_match():
    async def post_x(request): ...
    async def get_x(request): ...
    async def any_name(request): ...

    routes = [Route("/x", post_x, methods=["POST"]), Route("/x", get_x, methods=["GET"]), Route("/{name}", any_name)]
    indexed = IndexedRouter(routes)
    assert _dispatch(indexed, "GET", "/x") is get_x
    assert _dispatch(indexed, "POST", "/x") is post_x
    assert _dispatch(indexed, "PUT", "/x") == 405  # no route takes PUT (/{name}: GET and HEAD)
    assert _dispatch(indexed, "GET", "/y") is any_name
    for method, path in (("GET", "/x"), ("PUT", "/x"), ("DELETE", "/y")):
        assert _dispatch(indexed, method, path) == _dispatch(Router(routes), method, path)
