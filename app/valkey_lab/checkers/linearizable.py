"""Linearizability checker (Wing–Gong–Lowe search, as Knossos ``wgl`` and Porcupine do it).

Hand-written: no maintained Python linearizability checker exists on PyPI.

``check(history, model="register"|"kv", timeout=60, max_memory=2 GiB, ...)`` takes lab
records (plain dicts, see ``valkey_lab.history``) and returns a plain dict; it never prints.
It is bounded by default: past the time or memory budget the verdict is unknown (``valid``
None, ``reason`` "timeout" or "memory").

Semantics (Jepsen's):

- ``ok``: the op happened between its invoke and its completion, with the value it saw.
- ``fail``: it certainly did not happen: dropped.
- ``info``, or an invoke never completed (crashed process): it may have happened at any
  point after its invoke, or never. Its completion is at +infinity and the search may
  leave it out. An info read says nothing, so info reads are dropped; with
  ``nil_read="unknown"`` so are ok reads that returned nil (Knossos: "value unknown").
- The register starts at ``init`` (default nil), a kv key at ``init`` (default "").
- ``independent=True``: every value is a Jepsen ``independent`` tuple ``[k v]`` (a cas
  ``[k [old new]]``); ``k`` is the key, ``v`` the value.

The history is split by key (P-compositionality: a history is linearizable iff each key's
sub-history is). Keys are searched side by side, a slice of steps each in turn (or spread
over worker processes with ``jobs``), so that one hard key cannot hide an easy invalid one;
the first invalid key ends the check unless ``all_keys``.

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

The search decides and explains in one pass (see ``_search``); every pruning rule can be
turned off (``optimize=False``: plain WGL with its cache), and tests/unit/test_linearizable.py
checks both against a brute-force oracle and against each other.

Real-time order: by ``time`` when every client record has one, ties (and histories without
times) in record order, as Jepsen orders by index.

Values are compared exactly (``"3" != 3``); lists compare as tuples.
"""
from __future__ import annotations

import gc
import json
import math
import sys
import time
from bisect import bisect_left, bisect_right
from collections import deque
from typing import Any, Callable, Iterable, Optional

from valkey_lab.checkers.budget import Budget, limit_address_space

MODELS = ("register", "kv")
NIL_READS = ("value", "unknown")
DEFAULT_TIMEOUT = 60.0          # seconds per history
DEFAULT_MAX_MEMORY = 2 << 30    # bytes the check may grow the process(es) by

_READ, _WRITE, _CAS, _APPEND = 0, 1, 2, 3
# f name -> op code, per model; "read"-like ops are the ones whose completion carries the value.
_CODES = {
    "register": {"read": _READ, "write": _WRITE, "cas": _CAS},
    "kv": {"get": _READ, "put": _WRITE, "append": _APPEND},
}
_INIT = {"register": None, "kv": ""}
_NOUN = {"register": "the register", "kv": "the key"}
_MAX_CONFIGS = 4      # model states kept for the counterexample
_TAIL = 4             # ops shown from the end of each order
_SLICE = 2048         # search steps between two looks at the budget (a power of two)
_MAX_STARTERS = 64    # kv: a get that this many puts could start is never anchored (cost bound)
_TILING_WORK = 4_000_000  # kv: characters x append lengths the up-front tiling check may cost
_AS_SLACK = 256 << 20  # workers' address-space limit above their memory share
_UNSET = object()
_TYPES = frozenset(("invoke", "ok", "fail", "info"))
_ATOMS = frozenset((int, float, str, bool))
_INF_RET = (math.inf, math.inf)
HINT = ("every value looks like a Jepsen independent [k v] tuple: to check each key k on its own, "
        "use --independent (independent=True)")


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


def _pair(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 2) or \
        (isinstance(value, dict) and set(value) == {"key", "value"})


def _split(value: Any, index: int) -> tuple[Any, Any]:
    """A Jepsen independent tuple ``[k v]`` (or a tagged ``{:key k, :value v}``) as (k, v)."""
    if isinstance(value, dict) and set(value) == {"key", "value"}:
        return value["key"], value["value"]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    raise HistoryError(f"with --independent every value is a [k v] tuple, got {value!r}", index)


def _is_client(r: dict) -> bool:
    kind = r.get("kind")
    p = r.get("process")
    return kind == "client" or (kind is None and isinstance(p, int) and not isinstance(p, bool))


def _looks_independent(values: Iterable[tuple[str, Any]]) -> bool:
    """Every value a ``[k v]`` tuple (a cas ``[k [old new]]``), as in Jepsen's independent
    histories; at least one value besides a cas (a cas [old new] alone is a pair too).
    ``values``: (f, value) of the client ops."""
    seen = False
    for f, v in values:
        if v is None:
            continue
        if not _pair(v):
            return False
        if f == "cas":
            inner = v[1] if isinstance(v, (list, tuple)) else v["value"]
            if not _pair(inner):
                return False
        else:
            seen = True
    return seen


