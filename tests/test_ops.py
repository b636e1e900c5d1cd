"""Operations: /health, /ready, /metrics and the JSON request log on both
backends; the database going away (503 within DB_TIMEOUT, /ready not
ready, recovery without a restart) on SQLite (a writer's lock) and on a
real MariaDB server of this module's own that is stopped, started, frozen
and thawed under a running server process; SIGTERM letting a request in
flight finish."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from mariadb_server import MariaDB, MariaDBError, find_binary, start_mariadb
from starlette.testclient import TestClient

from server import demo, keys
from server.app import create_app
from server.db import Database, DatabaseUnavailable
from server.migrate import migrate
from server.settings import Settings

REPO = Path(__file__).resolve().parent.parent
UNAVAILABLE = {"status": "Database unavailable."}
DB_TIMEOUT = 1
# time allowed on top of DB_TIMEOUT for a 503 to come back
SLACK = 1.5
STARTUP_TIMEOUT = 30.0


def run(coro):
    return asyncio.run(coro)


_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _series(text: str) -> str:
    """A series as `name{a="1",b="2"}` with its labels in name order: the
    text format does not fix their order (prometheus_client sorts them)."""
    name, _, labels = text.partition("{")
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(_LABEL.findall(labels))) + "}"


class Figures(dict):
    """{series: value}, looked up by a series with its labels in any order."""

    def __getitem__(self, series: str) -> float:
        return super().__getitem__(_series(series))

    def __contains__(self, series: object) -> bool:
        return isinstance(series, str) and super().__contains__(_series(series))

    def get(self, series: str, default: float | None = None) -> float | None:
        return super().get(_series(series), default)


def metric_values(text: str) -> Figures:
    """Prometheus text format -> {'name{labels}': value}."""
    values = Figures()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            values[_series(series)] = float(value)
    return values


def metrics(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return metric_values(response.text)


async def _migrate(url: str) -> None:
    async with Database(url) as db:
        await migrate(db)


async def _load_demo(url: str, data_dir: Path) -> str:
    """Migrate, load the demo data; returns a new osu!api v1 key."""
    async with Database(url) as db:
        await migrate(db)
        await demo.load(db, data_dir)
        return (await keys.create_key(db, "ops"))[1]


# --- health, readiness, metrics and the request log, in-process ----------------


def test_health_and_ready(client):
    health = client.get("/health")
    assert health.status_code == 200
    assert health.headers["content-type"] == "application/json"
    assert health.json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_health_does_not_touch_the_database(client):
    db = client.app.state.db
    before = db.query_count
    assert client.get("/health").status_code == 200
    assert db.query_count == before
    assert client.get("/ready").status_code == 200
    assert db.query_count == before + 1  # SELECT 1 (SQLite: a look at its schema)


def test_metrics_count_requests_by_route_template(client, backend):
    before = metrics(client)
    assert client.get("/v1/get_player_info", params={"id": 3, "scope": "stats"}).status_code == 200
    assert client.get("/v1/get_player_info", params={"id": 4, "scope": "stats"}).status_code == 200
    # two avatars, one route: the label is the template, not the URL
    client.get("/avatars/3")
    client.get("/avatars/999999")
    assert client.get("/v1/get_player_info", params={"scope": "nonsense", "id": 3}).status_code == 400
    assert client.get("/no/such/path/12345").status_code == 404
    after = metrics(client)

    def grew(series: str) -> float:
        return after.get(series, 0) - before.get(series, 0)

    info = 'method="GET",route="/v1/get_player_info"'
    assert grew(f'osu_api_http_requests_total{{{info},status="2xx"}}') == 2
    assert grew(f'osu_api_http_requests_total{{{info},status="4xx"}}') == 1
    assert grew(f'osu_api_http_request_duration_seconds_count{{{info}}}') == 3
    assert grew(f'osu_api_http_request_duration_seconds_bucket{{{info},le="+Inf"}}') == 3
    assert grew(f'osu_api_http_request_duration_seconds_sum{{{info}}}') > 0
    avatar = 'method="GET",route="/avatars/{user_id}"'
    assert grew(f"osu_api_http_request_duration_seconds_count{{{avatar}}}") == 2
    assert grew('osu_api_http_requests_total{method="GET",route="unmatched",status="4xx"}') == 1
    assert not any("12345" in series or "999999" in series for series in after)
    # the /metrics request itself is the one in flight
    assert after["osu_api_http_requests_in_flight"] == 1
    assert grew("osu_api_db_queries_total") >= 2  # one per profile read (stats are never held)
    assert 'osu_api_db_query_failures_total{reason="unavailable"}' in after
    if backend.kind == "mariadb":
        assert after["osu_api_db_pool_max_connections"] == 10
        assert 1 <= after["osu_api_db_pool_connections"] <= 10
        assert 0 <= after["osu_api_db_pool_free_connections"] <= after["osu_api_db_pool_connections"]
    else:
        assert "osu_api_db_pool_connections" not in after


def test_one_json_log_line_per_request(client, caplog):
    caplog.set_level(logging.INFO, logger="server.access")
    client.get("/v1/get_player_info", params={"id": 3, "scope": "info", "k": "secret-key"})
    client.get("/nowhere")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "server.access"]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"time", "method", "path", "route", "status", "duration_ms", "client"}
    assert first["method"] == "GET"
    assert first["path"] == "/v1/get_player_info"  # no query string: keys travel in it
    assert first["route"] == "/v1/get_player_info"
    assert first["status"] == 200
    assert first["client"] == "testclient"
    assert 0 < first["duration_ms"] < 10_000
    assert (second["path"], second["route"], second["status"]) == ("/nowhere", "unmatched", 404)
    assert "secret-key" not in caplog.text


# --- SQLite: another process holding the lock ---------------------------------------


def test_sqlite_locked_answers_503_within_the_timeout_then_recovers(tmp_path):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    run(_migrate(url))  # an empty database: get_player_count answers all the same
    settings = Settings(
        database_url=url, host="127.0.0.1", port=0, data_dir=tmp_path / "data",
        demo_on_empty=False, db_timeout=DB_TIMEOUT,
        snapshot_max_age=0,  # the counts read at every request, not from the snapshot
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/get_player_count").status_code == 200
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            response = client.get("/v1/get_player_count")
            took = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.json() == UNAVAILABLE
            assert took < DB_TIMEOUT + SLACK
            assert client.get("/ready").status_code == 503
            assert client.get("/health").status_code == 200
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert client.get("/v1/get_player_count").status_code == 200
        assert client.get("/ready").json() == {"status": "ready"}
        errors = metrics(client)
        assert errors['osu_api_http_errors_total{method="GET",route="/v1/get_player_count",status="503"}'] == 1
        assert errors['osu_api_db_query_failures_total{reason="unavailable"}'] + errors[
            'osu_api_db_query_failures_total{reason="timeout"}'
        ] >= 2


# --- server processes -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m server serve` with the given settings, output in a log."""

    def __init__(self, workdir: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_ON_EMPTY", "DB_TIMEOUT", "LOG_LEVEL")}
        env.update(HOST="127.0.0.1", PORT=str(self.port), DATA_DIR=str(workdir / "data"), **settings)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.log = workdir / f"server-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"], env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the server did not answer within {STARTUP_TIMEOUT} s:\n{self.text()}")
            time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, **params) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = httpx.get(f"{self.url}{path}", params=params, timeout=DB_TIMEOUT + 10)
        return response, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()


