"""The linearizability checker, pinned down exactly: verdicts, counterexample contents, error
messages, the info-dropping rule and the result fields (the mutation run holds these to it).
tests/unit/test_linearizable.py checks the search against an oracle; this file checks what
the checker says, word for word."""
import math
import types

import pytest

from valkey_lab.checkers import linearizable as L
from valkey_lab.checkers.linearizable import HistoryError, check


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


def rec(p, typ, f, value=None, **extra):
    return dict({"kind": "client", "process": p, "type": typ, "f": f, "value": value}, **extra)


def op_dict(process, f, value, invoke, complete, index, type="ok", key=None):
    return {"process": process, "type": type, "f": f, "key": key, "value": value,
            "invoke": invoke, "complete": complete, "index": index}


def rows(cx):
    return [(r["role"], r["process"], r["f"], r["value"]) for r in cx["ops"]]


def without_seconds(result):
    assert isinstance(result["seconds"], float) and 0 <= result["seconds"] < 5
    return {k: v for k, v in result.items() if k != "seconds"}


# ---------------------------------------------------------------- whole results

def test_stale_read_whole_result():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5)))
    w1, w2, r1 = op_dict(0, "write", 1, 0.0, 1.0, 0), op_dict(0, "write", 2, 2.0, 3.0, 2), op_dict(1, "read", 1, 4.0, 5.0, 4)
    cx = {"key": None,
          "summary": "p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: p0 write 1 (ok, invoked 0s, completed 1s) "
                     "sets 1, then p0 write 2 (ok, invoked 2s, completed 3s) overwrites it, all before p1 read 1 "
                     "is invoked, and no other op sets it, so p1 read 1 is impossible.",
          "blocked": "p1 read 1", "op": r1,
          "states": [{"order": ["p0 write 1", "p0 write 2"], "state": 2, "linearized": 2, "impossible": "p1 read 1"}],
          "concurrent": [],
          "ops": [dict(w1, role="before"), dict(w2, role="before"), dict(r1, role="failed")]}
    assert without_seconds(result) == {
        "valid": False, "reason": None, "model": "register", "ops": 3, "processes": 2, "info": 0, "fail": 0,
        "unknown_reads": 0, "counterexample": cx, "hint": None,
        "keys": [{"key": None, "ops": 3, "info": 0, "dropped_info": 0, "valid": False, "counterexample": cx}]}
    assert round(result["seconds"], 6) == result["seconds"]


def test_valid_whole_result_counts_fail_info_and_processes():
    history = h(ok(0, "write", 1, 0, 1), fail(1, "write", 5, 1.5, 2), info(2, "write", 3, 2.5, 3),
                info(3, "read", None, 2.6, 2.7), ok(4, "read", 3, 4, 5), fail(1, "read", None, 6, 7),
                info(5, "cas", [3, 9], 8))
    result = check(history)
    assert without_seconds(result) == {
        "valid": True, "reason": None, "model": "register", "ops": 7, "processes": 6, "info": 3, "fail": 2,
        "unknown_reads": 0, "counterexample": None, "hint": None,
        # the info read is gone before the count, the info cas to 9 (nobody needs 9) is dropped
        "keys": [{"key": None, "ops": 4, "info": 2, "dropped_info": 1, "valid": True}]}


def test_kv_model_whole_result():
    history = h(ok(0, "put", "a", 0, 1), ok(1, "append", "b", 2, 3), ok(2, "get", "ab", 4, 5),
                ok(2, "get", "a", 6, 7), key="k")
    result = check(history, model="kv")
    assert result["valid"] is False and result["model"] == "kv"
    cx = result["counterexample"]
    assert cx["key"] == "k"
    # only the put starts "a": once it is in, the state must stay a prefix of "a" until that get
    assert cx["summary"] == ('p2 get a (ok, invoked 6s, completed 7s) cannot be linearized on key "k": '
                             "after p0 put a, p1 append b the key holds ab and no put left can start a, "
                             "so p2 get a is impossible.")
    assert cx["states"] == [{"order": ["p0 put a", "p1 append b"], "state": "ab",
                             "linearized": 2, "impossible": "p2 get a"}]
    assert cx["op"] == op_dict(2, "get", "a", 6.0, 7.0, 6, key="k") and cx["blocked"] == "p2 get a"
    assert rows(cx) == [("before", 0, "put", "a"), ("before", 1, "append", "b"), ("failed", 2, "get", "a")]
    # the plain search goes on to the get "ab" and stops at the return of the get "a"
    plain = check(history, model="kv", optimize=False)["counterexample"]
    assert plain["summary"] == ('p2 get a (ok, invoked 6s, completed 7s) cannot be linearized on key "k": '
                                "after p0 put a, p1 append b, p2 get ab the key holds ab, so p2 get a is impossible.")
    assert result["keys"] == [{"key": "k", "ops": 4, "info": 0, "dropped_info": 0, "valid": False,
                               "counterexample": cx}]


def test_kv_missing_key_reads_as_empty_and_gets_carry_values():
    assert check(h(ok(0, "get", None, 0, 1), ok(0, "append", "x", 2, 3), ok(1, "get", "x", 4, 5)), "kv")["valid"] is True
    result = check(h(ok(0, "append", "x", 0, 1), ok(1, "get", None, 2, 3)), "kv")
    assert result["valid"] is False
    assert result["counterexample"]["summary"] == (
        'p1 get nil (ok, invoked 2s, completed 3s) cannot be linearized: after p0 append x the key holds x '
        "and no put left can start \"\", so p1 get nil is impossible.")
    assert result["counterexample"]["states"][0]["state"] == "x"


