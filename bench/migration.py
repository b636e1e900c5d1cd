"""The benchmark's set-up step after generating: `db migrate` on the
generated bancho.py database, as an operator's first start does it, timed
step by step, with the size of every index before and after (what the
README's table of our additions to bancho.py's tables quotes)."""

from __future__ import annotations

import time
from typing import Any

from server import footprint
from server.db import Database
from server.migrate import Progress, migrate

# the tables whose indexes the report shows
TABLES = ("scores", "stats", "maps", "favourites", "ratings")


async def _sizes(db: Database) -> dict[str, dict[str, float]]:
    # fresh statistics: a new index's size is known once they are recounted
    await db.fetch_all(f"ANALYZE TABLE {', '.join(TABLES)}")
    return await footprint.index_sizes(db)


async def measure(database_url: str, say=print) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    def report(progress: Progress) -> None:
        if progress.finished:
            steps.append({"file": progress.file, "step": progress.what, "seconds": round(progress.seconds, 2)})
            if progress.seconds >= 1:
                say(f"  {progress.text()}")

    async with Database(database_url) as db:
        before = await _sizes(db)
        started = time.perf_counter()
        applied = await migrate(db, report)
        seconds = time.perf_counter() - started
        after = await _sizes(db)
    added = footprint.added_indexes()
    return {
        "seconds": round(seconds, 1),
        "applied": applied,
        "steps": steps,
        "added_indexes": [
            {"table": index.table, "name": index.name, "columns": list(index.columns),
             "mib": after.get(index.table, {}).get(index.name)}
            for index in added
        ],
        "index_mib": {
            table: {"rows": before.get(table, {}).get("PRIMARY"),
                    "before": _secondary(before.get(table, {})), "after": _secondary(after.get(table, {}))}
            for table in TABLES
        },
    }


def _secondary(sizes: dict[str, float]) -> float:
    """The secondary indexes' MiB: InnoDB's PRIMARY index is the rows themselves."""
    return round(sum(mib for name, mib in sizes.items() if name != "PRIMARY"), 1)


def report_lines(migration: dict[str, Any]) -> list[str]:
    """The report's section on the migration."""
    lines = [
        "## Migrating the generated database",
        "",
        f"`db migrate` on the generated data, as bancho.py's install leaves a database: "
        f"{migration['seconds']:g} s for {len(migration['applied'])} files. Index builds ran online "
        "(ALGORITHM=INPLACE, LOCK=NONE). Sizes in MiB, from InnoDB's statistics: a table's rows"
        " (its primary key) and its secondary indexes before and after:",
        "",
        "| table | rows | indexes before | indexes after |",
        "| --- | ---: | ---: | ---: |",
    ]
    for table, size in migration["index_mib"].items():
        rows = "?" if size["rows"] is None else f"{size['rows']:,.1f}"
        lines.append(f"| {table} | {rows} | {size['before']:,.1f} | {size['after']:,.1f} |")
    lines += ["", "| index added | on | MiB | built in s |", "| --- | --- | ---: | ---: |"]
    built = {step["step"]: step["seconds"] for step in migration["steps"]}
    for index in migration["added_indexes"]:
        seconds = built.get(f"create index {index['name']} on {index['table']}")
        lines.append(f"| {index['name']} ({', '.join(index['columns'])}) | {index['table']} |"
                     f" {index['mib'] if index['mib'] is not None else '?'} | {seconds if seconds is not None else '?'} |")
    return lines + [""]
