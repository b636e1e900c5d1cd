"""Replays: the .osr file of a stored frame stream, as bancho.py's
get_replay assembles it, and deterministic frame streams for demo data.

A stored replay (`DATA_DIR/osr/<score id>.osr`) is what the game client
uploads: the raw LZMA stream of the play's frames. The full .osr puts the
score's header around it:

    mode             byte    the vanilla mode (bancho.py's mode % 4)
    game version     int32   20200207, as bancho.py writes
    beatmap md5      string
    player name      string
    replay md5       string  see replay_md5()
    n300 n100 n50
    ngeki nkatu nmiss 6 x int16
    score            int32
    max combo        int16
    perfect          byte
    mods             int32
    life bar         string  empty (a single 0x00)
    timestamp        int64   .NET ticks (100 ns since 0001-01-01) of play_time, read as UTC
    frames           int32 length, then the stored bytes unchanged
    score id         int64

Strings are osu!'s: 0x0b, the UTF-8 length as ULEB128, the UTF-8 bytes; an
empty string is the single byte 0x00. All numbers are little-endian."""

from __future__ import annotations

import hashlib
import lzma
import random
import struct
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import quote

# bancho.py writes this version into every .osr it serves
GAME_VERSION = 20200207
# .NET ticks run in 100 ns steps from 0001-01-01 00:00 (UTC here)
_TICKS_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)
# What osu! writes as the first two frames of every replay
LEAD_IN_FRAMES = ("0|256|-500|0", "-1|256|-500|0")
# The LZMA-alone (.lzma) settings osu! stable writes replays with: lc=3,
# lp=0, pb=2 (properties byte 0x5D) and a 2 MiB dictionary, so the stream
# starts 5D 00 00 20 00. Fast mode (as osrparse writes replays) with the
# hc3 match finder, whose tables for a 2 MiB dictionary are small enough to
# set up in a fraction of the time hc4's take: the demo makes hundreds.
_LZMA_FILTERS = [
    {"id": lzma.FILTER_LZMA1, "dict_size": 1 << 21, "mode": lzma.MODE_FAST, "mf": lzma.MF_HC3}
]


def osu_string(text: str | None) -> bytes:
    """0x0b + ULEB128 byte length + UTF-8, or 0x00 for an empty string."""
    if not text:
        return b"\x00"
    data = text.encode("utf-8")
    return b"\x0b" + uleb128(len(data)) + data


def uleb128(number: int) -> bytes:
    if number < 0:
        raise ValueError("ULEB128 holds non-negative numbers only")
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def replay_md5(score_row: Mapping[str, Any], player_name: str, beatmap_md5: str) -> str:
    """The replay checksum bancho.py puts into the .osr (its rank is always
    0 and its last part always "True")."""
    r = score_row
    text = "{}p{}o{}o{}t{}a{}r{}e{}y{}o{}u{}{}{}".format(
        r["n100"] + r["n300"], r["n50"], r["ngeki"], r["nkatu"], r["nmiss"], beatmap_md5,
        r["max_combo"], str(r["perfect"] == 1), player_name, r["score"], 0, r["mods"], "True",
    )
    return hashlib.md5(text.encode()).hexdigest()


def as_utc(value: datetime | str) -> datetime:
    """A DATETIME column (MySQL hands back datetime, SQLite the stored text)
    as an aware UTC datetime; naive values are taken to be UTC."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def dotnet_ticks(value: datetime | str) -> int:
    return (as_utc(value) - _TICKS_EPOCH) // timedelta(microseconds=1) * 10


def _u16(number: int) -> int:
    # the game writes counts and combo as unsigned 16-bit; bancho.py's columns
    # are INT, so larger values saturate instead of failing to pack
    return max(0, min(0xFFFF, int(number)))


def _i32(number: int) -> int:
    return max(-(2**31), min(2**31 - 1, int(number)))


def osr_file(score_row: Mapping[str, Any], player_name: str, beatmap_md5: str, frames: bytes) -> bytes:
    """The full .osr of a score: its header, the stored frames, its id.

    score_row needs mode, n300, n100, n50, ngeki, nkatu, nmiss, score,
    max_combo, perfect, mods, play_time and id (a row of `scores`)."""
    r = score_row
    return b"".join((
        struct.pack("<Bi", int(r["mode"]) % 4, GAME_VERSION),
        osu_string(beatmap_md5),
        osu_string(player_name),
        osu_string(replay_md5(r, player_name, beatmap_md5)),
        struct.pack(
            "<HHHHHHiHBi",
            _u16(r["n300"]), _u16(r["n100"]), _u16(r["n50"]),
            _u16(r["ngeki"]), _u16(r["nkatu"]), _u16(r["nmiss"]),
            _i32(r["score"]), _u16(r["max_combo"]), 1 if r["perfect"] else 0, _i32(r["mods"]),
        ),
        osu_string(""),  # life bar: not kept by bancho.py
        struct.pack("<q", dotnet_ticks(r["play_time"])),
        struct.pack("<i", len(frames)),
        frames,
        struct.pack("<q", int(r["id"])),
    ))


def replay_filename(player_name: str, artist: str, title: str, version: str, play_time: datetime | str) -> str:
    """bancho.py's download name: `<player> - <artist> - <title> [<version>] (<YYYY-MM-DD>).osr`."""
    return f"{player_name} - {artist} - {title} [{version}] ({as_utc(play_time):%Y-%m-%d}).osr"