# --- MariaDB going away under a running server ----------------------------------------


@pytest.fixture(scope="module")
def own_mariadb() -> Iterator[MariaDB]:
    """A MariaDB server for this module alone: the tests stop and freeze it,
    which the session's shared server must never see."""
    if os.environ.get("TEST_SKIP_MARIADB") == "1":
        pytest.skip("TEST_SKIP_MARIADB=1")
    external = os.environ.pop("TEST_MARIADB_URL", None)
    try:
        find_binary("server")
        server = start_mariadb()
    except MariaDBError as exc:
        if external:
            pytest.skip(f"the outage tests need a MariaDB of their own to stop: {exc}")
        raise
    finally:
        if external is not None:
            os.environ["TEST_MARIADB_URL"] = external
    try:
        yield server
    finally:
        server.thaw()  # in case a test left it frozen
        server.stop()


def assert_unavailable(server: ServerProcess, path: str, **params) -> None:
    response, took = server.get(path, **params)
    assert response.status_code == 503, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNAVAILABLE
    assert took < DB_TIMEOUT + SLACK, f"{path} took {took:.2f} s"


def test_mariadb_outage_answers_503_and_recovers_without_restart(own_mariadb, servers, tmp_path):
    own_mariadb.create_database("outage")
    url = own_mariadb.url("outage")
    key = run(_load_demo(url, tmp_path / "data"))
    server = ServerProcess(tmp_path, DATABASE_URL=url, DB_TIMEOUT=str(DB_TIMEOUT))
    servers.append(server)
    pid = server.process.pid

    def serving() -> None:
        response, _ = server.get("/v1/get_player_info", id=3, scope="all")
        assert response.status_code == 200, response.text
        assert response.json()["player"]["info"]["id"] == 3
        response, _ = server.get("/api/get_user", u=3, k=key)
        assert response.status_code == 200 and response.json()[0]["user_id"] == "3", response.text
        assert server.get("/ready")[0].json() == {"status": "ready"}

    serving()

    # the server is stopped: connections are refused at once
    own_mariadb.stop_server()
    assert_unavailable(server, "/v1/get_player_info", id=3, scope="all")
    assert_unavailable(server, "/v1/get_leaderboard")
    assert_unavailable(server, "/api/get_user", u=3, k=key)
    assert_unavailable(server, "/ready")
    assert server.get("/health")[0].json() == {"status": "ok"}
    # it comes back: the very next requests are served, by the same process
    own_mariadb.start_server()
    serving()

    # the server hangs (SIGSTOP): every call is cut off at DB_TIMEOUT
    own_mariadb.freeze()
    try:
        assert_unavailable(server, "/v1/get_player_info", id=3, scope="info")
        assert_unavailable(server, "/ready")
        response, took = server.get("/v1/get_player_count")
        assert response.status_code == 503 and took >= DB_TIMEOUT * 0.9
    finally:
        own_mariadb.thaw()
    serving()

    assert server.process.poll() is None and server.process.pid == pid
    figures = metric_values(httpx.get(f"{server.url}/metrics").text)
    assert figures['osu_api_http_errors_total{method="GET",route="/v1/get_player_info",status="503"}'] == 2
    assert figures['osu_api_http_errors_total{method="GET",route="/ready",status="503"}'] == 2
    # a connection attempt to the frozen server may end as the driver's own
    # connect timeout ("unavailable") rather than DB_TIMEOUT ("timeout")
    unavailable = figures['osu_api_db_query_failures_total{reason="unavailable"}']
    timeouts = figures['osu_api_db_query_failures_total{reason="timeout"}']
    assert unavailable >= 4 and timeouts >= 1 and unavailable + timeouts >= 7
    assert figures["osu_api_db_pool_connections"] >= 1
    log = server.text()
    assert "Traceback" not in log
    assert "database unavailable on /v1/get_player_info" in log


