"""What reading a request's parameters costs, endpoint by endpoint: the
query string split and every declared parameter read and checked
(server/endpoints.py), timed in this process over the benchmark's sample
URLs, so the figure is the declarations' own, free of the network, the
database and the machine's other load.

    python -m bench.parsing '/v1/get_player_scores?scope=best&id=3' ...
"""

from __future__ import annotations

import sys
import time
from typing import Any

from starlette.requests import Request
from starlette.routing import Match

from server.endpoints import Endpoint
from server.params import ParamError, query_values
from server.routes import endpoints

ROUNDS = 5


def _endpoint_of(path: str, query: str, table: list[Endpoint]) -> tuple[Endpoint, Request] | None:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                             "headers": [], "root_path": ""}
    for endpoint in table:
        for route in endpoint.routes():
            match, child = route.matches(scope)
            if match is Match.FULL:
                return endpoint, Request({**scope, **child})
    return None


def read_cost_us(url: str, table: list[Endpoint] | None = None, repeat: int = 2000) -> float | None:
    """Microseconds to read one request's parameters (the best of ROUNDS
    rounds); None for a URL no endpoint serves or whose reading refuses."""
    path, _, query = url.partition("?")
    found = _endpoint_of(path, query, table or endpoints())
    if found is None:
        return None
    endpoint, request = found
    try:
        endpoint.read(query_values(request))
    except ParamError:  # (a refusal: not what is measured)
        return None
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(repeat):
            endpoint.read(query_values(request))
        best = min(best, (time.perf_counter() - started) / repeat)
    return round(best * 1e6, 2)


def measure(urls: dict[str, list[str]]) -> dict[str, float | None]:
    """Each named endpoint's cost, read from its first URL."""
    table = endpoints()
    return {name: read_cost_us(paths[0], table) for name, paths in urls.items() if paths}


def main(argv: list[str] | None = None) -> None:
    for url in argv if argv is not None else sys.argv[1:]:
        print(f"{read_cost_us(url)} us  {url}")


if __name__ == "__main__":
    main()
