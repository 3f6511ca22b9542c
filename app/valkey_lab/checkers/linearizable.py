"""Linearizability checker (Wing–Gong–Lowe search, as Knossos ``wgl`` and porcupine do it).

Hand-written: no maintained Python linearizability checker exists on PyPI.

``check(history, model="register"|"kv", timeout=None)`` takes lab records (plain dicts, see
``valkey_lab.history``) and returns a plain dict; it never prints.

Semantics (Jepsen's):

- ``ok``: the op happened between its invoke and its completion, with the value it saw.
- ``fail``: it certainly did not happen: dropped.
- ``info``, or an invoke never completed (crashed process): it may have happened at any
  point after its invoke, or never. Its completion is at +infinity and the search may
  leave it out. An info read says nothing, so info reads are dropped.

The history is split by ``key`` (P-compositionality: a history is linearizable iff each
key's sub-history is) and every key is searched on its own.

Info ops that are provably irrelevant are dropped before the search (they are what blows
the search up). The rule: an info op that *sets* a state may be dropped when no op that
could be linearized after it (one completing after its invoke; info ops never complete)
could observe the state it sets. If some linearization places it, the ops between it and
the next overwrite would have to observe its value, and none can, so that segment holds no
other op and leaving it out is a linearization too (the converse is free: info ops may be
left out). Per model:

- register: an info ``write v`` / info ``cas [old v]`` is dropped unless an ok read of ``v``
  or a cas expecting ``v`` completes after its invoke (repeated until stable, since dropping
  an info cas removes an expectation).
- kv: an info ``put v`` is dropped unless an ok get completing after its invoke returned a
  string starting with ``v``; an info ``append a`` unless such a get contains ``a``.

The search prunes too (see ``_search``); every rule is checked against a brute-force
oracle in tests/unit/test_linearizable.py.

Real-time order: by ``time`` when every client record has one, ties (and histories without
times) in record order, as Jepsen orders by index.

Values are compared exactly (``"3" != 3``); lists compare as tuples.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable, Optional

MODELS = ("register", "kv")

_READ, _WRITE, _CAS, _APPEND = 0, 1, 2, 3
# f name -> op code, per model; "read"-like ops are the ones whose completion carries the value.
_CODES = {
    "register": {"read": _READ, "write": _WRITE, "cas": _CAS},
    "kv": {"get": _READ, "put": _WRITE, "append": _APPEND},
}
_INIT = {"register": None, "kv": ""}
_NOUN = {"register": "the register", "kv": "the key"}
_MAX_CONFIGS = 4   # model states kept for the counterexample
_TAIL = 4          # ops shown from the end of each order
_CHECK_EVERY = 2048  # search steps between deadline checks


class HistoryError(ValueError):
    """The history cannot be checked as given (bad pairing, unknown f). ``index`` is the
    position of the offending record in the history, when there is one."""

    def __init__(self, message: str, index: Optional[int] = None):
        super().__init__(message)
        self.index = index


class _Op:
    __slots__ = ("index", "process", "f", "type", "key", "value", "code", "a", "b",
                 "invoke", "complete", "call", "ret")

    def describe(self) -> str:
        return f"p{self.process} {self.f} {_show_value(self.f, self.value)}"

    def as_dict(self) -> dict:
        return {"process": self.process, "type": self.type, "f": self.f, "key": self.key,
                "value": _jsonable(self.value), "invoke": self.invoke, "complete": self.complete,
                "index": self.index}


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((str(k), _freeze(v)) for k, v in value.items())))
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _show(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        ok = value and all(c.isalnum() or c in "_-.:/" for c in value)
        return value if ok else json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_show(v) for v in value) + "]"
    return str(value)


def _show_value(f: str, value: Any) -> str:
    if f == "cas" and isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{_show(value[0])}->{_show(value[1])}"
    return _show(value)


def _is_time(t: Any) -> bool:
    return isinstance(t, (int, float)) and not isinstance(t, bool)


def _collect(history: Iterable[dict], model: str):
    """Pair invokes with completions (one open op per process), keep what the search needs."""
    codes = _CODES[model]
    records = list(history)
    pending: dict[int, tuple[int, dict]] = {}
    pairs: list[tuple[int, dict, Optional[int], Optional[dict]]] = []
    processes: set[int] = set()
    timed = True
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise HistoryError(f"record {i} is not an object", i)
        kind = r.get("kind")
        p = r.get("process")
        if kind is None:  # plain Jepsen-style op: clients have integer processes
            kind = "client" if isinstance(p, int) and not isinstance(p, bool) else "other"
        if kind != "client":
            continue
        if not isinstance(p, int) or isinstance(p, bool):
            raise HistoryError(f"client op has process {p!r}, expected an integer", i)
        t = r.get("type")
        if t not in ("invoke", "ok", "fail", "info"):
            raise HistoryError(f"client op has type {t!r}, expected invoke, ok, fail or info", i)
        f = r.get("f")
        if f not in codes:
            raise HistoryError(f"op f={f!r} is not part of the {model} model "
                               f"(expected {', '.join(codes)})", i)
        processes.add(p)
        timed = timed and _is_time(r.get("time"))
        if t == "invoke":
            if p in pending:
                raise HistoryError(f"process {p} invokes {f} while its op from record "
                                   f"{pending[p][0]} is still open (one op per process)", i)
            pending[p] = (i, r)
            continue
        if p not in pending:
            raise HistoryError(f"process {p} completes {t} {f} without an open invoke", i)
        j, inv = pending.pop(p)
        if inv.get("f") != f:
            raise HistoryError(f"process {p} completes {f} but invoked {inv.get('f')} (record {j})", i)
        if "key" in r and r.get("key") != inv.get("key"):
            raise HistoryError(f"process {p} completes key {r.get('key')!r} but invoked key "
                               f"{inv.get('key')!r} (record {j})", i)
        pairs.append((j, inv, i, r))
    for j, inv in pending.values():  # crashed: never completed
        pairs.append((j, inv, None, None))
    pairs.sort(key=lambda x: x[0])
    ops: list[_Op] = []
    counts = {"ok": 0, "fail": 0, "info": 0}
    for j, inv, i, comp in pairs:
        typ = comp["type"] if comp is not None else "info"
        counts[typ] += 1
        if typ == "fail":
            continue
        code = codes[inv["f"]]
        if code == _READ and typ == "info":
            continue
        o = _Op()
        o.index, o.process, o.f, o.type = j, inv["process"], inv["f"], typ
        o.key = inv.get("key")
        if code == _READ:
            o.value = comp.get("value")
        else:
            o.value = inv.get("value")
            if o.value is None and comp is not None:
                o.value = comp.get("value")
        o.code, o.a, o.b = code, _freeze(o.value), None
        if code == _READ and model == "kv" and o.a is None:
            o.a = ""  # a missing key reads as the empty string
        if code == _CAS:
            if not (isinstance(o.a, tuple) and len(o.a) == 2):
                raise HistoryError(f"cas value {o.value!r} is not [old new]", j)
            o.a, o.b = o.a
        if model == "kv" and not isinstance(o.a, str):
            raise HistoryError(f"{o.f} value {o.value!r} is not a string (kv values are strings)",
                               j if code != _READ else i)
        if timed:
            o.invoke = float(inv["time"])
            o.complete = float(comp["time"]) if comp is not None else None
            if o.complete is not None and o.complete < o.invoke:
                raise HistoryError(f"process {o.process} completes {o.f} at {o.complete} before "
                                   f"its invoke at {o.invoke}", i)
            o.call = (o.invoke, j)
            o.ret = (o.complete, i) if typ == "ok" else None
        else:
            o.invoke = inv.get("time") if _is_time(inv.get("time")) else None
            o.complete = comp.get("time") if comp is not None and _is_time(comp.get("time")) else None
            o.call = (j, j)
            o.ret = (i, i) if typ == "ok" else None
        ops.append(o)
    return ops, len(pairs), processes, counts


def _hashable_key(key: Any) -> Any:
    try:
        hash(key)
        return key
    except TypeError:
        return json.dumps(key, sort_keys=True, default=str)


_INF = (math.inf, math.inf)


def _drop_irrelevant_info(ops: list[_Op], model: str) -> list[_Op]:
    """Drop info ops whose effect nothing could observe (the rule is in the module doc). An
    observer must be linearized after the info op, so it must complete after its invoke."""
    if model == "kv":
        gets = [(o.ret, o.a) for o in ops if o.code == _READ]

        def observed(o: _Op) -> bool:
            if o.code == _WRITE:
                return any(g.startswith(o.a) for r, g in gets if r > o.call)
            return o.a != "" and any(o.a in g for r, g in gets if r > o.call)

        return [o for o in ops if o.type == "ok" or observed(o)]
    while True:
        last: dict[Any, tuple] = {}  # value -> latest completion of an op that needs it
        for o in ops:
            if o.code == _READ or o.code == _CAS:
                r = o.ret or _INF
                if o.a not in last or last[o.a] < r:
                    last[o.a] = r
        kept = [o for o in ops if o.type == "ok" or
                last.get(o.b if o.code == _CAS else o.a, (-math.inf,)) > o.call]
        if len(kept) == len(ops):
            return kept
        ops = kept


class _Timeout(Exception):
    pass


def _search(ops: list[_Op], model: str, deadline: Optional[float], prune: bool = True):
    """WGL depth-first search. Returns (True, None) or (False, failure) where failure holds
    the furthest return the search could not get past and the states that reached it.

    The linearized set is kept as (front, rel, info): every completed op numbered below
    ``front`` (in call order) is linearized, ``rel`` has bit i for op front+i, ``info`` one bit
    per info op. That is exact and canonical, and keeps the memo keys small: a single
    bitset over all ops made each step cost O(history) and the whole search quadratic.

    Pruning, each sound on its own (``prune=False`` turns off the last two, which cut dead
    branches early and so move the point where the search stops):
    - a read that matches the state is linearized at once, without trying other orders:
      it changes nothing, so if any order works, one that puts it first works;
    - of identical info ops, a later-invoked one is tried only once the earlier is in:
      swapping them gives the same states;
    - register: leaving value v is a dead end while an op that needs v (ok read, ok cas
      old) is still to be linearized and nothing left can set v again;
    - kv: until the first get that must complete, when no put open before it could start
      its value, only appends can help, so the state must stay a prefix of that value.
    """
    n = len(ops)
    register = model == "register"
    values_pruned = register and prune
    events = []
    for k, o in enumerate(ops):
        events.append((o.call, 0, k))
        if o.ret is not None:
            events.append((o.ret, 1, k))
    events.sort(key=lambda e: e[0])
    size = len(events)
    # Entries 1..size in event order; 0 is the head, size+1 the tail sentinel.
    nxt = list(range(1, size + 2)) + [0]
    prv = [0] + list(range(0, size + 1))
    ent_op = [0] * (size + 2)
    ent_call = [False] * (size + 2)
    match = [0] * (size + 2)  # call entry -> its return entry (0: none, info)
    call_entry = [0] * n
    fidx = [-1] * n   # completed ops: number in call order
    ibit = [0] * n    # info ops: their bit
    twin = [0] * n    # info ops: bit of the previous identical info op (0: none)
    seen_info: dict = {}
    n_fin = n_info = 0
    for e, (_, is_ret, k) in enumerate(events, start=1):
        ent_op[e] = k
        if is_ret:
            match[call_entry[k]] = e
        else:
            ent_call[e] = True
            call_entry[k] = e
            o = ops[k]
            if o.ret is not None:
                fidx[k] = n_fin
                n_fin += 1
            else:
                ibit[k] = 1 << n_info
                n_info += 1
                sig = (o.code, o.a, o.b)
                twin[k] = seen_info.get(sig, 0)
                seen_info[sig] = ibit[k]
    code = [o.code for o in ops]
    if register:
        # Values as small ints: cheap compares, and counters indexed by value.
        ids: dict = {}
        init = ids.setdefault(None, 0)
        arg_a = [ids.setdefault(o.a, len(ids)) for o in ops]
        arg_b = [ids.setdefault(o.b, len(ids)) if o.code == _CAS else 0 for o in ops]
        values = list(ids)
        prod = [0] * len(ids)   # ops still to linearize that can set the value
        need = [0] * len(ids)   # ok ops still to linearize that need the value
        produces = [-1] * n
        needs = [-1] * n
        for k, o in enumerate(ops):
            if o.code == _WRITE:
                produces[k] = arg_a[k]
            elif o.code == _CAS:
                produces[k] = arg_b[k]
                if o.ret is not None:
                    needs[k] = arg_a[k]
            elif o.code == _READ:
                needs[k] = arg_a[k]
            if produces[k] >= 0:
                prod[produces[k]] += 1
            if needs[k] >= 0:
                need[needs[k]] += 1
    else:
        init = _INIT[model]
        arg_a = [o.a for o in ops]
        arg_b = [o.b for o in ops]
        values = None
    remaining = n_fin
    if remaining == 0:
        return True, None
    if register:
        # An ok op needing a value that nothing sets and that is not the initial one.
        hopeless = [k for k in range(n) if needs[k] >= 0 and needs[k] != init and not prod[needs[k]]]
        if hopeless:
            k = min(hopeless, key=lambda k: ops[k].ret)
            return False, (ops[k], [], match[call_entry[k]], call_entry)
    tail = size + 1
    state = init
    front = rel = info = 0
    stack: list[tuple] = []
    cache = set()
    best = -1
    configs: list[tuple] = []
    steps = 0
    entry = nxt[0]
    fresh = True  # a new configuration: look for a read to force first
    limit = None
    while True:
        steps += 1
        if deadline is not None and steps % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            raise _Timeout()
        forced = False
        if fresh:
            fresh = False
            e = nxt[0]
            while ent_call[e]:  # the tail is not a call, so this stops there or at a return
                k = ent_op[e]
                if code[k] == _READ and arg_a[k] == state:
                    forced = True
                    entry = e
                    break
                e = nxt[e]
            if not forced:
                entry = nxt[0]
                if not register and prune:
                    limit = _kv_limit(nxt[0], tail, nxt, ent_call, ent_op, code, arg_a)
        if entry == tail:
            return True, None  # only info calls left: they may never happen
        if ent_call[entry]:
            k = ent_op[entry]
            c = code[k]
            if c == _READ:
                ok = state == arg_a[k]
                new = state
            elif c == _WRITE:
                ok, new = True, arg_a[k]
            elif c == _CAS:
                ok = state == arg_a[k]
                new = arg_b[k]
            else:
                new = state + arg_a[k]
                ok = limit is None or limit.startswith(new)
            if ok and twin[k] and not info & twin[k]:
                ok = False  # the earlier identical info op goes first
            if ok and values_pruned:
                if produces[k] >= 0:
                    prod[produces[k]] -= 1
                if needs[k] >= 0:
                    need[needs[k]] -= 1
                if new != state and need[state] and not prod[state]:
                    ok = False  # leaves a value some op still needs, for good
                    if produces[k] >= 0:
                        prod[produces[k]] += 1
                    if needs[k] >= 0:
                        need[needs[k]] += 1
            if ok:
                i = fidx[k]
                if i >= 0:
                    d = i - front
                    nrel = rel | (1 << d)
                    nfront = front
                    if d == 0:  # slide the front past the run of linearized ops
                        t = (nrel ^ (nrel + 1)).bit_length() - 1
                        nfront, nrel = front + t, nrel >> t
                    memo = (nfront, nrel, info, new)
                else:
                    nfront, nrel = front, rel
                    memo = (front, rel, info | ibit[k], new)
                if memo not in cache:
                    cache.add(memo)
                    stack.append((entry, state, front, rel, info, forced, limit))
                    state, front, rel, info = new, nfront, nrel, memo[2]
                    # lift the call and its return out of the list
                    nxt[prv[entry]] = nxt[entry]
                    prv[nxt[entry]] = prv[entry]
                    r = match[entry]
                    if r:
                        nxt[prv[r]] = nxt[r]
                        prv[nxt[r]] = prv[r]
                        remaining -= 1
                        if remaining == 0:
                            return True, None
                    fresh = True
                    continue
                if values_pruned:
                    if produces[k] >= 0:
                        prod[produces[k]] += 1
                    if needs[k] >= 0:
                        need[needs[k]] += 1
            if not forced:
                entry = nxt[entry]
                continue
            # a forced read into a known configuration: this one is dead too
        else:
            # A return whose op is not linearized yet: this order is dead, backtrack.
            if entry > best:
                best = entry
                configs = [((front, rel, info), state, tuple(s[0] for s in stack[-_TAIL:]), len(stack))]
            elif entry == best and len(configs) < _MAX_CONFIGS and all(s != state for _, s, _, _ in configs):
                configs.append(((front, rel, info), state, tuple(s[0] for s in stack[-_TAIL:]), len(stack)))
        while stack:  # backtrack; past a forced read the configuration before it is dead too
            entry, state, front, rel, info, was_forced, limit = stack.pop()
            r = match[entry]
            if r:
                nxt[prv[r]] = r
                prv[nxt[r]] = r
                remaining += 1
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            if values_pruned:
                k = ent_op[entry]
                if produces[k] >= 0:
                    prod[produces[k]] += 1
                if needs[k] >= 0:
                    need[needs[k]] += 1
            if not was_forced:
                break
        else:
            break  # nothing left to try
        entry = nxt[entry]
    failed = ops[ent_op[best]]
    orders = []  # (is op k linearized?, state, last ops of the order, order length)
    for (f0, r0, i0), st, tail_entries, depth in configs:
        def member(k, f0=f0, r0=r0, i0=i0):
            return bool(i0 & ibit[k]) if fidx[k] < 0 else (fidx[k] < f0 or bool((r0 >> (fidx[k] - f0)) & 1))
        orders.append((member, values[st] if register else st, [ops[ent_op[e]] for e in tail_entries], depth))
    return False, (failed, orders, best, call_entry)


def _natural_failure(ops: list[_Op], model: str, deadline: Optional[float], took: float):
    """The value pruning stops the search where a value is about to be lost for good, which
    can be long before the op that ends up impossible. Search again without it (on a small
    time budget) so the report names the op a plain WGL search gets stuck on."""
    budget = time.monotonic() + max(1.0, 10 * took)
    if deadline is not None:
        budget = min(budget, deadline)
    try:
        valid, failure = _search(ops, model, budget, prune=False)
    except _Timeout:
        return None
    return failure if valid is False else None


def _kv_limit(e, tail, nxt, ent_call, ent_op, code, arg_a) -> Optional[str]:
    """The value of the first get that must complete, when no put open before it could
    start that value: until that get only appends can help, so the state must stay a
    prefix of it. None when there is no such get."""
    puts = []
    while e != tail:
        k = ent_op[e]
        if ent_call[e]:
            if code[k] == _WRITE:
                puts.append(arg_a[k])
        elif code[k] == _READ:
            g = arg_a[k]
            return None if any(g.startswith(v) for v in puts) else g
        e = nxt[e]
    return None


def _counterexample(key: Any, model: str, failure, ops: list[_Op]) -> dict:
    failed, orders, best, call_entry = failure
    noun = _NOUN[model]
    if not orders:  # nothing ever sets the value it needs
        needed = failed.a if failed.code != _READ else failed.value
        summary = (f"{failed.describe()} ({failed.type}{_span(failed)}) cannot be linearized"
                   f"{'' if key is None else ' on key ' + json.dumps(_jsonable(key), default=str)}: it needs "
                   f"{noun} to hold {_show(needed)}, but no op sets {_show(needed)} and {noun} starts as "
                   f"{_show(_INIT[model])}.")
        return {"key": _jsonable(key), "summary": summary, "op": failed.as_dict(), "states": [],
                "concurrent": [], "ops": [dict(failed.as_dict(), role="failed")]}
    # The search stops short at the op whose return it cannot pass. When the op itself was
    # possible but would have overwritten a value a later op still needs (the register
    # pruning), take one more step so the report blames the op that ends up impossible.
    explained = []
    for member, st, tail_ops, depth in orders:
        new = _apply(failed, st)
        blamed = _needing(ops, member, st, failed) if new is not _NO and model == "register" else None
        if blamed is None:
            explained.append((member, st, list(tail_ops), depth, failed))
        else:
            explained.append((member, new, list(tail_ops) + [failed], depth + 1, blamed))
    culprit = explained[0][4]
    same = [e for e in explained if e[4] is culprit]
    member0 = explained[0][0]
    ck = ops.index(culprit)
    concurrent = []
    for k, o in enumerate(ops):
        if k == ck or member0(k) or call_entry[k] > best or any(o is x for x in explained[0][2]):
            continue
        if o.ret is None or o.ret > culprit.call:
            concurrent.append(o)
    concurrent = concurrent[-8:]
    states = [{"order": [o.describe() for o in order], "state": _jsonable(st), "linearized": depth,
               "impossible": x.describe()} for _, st, order, depth, x in explained]
    shown = {id(culprit)}
    before = []
    for _, _, order, _, _ in explained:
        for o in order[-_TAIL:]:
            if id(o) not in shown:
                shown.add(id(o))
                before.append(o)
    rows = [dict(o.as_dict(), role="before") for o in before]
    rows += [dict(o.as_dict(), role="concurrent") for o in concurrent if id(o) not in shown]
    rows.append(dict(culprit.as_dict(), role="failed"))
    rows.sort(key=lambda d: (d["invoke"] is None, d["invoke"] if d["invoke"] is not None else 0, d["index"]))

    def said(st, order, depth):
        what = f"{noun} holds {_show(st)}"
        if not order:
            return f"from the initial state {what}"
        order = order[-_TAIL:]
        lead = "... " if depth > len(order) else ""
        return f"after {lead}{', '.join(o.describe() for o in order)} {what}"

    summary = f"{culprit.describe()} ({culprit.type}{_span(culprit)}) cannot be linearized"
    if key is not None:
        summary += f" on key {json.dumps(_jsonable(key), default=str)}"
    first = said(*same[0][1:4])
    if len(same) == 1:
        summary += ": " + first
    else:
        held = [_show(e[1]) for e in same]
        summary += f": the orders that get furthest leave {noun} holding {', '.join(held[:-1])} or {held[-1]} ({first})"
    summary += f", so {culprit.describe()} is impossible"
    if concurrent:
        summary += "; concurrent: " + ", ".join(f"{o.describe()} [{o.type}]" for o in concurrent)
    summary += "."
    return {"key": _jsonable(key), "summary": summary, "op": culprit.as_dict(),
            "states": states, "concurrent": [o.as_dict() for o in concurrent], "ops": rows}


_NO = object()


def _apply(o: _Op, state: Any) -> Any:
    """The model step on plain values, for the report: the new state or _NO."""
    if o.code == _READ:
        return state if state == o.a else _NO
    if o.code == _WRITE:
        return o.a
    if o.code == _CAS:
        return o.b if state == o.a else _NO
    return state + o.a if isinstance(state, str) else _NO


def _needing(ops: list[_Op], member, value: Any, writer: _Op) -> Optional[_Op]:
    """The first ok op still to linearize that needs ``value`` when nothing left can set it."""
    producers = [o for k, o in enumerate(ops) if not member(k) and o is not writer
                 and (o.b if o.code == _CAS else o.a if o.code == _WRITE else _NO) == value]
    if producers:
        return None
    # Not the writer itself: a cas that overwrites the value it needed is not the op left needing it.
    needers = [o for k, o in enumerate(ops) if not member(k) and o is not writer and o.type == "ok"
               and o.code in (_READ, _CAS) and o.a == value]
    return min(needers, key=lambda o: o.ret) if needers else None


def _span(o: _Op) -> str:
    if o.invoke is None:
        return ""
    if o.complete is None:
        end = "never completed" if o.type == "info" else "completed"
    else:
        end = f"{'info at' if o.type == 'info' else 'completed'} {o.complete:.6g}s"
    return f", invoked {o.invoke:.6g}s, {end}"


def check(history: Iterable[dict], model: str = "register", timeout: Optional[float] = None) -> dict:
    """Is ``history`` linearizable under ``model``? ``valid`` is True, False, or None when
    ``timeout`` seconds ran out first."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (expected {' or '.join(MODELS)})")
    started = time.perf_counter()
    deadline = None if timeout is None else time.monotonic() + timeout
    ops, total, processes, counts = _collect(history, model)
    parts: dict[Any, list[_Op]] = {}
    for o in ops:
        parts.setdefault(_hashable_key(o.key), []).append(o)
    keys = []
    counterexample = None
    verdicts = []
    for key, kops in parts.items():
        kept = _drop_irrelevant_info(kops, model)
        entry = {"key": _jsonable(kops[0].key), "ops": len(kops), "info": sum(o.type == "info" for o in kops),
                 "dropped_info": len(kops) - len(kept), "valid": None}
        if deadline is None or time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                valid, failure = _search(kept, model, deadline)
            except _Timeout:
                valid, failure = None, None
            entry["valid"] = valid
            if valid is False and failure[1]:
                failure = _natural_failure(kept, model, deadline, time.monotonic() - t0) or failure
            if valid is False:
                entry["counterexample"] = _counterexample(kops[0].key, model, failure, kept)
                if counterexample is None:
                    counterexample = entry["counterexample"]
        verdicts.append(entry["valid"])
        keys.append(entry)
    valid = False if False in verdicts else (None if None in verdicts else True)
    return {"valid": valid, "model": model, "ops": total, "processes": len(processes),
            "info": counts["info"], "fail": counts["fail"],
            "seconds": round(time.perf_counter() - started, 6),
            "counterexample": counterexample, "keys": keys}
