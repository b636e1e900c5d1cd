"""`db demo`: a small, deterministic, realistic data set, built in the fixture
format and loaded through server.fixtures like any other fixture.

Players in several countries (a few restricted, three clans, friends), maps
of every mode and status with their .osu files (server/beatmap_files.py; a
map's diff and max combo are what rosu-pp-py reads in its file), scores of
every status whose grades follow from
their hit counts, one best score per player, map and mode, stats summed up
from those scores, and a tournament map pool. The same data every time."""

from __future__ import annotations

import base64
import functools
import hashlib
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import beatmap_files, fixtures, replays
from .constants import (
    BOT_USER_ID,
    GameMode,
    MapStatus,
    Mods,
    Privileges,
    ScoreStatus,
    grade,
)
from .db import Database

SEED = 20240101
FIRST_USER_ID = 3
PLAYER_COUNT = 36
EPOCH = datetime(2024, 1, 1, 12, 0, 0)

_NAMES = [
    "cookiezi", "Rafis", "WhiteCat", "Vaxei", "mrekk", "Aricin", "idke", "Mathi",
    "Freddie Benson", "Ekoro", "Akolibed", "Andros", "BeasttrollMC", "chocomint",
    "Dustice", "Emilia", "FlyingTuna", "gnahus", "Hvick225", "Im a fancy lad",
    "Karthy", "lifeline", "Merami", "nathan on osu", "Ozzyozrock", "Paraqeet",
    "Rohulk", "Sotarks", "Toy", "Umbre", "Varvalian", "WubWoofWolf", "xasuma",
    "Yaong", "Zylice", "-GN",
]
_COUNTRIES = ["kr", "pl", "de", "us", "au", "jp", "gb", "fr", "ca", "br", "nl", "ru"]
_RESTRICTED = {9, 20, 31}  # user ids
_SETS = [
    # artist, title, creator, mode, status, difficulties (name, stars)
    ("xi", "FREEDOM DiVE", "Nakagawa-Kanon", 0, MapStatus.RANKED, [("Normal", 2.4), ("Hyper", 4.1), ("FOUR DIMENSIONS", 7.1)]),
    ("DragonForce", "Through the Fire and Flames", "Ponoyoshi", 0, MapStatus.RANKED, [("Hard", 3.2), ("Legend", 6.6)]),
    ("Camellia", "Exit This Earth's Atomosphere", "ProfessionalBox", 0, MapStatus.APPROVED, [("Insane", 5.2), ("Atmospheric", 8.0)]),
    ("Mili", "world.execute(me);", "Mathi", 0, MapStatus.LOVED, [("Extra", 5.9)]),
    ("Halozy", "Genryuu Kaiko", "Hollow Wings", 0, MapStatus.QUALIFIED, [("Higan Torrent", 6.2)]),
    ("nekodex", "new beginnings", "pishifat", 0, MapStatus.PENDING, [("Beginner", 1.1)]),
    ("Toby Fox", "MEGALOVANIA", "Daycore", 0, MapStatus.NOT_SUBMITTED, [("Determination", 4.8)]),
    ("Kommisar", "Bad Apple!!", "Kanye", 0, MapStatus.UPDATE_AVAILABLE, [("Lunatic", 5.0)]),
    ("Yooh", "MariannE", "Kuo Kyoka", 1, MapStatus.RANKED, [("Kantan", 1.9), ("Inner Oni", 5.4)]),
    ("LeaF", "Aleph-0", "Asagi", 1, MapStatus.LOVED, [("Infinity", 7.4)]),
    ("Cres.", "End Time", "Jemzuu", 2, MapStatus.RANKED, [("Cup", 1.6), ("Overdose", 6.0)]),
    ("Hatsune Miku", "Ievan Polkka", "Ascendance", 2, MapStatus.APPROVED, [("Rain", 4.3)]),
    ("Reol", "No title", "Hozuki", 3, MapStatus.RANKED, [("4K EZ", 1.8), ("7K Insane", 4.9)]),
    ("sakuzyo", "Altale", "Fullerene-", 3, MapStatus.LOVED, [("Another", 5.5)]),
]
_MOD_CHOICES = [0, 0, 0, int(Mods.HIDDEN), int(Mods.HARDROCK), int(Mods.HIDDEN | Mods.HARDROCK),
                int(Mods.DOUBLETIME), int(Mods.HIDDEN | Mods.DOUBLETIME), int(Mods.NOFAIL)]


