"""`python -m server`: serve the API (the default) or manage its database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Awaitable, Callable, Sequence

from . import demo, fixtures
from .db import Database
from .migrate import migrate
from .settings import Settings, load_settings

SETTINGS_HELP = (
    "settings come from the environment: DATABASE_URL (default: an SQLite file "
    "under DATA_DIR), HOST, PORT, DATA_DIR (default ./data); see the README"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="bancho.py-style JSON API for osu! private servers.",
        epilog=SETTINGS_HELP,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the API (the default command)",
        description="Serve the API over HTTP. The schema is created or upgraded first; an "
        "embedded database that starts out empty is filled with the demo data.",
        epilog=SETTINGS_HELP,
    )
    serve.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT or 8000)")

    db = commands.add_parser(
        "db", help="manage the database", description="Manage the database named by DATABASE_URL.",
        epilog=SETTINGS_HELP,
    )
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser(
        "migrate",
        help="create or upgrade the schema (safe to repeat)",
        description="Create bancho.py's tables where they are missing and apply this "
        "service's own numbered migrations (sql/migrations/) that have not run yet. "
        "bancho.py's existing tables are never altered.",
    )
    db_commands.add_parser(
        "demo",
        help="load the demo data set",
        description="Load the small deterministic demo data set (players, clans, maps, "
        "scores, stats, a map pool) into the database, after migrating it.",
    )
    load = db_commands.add_parser(
        "load",
        help="load a JSON fixture file",
        description="Load a JSON fixture file (format in the README) in one transaction: "
        "the file is checked first, the first bad record is reported with its position, "
        "and a bad file changes nothing.",
    )
    load.add_argument("file", type=Path, metavar="FILE", help="the JSON fixture file")
    return parser


async def _with_database(settings: Settings, work: Callable[[Database], Awaitable[str]]) -> str:
    async with Database(settings.database_url) as db:
        return await work(db)


async def _migrate(db: Database) -> str:
    applied = await migrate(db)
    return f"applied: {', '.join(applied)}" if applied else "the schema is up to date"


async def _demo(db: Database) -> str:
    await migrate(db)
    if not await demo.is_empty(db):
        raise fixtures.FixtureError("the database already has players; the demo data goes into an empty one")
    counts = await demo.load(db)
    return "loaded the demo data: " + ", ".join(f"{n} {table}" for table, n in counts.items())


def _load(path: Path) -> Callable[[Database], Awaitable[str]]:
    async def work(db: Database) -> str:
        data = fixtures.load_file(path)
        fixtures.validate(data)  # report a bad file before touching the schema
        await migrate(db)
        counts = await fixtures.load(db, data)
        return f"loaded {path}: " + ", ".join(f"{n} {table}" for table, n in counts.items())

    return work


def serve(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    from .app import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command in (None, "serve"):
        serve(settings, getattr(args, "host", None), getattr(args, "port", None))
        return 0
    work = {"migrate": _migrate, "demo": _demo}.get(args.db_command) or _load(args.file)
    try:
        print(asyncio.run(_with_database(settings, work)))
    except fixtures.FixtureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