def _collect(history: Iterable[dict], model: str, independent: bool = False, nil_read: str = "value"):
    """Pair invokes with completions (one open op per process), keep what the search needs."""
    codes = _CODES[model]
    records = list(history)
    pending: dict[int, tuple[int, dict]] = {}
    pairs: list[tuple[int, dict, Optional[int], Optional[dict]]] = []
    processes: set[int] = set()
    timed = True
    for i, r in enumerate(records):
        if type(r) is not dict and not isinstance(r, dict):
            raise HistoryError(f"record {i} is not an object", i)
        kind = r.get("kind")
        p = r.get("process")
        if kind is None:  # plain Jepsen-style op: clients have integer processes
            kind = "client" if type(p) is int or (isinstance(p, int) and not isinstance(p, bool)) else "other"
        if kind != "client":
            continue
        if type(p) is not int and (not isinstance(p, int) or isinstance(p, bool)):
            raise HistoryError(f"client op has process {p!r}, expected an integer", i)
        t = r.get("type")
        if t not in _TYPES:
            raise HistoryError(f"client op has type {t!r}, expected invoke, ok, fail or info", i)
        f = r.get("f")
        if f not in codes:
            raise HistoryError(f"op f={f!r} is not part of the {model} model "
                               f"(expected {', '.join(codes)})", i)
        processes.add(p)
        if timed:
            tm = r.get("time")
            timed = type(tm) is float or type(tm) is int or _is_time(tm)
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
    counts = {"ok": 0, "fail": 0, "info": 0, "unknown": 0}
    for j, inv, i, comp in pairs:
        typ = comp["type"] if comp is not None else "info"
        counts[typ] += 1
        if typ == "fail":
            continue
        code = codes[inv["f"]]
        if code == _READ and typ == "info":
            continue
        key, inv_value = inv.get("key"), inv.get("value")
        comp_value = comp.get("value") if comp is not None else None
        if independent:
            k, inv_value = _split(inv_value, j)
            if comp_value is not None:
                ck, comp_value = _split(comp_value, i)
                if _freeze(ck) != _freeze(k):
                    raise HistoryError(f"process {inv['process']} completes key {ck!r} but invoked key {k!r} "
                                       f"(record {j})", i)
            key = k if key is None else [key, k]
        if code == _READ and comp_value is None and nil_read == "unknown":
            counts["unknown"] += 1  # Knossos: an ok read of nil says nothing
            continue
        o = _Op()
        o.index, o.process, o.f, o.type = j, inv["process"], inv["f"], typ
        o.key = key
        if code == _READ:
            o.value = comp_value
        else:
            o.value = inv_value
            if o.value is None and comp is not None:
                o.value = comp_value
        v = o.value
        o.code, o.a, o.b = code, (v if v is None or type(v) in _ATOMS else _freeze(v)), None
        if code == _READ and model == "kv" and o.a is None:
            o.a = ""  # a missing key reads as the empty string
        if code == _CAS:
            if not (isinstance(o.a, tuple) and len(o.a) == 2):
                raise HistoryError(f"cas value {o.value!r} is not [old new]", j)
            o.a, o.b = o.a
        if model == "kv" and type(o.a) is not str and not isinstance(o.a, str):
            hint = not independent and _looks_independent((r.get("f"), r.get("value")) for r in records
                                                           if isinstance(r, dict) and _is_client(r))
            raise HistoryError(f"{o.f} value {o.value!r} is not a string (kv values are strings)"
                               + (f"; {HINT}" if hint else ""), j if code != _READ else i)
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
    hint = None if independent or not _looks_independent((o.f, o.value) for o in ops) else HINT
    return ops, len(pairs), processes, counts, hint


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
        gets = sorted((o.ret, o.a) for o in ops if o.code == _READ)
        if any("\0" in o.a for o in ops):  # the separator below: fall back to one get at a time
            def observed(o: _Op) -> bool:
                if o.code == _WRITE:
                    return any(g.startswith(o.a) for r, g in gets if r > o.call)
                return o.a != "" and any(o.a in g for r, g in gets if r > o.call)
            return [o for o in ops if o.type == "ok" or observed(o)]
        # The gets' values in return order, each after a NUL: "a later get starts with v" is a
        # search for NUL+v, "contains a" one for a, from the first get returning after the
        # invoke, at C speed
        text = "".join("\0" + g for _, g in gets)
        starts = [0] * (len(gets) + 1)
        for i, (_, g) in enumerate(gets):
            starts[i + 1] = starts[i] + 1 + len(g)
        rets = [r for r, _ in gets]

        def seen(o: _Op) -> bool:
            at = starts[bisect_right(rets, o.call)]
            if o.code == _WRITE:
                return text.find("\0" + o.a, at) >= 0
            return o.a != "" and text.find(o.a, at) >= 0

        return [o for o in ops if o.type == "ok" or seen(o)]
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


