"""The growth check: two reports of `python -m bench` at different scales,
endpoint by endpoint, each throughput taken as its run's share of that
run's own ceiling (so the machine's drift between runs cancels out).

    python -m bench.compare SMALL/report.json LARGE/report.json [--out growth.md]

Target: no endpoint loses more than 25% of its throughput from the small
data set to the large one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MAX_DROP = 0.25


def compare(small: dict[str, Any], large: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    before = {r["endpoint"]: r for r in small["endpoints"]}
    rows = []
    for r in large["endpoints"]:
        s = before.get(r["endpoint"])
        if s is None or not s["ratio"]:
            continue
        change = r["ratio"] / s["ratio"] - 1
        rows.append({"endpoint": r["endpoint"], "small_share": s["ratio"], "large_share": r["ratio"],
                     "small_rps": s["rps"], "large_rps": r["rps"], "change": round(change, 4),
                     "meets": change >= -MAX_DROP,
                     "bytes": (s.get("bytes_per_response"), r.get("bytes_per_response")),
                     "cpu_us": (s.get("cpu_total_us"), r.get("cpu_total_us")),
                     "database_us": ((s.get("cpu_us") or {}).get("database"), (r.get("cpu_us") or {}).get("database"))})
    sm, lg = small["meta"], large["meta"]
    lines = [
        "# Growth check",
        "",
        f"From {sm.get('scores', 0):,} scores / {sm.get('users', 0):,} players to"
        f" {lg.get('scores', 0):,} scores / {lg.get('users', 0):,} players; throughput as a share of each"
        f" run's own ceiling ({small['ceiling']['rps']:,.0f} and {large['ceiling']['rps']:,.0f} req/s)."
        f" Target: no drop larger than {100 * MAX_DROP:.0f}%. Beside it, how large an answer is (bytes a"
        " response, headers included) and how much CPU a request costs the server, MariaDB and wrk together"
        " (see each report's \"Where the CPU goes\"), and MariaDB's part of it, small -> large: a listing"
        " answers up to its limit of rows, and on the small data set many players and maps have fewer than"
        " that; and a row read from larger tables costs MariaDB more.",
        "",
        "| endpoint | small: req/s (share) | large: req/s (share) | change | target | bytes a response |"
        " CPU a request, µs | of which MariaDB |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['endpoint']} | {row['small_rps']:,.0f} ({100 * row['small_share']:.1f}%) |"
            f" {row['large_rps']:,.0f} ({100 * row['large_share']:.1f}%) | {100 * row['change']:+.1f}% |"
            f" {'ok' if row['meets'] else '**missed**'} | {_pair(row['bytes'])} | {_pair(row['cpu_us'])} |"
            f" {_pair(row['database_us'])} |")
    met = sum(r["meets"] for r in rows)
    lines += ["", f"Within {100 * MAX_DROP:.0f}%: {met}/{len(rows)} endpoints.", ""]
    return rows, "\n".join(lines)


def _pair(values: tuple[float | None, float | None]) -> str:
    if None in values:
        return "?"
    return f"{values[0]:,.0f} -> {values[1]:,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("small", type=Path, help="report.json of the smaller data set")
    parser.add_argument("large", type=Path, help="report.json of the larger data set")
    parser.add_argument("--out", type=Path, help="write the markdown here (default: print it)")
    args = parser.parse_args(argv)
    _, text = compare(json.loads(args.small.read_text()), json.loads(args.large.read_text()))
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
