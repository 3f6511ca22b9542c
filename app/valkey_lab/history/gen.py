"""Random lab histories from a real sequential execution, for property tests and benchmarks.

Each op gets an interval [invoke, complete] and takes effect at one instant inside it; the
effects are applied in instant order to one register (or string) per key, so reads see real
values and the history is linearizable by construction. ``info`` ops took effect or not
(a coin flip); crashed ops (no completion) too, and their process is replaced by a new one,
as Jepsen does. ``corrupt_read`` then makes one read impossible (a value nobody wrote);
``stale_read`` makes one impossible with values that were written (harder to refute);
``independent`` rewrites a keyed history as Jepsen's ``independent`` one (``:value [k v]``).
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
    """get / put / append on string keys (``keys`` defaults to 3; ``append_rate``: the share of
    writes that append, default 0.6; 0.9 is append-heavy, as Porcupine's kv tests are)."""
    kw.setdefault("keys", 3)
    return _history("kv", n_ops, processes, info_rate, seed, **kw)


def _history(model: str, n_ops: int, processes: int, info_rate: float, seed: int, *,
             keys: Optional[int] = None, values: Optional[int] = None, read_rate: float = 0.5,
             cas_rate: float = 0.15, fail_rate: float = 0.02, crash_share: float = 0.2,
             mean_latency: float = 0.002, append_rate: float = 0.6, init: Any = None,
             unknown_reads: float = 0.0) -> list[dict]:
    """``values``: draw written values from range(values) (repeats) instead of unique ones.
    ``crash_share``: the share of info ops whose completion is never recorded. ``init``: the
    initial value of every key (default nil, or "" for kv). ``unknown_reads``: the share of
    ok reads recorded with no value (nil), which Knossos reads as "value unknown"."""
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
                f = "append" if rng.random() < append_rate else "put"
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
    _execute(model, ops, rng, ("" if model == "kv" else None) if init is None else init)
    for op in ops:
        if op["f"] in ("read", "get") and op["status"] == "ok" and rng.random() < unknown_reads:
            op["result"] = None
    return _records(ops)


def _execute(model: str, ops: list[dict], rng: random.Random, init: Any) -> None:
    state: dict[Any, Any] = {}
    recent: dict[Any, list] = {}
    for op in sorted(ops, key=lambda o: o["effect"]):
        key, f = op["key"], op["f"]
        cur = state.get(key, init)
        if f == "cas":
            seen = recent.setdefault(key, [init])
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
            lst = recent.setdefault(key, [init])
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


def _pairs(history: list[dict]) -> list[tuple[dict, dict]]:
    """(invoke, completion) of every completed client op, in invoke order."""
    open_, out = {}, []
    for r in history:
        if r.get("kind") != "client":
            continue
        if r["type"] == "invoke":
            open_[r["process"]] = r
        elif r["process"] in open_:
            out.append((open_.pop(r["process"]), r))
    return out


def stale_read(history: list[dict], seed: int = 0) -> Optional[list[dict]]:
    """A copy with one ok read made impossible by values that were really written (None when
    the history offers no such read). Needs unique written values (``values=None``).

    register: the read returns a value v whose only writer W completed before another ok
    write W2 was invoked, and W2 completed before the read was invoked: W < W2 < read in real
    time, so the read cannot see v. kv: two appended tokens a, b that the get saw in that
    order, where append a completed before append b was invoked, are swapped in the get's
    value: b cannot come before a."""
    rng = random.Random(seed)
    pairs = _pairs(history)
    sets: dict[tuple, list] = {}  # (key, value) -> every op that may set it (not fail)
    for inv, comp in pairs + [(r, None) for r in _crashed(history)]:
        if comp is not None and comp["type"] == "fail":
            continue
        f, v = inv["f"], inv.get("value")
        if f in ("write", "put", "append"):
            sets.setdefault((inv.get("key"), _key(v)), []).append((inv, comp))
        elif f == "cas" and isinstance(v, list):
            sets.setdefault((inv.get("key"), _key(v[1])), []).append((inv, comp))
    reads = [(inv, comp) for inv, comp in pairs if comp["type"] == "ok" and inv["f"] in ("read", "get")]
    rng.shuffle(reads)
    for inv, comp in reads:
        value = _stale_value(inv, comp, pairs, sets)
        if value is not None:
            out = copy.deepcopy(history)
            out[next(i for i, r in enumerate(history) if r is comp)]["value"] = value
            return out
    return None


def _crashed(history: list[dict]) -> list[dict]:
    open_ = {}
    for r in history:
        if r.get("kind") == "client":
            if r["type"] == "invoke":
                open_[r["process"]] = r
            else:
                open_.pop(r["process"], None)
    return list(open_.values())


def _key(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _stale_value(inv: dict, comp: dict, pairs, sets) -> Any:
    key, t_read = inv.get("key"), inv["time"]
    ok_sets = [(i, c) for i, c in pairs if c["type"] == "ok" and i.get("key") == key
               and (i["f"] in ("write", "put") or (i["f"] == "cas" and c["type"] == "ok"))]
    if inv["f"] == "read":
        for i, c in sorted(ok_sets, key=lambda p: -p[1]["time"]):
            v = i["value"][1] if i["f"] == "cas" else i["value"]
            writers = sets.get((key, _key(v)), [])
            if v is None or v == comp.get("value") or len(writers) != 1:
                continue
            # a later ok write of another value, between this writer and the read
            if any(c["time"] < i2["time"] and c2["time"] < t_read and _key(i2["value"]) != _key(v)
                   for i2, c2 in ok_sets if i2["f"] == "write"):
                return v
        return None
    g = comp.get("value")
    if not isinstance(g, str):
        return None
    appends = [(i, c) for i, c in pairs if c["type"] == "ok" and i.get("key") == key and i["f"] == "append"
               and g.count(i["value"]) == 1 and len(sets.get((key, i["value"]), [])) == 1]
    appends.sort(key=lambda p: g.index(p[0]["value"]))
    for n, (a, ac) in enumerate(appends):
        for b, _ in appends[n + 1:]:
            if ac["time"] < b["time"]:
                ta, tb = a["value"], b["value"]
                x, y = g.index(ta), g.index(tb)
                return g[:x] + tb + g[x + len(ta):y] + ta + g[y + len(tb):]
    return None


def independent(history: list[dict]) -> list[dict]:
    """Jepsen's ``independent`` form of a keyed history: each client op's key moves into its
    value as a ``[k v]`` tuple (a read's invoke is ``[k nil]``), and the ``key`` field goes."""
    out = []
    for r in history:
        r = dict(r)
        if r.get("kind") == "client":
            r["value"] = [r.pop("key", None), r.get("value")]
        out.append(r)
    return out
