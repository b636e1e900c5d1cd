-- Indexes for the leaderboard (server/queries/players.py leaderboard):
-- a mode's stats rows in the order of the sort column, so the query reads
-- stats by (mode, column) instead of every player. Our own indexes on
-- bancho.py's stats table; its columns and keys are left as they are.
CREATE INDEX api_stats_mode_pp_index ON stats (mode, pp);
CREATE INDEX api_stats_mode_tscore_index ON stats (mode, tscore);
CREATE INDEX api_stats_mode_rscore_index ON stats (mode, rscore);
