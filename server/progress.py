"""Progress of long work, for a person watching it: on a terminal one line
redrawn in place; on anything else (a log file, cron mail, a container's
log) plain lines, at most one every `every` seconds, so a long run does not
flood it."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO


class StatusLine:
    """show(text): where the work is now; done(text): a line that stays
    (None: only clear what show drew)."""

    def __init__(self, stream: TextIO | None = None, every: float = 0.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every
        self.drawn = False
        self._last = float("-inf")

    def show(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self.drawn = True
        elif time.monotonic() - self._last >= self.every:
            self.stream.write(text + "\n")
            self._last = time.monotonic()
        else:
            return
        self.stream.flush()

    def done(self, text: str | None) -> None:
        if self.tty and self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False
        if text is not None:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The end: a line still drawn stays, as the last word on the work."""
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class LogLine:
    """The same for a logger (the server's start-up): show at most every
    `every` seconds, done always, both at INFO."""

    def __init__(self, log: logging.Logger, every: float = 10.0) -> None:
        self.log = log
        self.every = every
        self._last = float("-inf")

    def show(self, text: str) -> None:
        if time.monotonic() - self._last >= self.every:
            self.log.info("%s", text)
            self._last = time.monotonic()

    def done(self, text: str | None) -> None:
        if text is not None:
            self.log.info("%s", text)
