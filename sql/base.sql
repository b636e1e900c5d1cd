-- bancho.py's database schema (MySQL/MariaDB), table for table, column for
-- column, with its keys and indexes, so that an existing bancho.py database
-- is served as it is. Load it into an empty database by hand
-- (`mariadb DB < sql/base.sql`) or with `python -m server db migrate`.
-- The SQLite form is generated from this file (server/schema.py): edit here.
-- Layout rule the generator relies on: one column or key per line.

CREATE TABLE achievements (
    id INT AUTO_INCREMENT PRIMARY KEY,
    file VARCHAR(128) NOT NULL,
    name VARCHAR(128) CHARSET utf8 NOT NULL,
    `desc` VARCHAR(256) CHARSET utf8 NOT NULL,
    cond VARCHAR(64) NOT NULL,
    CONSTRAINT achievements_desc_uindex UNIQUE (`desc`),
    CONSTRAINT achievements_file_uindex UNIQUE (file),
    CONSTRAINT achievements_name_uindex UNIQUE (name)
);

CREATE TABLE channels (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(32) NOT NULL,
    topic VARCHAR(256) NOT NULL,
    read_priv INT DEFAULT 1 NOT NULL,
    write_priv INT DEFAULT 2 NOT NULL,
    auto_join TINYINT(1) DEFAULT 0 NOT NULL,
    CONSTRAINT channels_name_uindex UNIQUE (name)
);
CREATE INDEX channels_auto_join_index ON channels (auto_join);

CREATE TABLE clans (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(16) CHARSET utf8 NOT NULL,
    tag VARCHAR(6) CHARSET utf8 NOT NULL,
    owner INT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT clans_name_uindex UNIQUE (name),
    CONSTRAINT clans_owner_uindex UNIQUE (owner),
    CONSTRAINT clans_tag_uindex UNIQUE (tag)
);

CREATE TABLE client_hashes (
    userid INT NOT NULL,
    osupath CHAR(32) NOT NULL,
    adapters CHAR(32) NOT NULL,
    uninstall_id CHAR(32) NOT NULL,
    disk_serial CHAR(32) NOT NULL,
    latest_time DATETIME NOT NULL,
    occurrences INT DEFAULT 0 NOT NULL,
    PRIMARY KEY (userid, osupath, adapters, uninstall_id, disk_serial)
);

CREATE TABLE comments (
    id INT AUTO_INCREMENT PRIMARY KEY,
    target_id INT NOT NULL COMMENT 'replay, map, or set id',
    target_type ENUM('replay', 'map', 'song') NOT NULL,
    userid INT NOT NULL,
    time INT NOT NULL,
    comment VARCHAR(80) CHARSET utf8 NOT NULL,
    colour CHAR(6) NULL COMMENT 'rgb hex string'
);

CREATE TABLE favourites (
    userid INT NOT NULL,
    setid INT NOT NULL,
    created_at INT DEFAULT 0 NOT NULL,
    PRIMARY KEY (userid, setid)
);

CREATE TABLE ingame_logins (
    id INT AUTO_INCREMENT PRIMARY KEY,
    userid INT NOT NULL,
    ip VARCHAR(45) NOT NULL COMMENT 'maxlen for ipv6',
    osu_ver DATE NOT NULL,
    osu_stream VARCHAR(11) NOT NULL,
    datetime DATETIME NOT NULL
);

CREATE TABLE relationships (
    user1 INT NOT NULL,
    user2 INT NOT NULL,
    type ENUM('friend', 'block') NOT NULL,
    PRIMARY KEY (user1, user2)
);

CREATE TABLE logs (
    id INT AUTO_INCREMENT PRIMARY KEY,
    `from` INT NOT NULL COMMENT 'both from and to are playerids',
    `to` INT NOT NULL,
    `action` VARCHAR(32) NOT NULL,
    msg VARCHAR(2048) CHARSET utf8 NULL,
    time DATETIME NOT NULL ON UPDATE CURRENT_TIMESTAMP
);

CREATE TABLE mail (
    id INT AUTO_INCREMENT PRIMARY KEY,
    from_id INT NOT NULL,
    to_id INT NOT NULL,
    msg VARCHAR(2048) CHARSET utf8 NOT NULL,
    time INT NULL,
    `read` TINYINT(1) DEFAULT 0 NOT NULL
);