def _search(ops: list[_Op], model: str, init: Any, prune: bool = True):
    """WGL depth-first search, as a generator: it yields every ``_SLICE`` steps (the caller
    looks at the budget in between, and may interleave other keys) and returns (True, None)
    or (False, failure). It decides and explains in one pass: while searching it keeps the
    configurations that got furthest (Porcupine's longest partial linearizations) and the
    op that blocked each, so nothing is searched twice.

    The linearized set is kept as (front, rel, info): every completed op numbered below
    ``front`` (in call order) is linearized, ``rel`` has bit i for op front+i, ``info`` one bit
    per info op. That is exact and canonical, and keeps the memo keys small: a single
    bitset over all ops made each step cost O(history) and the whole search quadratic.
    Calls and returns sit in one doubly linked list in real-time order (Lowe's "entries"):
    the candidates are the calls before the first return left, linearizing lifts a call
    and its return out, backtracking puts them back, so the next candidate is one pointer
    away. States are small ints (values and kv strings interned), so a memo key is four ints.

    Pruning (``prune``), each sound on its own, each a property of the configuration it
    reaches (so the memo stays exact):
    - a read that matches the state is linearized at once, without trying other orders:
      it changes nothing, so if any order works, one that puts it first works;
    - of identical info ops, a later-invoked one is tried only once the earlier is in:
      swapping them gives the same states;
    - states nothing can observe are one state: a register value no read or cas expects; a
      kv string that is no prefix of any get's value (appends only lengthen it, so no get
      can ever match until a put). From such a state every continuation is the same;
    - register: leaving value v is a dead end while an ok op that needs v (read, cas old) is
      still to be linearized and nothing left can set v again;
    - kv, "anchored" gets: an ok get whose value no remaining put invoked before it returns
      can start must be reached by appends from the current state. While one is left, the
      state must stay a prefix of the shortest such value, and no put may happen.
    The report: a configuration is as far as its first pending return (the search has
    linearized every op returning before it). A dead end at a return names that op, but only
    where nothing was pruned (else the pruning, not that op, is why it is stuck); a pruned
    step names the op it strands (the read that can no longer be satisfied), with the reason,
    and counts as far as the step got. Ties go to the op that returns first.
    """
    n = len(ops)
    register = model == "register"
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
    ret_entry = [0] * n
    fidx = [-1] * n   # completed ops: number in call order
    ibit = [0] * n    # info ops: their bit
    twin = [0] * n    # info ops: bit of the previous identical info op (0: none)
    seen_info: dict = {}
    n_fin = n_info = 0
    for e, (_, is_ret, k) in enumerate(events, start=1):
        ent_op[e] = k
        if is_ret:
            match[call_entry[k]] = e
            ret_entry[k] = e
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
                if prune:
                    sig = (o.code, o.a, o.b)
                    twin[k] = seen_info.get(sig, 0)
                    seen_info[sig] = ibit[k]
    if n_fin == 0:
        return True, None
    code = [o.code for o in ops]
    init = _freeze(init)

    def lin(k: int, front: int, rel: int) -> bool:  # is completed op k in the set?
        i = fidx[k]
        return i < front or bool((rel >> (i - front)) & 1)

    hopeless = []
    # ---- states as small ints; id 0 is "nothing can observe this" (prune only)
    if register:
        needed = {o.a for o in ops if o.code in (_READ, _CAS)} if prune else None
        ids: dict = {}
        vals: list = [None]

        def vid(v):
            if needed is not None and v not in needed:
                return 0
            i = ids.get(v)
            if i is None:
                i = ids[v] = len(vals)
                vals.append(v)
            return i
        arg_a = [vid(o.a) for o in ops]
        arg_b = [vid(o.b) if o.code == _CAS else 0 for o in ops]
        state0 = vid(init)
        n_read_ids = len(vals)
        prod = [0] * len(vals)   # ops still to linearize that can set the value
        need = [0] * len(vals)   # ok ops still to linearize that need the value
        produces = [-1] * n
        needs = [-1] * n
        needers: dict[int, list] = {}  # value -> [(return entry, op)] of the ok ops needing it
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
                needers.setdefault(needs[k], []).append((ret_entry[k], k))
        for lst in needers.values():
            lst.sort()
        if prune:  # an ok op needing a value that nothing sets and that is not the initial one
            hopeless = [k for k in range(n) if needs[k] >= 0 and needs[k] != state0 and not prod[needs[k]]]
            if not hopeless:
                overwritten = _overwritten(ops, init)
                if overwritten:
                    k = min(overwritten, key=lambda k: ops[k].ret)
                    return False, {"overwritten": (k, *overwritten[k])}
    else:
        gets = sorted({o.a for o in ops if o.code == _READ}) if prune else None
        sid_of: dict = {}
        strs: list = [None]

        def sid(s: str) -> int:
            if gets is not None:
                i = bisect_left(gets, s)
                if i == len(gets) or not gets[i].startswith(s):
                    return 0
            i = sid_of.get(s)
            if i is None:
                i = sid_of[s] = len(strs)
                strs.append(s)
            return i
        for o in ops:  # the gets' values first: the ids a read can match are the smallest
            if o.code == _READ:
                sid(o.a)
        n_read_ids = len(strs)
        state0 = sid(init)
        arg_a = [sid(o.a) if o.code in (_READ, _WRITE) else o.a for o in ops]
        app_memo: dict[int, int] = {}
        starts: list = [()] * n   # put -> the gets it may start
        nstart = [-1] * n         # get -> puts left that may start it (-1: not tracked)
        root: list = []
        if prune:
            puts: dict[str, list] = {}
            for k, o in enumerate(ops):
                if o.code == _WRITE:
                    puts.setdefault(o.a, []).append(k)
                    starts[k] = []
            lens = sorted({len(v) for v in puts})
            for k, o in enumerate(ops):
                if o.code != _READ:
                    continue
                g, r = o.a, ret_entry[k]
                st = [p for ln in lens if ln <= len(g) for p in puts.get(g[:ln], ()) if call_entry[p] < r]
                if len(st) > _MAX_STARTERS:
                    continue
                nstart[k] = len(st)
                for p in st:
                    starts[p].append(k)
                if not st:
                    (root if g.startswith(init) else hopeless).append(k)
            pieces = {o.a for o in ops if o.code == _APPEND and o.a}
            plens = sorted({len(a) for a in pieces})
            work = sum(len(ops[k].a) for k in root) * len(plens)
            if work <= _TILING_WORK:  # a get only appends can reach must be made of them
                hopeless += [k for k in root if not _tileable(ops[k].a[len(init):], pieces, plens)]
                root = [k for k in root if k not in hopeless]
    if hopeless:
        k = min(hopeless, key=lambda k: ops[k].ret)
        return False, {"hopeless": k}

    def _anchors(gs) -> tuple:
        """Anchored gets by length, cut before the first whose value does not extend the one
        before it: such gets doom each other, but which one is wrong only the search can tell
        (the real-time order of the appends), so it finds out on its own; fewer anchors is a
        weaker rule, still sound."""
        out = sorted(gs, key=lambda k: (len(ops[k].a), ret_entry[k]))
        for i, (x, y) in enumerate(zip(out, out[1:]), start=1):
            if not ops[y].a.startswith(ops[x].a):
                return tuple(out[:i])
        return tuple(out)
    anch = () if register else _anchors(root)
    ai = 0
    open_reads = [0] * n_read_ids  # reads still to linearize, per value: skip the scan when none
    for k in range(n):
        if code[k] == _READ:
            open_reads[arg_a[k]] += 1

    tail = size + 1
    state = state0
    front = rel = info = 0
    stack: list[tuple] = []
    cache = set()
    best = (-1, 0)   # (how far, -return of the op blamed): bigger is a better report
    configs: list[dict] = []
    pruned_here = False  # a candidate of the current configuration was pruned
    first_ret = 0        # the current configuration's first pending return (0: not looked up)
    remaining = n_fin
    steps = 0
    entry = nxt[0]
    fresh = True  # a new configuration: look for a read to force first

    def real(state_id: int, extra: int) -> Any:
        """The model state as a value, for the report (undoing the merge of state 0)."""
        if state_id:
            return vals[state_id] if register else strs[state_id]
        def back():  # newest first, lazily: the walk stops at the op that set the state
            if extra:
                yield extra, state
            for f in reversed(stack):
                yield f[0], f[1]
        appended = []
        for e, pre in back():
            o = ops[ent_op[e]]
            if o.code == _WRITE:
                return o.a if register else o.a + "".join(reversed(appended))
            if o.code == _CAS:
                return o.b
            if o.code == _APPEND:
                appended.append(o.a)
                if pre:
                    return strs[pre] + "".join(reversed(appended))
        return init if register else init + "".join(reversed(appended))

    def record(pos: int, blamed: int, member: tuple, state_id: int, extra: int) -> None:
        nonlocal best, configs
        rank = (pos, -ret_entry[blamed])
        if rank < best or (rank == best and (len(configs) >= _MAX_CONFIGS or configs[0]["blamed"] != blamed)):
            return
        st = real(state_id, extra)
        if rank == best and any(c["state"] == st for c in configs):
            return
        order = [f[0] for f in stack[-_TAIL:]] + ([extra] if extra else [])
        why = ""
        if extra:  # a pruned step: why the op is stranded
            need_v = _show(ops[blamed].a)
            why = f"nothing left sets {need_v} again" if register else f"no put left can start {need_v}"
        c = {"member": member, "state": st, "order": [ent_op[e] for e in order[-_TAIL - 1:]],
             "depth": len(stack) + (1 if extra else 0), "blamed": blamed, "why": why}
        if rank > best:
            best, configs = rank, [c]
        else:
            configs.append(c)

    def stranded(v: int, k: int, first: int) -> int:
        """The ok op needing register value v that returns first among those left once k is in.
        Every op returning before ``first`` (the first pending return) is linearized."""
        for r, kk in needers.get(v, ())[bisect_left(needers.get(v, ()), (first, -1)):]:
            if kk != k and not lin(kk, front, rel):
                return kk
        return -1

    while True:
        steps += 1
        if not steps & (_SLICE - 1):
            yield
        forced = False
        if fresh:
            fresh = False
            if prune and state < n_read_ids and open_reads[state]:
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
        if entry == tail:
            return True, None  # only info calls left: they may never happen
        if ent_call[entry]:
            k = ent_op[entry]
            c = code[k]
            blame = -1
            nanch, nai = anch, ai
            if c == _READ:
                ok = state == arg_a[k]
                new = state
            elif c == _WRITE:
                ok, new = True, arg_a[k]
                if ai < len(anch):
                    ok, blame = False, anch[ai]  # a put now strands the anchored get
            elif c == _CAS:
                ok = state == arg_a[k]
                new = arg_b[k]
            else:
                ok = True
                if state:
                    key = state * n + k
                    new = app_memo.get(key)
                    if new is None:
                        new = app_memo[key] = sid(strs[state] + arg_a[k])
                    if ai < len(anch) and not ops[anch[ai]].a.startswith(arg_a[k], len(strs[state])):
                        ok, blame = False, anch[ai]  # the state would stop leading to it
                else:
                    new = 0
            if ok and twin[k] and not info & twin[k]:
                ok = False  # the earlier identical info op goes first
            if ok and register and prune:
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
                    blame = -2  # the op it strands is looked up only if the report may need it
            if ok:
                i = fidx[k]
                if i >= 0:
                    d = i - front
                    nrel = rel | (1 << d)
                    nfront = front
                    if d == 0:  # slide the front past the run of linearized ops
                        t = (nrel ^ (nrel + 1)).bit_length() - 1
                        nfront, nrel = front + t, nrel >> t
                    ninfo = info
                else:
                    nfront, nrel, ninfo = front, rel, info | ibit[k]
                memo = (nfront, nrel, ninfo, new)
                if memo not in cache:
                    cache.add(memo)
                    if prune and not register:
                        if c == _WRITE and starts[k]:
                            for g in starts[k]:
                                nstart[g] -= 1
                            nanch, nai = _anchors(g for g in starts[k] if not nstart[g] and not lin(g, nfront, nrel)), 0
                        elif c == _WRITE:
                            nanch, nai = (), 0
                        elif c == _READ:
                            while nai < len(nanch) and lin(nanch[nai], nfront, nrel):
                                nai += 1
                    if ok:
                        stack.append((entry, state, front, rel, info, forced, anch, ai, pruned_here))
                        state, front, rel, info, anch, ai = new, nfront, nrel, ninfo, nanch, nai
                        pruned_here, first_ret = False, 0
                        if prune and c == _READ:
                            open_reads[new] -= 1
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
                elif register and prune:
                    if produces[k] >= 0:
                        prod[produces[k]] += 1
                    if needs[k] >= 0:
                        need[needs[k]] += 1
            if blame != -1:  # a pruned step: the failure is the op it strands
                pruned_here = True
                if not first_ret:  # this configuration's first pending return, found once
                    e = nxt[0]
                    while ent_call[e]:
                        e = nxt[e]
                    first_ret = e
                # as far as the step really got (its first pending return): whether the search
                # could have reached the stranded op's return it cannot know without searching on
                pos = first_ret
                if pos == ret_entry[k]:
                    pos = nxt[pos]
                    while ent_call[pos]:
                        pos = nxt[pos]
                if pos >= best[0]:
                    if blame == -2:
                        blame = stranded(state, k, first_ret)
                    if blame >= 0:
                        record(pos, blame, (front, rel, info, k), new, entry)
            if not forced:
                entry = nxt[entry]
                if pruned_here and prune:  # skip the candidates the same pruning would refuse
                    if register:
                        if need[state] and not prod[state]:  # only ops that keep the value can go on
                            while ent_call[entry]:
                                kk = ent_op[entry]
                                if (code[kk] == _READ or code[kk] == _CAS) and arg_a[kk] == state:
                                    break
                                entry = nxt[entry]
                    elif ai < len(anch):  # no put; an append only if it leads on to the anchored get
                        lim, at = ops[anch[ai]].a, len(strs[state])
                        while ent_call[entry]:
                            kk = ent_op[entry]
                            cc = code[kk]
                            if (cc == _READ and arg_a[kk] == state) or (cc == _APPEND and lim.startswith(arg_a[kk], at)):
                                break
                            entry = nxt[entry]
                continue
            # a forced read into a known configuration: this one is dead too
        else:
            # A return whose op is not linearized yet: this order is dead, backtrack.
            if not pruned_here and entry >= best[0]:
                record(entry, ent_op[entry], (front, rel, info, -1), state, 0)
        while stack:  # backtrack; past a forced read the configuration before it is dead too
            entry, state, front, rel, info, was_forced, anch, ai, pruned_here = stack.pop()
            first_ret = 0
            k = ent_op[entry]
            r = match[entry]
            if r:
                nxt[prv[r]] = r
                prv[nxt[r]] = r
                remaining += 1
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            if prune:
                c = code[k]
                if register:
                    if produces[k] >= 0:
                        prod[produces[k]] += 1
                    if needs[k] >= 0:
                        need[needs[k]] += 1
                elif c == _WRITE:
                    for g in starts[k]:
                        nstart[g] += 1
                if c == _READ:
                    open_reads[arg_a[k]] += 1
            if not was_forced:
                break
        else:
            break  # nothing left to try
        entry = nxt[entry]
    for c in configs:  # the linearized set of each, as op indices, for the report
        f0, r0, i0, extra = c.pop("member")
        c["linearized"] = {k for k in range(n) if k == extra or
                           (bool(i0 & ibit[k]) if fidx[k] < 0 else lin(k, f0, r0))}
    return False, {"configs": configs, "best": best[0], "call_entry": call_entry}


