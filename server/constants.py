"""The osu! and bancho.py facts every layer shares: modes, mods, statuses,
grades and privileges. Defined here once; routes, queries and formats import
them instead of repeating numbers."""

from __future__ import annotations

import bisect
import re
from enum import IntEnum, IntFlag


class GameMode(IntEnum):
    """bancho.py's mode numbers: vanilla 0-3, relax 4-7, autopilot 8-11."""

    VN_STD = 0
    VN_TAIKO = 1
    VN_CATCH = 2
    VN_MANIA = 3
    RX_STD = 4
    RX_TAIKO = 5
    RX_CATCH = 6
    RX_MANIA = 7
    AP_STD = 8
    AP_TAIKO = 9
    AP_CATCH = 10
    AP_MANIA = 11

    @property
    def vanilla(self) -> int:
        """The osu! ruleset under the relax/autopilot variant (8 -> 0)."""
        return self.value % 4


# The modes a player can actually have stats in; the rest do not exist in the
# game (relax mania, autopilot outside std) and bancho.py rejects them.
PLAYABLE_MODES: tuple[GameMode, ...] = (
    GameMode.VN_STD,
    GameMode.VN_TAIKO,
    GameMode.VN_CATCH,
    GameMode.VN_MANIA,
    GameMode.RX_STD,
    GameMode.RX_TAIKO,
    GameMode.RX_CATCH,
    GameMode.AP_STD,
)


class Mods(IntFlag):
    NOMOD = 0
    NOFAIL = 1 << 0
    EASY = 1 << 1
    TOUCHSCREEN = 1 << 2
    HIDDEN = 1 << 3
    HARDROCK = 1 << 4
    SUDDENDEATH = 1 << 5
    DOUBLETIME = 1 << 6
    RELAX = 1 << 7
    HALFTIME = 1 << 8
    NIGHTCORE = 1 << 9
    FLASHLIGHT = 1 << 10
    AUTOPLAY = 1 << 11
    SPUNOUT = 1 << 12
    AUTOPILOT = 1 << 13
    PERFECT = 1 << 14
    KEY4 = 1 << 15
    KEY5 = 1 << 16
    KEY6 = 1 << 17
    KEY7 = 1 << 18
    KEY8 = 1 << 19
    FADEIN = 1 << 20
    RANDOM = 1 << 21
    CINEMA = 1 << 22
    TARGET = 1 << 23
    KEY9 = 1 << 24
    KEYCOOP = 1 << 25
    KEY1 = 1 << 26
    KEY3 = 1 << 27
    KEY2 = 1 << 28
    SCOREV2 = 1 << 29
    MIRROR = 1 << 30


MOD_ACRONYMS: dict[str, Mods] = {
    "NF": Mods.NOFAIL,
    "EZ": Mods.EASY,
    "TD": Mods.TOUCHSCREEN,
    "HD": Mods.HIDDEN,
    "HR": Mods.HARDROCK,
    "SD": Mods.SUDDENDEATH,
    "DT": Mods.DOUBLETIME,
    "RX": Mods.RELAX,
    "HT": Mods.HALFTIME,
    "NC": Mods.NIGHTCORE,
    "FL": Mods.FLASHLIGHT,
    "AU": Mods.AUTOPLAY,
    "SO": Mods.SPUNOUT,
    "AP": Mods.AUTOPILOT,
    "PF": Mods.PERFECT,
    "4K": Mods.KEY4,
    "5K": Mods.KEY5,
    "6K": Mods.KEY6,
    "7K": Mods.KEY7,
    "8K": Mods.KEY8,
    "FI": Mods.FADEIN,
    "RN": Mods.RANDOM,
    "CN": Mods.CINEMA,
    "TP": Mods.TARGET,
    "9K": Mods.KEY9,
    "CO": Mods.KEYCOOP,
    "1K": Mods.KEY1,
    "3K": Mods.KEY3,
    "2K": Mods.KEY2,
    "V2": Mods.SCOREV2,
    "MR": Mods.MIRROR,
}

# The largest value a mods field can hold: every defined bit.
ALL_MODS = max(Mods) * 2 - 1


