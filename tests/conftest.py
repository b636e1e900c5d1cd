"""Test set-up: every API test runs twice, once over the embedded SQLite
database and once over a real MariaDB server started for the session, each
holding the demo data set. Set TEST_SKIP_MARIADB=1 to run the SQLite half
alone while developing (CI never sets it)."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Iterator

import pytest
from mariadb_server import MariaDB, start_mariadb
from starlette.testclient import TestClient

from server import demo
from server.app import create_app
from server.db import Database
from server.migrate import migrate
from server.settings import Settings

BACKENDS = ["sqlite", "mariadb"]
_names = itertools.count()


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    if os.environ.get("TEST_SKIP_MARIADB") == "1":
        pytest.skip("TEST_SKIP_MARIADB=1")
    server = start_mariadb()
    try:
        yield server
    finally:
        server.stop()


class Backend:
    """Makes empty databases of one kind; each has its own URL."""

    def __init__(self, kind: str, tmp: Path, mariadb: MariaDB | None) -> None:
        self.kind = kind
        self._tmp = tmp
        self._mariadb = mariadb

    def new_database_url(self) -> str:
        name = f"t{next(_names)}"
        if self.kind == "sqlite":
            return f"sqlite:///{self._tmp / (name + '.db')}"
        assert self._mariadb is not None
        self._mariadb.create_database(name)
        return self._mariadb.url(name)

    @property
    def data_dir(self) -> Path:
        """The data folder of the backend's apps (demo files land here)."""
        return self._tmp / "data"

    def settings(self, url: str, **changes) -> Settings:
        fields = dict(database_url=url, host="127.0.0.1", port=0, data_dir=self.data_dir, demo_on_empty=False)
        fields.update(changes)
        return Settings(**fields)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Backend:
    server = request.getfixturevalue("mariadb") if request.param == "mariadb" else None
    return Backend(request.param, tmp_path_factory.mktemp(request.param), server)


def run(coro):
    return asyncio.run(coro)


async def _migrated_with_demo(url: str, data_dir: Path) -> None:
    async with Database(url) as db:
        await migrate(db)
        await demo.load(db, data_dir)


@pytest.fixture(scope="session")
def demo_url(backend: Backend) -> str:
    """A database of the backend's kind holding the demo data."""
    url = backend.new_database_url()
    run(_migrated_with_demo(url, backend.data_dir))
    return url


@pytest.fixture(scope="session")
def client(backend: Backend, demo_url: str) -> Iterator[TestClient]:
    """The app over the demo database, driven in-process."""
    with TestClient(create_app(backend.settings(demo_url))) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def demo_data() -> dict:
    """The demo data set as Python sees it: tests compute expectations
    from it independently of the SQL under test."""
    return demo.demo_data()
