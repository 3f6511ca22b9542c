"""Workload lanes: background loops that issue client operations and record each one in the
run's history (invoke, then ok / fail / info).

- ``Writer``: SET of distinct keys ``prefix:N`` = ``vN`` (a write-loss lane: Jepsen's set);
  its write function returns how many replicas acknowledged (WAIT) or None.
- ``Incrementer``: INCR of one counter, never retried after an ambiguous error (a counter lane
  shows a write applied twice, which distinct SETs cannot).

Outcome of an error: ``fail`` only when it proves the command was not applied (a refusal
reply, a failed connect); ``info`` when it may have been (clients.retry.may_have_applied).
"""
from __future__ import annotations

from typing import Callable, Optional

import redis

from valkey_lab.clients.retry import may_have_applied
from valkey_lab.loop import BackgroundLoop


def outcome(error: BaseException) -> str:
    """Jepsen's completion type for an operation that raised ``error``."""
    if may_have_applied(error):
        return "info"
    if isinstance(error, (redis.RedisError, OSError)):
        return "fail"
    return "info"  # a bug of ours: we do not know what reached the server


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]


class Lane(BackgroundLoop):
    """A workload lane: one process of the history, warm after ``warm_ok`` ok operations."""

    warm_ok = 10

    def __init__(self, recorder, lane: str, pace: float, shard: Optional[str] = None):
        super().__init__(pace)
        self.rec, self.lane, self.shard = recorder, lane, shard
        self.process = recorder.process()
        self.name = f"lane-{lane}"
        self.ok = 0
        self.keys: list[str] = []

    def warm(self) -> bool:
        return self.ok >= self.warm_ok

    def _extra(self) -> dict:
        return {"lane": self.lane, **({"shard": self.shard} if self.shard else {})}

    def attempt(self, f: str, key: str, value, fn: Callable[[], object], result=lambda r: {}) -> None:
        handle = self.rec.invoke(self.process, f, key, value, **self._extra())
        try:
            answer = fn()
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded, none is raised
            self.rec.complete(handle, outcome(exc), error=describe(exc), **self._extra())
            return
        self.ok += 1
        self.rec.complete(handle, "ok", **result(answer), **self._extra())


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
        self.attempt("write", key, value, lambda: self.write(key, value),
                     lambda acks: {} if acks is None else {"replicated": int(acks)})


class Incrementer(Lane):
    """INCR ``key``; the ok completion carries the counter value the server returned."""

    def __init__(self, recorder, lane: str, incr: Callable[[str], int], key: str, pace: float = 0.01,
                 shard: Optional[str] = None):
        super().__init__(recorder, lane, pace, shard)
        self.incr, self.key = incr, key
        self.keys = [key]

    def step(self) -> None:
        handle = self.rec.invoke(self.process, "incr", self.key, 1, **self._extra())
        try:
            value = self.incr(self.key)
        except Exception as exc:  # noqa: BLE001
            self.rec.complete(handle, outcome(exc), error=describe(exc), **self._extra())
            return
        self.ok += 1
        self.rec.complete(handle, "ok", value=int(value), **self._extra())


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

    def lane(self, name: str) -> Lane:
        return next(lane for lane in self.lanes if lane.lane == name)


def final_reads(recorder, keys: list[str], read_many: Callable[[list[str]], dict], lane: str = "final",
                chunk: int = 500) -> None:
    """Read every key once the faults are healed, as ordinary client read ops, so that the
    history alone decides loss. A chunk is one pipelined request: each key's read is recorded
    around it (invoke before, ok after), on a process of its own."""
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        handles = [recorder.invoke(recorder.process(), "read", k, None, lane=lane) for k in part]
        try:
            values = read_many(part)
        except Exception as exc:  # noqa: BLE001 - the reads are unknown, not absent
            for h in handles:
                recorder.complete(h, outcome(exc), value=None, error=describe(exc), lane=lane)
            continue
        for h, k in zip(handles, part):
            recorder.complete(h, "ok", value=values.get(k), lane=lane)


__all__ = ["Writer", "Incrementer", "Workload", "Lane", "final_reads", "outcome"]
