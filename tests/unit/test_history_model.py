"""The history model (pairing, filters, JSONL, the live Recorder) and ``H``, the tiny
builder of hand-written histories the checker tests share."""
import json
import threading

import pytest

from valkey_lab.history.model import (HistoryError, Op, Recorder, as_ops, client_ops, dump_jsonl, fault_window,
                                      load_jsonl, meta_of, nemesis_ops, pair, server_ops)


class H:
    """Builds a history: ``H().write(0, "k", "v", at=0, ok_at=1).read(1, "k", "v", at=2, ok_at=3).records``.

    Each client op is invoked ``at`` and completes at whichever of ``ok_at``/``fail_at``/
    ``info_at`` is given (none: it never completes). ``lane`` and ``shard`` go on both
    records; other keywords (``replicated``, ``error``) on the completion only.
    """

    def __init__(self):
        self._recs = []
        self._meta = None

    def op(self, p, f, key, value=None, at=0.0, ok_at=None, fail_at=None, info_at=None, result=None,
           lane=None, shard=None, **done):
        both = {k: v for k, v in (("lane", lane), ("shard", shard)) if v is not None}
        self._recs.append({"kind": "client", "process": p, "type": "invoke", "f": f, "key": key, "value": value,
                           "time": at, **both})
        for kind, t in (("ok", ok_at), ("fail", fail_at), ("info", info_at)):
            if t is not None:
                self._recs.append({"kind": "client", "process": p, "type": kind, "f": f, "key": key,
                                   "value": result, "time": t, **both, **done})
        return self

    def write(self, p, key, value, at=0.0, **kw):
        return self.op(p, "write", key, value, at, result=value, **kw)

    def read(self, p, key, result, at=0.0, **kw):
        return self.op(p, "read", key, None, at, result=result, **kw)

    def incr(self, p, key, result=None, at=0.0, lane="counter", **kw):
        return self.op(p, "incr", key, None, at, result=result, lane=lane, **kw)

    def append(self, p, key, token, at=0.0, lane="append", **kw):
        return self.op(p, "append", key, token + ";", at, result=token + ";", lane=lane, **kw)

    def nemesis(self, f, phase, target, at, **params):
        self._recs.append({"kind": "nemesis", "process": "nemesis", "type": "info", "f": f, "phase": phase,
                           "value": target, "params": params, "time": at})
        return self

    def server(self, f, node, value, at):
        self._recs.append({"kind": "server", "f": f, "node": node, "value": value, "time": at})
        return self

    def roles(self, at, masters, down=(), snapshot=True):
        return self.server("roles", "watch", {"masters": list(masters), "down": list(down), "snapshot": snapshot},
                           at)

    def epoch(self, at, node, value):
        return self.server("epoch", node, value, at)

    def sentinel(self, at, node, event, data=""):
        return self.server("sentinel-event", node, {"event": event, "data": data}, at)

    def meta(self, **settings):
        self._meta = {"kind": "meta", **settings}
        return self

    @property
    def records(self):
        # Stable: an op's invoke stays before its completion at the same instant.
        recs = sorted(self._recs, key=lambda r: r["time"])
        return ([self._meta] if self._meta else []) + recs


# ---- pair ----

def test_pair_joins_invoke_and_completion_fields():
    recs = [{"kind": "client", "process": 3, "type": "invoke", "f": "write", "key": "k", "value": "v",
             "time": 1.0, "lane": "wait", "attempt": 1},
            {"kind": "client", "process": 3, "type": "ok", "f": "write", "key": "k", "value": "v2", "time": 2.5,
             "replicated": 2, "error": "slow", "shard": "s1", "node": "n1"}]
    assert pair(recs) == [Op(process=3, f="write", key="k", value="v", result="v2", type="ok", t_invoke=1.0,
                             t_complete=2.5, lane="wait", replicated=2, error="slow", shard="s1",
                             extra={"attempt": 1, "node": "n1"})]


