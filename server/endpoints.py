"""One declaration per endpoint: where it is served (paths and methods), the
parameters it reads, the answers it gives, and how its API family serves
it. The app's routes, the reading of every request's parameters (with the
messages that refuse them) and /openapi.json all come from these
declarations, so a parameter is written once. Each API family declares its
endpoints beside their handlers (server/routes/, ENDPOINTS), through a
small factory of its own that fills in its tag, paths and error answers."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .params import NO_ARGS, Args, Param, ParamError, PathNotFound, Values, query_values, reader
from .responses import bad_request, not_found
from .schemas import COMMON, Schema

Handler = Callable[[Request, Args], Awaitable[Any]]
Serve = Callable[["Endpoint", Request], Awaitable[Response]]


async def plain(endpoint: "Endpoint", request: Request) -> Response:
    """The bancho-style way: the parameters, each refused as a 400
    {"status": message}; then the handler, which answers a Response."""
    if not endpoint.params:
        return await endpoint.handler(request, NO_ARGS)
    try:
        args = endpoint.read(query_values(request))
    except PathNotFound:
        raise not_found("Not found.") from None  # (the router's own answer for a path that is not there)
    except ParamError as exc:
        raise bad_request(str(exc)) from None
    return await endpoint.handler(request, args)


@dataclass(frozen=True, eq=False)
class Endpoint:
    name: str  # the operation's id (with a suffix on the second path on)
    handler: Handler
    summary: str
    tag: str
    paths: tuple[str, ...]
    methods: tuple[str, ...] = ("GET",)
    params: tuple[Param, ...] = ()
    # the operation's answers by status code (COMMON's are added)
    answers: dict[int | str, Schema] = field(default_factory=dict)
    security: tuple[dict[str, list[str]], ...] | None = None
    # the request body's documentation, or for each method what it is
    body: Schema | Callable[[str], Schema | None] | None = None
    description: str | None = None
    serve: Serve = plain
    # reads every parameter of a request (params.reader): made once
    read: Callable[[Values], Args] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "read", reader(self.params))

    def routes(self) -> list[Route]:
        serve, endpoint = self.serve, self

        async def respond(request: Request) -> Response:
            return await serve(endpoint, request)

        respond.__name__ = respond.__qualname__ = self.name
        return [Route(path, respond, methods=list(self.methods), name=f"{self.name}:{path}") for path in self.paths]

    def operations(self) -> dict[str, dict[str, Schema]]:
        """OpenAPI path items: {path: {method: operation}}, one operation a
        path and method, ids made unique by path and method."""
        documented = [d for param in self.params for d in param.document()]
        answers = {**copy.deepcopy(COMMON), **{str(code): answer for code, answer in self.answers.items()}}
        items: dict[str, dict[str, Schema]] = {}
        for index, path in enumerate(self.paths):
            for method in self.methods:
                op_id = self.name + (f"_{index + 1}" if index else "")
                if len(self.methods) > 1:
                    op_id += f"_{method.lower()}"
                op: Schema = {"operationId": op_id, "summary": self.summary, "tags": [self.tag],
                              "responses": copy.deepcopy(answers)}
                if self.description:
                    op["description"] = self.description
                if documented:
                    op["parameters"] = copy.deepcopy(documented)
                if self.security is not None:
                    op["security"] = [dict(s) for s in self.security]
                body = self.body(method) if callable(self.body) else self.body
                if body is not None:
                    op["requestBody"] = copy.deepcopy(body)
                items.setdefault(openapi_path(path), {})[method.lower()] = op
        return items


def openapi_path(path: str) -> str:
    """Starlette's `{name:convertor}` as OpenAPI's `{name}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
