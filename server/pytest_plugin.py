"""A pytest plugin for authors of tools that talk to this API: the fixture
`osu_api_server` starts the real service in its own process, over a fresh
embedded database holding your fixture file, and gives you its base URL.

    def test_my_tool(osu_api_server):
        base_url = osu_api_server("tests/fixtures/players.json")
        assert my_tool.fetch_player(base_url, 3).name == "cookiezi"

Call it with no file for the demo data set. The URL it returns carries an
osu!api v1 key for that server as `.api_key`, for tools that speak v1:

    api = MyV1Client(base_url + "/api", key=base_url.api_key)

Each call starts its own server; all of them stop when the test ends
(`osu_api_server.stop(base_url)` stops one before)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/v1/get_player_count", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the API server did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text()}")


class ServerURL(str):
    """A server's base URL, with a v1 API key valid on that server and the
    environment it runs with (for `python -m server ...` on its database)."""

    api_key: str
    env: dict[str, str]


def _run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`python -m server {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


class ServerFactory:
    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._processes: list[subprocess.Popen] = []
        self._by_url: dict[str, subprocess.Popen] = {}

    def __call__(self, fixture: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> ServerURL:
        """Start a server; `env` adds settings (say INGEST_TOKEN, to push live
        state to it)."""
        index = len(self._processes)
        data_dir = self._workdir / f"server{index}"
        data_dir.mkdir(parents=True)
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'api.db'}",
            "DEMO_ON_EMPTY": "0" if fixture is not None else "1",
            **(env or {}),
        }
        if fixture is not None:
            _run_cli(env, "db", "load", str(Path(fixture).resolve()))
        api_key = _run_cli(env, "keys", "create", "--name", "pytest").strip().splitlines()[-1]
        port = _free_port()
        log = data_dir / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        self._processes.append(process)
        url = ServerURL(f"http://127.0.0.1:{port}")
        url.api_key = api_key
        url.env = env
        self._by_url[url] = process
        _wait_until_serving(url, process, log)
        return url

    def stop(self, url: str) -> None:
        """Stop one of the servers (say, to see how a tool takes an outage)."""
        _stop([self._by_url[url]])

    def stop_all(self) -> None:
        _stop(self._processes)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def osu_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerURL]]:
    """Start the API over a fresh embedded database: call it with a fixture
    file (or nothing, for the demo data) and get the base URL back."""
    factory = ServerFactory(tmp_path_factory.mktemp("osu_api_server"))
    try:
        yield factory
    finally:
        factory.stop_all()
