"""Avatar files under DATA_DIR/avatars, laid out as bancho.py lays them out:
`<user id>.<extension>`, one file per player. Writes are atomic (a
temporary file in the same folder, then os.replace), so a reader sees the
old avatar or the new one, never part of one; and they take the folder's
lock file, so two writers (threads, processes, instances sharing DATA_DIR)
never interleave their replace and clean-up, which once left a player with
no avatar at all. These functions block; the routes call them in a worker
thread."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator

# every extension an avatar may have been stored under, by this service
# (png, jpg, gif) or by bancho.py and its web front-end (jpg, jpeg, png)
EXTENSIONS = ("png", "jpg", "jpeg", "gif")
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}
# bancho.py's avatar server answers this file for players without an avatar
DEFAULT_AVATAR = "default.jpg"
# the writers' lock (a dot file: bancho.py's avatar server only asks for
# `<id>.<extension>` and the default)
LOCK_FILE = ".lock"


@contextlib.contextmanager
def _writers_lock(folder: Path) -> Iterator[None]:
    """flock on the folder's lock file: held by one open file at a time, so
    it orders threads of one process as well as processes (and, on NFS,
    hosts: Linux maps flock to the server's locks there)."""
    with open(folder / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def store(folder: Path, user_id: int, extension: str, data: bytes) -> Path:
    """Make `data` the player's avatar, stored as `<user id>.<extension>`,
    and only then remove the files of any earlier avatar of another format."""
    assert extension in EXTENSIONS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{user_id}.{extension}"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{user_id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); avatars are public, and
        # bancho.py's avatar server may run as another user
        os.chmod(temporary, 0o644)
        with _writers_lock(folder):
            os.replace(temporary, target)
            for other in EXTENSIONS:
                if other != extension:
                    with contextlib.suppress(FileNotFoundError):
                        (folder / f"{user_id}.{other}").unlink()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target


def find(folder: Path, user_id: int) -> tuple[Path, str] | None:
    """The player's avatar file and its media type, or None. Were there
    several (a store() between its replace and its clean-up, or files left
    by another tool), the newest wins."""
    newest: tuple[int, Path, str] | None = None
    for extension in EXTENSIONS:
        path = folder / f"{user_id}.{extension}"
        try:
            modified = path.stat().st_mtime_ns
        except OSError:
            continue
        if path.is_file() and (newest is None or modified > newest[0]):
            newest = (modified, path, MEDIA_TYPES[extension])
    return None if newest is None else (newest[1], newest[2])


def read(folder: Path, user_id: int) -> tuple[bytes, str] | None:
    """The player's avatar bytes and media type; DEFAULT_AVATAR when the
    player has none and that file exists; else None."""
    for _ in range(3):  # a concurrent store() may remove the file we found
        found = find(folder, user_id)
        if found is None:
            break
        try:
            return found[0].read_bytes(), found[1]
        except FileNotFoundError:
            continue
    default = folder / DEFAULT_AVATAR
    try:
        return default.read_bytes(), "image/jpeg"
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
