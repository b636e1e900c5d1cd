"""The front door of a running service: `GET /` names it, its version and
where its documentation is (a small page, or JSON for a client that asks
for it), and `GET /docs` is Swagger UI over /openapi.json, from the files
the swagger-ui-py package ships (no CDN: it works offline and behind any
firewall)."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .. import NAME, version
from ..endpoints import Endpoint
from ..params import Args, ParamError, PathParam, query_values
from ..responses import JSONResponse, not_found
from ..schemas import STR, Schema, content, enum, obj, status_error

TAG = "operations"
# the Swagger UI files the page loads, by the name it asks for them
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# what the assets carry no version in their names for: a day, then asked again
ASSET_CACHE = "public, max-age=86400"


LINKS = {"docs": "/docs", "openapi": "/openapi.json", "health": "/health"}


async def index(request: Request, p: Args) -> Response:
    about: dict[str, Any] = {"name": NAME, "version": version(), "links": LINKS}
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse(about)
    return HTMLResponse(_INDEX.format(name=html.escape(NAME), version=html.escape(about["version"])))


async def docs(request: Request, p: Args) -> Response:
    return HTMLResponse(_DOCS.format(name=html.escape(NAME)))


class Asset(PathParam):
    def __init__(self) -> None:
        super().__init__("asset", "a file of Swagger UI's", required=True)

    def parse(self, raw: str) -> str:
        if raw not in ASSETS:
            raise ParamError("Not found.")
        return raw

    def schema(self) -> Schema:
        return enum(*ASSETS)


async def docs_asset(request: Request, p: Args) -> Response:
    data = (resources.files("swagger_ui") / "static" / p.asset).read_bytes()
    return Response(data, media_type=ASSETS[p.asset], headers={"Cache-Control": ASSET_CACHE})


async def _asset_or_404(endpoint: Endpoint, request: Request) -> Response:
    """Any other file name answers the router's own 404."""
    try:
        args = endpoint.read(query_values(request))
    except ParamError:
        raise not_found("Not found.") from None
    return await endpoint.handler(request, args)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
main { max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
.version { color: #666; margin-top: 0; }
a { color: #1a5fb4; }
"""

_INDEX = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
<style>""" + _STYLE.replace("{", "{{").replace("}", "}}") + """</style>
</head>
<body>
<main>
<h1>{name}</h1>
<p class="version">version {version}</p>
<p>The JSON API of an osu! private server: bancho.py's own API (<code>/v1/...</code>),
the osu!api v1 (<code>/api/...</code>) and v2 (<code>/api/v2/...</code>), and osu!track's
(<code>/track/...</code>).</p>
<ul>
<li><a href="/docs">Interactive documentation</a> of every endpoint</li>
<li><a href="/openapi.json">/openapi.json</a>, the OpenAPI document</li>
<li><a href="/health">/health</a></li>
</ul>
</main>
</body>
</html>
"""

_DOCS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}: API documentation</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
}});
</script>
</body>
</html>
"""

ENDPOINTS: list[Endpoint] = [
    Endpoint("index", index, "The service's name, version and links", TAG, ("/",),
             answers={200: {"description": "A short page, or JSON for Accept: application/json",
                            "content": content({"text/html": STR, "application/json": obj(
                                {"name": STR, "version": STR, "links": obj({"docs": STR, "openapi": STR})})})}}),
    Endpoint("docs", docs, "Interactive documentation (Swagger UI)", TAG, ("/docs",),
             answers={200: {"description": "The page", "content": content({"text/html": STR})}}),
    Endpoint("docs_asset", docs_asset, "A file the documentation page loads", TAG, ("/docs/{asset}",),
             params=(Asset(),),
             answers={200: {"description": "The file", "content": content({m.split(";")[0]: STR for m in ASSETS.values()})},
                      404: status_error("No such file")},
             serve=_asset_or_404),
]