def test_failed_transactions_give_their_connections_back(own_mariadb):
    """`databases` keeps a connection checked out when BEGIN fails; ten such
    failures (the pool's size) would leave a pool that never hands out a
    connection again, even once the server is back."""
    own_mariadb.create_database("pool")

    async def scenario() -> None:
        async with Database(own_mariadb.url("pool"), timeout=DB_TIMEOUT) as db:
            # fill the pool with ten healthy idle connections
            await asyncio.gather(*(db.fetch_val("SELECT SLEEP(0.1)") for _ in range(10)))
            assert db.pool_stats() == {"size": 10, "free": 10, "max": 10}
            own_mariadb.freeze()
            try:
                async def write() -> None:
                    async with db.transaction():
                        await db.execute("SELECT 1")

                outcomes = await asyncio.gather(*(write() for _ in range(10)), return_exceptions=True)
                assert all(isinstance(outcome, DatabaseUnavailable) for outcome in outcomes), outcomes
            finally:
                own_mariadb.thaw()
            assert db.pool_stats()["size"] == 0
            assert await db.fetch_val("SELECT 1") == 1
            async with db.transaction():
                await db.execute("CREATE TABLE t (a INT)")
                await db.execute("INSERT INTO t VALUES (1)")
            assert await db.fetch_val("SELECT COUNT(*) FROM t") == 1

    run(scenario())