def _dt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def accuracy(n300: int, n100: int, n50: int, nmiss: int) -> float:
    total = n300 + n100 + n50 + nmiss
    return round(100 * (300 * n300 + 100 * n100 + 50 * n50) / (300 * total), 3) if total else 0.0


def _players(rng: random.Random) -> tuple[list[dict], list[dict], list[dict]]:
    users, clans, friends = [], [], []
    clan_names = [("Team Symmetry", "SYM"), ("Sakura Gumi", "SKR"), ("Nightfall", "NF")]
    for i, name in enumerate(_NAMES[:PLAYER_COUNT]):
        user_id = FIRST_USER_ID + i
        priv = int(Privileges.UNRESTRICTED | Privileges.VERIFIED)
        if user_id in _RESTRICTED:
            priv = int(Privileges.VERIFIED)
        elif i % 5 == 0:
            priv |= int(Privileges.SUPPORTER)
        if user_id == FIRST_USER_ID:
            priv |= int(Privileges.ADMINISTRATOR | Privileges.DEVELOPER)
        created = EPOCH - timedelta(days=400 - i * 7)
        users.append({
            "id": user_id,
            "name": name,
            "priv": priv,
            "country": _COUNTRIES[i % len(_COUNTRIES)],
            "creation_time": int(created.timestamp()),
            "latest_activity": int((EPOCH + timedelta(days=30, hours=i * 5)).timestamp()),
            "preferred_mode": [0, 0, 0, 1, 2, 3][i % 6],
            "play_style": i % 16,
            "userpage_content": f"hi, I am {name}" if i % 4 == 0 else None,
        })
    for c, (clan_name, tag) in enumerate(clan_names):
        owner = users[c * 4]
        clans.append({"id": c + 1, "name": clan_name, "tag": tag, "owner": owner["id"],
                      "created_at": _dt(EPOCH - timedelta(days=200 - c))})
        for k, member in enumerate(users[c * 4 : c * 4 + 4 + c]):
            member["clan_id"] = c + 1
            member["clan_priv"] = 3 if member is owner else (2 if k == 1 else 1)
    for user in users:
        for other in rng.sample(users, 3):
            if other is not user:
                friends.append({"user1": user["id"], "user2": other["id"], "type": "friend"})
    friends = list({(f["user1"], f["user2"]): f for f in friends}.values())
    return users, clans, friends


def _maps(rng: random.Random) -> list[dict]:
    maps = []
    for s, (artist, title, creator, mode, status, diffs) in enumerate(_SETS):
        set_id = 100 + s
        for d, (version, stars) in enumerate(diffs):
            map_id = 1000 + s * 10 + d
            length = rng.randint(90, 330)
            maps.append({
                "id": map_id,
                "set_id": set_id,
                "status": int(status),
                "md5": hashlib.md5(f"demo map {map_id}".encode()).hexdigest(),
                "artist": artist,
                "title": title,
                "version": version,
                "creator": creator,
                "last_update": _dt(EPOCH - timedelta(days=600 - s * 20 - d)),
                "total_length": length,
                "max_combo": int(length * (2 + stars)),
                "mode": mode,
                "bpm": float(rng.choice([120, 150, 174, 180, 200, 222])),
                "cs": round(rng.uniform(3, 5), 1) if mode != 3 else float(4 + d * 3),
                "od": round(rng.uniform(5, 9.5), 1),
                "ar": round(rng.uniform(7, 10), 1),
                "hp": round(rng.uniform(4, 7), 1),
                "diff": stars,
            })
    return maps


def _play_modes(map_mode: int) -> list[int]:
    """The modes a map's scores can be in: its own, and relax/autopilot of it."""
    modes = [map_mode]
    if map_mode != GameMode.VN_MANIA:
        modes.append(map_mode + 4)
    if map_mode == GameMode.VN_STD:
        modes.append(int(GameMode.AP_STD))
    return modes


