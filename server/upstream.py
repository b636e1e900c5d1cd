"""Live state from a running bancho.py (LIVE_UPSTREAM_URL): who is online,
what each player is doing and the multiplayer matches live only in the game
server's memory, and a stock bancho.py never pushes them to the ingest API;
it answers them on its own API, so they are asked of it.

However many requests ask, each question (a path and its parameters) goes
upstream at most once a second: concurrent askers wait for the one call in
flight, and its answer (or its failure) serves every asker for a second.
A call past LIVE_UPSTREAM_TIMEOUT, refused, or answered with a server error
is UpstreamUnavailable, which the routes answer with 503; what comes from
the database goes on being served."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("server")

FRESH_FOR = 1.0  # seconds an answer serves every asker
# what a route answers (503) while the upstream does not
LIVE_UNAVAILABLE = "Live state unavailable: the game server's API does not answer."
KEPT = 10_000  # questions remembered at most (the least recently asked dropped first)


class UpstreamUnavailable(Exception):
    """The upstream bancho.py did not answer in time, or answered with a
    server error."""


class Upstream:
    def __init__(self, url: str, host: str | None = None, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        # bancho.py routes by host: its API answers only as api.<domain>
        self.host = host or urlsplit(self.url).netloc
        self._client = httpx.AsyncClient(base_url=self.url, headers={"Host": self.host}, timeout=timeout)
        self._answers: OrderedDict[tuple[str, tuple], tuple[float, Any]] = OrderedDict()
        self._asking: dict[tuple[str, tuple], asyncio.Future] = {}
        self.calls = 0  # made upstream so far (tests count them)

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        """(status, JSON body) of a GET upstream; 404s and 400s are answers
        too. Raises UpstreamUnavailable."""
        key = (path, tuple(sorted(params.items())))
        held = self._answers.get(key)
        if held is not None and time.monotonic() - held[0] < FRESH_FOR:
            self._answers.move_to_end(key)
            return _outcome(held[1])
        asking = self._asking.get(key)
        if asking is None:
            asking = self._asking[key] = asyncio.ensure_future(self._ask(key, path, params))
        # shielded: one asker cut off must not cancel the call the others wait for
        return _outcome(await asyncio.shield(asking))

    async def _ask(self, key: tuple[str, tuple], path: str, params: dict[str, Any]) -> Any:
        self.calls += 1
        try:
            answer = await self._client.get(path, params=params)
            if answer.status_code >= 500:
                raise UpstreamUnavailable(f"{path} answered {answer.status_code}")
            outcome: Any = (answer.status_code, answer.json())
        except (httpx.HTTPError, ValueError, UpstreamUnavailable) as exc:
            log.warning("live state: the upstream bancho.py at %s did not answer %s: %s", self.url, path, exc)
            outcome = UpstreamUnavailable(str(exc) or type(exc).__name__)
        finally:
            self._asking.pop(key, None)
        self._answers[key] = (time.monotonic(), outcome)
        self._answers.move_to_end(key)
        while len(self._answers) > KEPT:
            self._answers.popitem(last=False)
        return outcome

    async def close(self) -> None:
        await self._client.aclose()


def _outcome(held: Any) -> tuple[int, Any]:
    if isinstance(held, UpstreamUnavailable):
        raise held
    return held
