"""SPEED AND MEMORY BOUNDS (timing assertions; leave this file out of mutation runs).

Issue 13's "done when", timed: every class of generated Jepsen EDN history, valid or with one
injected violation, is decided in at most 1 s and 500 MB (peak RSS of a fresh process that
reads the EDN file and checks it); kv with 50 clients on 3 keys in at most 10 s; a history
too hard for the budget ends within it. The check's time is its CPU time: the machine is
shared, and at a load of 20 on 2 CPUs the wall clock says more about the neighbours than
about the checker. The verdicts themselves are asserted in
tests/unit/test_linearizable_classes.py, with no clock."""
import time

import pytest

from tests.unit.test_linearizable_classes import CLASSES, SEEDS, as_given, broken, hard_register
from valkey_lab.bench.linearizability import timed_check
from valkey_lab.checkers.linearizable import check
from valkey_lab.history.edn import write_edn
from valkey_lab.history.gen import register_history

FAST = {name: (1.0, 500) for name in CLASSES}
FAST["kv 50 clients 2000 ops 3 keys"] = (10.0, 500)


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("how", ["valid", "stale", "never"])
def test_each_class_is_decided_within_its_bounds(tmp_path, name, how):
    model, make, extra = CLASSES[name]
    seconds, mb = FAST[name]
    for seed in SEEDS:
        history = make(seed)
        if how != "valid":
            history = broken(history, seed, how)
        path = tmp_path / f"{seed}.edn"
        write_edn(as_given(history, extra), path)
        got = timed_check(path, model=model, independent="--independent" in extra, jobs=1)
        assert got["valid"] is (how == "valid"), got
        assert got["cpu_seconds"] <= seconds and got["peak_mb"] <= mb, got


def test_the_budget_ends_a_too_hard_history_in_time():
    started = time.monotonic()
    result = check(hard_register(22), timeout=1.0)
    took = time.monotonic() - started
    assert result["valid"] is None and result["reason"] == "timeout"
    assert took < 1.5, took


def test_5000_register_ops_10_processes_5_percent_info():
    history = register_history(5000, 10, 0.05, seed=11)
    started = time.process_time()
    assert check(history, timeout=30)["valid"] is True
    assert time.process_time() - started < 1.5
