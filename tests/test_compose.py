"""docker-compose.yml, checked without a Docker engine (none runs here).

Debian's docker-compose (1.29, tests/run.sh installs it) validates the file
against the Compose specification's schema and resolves it with
`docker-compose config`, which needs no engine. The tests read its resolved
output and check what the README promises: the four services, the one
published port, the volumes, the health checks and the start-up order; that
the app's environment holds only real settings of server/settings.py, with
values it accepts; and that nginx/api.conf renders with nginx's values.
TEST_SKIP_COMPOSE=1 skips them where docker-compose is not installed."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from nginx_template import REPO, TEMPLATE, placeholders, render

from server.settings import load_settings

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "server" / "Dockerfile"


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("TEST_SKIP_COMPOSE") == "1":
            pytest.skip("TEST_SKIP_COMPOSE=1 and no docker-compose")
        pytest.fail(
            "docker-compose is not installed: `apt-get install docker-compose` (tests/run.sh does), "
            "or set TEST_SKIP_COMPOSE=1"
        )
    return found


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    """The file as docker-compose resolves it with every default: no .env
    file and none of the variables it interpolates set."""
    interpolated = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in interpolated and not k.startswith(("COMPOSE_", "DOCKER_"))}
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    done = subprocess.run(
        [compose_binary(), "--env-file", str(empty), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "config"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"docker-compose config refused the file:\n{done.stderr}"
    return yaml.safe_load(done.stdout)


def service(config: dict, name: str) -> dict:
    return config["services"][name]


def mounts(svc: dict) -> dict[str, tuple[str, bool]]:
    """target -> (source, read-only), from the short or the long syntax."""
    found = {}
    for volume in svc.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            found[target] = (source, "ro" in (mode[0].split(",") if mode else []))
        else:
            found[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return found


def published_ports(svc: dict) -> list[tuple[int, int]]:
    return [(int(port["published"]), int(port["target"])) for port in svc.get("ports", [])]


def test_the_services_are_mariadb_redis_the_app_and_nginx(config):
    # Redis holds the rate limit's buckets, shared by every app instance
    assert set(config["services"]) == {"mariadb", "redis", "app", "nginx"}
    assert service(config, "mariadb")["image"].startswith("mariadb:")
    assert service(config, "redis")["image"].startswith("redis:7")
    assert service(config, "nginx")["image"].startswith("nginx:")
    build = service(config, "app")["build"]
    assert Path(build["context"]) == REPO
    assert build["dockerfile"] == "server/Dockerfile"
    assert DOCKERFILE.is_file()


def test_only_nginx_is_published(config):
    assert published_ports(service(config, "nginx")) == [(8080, 80)]
    assert "ports" not in service(config, "app")
    assert "ports" not in service(config, "mariadb")
    assert "ports" not in service(config, "redis")
    # nginx/api.conf listens on API_LISTEN, the published port's target
    assert service(config, "nginx")["environment"]["API_LISTEN"] == "80"
    assert [str(port) for port in service(config, "app")["expose"]] == [service(config, "app")["environment"]["PORT"]]


def test_volumes(config):
    assert set(config["volumes"]) == {"mariadb-data", "api-data"}

    mariadb = mounts(service(config, "mariadb"))
    assert mariadb["/var/lib/mysql"] == ("mariadb-data", False)
    # the schema is loaded on first start, from sql/base.sql
    [init] = [target for target in mariadb if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init.endswith(".sql")
    assert mariadb[init] == (str(REPO / "sql" / "base.sql"), True)

    app = service(config, "app")
    assert mounts(app) == {app["environment"]["DATA_DIR"]: ("api-data", False)}

    # buckets only: Redis keeps nothing on disk
    redis = service(config, "redis")
    assert mounts(redis) == {}
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"

    # the template goes where the official image renders templates from, as
    # default.conf (replacing the image's own site)
    assert mounts(service(config, "nginx")) == {
        "/etc/nginx/templates/default.conf.template": (str(TEMPLATE), True)
    }


def test_health_checks_and_start_order(config):
    mariadb = service(config, "mariadb")
    assert mariadb["healthcheck"]["test"] == ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]

    app = service(config, "app")
    test = app["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]  # python:3.11-slim has no curl
    assert f"http://127.0.0.1:{app['environment']['PORT']}/health" in test[3]
    assert "urllib.request.urlopen" in test[3]
    # the command itself, as Python reads it
    compile(test[3], "healthcheck", "exec")

    assert service(config, "redis")["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert app["depends_on"] == {
        "mariadb": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert service(config, "nginx")["depends_on"] == {"app": {"condition": "service_healthy"}}
    # docker stops a container this long after SIGTERM: past SHUTDOWN_TIMEOUT
    grace = app["stop_grace_period"]
    seconds = int(grace[:-1]) * (60 if grace.endswith("m") else 1)
    assert seconds > getattr(load_settings(app["environment"]), "shutdown_timeout", 0)


class _Recorder(dict):
    """An environment that notes every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def test_the_apps_environment_is_real_settings_it_accepts(config):
    recorder = _Recorder()
    load_settings(recorder)
    env = service(config, "app")["environment"]
    assert set(env) <= recorder.asked, f"not settings of server/settings.py: {set(env) - recorder.asked}"

    settings = load_settings(env)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert str(settings.data_dir) == env["DATA_DIR"]

    # the database URL is the MariaDB service's database and user
    mariadb = service(config, "mariadb")["environment"]
    url = urlsplit(settings.database_url)
    assert (url.scheme, url.hostname, url.port) == ("mysql", "mariadb", 3306)
    assert (url.username, url.password) == (mariadb["MARIADB_USER"], mariadb["MARIADB_PASSWORD"])
    assert url.path == "/" + mariadb["MARIADB_DATABASE"]

    # the rate limit at the official API's figures, its buckets in the Redis service
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (1200, 200)
    redis = urlsplit(settings.redis_url)
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)

    # forwarded addresses are believed from the compose network alone
    [subnet] = [entry["subnet"] for entry in config["networks"]["api"]["ipam"]["config"]]
    assert ipaddress.ip_network(settings.forwarded_allow_ips) == ipaddress.ip_network(subnet)
    for name in ("mariadb", "redis", "app", "nginx"):
        assert set(service(config, name)["networks"]) == {"api"}


