"""The route table: every endpoint of the service, each declared once in the
module of its API family, in the order the router tries them."""

from __future__ import annotations

from .. import openapi, ops
from ..endpoints import Endpoint
from . import account, bancho, bancho_v2, docs, ingest, pp, track, v1, v2


def endpoints() -> list[Endpoint]:
    return [*ops.ENDPOINTS, openapi.ENDPOINT, *docs.ENDPOINTS, *bancho.ENDPOINTS, *bancho_v2.ENDPOINTS, *v1.ENDPOINTS, *ingest.ENDPOINTS,
            *account.ENDPOINTS, *pp.ENDPOINTS, *track.ENDPOINTS, *v2.ENDPOINTS]
