-- Indexes for the leaderboard (server/queries/players.py leaderboard):
-- a mode's stats rows in the order of the sort column, so the query reads
-- stats by (mode, column) instead of every player. Our own indexes on
-- bancho.py's stats table; its columns and keys are left as they are.
-- Every index on a table of bancho.py's is built online (ALGORITHM=INPLACE,
-- LOCK=NONE: a live bancho.py reads and writes the table meanwhile; a build
-- that could not run so fails rather than lock the table).
CREATE INDEX api_stats_mode_pp_index ON stats (mode, pp) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_tscore_index ON stats (mode, tscore) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_stats_mode_rscore_index ON stats (mode, rscore) ALGORITHM=INPLACE LOCK=NONE;
