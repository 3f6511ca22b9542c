"""One journaling helper records every client op: invoke, the call, then ok / fail / info with
one error format; a worker takes a new process after an ``info`` (Jepsen's interpreter does:
the old op may still be in flight), so a history keeps one outstanding op per process."""
import itertools

import pytest
import redis

from valkey_lab.clients.retry import UnknownOutcome
from valkey_lab.history.edn import read_edn, write_edn
from valkey_lab.history.model import Op, pair
from valkey_lab.history.recorder import RunRecorder, describe, outcome
from valkey_lab.workload.register import RegisterLane, RegisterOps
from valkey_lab.workload.writer import Incrementer, Writer, final_reads


def recorder() -> RunRecorder:
    ticks = itertools.count()
    return RunRecorder(clock=lambda: next(ticks) / 1000)


def client(rec: RunRecorder) -> list[dict]:
    return [r for r in rec.records() if r.get("kind") == "client"]


def completion(rec: RunRecorder) -> dict:
    return [r for r in client(rec) if r["type"] != "invoke"][-1]


# -- the error format and the classification ------------------------------------------------------
def test_one_error_format_class_then_message_at_most_200_characters():
    assert describe(redis.ResponseError("NOREPLICAS Not enough good replicas to write.")) == \
        "ResponseError: NOREPLICAS Not enough good replicas to write."
    assert len(describe(redis.ConnectionError("x" * 500))) == 200


