"""What an operator watches: /health (the process answers), /ready (the
database answers SELECT 1 within DB_TIMEOUT), /metrics (Prometheus text
format, from prometheus_client), one JSON log line per request, and the 503
answer when the database is out of reach."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
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
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


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

# counters' `_created` series: a second time series each, which no
# dashboard of ours reads
disable_created_metrics()


class _DatabaseFigures(Collector):
    """The primary database's figures, read from the Database object when
    scraped: reads sent to DATABASE_READ_URL's reader are neither counted
    here nor in the pool gauges."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Any]:
        db = self.db
        yield CounterMetricFamily(f"{PREFIX}_db_queries", "Database statements issued.", value=db.query_count)
        failures = CounterMetricFamily(
            f"{PREFIX}_db_query_failures",
            "Database calls that failed: timeout (no answer within DB_TIMEOUT), conflict (a deadlock or lock "
            "wait timeout, the write is run again), "
            "unavailable (the server could not be reached) or error (anything else).",
            labels=["reason"],
        )
        for reason, count in db.failures.items():
            failures.add_metric([reason], count)
        yield failures
        pool = db.pool_stats()
        if pool is not None:
            yield GaugeMetricFamily(f"{PREFIX}_db_pool_connections",
                                    "Connections in the database pool (open or opening).", value=pool["size"])
            yield GaugeMetricFamily(f"{PREFIX}_db_pool_free_connections", "Idle connections in the database pool.",
                                    value=pool["free"])
            yield GaugeMetricFamily(f"{PREFIX}_db_pool_max_connections", "The database pool's largest size.",
                                    value=pool["max"])


class Metrics:
    """The service's figures, in a prometheus_client registry of their own
    (one per app), with the process's (resident memory, CPU, open files,
    start time) and the interpreter's garbage collection. With
    PROMETHEUS_MULTIPROC_DIR set before the processes start, each worker
    writes its request figures there and /metrics answers the sum of all
    workers (prometheus_client's multiprocess mode); the process and
    database figures are then the answering worker's."""

    def __init__(self, db: Database | None = None) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(f"{PREFIX}_http_requests", "HTTP requests answered, by route template and status class.",
                                ("method", "route", "status"), registry=registry)
        self.errors = Counter(f"{PREFIX}_http_errors",
                              "HTTP requests answered with a 5xx status, by route template and status.",
                              ("method", "route", "status"), registry=registry)
        self.latency = Histogram(f"{PREFIX}_http_request_duration_seconds",
                                 "Time to answer an HTTP request, by route template.", ("method", "route"),
                                 buckets=BUCKETS, registry=registry)
        self.in_flight = Gauge(f"{PREFIX}_http_requests_in_flight", "HTTP requests being answered now.",
                               registry=registry, multiprocess_mode="livesum")
        # server/rate_limit.py: requests refused with 429, and Redis calls
        # that failed (the in-process buckets answered instead)
        self.rate_limited = Counter(f"{PREFIX}_rate_limited", "Requests refused with 429 by the rate limit.",
                                    registry=registry)
        self.rate_limit_backend_errors = Counter(
            f"{PREFIX}_rate_limit_backend_errors",
            "Rate-limit calls to Redis that failed; the in-process buckets answered instead.", registry=registry)
        self._process = [ProcessCollector(namespace=PREFIX, registry=registry), GCCollector(registry=registry)]
        self._database = None if db is None else _DatabaseFigures(db)
        if self._database is not None:
            registry.register(self._database)
        # each (method, route, status)'s labelled series, found once: a
        # request pays an increment and an observation, not label look-ups
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = (
                self.requests.labels(method, route, f"{status // 100}xx"),
                self.latency.labels(method, route),
                self.errors.labels(method, route, str(status)) if status >= 500 else None,
            )
        requests, latency, errors = series
        requests.inc()
        latency.observe(seconds)
        if errors is not None:
            errors.inc()

    def render(self) -> bytes:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker)
        for collector in self._process + ([self._database] if self._database is not None else []):
            every_worker.register(collector)
        return generate_latest(every_worker)


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

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
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
