"""nginx/api.conf is a template with ${API_...} placeholders, rendered the way
the official nginx image's envsubst step renders it in docker-compose.yml
(only the named variables are replaced; nginx's own lowercase $variables are
left alone). Shared by tests/test_nginx.py and tests/test_compose.py."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Mapping

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "nginx" / "api.conf"


class _Template(string.Template):
    # only our own upper-case API_ names; $host, $remote_addr... stay as they are
    idpattern = r"API_[A-Z0-9_]+"
    flags = re.NOFLAG


def placeholders(text: str | None = None) -> set[str]:
    """The variables the template needs."""
    return set(_Template(TEMPLATE.read_text() if text is None else text).get_identifiers())


def render(values: Mapping[str, str], text: str | None = None) -> str:
    """The template with every placeholder filled; a missing value is an
    error, as a half-rendered configuration would be."""
    template = _Template(TEMPLATE.read_text() if text is None else text)
    missing = set(template.get_identifiers()) - set(values)
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    return template.safe_substitute(values)


def upstream_servers(addresses: list[str]) -> str:
    """API_UPSTREAM_SERVERS for these host:port addresses."""
    return " ".join(f"server {address};" for address in addresses)