def test_a_refusal_or_a_failed_connect_is_fail_a_lost_reply_or_a_bug_is_info():
    assert outcome(redis.ResponseError("READONLY You can't write against a read only replica.")) == "fail"
    assert outcome(redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")) == "fail"
    assert outcome(redis.TimeoutError("Timeout reading from socket")) == "info"
    assert outcome(UnknownOutcome(redis.ConnectionError("Connection closed by server."))) == "info"
    assert outcome(KeyError("ours")) == "info"


def test_op_error_kind_is_the_class_part():
    assert Op(0, "write", "k", error="ResponseError: NOREPLICAS Not enough good replicas").error_kind == "ResponseError"
    assert Op(0, "write", "k", error="ClusterDownError: The cluster is down").error_kind == "ClusterDownError"
    assert Op(0, "write", "k").error_kind is None
    assert Op(0, "write", "k", error="Error 111 connecting to 127.0.0.1:6379. Connection refused.").error_kind is None
    assert Op(0, "write", "k", error="READONLY").error_kind is None  # an older format: no class named
    assert Op(0, "write", "k", error="NOREPLICAS Not enough: good replicas").error_kind is None


# -- RunRecorder.op --------------------------------------------------------------------------------
def test_an_op_that_returns_completes_ok_with_the_invoke_value_and_extras():
    rec = recorder()
    with rec.op(7, "write", "k", "v", lane="probe", shard="node-7000") as op:
        op.ok(replicated=2)
    invoke, done = client(rec)
    assert invoke == {"kind": "client", "process": 7, "type": "invoke", "f": "write", "key": "k", "value": "v",
                      "lane": "probe", "shard": "node-7000", "time": invoke["time"]}
    assert {k: v for k, v in done.items() if k != "time"} == {
        "kind": "client", "process": 7, "type": "ok", "f": "write", "key": "k", "value": "v", "lane": "probe",
        "shard": "node-7000", "replicated": 2}
    assert op.type == "ok" and op.answered and op.error is None


def test_an_op_left_open_by_its_body_completes_ok():
    rec = recorder()
    with rec.op(1, "write", "k", "v") as op:
        pass
    assert completion(rec)["type"] == "ok" and completion(rec)["value"] == "v" and op.type == "ok"


def test_an_op_that_raises_is_recorded_and_does_not_raise():
    rec = recorder()
    with rec.op(1, "write", "k", "v", lane="crud") as op:
        raise redis.ResponseError("NOREPLICAS Not enough good replicas to write.")
    done = completion(rec)
    assert done["type"] == "fail" and done["lane"] == "crud" and done["value"] == "v"
    assert done["error"] == "ResponseError: NOREPLICAS Not enough good replicas to write."
    assert op.type == "fail" and not op.answered and op.error.startswith("ResponseError: NOREPLICAS")
    with rec.op(2, "read", "k") as op:
        raise redis.TimeoutError("Timeout reading from socket")
    assert completion(rec)["type"] == "info" and completion(rec)["value"] is None and op.type == "info"


def test_an_answered_op_may_complete_fail_a_cas_that_found_another_value():
    rec = recorder()
    with rec.op(1, "cas", "k", ["1", "2"]) as op:
        op.fail()
    assert completion(rec)["type"] == "fail" and "error" not in completion(rec) and op.answered


def test_an_error_after_the_completion_is_ours_and_raises():
    rec = recorder()
    with pytest.raises(ZeroDivisionError):
        with rec.op(1, "write", "k", "v") as op:
            op.ok()
            1 / 0  # noqa: B018
    assert [r["type"] for r in client(rec)] == ["invoke", "ok"]


def test_begin_then_raised_records_a_batch_of_reads_with_one_call():
    rec = recorder()
    final_reads(rec, ["a", "b"], lambda keys: (_ for _ in ()).throw(redis.ConnectionError("Connection reset")))
    final_reads(rec, ["a", "b"], lambda keys: {"a": "1"})
    done = [r for r in client(rec) if r["type"] != "invoke"]
    assert [(r["type"], r["key"], r["value"]) for r in done] == [("info", "a", None), ("info", "b", None),
                                                                 ("ok", "a", "1"), ("ok", "b", None)]
    assert done[0]["error"] == "ConnectionError: Connection reset"
    assert len({r["process"] for r in client(rec)}) == 4  # each read a process of its own


# -- a new process after info ----------------------------------------------------------------------
def flaky(*errors):
    """A call that raises ``errors`` in turn, then answers."""
    queue = list(errors)

    def call(*args):
        if queue:
            raise queue.pop(0)
        return None
    return call


def test_a_worker_takes_a_new_process_after_info_and_keeps_it_after_fail():
    rec = recorder()
    w = rec.worker()
    first = w.process
    with w.op("write", "k", "v") as op:
        raise redis.ResponseError("READONLY You can't write against a read only replica.")
    assert op.type == "fail" and w.process == first  # certainly not applied: nothing in flight
    with w.op("write", "k", "v"):
        raise redis.TimeoutError("Timeout reading from socket")
    assert w.process != first  # the old op may still be in flight: the old process is never reused
    second = w.process
    with w.op("write", "k", "v"):
        pass
    assert w.process == second


def history_invariant(records: list[dict]) -> list[str]:
    """Jepsen's rule: a process invokes nothing after an info completion of its own."""
    dead, problems = set(), []
    for r in records:
        if r.get("kind") != "client":
            continue
        if r["type"] == "invoke" and r["process"] in dead:
            problems.append(f"process {r['process']} invoked {r['f']} after an info")
        if r["type"] == "info":
            dead.add(r["process"])
    return problems


def test_a_writer_lane_gets_a_new_process_after_info(tmp_path):
    rec = recorder()
    errors = [redis.TimeoutError("Timeout reading from socket"), redis.ResponseError("READONLY no"),
              UnknownOutcome(redis.ConnectionError("Connection closed by server."))]
    lane = Writer(rec, "wait1", flaky(*errors), "lab:x")
    for _ in range(5):
        lane.step()
    records = rec.records()
    ops = pair(records)
    assert [op.type for op in ops] == ["info", "fail", "info", "ok", "ok"]
    assert ops[0].process != ops[1].process == ops[2].process != ops[3].process == ops[4].process
    assert history_invariant(records) == []
    assert lane.ok == 2
    path = write_edn(records, tmp_path / "h.edn")  # the exported EDN reads back, one op at a time per process
    assert [(r["process"], r["type"]) for r in read_edn(path)] == [
        (r["process"], r["type"]) for r in records if r["kind"] == "client"]


def test_an_incrementer_and_a_register_lane_get_a_new_process_after_info():
    rec = recorder()
    inc = Incrementer(rec, "counter", flaky(redis.TimeoutError("Timeout reading from socket")), "lab:n")
    before = inc.process
    inc.step()
    inc.incr = lambda key: 5
    inc.step()
    first, second = pair(rec.records())
    assert (first.type, first.process) == ("info", before)
    assert (second.type, second.result) == ("ok", 5) and second.process != before

    rec = recorder()
    calls = itertools.count()

    def read(key):
        if next(calls) % 2 == 0:
            raise redis.TimeoutError("Timeout reading from socket")
        return "1"
    lane = RegisterLane(rec, "register", RegisterOps(read=read, write=lambda k, v: None, cas=lambda k, o, n: False),
                        ["a", "b"], seed=3)
    for _ in range(40):
        lane.step()
    records = rec.records()
    assert history_invariant(records) == []
    assert {op.type for op in pair(records)} >= {"ok", "info", "fail"}  # a cas that found another value: fail
    processes = {r["process"] for r in records if r["kind"] == "client"}
    assert len(processes) == 1 + sum(r["type"] == "info" for r in records) - (records[-1]["type"] == "info")


# -- the rest of the live recorder -------------------------------------------------------------------
def test_records_carry_the_run_they_belong_to_and_the_meta_record_none():
    rec = recorder()
    rec.meta(suite="ha")
    rec.harness("steady", {"seconds": 0.1})
    with rec.running("failover") as same:
        assert same is rec
        with rec.running("partition:with"):
            rec.client_event("retry", {"delay_s": 0.05})
        rec.server("roles", None, {})
    rec.harness("after", {})
    assert [(r["kind"], r.get("run")) for r in rec.records()] == [
        ("meta", None), ("harness", None), ("client-event", "partition:with"), ("server", "failover"),
        ("harness", None)]
    assert rec.records()[2]["f"] == "retry" and rec.records()[2]["value"] == {"delay_s": 0.05}
    assert rec.records()[1] == {"kind": "harness", "f": "steady", "value": {"seconds": 0.1}, "time": 0.001}
    assert rec.run is None


def test_processes_are_never_reused_and_count_reads_from_a_time_on():
    rec = recorder()
    assert [rec.process(), rec.process(), rec.worker().process] == [0, 1, 2]
    for i in range(3):
        rec.harness("tick", i)  # at 0.001, 0.002, 0.003
    assert rec.count(lambda r: r["f"] == "tick", since=0.002) == 2
    assert rec.count(lambda r: r["f"] == "tick") == 3
    assert rec.count(lambda r: r["value"] == 0, since=0.001) == 1
    assert rec.at(rec.t0 + 1.25) == 1.25 and rec.at(rec.t0 + 1 / 3) == 0.333333
