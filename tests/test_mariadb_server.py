"""The throwaway MariaDB helper really starts a server, loads SQL, and cleans up."""

import os

try:  # tests/ is on sys.path (pytest's default "prepend" import mode)
    from mariadb_server import start_mariadb
except ImportError:  # tests/ is a package
    from tests.mariadb_server import start_mariadb


def test_start_load_sql_and_stop(tmp_path):
    db = start_mariadb()
    tmpdir = db.tmpdir
    try:
        assert db.host and db.port
        assert db.url("demo") == (
            f"mysql://{db.user}:{db.password}@{db.host}:{db.port}/demo"
        )
        db.create_database("demo")
        schema = tmp_path / "schema.sql"
        schema.write_text(
            "create table t (id int primary key);\n"
            "insert into t values (1),(2);\n"
        )
        db.execute_sql_file("demo", schema)
        assert db.execute("select count(*) from t;", database="demo").strip() == "2"
        db.drop_database("demo")
        assert "demo" not in db.execute("show databases;").split()
    finally:
        db.stop()
    if tmpdir is not None:  # None when TEST_MARIADB_URL points at a server
        assert not os.path.exists(tmpdir)
    assert db.process is None
