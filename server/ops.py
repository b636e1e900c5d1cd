"""What an operator watches: /health (the process answers), /ready (the
database answers SELECT 1 within DB_TIMEOUT), /metrics (Prometheus text
format), one JSON log line per request, and the 503 answer when the
database is out of reach.

The metrics are kept here in plain dicts rather than with prometheus_client:
a handful of counters and two histograms in one process (uvicorn runs one
worker), and the text format is small and stable. Each instance serves its
own figures; scrape every instance."""

from __future__ import annotations

import bisect
import logging
import math
import time
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .db import Database, DatabaseUnavailable
from .endpoints import Endpoint
from .params import Args
from .responses import JSONResponse
from .schemas import enum, json_body, obj, text_body

log = logging.getLogger("server")
# one JSON object per line and request; see access_line()
access_log = logging.getLogger("server.access")

UNAVAILABLE = "Database unavailable."
# a request that matched no route (404) is counted under this route label,
# so scanners probing random paths cannot grow the metrics without bound
UNMATCHED = "unmatched"
# latency buckets, in seconds (Prometheus' defaults, plus 30 s for slow
# database answers under DB_TIMEOUT)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PREFIX = "osu_api"


# --- the endpoints -----------------------------------------------------------


async def health(request: Request, p: Args) -> Response:
    """Alive: answers without touching the database."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request, p: Args) -> Response:
    """Ready for traffic: the database answers within DB_TIMEOUT, and so
    does the read replica when DATABASE_READ_URL is set."""
    db: Database = request.app.state.db
    for name, target in (("primary", db), ("reader", db.reader)):
        if target is None:
            continue
        try:
            await target.ping()
        except DatabaseUnavailable as exc:
            log.warning("not ready: the %s database: %s", name, exc)
            return JSONResponse({"status": UNAVAILABLE}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request, p: Args) -> Response:
    text = request.app.state.metrics.render(request.app.state.db)
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


TAG = "operations"
ENDPOINTS: list[Endpoint] = [
    Endpoint("health", health, "The process answers", TAG, ("/health",),
             answers={200: json_body(obj({"status": enum("ok")}))}),
    Endpoint("ready", ready, "The database answers", TAG, ("/ready",),
             answers={200: json_body(obj({"status": enum("ready")}))}),
    Endpoint("metrics", metrics, "Prometheus metrics", TAG, ("/metrics",),
             answers={200: text_body("Prometheus text format 0.0.4", "text/plain")}),
]


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """DatabaseUnavailable anywhere in a request: 503 with a JSON status and
    one warning line, never a traceback."""
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    return JSONResponse({"status": UNAVAILABLE}, status_code=503)


# --- the figures ---------------------------------------------------------------


class Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.count += 1


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{name}="{escape(str(value))}"' for name, value in labels.items()) + "}"


def _number(value: float) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf"
        return repr(value)
    return str(value)


class Metrics:
    """The request figures of one process (the database's are read from the
    Database object when rendered)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.in_flight = 0
        # (method, route, status class) -> count
        self.requests: dict[tuple[str, str, str], int] = {}
        # (method, route, status) -> count, for 5xx answers only
        self.errors: dict[tuple[str, str, str], int] = {}
        # (method, route) -> latency histogram
        self.latency: dict[tuple[str, str], Histogram] = {}
        # server/rate_limit.py: requests refused with 429, and Redis calls
        # that failed (the in-process buckets answered instead)
        self.rate_limited = 0
        self.rate_limit_backend_errors = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, f"{status // 100}xx")
        self.requests[key] = self.requests.get(key, 0) + 1
        if status >= 500:
            error = (method, route, str(status))
            self.errors[error] = self.errors.get(error, 0) + 1
        histogram = self.latency.get((method, route))
        if histogram is None:
            histogram = self.latency[(method, route)] = Histogram()
        histogram.observe(seconds)

    def render(self, db: Database | None = None) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help: str, samples: Iterable[tuple[str, dict[str, Any], float]]) -> None:
            lines.append(f"# HELP {PREFIX}_{name} {help}")
            lines.append(f"# TYPE {PREFIX}_{name} {kind}")
            for suffix, labels, value in samples:
                lines.append(f"{PREFIX}_{name}{suffix}{_labels(**labels) if labels else ''} {_number(value)}")

        family("http_requests_total", "counter", "HTTP requests answered, by route template and status class.", (
            ("", {"method": m, "route": r, "status": s}, n) for (m, r, s), n in sorted(self.requests.items())
        ))
        family("http_errors_total", "counter", "HTTP requests answered with a 5xx status, by route template and status.", (
            ("", {"method": m, "route": r, "status": s}, n) for (m, r, s), n in sorted(self.errors.items())
        ))

        def buckets() -> Iterable[tuple[str, dict[str, Any], float]]:
            for (method, route), histogram in sorted(self.latency.items()):
                running = 0
                for bound, count in zip((*BUCKETS, math.inf), histogram.counts):
                    running += count
                    yield "_bucket", {"method": method, "route": route, "le": _number(float(bound))}, running
                yield "_sum", {"method": method, "route": route}, histogram.total
                yield "_count", {"method": method, "route": route}, histogram.count

        family("http_request_duration_seconds", "histogram", "Time to answer an HTTP request, by route template.", buckets())
        family("http_requests_in_flight", "gauge", "HTTP requests being answered now.", [("", {}, self.in_flight)])
        family("process_start_time_seconds", "gauge", "When the process started, in Unix time.", [("", {}, self.started)])
        family("rate_limited_total", "counter", "Requests refused with 429 by the rate limit.", [("", {}, self.rate_limited)])
        family("rate_limit_backend_errors_total", "counter", (
            "Rate-limit calls to Redis that failed; the in-process buckets answered instead."
        ), [("", {}, self.rate_limit_backend_errors)])
        # the primary's figures only: reads sent to DATABASE_READ_URL's
        # reader are neither counted here nor in the pool gauges
        if db is not None:
            family("db_queries_total", "counter", "Database statements issued.", [("", {}, db.query_count)])
            family("db_query_failures_total", "counter", (
                "Database calls that failed: timeout (no answer within DB_TIMEOUT), "
                "unavailable (the server could not be reached) or error (anything else)."
            ), (("", {"reason": reason}, n) for reason, n in db.failures.items()))
            pool = db.pool_stats()
            if pool is not None:
                family("db_pool_connections", "gauge", "Connections in the database pool (open or opening).", [("", {}, pool["size"])])
                family("db_pool_free_connections", "gauge", "Idle connections in the database pool.", [("", {}, pool["free"])])
                family("db_pool_max_connections", "gauge", "The database pool's largest size.", [("", {}, pool["max"])])
        return "\n".join(lines) + "\n"


