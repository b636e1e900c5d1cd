"""Valid .osu files (format v14) for the demo maps, made up from each map's
row: the same mode, circle size (the key count in osu!mania), approach rate,
overall difficulty, HP drain, BPM and drain length, with hit objects whose
density and spread grow with the star rating the row asks for.

Deterministic: a map's file depends only on its row (its own random stream
is seeded with the map's id), so the demo data is the same every time.

osu!standard maps get circles, sliders and a spinner; osu!taiko maps dons
and kats (circles whose hitsounds say which, some of them big), a drumroll
and a denden; osu!catch maps fruits spread across the playfield, juice
streams (sliders) and a banana shower (a spinner); osu!mania maps notes and
hold notes in as many columns as the circle size says."""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Mapping

from . import pp

FIRST_OBJECT_MS = 1000  # the timing point's offset and the first object's time
PLAYFIELD = (512, 384)

# hit object types (bits): circle, slider, new combo, spinner, mania hold note
CIRCLE, SLIDER, NEW_COMBO, SPINNER, HOLD = 1, 2, 4, 8, 128
# hitsound bits: whistle, finish, clap (taiko: whistle or clap = kat, finish = big)
WHISTLE, FINISH, CLAP = 2, 4, 8


def slider_multiplier(stars: float) -> float:
    """Slider speed (hundreds of osu!pixels a beat): slow on easy maps."""
    return round(min(max(0.5 + 0.15 * stars, 0.6), 1.9), 1)


def _number(value: float) -> str:
    """4.0 -> '4', 3.45 -> '3.45', as the osu! editor writes settings."""
    return f"{value:.12g}"


class _Timeline:
    """Times on the beat grid, from the first object to the end of the drain
    length, and the rhythm that goes with a difficulty: how many notes a
    beat holds on average (from one every other beat to 4 a beat)."""

    def __init__(self, beatmap: Mapping[str, Any], note_ms: float) -> None:
        self.beat = 60000 / float(beatmap["bpm"])
        self.start = FIRST_OBJECT_MS
        self.end = FIRST_OBJECT_MS + int(beatmap["total_length"]) * 1000
        # notes per beat wanted on average, between 1/2 and 4
        self.density = min(max(self.beat / note_ms, 0.5), 4.0)

    def at(self, beats: float) -> int:
        return round(self.start + beats * self.beat)

    def middle(self, fraction: float) -> int:
        return self.at(int((self.end - self.start) / self.beat * fraction))

    def divisor(self, rng: random.Random) -> float:
        """Notes per beat for the next few notes: 1/2, 1, 2 or 4, mixed so
        that the average is the wanted density."""
        low = 0.5 if self.density < 1 else 1 if self.density < 2 else 2
        high = 2 * low
        return high if rng.random() < (self.density - low) / (high - low) else low

    @staticmethod
    def notes(divisor: float) -> int:
        """How many notes go in a row at that divisor: a beat's worth, or one
        note when notes are two beats apart."""
        return max(1, int(divisor))


def _walk(rng: random.Random, pos: tuple[float, float], distance: float, angle: float) -> tuple[tuple[float, float], float]:
    """The next position `distance` away, turning a little, bouncing off the
    playfield's edges."""
    angle += rng.uniform(-1.3, 1.3)
    x, y = pos[0] + distance * math.cos(angle), pos[1] + distance * math.sin(angle)
    margin = 24
    if not margin <= x <= PLAYFIELD[0] - margin:
        x = pos[0] - distance * math.cos(angle)
        angle = math.pi - angle
    if not margin <= y <= PLAYFIELD[1] - margin:
        y = pos[1] - distance * math.sin(angle)
        angle = -angle
    x = min(max(x, margin), PLAYFIELD[0] - margin)
    y = min(max(y, margin), PLAYFIELD[1] - margin)
    return (x, y), angle


