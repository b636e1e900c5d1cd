"""The load runner: drives each endpoint of the bancho-style and osu!api v1
layers with wrk over loopback, rotating through request URLs sampled from the
database, measures the machine's ceiling (bench/ceiling.py) the same way, and
writes the report (report.md, report.json, report.png).

    python -m bench.run --database-url mysql://.../bench [--url http://127.0.0.1:8000]

Without --url a server is started on the database (`python -m server serve`,
one process, LOG_LEVEL=warning) and stopped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from server.db import Database

from . import migration, parsing

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# endpoint name -> (kind, target share of the ceiling)
SINGLE, LISTING = "single", "listing"
TARGETS = {SINGLE: 0.30, LISTING: 0.15}
P99_TARGET_MS = 25.0
RSS_TARGET_MB = 150.0
# the ceiling is measured before the endpoints, after every this many and
# at the end; shares are of the median. On a shared machine one measurement
# was seen anywhere from 8,500 to 13,000 req/s within an hour.
CEILING_EVERY = 5

_LUA = r"""
local paths = {}
local counter = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = math.random(#paths)
end
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
done = function(summary, latency, requests)
  io.write("BENCH_JSON ")
  io.write(string.format(
    '{"requests": %d, "bytes": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from exc
            time.sleep(0.2)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's VmRSS every 0.25 s while running."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = rss_mb(self.pid) if self.pid else None
            if value is not None:
                self.peak = max(self.peak, value)
            self._stop.wait(0.25)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int | None) -> float | None:
    """The user and system CPU time a process has used so far (/proc)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(base: str, paths: list[str], *, duration: float, connections: int, threads: int,
        workdir: Path, pid: int | None, cpu_pids: dict[str, int | None] | None = None) -> dict[str, Any]:
    """One wrk run over the paths; figures from the Lua done() hook. With
    cpu_pids ({"server": pid, "database": pid}), also the CPU time each of
    those processes and wrk itself spent a request, in microseconds."""
    url_file = workdir / "paths.txt"
    url_file.write_text("\n".join(paths) + "\n")
    script = workdir / "rotate.lua"
    script.write_text(_LUA)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s",
           "-s", str(script), base, "--", str(url_file)]
    cpu_pids = cpu_pids or {}
    cpu_before = {role: cpu_seconds(p) for role, p in cpu_pids.items()}
    # wrk is the only child waited for meanwhile: its CPU is the children's growth
    wrk_before = _children_cpu_seconds()
    with RssSampler(pid) as sampler:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    wrk_cpu = _children_cpu_seconds() - wrk_before
    cpu_used = {role: (None if cpu_before[role] is None or (after := cpu_seconds(p)) is None
                       else after - cpu_before[role]) for role, p in cpu_pids.items()}
    match = re.search(r"BENCH_JSON (\{.*\})", proc.stdout)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "non_2xx": raw["status"],
        "rss_peak_mb": round(sampler.peak, 1) if pid else None,
        # headers included: how much each answer carries (listings grow with the data)
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else None,
        "cpu_us": {role: None if used is None or not raw["requests"] else round(1e6 * used / raw["requests"], 1)
                   for role, used in {**cpu_used, "wrk": wrk_cpu}.items()},
    }


async def sample_urls(database_url: str, key: str, n: int, seed: int) -> dict[str, tuple[str, list[str]]]:
    """Request paths per endpoint, from what the database holds: players
    weighted by how much they play (as traffic is), maps by popularity."""
    rng = random.Random(seed)
    async with Database(database_url) as db:
        # players with at least one score, by activity (restricted ones too:
        # their profiles are looked up as well)
        players = await db.fetch_all(
            "SELECT s.id, u.name, s.plays FROM stats s JOIN users u ON u.id = s.id"
            " WHERE s.mode = 0 AND s.plays > 0 AND s.id >= 3 ORDER BY s.id")
        if not players:
            players = await db.fetch_all("SELECT id, name, 1 AS plays FROM users WHERE id >= 3 ORDER BY id")
        weights = [min(int(p["plays"]), 1000) + 5 for p in players]
        picked = rng.choices(players, weights=weights, k=n)
        # maps by popularity, std maps (mode 0 listings)
        maps = await db.fetch_all("SELECT id, md5, plays FROM maps WHERE plays > 0 AND mode = 0 ORDER BY id")
        mpicked = rng.choices(maps, weights=[int(m["plays"]) + 1 for m in maps], k=n)
        max_score = int(await db.fetch_val("SELECT MAX(id) FROM scores") or 1)
        score_ids = [rng.randint(1, max_score) for _ in range(n)]
        countries = [r["country"] for r in await db.fetch_all("SELECT DISTINCT country FROM users ORDER BY country")]
        # search: two or three letters of real names
        names = [p["name"] for p in picked]
    k = quote(key)
    ids = [p["id"] for p in picked]
    q = lambda s: quote(s, safe="")  # noqa: E731
    search = []
    for name in names:
        start = rng.randrange(max(1, len(name) - 3))
        search.append(name[start:start + rng.choice((2, 3))])
    return {
        # bancho-style API
        "get_player_info": (SINGLE, [f"/v1/get_player_info?id={i}&scope=all" for i in ids]),
        "get_player_info(name)": (SINGLE, [f"/v1/get_player_info?name={q(nm)}&scope=info" for nm in names]),
        "get_player_status": (SINGLE, [f"/v1/get_player_status?id={i}" for i in ids]),
        "get_player_count": (SINGLE, ["/v1/get_player_count"]),
        "get_map_info": (SINGLE, [f"/v1/get_map_info?id={m['id']}" for m in mpicked]),
        "get_score_info": (SINGLE, [f"/v1/get_score_info?id={i}" for i in score_ids]),
        "get_player_scores(best)": (LISTING, [f"/v1/get_player_scores?id={i}&scope=best" for i in ids]),
        "get_player_scores(recent)": (LISTING, [f"/v1/get_player_scores?id={i}&scope=recent" for i in ids]),
        "get_player_most_played": (LISTING, [f"/v1/get_player_most_played?id={i}" for i in ids]),
        "get_map_scores": (LISTING, [f"/v1/get_map_scores?md5={m['md5']}&scope=best" for m in mpicked]),
        "get_leaderboard": (LISTING, [f"/v1/get_leaderboard?sort=pp&offset={rng.choice((0, 0, 0, 50, 100, 1000))}"
                                      for _ in range(n)]),
        "get_leaderboard(country)": (LISTING, [f"/v1/get_leaderboard?sort=pp&country={rng.choice(countries)}"
                                               for _ in range(n)]),
        "search_players": (LISTING, [f"/v1/search_players?q={q(s)}" for s in search]),
        # osu!api v1
        "v1 get_user": (SINGLE, [f"/api/get_user?k={k}&u={i}&type=id" for i in ids]),
        "v1 get_beatmaps(b)": (SINGLE, [f"/api/get_beatmaps?k={k}&b={m['id']}" for m in mpicked]),
        "v1 get_scores": (LISTING, [f"/api/get_scores?k={k}&b={m['id']}" for m in mpicked]),
        "v1 get_user_best": (LISTING, [f"/api/get_user_best?k={k}&u={i}&type=id" for i in ids]),
        "v1 get_user_recent": (LISTING, [f"/api/get_user_recent?k={k}&u={i}&type=id" for i in ids]),
        # bancho.py's /v2 API: one object, and a player's, a map's pages
        "v2 player": (SINGLE, [f"/v2/players/{i}" for i in ids]),
        "v2 player stats": (SINGLE, [f"/v2/players/{i}/stats/0" for i in ids]),
        "v2 map": (SINGLE, [f"/v2/maps/{m['id']}" for m in mpicked]),
        "v2 score": (SINGLE, [f"/v2/scores/{i}" for i in score_ids]),
        "v2 scores(user)": (LISTING, [f"/v2/scores?user_id={i}" for i in ids]),
        "v2 scores(map)": (LISTING, [f"/v2/scores?map_md5={m['md5']}" for m in mpicked]),
        "v2 players(country)": (LISTING, [f"/v2/players?country={rng.choice(countries)}" for _ in range(n)]),
        "v2 maps": (LISTING, [f"/v2/maps?page={rng.randint(1, 20)}" for _ in range(n)]),
    }


def create_key(database_url: str) -> str:
    env = dict(os.environ, DATABASE_URL=database_url, LOG_LEVEL="warning")
    out = subprocess.run([sys.executable, "-m", "server", "keys", "create", "--name", f"bench-{os.getpid()}"],
                         env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1].strip()


def start_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_file = open(log_path, "wb")
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_bench(*, database_url: str, url: str | None, duration: float, connections: int, threads: int,
              out: Path, seed: int, meta: dict[str, Any], only: list[str] | None = None,
              database_pid: int | None = None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="bench-run-"))
    procs: list[subprocess.Popen] = []
    try:
        # the request log and the rate limit off: the figures are the API's own
        env = dict(os.environ, LOG_LEVEL="warning", DEMO_ON_EMPTY="0", DATA_DIR=str(workdir / "data"),
                   RATE_LIMIT_PER_MINUTE="0")
        env.pop("REDIS_URL", None)
        # the ceiling's server runs beside the API's, one under load at a time
        cport = free_port()
        ceiling = start_process([sys.executable, "-m", "bench.ceiling", "--port", str(cport)], env,
                                workdir / "ceiling.log")
        procs.append(ceiling)
        cbase = f"http://127.0.0.1:{cport}"
        wait_http(cbase + "/ceiling")
        wrk(cbase, ["/ceiling"], duration=1, connections=connections, threads=threads, workdir=workdir, pid=None)
        log(f"ceiling: {duration:g} s ...")
        ceilings: list[dict[str, Any]] = []

        def measure_ceiling() -> None:
            sample = wrk(cbase, ["/ceiling"], duration=duration, connections=connections, threads=threads,
                         workdir=workdir, pid=ceiling.pid, cpu_pids={"server": ceiling.pid})
            ceilings.append(sample)
            log(f"  ceiling {sample['rps']:,.0f} req/s, p99 {sample['p99_ms']} ms")

        measure_ceiling()

        key = create_key(database_url)
        server_pid = None
        if url is None:
            port = free_port()
            env_server = dict(env, DATABASE_URL=database_url)
            server = start_process([sys.executable, "-m", "server", "serve", "--port", str(port)], env_server,
                                   workdir / "server.log")
            procs.append(server)
            server_pid = server.pid
            url = f"http://127.0.0.1:{port}"
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("the load runner only drives a server on loopback")
        wait_http(url + "/v1/get_player_count")
        endpoints = asyncio.run(sample_urls(database_url, key, 1000, seed))
        reading = parsing.measure({name: paths for name, (_, paths) in endpoints.items()
                                   if not only or name in only})
        results = []
        for name, (kind, paths) in endpoints.items():
            if only and name not in only:
                continue
            # a bad URL set would measure error pages: check one first
            with urllib.request.urlopen(url + paths[0], timeout=10) as response:
                response.read()
            if results and len(results) % CEILING_EVERY == 0:
                measure_ceiling()
            wrk(url, paths, duration=1, connections=connections, threads=threads, workdir=workdir, pid=None)
            result = wrk(url, paths, duration=duration, connections=connections, threads=threads,
                         workdir=workdir, pid=server_pid, cpu_pids={"server": server_pid, "database": database_pid})
            result.update(endpoint=name, kind=kind, target_ratio=TARGETS[kind], params_us=reading.get(name),
                          example=paths[0].replace(quote(key), "KEY"))
            result["meets_p99"] = result["p99_ms"] < P99_TARGET_MS
            results.append(result)
            log(f"  {name}: {result['rps']:,.0f} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms,"
                f" errors {result['errors']}, rss {result['rss_peak_mb']} MB")
        if server_pid:
            meta["server_rss_end_mb"] = rss_mb(server_pid)
        measure_ceiling()
    finally:
        for proc in procs:
            stop_process(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    # the median measurement (the middle one of an odd count, else the
    # lower of the two middle ones): shares of it, the spread beside it
    ceiling_result = sorted(ceilings, key=lambda sample: sample["rps"])[(len(ceilings) - 1) // 2]
    meta["ceiling_samples_rps"] = [sample["rps"] for sample in ceilings]
    for result in results:
        result["ratio"] = round(result["rps"] / ceiling_result["rps"], 4)
        result["meets_ratio"] = result["ratio"] >= TARGETS[result["kind"]]
        result.update(cpu_bound(result, ceiling_result["rps"], os.cpu_count() or 1))
        log(f"  {result['endpoint']}: {100 * result['ratio']:.1f}% of the ceiling")
    report = {
        "meta": dict(meta, duration_s=duration, connections=connections, wrk_threads=threads,
                     cpus=os.cpu_count(), python=sys.version.split()[0],
                     date=time.strftime("%Y-%m-%d %H:%M:%S %Z")),
        "ceiling": ceiling_result,
        "endpoints": results,
    }
    rss_values = [r["rss_peak_mb"] for r in results if r["rss_peak_mb"]]
    report["summary"] = {
        "rss_peak_mb": max(rss_values) if rss_values else None,
        "meets_rss": (max(rss_values) < RSS_TARGET_MB) if rss_values else None,
        "ratio_targets_met": sum(r["meets_ratio"] for r in results),
        "p99_targets_met": sum(r["meets_p99"] for r in results),
        "endpoints": len(results),
        "errors": sum(r["errors"] for r in results),
    }
    write_report(report, out)
    return report


def cpu_bound(result: dict[str, Any], ceiling_rps: float, cpus: int) -> dict[str, Any]:
    """What the CPU an endpoint's requests cost allows on this machine: the
    server is one process on one core, and the server, the database and
    wrk share every core, so no run can pass min(1 s / the server's CPU a
    request, cores / everyone's). Beside it, how much CPU a request may
    cost in all for the endpoint's target share of the ceiling. Empty when
    the server's or the database's CPU was not measured (a server or
    database of your own)."""
    cpu = result.get("cpu_us") or {}
    if any(cpu.get(role) is None for role in ("server", "database", "wrk")):
        return {}
    total = cpu["server"] + cpu["database"] + cpu["wrk"]
    allowed = min(1e6 / cpu["server"], cpus * 1e6 / total) if cpu["server"] and total else None
    return {
        "cpu_total_us": round(total, 1),
        "cpu_bound_rps": None if allowed is None else round(allowed, 1),
        "cpu_bound_ratio": None if allowed is None else round(allowed / ceiling_rps, 4),
        "cpu_budget_us": round(cpus * 1e6 / (result["target_ratio"] * ceiling_rps), 1),
    }


def _count(meta: dict[str, Any], key: str) -> str:
    return f"{meta[key]:,}" if key in meta else "?"


def _data_line(meta: dict[str, Any]) -> str:
    """What was measured: the generated data set, when this run generated it
    (python -m bench.run alone is given a database and knows nothing of it)."""
    if "scores" not in meta:
        return "Data: a database of your own (not generated by this run)."
    return (f"Data: {_count(meta, 'scores')} scores, {_count(meta, 'users')} players, {_count(meta, 'maps')} maps"
            f" (seed {meta.get('seed', '?')}); generated in {meta.get('generate_seconds', '?')} s.")


def _ceiling_spread(meta: dict[str, Any]) -> str:
    samples = meta["ceiling_samples_rps"]
    return f"{len(samples)} measurements: " + ", ".join(f"{rps:,.0f}" for rps in samples) + " req/s"


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    meta, ceiling, summary = report["meta"], report["ceiling"], report["summary"]
    lines = [
        "# Benchmark report",
        "",
        f"{meta.get('date')}; {meta.get('cpus')} CPUs; wrk {meta['connections']} connections,"
        f" {meta['wrk_threads']} threads, {meta['duration_s']:g} s per endpoint; one server process.",
        _data_line(meta),
        "",
        f"Ceiling (trivial Starlette JSON endpoint, same uvicorn settings): **{ceiling['rps']:,.0f} req/s**,"
        f" p50 {ceiling['p50_ms']} ms, p99 {ceiling['p99_ms']} ms: the median of {_ceiling_spread(meta)}"
        " (before the endpoints, between them and after; their spread is the machine's drift).",
        "",
        "| endpoint | kind | req/s | share of ceiling | target | p50 ms | p99 ms | errors | worker RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["endpoints"]:
        ok = "ok" if r["meets_ratio"] else "**missed**"
        p99 = f"{r['p99_ms']}" if r["meets_p99"] else f"**{r['p99_ms']}**"
        lines.append(f"| {r['endpoint']} | {r['kind']} | {r['rps']:,.0f} | {100 * r['ratio']:.1f}% |"
                     f" {100 * r['target_ratio']:.0f}% {ok} | {r['p50_ms']} | {p99} | {r['errors']} | {r['rss_peak_mb']} |")
    lines += [
        "",
        f"Share-of-ceiling targets met: {summary['ratio_targets_met']}/{summary['endpoints']};"
        f" p99 < {P99_TARGET_MS:g} ms: {summary['p99_targets_met']}/{summary['endpoints']};"
        f" peak worker RSS {summary['rss_peak_mb']} MB (target < {RSS_TARGET_MB:g} MB:"
        f" {'met' if summary['meets_rss'] else 'missed'}); errors {summary['errors']}.",
        "",
        "![throughput as a share of the ceiling](report.png)",
        "",
    ]
    lines += _cpu_section(report)
    lines += _reading_section(report)
    if "migration" in meta:
        lines += ["", *migration.report_lines(meta["migration"])]
    (out / "report.md").write_text("\n".join(lines))
    try:
        plot(report, out / "report.png")
    except ImportError:
        log("matplotlib is not installed (pip install -e '.[bench]'): no plot")


def _us(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _reading_section(report: dict[str, Any]) -> list[str]:
    """What the endpoints' declarations cost a request (bench/parsing.py)."""
    rows = [r for r in report["endpoints"] if r.get("params_us") is not None]
    if not rows:
        return []
    lines = ["## Reading parameters", "",
             "Each endpoint's query string split and every declared parameter read and checked"
             " (server/endpoints.py), in process, for the first sample URL: the best of 5 rounds of 2,000.", "",
             "| endpoint | µs a request |", "| --- | ---: |"]
    lines += [f"| {r['endpoint']} | {r['params_us']:.2f} |" for r in rows]
    return lines + [""]


def _cpu_section(report: dict[str, Any]) -> list[str]:
    """Where each endpoint's requests spend the machine's CPU, and what that
    allows against the target: the plain reason a target is missed."""
    rows = [r for r in report["endpoints"] if "cpu_bound_rps" in r]
    if not rows:
        return []
    ceiling, cpus = report["ceiling"], report["meta"].get("cpus") or 1
    ceiling_cpu = ceiling.get("cpu_us") or {}
    lines = [
        "## Where the CPU goes",
        "",
        f"CPU time a request, in µs, of the server process, MariaDB and wrk, counted from /proc"
        f" over each endpoint's run. The server is one process, so on one core at most, and all three share"
        f" the machine's {cpus} cores: no run can pass min(1 s / server, {cpus} s / all), the throughput"
        " the CPU allows. A target share of the ceiling needs the server at or under 1 s / (share x ceiling)"
        f" a request and all three at or under {cpus} s / (share x ceiling). The ceiling's own request costs"
        f" the server {_us(ceiling_cpu.get('server'))} µs and wrk {_us(ceiling_cpu.get('wrk'))} µs.",
        "",
        "| endpoint | bytes a response | server µs | MariaDB µs | wrk µs | all µs | the CPU allows |"
        " target needs: server, all |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cpu, target_rps = r["cpu_us"], r["target_ratio"] * ceiling["rps"]
        allowed = "?" if r["cpu_bound_rps"] is None else \
            f"{r['cpu_bound_rps']:,.0f} req/s ({100 * r['cpu_bound_ratio']:.1f}%)"
        needs = f"<= {1e6 / target_rps:,.0f}, <= {r['cpu_budget_us']:,.0f}"
        if not r["meets_ratio"]:
            needs = f"**{needs}**"
        lines.append(f"| {r['endpoint']} | {_us(r.get('bytes_per_response'))} | {_us(cpu['server'])} |"
                     f" {_us(cpu['database'])} | {_us(cpu['wrk'])} |"
                     f" {_us(r['cpu_total_us'])} | {allowed} | {needs} |")
    missed = [r for r in rows if not r["meets_ratio"] and r["cpu_bound_ratio"] is not None]
    beyond = [r["endpoint"] for r in missed if r["cpu_bound_ratio"] < r["target_ratio"]]
    within = [r["endpoint"] for r in missed if r["cpu_bound_ratio"] >= r["target_ratio"]]
    lines.append("")
    if beyond:
        lines += [f"Missed share targets beyond what their CPU allows here ({len(beyond)}): {', '.join(beyond)}."
                  " Their requests cost more CPU than the target leaves them; only cheaper requests meet it.", ""]
    if within:
        lines += [f"Missed share targets the CPU would allow ({len(within)}): {', '.join(within)}."
                  " The run left CPU unused: requests waited (on the database, on each other) rather than worked.",
                  ""]
    return lines


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["endpoints"]
    names = [r["endpoint"] for r in rows][::-1]
    shares = [100 * r["ratio"] for r in rows][::-1]
    colors = ["#3a7" if r["meets_ratio"] else "#d54" for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.6), dpi=80)
    ax.barh(names, shares, color=colors)
    for y, r in enumerate(rows[::-1]):
        ax.plot([100 * r["target_ratio"]] * 2, [y - 0.4, y + 0.4], color="black", linewidth=1)
        ax.text(100 * r["ratio"] + 0.5, y, f"{100 * r['ratio']:.1f}%  p99 {r['p99_ms']:g} ms", va="center", fontsize=7)
    meta = report["meta"]
    ax.set_xlabel(f"requests/s as % of the ceiling ({report['ceiling']['rps']:,.0f} req/s); black tick: target")
    rss = report["summary"]["rss_peak_mb"]
    ax.set_title(f"{_count(meta, 'scores')} scores, {_count(meta, 'users')} players;"
                 f" worker RSS peak {rss} MB", fontsize=9)
    ax.set_xlim(0, max(40, max(shares, default=0) * 1.3))
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="the (generated) database, for URLs and the key")
    parser.add_argument("--url", help="a server already running on 127.0.0.1 (default: start one)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", help="run only this endpoint (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "report")
    parser.add_argument("--database-pid", type=int,
                        help="the database server's process id on this machine, to report its CPU a request")
    args = parser.parse_args(argv)
    run_bench(database_url=args.database_url, url=args.url, duration=args.duration, connections=args.connections,
              threads=args.threads, out=args.out, seed=args.seed, meta={}, only=args.only,
              database_pid=args.database_pid)


if __name__ == "__main__":
    main()
