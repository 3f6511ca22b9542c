"""The linearizability checker: hand-made histories, a brute-force oracle, generated histories."""
import json
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valkey_lab.checkers.linearizable import HistoryError, check
from valkey_lab.history.gen import NEVER, corrupt_read, kv_history, register_history, stale_read


def h(*ops, key=None):
    """Records from (process, f, value, invoke, complete, type) tuples; complete None = crashed.
    ``value`` is what a write/cas/put/append sends, or what a read/get returned."""
    events = []
    for n, (p, f, value, t0, t1, typ) in enumerate(ops):
        reads = f in ("read", "get")
        base = {"kind": "client", "process": p, "f": f, "key": key}
        events.append((t0, n, dict(base, type="invoke", value=None if reads else value, time=t0)))
        if t1 is not None:
            events.append((t1, n, dict(base, type=typ, value=value if (not reads or typ == "ok") else None, time=t1)))
    return [e[2] for e in sorted(events, key=lambda e: (e[0], e[1]))]


def ok(p, f, value, t0, t1):
    return (p, f, value, t0, t1, "ok")


def info(p, f, value, t0, t1=None):
    return (p, f, value, t0, t1, "info")


def fail(p, f, value, t0, t1):
    return (p, f, value, t0, t1, "fail")


def valid(history, model="register"):
    return check(history, model=model)["valid"]


# ---------------------------------------------------------------- register: plain cases

def test_empty_history_is_linearizable():
    result = check([])
    assert result["valid"] is True and result["ops"] == 0 and result["counterexample"] is None


def test_sequential_writes_and_reads():
    assert valid(h(ok(0, "read", None, 0, 1), ok(0, "write", 1, 2, 3), ok(1, "read", 1, 4, 5),
                   ok(1, "write", 2, 6, 7), ok(0, "read", 2, 8, 9)))


def test_stale_read_is_not_linearizable_and_explained():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5)))
    assert result["valid"] is False
    cx = result["counterexample"]
    json.dumps(cx)  # JSON-ready
    assert cx["op"]["process"] == 1 and cx["op"]["f"] == "read" and cx["op"]["value"] == 1
    assert cx["op"]["invoke"] == 4 and cx["op"]["complete"] == 5
    assert cx["states"] == [{"order": ["p0 write 1", "p0 write 2"], "state": 2, "linearized": 2,
                             "impossible": "p1 read 1"}]
    assert cx["summary"].startswith("p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: p0 write 1 ")
    assert "then p0 write 2 (ok, invoked 2s, completed 3s) overwrites it, all before p1 read 1 is invoked" in cx["summary"]
    assert [(r["role"], r["value"]) for r in cx["ops"]] == [("before", 1), ("before", 2), ("failed", 1)]


def test_the_counterexample_blames_the_late_stale_read_not_an_early_good_one():
    # The search learns early that value 1 must never be overwritten (the late read needs
    # it), but the report must name the late read, as a plain WGL search would.
    result = check(h(ok(0, "write", 1, 0, 1), ok(1, "write", 2, 2, 6), ok(2, "read", 2, 3, 4),
                     ok(0, "read", 2, 7, 8), ok(3, "read", 1, 10, 11)))
    assert result["valid"] is False
    cx = result["counterexample"]
    assert (cx["op"]["process"], cx["op"]["value"], cx["op"]["invoke"]) == (3, 1, 10)
    assert cx["summary"].startswith("p3 read 1 (ok, invoked 10s, completed 11s) cannot be linearized: ")
    assert "p1 write 2 (ok, invoked 2s, completed 6s) overwrites it, all before p3 read 1 is invoked" in cx["summary"]
    # the same, where only the search can tell (the write of 2 still running at the late read):
    # it must name the late read too, as a plain WGL search would
    result = check(h(ok(0, "write", 1, 0, 1), ok(1, "write", 2, 2, 12), ok(2, "read", 2, 3, 4),
                     ok(0, "read", 2, 7, 8), ok(3, "read", 1, 10, 11)))
    assert result["counterexample"]["op"]["process"] == 3 and result["counterexample"]["op"]["value"] == 1


