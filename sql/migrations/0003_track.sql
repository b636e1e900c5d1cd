-- The osu!track-compatible layer (server/track.py, served under /track/):
-- snapshots of a player's stats in one mode, the top plays recorded at each
-- snapshot, the per-player lock and rate-limit row, and the progress of the
-- scheduled snapshot job.
-- Our own tables, not bancho.py's. Times are Unix milliseconds (osu!track
-- answers timestamps with milliseconds); score_time is scores.play_time read
-- as UTC. Modes are bancho.py's (0-3 vanilla, 4-6 relax, 8 autopilot).
-- Layout rule the SQLite generator relies on: one column or key per line.

CREATE TABLE track_snapshots (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    user_id INT NOT NULL,
    mode TINYINT NOT NULL,
    count300 INT UNSIGNED NOT NULL,
    count100 INT UNSIGNED NOT NULL,
    count50 INT UNSIGNED NOT NULL,
    playcount INT UNSIGNED NOT NULL,
    ranked_score BIGINT UNSIGNED NOT NULL,
    total_score BIGINT UNSIGNED NOT NULL,
    pp_rank INT UNSIGNED NULL,
    pp_country_rank INT UNSIGNED NULL,
    level DOUBLE NOT NULL,
    pp_raw DOUBLE NOT NULL,
    accuracy DOUBLE NOT NULL,
    count_rank_ss INT UNSIGNED NOT NULL,
    count_rank_ssh INT UNSIGNED NOT NULL,
    count_rank_s INT UNSIGNED NOT NULL,
    count_rank_sh INT UNSIGNED NOT NULL,
    count_rank_a INT UNSIGNED NOT NULL,
    max_combo INT UNSIGNED NOT NULL DEFAULT 0,
    total_hits INT UNSIGNED NOT NULL DEFAULT 0,
    playtime INT UNSIGNED NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    -- stats_history, peak and the previous snapshot read a player's rows by
    -- time; two snapshots of one player and mode never share a millisecond
    CONSTRAINT track_snapshots_user_mode_time_uindex UNIQUE (user_id, mode, created_at)
);

CREATE TABLE track_hiscores (
    id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    user_id INT NOT NULL,
    mode TINYINT NOT NULL,
    score_id BIGINT UNSIGNED NOT NULL,
    beatmap_id INT NOT NULL,
    score INT NOT NULL,
    pp DOUBLE NOT NULL,
    mods INT NOT NULL,
    grade VARCHAR(2) NOT NULL,
    score_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    -- a top play is recorded once, however many updates see it
    CONSTRAINT track_hiscores_user_mode_score_uindex UNIQUE (user_id, mode, score_id)
);

-- hiscores: one player's plays by score_time
CREATE INDEX track_hiscores_user_mode_time_index ON track_hiscores (user_id, mode, score_time);
-- bestplays: everyone's plays in a mode by pp
CREATE INDEX track_hiscores_mode_pp_index ON track_hiscores (mode, pp);

-- One row per player and mode: the lock an update claims with a conditional
-- UPDATE (lock_token, held until locked_until) and the time of the last
-- accepted /update, for the rate limit.
CREATE TABLE track_state (
    user_id INT NOT NULL,
    mode TINYINT NOT NULL,
    last_update_at BIGINT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    lock_token CHAR(32) NULL,
    PRIMARY KEY (user_id, mode)
);

-- The scheduled snapshot job: its current (or last) run and how far it got,
-- so an interrupted run resumes where it stopped; a lease like track_state's
-- keeps two runs from overlapping.
CREATE TABLE track_jobs (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    started_at BIGINT NULL,
    finished_at BIGINT NULL,
    active_since INT NOT NULL DEFAULT 0,
    batch_size INT NOT NULL DEFAULT 0,
    cursor_user_id INT NOT NULL DEFAULT 0,
    players_total INT NOT NULL DEFAULT 0,
    players_done INT NOT NULL DEFAULT 0,
    snapshots INT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    lock_token CHAR(32) NULL
);
