"""Progress of a run: a bar on a terminal, plain lines in a Job's log.

A Job's log is read after the fact, line by line, so there it prints one line per shard
written and, between shards, at most one line per `interval` seconds. On a terminal a tqdm bar
over the input's bytes shows the same counts. Both go to stderr; stdout carries only the
summary.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    def __init__(self, total_bytes: int, *, stream: TextIO | None = None,
                 bar: bool | None = None, interval: float = 30.0) -> None:
        self.stream = stream or sys.stderr
        self.total_bytes = max(total_bytes, 1)
        self.bytes_done = 0
        self.records = 0
        self.failed = 0
        self.started = time.monotonic()
        self.interval = interval
        self.last_line = self.started
        self._bar: Any = None
        if bar if bar is not None else self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=self.total_bytes, unit="B", unit_scale=True,
                             file=self.stream, desc="batch", dynamic_ncols=True)

    def _percent(self) -> float:
        return 100 * self.bytes_done / self.total_bytes

    def _rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0

    def _status(self) -> str:
        return (f"{self.records:,} records ({self._percent():.0f} % of the input), "
                f"{self.failed:,} failed, {self._rate():,.0f} records/s")

    def advance(self, records: int, failed: int, bytes_done: int) -> None:
        """Records written (scored or failed) and how far into the input reading has got."""
        self.records += records
        self.failed += failed
        self._move(bytes_done)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.records:,} records, {self.failed:,} failed",
                                      refresh=False)
        elif time.monotonic() - self.last_line >= self.interval:
            self.line(self._status())

    def skipped(self, part: str, records: int, bytes_done: int) -> None:
        self._move(bytes_done)
        self.note(f"{part}: written by an earlier attempt ({records:,} records), skipped")

    def shard_written(self, part: str) -> None:
        if self._bar is None:
            self.line(f"{part} written; {self._status()}")

    def _move(self, bytes_done: int) -> None:
        step = max(0, min(bytes_done, self.total_bytes) - self.bytes_done)
        self.bytes_done += step
        if self._bar is not None and step:
            self._bar.update(step)

    def note(self, text: str) -> None:
        """A line shown either way (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.write(f"batch: {text}", file=self.stream)
        else:
            self.line(text)

    def line(self, text: str) -> None:
        self.last_line = time.monotonic()
        print(f"batch: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
