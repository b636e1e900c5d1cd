"""Request limits (server/rate_limit.py): the token bucket per key or client
address, 429 with Retry-After and a JSON status, the exempt paths, the
query-string bound (414), the bounded in-process table, and buckets shared
by two app instances through a real Redis server (Debian's redis-server,
started here on a free 127.0.0.1 port; tests/run.sh installs it).
TEST_SKIP_REDIS=1 skips the Redis half where redis-server is not installed."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server import keys, rate_limit
from server.app import create_app
from server.settings import Settings, load_settings

PER_MINUTE = 60  # one token a second
BURST = 5
PATH = "/v1/get_player_count"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_settings(tmp_path: Path, **changes) -> Settings:
    fields = dict(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", host="127.0.0.1", port=0, data_dir=tmp_path / "data",
        demo_on_empty=False, rate_limit_per_minute=PER_MINUTE, rate_limit_burst=BURST,
    )
    fields.update(changes)
    return Settings(**fields)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path, clock):
    app = create_app(make_settings(tmp_path))
    app.state.rate_limiter.clock = clock
    return app


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.7", 40000)) as test_client:
        yield test_client


def expected_status(retry_after: int) -> str:
    return (f"Rate limit exceeded: at most {PER_MINUTE} requests a minute (bursts of {BURST}). "
            f"Retry after {retry_after} s.")


def spend(client: TestClient, n: int, **kwargs) -> list[int]:
    return [client.get(PATH, **kwargs).status_code for _ in range(n)]


def test_the_burst_passes_then_429_with_retry_after_and_a_json_status(client):
    for remaining in range(BURST - 1, -1, -1):
        response = client.get(PATH)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == str(PER_MINUTE)
        assert response.headers["x-ratelimit-remaining"] == str(remaining)
    response = client.get(PATH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-ratelimit-limit"] == str(PER_MINUTE)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.json() == {"status": expected_status(1)}
    # unknown paths and other methods count too: the limit is per client
    assert client.get("/no/such/path").status_code == 429
    # refusals are counted and logged like any request
    metrics = client.get("/metrics").text
    assert "osu_api_rate_limited_total 2" in metrics
    assert 'osu_api_http_requests_total{method="GET",route="unmatched",status="4xx"} 2' in metrics


def test_tokens_come_back_with_time(client, clock):
    assert spend(client, BURST + 1) == [200] * BURST + [429]
    clock.now += 1.0  # one token a second
    assert spend(client, 2) == [200, 429]
    clock.now += 0.5
    response = client.get(PATH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"  # half a second, rounded up
    clock.now += 3600  # never more than the burst
    assert spend(client, BURST + 1) == [200] * BURST + [429]


def test_retry_after_counts_whole_seconds(tmp_path, clock):
    app = create_app(make_settings(tmp_path, rate_limit_per_minute=6, rate_limit_burst=1))
    app.state.rate_limiter.clock = clock
    with TestClient(app) as client:
        assert client.get(PATH).status_code == 200
        response = client.get(PATH)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "10"  # a token every 10 s
        assert response.json()["status"].endswith("Retry after 10 s.")
        clock.now += 9.5
        assert client.get(PATH).headers["retry-after"] == "1"


def test_each_key_and_address_has_its_own_bucket(app):
    with TestClient(app, client=("203.0.113.7", 40000)) as first, TestClient(app, client=("198.51.100.9", 40000)) as second:
        assert spend(first, BURST + 1) == [200] * BURST + [429]
        # another address
        assert spend(second, BURST + 1) == [200] * BURST + [429]
        # v1 keys, from the exhausted address: a bucket per key
        for key in ("first-key", "second-key"):
            statuses = spend(first, BURST + 1, params={"k": key})
            assert statuses[-1] == 429 and 429 not in statuses[:-1]
        # a Bearer credential (bancho-style key, v2 token)
        for token in ("token-a", "token-b"):
            statuses = spend(first, BURST + 1, headers={"Authorization": f"Bearer {token}"})
            assert statuses[-1] == 429 and 429 not in statuses[:-1]
        # the same key from another address shares its bucket
        assert spend(second, 1, params={"k": "first-key"}) == [429]


REFUSED = "Too many requests with invalid credentials from this address"
KEYED_PATH = "/api/get_user"  # checks its key: a made-up one answers 401


def made_up(client: TestClient, n: int, first: int = 0, **kwargs) -> list[int]:
    """Statuses of n requests, each with a key never seen before."""
    return [client.get(KEYED_PATH, params={"k": f"made-up-{first + i}", "u": "1"}, **kwargs).status_code
            for i in range(n)]


def test_refused_credentials_are_charged_to_the_client_address(app, client, clock):
    with TestClient(app, client=("198.51.100.9", 40000)) as elsewhere:
        key = client.portal.call(keys.create_key, app.state.db, "rate-limit")[1]
        # a valid key never takes from the address's failures
        assert [client.get(KEYED_PATH, params={"k": key, "u": "1"}).status_code for _ in range(BURST)] == [200] * BURST
        # a fresh key each time no longer dodges the limit: the burst, then 429
        assert made_up(client, BURST) == [401] * BURST
        refused = client.get(KEYED_PATH, params={"k": "made-up-next", "u": "1"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.json() == {"status": f"{REFUSED}: at most {PER_MINUTE} a minute (bursts of {BURST}). Retry after 1 s."}
        # refused before anything is looked up or counted: no bucket for that key
        assert "k:" + rate_limit._digest(b"made-up-next") not in app.state.rate_limiter.buckets
        # every credential from the address waits, a valid one and a bearer token too
        assert client.get(KEYED_PATH, params={"k": key, "u": "1"}).status_code == 429
        assert client.get("/api/v2/users/1", headers={"Authorization": "Bearer made-up"}).status_code == 429
        # requests without one take from the address's own bucket, as before
        assert spend(client, 1) == [200]
        # another address is not concerned
        assert made_up(elsewhere, 1, first=100) == [401]
        # a token back: one more refused key, then 429 again
        clock.now += 1.0
        assert made_up(client, 2, first=200) == [401, 429]
        clock.now += 0.5
        assert client.get(KEYED_PATH, params={"k": key, "u": "1"}).headers["retry-after"] == "1"
        clock.now += 0.5
        assert client.get(KEYED_PATH, params={"k": key, "u": "1"}).status_code == 200
        # a refused bearer token counts as a refused key does
        clock.now += 3600
        statuses = [client.get("/api/v2/users/1", headers={"Authorization": f"Bearer made-up-{i}"}).status_code
                    for i in range(BURST + 1)]
        assert statuses == [401] * BURST + [429]
        metrics = client.get("/metrics").text
        assert "osu_api_rate_limited_total 6" in metrics  # the 429s above


def test_keys_are_kept_only_as_digests(app, client):
    client.get(PATH, params={"k": "very-secret-key"})
    client.get(PATH, headers={"Authorization": "Bearer very-secret-token"})
    names = list(app.state.rate_limiter.buckets)
    assert len(names) == 2
    assert not any("very-secret" in name for name in names)
    assert all(name.startswith(("k:", "a:")) for name in names)


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(app):
    # as `serve` runs it: uvicorn's proxy headers, trusting 127.0.0.1 (nginx)
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    with TestClient(proxied, client=("127.0.0.1", 40000)) as nginx, TestClient(proxied, client=("198.51.100.9", 40000)) as stranger:
        for address in ("203.0.113.1", "203.0.113.2"):
            statuses = spend(nginx, BURST + 1, headers={"X-Forwarded-For": address})
            assert statuses == [200] * BURST + [429]
        # from anyone else the header is ignored: one bucket, the peer's
        statuses = [stranger.get(PATH, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(10, 16)]
        assert statuses == [200] * BURST + [429]


def test_ipv6_addresses_count_per_64():
    scope = {"query_string": b"", "headers": [], "client": ("2001:db8:1:2:aaaa::1", 1)}
    other = dict(scope, client=("2001:db8:1:2:bbbb::9", 1))
    elsewhere = dict(scope, client=("2001:db8:1:3::1", 1))
    assert rate_limit.identity_of(scope) == rate_limit.identity_of(other) == "ip:2001:db8:1:2::/64"
    assert rate_limit.identity_of(elsewhere) != rate_limit.identity_of(scope)


def test_health_ready_and_metrics_are_never_limited(client):
    assert spend(client, BURST + 1)[-1] == 429
    for path in ("/health", "/ready", "/metrics"):
        for _ in range(BURST * 3):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "x-ratelimit-limit" not in response.headers
    # collapsed slashes are the same path
    assert client.get("http://testserver//health").status_code == 200


def test_the_query_string_is_bounded(tmp_path):
    # with the rate limit off as much as on
    app = create_app(make_settings(tmp_path, rate_limit_per_minute=0))
    assert app.state.rate_limiter is None
    with TestClient(app) as client:
        limit = rate_limit.MAX_QUERY_STRING
        response = client.get(PATH + "?" + "a" * (limit + 1))
        assert response.status_code == 414
        assert response.json() == {"status": f"Query string too long: at most {limit} bytes."}
        assert client.get(PATH + "?" + "a" * limit).status_code == 200
        assert client.get("/health?" + "a" * (limit + 1)).status_code == 414
        response = client.get(PATH)
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_the_in_process_table_stays_bounded(clock):
    buckets = rate_limit.LocalBuckets(PER_MINUTE, BURST, clock, max_buckets=100)
    # an attacker rotating addresses: never more than max_buckets kept
    for i in range(1000):
        assert buckets.take(f"ip:10.0.{i // 256}.{i % 256}").allowed
    assert len(buckets.buckets) == 100
    # buckets idle long enough to be full again are dropped at the next new one
    clock.now += BURST * 60 / PER_MINUTE
    buckets.take("ip:192.0.2.1")
    assert list(buckets.buckets) == ["ip:192.0.2.1"]


def test_settings():
    settings = load_settings({})
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst, settings.redis_url) == (1200, 200, None)
    # the dataclass's own default (what the tests' apps use) is off
    assert Settings(database_url="sqlite://", host="h", port=0, data_dir=Path("."), demo_on_empty=False).rate_limit_per_minute == 0
    settings = load_settings({"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_BURST": "20", "REDIS_URL": "redis://redis:6379/0"})
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst, settings.redis_url) == (0, 20, "redis://redis:6379/0")
    for env in ({"RATE_LIMIT_PER_MINUTE": "-1"}, {"RATE_LIMIT_PER_MINUTE": "lots"}, {"RATE_LIMIT_BURST": "0"},
                {"REDIS_URL": "localhost:6379"}):
        with pytest.raises(SystemExit):
            load_settings(env)


# --- shared buckets in Redis ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if found is None:
        if os.environ.get("TEST_SKIP_REDIS") == "1":
            pytest.skip("TEST_SKIP_REDIS=1 and no redis-server")
        pytest.fail("redis-server is not installed: `apt-get install redis-server` (tests/run.sh does), "
                    "or set TEST_SKIP_REDIS=1")
    return found


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A redis-server of our own on a free port, nothing written to disk."""
    pytest.importorskip("redis")
    import redis

    binary = redis_server_binary()
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no", "--logfile", str(workdir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start: {(workdir / 'redis.log').read_text()}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def redis_sync(redis_url):
    import redis

    client = redis.Redis.from_url(url=redis_url)
    client.flushdb()
    yield client
    client.close()