def test_read_of_the_initial_nil_after_a_completed_write_is_stale():
    assert valid(h(ok(1, "read", None, 0, 3), ok(0, "write", 1, 1, 2)))
    assert not valid(h(ok(0, "write", 1, 0, 1), ok(1, "read", None, 2, 3)))


def test_a_read_concurrent_with_a_write_may_see_either_value():
    assert valid(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 5), ok(1, "read", 1, 3, 4)))
    assert valid(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 5), ok(1, "read", 2, 3, 4)))


def test_reads_cannot_go_back_in_time():
    # Both reads overlap the write, but once a read saw 2 a later read cannot see 1.
    assert not valid(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 10),
                       ok(1, "read", 2, 3, 4), ok(2, "read", 1, 5, 6)))
    assert valid(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 10),
                   ok(1, "read", 1, 3, 4), ok(2, "read", 2, 5, 6)))


def test_lost_write():
    # Acknowledged write 2, then every read sees 1: the write was lost.
    assert not valid(h(ok(0, "write", 1, 0, 1), ok(1, "write", 2, 2, 3), ok(2, "read", 1, 4, 5), ok(2, "read", 1, 6, 7)))


def test_read_of_a_value_nobody_wrote():
    result = check(h(ok(0, "write", 1, 0, 1), ok(1, "read", 7, 2, 3)))
    assert result["valid"] is False
    assert "no op sets 7" in result["counterexample"]["summary"]


def test_cas_against_an_overwritten_value():
    base = [ok(0, "write", 1, 0, 1), ok(1, "write", 2, 2, 3)]
    result = check(h(*base, ok(2, "cas", [1, 3], 4, 5)))
    assert result["valid"] is False and "p2 cas 1->3" in result["counterexample"]["summary"]
    assert valid(h(*base, ok(2, "cas", [2, 3], 4, 5), ok(2, "read", 3, 6, 7)))
    assert not valid(h(*base, ok(2, "cas", [2, 3], 4, 5), ok(2, "read", 2, 6, 7)))


def test_failed_ops_are_dropped():
    # A failed cas that would not have matched, and a failed write whose value nobody may read.
    assert valid(h(ok(0, "write", 1, 0, 1), fail(1, "cas", [5, 6], 2, 3), ok(1, "read", 1, 4, 5)))
    assert valid(h(ok(0, "write", 1, 0, 1), fail(1, "cas", [1, 6], 2, 3), ok(1, "read", 1, 4, 5)))
    assert not valid(h(ok(0, "write", 1, 0, 1), fail(1, "write", 2, 2, 3), ok(2, "read", 2, 4, 5)))


# ---------------------------------------------------------------- info and crashed ops

def test_info_write_may_have_happened_even_after_its_info_completion():
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2, 3), ok(0, "read", 1, 4, 5), ok(0, "read", 2, 6, 7)))


def test_info_write_may_not_have_happened():
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2, 3), ok(0, "read", 1, 4, 5)))
    # ...but it cannot happen before it was invoked
    assert not valid(h(ok(0, "write", 1, 0, 1), ok(0, "read", 2, 2, 3), info(1, "write", 2, 4, 5)))


def test_info_write_happens_at_most_once():
    assert not valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2, 3), ok(0, "read", 2, 4, 5),
                       ok(0, "write", 3, 6, 7), ok(0, "read", 2, 8, 9)))
    # two identical info writes can each have happened once (the second only after its invoke)
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2, 2.5), ok(0, "read", 2, 3, 4),
                   info(2, "write", 2, 5, 5.5), ok(0, "write", 3, 6, 7), ok(0, "read", 2, 8, 9)))
    assert not valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2, 2.5), ok(0, "read", 2, 3, 4),
                       ok(0, "write", 3, 6, 7), ok(0, "read", 2, 7.1, 7.3), info(2, "write", 2, 7.5, 8)))


def test_crashed_process_is_an_info_op():
    # p1 invokes write 2 and never completes: it may take effect any time later, or never.
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2), ok(0, "read", 1, 4, 5), ok(0, "read", 2, 60, 61)))
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2), ok(0, "read", 1, 60, 61)))
    assert not valid(h(ok(0, "write", 1, 0, 1), info(1, "write", 2, 2), ok(0, "read", 2, 4, 5), ok(0, "read", 1, 6, 7)))