def _scores(rng: random.Random, users: list[dict], maps: list[dict]) -> list[dict]:
    scores = []
    score_id = 1
    for user in users:
        skill = 0.6 + 0.4 * rng.random()
        for beatmap in rng.sample(maps, rng.randint(6, 14)):
            mode = rng.choice(_play_modes(beatmap["mode"]))
            plays = []
            for attempt in range(rng.randint(1, 4)):
                objects = beatmap["max_combo"] // 2
                mods = rng.choice(_MOD_CHOICES)
                nmiss = max(0, int(rng.gauss(8 * (1 - skill), 3)))
                n100 = max(0, int(rng.gauss(objects * 0.08 * (1.2 - skill), 4)))
                n50 = max(0, int(rng.gauss(objects * 0.01, 1)))
                if rng.random() < 0.08:
                    nmiss = n100 = n50 = 0
                n300 = max(0, objects - nmiss - n100 - n50)
                passed = rng.random() < 0.85
                acc = accuracy(n300, n100, n50, nmiss)
                combo = beatmap["max_combo"] if nmiss == 0 else rng.randint(beatmap["max_combo"] // 10, beatmap["max_combo"] - 1)
                pp = round(beatmap["diff"] ** 2.6 * (acc / 100) ** 8 * (1.12 if mods & Mods.HIDDEN else 1) * (1.4 if mods & Mods.DOUBLETIME else 1) * (0.3 + 0.7 * combo / beatmap["max_combo"]), 3)
                if mode >= GameMode.RX_STD:
                    pp = round(pp * 1.3, 3)
                played = EPOCH + timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440), seconds=attempt)
                plays.append({
                    "id": score_id,
                    "map_md5": beatmap["md5"],
                    "score": int(n300 * 300 * (combo / 40 + 1) + n100 * 100 + n50 * 50),
                    "pp": pp if passed else 0.0,
                    "acc": acc,
                    "max_combo": combo,
                    "mods": mods | (int(Mods.RELAX) if 4 <= mode < 8 else 0) | (int(Mods.AUTOPILOT) if mode >= 8 else 0),
                    "n300": n300, "n100": n100, "n50": n50, "nmiss": nmiss,
                    "ngeki": n300 // 5, "nkatu": n100 // 5,
                    "grade": grade(n300, n100, n50, nmiss, mods, passed),
                    "status": int(ScoreStatus.SUBMITTED if passed else ScoreStatus.FAILED),
                    "mode": mode,
                    "play_time": _dt(played),
                    "time_elapsed": beatmap["total_length"] * 1000 if passed else rng.randint(1000, beatmap["total_length"] * 1000),
                    "client_flags": 0,
                    "userid": user["id"],
                    "perfect": int(nmiss == 0 and combo == beatmap["max_combo"]),
                    "online_checksum": hashlib.md5(f"demo score {score_id}".encode()).hexdigest(),
                })
                score_id += 1
            passed_plays = [p for p in plays if p["status"] != ScoreStatus.FAILED]
            if passed_plays:
                best = max(passed_plays, key=lambda p: (p["pp"], p["score"]))
                best["status"] = int(ScoreStatus.BEST)
            scores.extend(plays)
    return scores


def _stats(users: list[dict], maps: list[dict], scores: list[dict]) -> list[dict]:
    """Each player's stats per mode, summed up from their scores the way
    bancho.py keeps them: pp and accuracy weighted over the top 100 bests."""
    ranked = {m["md5"] for m in maps if m["status"] in (MapStatus.RANKED, MapStatus.APPROVED)}
    stats = []
    for user in users:
        for mode in (0, 1, 2, 3, 4, 5, 6, 8):
            mine = [s for s in scores if s["userid"] == user["id"] and s["mode"] == mode]
            bests = sorted((s for s in mine if s["status"] == ScoreStatus.BEST and s["map_md5"] in ranked),
                           key=lambda s: s["pp"], reverse=True)[:100]
            weights = [0.95**i for i in range(len(bests))]
            grades = [s["grade"] for s in bests]
            stats.append({
                "id": user["id"],
                "mode": mode,
                "tscore": sum(s["score"] for s in mine),
                "rscore": sum(s["score"] for s in bests),
                "pp": round(sum(s["pp"] * w for s, w in zip(bests, weights, strict=True))),
                "plays": len(mine),
                "playtime": sum(s["time_elapsed"] for s in mine) // 1000,
                "acc": round(sum(s["acc"] * w for s, w in zip(bests, weights, strict=True)) / sum(weights), 3) if bests else 0.0,
                "max_combo": max((s["max_combo"] for s in mine), default=0),
                "total_hits": sum(s["n300"] + s["n100"] + s["n50"] for s in mine),
                "replay_views": 0,
                "xh_count": grades.count("XH"),
                "x_count": grades.count("X"),
                "sh_count": grades.count("SH"),
                "s_count": grades.count("S"),
                "a_count": grades.count("A"),
            })
    return stats