def test_pair_keeps_invoke_order_across_interleaved_processes():
    h = (H().write(0, "a", "1", at=0.0, ok_at=3.0).write(1, "b", "2", at=1.0, fail_at=2.0)
         .write(2, "c", "3", at=1.5, info_at=4.0).write(1, "d", "4", at=2.5, ok_at=2.6))
    ops = pair(h.records)
    assert [(o.key, o.type, o.t_invoke, o.t_complete) for o in ops] == [
        ("a", "ok", 0.0, 3.0), ("b", "fail", 1.0, 2.0), ("c", "info", 1.5, 4.0), ("d", "ok", 2.5, 2.6)]


def test_an_op_never_completed_is_info_with_no_completion_time():
    [op] = pair(H().write(7, "k", "v", at=1.0).records)
    assert (op.type, op.t_complete, op.result, op.value, op.ok) == ("info", None, None, "v", False)


def test_completion_lane_and_shard_win_over_the_invoke_but_none_does_not_erase():
    recs = [{"kind": "client", "process": 0, "type": "invoke", "f": "read", "key": "k", "time": 0, "lane": "a",
             "shard": "s1"},
            {"kind": "client", "process": 0, "type": "ok", "f": "read", "key": "k", "value": None, "time": 1,
             "lane": None, "shard": "s2"}]
    [op] = pair(recs)
    assert (op.lane, op.shard, op.value, op.result) == ("a", "s2", None, None)


def test_pair_ignores_other_kinds_and_keeps_the_process_free_after_completion():
    h = H().meta(x=1).nemesis("kill", "start", "n1", 0.5).write(0, "a", "1", at=0, ok_at=1).write(
        0, "b", "2", at=1, ok_at=2).roles(1.5, ["n1"])
    assert [o.key for o in pair(h.records)] == ["a", "b"]


def test_a_completion_without_invoke_is_an_error_naming_the_process():
    recs = [{"kind": "client", "process": 4, "type": "ok", "f": "write", "key": "k", "value": "v", "time": 1.0}]
    with pytest.raises(HistoryError, match=r"process 4: ok 'write' of key 'k' at 1.0 completes no invoke"):
        pair(recs)


def test_a_second_completion_is_a_completion_without_invoke():
    recs = H().write(0, "k", "v", ok_at=1).records + [dict(H().write(0, "k", "v", ok_at=2).records[1])]
    with pytest.raises(HistoryError, match="completes no invoke"):
        pair(recs)


def test_two_outstanding_ops_on_one_process_are_an_error():
    with pytest.raises(HistoryError, match=r"process 0 invoked 'read' at 1 while its 'write' was still"):
        pair(H().write(0, "k", "v", at=0).read(0, "k", None, at=1, ok_at=2).records)


def test_a_completion_of_another_function_is_an_error():
    recs = H().write(0, "k", "v", ok_at=1).records
    recs[1]["f"] = "read"
    with pytest.raises(HistoryError, match=r"^process 0: ok 'read' at 1 completes an invoke of 'write'$"):
        pair(recs)


def test_a_completion_may_omit_f():
    recs = H().write(0, "k", "v", ok_at=1).records
    del recs[1]["f"]
    assert pair(recs)[0].type == "ok"


def test_unknown_op_type_and_incomplete_invokes_are_errors():
    recs = H().write(0, "k", "v", ok_at=1).records
    recs[1]["type"] = "done"
    with pytest.raises(HistoryError, match=r"^process 0: unknown op type 'done' at 1$"):
        pair(recs)
    for field in ("process", "f", "time"):
        rec = dict(H().write(0, "k", "v").records[0])
        del rec[field]
        with pytest.raises(HistoryError, match=f"^invoke without {field}: {{"):
            pair([rec])
    with pytest.raises(HistoryError, match=r"^invoke without process, time: {'kind': 'client'"):
        pair([{"kind": "client", "type": "invoke", "f": "read"}])


def test_op_acks_and_hash():
    assert Op(0, "write", "k").acks == 0 and Op(0, "write", "k", replicated=2).acks == 2
    assert hash(Op(0, "write", "k", extra={"a": 1})) == hash(Op(0, "write", "k"))


def test_as_ops_pairs_records_and_passes_ops_through():
    recs = H().write(0, "k", "v", ok_at=1).records
    ops = pair(recs)
    assert as_ops(recs) == ops and as_ops(ops) == ops and as_ops(iter(ops)) == ops and as_ops([]) == []


