"""A deterministic, scalable data generator for bancho.py's schema.

    python -m bench.generate --database-url mysql://u:p@127.0.0.1:3306/bench \\
        --users 20000 --maps 20000 --scores 1000000 --seed 1

The same arguments give the same rows. bancho.py's schema is created first
where there is none, as its install does (nothing of this service's: its
migrations run afterwards, on the full data, as on a real server's); the
database must hold no players yet (besides bancho.py's bot). Skew, as a
live server has it:

- maps: popularity follows a Zipf law (a handful of maps carry a large share
  of all plays), in sets of 1-6 difficulties, every mode and status;
- players: activity follows a Pareto law (the most active have thousands of
  scores, most have a few), a few percent restricted (priv without the
  UNRESTRICTED bit), clans, friends, favourite sets and map ratings (on
  maps as popular as their plays);
- scores: failed (0), submitted (1) and best (2), at most one best per
  player, map and mode; grades follow from the hit counts;
- stats: one row per player and playable mode, summed up from the scores as
  bancho.py keeps them (pp and acc weighted over the top 100 bests on ranked
  and approved maps; tscore, rscore, plays, playtime, grade counts); maps'
  plays and passes too.

Rows go to MariaDB/MySQL as multi-row INSERTs (--batch rows a statement) on
the driver connection, produced by a thread while the previous statement
runs. Progress goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import itertools
import queue
import random
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Iterator

from server import constants
from server.constants import Mods, Privileges
from server.db import Database
from server.migrate import create_bancho_schema
from server.migration_steps import table_exists

FIRST_USER_ID = 3
FIRST_MAP_ID = 100_000
FIRST_SET_ID = 10_000
PLAYABLE = (0, 1, 2, 3, 4, 5, 6, 8)
DEFAULT_END = "2026-01-01"

_COUNTRIES = ["us", "de", "pl", "ru", "kr", "jp", "gb", "fr", "br", "ca", "au", "cn", "tw", "nl", "se",
              "fi", "ph", "id", "cl", "ar", "mx", "it", "es", "ua", "tr", "vn", "th", "my", "sg", "no"]
# roughly how osu!'s player base spreads over countries
_COUNTRY_WEIGHTS = [15, 8, 7, 7, 6, 6, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1, 1, 1, 1, 1, 1, 1, 1, 1]
_SYLLABLES = ["ka", "ri", "to", "mo", "su", "ne", "zo", "ra", "vi", "el", "ax", "or", "un", "yo", "qu",
              "li", "fa", "de", "xe", "po", "mi", "ta", "ko", "sh"]
_WORDS = ["Blue", "Night", "Sky", "Fire", "Dream", "Star", "Moon", "Heart", "Light", "Rain", "Storm",
          "World", "Time", "Snow", "Color", "Flower", "Song", "Angel", "Shadow", "Ocean"]
_ARTISTS = ["xi", "Camellia", "DragonForce", "Mili", "LeaF", "nekodex", "Reol", "sakuzyo", "YOASOBI",
            "Kommisar", "Halozy", "Yooh", "Cres.", "t+pazolite", "Laur", "Feryquitous", "ginkiha", "Nanahoshi"]
_VERSIONS = ["Easy", "Normal", "Hard", "Insane", "Extra", "Expert"]
# map status, weight: mostly ranked, every status present
_MAP_STATUSES = [(2, 55), (3, 5), (5, 10), (4, 3), (0, 14), (-1, 5), (1, 8)]
_MAP_MODES = [(0, 70), (1, 10), (2, 8), (3, 12)]
_MOD_CHOICES = [0, 0, 0, 0, int(Mods.HIDDEN), int(Mods.HARDROCK), int(Mods.HIDDEN | Mods.HARDROCK),
                int(Mods.DOUBLETIME), int(Mods.HIDDEN | Mods.DOUBLETIME), int(Mods.NOFAIL)]
_BCRYPT = "$2b$12$" + "b" * 53
RANKED = (2, 3)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _sql_str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _split(total: int, weights: list[float]) -> list[int]:
    """total split in proportion to weights (largest remainder): exact sum."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    rest = total - sum(counts)
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[:rest]:
        counts[i] += 1
    return counts


