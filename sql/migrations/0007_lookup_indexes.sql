-- Indexes for lookups of maps and what is kept about them. Our own indexes
-- on bancho.py's tables, built online (see 0005); its columns and keys stay
-- as they are.

-- What v1 get_beatmaps shows beside each map (server/queries/maps.py
-- find_maps): its set's favourite count and its average rating. bancho.py
-- keys both tables by player first (PRIMARY KEY (userid, setid) and
-- (userid, map_md5)), so counting one map's ratings or one set's
-- favourites read the whole table (tests/test_explain.py watches them).
CREATE INDEX api_favourites_set_index ON favourites (setid) ALGORITHM=INPLACE LOCK=NONE;
CREATE INDEX api_ratings_map_index ON ratings (map_md5) ALGORITHM=INPLACE LOCK=NONE;

-- A player's best scores keep those on maps of some statuses
-- (server/queries/scores.py player_scores): each score's map status read
-- from this index alone, one lookup, where md5's unique index then the
-- row took two (and MariaDB first built a filter of every map with the
-- status, for each query).
CREATE INDEX api_maps_md5_status_index ON maps (md5, status) ALGORITHM=INPLACE LOCK=NONE;