def test_two_instances_share_one_bucket_in_redis(tmp_path, redis_url, redis_sync):
    # a token a minute: no refill while the test runs
    settings = make_settings(tmp_path, rate_limit_per_minute=1, redis_url=redis_url)
    first_app, second_app = create_app(settings), create_app(settings)
    assert isinstance(first_app.state.rate_limiter, rate_limit.RedisBuckets)
    with TestClient(first_app) as first, TestClient(second_app) as second:
        statuses = [(first if i % 2 else second).get(PATH).status_code for i in range(4 * BURST)]
        assert statuses.count(200) == BURST
        assert statuses[:BURST] == [200] * BURST
        refused = first.get(PATH)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "60"
        assert refused.json() == {"status": "Rate limit exceeded: at most 1 requests a minute (bursts of 5). Retry after 60 s."}
        # keys: one bucket each, across instances, named by digest only
        for key in ("key-one", "key-two"):
            statuses = [(first if i % 2 else second).get(PATH, params={"k": key}).status_code for i in range(2 * BURST)]
            assert statuses.count(200) == BURST
    names = [name.decode() for name in redis_sync.keys("*")]
    assert len(names) == 3
    assert all(name.startswith(rate_limit.REDIS_PREFIX) for name in names)
    assert not any("key-" in name for name in names)
    # Redis forgets a bucket once it would be full again
    assert 0 < redis_sync.pttl(names[0]) <= (BURST * 60 + 1) * 1000