def test_kv_append_onto_put_and_prefix_limit():
    # the get "ab" must see the put then the append; a second append must come after the get
    assert check(h(ok(0, "put", "a", 0, 1), ok(1, "append", "b", 0.5, 3), ok(2, "append", "c", 0.6, 6),
                   ok(3, "get", "ab", 4, 5), ok(3, "get", "abc", 7, 8)), "kv")["valid"] is True
    assert check(h(ok(0, "put", "a", 0, 1), ok(1, "append", "b", 0.5, 3), ok(2, "append", "c", 0.6, 6),
                   ok(3, "get", "ab", 4, 5), ok(3, "get", "acb", 7, 8)), "kv")["valid"] is False
    # appends before a put that restarts the value: the get "zq" only fits when q lands after z
    assert check(h(ok(0, "append", "q", 0, 10), ok(1, "put", "z", 1, 2), ok(2, "get", "zq", 11, 12)), "kv")["valid"] is True
    assert check(h(ok(0, "append", "q", 0, 1), ok(1, "put", "z", 2, 3), ok(2, "get", "zq", 4, 5)), "kv")["valid"] is False
    # a get the puts cannot start: only appends may run before it
    assert check(h(ok(0, "append", "x", 0, 5), ok(1, "append", "y", 0.1, 5), ok(3, "put", "q", 0.2, 5),
                   ok(2, "get", "yx", 1, 2), ok(2, "get", "q", 6, 7)), "kv")["valid"] is True
    assert check(h(ok(0, "append", "x", 0, 5), ok(1, "append", "y", 0.1, 5), ok(3, "put", "q", 0.2, 5),
                   ok(2, "get", "yx", 1, 2), ok(2, "get", "yxq", 6, 7)), "kv")["valid"] is False


def test_concurrent_ops_and_several_states():
    history = h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(3, "cas", [2, 3], 3.5, 100),
                ok(4, "cas", [2, 4], 3.6, 100), ok(1, "read", 1, 4, 5))
    cx = check(history)["counterexample"]  # write 2 returned before the read was invoked: no search
    assert cx["summary"].startswith("p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: p0 write 1 ")
    assert cx["states"] == [{"order": ["p0 write 1", "p0 write 2"], "state": 2, "linearized": 2,
                             "impossible": "p1 read 1"}]
    result = check(history, optimize=False)
    cx = result["counterexample"]
    assert cx["summary"] == (
        "p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: the orders that get furthest leave "
        "the register holding 3, 4 or 2 (after p0 write 1, p0 write 2, p3 cas 2->3 the register holds 3), "
        "so p1 read 1 is impossible; concurrent: p4 cas 2->4 [ok].")
    assert cx["states"] == [
        {"order": ["p0 write 1", "p0 write 2", "p3 cas 2->3"], "state": 3, "linearized": 3, "impossible": "p1 read 1"},
        {"order": ["p0 write 1", "p0 write 2", "p4 cas 2->4"], "state": 4, "linearized": 3, "impossible": "p1 read 1"},
        {"order": ["p0 write 1", "p0 write 2"], "state": 2, "linearized": 2, "impossible": "p1 read 1"}]
    assert cx["concurrent"] == [op_dict(4, "cas", [2, 4], 3.6, 100.0, 5)]
    assert rows(cx) == [("before", 0, "write", 1), ("before", 0, "write", 2), ("before", 3, "cas", [2, 3]),
                        ("before", 4, "cas", [2, 4]), ("failed", 1, "read", 1)]
    assert [r["index"] for r in cx["ops"]] == [0, 2, 4, 5, 6]


def test_at_most_four_states_and_eight_concurrent_ops():
    cases = [ok(3 + i, "cas", [2, 10 + i], 3.5 + i / 100, 100) for i in range(10)]
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), *cases, ok(1, "read", 1, 4, 5)), optimize=False)
    cx = result["counterexample"]
    concurrent = ", ".join(f"p{3 + i} cas 2->{10 + i} [ok]" for i in range(2, 10))
    assert cx["summary"] == (
        "p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: the orders that get furthest leave "
        "the register holding 10, 11, 12 or 13 (after p0 write 1, p0 write 2, p3 cas 2->10 the register holds 10), "
        f"so p1 read 1 is impossible; concurrent: {concurrent}.")
    assert [s["state"] for s in cx["states"]] == [10, 11, 12, 13]
    assert [(c["process"], c["value"]) for c in cx["concurrent"]] == [(3 + i, [2, 10 + i]) for i in range(2, 10)]
    # ops shown in an order are not repeated as concurrent
    assert [(r["role"], r["process"]) for r in cx["ops"]] == (
        [("before", 0), ("before", 0)] + [("before", p) for p in (3, 4, 5, 6)]
        + [("concurrent", p) for p in range(7, 13)] + [("failed", 1)])


def test_long_orders_are_cut_to_the_last_four_ops():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(0, "write", 3, 4, 5),
                     ok(0, "write", 4, 6, 7), ok(0, "write", 5, 8, 9), ok(1, "read", 1, 10, 11)), optimize=False)
    cx = result["counterexample"]
    assert cx["summary"] == (
        "p1 read 1 (ok, invoked 10s, completed 11s) cannot be linearized: after ... p0 write 2, p0 write 3, "
        "p0 write 4, p0 write 5 the register holds 5, so p1 read 1 is impossible.")
    assert cx["states"] == [{"order": ["p0 write 2", "p0 write 3", "p0 write 4", "p0 write 5"], "state": 5,
                             "linearized": 5, "impossible": "p1 read 1"}]
    assert rows(cx) == [("before", 0, "write", v) for v in (2, 3, 4, 5)] + [("failed", 1, "read", 1)]


