"""`python -m server`: serve the API (the default) or manage its database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

from . import credentials, demo, fixtures, footprint, keys, oauth
from .db import Database, dialect_of
from .migrate import MigrationError, migrate, reporter
from .progress import StatusLine
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
    db_commands.add_parser(
        "removal-sql",
        help="print the SQL that removes what this service added to the database",
        description="Print, for DATABASE_URL's kind of database, the SQL that drops every index "
        "this service's migrations added to bancho.py's tables and every table of its own "
        "(api_migrations last), leaving bancho.py's schema as its install made it. Nothing is "
        "run: read it, then feed it to your database's client. A later `serve` or `db migrate` "
        "adds it all again.",
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
    _add_oauth_parser(commands)
    _add_track_parser(commands)
    _add_users_parser(commands)
    return parser


Work = Callable[[Database, Settings], Awaitable[str]]


async def _with_database(settings: Settings, work: Work) -> str:
    async with Database(settings.database_url) as db:
        return await work(db, settings)


async def _migrated(db: Database) -> list[str]:
    """migrate(), with the progress of long steps on standard error."""
    line = StatusLine(sys.stderr, every=10.0)
    try:
        return await migrate(db, reporter(line))
    finally:
        line.close()


async def _migrate(db: Database, settings: Settings) -> str:
    applied = await _migrated(db)
    return f"applied: {', '.join(applied)}" if applied else "the schema is up to date"


async def _demo(db: Database, settings: Settings) -> str:
    await _migrated(db)
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
        await _migrated(db)
        counts = await fixtures.load(db, data, settings.data_dir)
        return f"loaded {path}: " + ", ".join(f"{n} {table}" for table, n in counts.items())

    return work


def _removal_sql(settings: Settings) -> str:
    dialect = dialect_of(settings.database_url)
    added = footprint.added_indexes()
    head = [
        "-- What osu-api-server added to this database: "
        f"{len(added)} indexes on bancho.py's tables, then its own tables.",
        "-- bancho.py's tables, rows and own indexes are untouched; dropping an index rewrites no rows.",
        "-- The service adds all of it again at its next start (or `db migrate`).",
    ]
    return "\n".join(head + footprint.removal_sql(dialect))


def serve(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    from .app import create_app
    from .ops import log_config

    settings = dataclasses.replace(settings, host=host or settings.host, port=port or settings.port)
    app = create_app(settings)
    started = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def frozen_after_start(app: Any) -> AsyncIterator[None]:
        async with started(app):
            # what start-up made (some 60,000 objects of the imported modules,
            # the schema work) lives as long as the process: kept out of the
            # collector's full passes, each of which had walked all of it
            # and held every request for 25-50 ms every few seconds (p99)
            gc.freeze()
            yield

    app.router.lifespan_context = frozen_after_start
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # the app logs one JSON line per request (logger server.access)
        log_config=log_config(settings.log_level),
        access_log=settings.uvicorn_access_log,
        # SIGTERM: stop accepting, let the requests in flight finish (for at
        # most this long), then close the database and exit
        timeout_graceful_shutdown=settings.shutdown_timeout,
        # behind nginx (nginx/api.conf): take the client address and scheme
        # from X-Forwarded-For / X-Forwarded-Proto, but only from these peers
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command in (None, "serve"):
        serve(settings, getattr(args, "host", None), getattr(args, "port", None))
        return 0
    if args.command == "keys":
        return _keys_main(args, settings)
    if args.command == "oauth":
        return _oauth_main(args, settings)
    if args.command == "track":
        return _track_main(args, settings)
    if args.command == "users":
        return _users_main(args, settings)
    if args.db_command == "removal-sql":
        print(_removal_sql(settings))
        return 0
    work = {"migrate": _migrate, "demo": _demo}.get(args.db_command) or _load(args.file)
    try:
        print(asyncio.run(_with_database(settings, work)))
    except (fixtures.FixtureError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: what was done is kept; run the command again to do the rest", file=sys.stderr)
        return 130
    return 0


# --- `keys`: API keys for the osu!api v1 compatibility layer (server/keys.py)

KEYS_HELP = (
    "Keys are stored only as SHA-256 digests in the table api_keys: a key is shown "
    "once, when it is created. The schema is created or upgraded first; " + SETTINGS_HELP
)


def _key_name(value: str) -> str:
    try:
        return credentials.validate_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class Command:
    """One subcommand of a group (`keys create`): its help, and its
    arguments as add_argument takes them."""

    name: str
    help: str
    description: str
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()


def _add_group(commands, name: str, help: str, description: str, epilog: str, members: Sequence[Command]) -> None:
    """A command group (`keys`, `oauth`, `users`, `track`): its subcommand is
    args.<name>_command."""
    parser = commands.add_parser(name, help=help, description=description, epilog=epilog)
    group = parser.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND", required=True)
    for member in members:
        sub = group.add_parser(member.name, help=member.help, description=member.description, epilog=epilog)
        for flags, options in member.arguments:
            sub.add_argument(*flags, **options)


def _answer(work: Callable[[], Awaitable[tuple[int, str]]]) -> int:
    """Run a command's work; its message goes to standard output, or to
    standard error with a non-zero status."""
    status, message = asyncio.run(work())
    print(message, file=sys.stderr if status else sys.stdout)
    return status


def _named(what: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    return ("--name",), {"required": True, "type": _key_name, "help": what}


def _by_id(what: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    return ("id",), {"type": int, "metavar": "ID", "help": what}


def _add_keys_parser(commands) -> None:
    _add_group(commands, "keys", "manage API keys for the osu!api v1 layer",
               "Create, list and revoke the API keys that clients of the osu!api v1 compatibility layer "
               "send as the parameter k.", KEYS_HELP, [
                   Command("create", "create a key and print it",
                           "Create a new API key and print it. The key is printed alone on the last line of "
                           "output and cannot be shown again: only its digest is stored.",
                           (_named("who or what the key is for, e.g. a bot's name (1 to 64 printable characters)"),)),
                   Command("list", "list the keys",
                           "List every API key: id, name, when it was created (UTC) and whether it is active or "
                           "revoked. The keys themselves are not stored and cannot be listed."),
                   Command("revoke", "revoke a key by its id",
                           "Revoke an API key so it is refused from now on. Exits with status 1 if there is no "
                           "active key with that id. Revocation cannot be undone.",
                           (_by_id("the key's id, as shown by `keys list`"),)),
               ])


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
        "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)) + "  " + line[3] for line in table
    )


def _keys_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> tuple[int, str]:
        await _migrated(db)
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

    return _answer(connected)


# --- `oauth`: OAuth clients of the osu!api v2 layer (server/oauth.py)

OAUTH_HELP = (
    "Secrets are stored only as SHA-256 digests in the table oauth_clients: a secret is "
    "shown once, when its client is created. The schema is created or upgraded first; " + SETTINGS_HELP
)


def _add_oauth_parser(commands) -> None:
    _add_group(commands, "oauth", "manage OAuth clients for the osu!api v2 layer",
               "Create, list and revoke the OAuth clients whose id and secret osu!api v2 clients exchange "
               "for an access token at /oauth/token (client credentials grant).", OAUTH_HELP, [
                   Command("create", "create a client and print its id and secret",
                           "Register a new OAuth client. Its id and secret are printed on the last line of "
                           "output, separated by a space; the secret cannot be shown again.",
                           (_named("who or what the client is for (1 to 64 printable characters)"),)),
                   Command("list", "list the clients",
                           "List every OAuth client: id, name, when it was created (UTC) and whether it is "
                           "active or revoked. Secrets are not stored and cannot be listed."),
                   Command("revoke", "revoke a client by its id",
                           "Revoke an OAuth client: it gets no new tokens and the tokens it holds stop working. "
                           "Exits with status 1 if there is no active client with that id.",
                           (_by_id("the client's id, as shown by `oauth list`"),)),
               ])


def _oauth_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> tuple[int, str]:
        async with Database(settings.database_url) as db:
            await _migrated(db)
            if args.oauth_command == "create":
                client_id, secret = await oauth.create_client(db, args.name)
                return 0, (
                    f"created OAuth client {client_id} ({args.name}); its secret is shown only "
                    f"this once. Client id and secret:\n{client_id} {secret}"
                )
            if args.oauth_command == "list":
                table = _key_table(await oauth.list_clients(db))
                return 0, "no OAuth clients" if table == "no API keys" else table
            if await oauth.revoke_client(db, args.id):
                return 0, f"revoked OAuth client {args.id}"
            return 1, f"error: no active OAuth client with id {args.id} (it does not exist or is already revoked)"

    return _answer(work)


# --- `users`: players' own API keys (users.api_key), which the authorized
# bancho-style endpoints (calculate_pp, get_friends, ...) take as a Bearer token

USERS_HELP = (
    "A player's key is bancho.py's users.api_key, a UUID sent as "
    "`Authorization: Bearer <key>`. The schema is created or upgraded first; " + SETTINGS_HELP
)


def _add_users_parser(commands) -> None:
    _add_group(commands, "users", "manage players' API keys",
               "Manage players' own API keys (users.api_key), which the authorized bancho-style endpoints "
               "such as calculate_pp take as a Bearer token.", USERS_HELP, [
                   Command("api-key", "print a player's API key, creating it if missing",
                           "Print the player's API key (users.api_key) alone on standard output. A player "
                           "without one gets a new random UUID first; an existing key is kept, so running this "
                           "again prints the same key. Exits with status 1 if there is no player with that id.",
                           (_by_id("the player's user id"),)),
               ])


async def ensure_api_key(db: Database, user_id: int) -> tuple[str, bool] | None:
    """The player's users.api_key and whether it was just created (a random
    UUID4, as bancho.py makes them), or None when there is no such player."""
    row = await db.fetch_one("SELECT api_key FROM users WHERE id = :id", {"id": user_id})
    if row is None:
        return None
    if row["api_key"]:
        return row["api_key"], False
    # only where still empty: of two concurrent runs, one key wins
    await db.execute(
        "UPDATE users SET api_key = :key WHERE id = :id AND api_key IS NULL",
        {"key": str(uuid.uuid4()), "id": user_id},
    )
    return await db.fetch_val("SELECT api_key FROM users WHERE id = :id", {"id": user_id}), True


def _users_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> tuple[int, str]:
        async with Database(settings.database_url) as db:
            await _migrated(db)
            found = await ensure_api_key(db, args.id)
        if found is None:
            return 1, f"error: no player with id {args.id}"
        key, created = found
        if created:
            print(f"created an API key for player {args.id}", file=sys.stderr)
        return 0, key

    return _answer(work)


# --- `track`: the osu!track layer's scheduled snapshots (server/track.py)

TRACK_HELP = (
    "Run it from cron or a systemd timer (e.g. hourly), or set TRACK_SNAPSHOT_INTERVAL "
    "for the server to run it itself. A player's snapshot is recorded only when their "
    "stats changed. The schema is created or upgraded first; " + SETTINGS_HELP
)


def _positive(kind: type):
    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
        return number

    return parse


def _add_track_parser(commands) -> None:
    _add_group(commands, "track", "snapshot players for the osu!track layer",
               "Manage the stats history that the osu!track-compatible endpoints under /track/ serve.",
               TRACK_HELP, [
                   Command("snapshot", "snapshot the active players",
                           "Snapshot the stats and new top plays of every unrestricted player active in the last "
                           "--since-days days, in every mode they have played, a batch of players at a time in id "
                           "order. Progress is saved after each batch: an interrupted run (Ctrl-C, a crash, "
                           "--max-batches) continues where it stopped with --resume. Progress is shown on standard "
                           "error (plain lines when it is not a terminal); a summary is printed on standard output. "
                           "Exits with status 1 if another run is in progress.", (
                               (("--batch",), {"type": _positive(int), "metavar": "N",
                                               "help": "players per batch (default 100; a resumed run keeps its own "
                                                       "unless given)"}),
                               (("--since-days",), {"type": _positive(float), "default": 7, "metavar": "D",
                                                    "help": "how recently a player must have been active "
                                                            "(users.latest_activity) to be snapshotted (default 7; "
                                                            "a resumed run keeps its own cutoff)"}),
                               (("--resume",), {"action": "store_true",
                                                "help": "continue the last run if it did not finish (else start "
                                                        "a new one)"}),
                               (("--max-batches",), {"type": _positive(int), "metavar": "N",
                                                     "help": "stop after N batches, leaving the run to finish with "
                                                             "--resume"}),
                           )),
               ])


class _TrackProgress:
    """Progress on standard error: a bar redrawn in place on a terminal, a
    plain line per batch otherwise (logs, cron mail)."""

    def __init__(self, stream) -> None:
        self.line = StatusLine(stream)

    def __call__(self, state) -> None:
        percent = 100 * state.players_done // state.players_total if state.players_total else 100
        text = (
            f"snapshot: {state.players_done}/{state.players_total} players ({percent}%), "
            f"{state.snapshots} snapshots recorded"
        )
        if self.line.tty:
            width = 24
            filled = width * percent // 100
            text = f"[{'#' * filled}{'.' * (width - filled)}] {text}"
        self.line.show(text)

    def close(self) -> None:
        self.line.close()


def _track_main(args: argparse.Namespace, settings: Settings) -> int:
    from . import track

    progress = _TrackProgress(sys.stderr)

    async def work() -> track.JobProgress:
        async with Database(settings.database_url) as db:
            await _migrated(db)
            return await track.run_job(
                db, settings, batch=args.batch, since_days=args.since_days, resume=args.resume,
                max_batches=args.max_batches, progress=progress,
            )

    try:
        state = asyncio.run(work())
    except track.JobBusy:
        progress.close()
        print("error: another snapshot run is in progress; try again once it has finished", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        progress.close()
        print("interrupted; progress so far is saved: continue with --resume", file=sys.stderr)
        return 130
    progress.close()
    resumed = f"resumed at {state.resumed_at} players; " if state.resumed else ""
    if state.finished:
        print(f"{resumed}snapshotted {state.players_done} players: {state.snapshots} snapshots recorded")
    else:
        print(
            f"{resumed}stopped after {state.players_done} of {state.players_total} players "
            f"({state.snapshots} snapshots recorded); continue with --resume"
        )
    return 0
