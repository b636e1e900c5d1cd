"""JSON Schema and OpenAPI pieces the endpoint declarations are written
with: the types of values, objects that name the keys a client relies on
(open to more, so adding a field never breaks a document), answers, and
the error bodies every API family shares."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

MAX_INT32 = 2**31 - 1
MAX_INT63 = 2**63 - 1


def obj(required: dict[str, Schema] | None = None, optional: dict[str, Schema] | None = None, **extra: Any) -> Schema:
    """An object with these keys (required ones first); open to more keys."""
    required = required or {}
    schema: Schema = {"type": "object", "properties": {**required, **(optional or {})}}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def arr(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def any_of(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
OBJ: Schema = {"type": "object"}
NULL: Schema = {"type": "null"}
NSTR = nullable(STR)
NINT = nullable(INT)
NNUM = nullable(NUM)
BINARY: Schema = {"type": "string", "format": "binary"}


def _bounded(kind: str, minimum: float | None, maximum: float | None, extra: dict[str, Any]) -> Schema:
    schema: Schema = {"type": kind, **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def integer(minimum: int | None = None, maximum: int | None = None, **extra: Any) -> Schema:
    return _bounded("integer", minimum, maximum, extra)


def number(minimum: float | None = None, maximum: float | None = None, **extra: Any) -> Schema:
    return _bounded("number", minimum, maximum, extra)


def string(min_length: int | None = None, max_length: int | None = None, pattern: str | None = None,
           **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    if pattern is not None:
        schema["pattern"] = pattern
    return schema


def enum(*values: Any, **extra: Any) -> Schema:
    kinds = {type(v) for v in values}
    schema: Schema = {"enum": list(values), **extra}
    if kinds == {str}:
        schema["type"] = "string"
    elif kinds == {int}:
        schema["type"] = "integer"
    return schema


# --- answers and bodies


def content(media_types: dict[str, Schema]) -> Schema:
    return {media: {"schema": schema} for media, schema in media_types.items()}


def json_body(schema: Schema, description: str = "JSON") -> Schema:
    return {"description": description, "content": content({"application/json": schema})}


def text_body(description: str, media_type: str = "text/plain", schema: Schema = STR) -> Schema:
    return {"description": description, "content": content({media_type: schema})}


def binary_body(description: str, *media_types: str) -> Schema:
    return {"description": description, "content": {m: {"schema": BINARY} for m in media_types}}


def no_body(description: str) -> Schema:
    return {"description": description}


def request_body(media_types: dict[str, Schema], *, required: bool) -> Schema:
    """A requestBody: the same fields under each media type that carries them."""
    return {"required": required, "content": content(media_types)}


# --- error bodies

STATUS = obj({"status": STR}, description='bancho.py-style error: {"status": "<what is wrong>"}')
V1_ERROR = obj({"error": STR}, description='osu!api v1 error: {"error": "<message>"}')
V2_UNAUTHENTICATED = obj({"authentication": enum("basic")})
V2_ERROR = obj({"error": NSTR})
OAUTH_ERROR = obj({"error": STR, "error_description": STR, "message": STR}, {"hint": STR})


def status_error(description: str) -> Schema:
    return json_body(STATUS, description)


# the bancho-style API's own (its authorized endpoints' too)
BAD_REQUEST = status_error("A parameter is missing, malformed or out of range (the message names it)")
UNAUTHORIZED = status_error('Missing or unknown API key: {"status": "Invalid API key."}')
PLAYER_KEY = ({"playerKey": []},)


# what any route may answer besides its own: the router's 404 for a path
# parameter of the wrong form, 405, the 414 of a too long query string, a
# database out of reach (503) and the rate limiter's 429
COMMON: dict[str, Schema] = {
    "404": status_error("Not found"),
    "405": status_error("Method not allowed"),
    "414": status_error("Query string too long"),
    "429": status_error("Too many requests (see Retry-After)"),
    "503": status_error("Database unavailable (or, for live state, the upstream bancho.py)"),
}


def success(**payload: Schema) -> Schema:
    """bancho.py's envelope: {"status": "success", ...payload}."""
    return obj({"status": enum("success"), **payload})