def _overwritten(ops: list[_Op], init: Any) -> dict:
    """Register ops that need a value every setter of which was overwritten, in real time,
    before they were invoked: op -> (the setter that lasts longest, or None for the initial
    value; the op that overwrote it; how many setters, the initial value counted).

    If P sets v and returns before K (an ok op setting another value) is invoked, and K
    returns before N is invoked, every linearization has P < K < N. When that holds for every
    op that may set v before N returns (an info one may take effect any time: never), v is
    gone by N. O(n log n): the first-returning overwrite after an instant comes from suffix
    minima, kept for two values so that one of them is never v."""
    setters = sorted((o.call, o.ret, o.a if o.code == _WRITE else o.b, k) for k, o in enumerate(ops)
                     if o.type == "ok" and o.code in (_WRITE, _CAS))
    calls = [x[0] for x in setters]
    none = (_INF_RET, _UNSET, -1)
    suf1, suf2 = [none] * (len(setters) + 1), [none] * (len(setters) + 1)
    b1 = b2 = none
    for i in range(len(setters) - 1, -1, -1):
        _, r, v, k = setters[i]
        if r < b1[0]:
            if v != b1[1]:
                b2 = b1
            b1 = (r, v, k)
        elif v != b1[1] and r < b2[0]:
            b2 = (r, v, k)
        suf1[i], suf2[i] = b1, b2

    def killer(after: Optional[tuple], v: Any) -> tuple:
        """(return, op) of the first-returning ok op invoked after ``after`` (None: from the
        start) that sets a value other than v."""
        i = 0 if after is None else bisect_right(calls, after)
        b = suf1[i] if suf1[i][1] != v else suf2[i]
        return b[0], b[2]

    producers: dict[Any, list] = {}
    for k, o in enumerate(ops):
        if o.code in (_WRITE, _CAS):
            producers.setdefault(o.a if o.code == _WRITE else o.b, []).append(k)
    per_value: dict = {}
    out = {}
    for n_, o in enumerate(ops):
        if o.ret is None or o.code not in (_READ, _CAS):
            continue
        v = o.a
        if v not in per_value:
            prods = sorted(producers.get(v, []), key=lambda k: ops[k].call)
            lasting, worst = [], None  # the setter overwritten last, among the first j setters
            for p in prods:
                r, kk = (_INF_RET, -1) if ops[p].ret is None else killer(ops[p].ret, v)
                if worst is None or r > worst[0]:
                    worst = (r, p, kk)
                lasting.append(worst)
            start = None
            if v == init:
                r, kk = killer(None, v)
                start = (r, None, kk)
            per_value[v] = ([ops[p].call for p in prods], lasting, start)
        pcalls, lasting, start = per_value[v]
        j = bisect_left(pcalls, o.ret)  # the setters invoked before it returned
        worst = max((w for w in (lasting[j - 1] if j else None, start) if w is not None),
                    key=lambda w: w[0], default=None)
        if worst is not None and worst[0] < o.call:
            out[n_] = (worst[1], worst[2], j + (start is not None))
    return out


