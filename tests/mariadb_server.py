"""Throwaway MariaDB server for the test session (standard library only).

``start_mariadb()`` initialises a fresh data directory under a temporary
directory with ``mariadb-install-db`` and runs ``mariadbd`` on it as a plain
child process: no systemd, no /etc/mysql option files (``--no-defaults``
everywhere) and nothing under the system's /var/lib/mysql is touched.  The
server listens on 127.0.0.1 on a free TCP port and on a unix socket inside
the temporary directory.  A user ``test``/``test`` with all privileges is
created for the application under test; administrative commands
(create/drop database, loading .sql files) go through the ``mariadb``
command-line client over the unix socket as ``root`` (no password; the data
directory is initialised with ``--auth-root-authentication-method=normal``).

Environment variables:

``TEST_MARIADB_URL``
    e.g. ``mysql://user:pw@host:3306/``.  When set, no server is started;
    the returned object points at that existing server and uses the
    ``mariadb`` client over TCP with those credentials.  ``stop()`` then does
    nothing to the server.
``TEST_SKIP_MARIADB``
    Not interpreted here; the test configuration (conftest) may use it to
    skip MariaDB-backed tests.

Binaries are searched on PATH and in /usr/sbin, /usr/local/sbin, /usr/bin,
/usr/local/bin, /usr/local/mysql/bin (MariaDB names first, then the MySQL
compatibility names).  A directory given in ``MARIADB_BIN_DIR`` is searched
first.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

__all__ = ["MariaDB", "MariaDBError", "start_mariadb", "find_binary"]

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
TEST_USER = "test"
TEST_PASSWORD = "test"

_EXTRA_DIRS = (
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/bin",
    "/usr/local/bin",
    "/usr/local/mysql/bin",
    "/usr/local/mysql/scripts",
)

_BINARIES = {
    "server": ("mariadbd", "mysqld"),
    "install_db": ("mariadb-install-db", "mysql_install_db"),
    "client": ("mariadb", "mysql"),
    "admin": ("mariadb-admin", "mysqladmin"),
}


class MariaDBError(RuntimeError):
    """The throwaway server could not be started or a command failed."""


def find_binary(kind: str) -> str:
    """Return the path of a MariaDB program ('server', 'install_db',
    'client' or 'admin'), raising MariaDBError when it is not installed."""
    names = _BINARIES[kind]
    dirs = []
    if os.environ.get("MARIADB_BIN_DIR"):
        dirs.append(os.environ["MARIADB_BIN_DIR"])
    dirs.extend(os.environ.get("PATH", "").split(os.pathsep))
    dirs.extend(_EXTRA_DIRS)
    for name in names:
        for d in dirs:
            if not d:
                continue
            candidate = os.path.join(d, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    raise MariaDBError(
        f"none of {', '.join(names)} found on PATH or in {', '.join(_EXTRA_DIRS)}; "
        "install MariaDB (Debian: apt-get install mariadb-server) "
        "or set TEST_MARIADB_URL"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MariaDB:
    """A MariaDB server usable by the tests.

    Attributes: ``host``, ``port``, ``user``, ``password`` (credentials for
    the application, used by :meth:`url`), ``socket`` (unix socket path, or
    None for an external server), ``datadir``/``tmpdir`` (None for an
    external server), ``startup_seconds``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        socket: str | None = None,
        admin_user: str | None = None,
        admin_password: str = "",
        tmpdir: str | None = None,
        process: subprocess.Popen | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.socket = socket
        self.admin_user = admin_user or user
        self.admin_password = admin_password if admin_user else password
        self.tmpdir = tmpdir
        self.datadir = os.path.join(tmpdir, "data") if tmpdir else None
        self.process = process
        self.startup_seconds: float | None = None
        self._client = find_binary("client")
        # how _start() ran mariadbd: lets stop_server()/start_server() restart
        # the same server (same data directory, port and socket)
        self._command: list[str] | None = None
        self._admin: str | None = None
        self._errlog: Path | None = None

    # -- connection info -------------------------------------------------
    @property
    def external(self) -> bool:
        return self.process is None

    def url(self, database: str = "") -> str:
        """``mysql://user:password@host:port/<database>``"""
        user = urllib.parse.quote(self.user, safe="")
        pw = urllib.parse.quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mysql://{user}:{pw}@{host}:{self.port}/{urllib.parse.quote(database)}"

    # -- running SQL through the command-line client ----------------------
    def _client_cmd(self, database: str | None = None) -> list[str]:
        cmd = [self._client, "--no-defaults", "--batch", "--skip-column-names",
               f"--user={self.admin_user}"]
        if self.socket:
            cmd += [f"--socket={self.socket}"]
        else:
            cmd += ["--protocol=TCP", f"--host={self.host}", f"--port={self.port}"]
        if database:
            cmd.append(f"--database={database}")
        return cmd

    def _client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)
        if self.admin_password:
            env["MYSQL_PWD"] = self.admin_password
        return env

    def _run_client(self, stdin, database: str | None, what: str) -> str:
        proc = subprocess.run(
            self._client_cmd(database),
            stdin=stdin if not isinstance(stdin, str) else None,
            input=stdin if isinstance(stdin, str) else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._client_env(),
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise MariaDBError(
                f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()}"
            )
        return proc.stdout

    def execute(self, sql: str, database: str | None = None) -> str:
        """Run SQL statements with the ``mariadb`` client as the admin user;
        return its tab-separated output (no column headers)."""
        return self._run_client(sql, database, f"SQL {sql[:80]!r}")

    def spawn(self, sql: str, database: str | None = None) -> subprocess.Popen:
        """Run SQL statements with the ``mariadb`` client in the background
        (one session: a transaction held open while the test goes on, say);
        wait() on the returned process."""
        proc = subprocess.Popen(self._client_cmd(database), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                env=self._client_env(), text=True)
        assert proc.stdin is not None
        proc.stdin.write(sql)
        proc.stdin.close()
        return proc

    def execute_sql_file(self, database: str, path: str | os.PathLike) -> None:
        """Load a .sql file like ``mariadb --database=<database> < path``."""
        with open(path, "rb") as f:
            self._run_client(f, database, f"loading {os.fspath(path)}")

    def create_database(self, name: str) -> None:
        self.execute(
            f"CREATE DATABASE {_quote_ident(name)} "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
        )

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)};")

    # -- lifecycle ---------------------------------------------------------
    def stop(self) -> None:
        """Shut the server down and delete its temporary directory.
        Idempotent; does nothing for an external server."""
        proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # clean shutdown
                try:
                    proc.wait(timeout=SHUTDOWN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
            self.datadir = None
        atexit.unregister(self.stop)

    def stop_server(self) -> None:
        """Shut mariadbd down cleanly but keep its data directory, so that
        start_server() brings the same server back (a database outage in a
        test). Only for a server this module started."""
        if self._command is None or self.tmpdir is None:
            raise MariaDBError("stop_server() needs a server started by start_mariadb()")
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def freeze(self, timeout: float = 10.0) -> None:
        """Hang the server (SIGSTOP), as a server stuck on I/O would, and
        return once every one of its threads has stopped: the signal is taken
        by one thread, which stops the others in turn, so on a loaded machine
        the server may go on answering for a while after kill() returns."""
        if self.process is None or self.process.poll() is not None:
            raise MariaDBError("freeze() needs a running server started by start_mariadb()")
        self.process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while not _all_threads_stopped(self.process.pid):
            if time.monotonic() > deadline:
                raise MariaDBError(f"mariadbd did not stop within {timeout:g}s of SIGSTOP")
            time.sleep(0.005)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT); harmless on one not frozen."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def start_server(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start mariadbd again after stop_server(), on the same data
        directory, port and socket; returns once it accepts connections."""
        if self._command is None or self.tmpdir is None:
            raise MariaDBError("start_server() needs a server started by start_mariadb()")
        if self.process is not None and self.process.poll() is None:
            return
        with open(Path(self.tmpdir) / "mariadbd.out", "ab") as out:
            self.process = subprocess.Popen(
                self._command, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.tmpdir,
            )
        _wait_ready(self, self._admin, self.process, self._errlog, timeout)

    def __enter__(self) -> "MariaDB":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<MariaDB {self.url()} socket={self.socket}>"


def _from_url(url: str) -> MariaDB:
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("mysql", "mariadb", "mysql+aiomysql", "mysql+asyncmy"):
        raise MariaDBError(f"TEST_MARIADB_URL: unsupported scheme in {url!r}")
    user = urllib.parse.unquote(u.username or "root")
    password = urllib.parse.unquote(u.password or "")
    return MariaDB(
        host=u.hostname or "127.0.0.1",
        port=u.port or 3306,
        user=user,
        password=password,
    )


def start_mariadb(timeout: float = STARTUP_TIMEOUT) -> MariaDB:
    """Start a throwaway server (or use ``TEST_MARIADB_URL``) and return it.

    Call ``.stop()`` when done (it is also registered with atexit as a
    safety net)."""
    url = os.environ.get("TEST_MARIADB_URL")
    if url:
        db = _from_url(url)
        db.execute("SELECT 1;")  # fail early with a clear message
        return db

    t0 = time.monotonic()
    server = find_binary("server")
    install_db = find_binary("install_db")
    find_binary("client")
    admin = find_binary("admin")

    tmpdir = tempfile.mkdtemp(prefix="test-mariadb-")
    try:
        return _start(server, install_db, admin, tmpdir, timeout, t0)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise


def _start(server: str, install_db: str, admin: str, tmpdir: str,
           timeout: float, t0: float) -> MariaDB:
    tmp = Path(tmpdir)
    datadir = tmp / "data"
    sock = str(tmp / "mysqld.sock")
    errlog = tmp / "error.log"
    is_root = os.geteuid() == 0
    user_opt = ["--user=root"] if is_root else []

    # Server options shared by bootstrap and the real run (speed, small
    # footprint); install-db passes unknown options through to mariadbd.
    common = [
        "--skip-log-bin",
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=2",
        "--innodb-doublewrite=0",
        f"--tmpdir={tmpdir}",
    ]

    # Runs at the end of bootstrap: an application user reachable over TCP
    # and no anonymous accounts (they would shadow 'test'@'%' for clients
    # coming from localhost).
    q = TEST_PASSWORD.replace("'", "''")
    extra_sql = tmp / "init.sql"
    extra_sql.write_text(
        "DELETE FROM mysql.global_priv WHERE User = '';\n"
        "FLUSH PRIVILEGES;\n"
        + "".join(
            f"CREATE USER IF NOT EXISTS '{TEST_USER}'@'{h}' IDENTIFIED BY '{q}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{TEST_USER}'@'{h}' WITH GRANT OPTION;\n"
            for h in ("%", "localhost", "127.0.0.1")
        )
    )

    install_cmd = [
        install_db,
        "--no-defaults",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        f"--datadir={datadir}",
        f"--extra-file={extra_sql}",
        *user_opt,
        *common,
    ]
    install_log = tmp / "install-db.log"
    with open(install_log, "wb") as log:
        rc = subprocess.run(
            install_cmd, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, cwd=tmpdir, timeout=timeout,
        ).returncode
    if rc != 0:
        raise MariaDBError(
            f"{' '.join(install_cmd)} failed with exit status {rc}:\n{_tail(install_log)}"
        )

    last_error = ""
    for _attempt in range(3):  # retry if the chosen port got taken meanwhile
        port = _free_port()
        cmd = [
            server,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={tmp / 'mysqld.pid'}",
            f"--log-error={errlog}",
            "--skip-name-resolve",
            "--max-connections=500",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            *user_opt,
            *common,
        ]
        with open(tmp / "mariadbd.out", "ab") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=tmpdir,
            )
        db = MariaDB(
            host="127.0.0.1", port=port, user=TEST_USER, password=TEST_PASSWORD,
            socket=sock, admin_user="root", admin_password="",
            tmpdir=tmpdir, process=proc,
        )
        db._command, db._admin, db._errlog = cmd, admin, errlog
        atexit.register(db.stop)
        try:
            _wait_ready(db, admin, proc, errlog, timeout)
        except MariaDBError as e:
            last_error = str(e)
            # stop() would delete tmpdir; only stop the process here
            db.tmpdir = None
            db.stop()
            if "already in use" in _tail(errlog, 20):
                errlog.unlink(missing_ok=True)
                continue
            raise
        db.startup_seconds = time.monotonic() - t0
        return db
    raise MariaDBError(last_error)


def _all_threads_stopped(pid: int) -> bool:
    """Whether each live thread of the process is in the stopped state."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread has just exited
            continue
        state = stat[stat.rindex(")") + 2]  # the name in parentheses may hold anything
        if state not in "TtZX":
            return False
    return True


def _wait_ready(db: MariaDB, admin: str, proc: subprocess.Popen,
                errlog: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ping = [admin, "--no-defaults", f"--socket={db.socket}", "--user=root",
            "--connect-timeout=2", "ping"]
    while True:
        if proc.poll() is not None:
            raise MariaDBError(
                f"mariadbd exited with status {proc.returncode} during start-up; "
                f"error log ({errlog}):\n{_tail(errlog)}"
            )
        if os.path.exists(db.socket):
            r = subprocess.run(ping, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                break
        if time.monotonic() > deadline:
            raise MariaDBError(
                f"mariadbd did not accept connections within {timeout:.0f}s; "
                f"error log ({errlog}):\n{_tail(errlog)}"
            )
        time.sleep(0.1)
    # Check the application account works over TCP, as the app will use it.
    check = MariaDB(host=db.host, port=db.port, user=db.user, password=db.password)
    out = check.execute("SELECT CURRENT_USER();").strip()
    if not out.startswith(f"{TEST_USER}@"):
        raise MariaDBError(f"unexpected CURRENT_USER() over TCP: {out!r}")
