"""A register workload, Jepsen's: several processes do read, write and compare-and-set on a
few keys, and record each op (``f`` read / write / cas; a cas value is ``[old, new]``).

The op mix is a generator parameter (``gen``; by default ``REGISTER_OPS``: 40 % read, 40 %
write, 20 % cas, one op every 10 ms); a cas with no value seen yet on its key is a write.
Writes carry values never written before (process and counter), so a stale read is visible.
Nothing is retried after an ambiguous error: another client may have written the key since,
so a late retry could overwrite a newer value; such an op is ``info``. A cas that finds
another value completes ``fail`` (it certainly did not happen)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from valkey_lab.generators import Invoke, delay, ops as op_mix
from valkey_lab.workload.writer import Lane

# CAS in one step on the server: Valkey has no native compare-and-set for strings.
CAS_SCRIPT = ("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 "
              "else return 0 end")


# Jepsen's register workload: reads, writes and compare-and-sets, 40/40/20, a constant pace.
REGISTER_MIX = {"read": 40, "write": 40, "cas": 20}
REGISTER_OPS = delay(0.01, op_mix(REGISTER_MIX))


class RegisterOps:
    """How one process reads, writes and cas-es, over whatever connection it holds."""

    def __init__(self, read: Callable[[str], Optional[str]], write: Callable[[str, str], None],
                 cas: Callable[[str, str, str], bool]):
        self.read, self.write, self.cas = read, write, cas


class RegisterLane(Lane):
    warm_ok = 3

    def __init__(self, recorder, lane: str, ops: RegisterOps, keys: list[str], seed: int, pace: float = 0.01,
                 gen: Optional[Any] = None, where: Optional[Callable[[], Optional[str]]] = None):
        super().__init__(recorder, lane, pace, gen=gen if gen is not None else delay(pace, op_mix(REGISTER_MIX)),
                         where=where, seed=seed)
        self.ops, self.register_keys = ops, keys
        self.keys = list(keys)
        self.n = 0
        self.seen: dict[str, Optional[str]] = {}

    def invoke(self, item: Invoke) -> None:
        key = self.rng.choice(self.register_keys)
        if item.f == "read":
            with self.op("read", key) as op:  # a read with no answer tells nothing: info
                got = self.ops.read(key)
                self.seen[key] = got
                op.ok(got)
            return
        if item.f not in ("write", "cas"):
            raise ValueError(f"a register does read, write and cas, not {item.f!r}")
        self.n += 1
        new = str(self.process * 1_000_000 + self.n)  # never written before
        if item.f == "write" or self.seen.get(key) is None:
            with self.op("write", key, new):
                self.ops.write(key, new)
            return
        old = self.seen[key]
        with self.op("cas", key, [old, new]) as op:
            if self.ops.cas(key, old, new):
                op.ok()
            else:
                op.fail()  # it found another value: it certainly did not happen


__all__ = ["RegisterLane", "RegisterOps", "CAS_SCRIPT", "REGISTER_MIX", "REGISTER_OPS"]