CREATE TABLE maps (
    server ENUM('osu!', 'private') DEFAULT 'osu!' NOT NULL,
    id INT NOT NULL,
    set_id INT NOT NULL,
    status INT NOT NULL,
    md5 CHAR(32) NOT NULL,
    artist VARCHAR(128) CHARSET utf8 NOT NULL,
    title VARCHAR(128) CHARSET utf8 NOT NULL,
    version VARCHAR(128) CHARSET utf8 NOT NULL,
    creator VARCHAR(19) CHARSET utf8 NOT NULL,
    filename VARCHAR(256) CHARSET utf8 NOT NULL,
    last_update DATETIME NOT NULL,
    total_length INT NOT NULL,
    max_combo INT NOT NULL,
    frozen TINYINT(1) DEFAULT 0 NOT NULL,
    plays INT DEFAULT 0 NOT NULL,
    passes INT DEFAULT 0 NOT NULL,
    mode TINYINT(1) DEFAULT 0 NOT NULL,
    bpm FLOAT(12,2) DEFAULT 0.00 NOT NULL,
    cs FLOAT(4,2) DEFAULT 0.00 NOT NULL,
    ar FLOAT(4,2) DEFAULT 0.00 NOT NULL,
    od FLOAT(4,2) DEFAULT 0.00 NOT NULL,
    hp FLOAT(4,2) DEFAULT 0.00 NOT NULL,
    diff FLOAT(6,3) DEFAULT 0.000 NOT NULL,
    PRIMARY KEY (server, id),
    CONSTRAINT maps_id_uindex UNIQUE (id),
    CONSTRAINT maps_md5_uindex UNIQUE (md5)
);
CREATE INDEX maps_set_id_index ON maps (set_id);
CREATE INDEX maps_status_index ON maps (status);
CREATE INDEX maps_filename_index ON maps (filename);
CREATE INDEX maps_plays_index ON maps (plays);
CREATE INDEX maps_mode_index ON maps (mode);
CREATE INDEX maps_frozen_index ON maps (frozen);

CREATE TABLE mapsets (
    server ENUM('osu!', 'private') DEFAULT 'osu!' NOT NULL,
    id INT NOT NULL,
    last_osuapi_check DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
    PRIMARY KEY (server, id),
    CONSTRAINT nmapsets_id_uindex UNIQUE (id)
);

CREATE TABLE map_requests (
    id INT AUTO_INCREMENT PRIMARY KEY,
    map_id INT NOT NULL,
    player_id INT NOT NULL,
    datetime DATETIME NOT NULL,
    active TINYINT(1) NOT NULL
);

CREATE TABLE performance_reports (
    scoreid BIGINT(20) UNSIGNED NOT NULL,
    mod_mode ENUM('vanilla', 'relax', 'autopilot') DEFAULT 'vanilla' NOT NULL,
    os VARCHAR(64) NOT NULL,
    fullscreen TINYINT(1) NOT NULL,
    fps_cap VARCHAR(16) NOT NULL,
    compatibility TINYINT(1) NOT NULL,
    version VARCHAR(16) NOT NULL,
    start_time INT NOT NULL,
    end_time INT NOT NULL,
    frame_count INT NOT NULL,
    spike_frames INT NOT NULL,
    aim_rate INT NOT NULL,
    completion TINYINT(1) NOT NULL,
    identifier VARCHAR(128) NULL COMMENT 'really don''t know much about this yet',
    average_frametime INT NOT NULL,
    PRIMARY KEY (scoreid, mod_mode)
);

CREATE TABLE ratings (
    userid INT NOT NULL,
    map_md5 CHAR(32) NOT NULL,
    rating TINYINT(2) NOT NULL,
    PRIMARY KEY (userid, map_md5)
);

CREATE TABLE scores (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    map_md5 CHAR(32) NOT NULL,
    score INT NOT NULL,
    pp FLOAT(7,3) NOT NULL,
    acc FLOAT(6,3) NOT NULL,
    max_combo INT NOT NULL,
    mods INT NOT NULL,
    n300 INT NOT NULL,
    n100 INT NOT NULL,
    n50 INT NOT NULL,
    nmiss INT NOT NULL,
    ngeki INT NOT NULL,
    nkatu INT NOT NULL,
    grade VARCHAR(2) DEFAULT 'N' NOT NULL,
    status TINYINT NOT NULL,
    mode TINYINT NOT NULL,
    play_time DATETIME NOT NULL,
    time_elapsed INT NOT NULL,
    client_flags INT NOT NULL,
    userid INT NOT NULL,
    perfect TINYINT(1) NOT NULL,
    online_checksum CHAR(32) NOT NULL
);
CREATE INDEX scores_map_md5_index ON scores (map_md5);
CREATE INDEX scores_score_index ON scores (score);
CREATE INDEX scores_pp_index ON scores (pp);
CREATE INDEX scores_mods_index ON scores (mods);
CREATE INDEX scores_status_index ON scores (status);
CREATE INDEX scores_mode_index ON scores (mode);
CREATE INDEX scores_play_time_index ON scores (play_time);
CREATE INDEX scores_userid_index ON scores (userid);
CREATE INDEX scores_online_checksum_index ON scores (online_checksum);
CREATE INDEX scores_fetch_leaderboard_generic_index ON scores (map_md5, status, mode);

CREATE TABLE startups (
    id INT AUTO_INCREMENT PRIMARY KEY,
    ver_major TINYINT NOT NULL,
    ver_minor TINYINT NOT NULL,
    ver_micro TINYINT NOT NULL,
    datetime DATETIME NOT NULL
);

