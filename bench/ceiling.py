"""The machine's ceiling: a trivial Starlette endpoint returning a small JSON
body, served by uvicorn with the settings `python -m server serve` uses
(one process; uvloop and httptools when installed, as uvicorn picks them;
no access log; proxy headers on).

    python -m bench.ceiling --port 8100
"""

from __future__ import annotations

import argparse

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = orjson.dumps({"status": "success", "counts": {"total": 20000, "online": 0}})


async def hello(request: Request) -> Response:
    return Response(_BODY, media_type="application/json")


app = Starlette(routes=[Route("/ceiling", hello)])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1")


if __name__ == "__main__":
    main()