def _tileable(s: str, pieces: set, lens: list) -> bool:
    """Can ``s`` be cut into append values (each usable any number of times)?"""
    reach = bytearray(len(s) + 1)  # pragma: no mutate - a longer array or another truthy mark is equivalent
    reach[0] = 1  # pragma: no mutate - any truthy mark
    for i in range(len(s)):
        if reach[i]:
            for ln in lens:  # ascending
                if i + ln > len(s):
                    break
                if s[i:i + ln] in pieces:
                    reach[i + ln] = 1  # pragma: no mutate - any truthy mark
    return bool(reach[len(s)])


def _counterexample(key: Any, model: str, init: Any, failure: dict, ops: list[_Op]) -> dict:
    noun = _NOUN[model]
    on_key = '' if key is None else ' on key ' + json.dumps(_jsonable(key), default=str)
    if "hopeless" in failure:  # nothing ever sets the value it needs
        failed = ops[failure["hopeless"]]
        needed = failed.a if failed.code != _READ else failed.value
        if model == "kv":
            why = f"no put invoked before it returned starts {_show(needed)} and no appends make it up"
        else:
            why = f"no op sets {_show(needed)}"
        summary = (f"{failed.describe()} ({failed.type}{_span(failed)}) cannot be linearized{on_key}: it needs "
                   f"{noun} to hold {_show(needed)}, but {why} and {noun} starts as {_show(init)}.")
        return {"key": _jsonable(key), "summary": summary, "blocked": failed.describe(), "op": failed.as_dict(),
                "states": [], "concurrent": [], "ops": [dict(failed.as_dict(), role="failed")]}
    if "overwritten" in failure:  # every op that sets the value was overwritten before it
        k, p, kk, count = failure["overwritten"]
        failed, killer = ops[k], ops[kk]
        v = _show(failed.a)
        first = f"{noun} starts as {v}" if p is None else f"{ops[p].describe()} ({ops[p].type}{_span(ops[p])}) sets {v}"
        others = (("no op sets it" if p is None else "no other op sets it") if count == 1
                  else f"so were the {count - 1} other ops that set it")
        order = ([] if p is None else [ops[p]]) + [killer]
        summary = (f"{failed.describe()} ({failed.type}{_span(failed)}) cannot be linearized{on_key}: {first}, then "
                   f"{killer.describe()} ({killer.type}{_span(killer)}) overwrites it, all before {failed.describe()} "
                   f"is invoked, and {others}, so {failed.describe()} is impossible.")
        rows = [dict(o.as_dict(), role="before") for o in order] + [dict(failed.as_dict(), role="failed")]
        rows.sort(key=lambda d: (d["invoke"] is None, d["invoke"] if d["invoke"] is not None else 0, d["index"]))
        return {"key": _jsonable(key), "summary": summary, "blocked": failed.describe(), "op": failed.as_dict(),
                "states": [{"order": [o.describe() for o in order], "state": _jsonable(_apply_value(killer)),
                            "linearized": len(order), "impossible": failed.describe()}],
                "concurrent": [], "ops": rows}
    configs, best, call_entry = failure["configs"], failure["best"], failure["call_entry"]
    ck = configs[0]["blamed"]
    culprit = ops[ck]
    orders = [[ops[k] for k in c["order"]] for c in configs]
    in0 = configs[0]["linearized"]
    concurrent = []
    for k, o in enumerate(ops):
        if k == ck or k in in0 or call_entry[k] > best or any(o is x for x in orders[0]):
            continue
        if o.ret is None or o.ret > culprit.call:
            concurrent.append(o)
    concurrent = concurrent[-8:]
    states = [{"order": [o.describe() for o in order], "state": _jsonable(c["state"]), "linearized": c["depth"],
               "impossible": ops[c["blamed"]].describe()} for c, order in zip(configs, orders)]
    shown = {id(culprit)}
    before = []
    for order in orders:
        for o in order[-_TAIL:]:
            if id(o) not in shown:
                shown.add(id(o))
                before.append(o)
    rows = [dict(o.as_dict(), role="before") for o in before]
    rows += [dict(o.as_dict(), role="concurrent") for o in concurrent if id(o) not in shown]
    rows.append(dict(culprit.as_dict(), role="failed"))
    rows.sort(key=lambda d: (d["invoke"] is None, d["invoke"] if d["invoke"] is not None else 0, d["index"]))

    def said(st, order, depth, why=""):
        what = f"{noun} holds {_show(st)}" + (f" and {why}" if why else "")
        if not order:
            return f"from the initial state {what}"
        order = order[-_TAIL:]
        lead = "... " if depth > len(order) else ""
        return f"after {lead}{', '.join(o.describe() for o in order)} {what}"

    summary = f"{culprit.describe()} ({culprit.type}{_span(culprit)}) cannot be linearized{on_key}"
    first = said(configs[0]["state"], orders[0], configs[0]["depth"], configs[0]["why"])
    if len(configs) == 1:
        summary += ": " + first
    else:
        held = [_show(c["state"]) for c in configs]
        summary += f": the orders that get furthest leave {noun} holding {', '.join(held[:-1])} or {held[-1]} ({first})"
    summary += f", so {culprit.describe()} is impossible"
    if concurrent:
        summary += "; concurrent: " + ", ".join(f"{o.describe()} [{o.type}]" for o in concurrent)
    summary += "."
    return {"key": _jsonable(key), "summary": summary, "blocked": culprit.describe(), "op": culprit.as_dict(),
            "states": states, "concurrent": [o.as_dict() for o in concurrent], "ops": rows}