def test_read_of_the_initial_value_is_explained_from_the_initial_state():
    result = check(h(ok(1, "read", 1, 0, 1), ok(0, "write", 1, 2, 3)))
    cx = result["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok, invoked 0s, completed 1s) cannot be linearized: from the initial "
                             "state the register holds nil, so p1 read 1 is impossible.")
    assert cx["states"] == [{"order": [], "state": None, "linearized": 0, "impossible": "p1 read 1"}]
    assert rows(cx) == [("failed", 1, "read", 1)]


# ---------------------------------------------------------------- nothing sets the value

def test_nothing_sets_the_value_a_read_needs():
    result = check(h(ok(0, "write", 1, 0, 1), ok(1, "read", [7, "a b"], 2, 3), key=["k", 1]))
    assert result["valid"] is False
    cx = result["counterexample"]
    failed = op_dict(1, "read", [7, "a b"], 2.0, 3.0, 2, key=["k", 1])
    assert cx == {"key": ["k", 1],
                  "summary": 'p1 read [7 "a b"] (ok, invoked 2s, completed 3s) cannot be linearized on key '
                             '["k", 1]: it needs the register to hold [7 "a b"], but no op sets [7 "a b"] and the '
                             "register starts as nil.",
                  "blocked": 'p1 read [7 "a b"]', "op": failed, "states": [], "concurrent": [],
                  "ops": [dict(failed, role="failed")]}
    assert result["keys"] == [{"key": ["k", 1], "ops": 2, "info": 0, "dropped_info": 0, "valid": False,
                               "counterexample": cx}]


def test_nothing_sets_the_value_a_cas_needs():
    result = check(h(ok(0, "write", 1, 0, 1), ok(2, "read", 1, 1.5, 1.6), ok(1, "cas", [7, 8], 2, 3)))
    cx = result["counterexample"]
    assert cx["summary"] == ("p1 cas 7->8 (ok, invoked 2s, completed 3s) cannot be linearized: it needs the register "
                             "to hold 7, but no op sets 7 and the register starts as nil.")
    assert cx["op"] == op_dict(1, "cas", [7, 8], 2.0, 3.0, 4)
    # the earliest return among the hopeless ops is named
    result = check(h(ok(1, "read", 9, 0, 10), ok(2, "read", 8, 1, 2)))
    assert result["counterexample"]["op"]["value"] == 8


def test_nothing_makes_up_the_value_a_kv_get_needs():
    result = check(h(ok(0, "put", "a", 0, 1), ok(1, "get", "zz", 2, 3), key="k"), "kv", init="q")
    cx = result["counterexample"]
    assert cx["summary"] == ('p1 get zz (ok, invoked 2s, completed 3s) cannot be linearized on key "k": it needs the '
                             "key to hold zz, but no put invoked before it returned starts zz and no appends make it "
                             "up and the key starts as q.")
    assert cx["key"] == "k" and cx["blocked"] == "p1 get zz"


# ---------------------------------------------------------------- one search decides and explains

def test_a_pruned_step_is_reported_at_the_op_it_strands():
    # write 2 is still running when the read of 1 starts, but a read of 2 finished first:
    # the search stops at the write that would lose value 1 for good, and names the read
    # that needs 1 (not the write), with the reason
    base = [ok(0, "write", 1, 0, 1), ok(3, "write", 2, 2, 10), ok(2, "read", 2, 3, 4)]
    result = check(h(*base, ok(1, "read", 1, 5, 6)))
    cx = result["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok, invoked 5s, completed 6s) cannot be linearized: after p0 write 1, "
                             "p3 write 2 the register holds 2 and nothing left sets 1 again, so p1 read 1 is impossible.")
    assert cx["states"] == [{"order": ["p0 write 1", "p3 write 2"], "state": 2, "linearized": 2,
                             "impossible": "p1 read 1"}]
    assert rows(cx) == [("before", 0, "write", 1), ("before", 3, "write", 2), ("failed", 1, "read", 1)]
    result = check(h(*base, ok(1, "cas", [1, 3], 5, 6)))
    assert result["counterexample"]["summary"] == (
        "p1 cas 1->3 (ok, invoked 5s, completed 6s) cannot be linearized: after p0 write 1, p3 write 2 the "
        "register holds 2 and nothing left sets 1 again, so p1 cas 1->3 is impossible.")


def test_pruned_report_with_many_writes():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(0, "write", 3, 4, 5),
                     ok(0, "write", 4, 6, 7), ok(0, "write", 1, 8, 9), ok(3, "write", 6, 10, 14),
                     ok(2, "read", 6, 11, 11.5), ok(1, "read", 1, 12, 13)))
    cx = result["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok, invoked 12s, completed 13s) cannot be linearized: after ... p0 write 3, "
                             "p0 write 4, p0 write 1, p3 write 6 the register holds 6 and nothing left sets 1 again, "
                             "so p1 read 1 is impossible.")
    # the state list keeps the last four ops the search placed plus the write it stopped at
    assert cx["states"] == [{"order": ["p0 write 2", "p0 write 3", "p0 write 4", "p0 write 1", "p3 write 6"],
                             "state": 6, "linearized": 6, "impossible": "p1 read 1"}]


