"""Request limits: at most RATE_LIMIT_PER_MINUTE requests a minute with
bursts of RATE_LIMIT_BURST per key (or per client address when no key is
presented), and query strings of at most MAX_QUERY_STRING bytes.

A token bucket per identity: it holds up to `burst` tokens, refills at
`per_minute / 60` tokens a second, and every request takes one; a request
finding less than one answers 429 with Retry-After (the whole seconds until
a token is back) and a JSON status.

The identity is, in this order of preference:
  - the v1 key (`k=` in the query string),
  - the credential of an `Authorization` header (a bancho-style key or a v2
    access token as `Bearer ...`, client credentials as `Basic ...`),
  - else the client address (`scope["client"]`: uvicorn has already put
    the X-Forwarded-For address there when the peer is a trusted proxy,
    FORWARDED_ALLOW_IPS); IPv6 addresses count per /64, the block one
    subscriber usually holds.
Keys and tokens are never kept as they are: only a SHA-256 digest of them
names a bucket, in memory and in Redis alike.

A credential is counted before it is checked (checking takes the endpoint's
own look-up), so each made-up key would get a fresh bucket. Requests whose
credential the endpoint refuses (401) are therefore also charged to their
client address, in a bucket of its own with the same rate and burst; once
that is empty, the address's requests presenting any credential answer 429
until a token is back, before anything is looked up. Valid credentials never
take from it. Whether an address is refused is known in the process (no
round trip on requests with a valid key): with Redis the failures are
counted together, and each instance refuses the address from the first
failure it charges to an empty bucket.

With REDIS_URL unset the buckets live in the process (each instance limits
on its own). With REDIS_URL set they live in Redis, updated by one Lua
script run atomically on the Redis server with Redis' own clock, so any
number of instances share one bucket per identity and never grant more than
it holds together. When Redis cannot be reached the instance falls back to
its in-process buckets (it keeps limiting, each instance on its own), logs
one warning, counts osu_api_rate_limit_backend_errors_total, and tries Redis
again after REDIS_RETRY seconds.

Pure ASGI: one dict look-up (or one Redis round trip) per request, no
per-request task. /health, /ready and /metrics are never limited (probes and
scrapers must not be refused)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl

import orjson

log = logging.getLogger("server")

# the longest query string accepted, in bytes; longer answers 414
MAX_QUERY_STRING = 8192
# never limited: liveness, readiness and metrics
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
# the most in-process buckets kept at once (a bucket is about 200 bytes);
# past it the least recently used one goes, which only hands its identity a
# fresh burst. Buckets idle long enough to be full again are dropped first:
# they hold nothing a new bucket would not.
MAX_BUCKETS = 100_000
# seconds between two tries of an unreachable Redis
REDIS_RETRY = 5.0
# seconds a Redis call may take before the in-process buckets answer instead
REDIS_TIMEOUT = 0.5
REDIS_PREFIX = "osu_api:rl:"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # whole tokens left after this request
    remaining: int
    # whole seconds until the next token (0 when allowed)
    retry_after: int
    # seconds until the bucket holds a whole token again (0 while it does)
    empty_for: float = 0.0


def _decide(allowed: bool, tokens: float, rate: float) -> Decision:
    empty_for = 0.0 if tokens >= 1 else (1 - tokens) / rate
    if allowed:
        return Decision(True, int(tokens), 0, empty_for)
    return Decision(False, 0, max(1, math.ceil(empty_for)), empty_for)


class LocalBuckets:
    """Token buckets in this process, bounded in number (see MAX_BUCKETS)."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self.clock = clock
        self.max_buckets = max_buckets
        # the time an empty bucket takes to fill up again
        self.full_after = burst / self.rate
        # identity -> [tokens, last update], least recently used first
        self.buckets: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, identity: str) -> Decision:
        now = self.clock()
        bucket = self.buckets.get(identity)
        if bucket is None:
            self._make_room(now)
            bucket = self.buckets[identity] = [float(self.burst), now]
        else:
            self.buckets.move_to_end(identity)
            bucket[0] = min(self.burst, bucket[0] + max(0.0, now - bucket[1]) * self.rate)
            bucket[1] = now
        allowed = bucket[0] >= 1
        if allowed:
            bucket[0] -= 1
        return _decide(allowed, bucket[0], self.rate)

    def _make_room(self, now: float) -> None:
        buckets = self.buckets
        # the oldest first: drop those that have had time to fill up again
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest[1] < self.full_after:
                break
            buckets.popitem(last=False)
        while len(buckets) >= self.max_buckets:
            buckets.popitem(last=False)


