"""The service as it is started: `python -m server` with nothing but a data
directory and a port answers with the demo data on first start, keeps its
SQLite file under DATA_DIR, answers errors in JSON, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server import demo

STARTUP_TIMEOUT = 30.0
# the process runs this working tree's code, whatever copy is installed
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY")}
        env.update(DATA_DIR=str(data_dir), PORT=str(self.port), HOST="127.0.0.1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.log = cwd / f"server-{self.port}.log"
        with self.log.open("wb") as out:
            # no subcommand: serving is the default
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                httpx.get(f"{self.url}/v1/get_player_count", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        pytest.fail(f"the server did not answer within {STARTUP_TIMEOUT} s:\n{self.log.read_text()}")

    def terminate(self) -> float:
        """SIGTERM; returns how long it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail("the server did not exit within 10 s of SIGTERM")
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def assert_stopped_cleanly(server: Server) -> None:
    # uvicorn shuts down gracefully (the lifespan closes the database), then
    # re-raises the signal, so the status is "terminated by SIGTERM" as
    # supervisors expect from a clean stop
    log = server.log.read_text()
    assert server.process.returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete." in log
    assert "Traceback" not in log


@pytest.fixture
def start_server(tmp_path):
    started: list[Server] = []

    def start(data_dir: Path) -> Server:
        server = Server(data_dir, tmp_path)
        started.append(server)
        server.wait_until_answering()
        return server

    yield start
    for server in started:
        server.kill()


def test_first_start_serves_the_demo_data_stops_on_sigterm_and_restarts(start_server, tmp_path):
    data_dir = tmp_path / "data"  # does not exist yet
    server = start_server(data_dir)
    first = demo.demo_data()["users"][0]

    response = httpx.get(f"{server.url}/v1/get_player_info", params={"id": 3, "scope": "all"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "success"
    assert body["player"]["info"]["id"] == 3
    assert body["player"]["info"]["name"] == first["name"]
    assert sorted(body["player"]["stats"], key=int) == ["0", "1", "2", "3", "4", "5", "6", "8"]

    count = httpx.get(f"{server.url}/v1/get_player_count").json()
    assert count["counts"]["total"] == 1 + len(demo.demo_data()["users"])

    # the embedded database lives under DATA_DIR
    assert (data_dir / "api.db").is_file()
    assert (data_dir / "api.db").stat().st_size > 0

    missing = httpx.get(f"{server.url}/no/such/path")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {"status": "Not found."}

    post = httpx.post(f"{server.url}/v1/get_player_info", params={"id": 3, "scope": "info"})
    assert post.status_code == 405
    assert post.headers["content-type"] == "application/json"
    assert post.json() == {"status": "Method not allowed."}

    took = server.terminate()
    assert took < 10
    assert_stopped_cleanly(server)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/v1/get_player_count", timeout=1)

    # a restart over the same DATA_DIR keeps the data and does not load the
    # demo again (it would clash with the rows already there)
    again = start_server(data_dir)
    response = httpx.get(f"{again.url}/v1/get_player_info", params={"id": 3, "scope": "info"})
    assert response.status_code == 200, response.text
    assert httpx.get(f"{again.url}/v1/get_player_count").json() == count
    again.terminate()
    assert_stopped_cleanly(again)


def test_the_readmes_first_command_sets_up_and_serves_the_docs_and_the_demo_data(tmp_path):
    """`bash start.sh`, as the README says: the virtual environment (made
    when missing; tests/run.sh has made it already), the project in it, the
    server on the embedded database with the demo data."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY", "HOST")}
    env.update(PORT=str(port), DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "start.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["bash", str(REPO / "start.sh")], env=env, cwd=tmp_path, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # (a machine without .venv installs everything first)
        while True:
            assert process.poll() is None, log.read_text()
            try:
                answer = httpx.get(f"{url}/v1/get_player_info", params={"id": 3, "scope": "info"}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert answer.json()["player"]["info"]["name"] == demo.demo_data()["users"][0]["name"]
        docs = httpx.get(f"{url}/docs")
        assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (REPO / ".venv" / "bin" / "python").exists()
    assert "Application shutdown complete." in log.read_text()