def test_a_value_overwritten_before_the_read_is_explained_without_a_search():
    # the initial value
    cx = check(h(ok(0, "write", 1, 0, 1), ok(1, "read", None, 2, 3)))["counterexample"]
    assert cx["summary"] == ("p1 read nil (ok, invoked 2s, completed 3s) cannot be linearized: the register starts as "
                             "nil, then p0 write 1 (ok, invoked 0s, completed 1s) overwrites it, all before p1 read nil "
                             "is invoked, and no op sets it, so p1 read nil is impossible.")
    assert cx["states"] == [{"order": ["p0 write 1"], "state": 1, "linearized": 1, "impossible": "p1 read nil"}]
    # two writes of 1, each overwritten; the one overwritten last is named
    cx = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(2, "write", 1, 4, 5), ok(3, "cas", [1, 7], 6, 7),
                 ok(1, "read", 1, 8, 9)))["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok, invoked 8s, completed 9s) cannot be linearized: p2 write 1 (ok, invoked "
                             "4s, completed 5s) sets 1, then p3 cas 1->7 (ok, invoked 6s, completed 7s) overwrites it, all "
                             "before p1 read 1 is invoked, and so were the 1 other ops that set it, so p1 read 1 is "
                             "impossible.")
    assert rows(cx) == [("before", 2, "write", 1), ("before", 3, "cas", [1, 7]), ("failed", 1, "read", 1)]
    assert cx["op"]["index"] == 8 and cx["blocked"] == "p1 read 1" and cx["concurrent"] == []


def test_what_the_static_check_leaves_to_the_search():
    # an overwrite still running when the read starts; an info write of the value; a write of
    # the value invoked before the read returned: the search decides, and agrees
    cases = [
        (h(ok(0, "write", 1, 0, 1), ok(2, "write", 2, 2, 6), ok(1, "read", 1, 5, 7)), True),
        (h(ok(0, "write", 1, 0, 1), ok(2, "write", 2, 2, 3), info(3, "write", 1, 2.5), ok(1, "read", 1, 5, 7)), True),
        (h(ok(0, "write", 1, 0, 1), ok(2, "write", 2, 2, 3), ok(3, "write", 1, 6, 8), ok(1, "read", 1, 5, 7)), True),
        (h(ok(0, "write", 1, 0, 1), ok(2, "write", 2, 2, 3), ok(3, "write", 1, 8, 9), ok(1, "read", 1, 5, 7)), False),
        (h(ok(0, "write", 1, 0, 1), ok(2, "cas", [1, 1], 2, 3), ok(1, "read", 1, 5, 7)), True),
        (h(ok(0, "write", 1, 0, 1), ok(2, "cas", [1, 2], 2, 3), ok(1, "read", 1, 5, 7)), False),
        (h(ok(2, "write", 2, 2, 3), ok(1, "read", None, 5, 7)), False),
        (h(fail(2, "write", 2, 2, 3), ok(1, "read", None, 5, 7)), True),
    ]
    for history, want in cases:
        assert check(history)["valid"] is want, history
        assert check(history, optimize=False)["valid"] is want, history
    assert L._overwritten(ops_of(cases[3][0]), None) == {2: (0, 1, 1)}
    assert L._overwritten(ops_of(cases[6][0]), None) == {1: (None, 0, 1)}
    assert L._overwritten(ops_of(cases[0][0]), None) == {}


def test_one_search_per_key(monkeypatch):
    calls = []
    real = L._search

    def spy(ops, model, init, prune=True):
        calls.append((len(ops), model, init, prune))
        return (yield from real(ops, model, init, prune))

    monkeypatch.setattr(L, "_search", spy)
    history = h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))
    assert check(history, optimize=False, init=7)["valid"] is False
    history = h(ok(0, "write", 1, 0, 1), ok(3, "write", 2, 2, 10), ok(2, "read", 2, 3, 4), ok(1, "read", 1, 5, 6))
    assert check(history)["valid"] is False
    assert check(h(ok(0, "write", 1, 0, 1), key="a") + h(ok(1, "read", 2, 2, 3), key="b"), all_keys=True)["valid"] is False
    assert calls == [(3, "register", 7, False), (4, "register", None, True), (1, "register", None, True),
                     (1, "register", None, True)]


def test_states_merged_as_unobservable_are_shown_as_they_are():
    # 5 is never read: the search keeps it as "a value nobody can see", the report shows 5
    cx = check(h(ok(0, "write", 1, 0, 1), ok(3, "write", 5, 2, 10), ok(4, "write", 2, 2.1, 10), ok(2, "read", 2, 3, 4),
                 ok(1, "read", 1, 5, 6)))["counterexample"]
    assert cx["states"][0]["state"] == 5 and "the register holds 5 and nothing left sets 1 again" in cx["summary"]
    # kv: "ax" is no prefix of any get's value; the report rebuilds it
    cx = check(h(ok(0, "put", "a", 0, 1), ok(1, "append", "x", 2, 3), ok(2, "get", "a", 4, 5)), "kv")["counterexample"]
    assert cx["states"][0]["state"] == "ax"
    cx = check(h(ok(0, "append", "y", 0, 1), ok(1, "append", "x", 2, 3), ok(2, "get", "zz", 4, 5),
                 ok(3, "put", "z", 0, 4.5)), "kv")["counterexample"]
    assert cx["op"]["value"] == "zz" and cx["states"][0]["state"] in ("z", "zx", "zy", "zyx")


def test_kv_gets_that_only_one_put_starts_must_extend_each_other():
    # after the put "p", gets "pa" and "pb" both need appends from "p": impossible. The anchors
    # stop before "pb" (which of the two is wrong is for the search to find), so the search
    # runs on to the return of the get that cannot follow
    history = h(ok(0, "put", "p", 0, 1), ok(1, "append", "a", 2, 10), ok(2, "append", "b", 2, 10),
                ok(3, "get", "pa", 3, 9), ok(4, "get", "pb", 3, 9.5))
    cx = check(history, "kv")["counterexample"]
    assert cx["blocked"] == "p4 get pb"
    assert cx["summary"] == ("p4 get pb (ok, invoked 3s, completed 9.5s) cannot be linearized: the orders that get "
                             "furthest leave the key holding pab or pa (after p0 put p, p1 append a, p3 get pa, "
                             "p2 append b the key holds pab), so p4 get pb is impossible.")
    assert check(history, "kv", optimize=False)["valid"] is False
    # "pa" then "pab" is fine
    assert check(h(ok(0, "put", "p", 0, 1), ok(1, "append", "a", 2, 10), ok(2, "append", "b", 2, 10),
                   ok(3, "get", "pa", 3, 9), ok(4, "get", "pab", 3, 9.5)), "kv")["valid"] is True


