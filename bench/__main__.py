"""The whole benchmark in one command:

    python -m bench --scores 1000000 --users 20000

starts a throwaway MariaDB (tests/mariadb_server.py), generates the data set
(bench/generate.py) as a bancho.py database, times `db migrate` on it
(bench/migration.py), serves it with `python -m server serve` (one process),
measures the ceiling and every endpoint with wrk (bench/run.py) and writes
bench/report/report.{md,json,png}. Everything stays on 127.0.0.1.

With --growth it first does the same at a tenth of the scores and a fifth
of the players (bench/report/small/), then writes the growth check
(bench/compare.py) to bench/report/growth.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import compare, generate, migration, run

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--maps", type=int, default=None, help="default: users, at least 500")
    parser.add_argument("--scores", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--buffer-pool-mb", type=int, default=1024,
                        help="the throwaway MariaDB's InnoDB buffer pool (default 1024)")
    parser.add_argument("--database-url", help="an empty MariaDB database of your own instead of a throwaway server")
    parser.add_argument("--only", action="append", help="run only this endpoint (repeatable)")
    parser.add_argument("--growth", action="store_true",
                        help="also run at a tenth of the scores and a fifth of the players, and compare")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "report")
    args = parser.parse_args(argv)

    mariadb = None
    if args.database_url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from mariadb_server import start_mariadb

        mariadb = start_mariadb()
        # the tests' server is sized for small data; give InnoDB room
        mariadb.execute(f"SET GLOBAL innodb_buffer_pool_size = {args.buffer_pool_mb * 1024 * 1024}")
    elif args.growth:
        raise SystemExit("--growth needs two databases: leave out --database-url")
    try:
        scales = [(args.users, args.scores, args.out)]
        if args.growth:
            scales.insert(0, (max(1, args.users // 5), max(1, args.scores // 10), args.out / "small"))
        reports = []
        for number, (users, scores, out) in enumerate(scales):
            url = args.database_url
            if mariadb is not None:
                mariadb.create_database(f"bench{number}")
                url = mariadb.url(f"bench{number}")
            reports.append(_one_run(args, url, users, scores, out, None if mariadb is None else mariadb.process.pid))
        if args.growth:
            _, text = compare.compare(*reports)
            (args.out / "growth.md").write_text(text)
            generate.log(text)
    finally:
        if mariadb is not None:
            mariadb.stop()


def _one_run(args: argparse.Namespace, url: str, users: int, scores: int, out: Path,
             database_pid: int | None) -> dict:
    """Generate one scale's data and measure it; database_pid: the throwaway
    MariaDB's process (None for a database of your own), whose CPU is counted."""
    maps = args.maps if args.maps is not None else max(500, users)
    # the newest plays are from now, so "recent" listings have rows
    end = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat()
    started = time.perf_counter()
    loaded = asyncio.run(generate.generate(url, users=users, maps=maps, scores=scores, seed=args.seed, end=end))
    generate.log(f"generated in {time.perf_counter() - started:.1f} s; db migrate ...")
    migrated = asyncio.run(migration.measure(url, say=generate.log))
    generate.log(f"migrated in {migrated['seconds']:g} s; measuring ...")
    meta = {"users": users, "maps": maps, "scores": scores, "seed": args.seed,
            "generate_seconds": loaded["seconds"], "rows": loaded["rows"], "migration": migrated,
            "mariadb_buffer_pool_mb": args.buffer_pool_mb if database_pid is not None else None}
    report = run.run_bench(database_url=url, url=None, duration=args.duration, connections=args.connections,
                           threads=args.threads, out=out, seed=args.seed, meta=meta, only=args.only,
                           database_pid=database_pid)
    generate.log((out / "report.md").read_text())
    s = report["summary"]
    generate.log(f"report: {out}/report.md; ratio targets {s['ratio_targets_met']}/{s['endpoints']},"
                 f" p99 {s['p99_targets_met']}/{s['endpoints']}, RSS peak {s['rss_peak_mb']} MB")
    return report

if __name__ == "__main__":
    main()
