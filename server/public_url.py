"""The base of the absolute URLs in answers (osu!api v2's avatar_url and
beatmap url). Never simply the request's Host header, which the client
chooses: a forged Host would put the forger's links into the answers
(and into any cache in front). PUBLIC_URL names the service's own URLs;
a request addressed to one of them gets that one, any other the first.
Unset, a request addressed to this machine's loopback gets its own
address back (a local test harness on a random port), and any other
`http://localhost[:PORT]/`."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request


def parse_public_urls(value: str) -> tuple[str, ...]:
    """PUBLIC_URL's comma-separated URLs, each as `scheme://host[:port]/path/`;
    ValueError names the first that is not an http(s) URL of a host."""
    urls = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{entry!r} is not an http:// or https:// URL of a host")
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise ValueError(f"{entry!r} has a port that is not a number") from None
        urls.append(f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}/")
    return tuple(urls)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PublicURLs:
    def __init__(self, configured: tuple[str, ...], port: int) -> None:
        self.configured = configured
        self._by_origin = {_origin(url): url for url in reversed(configured)}
        self.fallback = "http://localhost/" if port in (0, 80) else f"http://localhost:{port}/"

    def base(self, request: Request) -> str:
        """The base URL (ending in /) for absolute URLs in this answer."""
        url = request.url
        if self.configured:
            return self._by_origin.get(f"{url.scheme}://{url.netloc.lower()}", self.configured[0])
        if url.hostname and _is_loopback(url.hostname.lower()):
            return str(request.base_url)
        return self.fallback
