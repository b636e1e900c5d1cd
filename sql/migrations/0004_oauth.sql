-- OAuth2 for the osu!api v2 compatibility layer (server/oauth.py): the
-- registered clients (only the SHA-256 hex digest of each secret is stored;
-- the secret is shown once, when the client is created), the ids (jti) of
-- access tokens revoked before their expiry, and the token-signing secret
-- generated at first use when the setting OAUTH_SECRET is not given.
-- Our own tables, not bancho.py's. Times are Unix seconds.
-- Layout rule the SQLite generator relies on: one column or key per line.

CREATE TABLE oauth_clients (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    secret_hash CHAR(64) NOT NULL,
    created_at INT NOT NULL,
    revoked_at INT NULL
);

CREATE TABLE oauth_revoked_tokens (
    jti CHAR(32) NOT NULL PRIMARY KEY,
    expires_at INT NOT NULL
);

CREATE TABLE oauth_signing_secret (
    id TINYINT NOT NULL PRIMARY KEY,
    secret CHAR(64) NOT NULL,
    created_at INT NOT NULL
);
