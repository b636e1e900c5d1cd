-- Indexes that let every listing read only the rows it returns (server/
-- queries/scores.py, players.py; checked by tests/test_explain.py at bench
-- scale). Each one serves a WHERE of equalities followed by the ORDER BY of
-- one listing, so the database walks the index in order and stops at the
-- LIMIT instead of sorting every matching row. A DESC key part matches an
-- ORDER BY that mixes directions (score DESC, play_time ASC); the primary
-- key that every InnoDB and SQLite index ends with gives the id tie-break.
-- Our own indexes on bancho.py's tables, built online (see 0005); its
-- columns and keys stay as they are. Dropping an index changes no rows and
-- needs no ALGORITHM clause (MariaDB takes none on dropping an index).

-- a player's best scores by pp, their recent scores, their most played maps
CREATE INDEX api_scores_user_best_index ON scores (userid, mode, status, pp) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_scores_user_recent_index ON scores (userid, mode, play_time) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_scores_user_map_index ON scores (userid, mode, map_md5) ALGORITHM=INPLACE LOCK=NONE;
-- a map's leaderboard by score (vanilla) or pp (relax, autopilot), and its
-- newest best scores
CREATE INDEX api_scores_map_score_index ON scores (map_md5, mode, status, score DESC, play_time) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_scores_map_pp_index ON scores (map_md5, mode, status, pp DESC, play_time) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_scores_map_recent_index ON scores (map_md5, mode, status, play_time) ALGORITHM=INPLACE LOCK=NONE;

-- the player leaderboard, for each sort, best first and ties by id (0005's
-- ascending indexes could not give that order)
DROP INDEX api_stats_mode_pp_index ON stats;
DROP INDEX api_stats_mode_tscore_index ON stats;
DROP INDEX api_stats_mode_rscore_index ON stats;
CREATE INDEX api_stats_mode_pp_index ON stats (mode, pp DESC) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_tscore_index ON stats (mode, tscore DESC) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_rscore_index ON stats (mode, rscore DESC) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_acc_index ON stats (mode, acc DESC) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_plays_index ON stats (mode, plays DESC) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_playtime_index ON stats (mode, playtime DESC) ALGORITHM=INPLACE LOCK=NONE;