# ---- filters ----

def test_filters_by_kind_and_f():
    h = (H().meta(repl_lag_window_s=1.5).write(0, "k", "v", ok_at=1).nemesis("kill", "start", "n1", 2)
         .nemesis("pause", "start", "n2", 3).roles(2.5, ["n1"]).epoch(2.6, "n1", 3))
    recs = h.records
    assert [r["type"] for r in client_ops(recs)] == ["invoke", "ok"]
    assert [r["f"] for r in nemesis_ops(recs)] == ["kill", "pause"]
    assert [r["value"] for r in nemesis_ops(recs, "pause")] == ["n2"]
    assert [r["f"] for r in server_ops(recs)] == ["roles", "epoch"]
    assert [r["value"] for r in server_ops(recs, f="epoch")] == [3]
    assert meta_of(recs) == {"repl_lag_window_s": 1.5} and meta_of(H().records) == {}


def test_fault_window_from_start_to_the_matching_end():
    h = (H().nemesis("pause", "end", "n9", 0.5).nemesis("kill", "start", "n1", 1.0)
         .nemesis("pause", "start", "n2", 2.0).nemesis("kill", "end", "n2", 2.5).nemesis("pause", "end", "n2", 3.0)
         .nemesis("kill", "end", "n1", 4.0))
    assert fault_window(h.records) == (1.0, 4.0)
    assert fault_window(h.records, "pause") == (2.0, 3.0)
    assert fault_window(h.records, "partition") == (None, None)
    assert fault_window(H().nemesis("kill", "start", "n1", 1.0).records) == (1.0, None)


def test_fault_window_skips_an_end_that_came_before_the_start():
    h = H().nemesis("kill", "end", "n1", 0.5).nemesis("kill", "start", "n1", 1.0)
    assert fault_window(h.records) == (1.0, None)


# ---- JSONL ----

def test_jsonl_round_trip(tmp_path):
    recs = H().meta(budget_s=5).write(0, "k", "v", ok_at=1, replicated=1).records
    path = tmp_path / "runs" / "1" / "history.jsonl"
    dump_jsonl(recs, path)
    assert load_jsonl(path) == recs
    assert len(path.read_text().splitlines()) == 3 and [p.name for p in path.parent.iterdir()] == ["history.jsonl"]
    dump_jsonl(recs[:1], path)  # replaces
    assert load_jsonl(path) == recs[:1]


def test_dump_turns_bytes_and_sets_into_json(tmp_path):
    path = tmp_path / "h.jsonl"
    dump_jsonl([{"b": b"caf\xc3\xa9\xff", "s": {"b", "a"}, "m": frozenset({2, "1"}), "e": Exception("x")}], path)
    assert load_jsonl(path) == [{"b": "café\\xff", "s": ["a", "b"], "m": ["1", 2], "e": "x"}]
    assert "café" in path.read_text(encoding="utf-8")


