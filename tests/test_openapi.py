"""/openapi.json: a valid OpenAPI document that covers every route of the
app, and schemathesis run against a live server with it: no 500s, and every
answer (status code, content type, body) is one the document describes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from server.app import create_app
from server.openapi import document as _document
from server.routes import endpoints


def document() -> dict:
    return _document(endpoints())
from server.pytest_plugin import ServerFactory
from server.settings import Settings

INGEST_TOKEN = "openapi-test-ingest-token"
METHODS = ("get", "post", "put", "patch", "delete")


def _template(path: str) -> str:
    """Starlette's `{name:int}` as OpenAPI's `{name}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _app_operations() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///:memory:", host="127.0.0.1", port=0, data_dir=Path("/nonexistent"), demo_on_empty=False))
    found = set()
    for route in app.routes:
        assert isinstance(route, Route), f"{route!r} is not a plain route: teach this test about it"
        for method in route.methods or ():
            if method != "HEAD":
                found.add((_template(route.path), method.lower()))
    return found


def test_document_is_valid_openapi():
    validate(document())


def test_document_covers_every_route():
    doc = document()
    documented = {(path, method) for path, item in doc["paths"].items() for method in item if method in METHODS}
    app_ops = _app_operations()
    assert sorted(app_ops - documented) == [], "routes missing from /openapi.json"
    assert sorted(documented - app_ops) == [], "/openapi.json documents routes the app does not have"


def test_every_operation_documents_its_errors():
    for path, item in document()["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert {"404", "405", "429", "503"} <= codes, (method, path)
            for name in re.findall(r"\{(\w+)\}", path):
                assert any(p["in"] == "path" and p["name"] == name for p in op.get("parameters", [])), (method, path, name)


def test_served_document_is_the_document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == orjson.loads(orjson.dumps(document()))


# --- schemathesis against a live server ------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


class Live:
    def __init__(self, url: str, v1_key: str, player_key: str, oauth_client: tuple[str, str]) -> None:
        self.url = url
        self.v1_key = v1_key
        self.player_key = player_key
        self.oauth_client = oauth_client
        self.token = self.new_token()

    def new_token(self) -> str:
        client_id, secret = self.oauth_client
        body = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=public".encode()
        with urllib.request.urlopen(urllib.request.Request(f"{self.url}/oauth/token", data=body), timeout=10) as answer:
            return orjson.loads(answer.read())["access_token"]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Live:
    workdir = tmp_path_factory.mktemp("openapi_live")
    factory = ServerFactory(workdir)
    env = {"INGEST_TOKEN": INGEST_TOKEN, "RATE_LIMIT_PER_MINUTE": "0", "LOG_LEVEL": "warning"}
    try:
        url = factory(env=env)
        cli_env = {**os.environ, **env, "DATA_DIR": str(workdir / "server0"),
                   "DATABASE_URL": f"sqlite:///{workdir / 'server0' / 'api.db'}"}
        player_key = _cli(cli_env, "users", "api-key", "3")
        client_id, secret = _cli(cli_env, "oauth", "create", "--name", "schemathesis").split()
        yield Live(str(url), url.api_key, player_key, (client_id, secret))
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def api_schema(live: Live):
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


def _one_spelling() -> str:
    """The second spelling of an endpoint runs the same handler as the
    first, so one of each is enough here (the route test above covers
    both): the bare /<name> of the bancho-style API, /api/v1/ of v1 and v2's
    trailing slashes are left out."""
    bancho = "|".join(re.escape(p[len("/v1"):]) for p in document()["paths"] if p.startswith("/v1/"))
    return f"^({bancho})$|^/api/v1/|^/api/v2/.*/$|^/oauth/token/$"


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=_one_spelling())

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _authorize(case, live: Live) -> dict[str, str]:
    path = case.operation.path
    if path.startswith("/api/v2/oauth/tokens/current"):
        return {"Authorization": f"Bearer {live.new_token()}"}  # it revokes the token it is given
    if path.startswith("/api/v2/"):
        return {"Authorization": f"Bearer {live.token}"}
    if path.startswith("/ingest/"):
        return {"Authorization": f"Bearer {INGEST_TOKEN}"}
    if path.startswith("/api/"):
        case.query = {**(case.query or {}), "k": live.v1_key}
        return {}
    security = case.operation.definition.raw.get("security") or []
    if any("playerKey" in s for s in security):
        return {"Authorization": f"Bearer {live.player_key}"}
    return {}


@schema.parametrize()
@settings(max_examples=3, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_schemathesis(case, live):
    headers = _authorize(case, live)
    case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