# ---------------------------------------------------------------- showing values and spans

def ops_of(history, model="register"):
    return L._collect(history, model)[0]


def test_show():
    assert L._show(None) == "nil"
    assert L._show("abc") == "abc" and L._show("a-b_c.d:e/f9") == "a-b_c.d:e/f9"
    assert L._show("") == '""' and L._show("a b") == '"a b"' and L._show("x,y") == '"x,y"'
    assert L._show([1, "a b", None, ["c"]]) == '[1 "a b" nil [c]]' and L._show(()) == "[]"
    assert L._show(2.5) == "2.5" and L._show(True) == "True"
    assert L._show_value("cas", [1, None]) == "1->nil" and L._show_value("cas", (1, "a b")) == '1->"a b"'
    assert L._show_value("write", [1, 2]) == "[1 2]" and L._show_value("cas", [1, 2, 3]) == "[1 2 3]"


def test_span():
    o = L._Op()
    o.type, o.invoke, o.complete = "ok", None, None
    assert L._span(o) == ""
    o.invoke = 1.25
    assert L._span(o) == ", invoked 1.25s, completed"
    o.complete = 2.0000001
    assert L._span(o) == ", invoked 1.25s, completed 2s"
    o.type = "info"
    assert L._span(o) == ", invoked 1.25s, info at 2s"
    o.complete = None
    assert L._span(o) == ", invoked 1.25s, never completed"


def test_op_as_dict_and_describe():
    (o,) = ops_of([rec(3, "invoke", "write", {"b": [1, math.inf], 2: (3, 4)}, key="k", time=1.5),
                   rec(3, "ok", "write", None, key="k", time=2)])
    assert o.as_dict() == {"process": 3, "type": "ok", "f": "write", "key": "k",
                           "value": {"b": [1, None], "2": [3, 4]}, "invoke": 1.5, "complete": 2.0, "index": 0}
    assert o.describe() == 'p3 write {\'b\': [1, inf], 2: (3, 4)}'


def test_jsonable_and_freeze():
    assert L._jsonable([1, (2, 3), {"a": (4,)}]) == [1, [2, 3], {"a": [4]}]
    assert L._jsonable({1: [1.5, -math.inf], "x": None}) == {"1": [1.5, None], "x": None}
    assert L._jsonable(math.nan) is None and L._jsonable(2.5) == 2.5 and L._jsonable("s") == "s"
    assert L._freeze([1, [2, {"b": 1, "a": [3]}]]) == (1, (2, (("a", (3,)), ("b", 1))))
    assert L._freeze({2: "x"}) == L._freeze({"2": "x"}) == (("2", "x"),)
    assert L._freeze("s") == "s"


def test_values_compare_structurally():
    assert check(h(ok(0, "write", {"a": [1, 2], "b": None}, 0, 1), ok(1, "read", {"b": None, "a": [1, 2]}, 2, 3)))["valid"] is True
    assert check(h(ok(0, "write", {"a": 1}, 0, 1), ok(1, "read", {"b": 1}, 2, 3)))["valid"] is False
    assert check(h(ok(0, "write", {"a": 1}, 0, 1), ok(1, "read", {"a": 2}, 2, 3)))["valid"] is False
    assert check(h(ok(0, "write", [1, [2]], 0, 1), ok(1, "read", (1, (2,)), 2, 3)))["valid"] is True
    result = check(h(ok(0, "write", [1, 2.5], 0, 1), ok(0, "write", {"x": [math.inf]}, 2, 3), ok(1, "read", [1, 2.5], 4, 5)))
    cx = result["counterexample"]
    assert cx["op"]["value"] == [1, 2.5]
    assert cx["states"][0]["state"] == [["x", [None]]]  # the state as the search compares it
    assert cx["summary"].startswith("p1 read [1 2.5] (ok, invoked 4s, completed 5s) cannot be linearized: p0 write [1 2.5] ")


# ---------------------------------------------------------------- keys

def test_unhashable_keys_are_grouped_by_their_json():
    history = (h(ok(0, "write", 1, 0, 1), key={"b": 1, "a": 2}) + h(ok(1, "read", 1, 2, 3), key={"a": 2, "b": 1})
               + h(ok(2, "read", 1, 4, 5), key=["x", {3}]))
    result = check(history)
    assert [(k["key"], k["ops"], k["valid"]) for k in result["keys"]] == [
        ({"b": 1, "a": 2}, 2, True), (["x", {3}], 1, False)]
    assert L._hashable_key(["x", {3}]) == '["x", "{3}"]'
    assert L._hashable_key({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert L._hashable_key(("t", 1)) == ("t", 1) and L._hashable_key(None) is None
    assert L._hashable_key([1]) != L._hashable_key([2])


def test_keys_that_are_not_json_are_shown_as_strings():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5), key=b"k"))
    assert ' on key "b\'k\'": p0 write 1 (ok' in result["counterexample"]["summary"]
    result = check(h(ok(1, "read", 1, 4, 5), key=b"k"))
    assert ' on key "b\'k\'": it needs' in result["counterexample"]["summary"]