def test_the_nginx_template_renders_with_the_compose_values(config):
    nginx = service(config, "nginx")["environment"]
    # the image substitutes only the variables its filter lets through
    substituted = {k: v for k, v in nginx.items() if re.search(nginx.get("NGINX_ENVSUBST_FILTER", ""), k)}
    assert placeholders() <= set(substituted)
    rendered = render(substituted)
    assert "${" not in rendered
    assert re.search(r"^\s*listen 80;$", rendered, re.M)
    # the upstream is every instance of the app service on its PORT, the name
    # resolved again while nginx runs (Docker's DNS), so scaled or recreated
    # instances are found
    app_port = service(config, "app")["environment"]["PORT"]
    assert re.findall(r"^\s*server (\S+) resolve;$", rendered, re.M) == [f"app:{app_port}"]
    assert re.search(r"^resolver 127\.0\.0\.11 ", rendered, re.M)
    assert re.search(r"^\s*zone osu_api ", rendered, re.M)
    # `resolve` is in open-source nginx from 1.27.3 on (Debian 12 has 1.22,
    # which tests/test_nginx.py runs with plain addresses)
    tag = service(config, "nginx")["image"].split(":")[1]
    # a tag without a patch number follows its series' latest release
    version = [int(part) for part in tag.split(".")] + [999]
    assert tuple(version[:3]) >= (1, 27, 3), tag
    # nginx's own variables are left for nginx
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in rendered

    # the same text as the image's own step: envsubst given the names of the
    # variables that pass its filter
    envsubst = shutil.which("envsubst")
    if envsubst is None:
        pytest.skip("no envsubst (Debian's gettext-base) to compare with")
    done = subprocess.run(
        [envsubst, " ".join(f"${{{name}}}" for name in substituted)],
        input=TEMPLATE.read_text(), env=substituted, capture_output=True, text=True, check=True,
    )
    assert done.stdout == rendered


def test_the_dockerfile(config):
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^RUN pip install ", text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r'^CMD \["python", "-m", "server", "serve"\]$', text, re.M)
    assert re.search(r"^(ENV)?\s+HOST=0\.0\.0\.0\b", text, re.M)
    [healthcheck] = re.findall(r"^HEALTHCHECK .*?\n(?:\s+.*\n)*", text, re.M)
    assert "/health" in healthcheck and "urllib.request" in healthcheck
    # it copies what the package is built from
    for path in ("pyproject.toml", "README.md", "server", "sql"):
        assert re.search(rf"^COPY .*\b{re.escape(path)}\b", text, re.M), path
