"""OAuth2 for the osu!api v2 compatibility layer: registered clients, the
client credentials grant, and the access tokens it issues.

Clients are kept like v1 keys (server/credentials.py): a client's secret
(40 random hex characters, like osu.ppy.sh's) is shown once, when the client
is created, and only its SHA-256 digest is stored in `oauth_clients`.

Access tokens are JWTs signed with HS256, as osu-web's Passport tokens are
JWTs (RS256 there): clients such as aiosu decode them, unverified, for
`scopes` and `sub`. The claims are `aud` (the client id, a string), `jti`,
`iat`, `nbf`, `exp`, `sub` ("" for a client credentials token: no user) and
`scopes` (a list of scope names). The signing secret is the setting
OAUTH_SECRET; without it, one is generated at first use and kept in the
table `oauth_signing_secret`, so every process over the same database
(servers and the CLI) signs and checks with the same one. Tokens are
stateless except for revocation: `DELETE /api/v2/oauth/tokens/current`
records the token's `jti` in `oauth_revoked_tokens` until it expires.

PyJWT does the encoding and the checks (signature, algorithm pinned to
HS256, expiry, not-before, required claims)."""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from . import credentials
from .db import Database, is_duplicate_key

MAX_SECRET_LENGTH = 128
ALGORITHM = "HS256"
# the scopes a client credentials token may carry: osu-web allows `public`
# and `delegate`; delegation needs a client owner, which we do not keep
GRANTABLE_SCOPES = ("public",)
DEFAULT_SCOPES = ["public"]
# how long a stored revocation outlives its token's expiry (clock skew)
_REVOCATION_MARGIN = 60


CLIENTS = credentials.CredentialTable("oauth_clients", "secret_hash")


# --- clients -------------------------------------------------------------------


async def create_client(db: Database, name: str) -> tuple[int, str]:
    """Register a client; returns its id and its secret, which is not stored."""
    return await credentials.create(db, CLIENTS, name)


async def list_clients(db: Database) -> list[dict[str, Any]]:
    return await credentials.list_all(db, CLIENTS)


async def revoke_client(db: Database, client_id: int) -> bool:
    """Revoke a client: it gets no new tokens, and its tokens stop working.
    False if there is no such active client."""
    return await credentials.revoke(db, CLIENTS, client_id)


async def client_is_active(db: Database, client_id: int) -> bool:
    row = await db.fetch_one(
        "SELECT id FROM oauth_clients WHERE id = :id AND revoked_at IS NULL", {"id": client_id}
    )
    return row is not None


async def authenticate_client(db: Database, client_id: Any, secret: Any) -> int | None:
    """The client's id if the credentials belong to an active client."""
    try:
        number = int(str(client_id).strip())
    except ValueError:
        return None
    if not 0 < number < 2**31 or not isinstance(secret, str) or not 0 < len(secret) <= MAX_SECRET_LENGTH:
        return None
    row = await db.fetch_one(
        "SELECT secret_hash FROM oauth_clients WHERE id = :id AND revoked_at IS NULL", {"id": number}
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], credentials.digest(secret)):
        return None
    return number


# --- the signing secret -------------------------------------------------------------


async def signing_secret(db: Database, configured: str | None) -> str:
    """OAUTH_SECRET when set; otherwise the generated secret kept in the
    database (made on first use; of two concurrent first uses one wins)."""
    if configured:
        return configured
    stored = await db.fetch_val("SELECT secret FROM oauth_signing_secret WHERE id = 1")
    if stored:
        return stored
    try:
        await db.execute(
            "INSERT INTO oauth_signing_secret (id, secret, created_at) VALUES (1, :secret, :now)",
            {"secret": secrets.token_hex(32), "now": int(time.time())},
        )
    except Exception as exc:
        if not is_duplicate_key(exc):
            raise
        # another process inserted it first: theirs is the one
    return await db.fetch_val("SELECT secret FROM oauth_signing_secret WHERE id = 1")


# --- tokens ---------------------------------------------------------------------------


class ScopeError(ValueError):
    pass


def granted_scopes(requested: str | None) -> list[str]:
    """The scopes for a client credentials token: a missing or empty `scope`
    is `public` (lenient, unlike osu-web); anything else must be grantable."""
    names = (requested or "").replace(",", " ").split()
    if not names:
        return list(DEFAULT_SCOPES)
    for name in names:
        if name not in GRANTABLE_SCOPES:
            raise ScopeError(name)
    return list(dict.fromkeys(names))


def issue_token(secret: str, client_id: int, scopes: list[str], ttl: int, *, now: int | None = None) -> str:
    now = int(time.time()) if now is None else now
    claims = {
        "aud": str(client_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "sub": "",
        "scopes": scopes,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Token:
    client_id: int
    jti: str
    expires_at: int
    scopes: tuple[str, ...]


def decode_token(secret: str, token: str) -> Token | None:
    """The token's claims if its signature, algorithm and times hold."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["aud", "jti", "exp", "scopes"], "verify_aud": False},
            leeway=0,
        )
        scopes = claims["scopes"]
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return None
        return Token(int(claims["aud"]), str(claims["jti"]), int(claims["exp"]), tuple(scopes))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


async def is_revoked(db: Database, token: Token) -> bool:
    row = await db.fetch_one("SELECT jti FROM oauth_revoked_tokens WHERE jti = :jti", {"jti": token.jti})
    return row is not None


async def revoke_token(db: Database, token: Token) -> None:
    """Remember the token as revoked until it expires (expired revocations
    are dropped on the way)."""
    now = int(time.time())
    await db.execute("DELETE FROM oauth_revoked_tokens WHERE expires_at < :now", {"now": now})
    if not await is_revoked(db, token):
        try:
            await db.execute(
                "INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES (:jti, :expires_at)",
                {"jti": token.jti, "expires_at": token.expires_at + _REVOCATION_MARGIN},
            )
        except Exception as exc:
            if not is_duplicate_key(exc):
                raise
            # revoked concurrently: the row is there either way