def _apply_value(o: _Op) -> Any:
    """The value an ok write or cas leaves in the register."""
    return o.b if o.code == _CAS else o.a


def _span(o: _Op) -> str:
    if o.invoke is None:
        return ""
    if o.complete is None:
        end = "never completed" if o.type == "info" else "completed"
    else:
        end = f"{'info at' if o.type == 'info' else 'completed'} {o.complete:.6g}s"
    return f", invoked {o.invoke:.6g}s, {end}"


def _decide(key: Any, kops: list[_Op], model: str, init: Any, optimize: bool):
    """One key, as a generator (it yields between slices of search): its entry for ``keys``."""
    kept = _drop_irrelevant_info(kops, model) if optimize else kops
    entry = {"key": _jsonable(key), "ops": len(kops), "info": sum(o.type == "info" for o in kops),
             "dropped_info": len(kops) - len(kept), "valid": None}
    valid, failure = yield from _search(kept, model, init, optimize)
    entry["valid"] = valid
    if valid is False:
        entry["counterexample"] = _counterexample(key, model, init, failure, kept)
    return entry


def _interleave(tasks: list, budget: Budget, all_keys: bool, done: Callable[[int, dict], None]) -> Optional[str]:
    """Run the keys' searches a slice each in turn, handing each finished key to ``done``.
    Returns why it stopped early ("timeout", "memory", "stopped", "skipped": a key is not
    linearizable and the others no longer matter), or None when every key was decided."""
    active = deque(tasks)
    try:
        while active:
            i, gen = active[0]
            try:
                next(gen)
                active.rotate(-1)
            except StopIteration as stop:
                active.popleft()
                done(i, stop.value)
                if stop.value["valid"] is False and not all_keys:
                    return "skipped" if active else None
            why = budget.exceeded()
            if why:
                return why
        return None
    except MemoryError:
        active.clear()  # drop every search's memory before anything else
        return "memory"