def parse_mod_acronyms(text: str) -> Mods | None:
    """'HDDT' -> HIDDEN|DOUBLETIME; 'NM'/'VN' (no mod) -> NOMOD; None when
    any two-letter chunk is not a mod acronym."""
    text = text.upper()
    if text in ("NM", "VN", ""):
        return Mods.NOMOD
    if len(text) % 2:
        return None
    mods = Mods.NOMOD
    for i in range(0, len(text), 2):
        mod = MOD_ACRONYMS.get(text[i : i + 2])
        if mod is None:
            return None
        mods |= mod
    return mods


class MapStatus(IntEnum):
    """`maps.status` in bancho.py's schema."""

    NOT_SUBMITTED = -1
    PENDING = 0
    UPDATE_AVAILABLE = 1
    RANKED = 2
    APPROVED = 3
    QUALIFIED = 4
    LOVED = 5


class ScoreStatus(IntEnum):
    """`scores.status`: at most one BEST per user, map and mode."""

    FAILED = 0
    SUBMITTED = 1
    BEST = 2


GRADES: tuple[str, ...] = ("XH", "X", "SH", "S", "A", "B", "C", "D", "F", "N")


def grade(n300: int, n100: int, n50: int, nmiss: int, mods: int, passed: bool) -> str:
    """The osu!-style letter grade of a play from its hit counts (osu!'s
    rules; silver with hidden or flashlight), F when failed."""
    if not passed:
        return "F"
    total = n300 + n100 + n50 + nmiss
    silver = bool(mods & (Mods.HIDDEN | Mods.FLASHLIGHT))
    ratio300 = n300 / total if total else 0
    if n300 == total:
        return "XH" if silver else "X"
    if ratio300 > 0.9 and n50 / total < 0.01 and nmiss == 0:
        return "SH" if silver else "S"
    if (ratio300 > 0.8 and nmiss == 0) or ratio300 > 0.9:
        return "A"
    if (ratio300 > 0.7 and nmiss == 0) or ratio300 > 0.8:
        return "B"
    if ratio300 > 0.6:
        return "C"
    return "D"


class Privileges(IntFlag):
    """`users.priv` bit flags."""

    UNRESTRICTED = 1 << 0
    VERIFIED = 1 << 1
    WHITELISTED = 1 << 2
    SUPPORTER = 1 << 4
    PREMIUM = 1 << 5
    ALUMNI = 1 << 7
    TOURNEY_MANAGER = 1 << 10
    NOMINATOR = 1 << 11
    MODERATOR = 1 << 12
    ADMINISTRATOR = 1 << 13
    DEVELOPER = 1 << 14


class ClanPrivileges(IntEnum):
    """`users.clan_priv`."""

    MEMBER = 1
    OFFICER = 2
    OWNER = 3


# The bot account every bancho.py install creates; never counted as a player.
BOT_USER_ID = 1

USERNAME_PATTERN = re.compile(r"^[\w \[\]-]{2,15}$")

# Ids are signed 32-bit in bancho.py's schema.
MAX_INT32 = 2**31 - 1


def safe_name(name: str) -> str:
    """bancho.py's lookup form of a user name."""
    return name.lower().strip().replace(" ", "_")


def mods_acronyms(mods: int) -> str:
    """Mods as their acronyms in bit order ('HDHR'); 'NM' for none."""
    return "".join(acronym for acronym, mod in MOD_ACRONYMS.items() if mods & mod) or "NM"


# osu!api v1's `approved` for each bancho.py map status. v1 has no value for
# "update available" or "not submitted": the first reads as WIP (-1, the
# map's file is not the ranked one), the second as graveyard (-2, the map is
# on no leaderboard).
V1_APPROVED: dict[MapStatus, int] = {
    MapStatus.NOT_SUBMITTED: -2,
    MapStatus.PENDING: 0,
    MapStatus.UPDATE_AVAILABLE: -1,
    MapStatus.RANKED: 1,
    MapStatus.APPROVED: 2,
    MapStatus.QUALIFIED: 3,
    MapStatus.LOVED: 4,
}

# Statuses whose maps have a ranked date in v1 (approved_date not null).
V1_DATED_STATUSES = (MapStatus.RANKED, MapStatus.APPROVED, MapStatus.QUALIFIED, MapStatus.LOVED)
# Statuses whose maps award pp.
PP_STATUSES = (MapStatus.RANKED, MapStatus.APPROVED)
# Statuses whose maps have leaderboards: v1's get_user (and osu!track's
# snapshots) count a player's 300s, 100s and 50s over scores on these.
HIT_COUNT_STATUSES = (MapStatus.RANKED, MapStatus.APPROVED, MapStatus.LOVED)


