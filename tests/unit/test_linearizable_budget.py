"""The checker's bounds and small helpers, exactly: the budget, the address-space cap, the
garbage collector left as found, the independent-tuple hint, the worker buckets."""
import gc
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
