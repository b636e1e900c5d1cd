"""`python -m server`: serve the API (the default) or manage its database."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable, Sequence

from . import demo, fixtures, keys
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
    _add_keys_parser(commands)
    return parser


Work = Callable[[Database, Settings], Awaitable[str]]


async def _with_database(settings: Settings, work: Work) -> str:
    async with Database(settings.database_url) as db:
        return await work(db, settings)


async def _migrate(db: Database, settings: Settings) -> str:
    applied = await migrate(db)
    return f"applied: {', '.join(applied)}" if applied else "the schema is up to date"


async def _demo(db: Database, settings: Settings) -> str:
    await migrate(db)
    if not await demo.is_empty(db):
        raise fixtures.FixtureError("the database already has players; the demo data goes into an empty one")
    counts = await demo.load(db, settings.data_dir)
    return "loaded the demo data: " + ", ".join(f"{n} {table}" for table, n in counts.items())


def _load(path: Path) -> Work:
    async def work(db: Database, settings: Settings) -> str:
        data = fixtures.load_file(path)
        # report a bad file before touching the schema
        fixtures.validate(data)
        fixtures.validate_files(data)
        await migrate(db)
        counts = await fixtures.load(db, data, settings.data_dir)
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
    if args.command == "keys":
        return _keys_main(args, settings)
    work = {"migrate": _migrate, "demo": _demo}.get(args.db_command) or _load(args.file)
    try:
        print(asyncio.run(_with_database(settings, work)))
    except fixtures.FixtureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


# --- `keys`: API keys for the osu!api v1 compatibility layer (server/keys.py)

KEYS_HELP = (
    "Keys are stored only as SHA-256 digests in the table api_keys: a key is shown "
    "once, when it is created. The schema is created or upgraded first; " + SETTINGS_HELP
)


def _key_name(value: str) -> str:
    try:
        return keys.validate_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_keys_parser(commands) -> None:
    parser = commands.add_parser(
        "keys",
        help="manage API keys for the osu!api v1 layer",
        description="Create, list and revoke the API keys that clients of the osu!api v1 "
        "compatibility layer send as the parameter k.",
        epilog=KEYS_HELP,
    )
    key_commands = parser.add_subparsers(dest="keys_command", metavar="KEYS_COMMAND", required=True)
    create = key_commands.add_parser(
        "create",
        help="create a key and print it",
        description="Create a new API key and print it. The key is printed alone on the last "
        "line of output and cannot be shown again: only its digest is stored.",
        epilog=KEYS_HELP,
    )
    create.add_argument(
        "--name", required=True, type=_key_name,
        help="who or what the key is for, e.g. a bot's name (1 to 64 printable characters)",
    )
    key_commands.add_parser(
        "list",
        help="list the keys",
        description="List every API key: id, name, when it was created (UTC) and whether it "
        "is active or revoked. The keys themselves are not stored and cannot be listed.",
        epilog=KEYS_HELP,
    )
    revoke = key_commands.add_parser(
        "revoke",
        help="revoke a key by its id",
        description="Revoke an API key so it is refused from now on. Exits with status 1 if "
        "there is no active key with that id. Revocation cannot be undone.",
        epilog=KEYS_HELP,
    )
    revoke.add_argument("id", type=int, metavar="ID", help="the key's id, as shown by `keys list`")


def _utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _key_table(rows: list[dict]) -> str:
    if not rows:
        return "no API keys"
    table = [("ID", "NAME", "CREATED", "STATUS")] + [
        (
            str(row["id"]),
            row["name"],
            _utc(row["created_at"]),
            "active" if row["revoked_at"] is None else f"revoked {_utc(row['revoked_at'])}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[3] for line in table
    )


def _keys_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> tuple[int, str]:
        await migrate(db)
        if args.keys_command == "create":
            key_id, key = await keys.create_key(db, args.name)
            return 0, f"created API key {key_id} ({args.name}); it is shown only this once:\n{key}"
        if args.keys_command == "list":
            return 0, _key_table(await keys.list_keys(db))
        if await keys.revoke_key(db, args.id):
            return 0, f"revoked API key {args.id}"
        return 1, f"error: no active API key with id {args.id} (it does not exist or is already revoked)"

    async def connected() -> tuple[int, str]:
        async with Database(settings.database_url) as db:
            return await work(db)

    status, message = asyncio.run(connected())
    print(message, file=sys.stderr if status else sys.stdout)
    return status