def test_each_key_gets_its_own_entry_and_the_first_counterexample_wins():
    history = (h(ok(0, "write", 1, 0, 1), ok(1, "read", 2, 2, 3), key="a")
               + h(ok(2, "write", 1, 0, 1), ok(3, "read", 1, 2, 3), key="b")
               + h(ok(4, "write", 1, 0, 1), ok(5, "read", None, 2, 3), key="c"))
    result = check(history, all_keys=True)
    assert result["ops"] == 6 and result["processes"] == 6
    assert [(k["key"], k["ops"], k["valid"], "counterexample" in k) for k in result["keys"]] == [
        ("a", 2, False, True), ("b", 2, True, False), ("c", 2, False, True)]
    assert result["counterexample"] is result["keys"][0]["counterexample"]
    assert result["counterexample"]["key"] == "a"
    # without all_keys the first invalid key ends the check: the others are skipped
    result = check(history)
    assert [(k["key"], k["valid"], k.get("reason")) for k in result["keys"]] == [
        ("a", False, None), ("b", None, "skipped"), ("c", None, "skipped")]
    assert result["valid"] is False and result["reason"] is None and result["counterexample"]["key"] == "a"
    assert result["keys"][1] == {"key": "b", "ops": 2, "info": 0, "dropped_info": None, "valid": None,
                                 "reason": "skipped"}


# ---------------------------------------------------------------- the info-dropping rule

def test_dropped_info_counts():
    def dropped(*ops, model="register"):
        result = check(h(*ops), model)
        return result["valid"], result["keys"][0]["dropped_info"]
    # nobody ever needs 9
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "write", 9, 2)) == (True, 1)
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "cas", [1, 9], 2)) == (True, 1)
    # the read of 9 completes after the invoke: kept
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "write", 9, 2), ok(2, "read", 9, 1, 3)) == (True, 0)
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "cas", [1, 9], 2), ok(2, "read", 9, 3, 4)) == (True, 0)
    # ...before it: dropped
    assert dropped(ok(0, "write", 9, 0, 1), ok(2, "read", 9, 1.5, 1.8), info(1, "write", 9, 2)) == (True, 1)
    # a cas expecting 9 (even an info one) keeps the info write of 9; dropping that cas drops the write too
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "write", 9, 2), info(2, "cas", [9, 5], 3), ok(3, "read", 5, 4, 5)) == (True, 0)
    assert dropped(ok(0, "write", 1, 0, 1), info(1, "write", 9, 2), info(2, "cas", [9, 5], 3)) == (True, 2)
    # kv: a put is kept when a later get starts with it, an append when a later get contains it
    assert dropped(ok(0, "put", "a", 0, 1), info(1, "put", "b", 2), ok(2, "get", "bx", 3, 4),
                   info(3, "append", "x", 2.5), model="kv") == (True, 0)
    assert dropped(ok(0, "put", "a", 0, 1), info(1, "put", "b", 2), ok(2, "get", "ab", 3, 4),
                   info(3, "append", "c", 2.5), model="kv") == (False, 2)
    assert dropped(ok(0, "put", "a", 0, 1), info(1, "append", "", 2), ok(2, "get", "a", 3, 4), model="kv") == (True, 1)
    assert dropped(ok(0, "put", "a", 0, 1), ok(2, "get", "ab", 1.5, 1.8), info(1, "append", "b", 2),
                   ok(2, "get", "a", 3, 4), model="kv") == (False, 1)


# ---------------------------------------------------------------- _collect: input handling

@pytest.mark.parametrize("history, model, message, index", [
    ([{"kind": "meta"}, 5], "register", "record 1 is not an object", 1),
    ([rec(True, "invoke", "read")], "register", "client op has process True, expected an integer", 0),
    ([{"kind": "meta"}, rec("p1", "invoke", "read")], "register", "client op has process 'p1', expected an integer", 1),
    ([rec(0, "done", "read")], "register", "client op has type 'done', expected invoke, ok, fail or info", 0),
    ([rec(0, "invoke", "incr")], "register", "op f='incr' is not part of the register model (expected read, write, cas)", 0),
    ([rec(0, "invoke", "read")], "kv", "op f='read' is not part of the kv model (expected get, put, append)", 0),
    ([{"kind": "meta"}, rec(0, "invoke", "read"), rec(0, "invoke", "write", 1)], "register",
     "process 0 invokes write while its op from record 1 is still open (one op per process)", 2),
    ([rec(0, "invoke", "read"), rec(0, "ok", "read"), rec(0, "fail", "write", 1)], "register",
     "process 0 completes fail write without an open invoke", 2),
    ([rec(3, "invoke", "read"), rec(3, "ok", "write", 1)], "register",
     "process 3 completes write but invoked read (record 0)", 1),
    ([rec(3, "invoke", "read", key="a"), rec(3, "ok", "read", 1, key="b")], "register",
     "process 3 completes key 'b' but invoked key 'a' (record 0)", 1),
    ([rec(0, "invoke", "read", time=2), rec(0, "ok", "read", time=1.5)], "register",
     "process 0 completes read at 1.5 before its invoke at 2.0", 1),
    ([rec(0, "invoke", "cas", [1, 2, 3]), rec(0, "info", "cas")], "register", "cas value [1, 2, 3] is not [old new]", 0),
    ([rec(0, "invoke", "put", 5)], "kv", "put value 5 is not a string (kv values are strings)", 0),
    ([rec(0, "invoke", "get"), rec(0, "ok", "get", ["x"])], "kv",
     "get value ['x'] is not a string (kv values are strings)", 1),
])
def test_history_errors_exactly(history, model, message, index):
    with pytest.raises(HistoryError) as err:
        check(history, model=model)
    assert str(err.value) == message and err.value.index == index


