"""nginx/api.conf in front of two live app instances, on Debian's real nginx.

The configuration is the template docker-compose.yml uses, rendered with
127.0.0.1 ports (tests/nginx_template.py), inside a minimal nginx.conf whose
logs, pid and temporary files live in a temporary directory, so nginx runs as
root or not and the system service never matters. Each instance serves its
own small database, whose player 3 is named after the instance, so every
answer shows which instance served it; the instances' access logs show what
reached them and from which client address.

The client talks to nginx from 127.0.0.2 (or .3), nginx to the apps from
127.0.0.1: an app that logs 127.0.0.2 got the address from nginx's headers.
The tests run in order on one set of processes; the last one stops the
instances. TEST_SKIP_NGINX=1 skips them where nginx is not installed
(tests/run.sh installs it)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from nginx_template import REPO, TEMPLATE, render, upstream_servers

STARTUP_TIMEOUT = 30.0
HOST = "api.localhost"
CLIENT = "127.0.0.2"
OTHER_CLIENT = "127.0.0.3"
CONNECTIONS_PER_IP = int(re.search(r"^\s*limit_conn osu_api_per_ip (\d+);", TEMPLATE.read_text(), re.M)[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )
    if found is None:
        if os.environ.get("TEST_SKIP_NGINX") == "1":
            pytest.skip("TEST_SKIP_NGINX=1 and no nginx binary")
        pytest.fail("nginx is not installed: `apt-get install nginx` (tests/run.sh does), or set TEST_SKIP_NGINX=1")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, process: subprocess.Popen, describe) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{describe()}")
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"not ready within {STARTUP_TIMEOUT} s:\n{describe()}")


# INFO:     127.0.0.2:0 - "GET /v1/get_player_count HTTP/1.1" 200 OK
UVICORN_ACCESS_LINE = re.compile(r'INFO:\s+(?P<client>\S+):\d+ - "\S+ (?P<path>\S+) HTTP/[\d.]+" \d+')


class App:
    """`python -m server serve` over its own SQLite database, whose player 3
    is called "Instance <name>"."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = f"Instance {name}"
        data_dir = workdir / f"app-{name}"
        data_dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        fixture = data_dir / "fixture.json"
        fixture.write_text(json.dumps({"users": [{"id": 3, "name": self.name, "country": "de", "priv": 3}]}))
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOST", "PORT")}
        self.env.update(
            DATA_DIR=str(data_dir),
            DATABASE_URL=f"sqlite:///{data_dir / 'api.db'}",
            DEMO_ON_EMPTY="0",
            # nginx connects from here; the setting's default, spelled out
            FORWARDED_ALLOW_IPS="127.0.0.1",
            # uvicorn's access log goes to standard output: line by line
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        self.loading = subprocess.Popen(
            [sys.executable, "-m", "server", "db", "load", str(fixture)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        output, _ = self.loading.communicate(timeout=STARTUP_TIMEOUT)
        assert self.loading.returncode == 0, output.decode()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )

    def wait_until_serving(self) -> None:
        assert self.process is not None

        def answers() -> bool:
            try:
                return httpx.get(f"{self.url}/v1/get_player_count", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, self.process, self.log.read_text)

    def requests(self, path: str, expected: int | None = None) -> list[str]:
        """The client address of every request for path that reached this
        instance, from its log: the app's JSON request lines, or uvicorn's
        access log lines where those are on. A line is written once its
        answer is sent: with `expected`, wait (briefly) for that many."""
        deadline = time.monotonic() + 5
        while len(found := self._requests(path)) != expected and expected is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        return found

    def _requests(self, path: str) -> list[str]:
        clients = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("path") == path:
                    clients.append(record["client"])
            elif found := UVICORN_ACCESS_LINE.match(line):
                if found["path"].split("?")[0] == path:
                    clients.append(found["client"])
        return clients

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Nginx:
    def __init__(self, workdir: Path, upstreams: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = workdir / "nginx"
        self.dir.mkdir()
        self.error_log = self.dir / "error.log"
        (self.dir / "api.conf").write_text(
            render({
                "API_LISTEN": f"127.0.0.1:{self.port}",
                "API_UPSTREAM_SERVERS": upstream_servers(upstreams),
                "API_RESOLVER": "",  # addresses, nothing to resolve
            })
        )
        temp = {}
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            temp[kind] = self.dir / f"{kind}_temp"
            temp[kind].mkdir()
        # as root, nginx would run its workers as nobody, who cannot enter
        # pytest's private temporary directory
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(
            f"""{user}
worker_processes 1;
error_log {self.error_log} info;
events {{ worker_connections 512; }}
http {{
    default_type application/octet-stream;
    access_log {self.dir / 'access.log'};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {self.dir / 'api.conf'};
}}
"""
        )
        self.output = self.dir / "nginx.out"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    nginx_binary(), "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                    "-g", f"daemon off; pid {self.dir / 'nginx.pid'};",
                ],
                stdout=out, stderr=subprocess.STDOUT,
            )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, self.process, self.describe)

    def describe(self) -> str:
        logs = [self.output, self.error_log]
        return "\n".join(path.read_text() for path in logs if path.exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Stack:
    def __init__(self, apps: list[App], nginx: Nginx) -> None:
        self.apps = apps
        self.nginx = nginx
        self.by_name = {app.name: app for app in apps}

    def client(self, address: str = CLIENT, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client connecting to nginx from the given loopback address."""
        return httpx.Client(
            base_url=self.nginx.url, headers={"Host": HOST, **(headers or {})},
            transport=httpx.HTTPTransport(local_address=address), timeout=10,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    nginx_binary()
    workdir = tmp_path_factory.mktemp("nginx_stack")
    apps = [App("A", workdir), App("B", workdir)]
    nginx = None
    try:
        for app in apps:
            app.start()
        for app in apps:
            app.wait_until_serving()
        nginx = Nginx(workdir, [f"127.0.0.1:{app.port}" for app in apps])
        yield Stack(apps, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        for app in apps:
            app.terminate()


def test_forwarded_allow_ips_names_addresses_and_networks():
    from server.settings import load_settings

    assert load_settings({}).forwarded_allow_ips == "127.0.0.1"
    both = load_settings({"FORWARDED_ALLOW_IPS": " 10.0.0.2, 172.28.57.0/24 ,::1"})
    assert both.forwarded_allow_ips == "10.0.0.2,172.28.57.0/24,::1"
    assert load_settings({"FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == "*"
    # uvicorn would take these as names that never match: refused instead
    for wrong in ("nginx", "10.0.0.300", "172.28.57.1/24", "127.0.0.1,*", "127.0.0.1,"):
        with pytest.raises(SystemExit, match="FORWARDED_ALLOW_IPS"):
            load_settings({"FORWARDED_ALLOW_IPS": wrong})


def served_by(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["player"]["info"]["name"]


def test_requests_pass_through_with_the_apps_answer(stack: Stack):
    with stack.client() as client:
        response = client.get("/v1/get_player_info", params={"id": 3, "scope": "info"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        name = served_by(response)
        assert name in stack.by_name
        direct = httpx.get(f"{stack.by_name[name].url}/v1/get_player_info", params={"id": 3, "scope": "info"})
        assert response.content == direct.content
        assert response.headers["server"] == "nginx"  # server_tokens off: no version

        # the app's own errors come through unchanged
        missing = client.get("/no/such/path")
        assert missing.status_code == 404
        assert missing.json() == {"status": "Not found."}


def test_json_is_gzipped_for_clients_that_accept_it(stack: Stack):
    params = {"id": 3, "scope": "all"}  # about 2 KB of JSON
    with stack.client() as client:
        plain = client.get("/v1/get_player_info", params=params, headers={"Accept-Encoding": "identity"})
        gzipped = client.get("/v1/get_player_info", params=params, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert gzipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in gzipped.headers["vary"]
    assert gzipped.headers["content-type"] == "application/json"
    assert gzipped.num_bytes_downloaded < len(gzipped.content) / 2
    # the same answer once decoded (the two may come from either instance)
    assert gzipped.json()["player"]["stats"] == plain.json()["player"]["stats"]


def test_requests_are_balanced_across_both_instances(stack: Stack):
    # the older path form, which no other test here asks for
    with stack.client() as client:
        names = Counter(served_by(client.get("/get_player_info", params={"id": 3, "scope": "info"})) for _ in range(10))
    assert set(names) == set(stack.by_name), names
    assert min(names.values()) >= 3, names
    for app in stack.apps:
        assert len(app.requests("/get_player_info", names[app.name])) == names[app.name]


def test_the_client_address_reaches_the_app(stack: Stack):
    # a client cannot pass off another address: nginx sends the peer it sees
    with stack.client(headers={"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7"}) as client:
        for _ in range(4):
            assert client.get("/probe/address").status_code == 404  # the app's own 404
    # round robin: two each
    assert [app.requests("/probe/address", 2) for app in stack.apps] == [[CLIENT] * 2, [CLIENT] * 2]

    # the app believes forwarded headers only from FORWARDED_ALLOW_IPS
    app = stack.apps[0]
    spoofed = {"X-Forwarded-For": "198.51.100.1"}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT)) as untrusted:
        untrusted.get(f"{app.url}/probe/untrusted", headers=spoofed)
    httpx.get(f"{app.url}/probe/trusted", headers=spoofed)  # from 127.0.0.1
    assert app.requests("/probe/untrusted", 1) == [CLIENT]
    assert app.requests("/probe/trusted", 1) == ["198.51.100.1"]


def test_an_oversized_body_is_refused_by_nginx(stack: Stack):
    body = b"\0" * (4 * 1024 * 1024)  # client_max_body_size is 3m
    with stack.client() as client:
        response = client.post(
            "/set_avatar", content=body, headers={"Authorization": "Bearer x", "Content-Type": "image/png"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "Request body too large."}
    for app in stack.apps:
        assert app.requests("/set_avatar") == []


def _hold_requests(port: int, address: str, count: int) -> list[socket.socket]:
    """Requests in progress: uploads whose body never comes."""
    held = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((address, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            f"POST /v1/set_player_info HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
        )
        held.append(sock)
    return held


def test_concurrent_requests_are_limited_per_client_address(stack: Stack):
    held = _hold_requests(stack.nginx.port, OTHER_CLIENT, CONNECTIONS_PER_IP)
    try:
        with stack.client(OTHER_CLIENT) as client:
            # nginx counts a connection once it has read its request headers
            deadline = time.monotonic() + 5
            while (refused := client.get("/v1/get_player_count")).status_code != 429:
                assert time.monotonic() < deadline, f"no 429 while {CONNECTIONS_PER_IP} requests are held"
                time.sleep(0.05)
        assert refused.headers["content-type"] == "application/json"
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {"status": "Too many concurrent requests from this address."}
        # other addresses are not affected
        with stack.client(CLIENT) as client:
            assert client.get("/v1/get_player_count").status_code == 200
    finally:
        for sock in held:
            sock.close()
    with stack.client(OTHER_CLIENT) as client:
        deadline = time.monotonic() + 5
        while client.get("/v1/get_player_count").status_code != 200:
            assert time.monotonic() < deadline, "still refused after the held requests ended"
            time.sleep(0.05)


def test_an_instance_going_down_is_routed_around(stack: Stack):
    # last: it stops the instances
    survivor, stopped = stack.apps
    with stack.client() as client:
        # both serve, over kept-alive upstream connections
        assert {served_by(client.get("/v1/get_player_info", params={"id": 3, "scope": "info"})) for _ in range(4)} == set(
            stack.by_name
        )
        stopped.terminate()
        time.sleep(0.2)  # the last lines written
        before = len(survivor.requests("/v1/get_player_info"))
        for _ in range(20):
            response = client.get("/v1/get_player_info", params={"id": 3, "scope": "info"})
            assert served_by(response) == survivor.name
        assert len(survivor.requests("/v1/get_player_info", before + 20)) == before + 20

        # with no instance left, nginx answers in the API's JSON shape
        survivor.terminate()
        response = client.get("/v1/get_player_count")
        assert response.status_code == 502
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"status": "No app instance is answering."}
