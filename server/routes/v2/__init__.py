"""Routes of the osu!api v2 compatibility layer: `POST /oauth/token` (the
client credentials grant) and the read side of `/api/v2/` over bancho.py's
data. Every path also answers with a trailing slash (osu.py sends one).

Every /api/v2 route needs `Authorization: Bearer <token>` carrying the
`public` scope; failures answer as osu.ppy.sh does: 401
`{"authentication":"basic"}` for a missing, malformed, badly signed, expired
or revoked token (or one of a revoked client), 403 for a missing scope, 404
`{"error":null}` for what does not exist, 422 for an invalid parameter
(common.py).

Only the vanilla rulesets exist in v2 (osu, taiko, fruits, mania: bancho.py
modes 0-3); relax and autopilot are not served here. Scores come in the
shape the `x-api-version` header asks for (formats.v2.score).

One module per part of the API: oauth, users, beatmaps (and beatmapsets),
scores (one score, rankings, search)."""

from __future__ import annotations

from . import beatmaps, oauth, scores, users

ENDPOINTS = [*oauth.ENDPOINTS, *users.ENDPOINTS, *beatmaps.ENDPOINTS, *scores.ENDPOINTS]
