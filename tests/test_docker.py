"""The app's image, built from server/Dockerfile and run for real: on the
embedded default it serves the demo data and turns healthy, as a user that
is not root; against the test MariaDB it serves that database; `docker
stop` ends it cleanly.

No image registry is reachable here, so `python:3.11-slim` is stood in for
when the engine does not have it: Debian 12 (Python 3.11) from Debian's
packages by debootstrap, `python` and `pip` on the PATH as the official
image has them, the host's CA bundle for pip's downloads, then
`docker import`. Needs a Docker engine (.ci/run installs and starts one)
and, for the stand-in, root and debootstrap; TEST_SKIP_DOCKER=1 skips it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from conftest import _migrated_with_demo, run

from server import demo

REPO = Path(__file__).resolve().parent.parent
BASE = "python:3.11-slim"
HEALTHY_WITHIN = 90  # seconds: the image's health check starts after 30 s at most


def _docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _docker("info", check=False, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


pytestmark = [
    pytest.mark.skipif(os.environ.get("TEST_SKIP_DOCKER") == "1", reason="TEST_SKIP_DOCKER=1"),
    pytest.mark.skipif(not _engine_answers(), reason="no Docker engine answers (.ci/run starts one)"),
]


def _stand_in_base(workdir: Path) -> None:
    """python:3.11-slim from Debian 12's packages."""
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed (apt-get install debootstrap), and the engine has no " + BASE)
    root = workdir / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip,python3-venv,ca-certificates",
                    "bookworm", str(root), "http://deb.debian.org/debian"],
                   check=True, capture_output=True, timeout=900)
    (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)  # pip installs, as in the official image
    (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")
    (root / "usr/local/bin/pip").symlink_to("/usr/bin/pip3")
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/ca-certificates.crt")
    archive = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", BASE], stdin=archive.stdout, check=True, capture_output=True)
    archive.wait()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Iterator[str]:
    if _docker("image", "inspect", BASE, check=False).returncode != 0:
        _stand_in_base(tmp_path_factory.mktemp("base"))
    tag = f"osu-api-test:{uuid.uuid4().hex[:8]}"
    built = _docker("build", "-f", "server/Dockerfile", "-t", tag, str(REPO), check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        yield tag
    finally:
        # not waited for: on the vfs storage driver every layer is a whole
        # copy, and deleting them takes minutes the suite need not spend
        subprocess.Popen(["docker", "rmi", "-f", tag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Container:
    def __init__(self, image: str, *options: str) -> None:
        self.name = f"osu-api-test-{uuid.uuid4().hex[:8]}"
        _docker("run", "-d", "--name", self.name, *options, image)

    def state(self, field: str) -> str:
        return _docker("inspect", "-f", "{{" + field + "}}", self.name).stdout.strip()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTHY_WITHIN
        while self.state(".State.Health.Status") != "healthy":
            assert self.state(".State.Running") == "true", self.logs()
            assert time.monotonic() < deadline, self.logs()
            time.sleep(0.5)

    def logs(self) -> str:
        done = _docker("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        _docker("rm", "-f", self.name, check=False)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def _demo_player(url: str) -> dict:
    answer = httpx.get(f"{url}/v1/get_player_info", params={"id": 3, "scope": "info"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["player"]["info"]


def test_the_image_serves_the_demo_data_as_a_user_not_root_and_stops_cleanly(image, containers):
    port = _free_port()
    container = Container(image, "-p", f"127.0.0.1:{port}:8000")
    containers.append(container)
    container.wait_healthy()
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    assert _demo_player(url)["name"] == demo.demo_data()["users"][0]["name"]
    assert httpx.get(f"{url}/docs").status_code == 200  # Swagger UI's files are in the image
    user = _docker("exec", container.name, "id", "-u").stdout.strip()
    assert user == "10001"

    started = time.monotonic()
    _docker("stop", container.name)
    assert time.monotonic() - started < 10  # not the engine's 10 s kill
    assert container.state(".State.ExitCode") == "0"
    log = container.logs()
    assert "Application shutdown complete." in log and "Traceback" not in log


def test_the_image_serves_a_mariadb_database(image, containers, mariadb, tmp_path):
    name = f"docker_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(name)
    run(_migrated_with_demo(mariadb.url(name), tmp_path / "data"))
    port = _free_port()
    # the host's network: the throwaway MariaDB listens on 127.0.0.1 only
    container = Container(image, "--network", "host", "-e", f"PORT={port}", "-e", "HOST=127.0.0.1",
                          "-e", f"DATABASE_URL={mariadb.url(name)}")
    containers.append(container)
    container.wait_healthy()
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/ready").json() == {"status": "ready"}
    assert _demo_player(url)["name"] == demo.demo_data()["users"][0]["name"]
    _docker("stop", container.name)
    assert container.state(".State.ExitCode") == "0"
