-- API keys for the osu!api v1 compatibility layer, which takes a key `k` on
-- every request. Only the SHA-256 hex digest of each key is stored (see
-- server/keys.py); the key itself is shown once, when it is created.
-- Our own table, not bancho.py's. Times are Unix seconds.
-- Layout rule the SQLite generator relies on: one column or key per line.

CREATE TABLE api_keys (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    key_hash CHAR(64) NOT NULL,
    created_at INT NOT NULL,
    revoked_at INT NULL,
    CONSTRAINT api_keys_key_hash_uindex UNIQUE (key_hash)
);
