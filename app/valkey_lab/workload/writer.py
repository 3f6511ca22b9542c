"""Workload lanes: background loops that issue client operations and record each one in the
run's history (invoke, then ok / fail / info).

- ``Writer``: SET of distinct keys ``prefix:N`` = ``vN`` (a write-loss lane: Jepsen's set);
  its write function returns how many replicas acknowledged (WAIT) or None.
- ``Incrementer``: INCR of one counter, never retried after an ambiguous error (a counter lane
  shows a write applied twice, which distinct SETs cannot).

Each op is journaled by history.recorder (one error format; ``fail`` only when the error
proves the command was not applied, ``info`` when it may have been; a new process after
``info``).

What a lane does, and when, is a generator (valkey_lab.generators): each step pulls the next
item of its own cursor and performs it (``Invoke``) or sleeps (``Sleep``). By default a lane
invokes its one op with a constant pause (``delay(pace, repeat(Invoke(f)))``); pass ``gen`` for
another mix or pacing (``stagger``, ``time_limit``, ``on``, ...). An exhausted generator leaves
the lane idle until it is stopped.
"""
from __future__ import annotations

import random
import zlib
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from valkey_lab.generators import PENDING, Context, Gen, Invoke, Sleep, delay, lift, repeat
from valkey_lab.history.recorder import Pending
from valkey_lab.loop import BackgroundLoop


class Lane(BackgroundLoop):
    """A workload lane: one client thread of the history (a ``Worker``: a new process after an
    ``info``), warm after ``warm_ok`` answered operations."""

    warm_ok = 10
    f = "write"  # the op of the default generator

    def __init__(self, recorder, lane: str, pace: float, shard: Optional[str] = None, gen: Optional[Any] = None,
                 where: Optional[Callable[[], Optional[str]]] = None, seed: Optional[int] = None):
        super().__init__(0.0)  # the generator paces the lane
        self.rec, self.lane, self.shard = recorder, lane, shard
        self.worker = recorder.worker()
        self.name = f"lane-{lane}"
        self.ok = 0
        self.keys: list[str] = []
        self.pace = pace
        self.gen: Gen = lift(gen) if gen is not None else delay(pace, repeat(Invoke(self.f)))
        self.where = where  # the node the lane's client last talked to ("host:port"), recorded on completions
        self.rng = random.Random(zlib.crc32(lane.encode()) if seed is None else seed)
        self._cursor = None

    @property
    def process(self) -> int:
        return self.worker.process

    def warm(self) -> bool:
        return self.ok >= self.warm_ok

    def step(self) -> None:
        """Perform the next op of the lane's generator, after the pauses it asks for."""
        if self._cursor is None:
            self._cursor = self.gen.cursor()
        ctx = Context(rng=self.rng, process=self.lane)
        item = self._cursor.next(ctx)
        while isinstance(item, Sleep) and not self._stop.is_set():
            self._stop.wait(item.seconds)
            item = self._cursor.next(ctx)
        if isinstance(item, Sleep) or self._stop.is_set():
            return  # stopped during a pause: the op it preceded is not invoked
        if item is None or item is PENDING:
            self._stop.wait(0.05)  # done, or nothing for this lane now
        elif isinstance(item, Invoke):
            self.invoke(item)
        else:
            raise TypeError(f"lane {self.lane}: not a client op: {item!r}")

    def invoke(self, item: Invoke) -> None:
        raise NotImplementedError

    @contextmanager
    def op(self, f: str, key: str, value=None) -> Iterator[Pending]:
        """Journal one op of this lane (history.recorder.RunRecorder.op): never raises."""
        extra = {"lane": self.lane, **({"shard": self.shard} if self.shard else {})}
        with self.worker.op(f, key, value, where=self.where, **extra) as pending:
            yield pending
        if pending.answered:
            self.ok += 1


class Writer(Lane):
    def __init__(self, recorder, lane: str, write: Callable[[str, str], Optional[int]], prefix: str,
                 pace: float = 0.005, keys: Optional[Callable[[int], str]] = None, shard: Optional[str] = None,
                 gen: Optional[Any] = None, where: Optional[Callable[[], Optional[str]]] = None):
        super().__init__(recorder, lane, pace, shard, gen=gen, where=where)
        self.write = write
        self.key_of = keys or (lambda i: f"{prefix}:{i}")
        self.i = 0

    def invoke(self, item: Invoke) -> None:
        key, value = self.key_of(self.i), f"v{self.i}"
        self.i += 1
        self.keys.append(key)
        with self.op("write", key, value) as op:
            acks = self.write(key, value)
            op.ok(**({} if acks is None else {"replicated": int(acks)}))


class Incrementer(Lane):
    """INCR ``key``; the ok completion carries the counter value the server returned."""

    f = "incr"

    def __init__(self, recorder, lane: str, incr: Callable[[str], int], key: str, pace: float = 0.01,
                 shard: Optional[str] = None, gen: Optional[Any] = None,
                 where: Optional[Callable[[], Optional[str]]] = None):
        super().__init__(recorder, lane, pace, shard, gen=gen, where=where)
        self.incr, self.key = incr, key
        self.keys = [key]

    def invoke(self, item: Invoke) -> None:
        with self.op("incr", self.key, 1) as op:
            op.ok(int(self.incr(self.key)))


class Workload:
    """The lanes of one run. ``start`` returns once every lane is warm."""

    def __init__(self, lanes: list[Lane], gen: Optional[Any] = None):
        """``gen``: one generator declaration for every lane (each walks its own cursor of it;
        ``generators.on`` gives a part of it to some lanes only, by lane name)."""
        self.lanes = lanes
        if gen is not None:
            for lane in lanes:
                lane.gen = lift(gen)

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
