"""A background writer: distinct keys written in order, every operation in a History."""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .history import History


class Writer:
    """Writes ``prefix:N`` = ``vN`` with ``write(key, value) -> replicas acked`` until stopped.

    ``pace`` is the workload's rate limit (so two cores are not saturated), not a wait.
    """

    def __init__(self, write: Callable[[str, str], Optional[int]], prefix: str, history: Optional[History] = None,
                 pace: float = 0.005, shard_of: Optional[Callable[[str], str]] = None,
                 keys: Optional[Callable[[int], str]] = None):
        self.write = write
        self.prefix = prefix
        self.history = history or History()
        self.pace = pace
        self.shard_of = shard_of
        self.key_of = keys or (lambda i: f"{prefix}:{i}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"writer-{prefix}")

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            key, value = self.key_of(i), f"v{i}"
            op = self.history.invoke("write", key, value, shard=self.shard_of(key) if self.shard_of else None)
            try:
                History.ok(op, self.write(key, value))
            except Exception as exc:  # noqa: BLE001 - every outcome is recorded, none is raised
                History.failed(op, exc)
            i += 1
            self._stop.wait(self.pace)

    def start(self) -> "Writer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def first_ok_after(self, t: float) -> Optional[float]:
        times = [op.t_complete for op in self.history.ops() if op.status == "ok" and op.t_complete >= t]
        return min(times) if times else None

    def count_ok_after(self, t: float) -> int:
        return sum(1 for op in self.history.ops() if op.status == "ok" and op.t_complete >= t)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