def test_unknown_model_message():
    with pytest.raises(ValueError) as err:
        check([], model="queue")
    assert str(err.value) == "unknown model 'queue' (expected register or kv)"
    assert not isinstance(err.value, HistoryError)


def test_which_records_are_client_ops():
    plain = [{"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0},
             {"process": 0, "type": "ok", "f": "write", "value": 1, "time": 1},
             {"process": "nemesis", "type": "info", "f": "kill", "time": 1.5},
             {"process": True, "type": "info", "f": "kill", "time": 1.6},
             {"kind": "server", "process": 7, "type": "invoke", "f": "roles", "time": 1.7},
             {"process": 1, "type": "invoke", "f": "read", "time": 2},
             {"process": 1, "type": "ok", "f": "read", "value": 2, "time": 3}]
    result = check(plain)
    assert result["valid"] is False and result["ops"] == 2 and result["processes"] == 2
    assert check(plain[:5])["valid"] is True
    assert check([dict(r, kind="client") for r in plain[:2]])["ops"] == 1


def test_a_completion_without_key_or_value_takes_them_from_the_invoke():
    history = [rec(0, "invoke", "write", 1, key="a", time=0), {"kind": "client", "process": 0, "type": "ok", "f": "write", "time": 1},
               rec(1, "invoke", "read", key="a", time=2), rec(1, "ok", "read", 1, key="a", time=3)]
    assert check(history)["valid"] is True
    # the completion's value is used only when the invoke has none
    history = [rec(0, "invoke", "write", None, time=0), rec(0, "ok", "write", 5, time=1),
               rec(1, "invoke", "write", 1, time=2), rec(1, "ok", "write", 99, time=3),
               rec(2, "invoke", "read", time=4), rec(2, "ok", "read", 1, time=5)]
    assert check(history)["valid"] is True
    assert check(history[:4] + [rec(2, "invoke", "read", time=4), rec(2, "ok", "read", 99, time=5)])["valid"] is False
    assert check(history[:2] + [rec(2, "invoke", "read", time=4), rec(2, "ok", "read", 5, time=5)])["valid"] is True


def test_a_crashed_write_without_value():
    history = [rec(0, "invoke", "write", 1, time=0), rec(0, "ok", "write", 1, time=1),
               rec(1, "invoke", "write", None, time=2), rec(2, "invoke", "read", time=3), rec(2, "ok", "read", None, time=4)]
    result = check(history)
    assert result["valid"] is True and result["info"] == 1 and result["keys"][0]["dropped_info"] == 0


def test_an_op_may_complete_at_its_invoke_time():
    assert check([rec(0, "invoke", "write", 1, time=1), rec(0, "ok", "write", 1, time=1),
                  rec(1, "invoke", "read", time=1), rec(1, "ok", "read", 1, time=1)])["valid"] is True


def test_untimed_and_partly_timed_histories():
    untimed = [{k: v for k, v in r.items() if k != "time"} for r in
               h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))]
    cx = check(untimed)["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok) cannot be linearized: p0 write 1 (ok) sets 1, then p0 write 2 (ok) "
                             "overwrites it, all before p1 read 1 is invoked, and no other op sets it, so p1 read 1 is "
                             "impossible.")
    assert cx["op"] == op_dict(1, "read", 1, None, None, 4)
    # one record without a time: the record order rules, the times that are there are shown
    partly = h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))
    del partly[5]["time"]
    partly[4]["time"] = "soon"
    cx = check(partly)["counterexample"]
    assert cx["op"] == op_dict(1, "read", 1, None, None, 4)
    assert [(r["invoke"], r["complete"]) for r in cx["ops"]] == [(0, 1), (2, 3), (None, None)]
    partly = h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))
    partly[0]["time"] = True  # not a time
    cx = check(partly)["counterexample"]
    assert cx["summary"].startswith("p1 read 1 (ok, invoked 4s, completed 5s) cannot")
    assert cx["op"] == op_dict(1, "read", 1, 4, 5, 4)
    assert [(r["invoke"], r["complete"], r["role"]) for r in cx["ops"]] == [
        (2, 3, "before"), (4, 5, "failed"), (None, 1, "before")]  # rows without an invoke time go last
    partly[5]["time"] = None
    cx = check(partly)["counterexample"]
    assert cx["summary"].startswith("p1 read 1 (ok, invoked 4s, completed) cannot")


def test_rows_without_invoke_times_sort_last_by_index():
    partly = h(ok(0, "write", 1, 0, 1), ok(2, "write", 3, 0.5, 10), ok(0, "write", 2, 2, 3), ok(1, "read", 1, 4, 5))
    partly[0].pop("time")
    partly[1]["time"] = "x"
    cx = check(partly)["counterexample"]
    assert [(r["invoke"], r["index"]) for r in cx["ops"]] == sorted(
        [(r["invoke"], r["index"]) for r in cx["ops"]], key=lambda x: (x[0] is None, x[0] or 0, x[1]))
    assert cx["ops"][-1]["invoke"] is None and cx["ops"][0]["invoke"] is not None


# ---------------------------------------------------------------- timeouts

def test_a_spent_deadline_checks_no_key():
    result = check(h(ok(0, "write", 1, 0, 1), ok(1, "read", 2, 2, 3)), timeout=0)
    assert result["valid"] is None and result["counterexample"] is None
    assert result["reason"] == "timeout"
    assert result["keys"] == [{"key": None, "ops": 2, "info": 0, "dropped_info": None, "valid": None,
                               "reason": "timeout"}]
    assert check(h(ok(0, "write", 1, 0, 1), ok(1, "read", 1, 2, 3)), timeout=-1)["valid"] is None
    assert check(h(ok(0, "write", 1, 0, 1), ok(1, "read", 1, 2, 3)), timeout=30)["valid"] is True