def test_info_cas_may_or_may_not_have_happened():
    base = [ok(0, "write", 1, 0, 1), info(1, "cas", [1, 2], 2, 3)]
    assert valid(h(*base, ok(0, "read", 2, 4, 5)))
    assert valid(h(*base, ok(0, "read", 1, 4, 5)))
    assert not valid(h(ok(0, "write", 1, 0, 1), info(1, "cas", [5, 2], 2, 3), ok(0, "read", 2, 4, 5)))


def test_info_reads_carry_no_information():
    assert valid(h(ok(0, "write", 1, 0, 1), info(1, "read", 99, 2, 3), ok(0, "read", 1, 4, 5)))


def test_unobserved_info_writes_are_dropped_before_the_search():
    result = check(h(ok(4, "write", 2, 0, 0.2), ok(3, "read", 2, 0.5, 1.5), ok(0, "write", 1, 1.6, 1.8),
                     info(1, "write", 2, 2, 3), info(2, "write", 3, 2, 3), ok(0, "read", 3, 4, 5)))
    # the info write 2 is read only before it was invoked, so nothing can observe it; 3 is read
    assert result["valid"] is True and result["keys"][0]["dropped_info"] == 1 and result["info"] == 2


# ---------------------------------------------------------------- keys, kv, input handling

def test_keys_are_checked_independently():
    history = h(ok(0, "write", 1, 0, 1), ok(1, "read", 1, 2, 3), key="a") + \
        h(ok(2, "write", 2, 0, 1), ok(3, "read", 1, 2, 3), key="b")
    result = check(history)
    assert result["valid"] is False
    verdicts = {k["key"]: k["valid"] for k in result["keys"]}
    assert verdicts == {"a": True, "b": False}
    assert result["counterexample"]["key"] == "b" and 'on key "b"' in result["counterexample"]["summary"]
    # on one key it would be fine (write 2, then write 1): so the keys really are separate
    assert valid([dict(r, key="a") for r in history])


def test_kv_append_and_get():
    assert valid(h(ok(0, "get", None, 0, 1), ok(0, "get", "", 1.5, 1.8), ok(0, "append", "x", 2, 3),
                   ok(1, "append", "y", 4, 7), ok(2, "get", "x", 5, 6), ok(2, "get", "xy", 8, 9),
                   ok(0, "put", "a", 10, 11), ok(0, "append", "b", 12, 13), ok(1, "get", "ab", 14, 15)), "kv")


def test_kv_lost_append_and_wrong_order():
    assert not valid(h(ok(0, "append", "x", 0, 1), ok(0, "append", "y", 2, 3), ok(1, "get", "x", 4, 5)), "kv")
    assert not valid(h(ok(0, "append", "x", 0, 1), ok(0, "append", "y", 2, 3), ok(1, "get", "yx", 4, 5)), "kv")
    assert valid(h(ok(0, "append", "x", 0, 3), ok(1, "append", "y", 1, 2), ok(2, "get", "yx", 4, 5)), "kv")


def test_kv_info_append():
    base = [ok(0, "append", "x", 0, 1), info(1, "append", "y", 2, 3)]
    assert valid(h(*base, ok(0, "get", "x", 4, 5), ok(0, "get", "xy", 6, 7)), "kv")
    assert not valid(h(*base, ok(0, "get", "xy", 4, 5), ok(0, "get", "x", 6, 7)), "kv")
    assert not valid(h(*base, ok(0, "get", "xyy", 4, 5)), "kv")


def test_other_records_are_ignored():
    history = [{"kind": "meta", "suite": "x"},
               {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill", "value": "n1", "time": 0.5},
               {"kind": "server", "f": "roles", "node": "n1", "value": {}, "time": 0.6}] + \
        h(ok(0, "write", 1, 0, 1), ok(1, "read", 1, 2, 3))
    result = check(history)
    assert result["valid"] is True and result["ops"] == 2 and result["processes"] == 2


def test_without_times_the_record_order_is_real_time():
    history = [{k: v for k, v in r.items() if k != "time"} for r in
               h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))]
    assert valid(history) is False
    history = [{k: v for k, v in r.items() if k != "time"} for r in
               h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 5), ok(1, "read", 1, 3, 4))]
    assert valid(history) is True


