"""The checker's bounds and small helpers, exactly: the budget, the address-space cap, the
garbage collector left as found, the independent-tuple hint, the worker buckets."""
import gc
import os
import subprocess
import sys
import threading

import pytest

from valkey_lab.checkers import budget as B
from valkey_lab.checkers import linearizable as L


def test_rss_is_the_resident_set():
    before = B.rss()
    block = bytearray(64 << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    assert B.rss() - before > 48 << 20
    del block


def test_budget_says_why(monkeypatch):
    stop = threading.Event()
    sizes = iter([100 << 20, 100 << 20, 102 << 20, 102 << 20])
    monkeypatch.setattr(B, "rss", lambda: next(sizes))  # resident sizes, as the budget sees them
    assert B.Budget(None, None).exceeded() is None
    assert B.Budget(0.0, None).exceeded() == "timeout"  # a deadline long past
    budget = B.Budget(None, 1 << 20, stop)  # from 100 MB: 101 MB at most
    assert budget.exceeded() is None
    assert budget.exceeded() == "memory"
    stop.set()
    assert budget.exceeded() == "stopped"  # stopped wins: the work no longer matters


def test_the_address_space_cap_turns_a_runaway_into_memory_error():
    code = ("import sys; sys.path.insert(0, 'app'); from valkey_lab.checkers.budget import limit_address_space\n"
            "limit_address_space(64 << 20)\n"
            "try:\n    x = bytearray(512 << 20)\nexcept MemoryError:\n    print('MemoryError')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "MemoryError", run.stderr


def test_check_leaves_the_garbage_collector_as_it_found_it():
    history = [{"process": 0, "type": "invoke", "f": "write", "value": 1}, {"process": 0, "type": "ok", "f": "write"}]
    assert gc.isenabled()
    assert L.check(history)["valid"] is True and gc.isenabled()
    gc.disable()
    try:
        assert L.check(history)["valid"] is True and not gc.isenabled()
        with pytest.raises(L.HistoryError):
            L.check([{"process": 0, "type": "ok", "f": "write"}])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(L.HistoryError):
        L.check([{"process": 0, "type": "ok", "f": "write"}])
    assert gc.isenabled()


@pytest.mark.parametrize("values, looks", [
    ([("write", [1, 5]), ("read", [1, None]), ("read", None)], True),
    ([("cas", [1, [2, 3]]), ("write", [2, 4])], True),
    ([("cas", [1, 2])], False),                      # a plain cas [old new] is a pair too
    ([("cas", [1, [2, 3]])], False),                 # nothing but cas: no evidence
    ([("write", [1, 5]), ("write", 3)], False),
    ([("write", [1, 5]), ("cas", [1, 5])], False),   # a cas whose new value is no [old new]
    ([("write", {"key": 1, "value": 2})], True),     # Jepsen's tagged tuple, read as a map
    ([("write", [1, 2, 3])], False),
    ([], False),
])
def test_what_looks_like_jepsen_independent_tuples(values, looks):
    assert L._looks_independent(values) is looks


def test_split_and_its_error():
    assert L._split([1, None], 0) == (1, None) and L._split((2, [3, 4]), 0) == (2, [3, 4])
    assert L._split({"key": "a", "value": 7}, 0) == ("a", 7)
    with pytest.raises(L.HistoryError, match=r"got \[1, 2, 3\]"):
        L._split([1, 2, 3], 0)  # a list, but no pair
    with pytest.raises(L.HistoryError) as err:
        L._split("x", 5)
    assert str(err.value) == "with --independent every value is a [k v] tuple, got 'x'" and err.value.index == 5


def test_keys_go_to_the_lightest_worker_biggest_first():
    tasks = [(i, f"k{i}", [None] * size) for i, size in enumerate((5, 1, 4, 3, 3))]
    buckets = L._lpt(tasks, 2)
    assert [[t[0] for t in b] for b in buckets] == [[0, 4], [2, 3, 1]]  # loads 8 and 8
    assert L._lpt(tasks[:1], 4) == [[tasks[0]]]


def test_tileable():
    pieces = {"<1>", "<12>", "ab"}
    lens = sorted({len(p) for p in pieces})
    assert L._tileable("", pieces, lens) and L._tileable("<1><12>ab", pieces, lens)
    assert not L._tileable("<1><1", pieces, lens) and not L._tileable("never-written", pieces, lens)
    assert L._tileable("<12><1>", pieces, [3, 4])


def test_vm_size_is_the_address_space_in_pages():
    def pages():  # the first field of statm: the whole address space, in pages
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    before, size, after = pages(), B._vm_size(), pages()
    assert min(before, after) <= size <= max(before, after) and size % B._PAGE == 0


@pytest.mark.parametrize("soft, hard, wanted", [
    (-1, -1, (1000 + 24, -1)),              # no limit yet: current size plus the extra
    (-1, 1010, (1010, 1010)),               # never above the hard limit
    (2000, -1, (1024, -1)),                 # a lower cap than the soft limit replaces it
    (1024, -1, None),                       # equal: nothing to do
    (500, -1, None),                        # already tighter: kept
])
def test_the_address_space_cap_is_current_size_plus_extra(monkeypatch, soft, hard, wanted):
    # The resource module is faked: a real setrlimit would cap the test process itself.
    calls = []
    monkeypatch.setattr(B.resource, "RLIM_INFINITY", -1)
    monkeypatch.setattr(B.resource, "getrlimit", lambda which: (soft, hard) if which == B.resource.RLIMIT_AS else None)
    monkeypatch.setattr(B.resource, "setrlimit", lambda which, limits: calls.append((which, limits)))
    monkeypatch.setattr(B, "_vm_size", lambda: 1000)
    B.limit_address_space(24)
    assert calls == ([] if wanted is None else [(B.resource.RLIMIT_AS, wanted)])


def test_the_address_space_cap_gives_up_quietly(monkeypatch):
    calls = []
    monkeypatch.setattr(B, "_vm_size", lambda: None)  # no /proc: no cap, no error
    monkeypatch.setattr(B.resource, "setrlimit", lambda *a: calls.append(a))
    B.limit_address_space(24)
    assert calls == []

    def refuse(*a):
        raise ValueError("not allowed")
    monkeypatch.setattr(B, "_vm_size", lambda: 1000)
    monkeypatch.setattr(B.resource, "getrlimit", lambda which: (B.resource.RLIM_INFINITY, B.resource.RLIM_INFINITY))
    monkeypatch.setattr(B.resource, "setrlimit", refuse)
    B.limit_address_space(24)  # the kernel said no: the budget's own checks still hold


class _Conn:
    """The worker's end of the pipe, in this process (mutants of _worker must meet a test)."""
    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        self.closed = True


def _register(key, *reads):
    ops = [{"process": 0, "type": "invoke", "f": "write", "value": [key, 1]},
           {"process": 0, "type": "ok", "f": "write", "value": [key, 1]}]
    for v in reads:
        ops += [{"process": 1, "type": "invoke", "f": "read", "value": [key, None]},
                {"process": 1, "type": "ok", "f": "read", "value": [key, v]}]
    return ops


def _tasks(history):
    ops, *_ = L._collect(history, "register", True, "value")
    parts = {}
    for o in ops:
        parts.setdefault(o.key, []).append(o)
    return [(i, kops[0].key, kops) for i, kops in enumerate(parts.values())]


@pytest.fixture
def gc_kept():
    yield
    gc.enable()  # the worker turns it off for its own (forked) process


def test_a_worker_sends_each_key_then_why_it_stopped(monkeypatch, gc_kept):
    capped = []
    monkeypatch.setattr(L, "limit_address_space", capped.append)
    tasks = _tasks(_register("a", 1) + _register("b", 1))
    conn, stop = _Conn(), threading.Event()
    L._worker(tasks, "register", None, True, None, 1 << 20, False, stop, conn)
    assert [i for i, _ in conn.sent] == [0, 1, None] and conn.sent[-1] == (None, None)
    assert all(entry["valid"] is True for i, entry in conn.sent[:2]) and conn.closed and not stop.is_set()
    assert capped == [(1 << 20) + L._AS_SLACK]


def test_a_worker_that_finds_a_bad_key_stops_the_others(monkeypatch, gc_kept):
    monkeypatch.setattr(L, "limit_address_space", lambda extra: pytest.fail("no memory bound was given"))
    tasks = _tasks(_register("a", 2) + _register("b", 1))
    conn, stop = _Conn(), threading.Event()
    L._worker(tasks, "register", None, True, None, None, False, stop, conn)
    assert conn.sent[0][1]["valid"] is False and conn.sent[-1] == (None, "skipped") and stop.is_set()
    conn, stop = _Conn(), threading.Event()
    L._worker(tasks, "register", None, True, None, None, True, stop, conn)  # all keys: both decided
    assert [e["valid"] for _, e in conn.sent[:2]] == [False, True] and conn.sent[-1] == (None, None)
    assert not stop.is_set()


@pytest.mark.parametrize("error, said", [(MemoryError(), "memory"), (KeyError("x"), "error: KeyError: 'x'")])
def test_a_worker_reports_memory_and_bugs_as_messages(monkeypatch, gc_kept, error, said):
    def boom(*a):
        raise error
    monkeypatch.setattr(L, "_decide", boom)
    conn = _Conn()
    L._worker(_tasks(_register("a", 1)), "register", None, True, None, None, False, threading.Event(), conn)
    assert conn.sent == [(None, said)] and conn.closed


def test_workers_agree_with_one_process_and_raise_a_workers_bug(monkeypatch):
    history = _register("a", 1) + _register("b", 2) + _register("c", 1)
    one = L.check(history, independent=True, all_keys=True)
    two = L.check(history, independent=True, all_keys=True, jobs=2)
    assert one["valid"] is two["valid"] is False
    assert [k["valid"] for k in one["keys"]] == [k["valid"] for k in two["keys"]] == [True, False, True]
    assert L.check(_register("a", 1) + _register("b", 1), independent=True, jobs=2)["valid"] is True

    def boom(*a):
        raise KeyError("x")
    monkeypatch.setattr(L, "_decide", boom)  # inherited by the forked workers
    with pytest.raises(RuntimeError, match="linearizability worker: KeyError: 'x'"):
        L.check(history, independent=True, jobs=2)


@pytest.mark.parametrize("record, client", [
    ({"kind": "client", "process": "w1"}, True),
    ({"kind": "nemesis", "process": 3}, False),   # a lab record that names its kind is what it says
    ({"kind": "server", "process": 0}, False),
    ({"process": 3}, True),                      # Jepsen: an int process is a client
    ({"process": "nemesis"}, False),
    ({"process": True}, False),                  # bool is an int in Python, not a process
    ({}, False),
])
def test_what_counts_as_a_client_record(record, client):
    assert L._is_client(record) is client


def test_the_independent_hint_reads_only_client_values():
    history = [{"process": "nemesis", "type": "info", "f": "start", "value": 3},
               {"process": 0, "type": "invoke", "f": "put", "value": [1, "a"]},
               {"process": 0, "type": "ok", "f": "put", "value": [1, "a"]}]
    with pytest.raises(L.HistoryError, match="is not a string.*--independent"):
        L.check(history, model="kv")  # the nemesis's plain value is no client's: the hint stands
    history.append({"kind": "client", "process": "w", "type": "invoke", "f": "put", "value": "x"})
    with pytest.raises(L.HistoryError) as err:
        L.check(history, model="kv")  # a client value that is no tuple: no hint
    assert "--independent" not in str(err.value)


def test_a_worker_reports_what_one_process_reports_and_heeds_its_budget(gc_kept):
    history = _register("a", 1) + _register("b", 2)
    history += [{"process": 9, "type": "invoke", "f": "write", "value": ["a", 7]},
                {"process": 9, "type": "info", "f": "write", "value": ["a", 7]}]
    conn = _Conn()
    L._worker(_tasks(history), "register", None, True, None, None, True, threading.Event(), conn)
    assert [e for _, e in conn.sent[:-1]] == L.check(history, independent=True, all_keys=True)["keys"]
    stopped = threading.Event()
    stopped.set()  # another worker already settled the verdict
    conn = _Conn()
    L._worker(_tasks(history), "register", None, True, None, None, True, stopped, conn)
    assert conn.sent[-1] == (None, "stopped") and len(conn.sent) < 3
    conn = _Conn()
    L._worker(_tasks(history), "register", None, True, 0.0, None, True, threading.Event(), conn)
    assert conn.sent[-1] == (None, "timeout")  # a deadline long past


def _fake_workers(monkeypatch, *scripts):
    """Forked workers that each run one script (a function of the worker's arguments), so
    that how the parent reads them can be tested message by message."""
    import itertools
    turn = itertools.count()

    def worker(bucket, model, init, optimize, deadline, max_memory, all_keys, stop, conn):
        scripts[bucket[0][0]](bucket, max_memory, all_keys, stop, conn)
        conn.close()
    monkeypatch.setattr(L, "_worker", worker)
    return [(i, f"k{i}", [None] * (10 - i)) for i in range(len(scripts))], turn


def _says(why):
    return lambda bucket, mem, all_keys, stop, conn: conn.send((None, why))


@pytest.mark.parametrize("whys, reason", [
    (("stopped", "skipped"), "skipped"), (("timeout", "memory"), "memory"), (("stopped", "timeout"), "timeout"),
    ((None, "stopped"), "stopped"), ((None, None), None),
])
def test_the_parent_gives_the_gravest_reason_a_worker_stopped_for(monkeypatch, whys, reason):
    tasks, _ = _fake_workers(monkeypatch, *map(_says, whys))
    assert L._in_workers(tasks, 2, "register", None, True, None, None, False, lambda i, e: None) == reason


def test_a_worker_that_dies_without_a_word_ran_out_of_memory(monkeypatch):
    tasks, _ = _fake_workers(monkeypatch, lambda *a: os._exit(0), _says(None))
    assert L._in_workers(tasks, 2, "register", None, True, None, None, False, lambda i, e: None) == "memory"


@pytest.mark.parametrize("all_keys, last", [(False, "stopped"), (True, "ran on")])
def test_an_invalid_key_stops_the_other_workers_unless_all_keys_are_wanted(monkeypatch, all_keys, last):
    def invalid(bucket, mem, all_keys, stop, conn):
        conn.send((bucket[0][0], {"valid": False, "share": mem}))
        conn.send((None, None))

    def waits(bucket, mem, all_keys, stop, conn):
        conn.send((None, "stopped" if stop.wait(3) else "ran on"))
    tasks, _ = _fake_workers(monkeypatch, invalid, waits)
    got = {}
    why = L._in_workers(tasks, 2, "register", None, True, None, 1000, all_keys, got.__setitem__)
    assert got == {0: {"valid": False, "share": 500}}  # the memory budget shared between the workers
    assert why == (last if last == "stopped" else None)


def test_a_worker_that_never_answers_is_given_up_on_two_seconds_past_the_deadline(monkeypatch):
    import time as clock
    tasks, _ = _fake_workers(monkeypatch, lambda *a: clock.sleep(5), _says(None))
    # deadline 0.0 on the monotonic clock: long past, so the parent stops waiting at once
    assert L._in_workers(tasks, 2, "register", None, True, 0.0, None, False, lambda i, e: None) == "timeout"