class Generator:
    """Rows of every table as SQL value tuples (text), user by user."""

    def __init__(self, *, users: int, maps: int, scores: int, seed: int, end: datetime) -> None:
        self.n_users, self.n_maps, self.n_scores = users, maps, scores
        self.seed = seed
        self.end = end
        self.rng = random.Random(seed)
        self.users: list[dict] = []
        self.maps: list[dict] = []
        self.clans: list[tuple] = []
        self.stats: list[str] = []
        self.map_plays: list[int] = []
        self.map_passes: list[int] = []
        self.score_count = 0
        self._plan()

    # -- players, clans, maps: small, built up front ---------------------
    def _plan(self) -> None:
        rng = self.rng
        end_ts = int(self.end.timestamp())
        countries = rng.choices(_COUNTRIES, weights=_COUNTRY_WEIGHTS, k=self.n_users)
        for i in range(self.n_users):
            user_id = FIRST_USER_ID + i
            stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
            # every name unique through its id; some with a space or capitals
            name = f"{stem.capitalize()} {user_id}" if i % 7 == 0 else f"{stem}{user_id}"
            priv = int(Privileges.UNRESTRICTED | Privileges.VERIFIED)
            roll = rng.random()
            if roll < 0.03:
                priv = int(Privileges.VERIFIED)  # restricted
            elif roll < 0.04:
                priv = int(Privileges.UNRESTRICTED)  # never verified
            elif roll < 0.12:
                priv |= int(Privileges.SUPPORTER)
            created = end_ts - rng.randint(86400, 6 * 365 * 86400)
            self.users.append({
                "id": user_id, "name": name, "priv": priv, "country": countries[i],
                "created": created, "latest": rng.randint(created, end_ts),
                "clan_id": 0, "clan_priv": 0, "preferred_mode": _weighted(rng, _MAP_MODES),
                "play_style": rng.randint(0, 15),
            })
        # clans: one per 100 players, owners distinct, ~40% of players in one
        n_clans = max(1, self.n_users // 100)
        owners = rng.sample(self.users, min(n_clans, len(self.users)))
        for c, owner in enumerate(owners, start=1):
            tag = f"C{c:X}"[:6]
            self.clans.append((c, f"Clan {c} {rng.choice(_WORDS)}"[:16], tag, owner["id"],
                               self._dt(owner["created"] + 86400)))
            owner["clan_id"], owner["clan_priv"] = c, 3
        for user in self.users:
            if user["clan_id"] == 0 and rng.random() < 0.4:
                user["clan_id"], user["clan_priv"] = rng.randint(1, len(self.clans)), 1
        # maps in sets of 1-6 difficulties
        map_id, set_id = FIRST_MAP_ID, FIRST_SET_ID
        while len(self.maps) < self.n_maps:
            status = _weighted(rng, _MAP_STATUSES)
            mode = _weighted(rng, _MAP_MODES)
            artist, title = rng.choice(_ARTISTS), f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"
            creator = self.users[rng.randrange(len(self.users))]["name"] if rng.random() < 0.3 else f"mapper{rng.randint(1, 5000)}"
            updated = int(self.end.timestamp()) - rng.randint(0, 10 * 365 * 86400)
            for d in range(min(rng.randint(1, 6), self.n_maps - len(self.maps))):
                stars = round(min(10.0, 1.0 + d * 1.2 + rng.random() * 1.5), 3)
                length = rng.randint(60, 360)
                self.maps.append({
                    "id": map_id, "set_id": set_id, "status": status, "mode": mode,
                    "md5": hashlib.md5(f"bench map {self.seed} {map_id}".encode()).hexdigest(),
                    "artist": artist, "title": title, "version": _VERSIONS[d], "creator": creator,
                    "updated": updated, "length": length, "max_combo": int(length * (2 + stars)),
                    "bpm": float(rng.choice([120, 150, 174, 180, 200, 222])),
                    "cs": round(rng.uniform(3, 5), 1) if mode != 3 else float(4 + d % 4),
                    "od": round(rng.uniform(5, 9.5), 1), "ar": round(rng.uniform(7, 10), 1),
                    "hp": round(rng.uniform(4, 7), 1), "diff": stars,
                })
                map_id += 1
            set_id += 1
        self.map_plays = [0] * len(self.maps)
        self.map_passes = [0] * len(self.maps)
        # Zipf popularity over a shuffled order of maps (rank 1 is the most played)
        order = list(range(len(self.maps)))
        rng.shuffle(order)
        weights = [0.0] * len(self.maps)
        for rank, index in enumerate(order, start=1):
            weights[index] = 1.0 / rank ** 1.0
        self._map_cum = list(itertools.accumulate(weights))
        # Pareto activity: score counts per player, summing to --scores exactly
        activity = [rng.paretovariate(1.2) for _ in self.users]
        self.user_scores = _split(self.n_scores, activity)

    def _dt(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    # -- rows ----------------------------------------------------------------
    def user_rows(self) -> Iterator[str]:
        for u in self.users:
            safe = u["name"].lower().strip().replace(" ", "_")
            yield (f"({u['id']},{_sql_str(u['name'])},{_sql_str(safe)},'{safe}@bench.invalid',{u['priv']},"
                   f"'{_BCRYPT}','{u['country']}',0,0,{u['created']},{u['latest']},{u['clan_id']},"
                   f"{u['clan_priv']},{u['preferred_mode']},{u['play_style']})")

    USER_COLUMNS = ("id, name, safe_name, email, priv, pw_bcrypt, country, silence_end, donor_end,"
                    " creation_time, latest_activity, clan_id, clan_priv, preferred_mode, play_style")

    def clan_rows(self) -> Iterator[str]:
        for c in self.clans:
            yield f"({c[0]},{_sql_str(c[1])},{_sql_str(c[2])},{c[3]},'{c[4]}')"

    def friend_rows(self) -> Iterator[str]:
        rng = random.Random(self.seed * 7 + 1)
        n = len(self.users)
        for u in self.users:
            k = min(n - 1, int(rng.paretovariate(1.5)) * 2 - 1)
            seen = set()
            for _ in range(max(0, k)):
                other = FIRST_USER_ID + rng.randrange(n)
                if other != u["id"] and other not in seen:
                    seen.add(other)
                    kind = "block" if rng.random() < 0.05 else "friend"
                    yield f"({u['id']},{other},'{kind}')"

    def favourite_rows(self) -> Iterator[str]:
        """Favourite sets and map ratings: a few per player (some many),
        on maps as popular as their plays."""
        rng = random.Random(self.seed * 7 + 2)
        for u in self.users:
            sets = {self.maps[self._popular_map(rng)]["set_id"] for _ in range(min(100, int(rng.paretovariate(1.5)) - 1))}
            for set_id in sorted(sets):
                yield f"({u['id']},{set_id},{int(self.end.timestamp()) - rng.randint(0, 365 * 86400)})"

    def rating_rows(self) -> Iterator[str]:
        rng = random.Random(self.seed * 7 + 3)
        for u in self.users:
            rated = {self._popular_map(rng) for _ in range(min(100, int(rng.paretovariate(1.3)) - 1))}
            for index in sorted(rated):
                yield f"({u['id']},'{self.maps[index]['md5']}',{rng.randint(1, 10)})"

    def _popular_map(self, rng: random.Random) -> int:
        return bisect.bisect_left(self._map_cum, rng.random() * self._map_cum[-1])

    def map_rows(self) -> Iterator[str]:
        """Called after the scores: plays and passes are counted by then."""
        for i, m in enumerate(self.maps):
            yield (f"('osu!',{m['id']},{m['set_id']},{m['status']},'{m['md5']}',{_sql_str(m['artist'])},"
                   f"{_sql_str(m['title'])},{_sql_str(m['version'])},{_sql_str(m['creator'][:19])},"
                   f"{_sql_str(m['artist'] + ' - ' + m['title'] + ' [' + m['version'] + '].osu')},"
                   f"'{self._dt(m['updated'])}',{m['length']},{m['max_combo']},0,{self.map_plays[i]},"
                   f"{self.map_passes[i]},{m['mode']},{m['bpm']},{m['cs']},{m['ar']},{m['od']},{m['hp']},{m['diff']})")

    MAP_COLUMNS = ("server, id, set_id, status, md5, artist, title, version, creator, filename, last_update,"
                   " total_length, max_combo, frozen, plays, passes, mode, bpm, cs, ar, od, hp, diff")

    def mapset_rows(self) -> Iterator[str]:
        seen = set()
        for m in self.maps:
            if m["set_id"] not in seen:
                seen.add(m["set_id"])
                yield f"('osu!',{m['set_id']},'{self._dt(m['updated'])}')"

    SCORE_COLUMNS = ("id, map_md5, score, pp, acc, max_combo, mods, n300, n100, n50, nmiss, ngeki, nkatu,"
                     " grade, status, mode, play_time, time_elapsed, client_flags, userid, perfect, online_checksum")

    def score_rows(self) -> Iterator[str]:
        """Every score, player by player; fills in stats and map counters."""
        rng = random.Random(self.seed * 31 + 7)
        maps, cum, n_maps = self.maps, self._map_cum, len(self.maps)
        total_w = cum[-1]
        end_ts = int(self.end.timestamp())
        score_id = 0
        rand, randint, gauss, choice = rng.random, rng.randint, rng.gauss, rng.choice
        for user, count in zip(self.users, self.user_scores, strict=True):
            skill = 0.55 + 0.45 * rand()
            active_from = max(user["created"], end_ts - 3 * 365 * 86400)
            span = max(1, user["latest"] - active_from)
            # the player's plays, then the best of each (map, mode)
            plays: list[list] = []
            best: dict[tuple[int, int], int] = {}
            for _ in range(count):
                mi = bisect.bisect_left(cum, rand() * total_w)
                if mi >= n_maps:
                    mi = n_maps - 1
                m = maps[mi]
                mode = m["mode"]
                r = rand()
                if mode != 3 and r < 0.12:
                    mode += 4
                elif mode == 0 and r < 0.14:
                    mode = 8
                mods = choice(_MOD_CHOICES)
                objects = m["max_combo"] // 2
                nmiss = max(0, int(gauss(8 * (1 - skill), 3)))
                n100 = max(0, int(gauss(objects * 0.08 * (1.2 - skill), 4)))
                n50 = max(0, int(gauss(objects * 0.01, 1)))
                if r > 0.93:
                    nmiss = n100 = n50 = 0
                n300 = max(0, objects - nmiss - n100 - n50)
                passed = rand() < 0.8
                hits = n300 + n100 + n50 + nmiss
                acc = round(100 * (300 * n300 + 100 * n100 + 50 * n50) / (300 * hits), 3) if hits else 0.0
                combo = m["max_combo"] if nmiss == 0 else randint(m["max_combo"] // 10, m["max_combo"] - 1)
                pp = 0.0
                if passed:
                    pp = m["diff"] ** 2.6 * (acc / 100) ** 8 * (1.12 if mods & 8 else 1) * (1.4 if mods & 64 else 1) \
                        * (0.3 + 0.7 * combo / m["max_combo"]) * (1.3 if mode >= 4 else 1)
                    pp = round(min(pp, 9999.0), 3)
                score = int(n300 * 300 * (combo / 40 + 1) + n100 * 100 + n50 * 50)
                # recent plays weigh more: a quarter in the player's last 30 days
                if rand() < 0.25:
                    played = user["latest"] - randint(0, 30 * 86400)
                else:
                    played = active_from + randint(0, span)
                played = max(user["created"], min(played, end_ts))
                elapsed = m["length"] * 1000 if passed else randint(1000, m["length"] * 1000)
                full_mods = mods | (128 if 4 <= mode < 8 else 0) | (8192 if mode >= 8 else 0)
                grade = constants.grade(n300, n100, n50, nmiss, mods, passed)
                row = [mi, score, pp, acc, combo, full_mods, n300, n100, n50, nmiss, grade,
                       1 if passed else 0, mode, played, elapsed]
                if passed:
                    key = (mi, mode)
                    j = best.get(key)
                    if j is None or (pp, score) > (plays[j][2], plays[j][1]):
                        best[key] = len(plays)
                plays.append(row)
            for j in best.values():
                plays[j][11] = 2
            self._add_stats(user["id"], plays)
            plays.sort(key=lambda p: p[13])  # ids in play order, as a server assigns them
            uid = user["id"]
            for p in plays:
                score_id += 1
                mi = p[0]
                self.map_plays[mi] += 1
                if p[11]:
                    self.map_passes[mi] += 1
                m = maps[mi]
                yield (f"({score_id},'{m['md5']}',{p[1]},{p[2]},{p[3]},{p[4]},{p[5]},{p[6]},{p[7]},{p[8]},"
                       f"{p[9]},{p[6] // 5},{p[7] // 5},'{p[10]}',{p[11]},{p[12]},'{self._dt(p[13])}',{p[14]},0,"
                       f"{uid},{1 if p[9] == 0 and p[4] == m['max_combo'] else 0},"
                       f"'{hashlib.md5(b'%d' % score_id).hexdigest()}')")
        self.score_count = score_id

    def _add_stats(self, user_id: int, plays: list[list]) -> None:
        maps = self.maps
        for mode in PLAYABLE:
            mine = [p for p in plays if p[12] == mode]
            bests = sorted((p for p in mine if p[11] == 2 and maps[p[0]]["status"] in RANKED),
                           key=lambda p: p[2], reverse=True)[:100]
            weights = [0.95 ** i for i in range(len(bests))]
            grades = [p[10] for p in bests]
            pp = round(sum(p[2] * w for p, w in zip(bests, weights, strict=True)))
            acc = round(sum(p[3] * w for p, w in zip(bests, weights, strict=True)) / sum(weights), 3) if bests else 0.0
            self.stats.append(
                f"({user_id},{mode},{sum(p[1] for p in mine)},{sum(p[1] for p in bests)},{pp},{len(mine)},"
                f"{sum(p[14] for p in mine) // 1000},{acc},{max((p[4] for p in mine), default=0)},"
                f"{sum(p[6] + p[7] + p[8] for p in mine)},0,{grades.count('XH')},{grades.count('X')},"
                f"{grades.count('SH')},{grades.count('S')},{grades.count('A')})")

    STATS_COLUMNS = ("id, mode, tscore, rscore, pp, plays, playtime, acc, max_combo, total_hits, replay_views,"
                     " xh_count, x_count, sh_count, s_count, a_count")


def _batches(rows: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _statements(gen: Generator, batch: int) -> Iterator[tuple[str, int, str]]:
    """(table, rows, statement) in load order: scores first (they fill in the
    stats and the maps' counters), then the rest."""
    plan = [
        ("scores", gen.SCORE_COLUMNS, gen.score_rows),
        ("users", gen.USER_COLUMNS, gen.user_rows),
        ("stats", gen.STATS_COLUMNS, lambda: iter(gen.stats)),
        ("maps", gen.MAP_COLUMNS, gen.map_rows),
        ("mapsets", "server, id, last_osuapi_check", gen.mapset_rows),
        ("clans", "id, name, tag, owner, created_at", gen.clan_rows),
        ("relationships", "user1, user2, type", gen.friend_rows),
        ("favourites", "userid, setid, created_at", gen.favourite_rows),
        ("ratings", "userid, map_md5, rating", gen.rating_rows),
    ]
    for table, columns, rows in plan:
        for chunk in _batches(rows(), batch):
            yield table, len(chunk), f"INSERT INTO {table} ({columns}) VALUES " + ",".join(chunk)


async def generate(
    database_url: str, *, users: int, maps: int, scores: int, seed: int = 1,
    batch: int = 2000, end: str = DEFAULT_END, quiet: bool = False,
) -> dict[str, Any]:
    """Create the schema and load the data set; returns counts and timings."""
    say = (lambda _m: None) if quiet else log
    if not database_url.startswith(("mysql:", "mariadb:")):
        raise SystemExit("bench.generate loads MariaDB/MySQL only (DATABASE_URL mysql://...)")
    started = time.perf_counter()
    end_dt = datetime.fromisoformat(end).replace(tzinfo=timezone.utc) if isinstance(end, str) else end
    async with Database(database_url) as db:
        # a database as bancho.py's install leaves it: what this service
        # adds (`db migrate`) comes after, on the full data, as it would
        if not await table_exists(db, "users"):
            await create_bancho_schema(db)
        if await db.fetch_val("SELECT COUNT(*) FROM users WHERE id >= 3"):
            raise SystemExit("the database already holds players: use an empty database")
        # bancho.py's bot is there; its stats rows too
        gen = Generator(users=users, maps=maps, scores=scores, seed=seed, end=end_dt)
        say(f"planned {users} players, {len(gen.maps)} maps, {len(gen.clans)} clans"
            f" in {time.perf_counter() - started:.1f} s")
        work: queue.Queue = queue.Queue(maxsize=4)

        def produce() -> None:
            try:
                for item in _statements(gen, batch):
                    work.put(item)
            except BaseException as exc:  # handed to the loader
                work.put(exc)
                return
            work.put(None)

        producer = threading.Thread(target=produce, name="bench-generate", daemon=True)
        counts: dict[str, int] = {}
        last = 0.0
        async with db._db.connection() as connection:
            raw = connection.raw_connection
            async with raw.cursor() as cursor:
                await cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0, autocommit = 0")
                producer.start()
                while True:
                    item = await asyncio.to_thread(work.get)
                    if item is None:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    table, n, statement = item
                    await cursor.execute(statement)
                    counts[table] = counts.get(table, 0) + n
                    if table == "scores" and counts[table] % (batch * 25) < batch:
                        await raw.commit()
                    now = time.perf_counter()
                    if now - last > 2:
                        last = now
                        done = counts.get("scores", 0)
                        rate = done / (now - started)
                        say(f"  {table}: {counts[table]:,} rows; scores {done:,}/{scores:,}"
                            f" ({100 * done / max(1, scores):.0f}%, {rate:,.0f}/s, {now - started:.0f} s)")
                await raw.commit()
                await cursor.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1, autocommit = 1")
                await cursor.execute("ANALYZE TABLE scores, stats, users, maps, clans, relationships, favourites, ratings")
                await cursor.fetchall()
        producer.join()
    elapsed = time.perf_counter() - started
    say(f"loaded {', '.join(f'{t} {n:,}' for t, n in counts.items())} in {elapsed:.1f} s")
    return {"rows": counts, "seconds": round(elapsed, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="mysql://user:password@host:port/database (empty)")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--maps", type=int, default=None, help="default: users, at least 500")
    parser.add_argument("--scores", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=2000, help="rows per INSERT statement")
    parser.add_argument("--end", default=DEFAULT_END,
                        help=f"the newest play's date, YYYY-MM-DD (default {DEFAULT_END}; the data is a function of the arguments)")
    args = parser.parse_args(argv)
    maps = args.maps if args.maps is not None else max(500, args.users)
    result = asyncio.run(generate(args.database_url, users=args.users, maps=maps, scores=args.scores,
                                  seed=args.seed, batch=args.batch, end=args.end))
    print(result)


if __name__ == "__main__":
    main()
