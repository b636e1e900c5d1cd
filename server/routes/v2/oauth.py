"""OAuth for the osu!api v2 layer: `POST /oauth/token` (the client
credentials grant) and revoking the token in use."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response

from ... import oauth
from ...endpoints import Endpoint
from ...params import Args, read_body
from ...responses import JSONResponse
from ...schemas import INT, OAUTH_ERROR, STR, enum, json_body, no_body, obj, request_body, status_error
from .common import TAG, db_of, endpoint

MAX_BODY_BYTES = 16 * 1024


def _token_error(status: int, error: str, description: str, hint: str | None = None) -> JSONResponse:
    body = {"error": error, "error_description": description, "message": description}
    if hint is not None:
        body["hint"] = hint
    return JSONResponse(body, status_code=status)


async def _token_fields(request: Request) -> dict[str, str]:
    """The token request's fields from a form or JSON body, with HTTP Basic
    credentials filling in client_id and client_secret."""
    fields: dict[str, str] = {}
    body = await read_body(request, MAX_BODY_BYTES, f"Request body too large: at most {MAX_BODY_BYTES} bytes.")
    if body:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict):
                fields = {str(k): str(v) for k, v in data.items() if v is not None}
        else:
            fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            client_id, secret = decoded.split(":", 1)
            fields.setdefault("client_id", unquote(client_id))
            fields.setdefault("client_secret", unquote(secret))
    return fields


async def token(request: Request, p: Args) -> Response:
    fields = await _token_fields(request)
    grant = fields.get("grant_type")
    if not grant:
        return _token_error(400, "invalid_request", "The request is missing a required parameter, includes an "
                            "invalid parameter value, includes a parameter more than once, or is otherwise "
                            "malformed.", 'Check the `grant_type` parameter')
    if grant != "client_credentials":
        return _token_error(400, "unsupported_grant_type", "The authorization grant type is not supported by "
                            "the authorization server.", "Check that all required parameters have been provided")
    db = db_of(request)
    client_id = await oauth.authenticate_client(db, fields.get("client_id"), fields.get("client_secret"))
    if client_id is None:
        return _token_error(401, "invalid_client", "Client authentication failed")
    try:
        scopes = oauth.granted_scopes(fields.get("scope"))
    except oauth.ScopeError as exc:
        return _token_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed",
                            f"Check the `{exc}` scope")
    settings = request.app.state.settings
    secret = await oauth.signing_secret(db, settings.oauth_secret)
    access_token = oauth.issue_token(secret, client_id, scopes, settings.oauth_token_ttl)
    return JSONResponse({"token_type": "Bearer", "expires_in": settings.oauth_token_ttl, "access_token": access_token})


async def revoke_current_token(request: Request, p: Args) -> Response:
    await oauth.revoke_token(db_of(request), request.state.token)
    return Response(status_code=204)


TOKEN_FIELDS = obj(optional={"grant_type": STR, "client_id": STR, "client_secret": STR, "scope": STR})

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "oauth_token", token, "An access token (client credentials grant)", TAG, ("/oauth/token", "/oauth/token/"),
        ("POST",),
        answers={200: json_body(obj({"token_type": enum("Bearer"), "expires_in": INT, "access_token": STR})),
                 400: json_body(OAUTH_ERROR, "Missing or unsupported grant type, or an invalid scope"),
                 401: json_body(OAUTH_ERROR, "Client authentication failed"),
                 413: status_error("Body too large")},
        body=request_body({"application/x-www-form-urlencoded": TOKEN_FIELDS, "application/json": TOKEN_FIELDS},
                          required=False),
    ),
    endpoint(revoke_current_token, "Revoke the token in use", "/api/v2/oauth/tokens/current", (), None,
             method="DELETE", scope=None, extra={204: no_body("Revoked")}),
]