# KEYS[1]: the bucket; ARGV: rate (tokens a second), burst, TTL (ms).
# Returns {1 or 0 (allowed), tokens left (as a string: Lua numbers come back
# as integers otherwise)}. Redis' own clock, so instances need no common one;
# Redis 5+ replicates a script's effects, so TIME before a write is allowed.
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
else
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tokens + elapsed * rate)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, string.format('%.6f', tokens)}
"""


def redis_client(url: str) -> Any:
    """redis.asyncio's client for REDIS_URL; imported here only, so the
    package is needed only where REDIS_URL is set."""
    try:
        import redis.asyncio
    except ImportError:
        raise SystemExit(
            "REDIS_URL is set but the redis package is not installed: pip install 'osu-api-server[redis]'"
        ) from None
    return redis.asyncio.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT, health_check_interval=30
    )


class RedisBuckets:
    """Token buckets in Redis, shared by every instance using REDIS_URL; the
    in-process buckets answer while Redis cannot."""

    def __init__(self, url: str, per_minute: int, burst: int, metrics: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self.url = url
        self.metrics = metrics
        self.clock = clock
        self.fallback = LocalBuckets(per_minute, burst, clock)
        # a bucket untouched for this long is full: Redis may forget it
        self.ttl_ms = str(math.ceil(burst / self.rate * 1000) + 1000)
        self.client = redis_client(url)
        self.script = self.client.register_script(TAKE_SCRIPT)
        self.down_since: float | None = None
        self.retry_at = 0.0

    async def take(self, identity: str) -> Decision:
        now = self.clock()
        if self.down_since is not None and now < self.retry_at:
            return self.fallback.take(identity)
        try:
            allowed, tokens = await self.script(keys=[REDIS_PREFIX + identity], args=[repr(self.rate), self.burst, self.ttl_ms])
        except Exception as exc:  # redis' errors, OSError, timeouts: all mean "not now"
            if self.metrics is not None:
                self.metrics.rate_limit_backend_errors.inc()
            if self.down_since is None:
                self.down_since = now
                log.warning("rate limiter: Redis unreachable (%s: %s); limiting in-process until it answers",
                            type(exc).__name__, exc)
            self.retry_at = now + REDIS_RETRY
            return self.fallback.take(identity)
        if self.down_since is not None:
            log.warning("rate limiter: Redis answers again after %.0f s", now - self.down_since)
            self.down_since = None
        return _decide(bool(int(allowed)), float(tokens), self.rate)

    async def close(self) -> None:
        await self.client.aclose()


def _digest(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:32]


def identity_of(scope: dict) -> str:
    """The bucket's name: `k:<digest>` for a v1 key, `a:<digest>` for an
    Authorization credential, address_of(scope) otherwise."""
    query = scope.get("query_string", b"")
    if query.startswith(b"k=") or b"&k=" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=False):
            if name == "k" and value:
                return "k:" + _digest(value.encode("latin-1"))
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            credential = value.partition(b" ")[2].strip()
            if credential:
                return "a:" + _digest(credential)
            break
    return address_of(scope)


def address_of(scope: dict) -> str:
    """`ip:<address>` of the client; IPv6 by its /64."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" in host:
        try:
            host = str(ipaddress.ip_network(f"{host}/64", strict=False).network_address) + "/64"
        except ValueError:
            pass
    return "ip:" + host