def _lpt(tasks: list, bins: int) -> list[list]:
    """Keys into ``bins`` buckets, biggest first into the lightest bucket."""
    buckets = [[] for _ in range(bins)]
    loads = [0] * bins
    for t in sorted(tasks, key=lambda t: -len(t[2])):
        b = loads.index(min(loads))
        buckets[b].append(t)
        loads[b] += len(t[2])
    return [b for b in buckets if b]


def _worker(bucket, model, init, optimize, deadline, max_memory, all_keys, stop, conn) -> None:
    """A worker process: its keys interleaved under its share of the budget; each result is
    sent as soon as it is known, then the reason for the keys left undecided."""
    gc.disable()
    try:
        if max_memory is not None:
            limit_address_space(max_memory + _AS_SLACK)
        budget = Budget(deadline, max_memory, stop)
        tasks = [(i, _decide(key, kops, model, init, optimize)) for i, key, kops in bucket]
        why = _interleave(tasks, budget, all_keys, lambda i, entry: conn.send((i, entry)))
        if why == "skipped":
            stop.set()  # the other workers' keys no longer matter either
        conn.send((None, why))
    except MemoryError:
        conn.send((None, "memory"))
    except BaseException as e:  # a bug: let the parent raise it, with no traceback on the way
        conn.send((None, f"error: {type(e).__name__}: {e}"))
    finally:
        conn.close()


