"""Starlette's router, with the route for a request found by one dict lookup
on its path rather than by trying each route's pattern in turn: with a
hundred routes, the linear scan cost a v1 request more than its handler's
own Python did."""

from __future__ import annotations

from typing import Any, Sequence

from starlette._utils import get_route_path  # the path less root_path, as Route.matches reads it
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    """For each path that some route's path matches with no parameters, the
    routes whose pattern matches it, in table order: exactly the routes
    Router.app would find, so dispatch (first full match wins, else the
    first method-only match answers 405) is unchanged. Any other path, and
    any table that holds more than plain Routes, takes Router's own scan."""

    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        # (the trailing-slash redirect is not_found's, below)
        super().__init__(routes=list(routes), redirect_slashes=False, **options)
        self._by_path: dict[str, tuple[Route, ...]] = {}
        if not all(type(route) is Route for route in self.routes):
            return
        fixed = {route.path for route in self.routes if not route.param_convertors}
        for path in fixed:
            self._by_path[path] = tuple(route for route in self.routes if route.path_regex.match(path))

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidates = self._by_path.get(get_route_path(scope)) if scope["type"] == "http" else None
        if not candidates:
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        # each candidate matches the path, so each answers FULL or, for
        # another method, PARTIAL: the first FULL, else the first PARTIAL
        chosen: tuple[Route, Scope] | None = None
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                chosen = (route, child_scope)
                break
            if chosen is None:
                chosen = (route, child_scope)
        assert chosen is not None
        route, child_scope = chosen
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's redirect between `/path/` and `/path` when only the
        other is a route (FastAPI's too, so bancho.py clients meet it), with
        a Location of the path alone: Starlette's is an absolute URL made
        from the request's Host header, which the client chooses."""
        path = get_route_path(scope)
        if scope["type"] == "http" and path != "/":
            other = dict(scope, path=scope["path"].rstrip("/") if path.endswith("/") else scope["path"] + "/")
            if any(route.matches(other)[0] is not Match.NONE for route in self.routes):
                # one leading slash: `//host/...` would name another host
                location = "/" + other["path"].lstrip("/")
                if scope.get("query_string"):
                    location += "?" + scope["query_string"].decode("latin-1")
                await RedirectResponse(location)(scope, receive, send)
                return
        await super().not_found(scope, receive, send)
