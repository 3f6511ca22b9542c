"""The live recorder of a lab run: model.Recorder plus the name of the scenario run each
record belongs to, fresh process numbers, and the client's own events (retries, master
changes, redirects), all on the one clock."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from valkey_lab.history.model import Recorder


class RunRecorder(Recorder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run: Optional[str] = None
        self._processes = itertools.count()

    def _append(self, rec: dict) -> None:  # the lock is held (model.Recorder)
        if self.run is not None and rec.get("kind") != "meta":
            rec.setdefault("run", self.run)
        super()._append(rec)

    @contextmanager
    def running(self, name: str) -> Iterator["RunRecorder"]:
        previous, self.run = self.run, name
        try:
            yield self
        finally:
            self.run = previous

    def process(self) -> int:
        """A process number never used before in this history (Jepsen's processes are ints)."""
        return next(self._processes)

    def client_event(self, f: str, value: Any) -> None:
        """What a client did on its own: a retry sleep, a master change, a redirect."""
        with self._lock:
            self._append({"kind": "client-event", "f": f, "value": value})

    def harness(self, f: str, value: Any) -> None:
        """What the harness did: steady state reached, a wait that ended (a metric), a timeout."""
        with self._lock:
            self._append({"kind": "harness", "f": f, "value": value})

    def count(self, pred, since: float = 0.0) -> int:
        """How many records from ``since`` on satisfy ``pred``, without copying the history
        (the harness polls this while a run records thousands of samples)."""
        with self._lock:
            return sum(1 for r in self._records if r.get("time", 0.0) >= since and pred(r))

    def at(self, monotonic: float) -> float:
        """A monotonic reading on this history's clock."""
        return round(monotonic - self.t0, 6)


def of_run(records: list[dict], run: str) -> list[dict]:
    """The records of one scenario run (meta records belong to every run)."""
    return [r for r in records if r.get("kind") == "meta" or r.get("run") == run]


__all__ = ["RunRecorder", "of_run"]
