"""Random lab histories from a real sequential execution, for property tests and benchmarks.

Each op gets an interval [invoke, complete] and takes effect at one instant inside it; the
effects are applied in instant order to one register (or string) per key, so reads see real
values and the history is linearizable by construction. ``info`` ops took effect or not
(a coin flip); crashed ops (no completion) too, and their process is replaced by a new one,
as Jepsen does. ``corrupt_read`` then makes one read impossible.
"""
from __future__ import annotations

import copy
import heapq
import random
from typing import Any, Optional

NEVER = "never-written"


def register_history(n_ops: int = 1000, processes: int = 10, info_rate: float = 0.05,
                     seed: int = 0, **kw) -> list[dict]:
    """read / write / cas on a register (key null unless ``keys``)."""
    return _history("register", n_ops, processes, info_rate, seed, **kw)


def kv_history(n_ops: int = 1000, processes: int = 10, info_rate: float = 0.05,
               seed: int = 0, **kw) -> list[dict]:
    """get / put / append on string keys (``keys`` defaults to 3)."""
    kw.setdefault("keys", 3)
    return _history("kv", n_ops, processes, info_rate, seed, **kw)


def _history(model: str, n_ops: int, processes: int, info_rate: float, seed: int, *,
             keys: Optional[int] = None, values: Optional[int] = None, read_rate: float = 0.5,
             cas_rate: float = 0.15, fail_rate: float = 0.02, crash_share: float = 0.2,
             mean_latency: float = 0.002) -> list[dict]:
    """``values``: draw written values from range(values) (repeats) instead of unique ones.
    ``crash_share``: the share of info ops whose completion is never recorded."""
    rng = random.Random(seed)
    # (invoke time, process slot); each slot runs one process at a time.
    ready = [(rng.uniform(0, mean_latency), slot) for slot in range(processes)]
    heapq.heapify(ready)
    pid = list(range(processes))
    ops = []
    counter = 0
    for _ in range(n_ops):
        t0, slot = heapq.heappop(ready)
        dur = rng.expovariate(1 / mean_latency)
        effect = t0 + rng.random() * dur
        t1 = t0 + dur
        key = None if keys is None else (f"k{rng.randrange(keys)}" if model == "kv" else rng.randrange(keys))
        r = rng.random()
        if r < read_rate:
            f = "get" if model == "kv" else "read"
            value = None
        else:
            counter += 1
            v = counter if values is None else rng.randrange(values)
            if model == "kv":
                f = "append" if rng.random() < 0.6 else "put"
                value = f"<{v}>" if f == "append" else f"<p{v}>"
            elif r < read_rate + cas_rate:
                f = "cas"
                value = [None, v]  # old filled in below from a recent write
            else:
                f = "write"
                value = v
        u = rng.random()
        status = "info" if u < info_rate else ("fail" if u < info_rate + fail_rate else "ok")
        crashed = status == "info" and rng.random() < crash_share
        op = {"process": pid[slot], "f": f, "key": key, "value": value, "invoke": t0,
              "complete": t1, "effect": effect, "status": status, "crashed": crashed,
              "happens": status == "ok" or (status == "info" and rng.random() < 0.5)}
        ops.append(op)
        if crashed:
            pid[slot] += processes  # Jepsen: a crashed process is replaced by a new one
        heapq.heappush(ready, (t1 + rng.uniform(0, mean_latency / 4), slot))
    _execute(model, ops, rng)
    return _records(ops)


def _execute(model: str, ops: list[dict], rng: random.Random) -> None:
    init = None if model == "register" else ""
    state: dict[Any, Any] = {}
    recent: dict[Any, list] = {}
    for op in sorted(ops, key=lambda o: o["effect"]):
        key, f = op["key"], op["f"]
        cur = state.get(key, init)
        if f == "cas":
            seen = recent.setdefault(key, [None])
            op["value"][0] = cur if rng.random() < 0.5 else rng.choice(seen)
            if op["status"] == "ok" and op["value"][0] != cur:
                op["status"], op["happens"] = "fail", False  # a cas that does not match fails
        if not op["happens"]:
            continue
        if f in ("read", "get"):
            op["result"] = cur
        elif f in ("write", "put"):
            state[key] = op["value"]
        elif f == "append":
            state[key] = cur + op["value"]
        elif f == "cas" and op["value"][0] == cur:
            state[key] = op["value"][1]
        if f in ("write", "put", "cas"):
            lst = recent.setdefault(key, [None])
            lst.append(state[key])
            del lst[:-4]


def _records(ops: list[dict]) -> list[dict]:
    events = []
    for op in ops:
        base = {"kind": "client", "process": op["process"], "f": op["f"], "key": op["key"]}
        reading = op["f"] in ("read", "get")
        written = list(op["value"]) if isinstance(op["value"], list) else op["value"]
        events.append((op["invoke"], dict(base, type="invoke", value=None if reading else written)))
        if op["crashed"]:
            continue
        status = op["status"]
        value = op.get("result") if reading and status == "ok" else (None if reading else written)
        value = list(value) if isinstance(value, list) else value
        events.append((op["complete"], dict(base, type=status, value=value)))
    events.sort(key=lambda e: e[0])
    out = []
    for t, rec in events:
        rec["time"] = t
        out.append(rec)
    return out


def corrupt_read(history: list[dict], seed: int = 0) -> Optional[list[dict]]:
    """A copy with one ok read's value replaced by a value nobody wrote (None when there is
    no ok read). The result is never linearizable."""
    reads = [i for i, r in enumerate(history) if r.get("kind") == "client" and r.get("type") == "ok"
             and r.get("f") in ("read", "get")]
    if not reads:
        return None
    i = random.Random(seed).choice(reads)
    out = copy.deepcopy(history)
    out[i]["value"] = NEVER
    return out