def test_equal_times_keep_the_record_order():
    # write 2 completes at t=2 and the read is invoked at t=2, after it in the history: the
    # write came first (Jepsen's order), so reading 1 is stale.
    history = h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 1, 2), ok(1, "read", 1, 2, 3))
    assert [r["time"] for r in history] == [0, 1, 1, 2, 2, 3]
    assert valid(history) is False
    swapped = history[:3] + [history[4], history[3], history[5]]  # read invoked just before
    assert valid(swapped) is True


@pytest.mark.parametrize("history, message", [
    ([{"kind": "client", "process": 0, "type": "ok", "f": "read", "value": 1}], "without an open invoke"),
    ([{"kind": "client", "process": 0, "type": "invoke", "f": "read"},
      {"kind": "client", "process": 0, "type": "invoke", "f": "read"}], "still open"),
    ([{"kind": "client", "process": 0, "type": "invoke", "f": "incr"}], "not part of the register model"),
    ([{"kind": "client", "process": 0, "type": "done", "f": "read"}], "expected invoke, ok, fail or info"),
    ([{"kind": "client", "process": 0, "type": "invoke", "f": "read", "time": 2},
      {"kind": "client", "process": 0, "type": "ok", "f": "read", "time": 1}], "before its invoke"),
    ([{"kind": "client", "process": 0, "type": "invoke", "f": "cas", "value": 3},
      {"kind": "client", "process": 0, "type": "ok", "f": "cas", "value": 3}], r"not \[old new\]"),
])
def test_malformed_histories_raise_history_error(history, message):
    with pytest.raises(HistoryError, match=message) as err:
        check(history)
    assert err.value.index in (0, len(history) - 1)  # names the record


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model"):
        check([], model="queue")


def hard_kv(n=12):
    """n concurrent appends, a concurrent put "z" and a get "zz" nobody can explain. Plain WGL
    tries the orders of every subset; the anchored get (only "z" can start "zz", and no
    append adds a "z") cuts every branch at once."""
    def op(p, typ, f, value, t):
        return dict(kind="client", process=p, type=typ, f=f, key="k", value=value, time=t)
    history = [op(p, "invoke", "append", chr(97 + p), p) for p in range(n)]
    history += [op(n, "invoke", "put", "z", n), op(n + 1, "invoke", "get", None, n + 0.5)]
    history += [op(p, "ok", "append", chr(97 + p), n + 1 + p) for p in range(n)]
    history += [op(n, "ok", "put", "z", 3 * n), op(n + 1, "ok", "get", "zz", 3 * n + 1)]
    return history


def test_timeout_gives_an_unknown_verdict():
    from tests.unit.test_linearizable_classes import hard_register
    result = check(hard_register(), timeout=0.2)
    assert result["valid"] is None and result["counterexample"] is None and result["keys"][0]["valid"] is None
    assert result["reason"] == "timeout" and result["keys"][0]["reason"] == "timeout"
    assert check(hard_register(6))["valid"] is False  # small enough to decide


def test_what_plain_wgl_finds_hard_the_pruned_search_decides_at_once():
    result = check(hard_kv(), model="kv", timeout=30)
    assert result["valid"] is False
    assert result["counterexample"]["op"]["value"] == "zz"
    assert check(hard_kv(5), model="kv", optimize=False)["valid"] is False


# ---------------------------------------------------------------- a brute-force oracle

