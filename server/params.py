"""Parameters, declared once per endpoint (server/endpoints.py): each kind
reads its text from the request, turns it into a value or refuses it with a
message that names it (ParamError), and documents itself for
/openapi.json. The kinds here are the strict ones of the bancho-style API;
an API family with rules of its own (v1's and v2's leniency, osu!track's
texts) declares its kinds beside its routes."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl

from starlette.requests import Request

from .constants import MAX_INT32, PLAYABLE_MODES, parse_mod_acronyms
from .queries.scores import ModsFilter
from .responses import ApiError
from .schemas import BOOL, MAX_INT63, Schema, enum, integer, string

_INT = re.compile(r"^[+-]?\d{1,20}$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ParamError(Exception):
    """A parameter the endpoint refuses; the message says which and why.
    Each API family answers it in its own way (400, 422, text/plain)."""


def query_values(request: Request) -> "Values":
    """The query string's parameters, a repeated name's last value, as
    Starlette's QueryParams.get reads them (latin-1 text, then percent
    escapes as UTF-8), without its multi-dict: when nothing is escaped a
    plain split, a tenth of the cost on every request."""
    text = request.scope["query_string"].decode("latin-1")
    if "%" in text or "+" in text:
        values = Values(parse_qsl(text, keep_blank_values=True))
    else:
        values = Values(pair.partition("=")[::2] for pair in text.split("&") if pair)
    values.request = request
    return values


class Values(dict):
    """What a request's declarations read: the query string's parameters (a
    name's last value, as a dict; a POSTed form's fields where the family
    takes them are merged in), all of a name's values (getlist), and the
    path's parameters (path). A dict, so that reading one is a dict's get."""

    __slots__ = ("request",)
    request: Request

    def getlist(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    @property
    def path(self) -> dict[str, Any]:
        return self.request.path_params


Args = SimpleNamespace
NO_ARGS = Args()  # (what an endpoint without parameters is handed)


class Param:
    """One parameter of an endpoint. `attr` is the name the handler reads
    it by (the parameter's name with `[`, `]` and the like made `_`)."""

    where = "query"

    def __init__(self, name: str, description: str = "", *, required: bool = False, attr: str | None = None) -> None:
        self.name = name
        self.description = description
        self.required = required
        self.attr = attr or re.sub(r"\W+", "_", name).strip("_")

    def read(self, values: Values) -> Any:
        return self.parse(values.get(self.name))

    def parse(self, raw: str | None) -> Any:
        raise NotImplementedError

    def schema(self) -> Schema:
        raise NotImplementedError

    def document(self) -> list[Schema]:
        """OpenAPI parameter objects (a kind that reads several names
        documents each)."""
        found: Schema = {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                         "schema": self.schema()}
        if self.description:
            found["description"] = self.description
        return [found]

    def _missing(self) -> ParamError:
        return ParamError(f"Missing required parameter '{self.name}'.")


def reader(params: Sequence[Param]) -> Callable[[Values], Args]:
    """What reads every parameter of an endpoint, in declaration order (the
    first refusal is the answer), its lookups made once: each request pays
    only the reading."""
    # a kind that reads one value by its name is parsed straight from the
    # dict (one call a parameter, not two); others read what they need
    steps = tuple((param.attr, param.name, param.parse) if type(param).read is Param.read
                  else (param.attr, None, param.read) for param in params)
    if not steps:
        return lambda values: NO_ARGS

    def read(values: Values) -> Args:
        get = values.get
        found = {}
        for attr, name, call in steps:
            found[attr] = call(values) if name is None else call(get(name))
        return Args(**found)

    return read


# --- the strict kinds


class Integer(Param):
    def __init__(self, name: str, description: str = "", *, default: int | None = None,
                 minimum: int = -MAX_INT32 - 1, maximum: int = MAX_INT32, required: bool = False,
                 attr: str | None = None) -> None:
        super().__init__(name, description, required=required, attr=attr)
        self.default, self.minimum, self.maximum = default, minimum, maximum

    def parse(self, raw: str | None) -> int | None:
        if raw is None or raw == "":
            if self.required:
                raise self._missing()
            return self.default
        if not _INT.match(raw.strip()):
            raise ParamError(f"Invalid '{self.name}': must be an integer.")
        number = int(raw)
        if not self.minimum <= number <= self.maximum:
            raise ParamError(f"Invalid '{self.name}': must be between {self.minimum} and {self.maximum}.")
        return number

    def schema(self) -> Schema:
        return integer(self.minimum, self.maximum)


class Text(Param):
    def __init__(self, name: str, description: str = "", *, default: str | None = None, min_length: int = 0,
                 max_length: int = 256, pattern: re.Pattern[str] | None = None, required: bool = False,
                 attr: str | None = None) -> None:
        super().__init__(name, description, required=required, attr=attr)
        self.default, self.min_length, self.max_length, self.pattern = default, min_length, max_length, pattern

    def parse(self, raw: str | None) -> str | None:
        if raw is None:
            if self.required:
                raise self._missing()
            return self.default
        if not self.min_length <= len(raw) <= self.max_length:
            raise ParamError(f"Invalid '{self.name}': must be {self.min_length} to {self.max_length} characters long.")
        if self.pattern is not None and not self.pattern.match(raw):
            raise ParamError(f"Invalid '{self.name}': does not match {self.pattern.pattern}.")
        return raw

    def schema(self) -> Schema:
        return string(self.min_length or None, self.max_length, self.pattern.pattern if self.pattern else None)


class Choice(Param):
    def __init__(self, name: str, choices: Sequence[str], description: str = "", *, default: str | None = None,
                 required: bool = False, attr: str | None = None) -> None:
        super().__init__(name, description, required=required, attr=attr)
        self.choices, self.default = tuple(choices), default

    def parse(self, raw: str | None) -> str | None:
        if raw is None:
            if self.required:
                raise self._missing()
            return self.default
        if raw not in self.choices:
            raise ParamError(f"Invalid '{self.name}': must be one of {', '.join(self.choices)}.")
        return raw

    def schema(self) -> Schema:
        return enum(*self.choices)


class Flag(Param):
    """true/false, 1/0, yes/no, on/off, in any case."""

    def __init__(self, name: str, default: bool, description: str = "", *, attr: str | None = None) -> None:
        super().__init__(name, description or f"default {str(default).lower()}", attr=attr)
        self.default = default

    def parse(self, raw: str | None) -> bool:
        if raw is None:
            return self.default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ParamError(f"Invalid '{self.name}': must be true or false.")

    def schema(self) -> Schema:
        return BOOL


class PathParam(Param):
    """A parameter of the path: always given, read from the route's match."""

    where = "path"

    def read(self, values: Values) -> Any:
        return self.parse(values.path[self.name])


class PathNotFound(ParamError):
    """A path parameter that names nothing: answered as the route's 404, in
    its API family's shape, never as a bad parameter."""


class PathInteger(PathParam):
    """An id in the path: ASCII digits, at most `maximum` (SQL's BIGINT).
    Anything else names nothing, decided on the text before any int(), so
    thousands of digits cost nothing (Python refuses to convert past 4,300)."""

    def __init__(self, name: str, description: str = "", *, maximum: int = MAX_INT63, attr: str | None = None) -> None:
        super().__init__(name, description, required=True, attr=attr)
        self.maximum = maximum

    def parse(self, raw: str) -> int:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(self.maximum)) or int(raw) > self.maximum:
            raise PathNotFound(f"No such {self.name}.")
        return int(raw)

    def schema(self) -> Schema:
        return integer(0, self.maximum)