def _standard(beatmap: Mapping[str, Any], stars: float, rng: random.Random) -> list[str]:
    """Circles on a wandering path (faster jumps and denser rhythms as the
    stars rise), linear sliders of one or two beats, and a spinner halfway."""
    # (the numbers here and in the other modes are tuned so that rosu-pp-py
    # rates the result near `stars`)
    time = _Timeline(beatmap, note_ms=600 / (0.6 + 0.45 * stars))
    velocity = 0.02 + 0.13 * stars  # osu!pixels per millisecond between notes
    lines: list[str] = []
    pos, angle = (256.0, 192.0), 0.0
    spinner_at, spinner_done = time.middle(0.5), False
    beats, measure = 0.0, -1
    while time.at(beats) < time.end - 2 * time.beat:
        now = time.at(beats)
        combo = NEW_COMBO if int(beats // 4) != measure else 0
        measure = int(beats // 4)
        if not spinner_done and now >= spinner_at:
            lines.append(f"256,192,{now},{SPINNER | NEW_COMBO},0,{time.at(beats + 8)},0:0:0:0:")
            spinner_done, beats, measure = True, beats + 9, -1
            continue
        if rng.random() < 0.2:
            length_beats = rng.choice((1, 1, 2))
            pixels = slider_multiplier(stars) * 100 * length_beats
            (ex, ey), angle = _walk(rng, pos, pixels, angle)
            # a linear slider's path is exactly `pixels` long: aim it at (ex, ey)
            dx, dy = ex - pos[0], ey - pos[1]
            scale = pixels / max(math.hypot(dx, dy), 1.0)
            end = (pos[0] + dx * scale, pos[1] + dy * scale)
            if not (0 <= end[0] <= PLAYFIELD[0] and 0 <= end[1] <= PLAYFIELD[1]):
                end = (pos[0] - dx * scale, pos[1] - dy * scale)
            lines.append(
                f"{round(pos[0])},{round(pos[1])},{now},{SLIDER | combo},0,"
                f"L|{round(end[0])}:{round(end[1])},1,{_number(pixels)}"
            )
            pos = end
            beats += length_beats + 1 / time.divisor(rng)
            continue
        divisor = time.divisor(rng)
        distance = min(velocity * time.beat / divisor, 300)
        for _ in range(time.notes(divisor)):
            lines.append(f"{round(pos[0])},{round(pos[1])},{time.at(beats)},{CIRCLE | combo},0,0:0:0:0:")
            combo = 0
            pos, angle = _walk(rng, pos, distance, angle)
            beats += 1 / divisor
    return lines


def _taiko(beatmap: Mapping[str, Any], stars: float, rng: random.Random) -> list[str]:
    """Dons and kats (denser and more mixed as the stars rise), big notes on
    some downbeats, a drumroll and a denden."""
    time = _Timeline(beatmap, note_ms=800 / (0.2 + stars))
    lines: list[str] = []
    drumroll_at, denden_at = time.middle(0.33), time.middle(0.66)
    done: set[str] = set()
    beats, colour = 0.0, 0
    while time.at(beats) < time.end - 2 * time.beat:
        now = time.at(beats)
        if "drumroll" not in done and now >= drumroll_at:
            pixels = slider_multiplier(stars) * 100 * 2
            lines.append(f"256,192,{now},{SLIDER | NEW_COMBO},0,L|{256 + round(pixels)}:192,1,{_number(pixels)}")
            done.add("drumroll")
            beats += 3
            continue
        if "denden" not in done and now >= denden_at:
            lines.append(f"256,192,{now},{SPINNER | NEW_COMBO},0,{time.at(beats + 4)},0:0:0:0:")
            done.add("denden")
            beats += 5
            continue
        divisor = time.divisor(rng)
        for k in range(time.notes(divisor)):
            if rng.random() < min(0.2 + 0.06 * stars, 0.7):
                colour ^= 1
            sound = rng.choice((WHISTLE, CLAP)) if colour else 0
            if beats % 4 == 0 and k == 0 and rng.random() < 0.5:
                sound |= FINISH
            lines.append(f"256,192,{time.at(beats)},{CIRCLE},{sound},0:0:0:0:")
            beats += 1 / divisor
    return lines


def _catch(beatmap: Mapping[str, Any], stars: float, rng: random.Random) -> list[str]:
    """Fruits swinging across the playfield (faster as the stars rise, so
    hard maps need dashes and hyperdashes), juice streams and a banana shower."""
    time = _Timeline(beatmap, note_ms=600 / (0.4 + 0.4 * stars))
    velocity = 0.05 + 0.2 * stars  # osu!pixels per millisecond between fruits
    lines: list[str] = []
    x, direction = 256.0, 1
    banana_at, bananas = time.middle(0.5), False
    beats, measure = 0.0, -1
    while time.at(beats) < time.end - 2 * time.beat:
        now = time.at(beats)
        combo = NEW_COMBO if int(beats // 4) != measure else 0
        measure = int(beats // 4)
        if not bananas and now >= banana_at:
            lines.append(f"256,192,{now},{SPINNER | NEW_COMBO},0,{time.at(beats + 6)},0:0:0:0:")
            bananas, beats, measure = True, beats + 7, -1
            continue
        if rng.random() < 0.2:
            length_beats = rng.choice((1, 2))
            pixels = slider_multiplier(stars) * 100 * length_beats
            end = x + direction * pixels
            if not 0 <= end <= PLAYFIELD[0]:
                direction = -direction
                end = x + direction * pixels
            lines.append(f"{round(x)},192,{now},{SLIDER | combo},0,L|{round(end)}:192,1,{_number(pixels)}")
            x = end
            beats += length_beats + 1
            continue
        divisor = time.divisor(rng)
        for _ in range(time.notes(divisor)):
            lines.append(f"{round(x)},192,{time.at(beats)},{CIRCLE | combo},0,0:0:0:0:")
            combo = 0
            step = min(rng.uniform(0.6, 1.0) * velocity * time.beat / divisor, PLAYFIELD[0])
            if rng.random() < 0.35 or not 0 <= x + direction * step <= PLAYFIELD[0]:
                direction = -direction
            x = min(max(x + direction * step, 0), PLAYFIELD[0])
            beats += 1 / divisor
    return lines


def _mania(beatmap: Mapping[str, Any], stars: float, rng: random.Random) -> list[str]:
    """Notes and hold notes in `CS` columns; harder maps pack more notes
    into each beat and more of them into chords."""
    keys = max(1, min(18, round(float(beatmap["cs"]))))
    time = _Timeline(beatmap, note_ms=700 / (0.3 + 0.6 * stars))
    chord_chance = min(0.04 * stars * stars / keys, 0.9)
    lines: list[str] = []
    held_until = [0] * keys
    beats = 0.0
    while time.at(beats) < time.end - 2 * time.beat:
        divisor = time.divisor(rng)
        for _ in range(time.notes(divisor)):
            now = time.at(beats)
            chord = 1 + sum(rng.random() < chord_chance for _ in range(keys - 1))
            free = [c for c in range(keys) if held_until[c] < now]
            for column in sorted(rng.sample(free, min(chord, len(free)))):
                x = math.floor((column + 0.5) * PLAYFIELD[0] / keys)
                if rng.random() < 0.12:
                    end = time.at(beats + rng.choice((0.5, 1, 2)))
                    held_until[column] = end + 1
                    lines.append(f"{x},192,{now},{HOLD},0,{end}:0:0:0:0:")
                else:
                    lines.append(f"{x},192,{now},{CIRCLE},0,0:0:0:0:")
            beats += 1 / divisor
    return lines


_HIT_OBJECTS: dict[int, Callable[[Mapping[str, Any], float, random.Random], list[str]]] = {
    0: _standard,
    1: _taiko,
    2: _catch,
    3: _mania,
}


def osu_file(beatmap: Mapping[str, Any], stars: float) -> str:
    """The .osu file of a maps row (id, set_id, mode, artist, title, creator,
    version, cs, ar, od, hp, bpm, total_length) whose hit objects are about
    as hard as `stars` says (a rough aim: rosu-pp-py measures the result)."""
    mode = int(beatmap["mode"])
    rng = random.Random(f"demo .osu file {beatmap['id']}")
    objects = _HIT_OBJECTS[mode](beatmap, stars, rng)
    beat = 60000 / float(beatmap["bpm"])
    return "\n".join([
        "osu file format v14",
        "",
        "[General]",
        "AudioFilename: audio.mp3",
        "AudioLeadIn: 0",
        "PreviewTime: -1",
        "Countdown: 0",
        "SampleSet: Soft",
        "StackLeniency: 0.7",
        f"Mode: {mode}",
        "LetterboxInBreaks: 0",
        "WidescreenStoryboard: 0",
        "",
        "[Editor]",
        "DistanceSpacing: 1",
        "BeatDivisor: 4",
        "GridSize: 4",
        "TimelineZoom: 1",
        "",
        "[Metadata]",
        f"Title:{beatmap['title']}",
        f"TitleUnicode:{beatmap['title']}",
        f"Artist:{beatmap['artist']}",
        f"ArtistUnicode:{beatmap['artist']}",
        f"Creator:{beatmap['creator']}",
        f"Version:{beatmap['version']}",
        "Source:",
        "Tags:demo",
        f"BeatmapID:{beatmap['id']}",
        f"BeatmapSetID:{beatmap['set_id']}",
        "",
        "[Difficulty]",
        f"HPDrainRate:{_number(beatmap['hp'])}",
        f"CircleSize:{_number(beatmap['cs'])}",
        f"OverallDifficulty:{_number(beatmap['od'])}",
        f"ApproachRate:{_number(beatmap['ar'])}",
        f"SliderMultiplier:{_number(slider_multiplier(stars))}",
        "SliderTickRate:1",
        "",
        "[Events]",
        "//Background and Video events",
        "//Break Periods",
        "",
        "[TimingPoints]",
        f"{FIRST_OBJECT_MS},{beat!r},4,2,0,60,1,0",
        "",
        "[HitObjects]",
        *objects,
        "",
    ])


def demo_file(beatmap: Mapping[str, Any]) -> tuple[str, pp.MapDifficulty]:
    """A demo map's file, aiming at the star rating in its row's `diff`, and
    what rosu-pp-py makes of it (the row takes its diff and max combo from
    there). When the first try lands more than 15% off, a second one with
    the aim scaled by the miss is made and the closer of the two kept."""
    target = float(beatmap["diff"])
    text = osu_file(beatmap, target)
    measured = pp.difficulty(text)
    if abs(measured.stars - target) > 0.15 * target:
        retry = osu_file(beatmap, target * target / measured.stars)
        remeasured = pp.difficulty(retry)
        if abs(remeasured.stars - target) < abs(measured.stars - target):
            text, measured = retry, remeasured
    return text, measured