def _oracle(history, model):
    """Every order of every subset of the info ops, straight from the definition."""
    pending, ops = {}, []
    for r in history:
        if r["type"] == "invoke":
            pending[r["process"]] = r
            continue
        inv = pending.pop(r["process"])
        ops.append((inv, r))
    ops += [(inv, None) for inv in pending.values()]
    items = []
    for inv, comp in ops:
        typ = comp["type"] if comp else "info"
        if typ == "fail":
            continue
        reads = inv["f"] in ("read", "get")
        items.append({"f": inv["f"], "key": inv["key"], "must": typ == "ok", "call": inv["time"],
                      "ret": comp["time"] if typ == "ok" else math.inf,
                      "value": (comp["value"] if typ == "ok" else "*any*") if reads else inv["value"]})
    init = None if model == "register" else ""

    def step(state, o):
        f, v = o["f"], o["value"]
        if f in ("read", "get"):
            want = "" if (model == "kv" and v is None) else v
            return state if v == "*any*" or state == want else "*no*"
        if f in ("write", "put"):
            return v
        if f == "append":
            return state + v
        return v[1] if state == v[0] else "*no*"

    def lin(ops):
        n = len(ops)
        dead = set()

        def go(done, state):
            if all(done >> k & 1 or not ops[k]["must"] for k in range(n)):
                return True
            if (done, state) in dead:
                return False
            for k in range(n):
                if done >> k & 1:
                    continue
                if any(not done >> j & 1 and ops[j]["ret"] < ops[k]["call"] for j in range(n)):
                    continue
                new = step(state, ops[k])
                if new != "*no*" and go(done | 1 << k, new):
                    return True
            dead.add((done, state))
            return False
        return go(0, init)

    keys = {}
    for o in items:
        keys.setdefault(o["key"], []).append(o)
    return all(lin(k) for k in keys.values())


def _random_history(rng, model, n_ops, procs, keys=(None, None, "k")):
    t, out, busy, pids, count = 0, [], {}, list(range(procs)), 0
    reads = [None, 0, 1, 2] if model == "register" else [None, "", "x", "xy", "yx", "a", "ax", "b"]
    while count < n_ops or busy:
        slot = rng.randrange(procs)
        p = pids[slot]
        t += 1
        if p in busy:
            inv = busy.pop(p)
            typ = rng.choices(["ok", "info", "fail", "crash"], [65, 15, 15, 5])[0]
            if typ == "crash":
                pids[slot] += procs
                continue
            rec = dict(inv, type=typ, time=t)
            if inv["f"] in ("read", "get"):
                rec["value"] = rng.choice(reads) if typ == "ok" else None
            out.append(rec)
        elif count < n_ops:
            count += 1
            if model == "register":
                f = rng.choice(["read", "read", "write", "cas"])
                v = {"read": None, "write": rng.randrange(3), "cas": [rng.choice([None, 0, 1, 2]), rng.randrange(3)]}[f]
            else:
                f = rng.choice(["get", "get", "put", "append"])
                v = {"get": None, "put": rng.choice(["a", "b", ""]), "append": rng.choice(["x", "y"])}[f]
            busy[p] = dict(kind="client", process=p, f=f, key=rng.choice(keys), value=v,
                           type="invoke", time=t)
            out.append(busy[p])
    return out


def _verdicts(history, model):
    """The fast search, the plain one (no pruning, no info dropping) and the oracle."""
    return (check(history, model=model, timeout=None)["valid"],
            check(history, model=model, timeout=None, optimize=False)["valid"],
            _oracle(history, model))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), model=st.sampled_from(["register", "kv"]),
       n_ops=st.integers(1, 8), procs=st.integers(1, 4), timed=st.booleans())
def test_checker_agrees_with_a_brute_force_oracle(seed, model, n_ops, procs, timed):
    history = _random_history(random.Random(seed), model, n_ops, procs)
    want = _oracle(history, model)
    if not timed:  # the record order alone must give the same answer
        history = [{k: v for k, v in r.items() if k != "time"} for r in history]
    assert check(history, model=model)["valid"] is want
    assert check(history, model=model, optimize=False)["valid"] is want


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), model=st.sampled_from(["register", "kv"]),
       n_ops=st.integers(4, 24), procs=st.integers(3, 10), keys=st.integers(1, 3))
