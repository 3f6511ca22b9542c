"""Issue 13's "done when", verdicts only: generated Jepsen EDN histories of every class, valid
by construction or with one injected violation, checked through ``check.py`` as a user would.
Nothing here measures time; tests/unit/test_linearizable_speed.py holds the time and memory
bounds on the same classes."""
import json

import pytest

from check import main  # app/check.py
from valkey_lab.checkers.linearizable import check
from valkey_lab.history.edn import write_edn
from valkey_lab.history.gen import (NEVER, corrupt_read, independent, kv_history, register_history,
                                    stale_read)

# name -> (model, make(seed), extra check.py arguments); an --independent class is generated
# keyed, damaged, then written in Jepsen's independent form (``as_given``)
CLASSES = {
    "register 8 clients 200 ops": ("register", lambda s: register_history(200, 8, 0.05, seed=s), []),
    "kv 8 clients 300 ops 3 keys": ("kv", lambda s: kv_history(300, 8, 0.05, seed=s, keys=3), []),
    "kv 50 clients 2000 ops 10 keys": ("kv", lambda s: kv_history(2000, 50, 0.05, seed=s, keys=10), []),
    "independent register 20 clients 1000 ops 5 keys": (
        "register", lambda s: register_history(1000, 20, 0.05, seed=s, keys=5), ["--independent"]),
    "kv 50 clients 2000 ops 3 keys": ("kv", lambda s: kv_history(2000, 50, 0.05, seed=s, keys=3), []),
    # Porcupine's c50-bad.txt is not here offline: the same shape (append-heavy, 50 clients, 10 keys)
    "append-heavy kv 50 clients 2000 ops 10 keys": (
        "kv", lambda s: kv_history(2000, 50, 0.0, seed=s, keys=10, append_rate=0.95, read_rate=0.45), []),
}
SEEDS = (1, 2)


def broken(history, seed, how):
    return stale_read(history, seed) if how == "stale" else corrupt_read(history, seed)


def as_given(history, extra):
    return independent(history) if "--independent" in extra else history


def changed_record(before, after):
    (i,) = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    return after[i]