def _pool(maps: list[dict]) -> tuple[list[dict], list[dict]]:
    std = [m for m in maps if m["mode"] == 0 and m["status"] in (MapStatus.RANKED, MapStatus.APPROVED)]
    pool = {"id": 1, "name": "DEMO Finals", "created_at": _dt(EPOCH + timedelta(days=10)), "created_by": FIRST_USER_ID}
    slots = [(0, 1), (0, 2), (int(Mods.HIDDEN), 1), (int(Mods.HARDROCK), 1), (int(Mods.DOUBLETIME), 1)]
    pool_maps = [{"map_id": m["id"], "pool_id": 1, "mods": mods, "slot": slot} for m, (mods, slot) in zip(std, slots, strict=False)]
    return [pool], pool_maps


# play frames in each demo replay (besides the two lead-in frames and the
# seed frame): about 2 KB of LZMA per replay
REPLAY_FRAMES = 200


def replay_seed(score_id: int) -> int:
    """The RNG seed recorded in a demo score's replay."""
    return int.from_bytes(hashlib.md5(f"demo replay {score_id}".encode()).digest()[:3], "little")


@functools.lru_cache(maxsize=None)
def _replay(score_id: int, length_ms: int, mode: int, columns: int) -> str:
    # the same every time: made once per process, however often the demo
    # data is built (the tests build it many times)
    frames = replays.demo_frames(replay_seed(score_id), length_ms, mode=mode, frames=REPLAY_FRAMES, columns=columns)
    return base64.b64encode(frames).decode("ascii")


def _replays(maps: list[dict], scores: list[dict]) -> dict[str, str]:
    """A stored replay (base64 of its LZMA frame stream) for every best
    score, as fixtures carry them, keyed by score id."""
    by_md5 = {m["md5"]: m for m in maps}
    out = {}
    for score in scores:
        if score["status"] != ScoreStatus.BEST:
            continue
        beatmap = by_md5[score["map_md5"]]
        columns = int(beatmap["cs"]) if beatmap["mode"] == GameMode.VN_MANIA else 4
        out[str(score["id"])] = _replay(score["id"], score["time_elapsed"], score["mode"], columns)
    return out


@functools.lru_cache(maxsize=None)
def _osu_file(row: tuple[tuple[str, Any], ...]) -> tuple[str, float, int]:
    # made once per process, like the replays
    text, measured = beatmap_files.demo_file(dict(row))
    return text, measured.stars, measured.max_combo


def _beatmap_files(maps: list[dict]) -> dict[str, str]:
    """A .osu file for every map, keyed by map id, made from the map's row
    (server/beatmap_files.py). The row then takes what rosu-pp-py reads in
    its file: the star rating (diff, rounded as FLOAT(6,3) keeps it), the
    max combo, and the file's md5, as bancho.py's rows hold them."""
    files = {}
    for beatmap in maps:
        text, stars, max_combo = _osu_file(tuple(sorted(beatmap.items())))
        beatmap.update(diff=round(stars, 3), max_combo=max_combo, md5=hashlib.md5(text.encode()).hexdigest())
        files[str(beatmap["id"])] = text
    return files


def demo_data() -> dict[str, Any]:
    rng = random.Random(SEED)
    users, clans, friends = _players(rng)
    maps = _maps(rng)
    osu_files = _beatmap_files(maps)
    scores = _scores(rng, users, maps)
    for beatmap in maps:
        played = [s for s in scores if s["map_md5"] == beatmap["md5"]]
        beatmap["plays"] = len(played)
        beatmap["passes"] = sum(s["status"] != ScoreStatus.FAILED for s in played)
    pools, pool_maps = _pool(maps)
    return {
        "users": users,
        "clans": clans,
        "relationships": friends,
        "maps": maps,
        "mapsets": [{"id": set_id} for set_id in sorted({m["set_id"] for m in maps})],
        "scores": scores,
        "stats": _stats(users, maps, scores),
        "tourney_pools": pools,
        "tourney_pool_maps": pool_maps,
        "beatmap_files": osu_files,
        "replays": _replays(maps, scores),
    }


async def is_empty(db: Database) -> bool:
    """No players yet besides the bot."""
    return not await db.fetch_val("SELECT COUNT(*) FROM users WHERE id != :bot", {"bot": BOT_USER_ID})


async def load(db: Database, data_dir: Path | None = None) -> dict[str, int]:
    """Load the demo data; its files (beatmaps, replays) go under data_dir."""
    return await fixtures.load(db, demo_data(), data_dir)
