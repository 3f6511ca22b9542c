"""Workload lanes: background loops that issue client operations and record each one in the
run's history (invoke, then ok / fail / info).

- ``Writer``: SET of distinct keys ``prefix:N`` = ``vN`` (a write-loss lane: Jepsen's set);
  its write function returns how many replicas acknowledged (WAIT) or None.
- ``Incrementer``: INCR of one counter, never retried after an ambiguous error (a counter lane
  shows a write applied twice, which distinct SETs cannot).

Each op is journaled by history.recorder (one error format; ``fail`` only when the error
proves the command was not applied, ``info`` when it may have been; a new process after
``info``).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from valkey_lab.history.recorder import Pending
from valkey_lab.loop import BackgroundLoop


class Lane(BackgroundLoop):
    """A workload lane: one client thread of the history (a ``Worker``: a new process after an
    ``info``), warm after ``warm_ok`` answered operations."""

    warm_ok = 10

    def __init__(self, recorder, lane: str, pace: float, shard: Optional[str] = None):
        super().__init__(pace)
        self.rec, self.lane, self.shard = recorder, lane, shard
        self.worker = recorder.worker()
        self.name = f"lane-{lane}"
        self.ok = 0
        self.keys: list[str] = []

    @property
    def process(self) -> int:
        return self.worker.process

    def warm(self) -> bool:
        return self.ok >= self.warm_ok

    @contextmanager
    def op(self, f: str, key: str, value=None) -> Iterator[Pending]:
        """Journal one op of this lane (history.recorder.RunRecorder.op): never raises."""
        extra = {"lane": self.lane, **({"shard": self.shard} if self.shard else {})}
        with self.worker.op(f, key, value, **extra) as pending:
            yield pending
        if pending.answered:
            self.ok += 1


class Writer(Lane):
    def __init__(self, recorder, lane: str, write: Callable[[str, str], Optional[int]], prefix: str,
                 pace: float = 0.005, keys: Optional[Callable[[int], str]] = None, shard: Optional[str] = None):
        super().__init__(recorder, lane, pace, shard)
        self.write = write
        self.key_of = keys or (lambda i: f"{prefix}:{i}")
        self.i = 0

    def step(self) -> None:
        key, value = self.key_of(self.i), f"v{self.i}"
        self.i += 1
        self.keys.append(key)
        with self.op("write", key, value) as op:
            acks = self.write(key, value)
            op.ok(**({} if acks is None else {"replicated": int(acks)}))


class Incrementer(Lane):
    """INCR ``key``; the ok completion carries the counter value the server returned."""

    def __init__(self, recorder, lane: str, incr: Callable[[str], int], key: str, pace: float = 0.01,
                 shard: Optional[str] = None):
        super().__init__(recorder, lane, pace, shard)
        self.incr, self.key = incr, key
        self.keys = [key]

    def step(self) -> None:
        with self.op("incr", self.key, 1) as op:
            op.ok(int(self.incr(self.key)))


class Workload:
    """The lanes of one run. ``start`` returns once every lane is warm."""

    def __init__(self, lanes: list[Lane]):
        self.lanes = lanes

    def start(self) -> "Workload":
        for lane in self.lanes:
            lane.start()
        return self

    def stop(self, prefix: Optional[str] = None) -> None:
        """Stop every lane (or those whose name starts with ``prefix``)."""
        lanes = [lane for lane in self.lanes if prefix is None or lane.lane.startswith(prefix)]
        for lane in lanes:
            lane._stop.set()  # all at once: a lane stuck on a dead node must not delay the others
        for lane in lanes:
            lane.stop()

    def keys(self) -> list[str]:
        return [k for lane in self.lanes for k in lane.keys]


def final_reads(recorder, keys: list[str], read_many: Callable[[list[str]], dict], lane: str = "final",
                chunk: int = 500) -> None:
    """Read every key once the faults are healed, as ordinary client read ops, so that the
    history alone decides loss. A chunk is one pipelined request: each key's read is recorded
    around it (invoke before, its completion after), on a process of its own."""
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        reads = [recorder.begin(recorder.process(), "read", k, None, lane=lane) for k in part]
        try:
            values = read_many(part)
        except Exception as exc:  # noqa: BLE001 - the reads are unknown, not absent
            for read in reads:
                read.raised(exc)
            continue
        for read, k in zip(reads, part):
            read.ok(values.get(k))


__all__ = ["Writer", "Incrementer", "Workload", "Lane", "final_reads"]