# --- SIGTERM --------------------------------------------------------------------------------


def test_sigterm_lets_the_request_in_flight_finish(servers, tmp_path):
    token = "ops-test-token"
    server = ServerProcess(tmp_path, INGEST_TOKEN=token, DEMO_ON_EMPTY="0")  # the embedded database
    servers.append(server)
    body = json.dumps({"login_time": 1700000000, "action": 2, "info_text": "testing a shutdown"}).encode()
    head = (
        f"PUT /ingest/sessions/3 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        # the request is under way: headers and half the body sent
        conn.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while "Shutting down" not in server.text():
            assert time.monotonic() < deadline, server.text()
            time.sleep(0.02)
        # no new connections are taken meanwhile
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        time.sleep(0.3)
        assert server.process.poll() is None  # still waiting for our request
        conn.sendall(body[len(body) // 2:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {"status": "success"}

    started = time.monotonic()
    server.process.wait(timeout=10)
    assert time.monotonic() - started < 5
    log = server.text()
    assert server.process.returncode in (0, -signal.SIGTERM), log
    assert "Shutting down" in log and "Application shutdown complete." in log
    assert "Traceback" not in log
    # the write landed before the database was closed
    with sqlite3.connect(tmp_path / "data" / "api.db") as db:
        assert db.execute("SELECT action FROM live_sessions WHERE user_id = 3").fetchone() == (2,)
    # one JSON line per request on standard output, uvicorn's own access log off
    requests = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    put = [line for line in requests if line["method"] == "PUT"]
    assert len(put) == 1
    assert put[0]["route"] == "/ingest/sessions/{user_id}" and put[0]["status"] == 200
    assert put[0]["duration_ms"] >= 500
    assert not re.search(r'"(GET|PUT) /', log)


# --- /metrics from prometheus_client ---------------------------------------------


def test_metrics_carry_the_process_figures(client):
    figures = metrics(client)
    assert figures["osu_api_process_resident_memory_bytes"] > 1_000_000
    assert figures["osu_api_process_open_fds"] >= 3
    assert figures["osu_api_process_start_time_seconds"] > 1_600_000_000
    assert any(name.startswith("python_gc_collections_total") for name in figures)
    assert not any(name.endswith("_created") or "_created{" in name for name in figures)


def test_two_workers_sharing_a_multiprocess_folder_are_counted_together(servers, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: each process writes its figures there and
    either answers the sum (as under `uvicorn --workers`)."""
    shared = tmp_path / "prometheus"
    for folder in (shared, tmp_path / "one", tmp_path / "two"):
        folder.mkdir()
    first = ServerProcess(tmp_path / "one", DEMO_ON_EMPTY="1", PROMETHEUS_MULTIPROC_DIR=str(shared))
    servers.append(first)
    second = ServerProcess(tmp_path / "two", DEMO_ON_EMPTY="1", PROMETHEUS_MULTIPROC_DIR=str(shared))
    servers.append(second)
    for server, times in ((first, 3), (second, 4)):
        for _ in range(times):
            assert server.get("/v1/get_player_count")[0].status_code == 200
    for server in (first, second):
        figures = metric_values(httpx.get(f"{server.url}/metrics").text)
        series = 'osu_api_http_requests_total{method="GET",route="/v1/get_player_count",status="2xx"}'
        assert figures[series] == 7
