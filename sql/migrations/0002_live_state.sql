-- Live state the game server pushes through the ingest API (server/routes/ingest.py):
-- who is online and doing what, and the multiplayer matches in play.
-- Our own tables, not bancho.py's. Times are Unix seconds; login_time keeps
-- the fraction the game server sends (bancho.py's time.time() at login).
-- A session whose heartbeat_at is older than PRESENCE_TTL, or a match whose
-- updated_at is older than MATCH_TTL, is expired: never served, and deleted
-- by the next ingest write.
-- Free text is utf8mb4 whatever the database's default, so any name fits.
-- Layout rule the SQLite generator relies on: one column or key per line.

CREATE TABLE live_sessions (
    user_id INT NOT NULL PRIMARY KEY,
    login_time DOUBLE NOT NULL,
    action TINYINT NOT NULL DEFAULT 0,
    info_text VARCHAR(256) CHARSET utf8mb4 NOT NULL DEFAULT '',
    mode TINYINT NOT NULL DEFAULT 0,
    mods INT NOT NULL DEFAULT 0,
    map_md5 CHAR(32) NOT NULL DEFAULT '',
    heartbeat_at INT NOT NULL
);

-- the online count and the clean-up both look sessions up by freshness
CREATE INDEX live_sessions_heartbeat_at_index ON live_sessions (heartbeat_at);

CREATE TABLE live_matches (
    id INT NOT NULL PRIMARY KEY,
    name VARCHAR(64) CHARSET utf8mb4 NOT NULL,
    mode TINYINT NOT NULL DEFAULT 0,
    mods INT NOT NULL DEFAULT 0,
    seed INT NOT NULL DEFAULT 0,
    host_id INT NOT NULL,
    in_progress TINYINT(1) NOT NULL DEFAULT 0,
    is_scrimming TINYINT(1) NOT NULL DEFAULT 0,
    map_id INT NOT NULL DEFAULT 0,
    map_md5 CHAR(32) NOT NULL DEFAULT '',
    map_name VARCHAR(256) CHARSET utf8mb4 NOT NULL DEFAULT '',
    created_at INT NOT NULL,
    updated_at INT NOT NULL
);

CREATE INDEX live_matches_updated_at_index ON live_matches (updated_at);

CREATE TABLE live_match_refs (
    match_id INT NOT NULL,
    user_id INT NOT NULL,
    PRIMARY KEY (match_id, user_id)
);

CREATE TABLE live_match_slots (
    match_id INT NOT NULL,
    slot TINYINT NOT NULL,
    user_id INT NOT NULL,
    status TINYINT UNSIGNED NOT NULL DEFAULT 0,
    team TINYINT NOT NULL DEFAULT 0,
    mods INT NOT NULL DEFAULT 0,
    loaded TINYINT(1) NOT NULL DEFAULT 0,
    skipped TINYINT(1) NOT NULL DEFAULT 0,
    PRIMARY KEY (match_id, slot)
);
