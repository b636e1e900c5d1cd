-- What v1 get_beatmaps shows beside each map (server/queries/maps.py
-- find_maps): its set's favourite count and its average rating. bancho.py
-- keys both tables by player first (PRIMARY KEY (userid, setid) and
-- (userid, map_md5)), so counting one map's ratings or one set's
-- favourites read the whole table (tests/test_explain.py watches them
-- now). Our own indexes; bancho.py's columns and keys stay as they are.
CREATE INDEX api_favourites_set_index ON favourites (setid);
CREATE INDEX api_ratings_map_index ON ratings (map_md5);
