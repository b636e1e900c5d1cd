"""`python -m server ...` as a user runs it: a real process, settings from
the environment, exit statuses and messages on the right stream."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from server import demo, schema

# the processes run this working tree's code, whatever copy is installed
REPO = Path(__file__).resolve().parent.parent


def environment(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY", "HOST", "PORT")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = database_url or f"sqlite:///{tmp_path / 'cli.db'}"
    return env


def start(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server", *args], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    process = start(env, cwd, *args)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def one_line(text: str) -> str:
    """argparse wraps descriptions; compare them with whitespace folded."""
    return " ".join(text.split())


def users_in(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, name, safe_name, country FROM users ORDER BY id").fetchall()


# --- help

HELP = {
    (): "bancho.py-style JSON API for osu! private servers.",
    ("serve",): "Serve the API over HTTP. The schema is created or upgraded first;",
    ("db",): "Manage the database named by DATABASE_URL.",
    ("db", "migrate"): "Create bancho.py's tables where they are missing and apply this service's own numbered migrations",
    ("db", "demo"): "Load the small deterministic demo data set",
    ("db", "load"): "Load a JSON fixture file (format in the README) in one transaction:",
}


@pytest.fixture(scope="module")
def help_outputs(tmp_path_factory) -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """Every --help at once, in parallel processes (each one is an
    interpreter start-up)."""
    tmp = tmp_path_factory.mktemp("help")
    env = environment(tmp)
    running = {command: start(env, tmp, *command, "--help") for command in HELP}
    outputs = {}
    for command, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        outputs[command] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return outputs


@pytest.mark.parametrize("command", list(HELP), ids=lambda c: " ".join(c) or "top-level")
def test_help(help_outputs, command):
    result = help_outputs[command]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"usage: python -m server {' '.join(command)}".rstrip() + " ")
    assert HELP[command] in one_line(result.stdout)


def test_help_lists_the_commands(help_outputs):
    top = help_outputs[()].stdout
    assert "serve" in top and "db" in top and "DATABASE_URL" in top
    db = help_outputs[("db",)].stdout
    for command in ("migrate", "demo", "load"):
        assert command in db
    assert "FILE" in help_outputs[("db", "load")].stdout
    assert "--port" in help_outputs[("serve",)].stdout


def test_db_needs_a_subcommand(tmp_path):
    result = cli(environment(tmp_path), tmp_path, "db")
    assert result.returncode == 2
    assert "usage: python -m server db" in result.stderr
    assert "DB_COMMAND" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_an_unsupported_database_url_is_a_clear_error(tmp_path):
    result = cli(environment(tmp_path, "postgresql://localhost/osu"), tmp_path, "db", "migrate")
    assert result.returncode == 1
    assert "unsupported DATABASE_URL scheme 'postgresql'" in result.stderr
    assert "Traceback" not in result.stderr


# --- db migrate / db demo


def test_db_migrate_twice(tmp_path):
    env = environment(tmp_path)
    first = cli(env, tmp_path, "db", "migrate")
    assert first.returncode == 0, first.stderr
    expected = ", ".join(["base.sql"] + [m.name for m in schema.migrations()])
    assert first.stdout.strip() == f"applied: {expected}"
    assert users_in(tmp_path / "cli.db") == [(1, "BanchoBot", "banchobot", "ca")]

    second = cli(env, tmp_path, "db", "migrate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "the schema is up to date"
    assert users_in(tmp_path / "cli.db") == [(1, "BanchoBot", "banchobot", "ca")]


def test_db_demo_once_then_refused(tmp_path):
    env = environment(tmp_path)
    data = demo.demo_data()
    first = cli(env, tmp_path, "db", "demo")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"loaded the demo data: {len(data['users'])} users, ")
    assert f"{len(data['scores'])} scores" in first.stdout
    users = users_in(tmp_path / "cli.db")
    assert len(users) == 1 + len(data["users"])

    again = cli(env, tmp_path, "db", "demo")
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr.strip() == "error: the database already has players; the demo data goes into an empty one"
    assert users_in(tmp_path / "cli.db") == users


# --- db load


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


GOOD = {"users": [{"id": 3, "name": "Cli User", "country": "se"}]}


def test_db_load_a_good_file(tmp_path):
    fixture = write(tmp_path / "good.json", GOOD)
    result = cli(environment(tmp_path), tmp_path, "db", "load", str(fixture))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"loaded {fixture}: 1 users, 8 stats"
    assert users_in(tmp_path / "cli.db") == [(1, "BanchoBot", "banchobot", "ca"), (3, "Cli User", "cli_user", "se")]


def test_db_load_a_bad_file_names_the_record_and_changes_nothing(tmp_path):
    env = environment(tmp_path)
    assert cli(env, tmp_path, "db", "migrate").returncode == 0
    fixture = write(tmp_path / "bad.json", {
        "users": [{"id": 3, "name": "Fine"}, {"id": 4, "name": "Also Fine", "country": "usa"}],
    })
    result = cli(env, tmp_path, "db", "load", str(fixture))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "error: users[1]: 'country' must be at most 2 characters long"
    assert "Traceback" not in result.stderr
    assert users_in(tmp_path / "cli.db") == [(1, "BanchoBot", "banchobot", "ca")]


def test_db_load_a_file_the_database_refuses(tmp_path):
    env = environment(tmp_path)
    fixture = write(tmp_path / "clash.json", {"users": [{"id": 3, "name": "Fine"}, {"id": 1, "name": "Not The Bot"}]})
    result = cli(env, tmp_path, "db", "load", str(fixture))
    assert result.returncode == 1
    assert result.stderr.startswith("error: users: the database refused a record: ")
    assert "Traceback" not in result.stderr
    assert users_in(tmp_path / "cli.db") == [(1, "BanchoBot", "banchobot", "ca")]


UNREADABLE = ["missing", "directory", "invalid-json", "not-utf8"]


@pytest.fixture(scope="module")
def unreadable_results(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """`db load` of each kind of unreadable file, in parallel processes."""
    running = {}
    for kind in UNREADABLE:
        tmp = tmp_path_factory.mktemp(kind)
        path = tmp / "fixture.json"
        if kind == "directory":
            path.mkdir()
        elif kind == "invalid-json":
            path.write_text('{"users": [{"id": 3,}]}')
        elif kind == "not-utf8":
            path.write_bytes(b'{"users": [{"id": 3, "name": "\xff\xfe"}]}')
        running[kind] = (path, start(environment(tmp), tmp, "db", "load", str(path)))
    results = {}
    for kind, (path, process) in running.items():
        stdout, stderr = process.communicate(timeout=120)
        results[kind] = (path, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results


@pytest.mark.parametrize("kind", UNREADABLE)
def test_db_load_an_unreadable_file(unreadable_results, kind):
    path, result = unreadable_results[kind]
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    if kind == "missing":
        assert message == f"error: cannot read {path}: No such file or directory"
    elif kind == "directory":
        assert message == f"error: cannot read {path}: Is a directory"
    else:
        assert message.startswith(f"error: {path} is not valid JSON: ")


# --- the same commands against MariaDB


def test_db_migrate_and_load_on_mariadb(mariadb, tmp_path):
    name = f"cli_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    env = environment(tmp_path, mariadb.url(name))
    fixture = write(tmp_path / "good.json", GOOD)

    migrated = cli(env, tmp_path, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied: base.sql")
    assert migrated.stderr == ""
    assert set(mariadb.execute("SHOW TABLES;", database=name).split()) >= set(schema.tables(schema.base_schema()))

    again = cli(env, tmp_path, "db", "migrate")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "the schema is up to date"
    assert again.stderr == ""  # no driver warnings about tables that exist

    loaded = cli(env, tmp_path, "db", "load", str(fixture))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == f"loaded {fixture}: 1 users, 8 stats"
    assert loaded.stderr == ""
    assert mariadb.execute("SELECT id, name, safe_name, country FROM users ORDER BY id;", database=name).splitlines() == [
        "1\tBanchoBot\tbanchobot\tca", "3\tCli User\tcli_user\tse"]
    assert mariadb.execute("SELECT COUNT(*) FROM stats WHERE id = 3;", database=name).strip() == "8"

    clash = cli(env, tmp_path, "db", "load", str(fixture))  # the same players again: refused, nothing changes
    assert clash.returncode == 1
    assert clash.stderr.startswith("error: users: the database refused a record: ")
    assert "Duplicate entry" in clash.stderr
    assert "Traceback" not in clash.stderr
    assert mariadb.execute("SELECT COUNT(*) FROM users; SELECT COUNT(*) FROM stats;", database=name).split() == ["2", "16"]
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").glob("*.db"))


def test_serve_freezes_what_start_up_made(tmp_path, monkeypatch):
    """`serve` moves what exists once the app has started (the imported
    modules, the schema work) out of the collector's reach: its full passes
    had held every request for 25-50 ms. The app runs its own start-up and
    shutdown around it."""
    import gc

    import uvicorn
    from starlette.testclient import TestClient

    from server import cli
    from server.settings import load_settings

    seen = {}

    def run(app, **options):
        with TestClient(app) as client:
            seen["frozen"] = gc.get_freeze_count()
            seen["status"] = client.get("/v1/get_player_count").status_code

    monkeypatch.setattr(uvicorn, "run", run)
    gc.unfreeze()
    try:
        cli.serve(load_settings({"DATA_DIR": str(tmp_path), "DEMO_ON_EMPTY": "0"}), None, None)
    finally:
        gc.unfreeze()  # the rest of the test session collects as before
    assert seen == {"frozen": seen["frozen"], "status": 200}
    assert seen["frozen"] > 10_000