def score_for_level(level: int) -> int:
    """Total score needed to reach a level, by osu!'s curve."""
    if level <= 100:
        # rounded to the nearest point: level 100 needs 26,931,190,829
        return round(5000 / 3 * (4 * level**3 - 3 * level**2 - level) + 1.25 * 1.8 ** (level - 60))
    return score_for_level(100) + 100_000_000_000 * (level - 100)


# the total score of each level up to 100, worked out once (a profile asks
# for levels over and over)
_LEVEL_SCORES = tuple(score_for_level(level) for level in range(1, 101))


def level_from_score(total_score: int) -> float:
    """The fractional level of a total score: the level reached plus the
    progress towards the next one."""
    if total_score >= _LEVEL_SCORES[-1]:
        level = 100 + (total_score - _LEVEL_SCORES[-1]) // 100_000_000_000
    else:
        level = max(1, bisect.bisect_right(_LEVEL_SCORES, total_score))
    floor, ceiling = score_for_level(level), score_for_level(level + 1)
    return level + (total_score - floor) / (ceiling - floor)


# --- osu!api v2 (server/routes/v2.py) ---------------------------------------

# v2's ruleset names for the vanilla modes (bancho.py's 0-3); relax and
# autopilot have no v2 name and are not served there.
V2_RULESETS: dict[int, str] = {
    GameMode.VN_STD: "osu",
    GameMode.VN_TAIKO: "taiko",
    GameMode.VN_CATCH: "fruits",
    GameMode.VN_MANIA: "mania",
}
V2_RULESET_IDS: dict[str, int] = {name: int(mode) for mode, name in V2_RULESETS.items()}

# v2's `ranked` (int) and `status` (string) for each bancho.py map status.
# Unlike v1, "update available" reads as pending (osu-web has no WIP state).
V2_RANKED: dict[MapStatus, int] = {
    MapStatus.NOT_SUBMITTED: -2,
    MapStatus.PENDING: 0,
    MapStatus.UPDATE_AVAILABLE: 0,
    MapStatus.RANKED: 1,
    MapStatus.APPROVED: 2,
    MapStatus.QUALIFIED: 3,
    MapStatus.LOVED: 4,
}
V2_STATUS_NAMES: dict[int, str] = {
    -2: "graveyard", -1: "wip", 0: "pending", 1: "ranked", 2: "approved", 3: "qualified", 4: "loved",
}
# Statuses whose maps have a leaderboard and a ranked date in v2.
V2_LEADERBOARD_STATUSES = (MapStatus.RANKED, MapStatus.APPROVED, MapStatus.QUALIFIED, MapStatus.LOVED)

# The first x-api-version that gets the current ("solo") score shape.
V2_SCORE_SHAPE_VERSION = 20220705

# A user's default group, from the highest privilege that names one.
V2_GROUPS: tuple[tuple[Privileges, str], ...] = (
    (Privileges.DEVELOPER, "dev"),
    (Privileges.ADMINISTRATOR, "gmt"),
    (Privileges.MODERATOR, "gmt"),
    (Privileges.NOMINATOR, "bng"),
    (Privileges.ALUMNI, "alumni"),
)


# Where lazer's acronyms (v2's) differ from MOD_ACRONYMS.
V2_MOD_ACRONYMS: dict[str, str] = {"AU": "AT", "RN": "RD", "CO": "DS", "V2": "SV2"}


def mods_list(mods: int) -> list[str]:
    """Mods as a list of v2 acronyms in bit order: NC without DT and PF
    without SD (the implied mod is dropped)."""
    names = [V2_MOD_ACRONYMS.get(acronym, acronym) for acronym, mod in MOD_ACRONYMS.items() if mods & mod]
    if mods & Mods.NIGHTCORE and "DT" in names:
        names.remove("DT")
    if mods & Mods.PERFECT and "SD" in names:
        names.remove("SD")
    return names


def fits_utf8mb3(text: str) -> bool:
    """bancho.py's text columns are MySQL's 3-byte utf8: a text with
    characters past U+FFFF (emoji) can equal none of their values, and
    MariaDB refuses to compare it with them (an illegal mix of collations),
    so lookups answer "not found" for it without asking."""
    return all(ord(c) <= 0xFFFF for c in text)
