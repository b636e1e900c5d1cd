"""What the migrations add to a bancho.py database, read from the files
themselves: indexes on bancho.py's tables and tables of our own. And the
SQL that takes it all out again (`db removal-sql`), leaving bancho.py's
schema as its install made it."""

from __future__ import annotations

from dataclasses import dataclass

from . import schema
from .db import Database
from .migrate import LEDGER
from .migration_steps import MigrationError, steps


@dataclass(frozen=True)
class AddedIndex:
    table: str
    name: str
    columns: tuple[str, ...]


def bancho_tables() -> set[str]:
    return set(schema.tables(schema.base_schema()))


def added_indexes() -> list[AddedIndex]:
    """Our indexes on bancho.py's tables once every migration has run, in
    the order they are made."""
    theirs = bancho_tables()
    added: dict[str, AddedIndex] = {}
    for migration in schema.migrations():
        for step in steps(migration, "mysql"):
            if step.table not in theirs:
                continue
            if step.kind == "create index":
                added[step.name] = AddedIndex(step.table, step.name, step.columns)
            elif step.kind == "drop index":
                added.pop(step.name, None)
            else:  # a column or a table's options: nothing of the kind so far
                raise MigrationError(f"{migration.name}: `{step.describe()}` alters bancho.py's table "
                                     f"beyond an index; footprint.py does not know how to take it out")
    return list(added.values())


def our_tables() -> list[str]:
    """Our own tables, the ledger first, then in the order they are made."""
    return [LEDGER] + [step.table for m in schema.migrations() for step in steps(m, "mysql")
                       if step.kind == "create table"]


def removal_sql(dialect: str) -> list[str]:
    """Statements that drop everything of ours: the indexes first, then our
    tables (the ledger last, so a run stopped half-way is seen as one)."""
    if dialect == "mysql":
        drops = [f"DROP INDEX {index.name} ON {index.table};" for index in added_indexes()]
    else:
        drops = [f"DROP INDEX IF EXISTS {index.name};" for index in added_indexes()]
    tables = our_tables()
    return drops + [f"DROP TABLE IF EXISTS {table};" for table in tables[1:][::-1] + tables[:1]]


async def index_sizes(db: Database) -> dict[str, dict[str, float]]:
    """MySQL/MariaDB: each index's size in MiB, by table then index name,
    from InnoDB's persistent statistics (read after ANALYZE TABLE; reading
    mysql.innodb_index_stats takes the right to)."""
    rows = await db.fetch_all(
        "SELECT table_name, index_name, stat_value * @@innodb_page_size / 1048576 AS mib"
        " FROM mysql.innodb_index_stats WHERE database_name = DATABASE() AND stat_name = 'size'"
    )
    sizes: dict[str, dict[str, float]] = {}
    for row in rows:
        sizes.setdefault(row["table_name"], {})[row["index_name"]] = round(float(row["mib"]), 1)
    return sizes
