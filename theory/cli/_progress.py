"""A progress line: one status line on a terminal, rewritten in place; one final line in a log."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


class ProgressLine:
    """One status line on a terminal, rewritten in place (carriage return) at most ``rate`` times a second.

    On a stream that is not a terminal nothing is shown while running; :meth:`close` prints the last state as a
    final line there (so logs get one line, terminals a live one).

    Args:
        stream: where to write (default ``sys.stderr``).
        rate: most updates per second on a terminal.
    """

    def __init__(self, stream: TextIO | None = None, rate: float = 4.0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 1.0 / rate
        self.last = -math.inf  # the first update draws (monotonic time can start near 0 after boot)
        self.text = ""
        self.width = 0

    def update(self, text: str) -> None:
        """Record the current state; draw it when on a terminal and the last draw is old enough."""
        self.text = text
        now = time.monotonic()
        if self.tty and now - self.last >= self.interval:
            self.last = now
            pad = max(0, self.width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self.width = len(text)

    def close(self) -> None:
        """End the line: on a terminal, redraw the last state and a newline; elsewhere print it once."""
        if not self.text:
            return
        if self.tty:
            self.stream.write("\r" + self.text + " " * max(0, self.width - len(self.text)) + "\n")
        else:
            self.stream.write(self.text + "\n")
        self.stream.flush()