class PathValue(PathParam):
    """A path parameter's text, as the route matched it."""

    def __init__(self, name: str, schema: Schema, description: str = "", *, attr: str | None = None) -> None:
        super().__init__(name, description, required=True, attr=attr)
        self._schema = schema

    def parse(self, raw: Any) -> Any:
        return raw

    def schema(self) -> Schema:
        return self._schema


async def read_body(request: Request, limit: int, too_large: str) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit`
    bytes (by its Content-Length, else while it streams in): never more
    than `limit` bytes are held."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdecimal() and int(declared) > limit:
        raise ApiError(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, too_large)
    return bytes(body)


# --- the lenient kinds (osu!api v1 and v2 never refuse a number)


def lenient_integer(raw: str | None, default: int, low: int, high: int, *, clamp: bool = True) -> int:
    """Clamped to [low, high] (or, without clamp, the default when out of
    range); anything unparsable, or nothing, is the default."""
    if not raw or not re.fullmatch(r"-?\d{1,12}", raw.strip()):
        return default
    number = int(raw)
    if low <= number <= high:
        return number
    return max(low, min(high, number)) if clamp else default


class Lenient(Param):
    """A number as the official APIs read one: see lenient_integer; with
    `absent`, one not given (or empty) is None."""

    def __init__(self, name: str, description: str, default: int, low: int, high: int, *, clamp: bool = True,
                 absent: bool = False, attr: str | None = None) -> None:
        super().__init__(name, description, attr=attr)
        self.default, self.low, self.high, self.clamp, self.absent = default, low, high, clamp, absent

    def parse(self, raw: str | None) -> int | None:
        if self.absent and not raw:
            return None
        return lenient_integer(raw, self.default, self.low, self.high, clamp=self.clamp)

    def schema(self) -> Schema:
        return integer(self.low, self.high)


# --- kinds of the bancho-style API's own


_MODES = {str(int(mode)): int(mode) for mode in PLAYABLE_MODES}


class Mode(Integer):
    """bancho.py's mode, 0-3 vanilla, 4-6 relax, 8 autopilot: 7 and 9-11
    are refused as bancho.py refuses them ("Invalid gamemode.")."""

    def __init__(self, description: str = "bancho.py's mode: 0-3 vanilla, 4-6 relax, 8 autopilot; default 0", *,
                 default: int | None = 0) -> None:
        super().__init__("mode", description, default=default, minimum=0, maximum=11)

    def parse(self, raw: str | None) -> int | None:
        known = _MODES.get(raw)  # (most requests: the quick way)
        if known is not None:
            return known
        mode = super().parse(raw)
        if mode is not None and mode not in _MODES.values():
            raise ParamError("Invalid gamemode.")
        return mode

    def schema(self) -> Schema:
        return enum(*(int(mode) for mode in PLAYABLE_MODES))


class Mods(Text):
    """A number, as bancho.py takes it, or acronyms such as HDDT; with
    `matching`, a leading '=' asks for scores with all of them (the
    default) and '~' for any of them, and the value is a ModsFilter."""

    def __init__(self, description: str = "a number or acronyms (HDDT)", *, matching: bool = False) -> None:
        if matching:
            description = "a number or acronyms (HDDT); a leading '=' means all of them, '~' any"
        super().__init__("mods", description, max_length=64)
        self.matching = matching

    def parse(self, raw: str | None) -> Any:
        text = super().parse(raw)
        if text is None or text == "":
            return None
        if not self.matching:
            return mods_number(text)
        match = "any" if text.startswith("~") else "all"
        body = text[1:] if text[0] in "=~" else text
        if body.isdecimal() and int(body) > MAX_INT32:
            # as bancho.py reads it: a score's mods (a 32-bit column) never
            # hold a bit past 30, so "all of them" finds nothing and "any of
            # them" goes by the bits a score can hold
            return ModsFilter(1 << 31 if match == "all" else int(body) & MAX_INT32, match)
        return ModsFilter(mods_number(body), match)


def mods_number(text: str) -> int:
    if text.isdecimal():
        mods = int(text)
        if mods > MAX_INT32:
            raise ParamError("Invalid 'mods': out of range.")
        return mods
    parsed = parse_mod_acronyms(text)
    if parsed is None:
        raise ParamError("Invalid 'mods': expected a number or mod acronyms such as HDDT.")
    return int(parsed)
