"""The declaration layer (server/endpoints.py, server/params.py): one
declaration per endpoint gives its routes, the reading and refusing of its
parameters, and its part of /openapi.json. Adding a parameter is one edit:
a new declaration is validated and documented with nothing else written."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.endpoints import Endpoint, openapi_path
from server.openapi import document
from server.params import Choice, Flag, Integer, Mode, Mods, ParamError, Text, Values
from server.queries.scores import ModsFilter
from server.responses import ApiError, JSONResponse
from server.routes import endpoints
from server.schemas import OBJ, json_body


def _values(**query: str) -> Values:
    return Values(query)


# --- the strict kinds, as the bancho-style API refuses


@pytest.mark.parametrize("param, raw, message", [
    (Integer("id", required=True), None, "Missing required parameter 'id'."),
    (Integer("id", required=True), "", "Missing required parameter 'id'."),
    (Integer("id"), "3x", "Invalid 'id': must be an integer."),
    (Integer("id", minimum=3, maximum=9), "10", "Invalid 'id': must be between 3 and 9."),
    (Integer("id"), "9" * 21, "Invalid 'id': must be an integer."),  # decided before int(): never a digit-limit 500
    (Text("q", min_length=2, max_length=4), "a", "Invalid 'q': must be 2 to 4 characters long."),
    (Text("q", pattern=re.compile(r"^\d+$")), "ab", r"Invalid 'q': does not match ^\d+$."),
    (Choice("scope", ("best", "recent"), required=True), "worst", "Invalid 'scope': must be one of best, recent."),
    (Flag("x", False), "maybe", "Invalid 'x': must be true or false."),
    (Mode(), "7", "Invalid gamemode."),
    (Mode(), "12", "Invalid 'mode': must be between 0 and 11."),
    (Mods(), "XX", "Invalid 'mods': expected a number or mod acronyms such as HDDT."),
    (Mods(), str(2**31), "Invalid 'mods': out of range."),
])
def test_a_refused_value_names_the_parameter(param, raw, message):
    with pytest.raises(ParamError) as refused:
        param.parse(raw)
    assert str(refused.value) == message


@pytest.mark.parametrize("param, raw, value", [
    (Integer("limit", default=25, minimum=1, maximum=100), None, 25),
    (Integer("limit", minimum=1, maximum=100), " 100", 100),
    (Flag("x", True), None, True),
    (Flag("x", True), "OFF", False),
    (Mode(), None, 0),
    (Mode(), "8", 8),
    (Mode(default=None), None, None),
    (Mods(), "HDDT", 72),
    (Mods(matching=True), "~HD", ModsFilter(8, "any")),
    (Mods(matching=True), "=24", ModsFilter(24, "all")),
])
def test_an_accepted_value_reads_as_its_kind(param, raw, value):
    assert param.parse(raw) == value


def test_the_first_refusal_in_declaration_order_is_the_answer():
    endpoint = Endpoint("toy", None, "toy", "test", ("/toy",),
                        params=(Integer("a", minimum=0), Integer("b", required=True)))
    with pytest.raises(ParamError, match="'a'"):
        endpoint.read(_values(a="-1"))
    with pytest.raises(ParamError, match="'b'"):
        endpoint.read(_values(a="1"))
    args = endpoint.read(_values(a="1", b="2"))
    assert (args.a, args.b) == (1, 2)


# --- one edit: declared, it is read, refused and documented


async def _echo(request, p):
    return JSONResponse(vars(p))


def test_a_new_parameter_is_read_refused_and_documented_from_its_declaration():
    toy = Endpoint("toy", _echo, "An endpoint of the test's", "test", ("/v1/toy", "/toy"),
                   params=(Integer("level", "how high", default=1, minimum=1, maximum=5),),
                   answers={200: json_body(OBJ)})
    app = Starlette(routes=toy.routes(), exception_handlers={ApiError: lambda request, exc: exc.response()})
    with TestClient(app) as client:
        assert client.get("/toy").json() == {"level": 1}
        assert client.get("/v1/toy?level=4").json() == {"level": 4}
        refused = client.get("/toy?level=6")
        assert (refused.status_code, refused.json()) == (400, {"status": "Invalid 'level': must be between 1 and 5."})
    operations = toy.operations()
    assert set(operations) == {"/v1/toy", "/toy"}
    assert operations["/toy"]["get"]["parameters"] == [{
        "name": "level", "in": "query", "required": False, "description": "how high",
        "schema": {"type": "integer", "minimum": 1, "maximum": 5},
    }]
    assert {op["get"]["operationId"] for op in operations.values()} == {"toy", "toy_2"}


# --- the service's own table


def test_operation_ids_are_unique_and_every_path_parameter_is_declared():
    ids = []
    for endpoint in endpoints():
        for path, item in endpoint.operations().items():
            template_names = set(re.findall(r"\{(\w+)\}", path))
            for op in item.values():
                ids.append(op["operationId"])
                declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                assert declared == template_names, (path, declared)
    assert len(ids) == len(set(ids))


def test_every_declared_parameter_is_in_the_served_document(client):
    served = client.get("/openapi.json").json()
    assert served == document(endpoints())
    for endpoint in endpoints():
        for param in endpoint.params:
            for path in endpoint.paths:
                for method in endpoint.methods:
                    op = served["paths"][openapi_path(path)][method.lower()]
                    names = {p["name"] for p in op.get("parameters", [])}
                    assert {d["name"] for d in param.document()} <= names, (path, param.name)


def test_the_ingest_bodies_document_exactly_the_fields_their_readers_take():
    from server.routes import ingest

    def keys(schema):
        return tuple(schema["properties"])

    assert keys(ingest.SESSION_BODY) == ("login_time", *ingest._STATUS_FIELDS)
    assert tuple(ingest.STATUS_BODY) == ingest._STATUS_FIELDS
    assert set(keys(ingest.MATCH_BODY)) == set(ingest._MATCH_FIELDS)
    assert set(keys(ingest.MATCH_BODY["properties"]["map"])) == set(ingest._MAP_FIELDS)
    assert set(keys(ingest.MATCH_BODY["properties"]["slots"]["items"])) == set(ingest._SLOT_FIELDS)