# --- the middleware --------------------------------------------------------------


def route_template(scope: dict, root_path: str) -> str:
    """The matched route's path template (`/v1/get_player_info`,
    `/avatars/{user_id:int}`), with the path of any Mount it sits in, never
    the raw URL: label values stay few whatever clients ask for."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return UNMATCHED
    mounted = scope.get("root_path", "")
    prefix = mounted[len(root_path):] if mounted.startswith(root_path) else ""
    return prefix + path


def access_line(scope: dict, path: str, route: str, status: int, seconds: float) -> str:
    """The request's JSON log line. The query string is left out: v1 keys
    travel in it (`k=`)."""
    client = scope.get("client")
    return orjson.dumps({
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "method": scope["method"],
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "client": client[0] if client else None,
    }).decode()


class RequestMetrics:
    """Counts and times every HTTP request, and logs it as one JSON line on
    the `server.access` logger (INFO). Pure ASGI: no per-request task or
    body buffering."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        path = scope["path"]
        status = 500  # unless a response starts: an exception escaped

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight -= 1
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            self.metrics.observe(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(access_line(scope, path, route, status, seconds))


# --- logging for `serve` -------------------------------------------------------------


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up plus the service's own loggers: `server` in
    uvicorn's format on standard error, `server.access` as bare JSON lines
    on standard output, both at LOG_LEVEL."""
    from uvicorn.config import LOGGING_CONFIG

    config = {
        **LOGGING_CONFIG,
        "formatters": {**LOGGING_CONFIG["formatters"], "json_line": {"format": "%(message)s"}},
        "handlers": {
            **LOGGING_CONFIG["handlers"],
            "json_lines": {"class": "logging.StreamHandler", "formatter": "json_line", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            "server": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "server.access": {"handlers": ["json_lines"], "level": level.upper(), "propagate": False},
        },
    }
    return config