def test_many_clients_info_ops_and_keys_agree_with_the_oracle(seed, model, n_ops, procs, keys):
    """Mostly invalid histories (reads return random values): many clients per key, info and
    crashed ops, up to three keys, each key small enough for the brute force."""
    history = _random_history(random.Random(seed), model, n_ops, procs, keys=[f"k{i}" for i in range(keys)])
    fast, plain, want = _verdicts(history, model)
    assert fast is plain is want


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(2, 12), procs=st.integers(1, 4),
       info_rate=st.sampled_from([0.0, 0.1, 0.3]), values=st.sampled_from([2, 3, None]))
def test_checker_agrees_with_the_oracle_on_generated_histories(seed, n_ops, procs, info_rate, values):
    rng = random.Random(seed)
    history = register_history(n_ops, procs, info_rate, seed=seed, values=values, fail_rate=0.1)
    if rng.random() < 0.6:  # often make one read wrong
        reads = [r for r in history if r["type"] == "ok" and r["f"] == "read"]
        if reads:
            rng.choice(reads)["value"] = rng.choice([None, 0, 1, 2])
    assert check(history)["valid"] is _oracle(history, "register")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), model=st.sampled_from(["register", "kv"]), n_ops=st.integers(2, 60),
       procs=st.integers(1, 10), info_rate=st.sampled_from([0.0, 0.05, 0.1]),
       values=st.sampled_from([None, 2, 4]), keys=st.sampled_from([None, 2]),
       damage=st.sampled_from(["none", "stale", "never", "random"]), append_rate=st.sampled_from([0.6, 0.95]))
def test_the_fast_search_and_the_plain_search_agree(seed, model, n_ops, procs, info_rate, values, keys, damage,
                                                     append_rate):
    """Every optimisation (pruning, forced reads, dead-state merging, dropped info ops, the
    anchored kv gets) against plain WGL with its cache, on the same inputs: none may change
    a verdict."""
    if model == "kv":
        history = kv_history(n_ops, procs, info_rate, seed=seed, keys=keys or 1, append_rate=append_rate,
                             values=values)
    else:
        history = register_history(n_ops, procs, info_rate, seed=seed, values=values, keys=keys)
    rng = random.Random(seed)
    if damage == "stale":
        history = stale_read(history, seed) or history
    elif damage == "never":
        history = corrupt_read(history, seed) or history
    elif damage == "random":
        reads = [r for r in history if r["type"] == "ok" and r["f"] in ("read", "get")]
        if reads:
            r = rng.choice(reads)
            r["value"] = rng.choice([None, 1, 2, 3]) if model == "register" else (r["value"] or "")[:-1] + "<1>"
    fast = check(history, model=model, timeout=None, all_keys=True)
    plain = check(history, model=model, timeout=None, all_keys=True, optimize=False)
    assert fast["valid"] is plain["valid"]
    assert [k["valid"] for k in fast["keys"]] == [k["valid"] for k in plain["keys"]]
    if damage == "none":
        assert fast["valid"] is True


# ---------------------------------------------------------------- generated histories

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 150), procs=st.integers(1, 12),
       info_rate=st.sampled_from([0.0, 0.05, 0.2]), values=st.sampled_from([None, 2, 5]),
       keys=st.sampled_from([None, 3]), cas_rate=st.sampled_from([0.0, 0.3]))
def test_generated_register_histories_are_valid_and_a_wrong_read_is_not(seed, n_ops, procs, info_rate,
                                                                        values, keys, cas_rate):
    history = register_history(n_ops, procs, info_rate, seed=seed, values=values, keys=keys, cas_rate=cas_rate)
    assert check(history)["valid"] is True
    broken = corrupt_read(history, seed)
    if broken is not None:
        result = check(broken)
        assert result["valid"] is False
        assert result["counterexample"]["op"]["value"] == NEVER


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 120), procs=st.integers(1, 8),
       info_rate=st.sampled_from([0.0, 0.05, 0.2]))
def test_generated_kv_histories_are_valid_and_a_wrong_get_is_not(seed, n_ops, procs, info_rate):
    history = kv_history(n_ops, procs, info_rate, seed=seed)
    assert check(history, model="kv")["valid"] is True
    broken = corrupt_read(history, seed)
    if broken is not None:
        assert check(broken, model="kv")["valid"] is False