def _in_workers(tasks: list, jobs: int, model: str, init: Any, optimize: bool, deadline: Optional[float],
                max_memory: Optional[int], all_keys: bool, done: Callable[[int, dict], None]) -> Optional[str]:
    """The keys spread over ``jobs`` forked processes, ``max_memory`` shared between them."""
    import multiprocessing
    from multiprocessing.connection import wait
    ctx = multiprocessing.get_context("fork")  # pragma: no mutate - process plumbing, no verdict depends on it
    buckets = _lpt(tasks, jobs)
    share = None if max_memory is None else max_memory // len(buckets)
    stop = ctx.Event()
    sys.stdout.flush()  # a forked child must not write the parent's buffered output again
    sys.stderr.flush()
    procs, conns = [], []
    for bucket in buckets:
        r, w = ctx.Pipe(duplex=False)  # pragma: no mutate - plumbing
        p = ctx.Process(target=_worker, args=(bucket, model, init, optimize, deadline, share, all_keys, stop, w),
                        daemon=True)  # pragma: no mutate - plumbing (a dead parent takes its workers)
        p.start()
        w.close()
        procs.append(p)
        conns.append(r)
    reasons = []
    try:
        alive = list(conns)
        while alive:
            for c in wait(alive, timeout=0.1):  # pragma: no mutate - polling period only
                try:
                    i, msg = c.recv()
                except EOFError:  # died without a word: the kernel's OOM killer, most likely
                    alive.remove(c)
                    reasons.append("memory")
                    continue
                if i is None:
                    alive.remove(c)
                    reasons.append(msg)
                    if msg and msg.startswith("error: "):
                        raise RuntimeError(f"linearizability worker: {msg[7:]}")
                else:
                    done(i, msg)
                    if msg["valid"] is False and not all_keys:
                        stop.set()
            if deadline is not None and time.monotonic() > deadline + 2:
                reasons.append("timeout")  # a slice that never ends: stop waiting
                break
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=1)  # pragma: no mutate - a grace period before the kill
            if p.is_alive():
                p.kill()
                p.join()
    for why in ("memory", "timeout", "skipped", "stopped"):
        if why in reasons:
            return why
    return None


def check(history: Iterable[dict], model: str = "register", timeout: Optional[float] = DEFAULT_TIMEOUT, *,
          max_memory: Optional[int] = DEFAULT_MAX_MEMORY, init: Any = _UNSET, nil_read: str = "value",
          independent: bool = False, all_keys: bool = False, jobs: int = 1, optimize: bool = True) -> dict:
    """Is ``history`` linearizable under ``model``? ``valid`` is True, False, or None when the
    budget ran out first (``reason``: "timeout" after ``timeout`` seconds, "memory" when the
    process grew by ``max_memory`` bytes; None for either means no bound).

    ``init``: the initial state (default nil; "" for kv). ``nil_read="unknown"``: an ok read
    of nil carries no value. ``independent``: values are Jepsen ``[k v]`` tuples, one key
    each. ``all_keys``: decide every key even after one is not linearizable. ``jobs``: worker
    processes for the keys (1: in this process). ``optimize=False``: plain WGL with its
    cache, no pruning and no dropped info ops (to cross-check the fast search)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (expected {' or '.join(MODELS)})")
    if nil_read not in NIL_READS:
        raise ValueError(f"unknown nil_read {nil_read!r} (expected {' or '.join(NIL_READS)})")
    init = _INIT[model] if init is _UNSET else init
    if model == "kv" and not isinstance(init, str):
        raise ValueError(f"the kv model starts from a string, got init={init!r}")
    started = time.perf_counter()
    deadline = None if timeout is None else time.monotonic() + timeout
    collecting = gc.isenabled()
    gc.disable()  # the memo holds millions of tuples and makes no cycles: scanning them cost 40 %
    try:
        return _check(history, model, init, nil_read, independent, all_keys, jobs, optimize, max_memory, deadline,
                      started)
    finally:
        if collecting:
            gc.enable()


def _check(history, model, init, nil_read, independent, all_keys, jobs, optimize, max_memory, deadline,
           started) -> dict:
    ops, total, processes, counts, hint = _collect(history, model, independent, nil_read)
    parts: dict[Any, list[_Op]] = {}
    for o in ops:
        parts.setdefault(_hashable_key(o.key), []).append(o)
    tasks = [(i, kops[0].key, kops) for i, kops in enumerate(parts.values())]
    entries: list[Optional[dict]] = [None] * len(tasks)

    def done(i: int, entry: dict) -> None:
        entries[i] = entry

    why = None
    if deadline is not None and time.monotonic() >= deadline:
        why = "timeout"
    elif jobs > 1 and len(tasks) > 1 and "fork" in _start_methods():
        why = _in_workers(tasks, jobs, model, init, optimize, deadline, max_memory, all_keys, done)
    elif tasks:
        budget = Budget(deadline, max_memory)
        why = _interleave([(i, _decide(key, kops, model, init, optimize)) for i, key, kops in tasks],
                          budget, all_keys, done)
    for i, key, kops in tasks:
        if entries[i] is None:  # undecided: the budget, or another key settled the verdict
            entries[i] = {"key": _jsonable(key), "ops": len(kops), "info": sum(o.type == "info" for o in kops),
                          "dropped_info": None, "valid": None, "reason": why or "timeout"}
    verdicts = [e["valid"] for e in entries]
    valid = False if False in verdicts else (None if None in verdicts else True)
    reason = None
    if valid is None:
        reasons = {e.get("reason") for e in entries}
        reason = "memory" if "memory" in reasons else "timeout"
    counterexample = next((e["counterexample"] for e in entries if e["valid"] is False), None)
    return {"valid": valid, "reason": reason, "model": model, "ops": total, "processes": len(processes),
            "info": counts["info"], "fail": counts["fail"], "unknown_reads": counts["unknown"],
            "seconds": round(time.perf_counter() - started, 6),
            "counterexample": counterexample, "hint": hint, "keys": entries}


def _start_methods() -> list:
    import multiprocessing
    return multiprocessing.get_all_start_methods()