def cx_names(cx, record):
    """The counterexample's op is this record's (times went through EDN's nanoseconds)."""
    op = cx["op"]
    return (op["process"], op["f"]) == (record["process"], record["f"]) and abs(op["complete"] - record["time"]) < 1e-6


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("seed", SEEDS)
def test_valid_by_construction_is_linearizable(tmp_path, capsys, name, seed):
    model, make, extra = CLASSES[name]
    path = tmp_path / "history.edn"
    write_edn(as_given(make(seed), extra), path)
    assert main([str(path), "--model", model, "--jobs", "1", *extra]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("how", ["stale", "never"])
def test_one_injected_violation_is_found_and_names_the_blocked_op(tmp_path, name, seed, how):
    model, make, extra = CLASSES[name]
    history = make(seed)
    bad = broken(history, seed, how)
    assert bad is not None
    path, out = tmp_path / "history.edn", tmp_path / "r.json"
    write_edn(as_given(bad, extra), path)
    assert main([str(path), "--model", model, "--json", str(out), *extra]) == 1
    cx = json.loads(out.read_text())["results"][0]["counterexample"]
    record = changed_record(history, bad)
    assert cx_names(cx, record), (cx["summary"], record)
    assert cx["summary"].startswith(cx["blocked"] + " (ok, ")
    if how == "never":
        assert NEVER in cx["summary"]


def test_the_jobs_setting_never_changes_a_verdict(tmp_path):
    history = kv_history(2000, 50, 0.05, seed=3, keys=10)
    bad = stale_read(history, 3)
    for h, code in ((history, 0), (bad, 1)):
        write_edn(h, tmp_path / "h.edn")
        for jobs in ("1", "2"):
            for more in ([], ["--all-keys"]):
                assert main([str(tmp_path / "h.edn"), "--model", "kv", "--jobs", jobs, *more]) == code


def test_all_keys_reports_every_invalid_key():
    history = register_history(600, 10, 0.05, seed=4, keys=3)
    bad = history
    for s in range(3):  # one stale read per key
        keyed = [r for r in bad if r.get("key") == s]
        worse = stale_read(keyed, s)
        changed = changed_record(keyed, worse)
        bad = [dict(r, value=changed["value"]) if r is next(x for x, y in zip(keyed, worse) if x != y) else r
               for r in bad]
    first = check(bad, jobs=1)
    assert first["valid"] is False
    assert sum(k["valid"] is False for k in first["keys"]) >= 1
    every = check(bad, jobs=1, all_keys=True)
    assert [k["valid"] for k in every["keys"]] == [False, False, False]
    assert all(k.get("reason") is None for k in every["keys"])


# ---------------------------------------------------------------- Knossos' conventions

def test_init_0_and_nil_read_unknown(tmp_path, capsys):
    history = register_history(300, 8, 0.05, seed=8, init=0, unknown_reads=0.2)
    assert any(r["type"] == "ok" and r["f"] == "read" and r["value"] is None for r in history)
    assert any(r["type"] == "ok" and r["f"] == "read" and r["value"] == 0 for r in history)
    path = tmp_path / "h.edn"
    write_edn(history, path)
    assert main([str(path), "--init", "0", "--nil-read", "unknown"]) == 0
    assert main([str(path), "--init", "0"]) == 1        # a nil read while the register held a number
    assert main([str(path), "--nil-read", "unknown"]) == 1  # reads of 0 nobody wrote
    bad = stale_read(history, 8)
    write_edn(bad, path)
    assert main([str(path), "--init", "0", "--nil-read", "unknown"]) == 1
    capsys.readouterr()


def test_a_register_starting_at_0_read_before_any_write():
    h = [{"process": 0, "type": "invoke", "f": "read", "value": None, "time": 0},
         {"process": 0, "type": "ok", "f": "read", "value": 0, "time": 1},
         {"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 2},
         {"process": 0, "type": "ok", "f": "write", "value": 1, "time": 3},
         {"process": 1, "type": "invoke", "f": "read", "value": None, "time": 4},
         {"process": 1, "type": "ok", "f": "read", "value": None, "time": 5}]
    assert check(h)["valid"] is False
    assert check(h[:4], init=0)["valid"] is True
    assert check(h, init=0)["valid"] is False
    assert check(h, init=0, nil_read="unknown")["valid"] is True
    assert check(h, init=0, nil_read="unknown")["unknown_reads"] == 1


# ---------------------------------------------------------------- Jepsen's independent keys

def test_independent_histories_need_the_flag_and_the_history_says_so(tmp_path, capsys):
    history = independent(register_history(400, 10, 0.05, seed=8, keys=4))
    path = tmp_path / "h.edn"
    write_edn(history, path)
    assert main([str(path), "--independent"]) == 0
    capsys.readouterr()
    code = main([str(path)])
    out = capsys.readouterr().out
    hints = [line for line in out.splitlines() if "--independent" in line]
    assert len(hints) == 1 and "[k v]" in hints[0]
    assert code in (0, 1)  # read as one register of tuples: whatever it says, the hint is there


def test_independent_keys_are_checked_apart():
    h = [{"process": 0, "type": "invoke", "f": "write", "value": [1, 5], "time": 0},
         {"process": 0, "type": "ok", "f": "write", "value": [1, 5], "time": 1},
         {"process": 1, "type": "invoke", "f": "write", "value": [2, 6], "time": 2},
         {"process": 1, "type": "ok", "f": "write", "value": [2, 6], "time": 3},
         {"process": 2, "type": "invoke", "f": "read", "value": [1, None], "time": 4},
         {"process": 2, "type": "ok", "f": "read", "value": [1, 5], "time": 5},
         {"process": 3, "type": "invoke", "f": "cas", "value": [2, [6, 7]], "time": 6},
         {"process": 3, "type": "ok", "f": "cas", "value": [2, [6, 7]], "time": 7}]
    result = check(h, independent=True, all_keys=True)
    assert result["valid"] is True and [k["key"] for k in result["keys"]] == [1, 2]
    assert result["hint"] is None
    # without the flag: one register holding tuples, read [1 5] after [2 6] was written
    plain = check(h)
    assert plain["valid"] is False and "--independent" in plain["hint"]
    stale = h[:5] + [dict(h[5], value=[1, None])] + h[6:]
    result = check(stale, independent=True)
    assert result["valid"] is False and result["counterexample"]["key"] == 1
    assert result["counterexample"]["op"]["value"] is None


def test_independent_kv_and_bad_tuples():
    from valkey_lab.checkers.linearizable import HistoryError
    h = [{"process": 0, "type": "invoke", "f": "append", "value": ["a", "x"], "time": 0},
         {"process": 0, "type": "ok", "f": "append", "value": ["a", "x"], "time": 1},
         {"process": 1, "type": "invoke", "f": "get", "value": ["a", None], "time": 2},
         {"process": 1, "type": "ok", "f": "get", "value": ["a", "x"], "time": 3}]
    assert check(h, "kv", independent=True)["valid"] is True
    with pytest.raises(HistoryError, match=r"--independent"):
        check(h, "kv")  # not strings: the message says what to do
    with pytest.raises(HistoryError, match=r"\[k v\] tuple"):
        check(h + [{"process": 2, "type": "invoke", "f": "put", "value": "y", "time": 4}], "kv", independent=True)


# ---------------------------------------------------------------- the budget

def hard_register(n=20):
    """n concurrent writes of 0..n-1, n concurrent reads that saw each value once, then reads
    of 0 and then 1 after everything completed: both 0 and 1 would have to be written last.
    The search learns that only after trying the other writes in every subset (2^(n-2))."""
    h, t = [], 0.0

    def at(rec):
        nonlocal t
        t += 0.001
        h.append(dict(rec, time=t))
    for p in range(n):
        at({"process": p, "type": "invoke", "f": "write", "value": p})
    for p in range(n, 2 * n):
        at({"process": p, "type": "invoke", "f": "read", "value": None})
    for p in range(n):
        at({"process": p, "type": "ok", "f": "write", "value": p})
    for p in range(n, 2 * n):
        at({"process": p, "type": "ok", "f": "read", "value": (p * 7 + 3) % n})
    for v in (0, 1):
        at({"process": 2 * n, "type": "invoke", "f": "read", "value": None})
        at({"process": 2 * n, "type": "ok", "f": "read", "value": v})
    return h


def test_a_history_too_hard_for_the_budget_is_exit_3_and_one_line(tmp_path, capsys):
    path = tmp_path / "hard.edn"
    write_edn(hard_register(), path)
    assert main([str(path), "--timeout", "0.5", "--jobs", "1"]) == 3
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 1 and "unknown (timeout)" in lines[0] and "hard.edn" in lines[0], out.out
    assert "Traceback" not in out.err and out.err == ""


def test_a_history_too_big_for_the_memory_budget_is_exit_3_and_one_line(tmp_path, capsys):
    path = tmp_path / "hard.edn"
    write_edn(hard_register(), path)
    assert main([str(path), "--max-memory", "5M", "--timeout", "60", "--jobs", "1"]) == 3
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 1 and "unknown (memory)" in lines[0], out.out
    assert "Traceback" not in out.err


def test_the_budget_holds_in_worker_processes_too(tmp_path, capsys):
    path = tmp_path / "hard.edn"
    two = hard_register() + [dict(r, process=r["process"] + 100, key="b") for r in hard_register()]
    write_edn([dict(r, key=r.get("key", "a")) for r in two], path)
    assert main([str(path), "--max-memory", "12M", "--timeout", "60", "--jobs", "2"]) == 3
    assert "unknown (memory)" in capsys.readouterr().out
    assert main([str(path), "--timeout", "0.5", "--jobs", "2"]) == 3
    assert "unknown (timeout)" in capsys.readouterr().out


def test_the_api_reports_the_reason():
    result = check(hard_register(), timeout=0.3)
    assert result["valid"] is None and result["reason"] == "timeout" and result["counterexample"] is None
    assert result["keys"][0]["reason"] == "timeout"
    result = check(hard_register(), max_memory=3 << 20)
    assert result["valid"] is None and result["reason"] == "memory"