def content_disposition(filename: str) -> str:
    """`attachment; filename="<name>"`, exactly bancho.py's header for plain
    ASCII names. Otherwise the quoted name is an ASCII stand-in (`"` and `\\`
    escaped, control and non-ASCII characters as `_`) and the real name
    follows as RFC 5987's `filename*=UTF-8''<percent-encoded>`."""
    plain = all(" " <= ch <= "~" and ch not in '"\\' for ch in filename)
    if plain:
        return f'attachment; filename="{filename}"'
    fallback = "".join(
        "\\" + ch if ch in '"\\' else (ch if " " <= ch <= "~" else "_") for ch in filename
    )
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


# --- demo frame streams --------------------------------------------------------


_STD_KEYS = (0, 0, 0, 5, 10, 15)  # M1+K1 = 5, M2+K2 = 10
_TAIKO_KEYS = (0, 0, 1, 2, 4, 8, 5, 10)  # don/kat, left/right


def _play_frames(rng: random.Random, mode: int, count: int, columns: int) -> list[str]:
    """`x|y|keys` of each play frame, as the mode reads them."""
    r = rng.random
    if mode == 1:  # taiko: the drum keys; x is an integer
        return [f"320|0|{_TAIKO_KEYS[int(r() * len(_TAIKO_KEYS))]}" for _ in range(count)]
    if mode == 3:  # mania: x is the bit set of the columns held down
        top = 1 << columns
        return [f"{int(r() * top) if r() < 0.6 else 0}|0|0" for _ in range(count)]
    out = []
    x, y = 256.0, 192.0
    if mode == 2:  # catch: the catcher's x, and keys 1 while dashing
        for _ in range(count):
            x = min(512.0, max(0.0, x + 96 * r() - 48))
            out.append(f"{x:.2f}|0|{1 if r() < 0.2 else 0}")
        return out
    for _ in range(count):  # osu!: the cursor wanders over the 512x384 playfield
        x = min(512.0, max(0.0, x + 48 * r() - 24))
        y = min(384.0, max(0.0, y + 48 * r() - 24))
        out.append(f"{x:.2f}|{y:.2f}|{_STD_KEYS[int(r() * len(_STD_KEYS))]}")
    return out


def demo_frames(seed: int, length_ms: int, *, mode: int = 0, frames: int = 200, columns: int = 4) -> bytes:
    """A deterministic replay frame stream for demo data: the two lead-in
    frames osu! writes, `frames` play frames spread evenly over length_ms
    (their time deltas add up to it exactly), then the seed frame
    `-12345|0|0|<seed>`, each as `w|x|y|z,`, LZMA-compressed in the
    LZMA-alone format osu! uses. The same arguments give the same bytes.

    mode is the vanilla mode the frames are for (0-3; bancho.py modes are
    taken % 4); columns is the key count of a mania map."""
    if not -(2**31) <= seed < 2**31:
        raise ValueError("the seed is a 32-bit signed integer")
    if length_ms < 0 or frames < 0:
        raise ValueError("length_ms and frames must not be negative")
    if not 1 <= columns <= 18:
        raise ValueError("columns must be 1 to 18")
    mode %= 4
    rng = random.Random(f"demo frames {seed} {length_ms} {mode} {frames} {columns}")
    parts = list(LEAD_IN_FRAMES)
    elapsed = 0
    for i, frame in enumerate(_play_frames(rng, mode, frames, columns), 1):
        at = length_ms * i // frames
        parts.append(f"{at - elapsed}|{frame}")
        elapsed = at
    parts.append(f"-12345|0|0|{seed}")
    text = ",".join(parts) + ","
    return lzma.compress(text.encode("ascii"), format=lzma.FORMAT_ALONE, filters=_LZMA_FILTERS)