CREATE TABLE stats (
    id INT AUTO_INCREMENT,
    mode TINYINT(1) NOT NULL,
    tscore BIGINT UNSIGNED DEFAULT 0 NOT NULL,
    rscore BIGINT UNSIGNED DEFAULT 0 NOT NULL,
    pp INT UNSIGNED DEFAULT 0 NOT NULL,
    pp_total INT UNSIGNED DEFAULT 0 NOT NULL,
    pp_stddev INT UNSIGNED DEFAULT 0 NOT NULL,
    plays INT UNSIGNED DEFAULT 0 NOT NULL,
    playtime INT UNSIGNED DEFAULT 0 NOT NULL,
    acc FLOAT(6,3) DEFAULT 0.000 NOT NULL,
    max_combo INT UNSIGNED DEFAULT 0 NOT NULL,
    total_hits INT UNSIGNED DEFAULT 0 NOT NULL,
    replay_views INT UNSIGNED DEFAULT 0 NOT NULL,
    xh_count INT UNSIGNED DEFAULT 0 NOT NULL,
    x_count INT UNSIGNED DEFAULT 0 NOT NULL,
    sh_count INT UNSIGNED DEFAULT 0 NOT NULL,
    s_count INT UNSIGNED DEFAULT 0 NOT NULL,
    a_count INT UNSIGNED DEFAULT 0 NOT NULL,
    PRIMARY KEY (id, mode)
);
CREATE INDEX stats_mode_index ON stats (mode);
CREATE INDEX stats_pp_index ON stats (pp);
CREATE INDEX stats_tscore_index ON stats (tscore);
CREATE INDEX stats_rscore_index ON stats (rscore);

CREATE TABLE tourney_pool_maps (
    map_id INT NOT NULL,
    pool_id INT NOT NULL,
    mods INT NOT NULL,
    slot TINYINT NOT NULL,
    PRIMARY KEY (map_id, pool_id)
);
CREATE INDEX tourney_pool_maps_mods_slot_index ON tourney_pool_maps (mods, slot);
CREATE INDEX tourney_pool_maps_tourney_pools_id_fk ON tourney_pool_maps (pool_id);

CREATE TABLE tourney_pools (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(16) NOT NULL,
    created_at DATETIME NOT NULL,
    created_by INT NOT NULL
);
CREATE INDEX tourney_pools_users_id_fk ON tourney_pools (created_by);

CREATE TABLE user_achievements (
    userid INT NOT NULL,
    achid INT NOT NULL,
    PRIMARY KEY (userid, achid)
);
CREATE INDEX user_achievements_achid_index ON user_achievements (achid);
CREATE INDEX user_achievements_userid_index ON user_achievements (userid);

CREATE TABLE users (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(32) CHARSET utf8 NOT NULL,
    safe_name VARCHAR(32) CHARSET utf8 NOT NULL,
    email VARCHAR(254) NOT NULL,
    priv INT DEFAULT 1 NOT NULL,
    pw_bcrypt CHAR(60) NOT NULL,
    country CHAR(2) DEFAULT 'xx' NOT NULL,
    silence_end INT DEFAULT 0 NOT NULL,
    donor_end INT DEFAULT 0 NOT NULL,
    creation_time INT DEFAULT 0 NOT NULL,
    latest_activity INT DEFAULT 0 NOT NULL,
    clan_id INT DEFAULT 0 NOT NULL,
    clan_priv TINYINT(1) DEFAULT 0 NOT NULL,
    preferred_mode INT DEFAULT 0 NOT NULL,
    play_style INT DEFAULT 0 NOT NULL,
    custom_badge_name VARCHAR(16) CHARSET utf8 NULL,
    custom_badge_icon VARCHAR(64) NULL,
    userpage_content VARCHAR(2048) CHARSET utf8 NULL,
    api_key CHAR(36) NULL,
    CONSTRAINT users_api_key_uindex UNIQUE (api_key),
    CONSTRAINT users_email_uindex UNIQUE (email),
    CONSTRAINT users_name_uindex UNIQUE (name),
    CONSTRAINT users_safe_name_uindex UNIQUE (safe_name)
);
CREATE INDEX users_priv_index ON users (priv);
CREATE INDEX users_clan_id_index ON users (clan_id);
CREATE INDEX users_clan_priv_index ON users (clan_priv);
CREATE INDEX users_country_index ON users (country);

-- The bot account bancho.py creates on install (user 1), with its stats rows.
INSERT INTO users (id, name, safe_name, priv, country, silence_end, email, pw_bcrypt, creation_time, latest_activity)
VALUES (1, 'BanchoBot', 'banchobot', 1, 'ca', 0, 'bot@akatsuki.pw', '_______________________my_cool_bcrypt_______________________', UNIX_TIMESTAMP(), UNIX_TIMESTAMP());

INSERT INTO stats (id, mode) VALUES (1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 8);

-- User id 2 is ppy's in osu!; the client refuses to message it.
ALTER TABLE users AUTO_INCREMENT = 3;
ALTER TABLE stats AUTO_INCREMENT = 3;