def test_instances_count_refused_credentials_together_in_redis(tmp_path, redis_url, redis_sync):
    settings = make_settings(tmp_path, rate_limit_per_minute=1, redis_url=redis_url)
    first_app, second_app = create_app(settings), create_app(settings)
    with TestClient(first_app) as first, TestClient(second_app) as second:
        statuses = [made_up(first if i % 2 else second, 1, first=i)[0] for i in range(4 * BURST)]
        # the burst, counted in Redis; then the instance whose charge emptied
        # the bucket refuses at once, and the other from its next failure
        assert statuses == [401] * (BURST + 1) + [429] * (3 * BURST - 1)
        assert first.get(PATH).status_code == 200  # the address's own bucket is untouched
    names = {name.decode() for name in redis_sync.keys(rate_limit.REDIS_PREFIX + "refused:*")}
    assert names == {rate_limit.REDIS_PREFIX + "refused:ip:testclient"}


def test_concurrent_instances_never_over_grant(redis_url, redis_sync, monkeypatch):
    # 200 calls opening connections at once can pass the product's 0.5 s
    # Redis timeout on a loaded machine, and a timed-out call falls back to
    # the instance's own bucket: give Redis time, so only Redis decides
    monkeypatch.setattr(rate_limit, "REDIS_TIMEOUT", 10.0)

    async def main() -> list[bool]:
        instances = [rate_limit.RedisBuckets(redis_url, 1, 50) for _ in range(2)]
        try:
            decisions = await asyncio.gather(*(
                instances[i % 2].take("ip:192.0.2.50") for i in range(200)
            ))
        finally:
            for instance in instances:
                await instance.close()
        return [decision.allowed for decision in decisions]

    assert asyncio.run(main()).count(True) == 50


def test_an_unreachable_redis_falls_back_to_in_process_buckets(tmp_path, caplog):
    pytest.importorskip("redis")
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings)
    with TestClient(app) as client, caplog.at_level("WARNING", logger="server"):
        assert spend(client, BURST + 1) == [200] * BURST + [429]
        metrics = client.get("/metrics").text
    warnings = [r.getMessage() for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1  # once, not per request
    # the first call failed; later ones wait REDIS_RETRY before trying again
    assert "osu_api_rate_limit_backend_errors_total 1" in metrics
