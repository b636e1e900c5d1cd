"""The Starlette application: the route table, JSON errors, and the database
connection for the application's lifetime."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from . import background, demo, ops, rate_limit, routes, snapshots
from .db import Database, DatabaseUnavailable, primary_reads
from .migrate import migrate, reporter
from .progress import LogLine
from .public_url import PublicURLs
from .responses import ApiError, JSONResponse
from .routing import IndexedRouter
from .settings import Settings, load_settings
from .upstream import LIVE_UNAVAILABLE, Upstream, UpstreamUnavailable

log = logging.getLogger("server")

_HTTP_MESSAGES = {404: "Not found.", 405: "Method not allowed."}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, exc.detail)
    return JSONResponse({"status": message}, status_code=exc.status_code, headers=exc.headers)


async def _upstream_unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse({"status": LIVE_UNAVAILABLE}, status_code=503)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return JSONResponse({"status": "Internal server error."}, status_code=500)


async def prepare_database(db: Database, settings: Settings) -> None:
    """Bring the schema up to date, as `db migrate` does; an embedded
    database that starts out empty gets the demo data, so a first start
    answers at once."""
    # on a connection of its own, with no DB_TIMEOUT: an index build on a
    # large bancho.py table takes minutes (server/migrate.py)
    async with Database(settings.database_url) as migrating:
        applied = await migrate(migrating, reporter(LogLine(log)))
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    if settings.is_embedded and settings.demo_on_empty and await demo.is_empty(db):
        await demo.load(db, settings.data_dir)
        log.info("loaded the demo data set into %s", settings.database_url)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    try:
        db = Database(settings.database_url, timeout=settings.db_timeout, read_url=settings.database_read_url)
    except ValueError as exc:  # a DATABASE_READ_URL of another dialect
        raise SystemExit(str(exc)) from None
    snapshots.configure(db, settings.snapshot_max_age)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect()
        try:
            # migrations and the background jobs (whose tasks start here and
            # keep this context) read from the primary only
            with primary_reads():
                await prepare_database(db, settings)
                async with background.track_snapshots(db, settings), background.live_clean_up(db, settings):
                    yield
        finally:
            await snapshots.snapshots(db).close()
            await db.disconnect()
            if app.state.upstream is not None:
                await app.state.upstream.close()
            if isinstance(app.state.rate_limiter, rate_limit.RedisBuckets):
                await app.state.rate_limiter.close()

    app = Starlette(
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            DatabaseUnavailable: ops.database_unavailable,
            UpstreamUnavailable: _upstream_unavailable,
            Exception: _server_error,
        },
    )
    # the route table, dispatched by path (server/routing.py)
    endpoints = routes.endpoints()
    app.router = IndexedRouter([route for endpoint in endpoints for route in endpoint.routes()], lifespan=lifespan)
    app.state.endpoints = endpoints
    app.state.db = db
    app.state.upstream = None if settings.live_upstream_url is None else Upstream(
        settings.live_upstream_url, settings.live_upstream_host, settings.live_upstream_timeout)
    app.state.settings = settings
    app.state.public_urls = PublicURLs(settings.public_urls, settings.port)
    app.state.metrics = ops.Metrics(db)
    # the query-string bound and the rate limit (off when
    # RATE_LIMIT_PER_MINUTE is 0), inside RequestMetrics so refusals are
    # counted and logged; it sees the collapsed path
    app.state.rate_limiter = rate_limit.build(settings, app.state.metrics)
    app.add_middleware(
        rate_limit.RequestLimits, buckets=app.state.rate_limiter, metrics=app.state.metrics,
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst,
    )
    # inside CollapseSlashes, so it sees the scope the router marks with its route
    app.add_middleware(ops.RequestMetrics, metrics=app.state.metrics)
    if db.reader is not None:
        app.add_middleware(RoutedReads)
    app.add_middleware(CollapseSlashes)
    return app


class RoutedReads:
    """Each request starts with its reads routed to the reader (when
    DATABASE_READ_URL is set), whatever context the server ran it in; its
    own writes then pin its later reads to the primary (server/db.py)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with primary_reads(False):
            await self.app(scope, receive, send)


class CollapseSlashes:
    """Treat `//` in a path as `/`: a popular v1 client asks for
    `/api//get_user`, which the official host's proxy merges."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope, path=re.sub("/{2,}", "/", scope["path"]))
        await self.app(scope, receive, send)