def test_load_skips_blank_lines_and_names_the_bad_line(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('{"kind": "meta"}\n\n  \n{"kind": "client"\n')
    with pytest.raises(HistoryError, match=rf"^{path}:4: not JSON: "):
        load_jsonl(path)
    path.write_text('{"kind": "meta"}\n\n[1, 2]\n')
    with pytest.raises(HistoryError, match=rf"^{path}:3: not a JSON object: \[1, 2\]$"):
        load_jsonl(path)
    path.write_text('"' + "x" * 100 + '"\n')
    with pytest.raises(HistoryError, match=rf'^{path}:1: not a JSON object: "{"x" * 79}$'):
        load_jsonl(path)
    path.write_text('{"kind": "meta"}\n\n{"a": 1}\n')
    assert load_jsonl(path) == [{"kind": "meta"}, {"a": 1}]


# ---- Recorder ----

class FakeClock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def test_recorder_writes_the_documented_records():
    clock = FakeClock()
    rec = Recorder(clock=clock)
    assert rec.t0 == 100.0
    clock.t = 100.1234567
    h = rec.invoke(1, "write", "k", "v", lane="wait")
    clock.t = 100.5
    rec.complete(h, "ok", replicated=1)
    h = rec.invoke(1, "read", "k")
    rec.complete(h, "ok", value="v")
    rec.nemesis("kill", "start", "n1", {"signal": 9})
    rec.server("roles", "watch", {"masters": ["n1"], "down": [], "snapshot": True})
    rec.meta(repl_lag_window_s=1.0)
    rec.meta(budget_s=5)
    assert rec.records() == [
        {"kind": "meta", "repl_lag_window_s": 1.0, "budget_s": 5},
        {"kind": "client", "process": 1, "type": "invoke", "f": "write", "key": "k", "value": "v", "lane": "wait",
         "time": 0.123457},
        {"kind": "client", "process": 1, "type": "ok", "f": "write", "key": "k", "value": "v", "replicated": 1,
         "time": 0.5},
        {"kind": "client", "process": 1, "type": "invoke", "f": "read", "key": "k", "value": None, "time": 0.5},
        {"kind": "client", "process": 1, "type": "ok", "f": "read", "key": "k", "value": "v", "time": 0.5},
        {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill", "phase": "start", "value": "n1",
         "params": {"signal": 9}, "time": 0.5},
        {"kind": "server", "f": "roles", "node": "watch", "value": {"masters": ["n1"], "down": [], "snapshot": True},
         "time": 0.5}]
    assert [o.type for o in pair(rec.records())] == ["ok", "ok"]


def test_recorder_defaults():
    rec = Recorder()
    rec.nemesis("pause", "end", "n1")
    rec.complete(rec.invoke(0, "read", "k"), "fail", value=None, error="READONLY")
    recs = rec.records()
    assert recs[0]["params"] == {} and recs[0]["time"] >= 0
    assert recs[2]["value"] is None and recs[2]["error"] == "READONLY"


def test_recorder_records_are_a_copy():
    rec = Recorder(clock=FakeClock())
    rec.server("epoch", "n1", 1)
    rec.records()[0]["value"] = 99
    assert rec.records()[0]["value"] == 1


def test_recorder_refuses_what_breaks_the_rules():
    rec = Recorder(clock=FakeClock())
    h = rec.invoke(0, "write", "k", "v")
    with pytest.raises(HistoryError, match=r"process 0 invoked 'read' while 'write' is outstanding"):
        rec.invoke(0, "read", "k")
    with pytest.raises(HistoryError, match="completion type must be one of"):
        rec.complete(h, "done")
    rec.complete(h, "info")
    with pytest.raises(HistoryError, match=r"process 0: 'write' completed twice or never invoked"):
        rec.complete(h, "ok")
    h2 = rec.invoke(0, "write", "k", "v")
    with pytest.raises(HistoryError, match="completed twice"):
        rec.complete(h, "ok")  # the stale handle, although process, f, key and value are equal
    rec.complete(h2, "ok")
    with pytest.raises(HistoryError, match="nemesis phase must be one of"):
        rec.nemesis("kill", "begin", "n1")
    assert [r["type"] for r in rec.records()] == ["invoke", "info", "invoke", "ok"]


def test_recorder_save(tmp_path):
    rec = Recorder(clock=FakeClock())
    rec.meta(x=1)
    rec.complete(rec.invoke(0, "write", "k", b"v"), "ok")
    rec.save(tmp_path / "h.jsonl")
    assert [r.get("value") for r in load_jsonl(tmp_path / "h.jsonl")] == [None, "v", "v"]
    assert json.loads((tmp_path / "h.jsonl").read_text().splitlines()[0]) == {"kind": "meta", "x": 1}


def test_recorder_from_many_threads_keeps_time_order_and_pairs():
    rec = Recorder()
    n, per = 8, 200

    def work(p):
        for i in range(per):
            h = rec.invoke(p, "write", f"{p}-{i}", i)
            rec.complete(h, "ok" if i % 3 else "fail")
            rec.server("epoch", f"n{p}", i)

    threads = [threading.Thread(target=work, args=(p,)) for p in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = rec.records()
    times = [r["time"] for r in recs]
    assert times == sorted(times) and len(recs) == n * per * 3
    ops = pair(recs)
    assert len(ops) == n * per and all(o.t_complete is not None and o.result == o.value for o in ops)
