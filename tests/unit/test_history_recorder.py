"""RunRecorder's own records (the journaling helper is in test_journal.py): every record but
meta names its run, nested runs restore the outer one, processes are fresh, client events,
harness records, ``count`` and ``at`` on the history's one clock."""
import itertools

import pytest

from valkey_lab.history.recorder import RunRecorder


def recorder(step=0.5, start=100.0) -> RunRecorder:
    ticks = itertools.count()
    return RunRecorder(clock=lambda: start + next(ticks) * step)


def test_records_name_the_run_they_belong_to_and_meta_never_does():
    rec = recorder()
    rec.client_event("retry", {"sleep_s": 0.1})
    with rec.running("failover") as same:
        assert same is rec and rec.run == "failover"
        rec.harness("steady", {"s": 1})
        rec.meta(seed=1)
        with rec.running("failover:with"):
            rec.server("roles", "watch", {"masters": []})
        rec.nemesis("kill", "start", "n1")
        h = rec.invoke(0, "write", "k", 1)
        rec.complete(h, "ok")
    rec.harness("after", None)
    assert rec.run is None
    assert [(r["kind"], r.get("run")) for r in rec.records()] == [
        ("meta", None), ("client-event", None), ("harness", "failover"), ("server", "failover:with"),
        ("nemesis", "failover"), ("client", "failover"), ("client", "failover"), ("harness", None)]
    assert "run" not in rec.records()[0]


def test_a_record_that_already_names_its_run_keeps_it():
    rec = recorder()
    with rec.running("a"):
        h = rec.invoke(0, "write", "k", 1, run="b")
        rec.complete(h, "ok", run="c")
    assert [r["run"] for r in rec.records()] == ["b", "c"]


def test_the_outer_run_comes_back_even_when_the_body_raises():
    rec = recorder()
    with rec.running("outer"):
        with pytest.raises(RuntimeError):
            with rec.running("inner"):
                raise RuntimeError("boom")
        assert rec.run == "outer"
    assert rec.run is None


def test_processes_are_fresh_ints_from_zero():
    rec = recorder()
    assert [rec.process() for _ in range(3)] == [0, 1, 2]
    assert recorder().process() == 0  # per recorder
    w1, w2 = rec.worker(), rec.worker()
    assert (w1.process, w2.process) == (3, 4) and w1.recorder is rec


def test_client_events_and_harness_records_are_timed_on_the_one_clock():
    rec = recorder(step=0.25, start=10.0)  # t0 = 10.0
    rec.client_event("master-change", {"from": "a", "to": "b"})
    rec.harness("timeout", {"what": "steady"})
    assert rec.records() == [
        {"kind": "client-event", "f": "master-change", "value": {"from": "a", "to": "b"}, "time": 0.25},
        {"kind": "harness", "f": "timeout", "value": {"what": "steady"}, "time": 0.5}]


def test_count_from_a_time_on_with_a_predicate():
    rec = recorder(step=1.0, start=0.0)
    for f in ("a", "b", "a", "a"):  # at 1, 2, 3, 4
        rec.harness(f, None)
    rec._records.append({"kind": "harness", "f": "a"})  # no time: counts as 0.0
    is_a = lambda r: r["f"] == "a"  # noqa: E731
    assert rec.count(is_a) == 4
    assert rec.count(is_a, since=1.0) == 3 and rec.count(is_a, since=3.0) == 2
    assert rec.count(is_a, since=3.5) == 1 and rec.count(is_a, since=4.5) == 0
    assert rec.count(lambda r: True, since=0.0) == 5 and rec.count(lambda r: True, since=0.5) == 4


def test_at_puts_a_monotonic_reading_on_the_historys_clock_to_the_microsecond():
    rec = recorder(start=50.0)
    assert rec.at(50.0) == 0.0 and rec.at(52.5) == 2.5 and rec.at(49.0) == -1.0
    assert rec.at(51.12345678) == 1.123457
    assert rec.at(51.0000004) == 1.0


def test_the_clock_may_be_given_positionally():
    ticks = iter([7.0, 7.5])
    rec = RunRecorder(lambda: next(ticks))
    assert rec.t0 == 7.0
    rec.harness("x", None)
    assert rec.records()[0]["time"] == 0.5


def test_a_meta_record_appended_while_a_run_is_on_is_not_tagged():
    rec = recorder()
    with rec.running("r"), rec._lock:
        rec._append({"kind": "meta", "x": 1})
        rec._append({"kind": "harness", "f": "y"})
    assert [r.get("run") for r in rec.records()] == [None, "r"]


def test_a_fail_answer_records_what_the_server_answered():
    rec = recorder()
    with rec.op(0, "cas", "k", [1, 2]) as op:
        op.fail(5, lane="cas")
    done = rec.records()[-1]
    assert (done["type"], done["value"], done["lane"]) == ("fail", 5, "cas")
    with rec.op(0, "cas", "k", [1, 2]) as op:
        op.fail()
    assert rec.records()[-1]["value"] == [1, 2]


def test_the_error_kind_is_the_part_before_the_first_separator():
    from valkey_lab.history.model import error_kind
    assert error_kind("TimeoutError: Timeout reading from 10.0.0.1:6379: gone") == "TimeoutError"
    assert error_kind("Timeout: a: b") == "Timeout"
    assert error_kind("READONLY") is None and error_kind("not a class: x") is None
    assert error_kind(None) is None and error_kind("") is None


def test_an_answered_op_names_the_node_that_answered():
    rec = recorder()

    def where():
        return "127.0.0.1:7000"

    def broken():
        raise OSError("connection gone")
    with rec.op(0, "write", "k", 1, where=where) as op:
        op.ok()
    assert rec.records()[-1]["node"] == "127.0.0.1:7000"
    with rec.op(0, "cas", "k", [1, 2], where=where) as op:
        op.fail()
    assert rec.records()[-1]["node"] == "127.0.0.1:7000"
    with rec.op(0, "write", "k", 1, where=where) as op:
        op.ok(node="127.0.0.1:7001")  # the caller knows better: kept
    assert rec.records()[-1]["node"] == "127.0.0.1:7001"
    for w in (None, lambda: None, lambda: "", broken):  # nobody to name: no node, and the op is kept
        with rec.op(0, "write", "k", 1, where=w) as op:
            op.ok()
        assert "node" not in rec.records()[-1] and rec.records()[-1]["type"] == "ok"
    with rec.op(0, "write", "k", 1, where=where) as op:
        raise ConnectionError("reset")
    assert "node" not in rec.records()[-1]  # no answer: no node to credit