def _json(status: int, message: str, headers: list[tuple[bytes, bytes]]) -> tuple[dict, dict]:
    body = orjson.dumps({"status": message})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class RequestLimits:
    """The query-string bound (414) for every request, then the rate limit
    (429) for every path but EXEMPT_PATHS. `buckets` is None when the rate
    limit is off (RATE_LIMIT_PER_MINUTE=0)."""

    def __init__(self, app, buckets: LocalBuckets | RedisBuckets | None, per_minute: int = 0, burst: int = 0,
                 metrics: Any = None) -> None:
        self.app = app
        self.buckets = buckets
        self.metrics = metrics
        self.limit_header = (b"x-ratelimit-limit", str(per_minute).encode())
        self.message = (
            f"Rate limit exceeded: at most {per_minute} requests a minute (bursts of {burst}). Retry after {{}} s."
        )
        self.refused_message = (
            f"Too many requests with invalid credentials from this address: at most {per_minute} a minute"
            f" (bursts of {burst}). Retry after {{}} s."
        )
        # client address -> the time its requests with credentials are let
        # through again (their failures' bucket is empty until then), in the
        # order they were set; bounded as the in-process buckets are
        self.refused_until: OrderedDict[str, float] = OrderedDict()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING:
            start, body = _json(414, f"Query string too long: at most {MAX_QUERY_STRING} bytes.", [])
            await send(start)
            await send(body)
            return
        if self.buckets is None or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        identity = identity_of(scope)
        # the address a refused credential is charged to; None without one
        address = None if identity.startswith("ip:") else address_of(scope)
        if address is not None and (wait := self._refused_for(address)) > 0:
            await self._refuse(send, self.refused_message, math.ceil(wait), [self.limit_header, _NONE_LEFT])
            return
        decision = self.buckets.take(identity)
        if not isinstance(decision, Decision):
            decision = await decision
        headers = [self.limit_header, (b"x-ratelimit-remaining", str(decision.remaining).encode())]
        if not decision.allowed:
            await self._refuse(send, self.message, decision.retry_after, headers)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                if address is not None and message["status"] == 401:
                    await self._charge_refused_credential(address)
                message = dict(message, headers=[*message.get("headers", ()), *headers])
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send, message: str, retry_after: int, headers: list[tuple[bytes, bytes]]) -> None:
        if self.metrics is not None:
            self.metrics.rate_limited.inc()
        start, body = _json(429, message.format(retry_after), [(b"retry-after", str(retry_after).encode()), *headers])
        await send(start)
        await send(body)

    def _refused_for(self, address: str) -> float:
        """Seconds the address's requests with credentials stay refused."""
        until = self.refused_until.get(address)
        if until is None:
            return 0.0
        wait = until - self.buckets.clock()
        if wait <= 0:
            del self.refused_until[address]
        return wait

    async def _charge_refused_credential(self, address: str) -> None:
        decision = self.buckets.take(_REFUSED_PREFIX + address)
        if not isinstance(decision, Decision):
            decision = await decision
        if decision.empty_for <= 0:
            return
        now = self.buckets.clock()
        refused = self.refused_until
        refused.pop(address, None)
        refused[address] = now + decision.empty_for
        # every wait is at most one token's time, so entries lapse about in
        # the order they were made: the oldest are dropped first
        while refused and (next(iter(refused.values())) <= now or len(refused) > MAX_BUCKETS):
            refused.popitem(last=False)


# the bucket charged with an address's requests whose credential was refused
_REFUSED_PREFIX = "refused:"
_NONE_LEFT = (b"x-ratelimit-remaining", b"0")


def build(settings: Any, metrics: Any = None) -> LocalBuckets | RedisBuckets | None:
    """The buckets the settings ask for: None (off), Redis or in-process."""
    if settings.rate_limit_per_minute <= 0:
        return None
    if settings.redis_url:
        return RedisBuckets(settings.redis_url, settings.rate_limit_per_minute, settings.rate_limit_burst, metrics)
    return LocalBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