def test_an_unknown_key_and_a_bad_key_give_false():
    history = h(ok(0, "write", 1, 0, 1), ok(1, "read", 2, 2, 3), key="bad") + h(ok(2, "write", 1, 0, 1), key="ok")
    assert check(history, timeout=30)["valid"] is False


def test_identical_crashed_writes_are_tried_in_one_order_only():
    # 16 crashed writes of 2 and 17 reads of 2, each overwritten right after: one write short.
    # Trying every subset of the identical writes would take ages; trying them in invoke
    # order is instant.
    ops = [ok(0, "write", 1, 0, 1)] + [info(10 + i, "write", 2, 1 + i / 100) for i in range(16)]
    for j in range(17):
        ops += [ok(1, "read", 2, 2 + j, 2.5 + j), ok(2, "write", 3, 2.6 + j, 2.9 + j)]
    result = check(h(*ops), timeout=1)
    assert result["valid"] is False and result["keys"][0]["dropped_info"] == 0
    assert result["counterexample"]["summary"] == (
        "p1 read 2 (ok, invoked 18s, completed 18.5s) cannot be linearized: after ... p2 write 3, p25 write 2, "
        "p1 read 2, p2 write 3 the register holds 3 and nothing left sets 2 again, so p1 read 2 is impossible.")


def test_reads_of_the_current_value_are_placed_at_once():
    # 18 concurrent reads of 1 before a stale read: trying them in every order would time out
    ops = [ok(10 + i, "read", 1, 2 + i / 100, 10) for i in range(18)]
    result = check(h(ok(0, "write", 1, 0, 1), *ops, ok(0, "write", 2, 11, 12), ok(1, "read", 1, 13, 14)), timeout=1)
    assert result["valid"] is False
    assert result["counterexample"]["op"]["invoke"] == 13


def test_kv_appends_are_kept_to_prefixes_of_the_next_get():
    # ten concurrent appends that a get saw in reverse order: without the prefix limit the
    # search tries the orders one by one
    n = 10
    ops = [ok(i, "append", chr(97 + i), i / 100, 10) for i in range(n)]
    ops.append(ok(n, "get", "".join(chr(97 + i) for i in reversed(range(n))), 11, 12))
    assert check(h(*ops), "kv", timeout=1)["valid"] is True


def test_an_info_op_left_out_shows_as_concurrent():
    result = check(h(ok(0, "write", 1, 0, 1), ok(0, "write", 2, 2, 3), info(9, "cas", [5, 7], 3.5),
                     ok(1, "read", 1, 4, 5), ok(2, "read", 7, 6, 7)), optimize=False)
    cx = result["counterexample"]
    assert cx["summary"] == ("p1 read 1 (ok, invoked 4s, completed 5s) cannot be linearized: after p0 write 1, "
                             "p0 write 2 the register holds 2, so p1 read 1 is impossible; "
                             "concurrent: p9 cas 5->7 [info].")
    assert cx["concurrent"] == [op_dict(9, "cas", [5, 7], 3.5, None, 4, type="info")]
    assert rows(cx) == [("before", 0, "write", 1), ("before", 0, "write", 2), ("concurrent", 9, "cas", [5, 7]),
                        ("failed", 1, "read", 1)]


def test_untimed_rows_are_sorted_by_the_times_they_have():
    # the record order is the real-time order here; the rows are sorted by the times shown
    history = [rec(0, "invoke", "write", 1, time=5), rec(0, "ok", "write", 1, time=6),
               rec(1, "invoke", "write", 2, time=1), rec(1, "ok", "write", 2, time=2),
               rec(2, "invoke", "write", 3), rec(2, "ok", "write", 3), rec(3, "invoke", "read"), rec(3, "ok", "read", 1)]
    cx = check(history, optimize=False)["counterexample"]
    assert cx["summary"] == ("p3 read 1 (ok) cannot be linearized: after p0 write 1, p1 write 2, p2 write 3 the "
                             "register holds 3, so p3 read 1 is impossible.")
    assert [(r["role"], r["index"], r["invoke"]) for r in cx["ops"]] == [
        ("before", 2, 1), ("before", 0, 5), ("before", 4, None), ("failed", 6, None)]


def test_nothing_sets_a_dict_value():
    result = check(h(ok(1, "read", {"a": 1}, 0, 1)))
    assert result["counterexample"]["summary"] == (
        "p1 read {'a': 1} (ok, invoked 0s, completed 1s) cannot be linearized: it needs the register to hold "
        "{'a': 1}, but no op sets {'a': 1} and the register starts as nil.")


def test_the_pruned_report_blames_the_op_left_needing_the_value_not_the_cas_that_overwrote_it():
    """write 1, then cas 1->2, then a read of 1: the read is impossible, not the cas."""
    from valkey_lab.checkers import linearizable as lin
    h = [{"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": None, "value": 1, "time": 0.0},
         {"kind": "client", "process": 0, "type": "ok", "f": "write", "key": None, "value": 1, "time": 0.1},
         {"kind": "client", "process": 0, "type": "invoke", "f": "cas", "key": None, "value": [1, 2], "time": 0.2},
         {"kind": "client", "process": 0, "type": "ok", "f": "cas", "key": None, "value": [1, 2], "time": 0.3},
         {"kind": "client", "process": 1, "type": "invoke", "f": "read", "key": None, "value": None, "time": 0.4},
         {"kind": "client", "process": 1, "type": "ok", "f": "read", "key": None, "value": 1, "time": 0.5}]
    got = lin.check(h, "register")
    assert got["valid"] is False
    assert got["counterexample"]["op"]["process"] == 1 and got["counterexample"]["op"]["f"] == "read"
