"""The harness's steps are data and the labs' steps are typed: each is handled by one method of
the lab, reads and updates a typed RunState, and records in the history what the string
steps recorded before (an ``await`` per wait with its condition and the state's values)."""
from dataclasses import FrozenInstanceError

import pytest
import redis

from valkey_lab.cluster import lab as cl
from valkey_lab.cluster.topology import LAYOUT
from valkey_lab.ha import lab as hl
from valkey_lab.history.model import pair
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.nemesis.fault import Fault
from valkey_lab.runner.run import Action, Heal, RunState, Script, Start, StopWorkload, Wait, run
from valkey_lab.util import WaitTimeout, now


# -- RunState ----------------------------------------------------------------------------------------
def test_the_state_names_the_last_faults_nodes_and_its_single_values():
    state = RunState(lanes=["a"], faulted=[["n1"], ["n2", "n3"]], t_fault=12.5, new_master="valkey-replica1")
    assert state.victims == ["n2", "n3"]
    assert RunState().victims == []
    assert state.scalars() == {"t_fault": 12.5, "new_master": "valkey-replica1"}  # no lists, nothing unset


def test_steps_are_frozen_data_with_the_lab_deadline_by_default():
    step = hl.ClientResumed(count=20, lanes=("register",))
    assert (step.count, step.lanes, step.timeout, step.condition) == (20, ("register",), None, "client-resumed")
    with pytest.raises(FrozenInstanceError):
        step.count = 3  # type: ignore[misc]
    assert cl.ShardResumed(lane="short", timeout=4.0).timeout == 4.0
    assert isinstance(hl.NewMaster(), Wait) and isinstance(hl.Probe(), Action)
    assert isinstance(cl.LostSlotProbes(node="node-7000", via="node-7001"), Action)


# -- the harness with a fake lab -------------------------------------------------------------------------
class FakeBackend:
    name = "fake"

    def __init__(self):
        self.calls: list = []

    def address(self, node):
        return ("127.0.0.1", 1)

    def kill(self, node):
        self.calls.append(("kill", node))

    def start(self, node):
        self.calls.append(("start", node))


class Seen(Wait):
    condition = "seen"


class FakeLab:
    """A lab with one wait of its own that records what the state held when it ran."""

    def __init__(self):
        self.recorder = RunRecorder()
        self.backend = FakeBackend()
        self.done: list = []
        self.final: list = []
        self.restored = 0

    def steady(self) -> float:
        return 0.0

    def resolve(self, target):
        return [target]

    def do(self, step, state):
        if isinstance(step, Seen):
            state.new_master = "n2"
            self.done.append((type(step).__name__, list(state.victims)))
        else:
            raise TypeError(step)

    def restore(self):
        self.restored += 1

    def final_reads(self, keys):
        self.final.append(keys)


def test_the_harness_runs_a_schedule_and_records_each_wait_as_before():
    lab = FakeLab()
    scripts = []
    out = run(lab, "r", schedule=[Start(Fault("kill", "n1")), Seen(), Heal(), Script(lambda lab, s: scripts.append(s))])
    assert out.error is None and lab.done == [("Seen", ["n1"])] and lab.restored == 1
    assert lab.backend.calls == [("kill", "n1"), ("start", "n1")]
    (state,) = scripts
    assert state.faulted == [["n1"]] and state.t_heal is not None
    awaits = [r["value"] for r in out.records if r.get("f") == "await"]
    assert awaits == [{"condition": "seen", "seconds": awaits[0]["seconds"], "t_fault": state.t_fault,
                       "new_master": "n2"}]
    assert [(r["f"], r["phase"]) for r in out.records if r["kind"] == "nemesis"] == [("kill", "start"),
                                                                                    ("kill", "end")]
    assert lab.final == []  # no workload, no final reads


def test_a_wait_in_vain_ends_the_run_with_a_timeout_record_and_the_lab_restored():
    lab = FakeLab()

    def never(lab, state):
        raise WaitTimeout("the moon", 0.1, "cheese")
    out = run(lab, "r", schedule=[Script(never), StopWorkload()])
    assert out.error == "waited 0.1s in vain for the moon (last: 'cheese')" and lab.restored == 1
    assert [r["value"]["what"] for r in out.records if r.get("f") == "timeout"] == ["the moon"]


def test_a_step_the_lab_does_not_know_is_a_type_error():
    with pytest.raises(TypeError, match="the HA lab has no step Promoted"):
        ha_lab().do(cl.Promoted(), RunState())
    with pytest.raises(TypeError, match="the cluster lab has no step NewMaster"):
        cluster_lab().do(hl.NewMaster(), RunState())


# -- the HA lab's handlers ---------------------------------------------------------------------------------
class FakeTopo:
    def __init__(self, master):
        self.master = master

    def agreed_master(self, sentinels=None):
        return self.master


def ha_lab(topo=None) -> hl.HALab:
    return hl.HALab(backend=None, topo=topo, pw="", recorder=RunRecorder())


def ok_ops(rec: RunRecorder, lane: str, n: int) -> None:
    worker = rec.worker()
    for i in range(n):
        with worker.op("write", f"{lane}:{i}", "v", lane=lane):
            pass


def test_new_master_waits_for_a_master_other_than_the_victims():
    lab = ha_lab(FakeTopo("valkey-replica1"))
    state = RunState(faulted=[["valkey-master"]])
    lab.do(hl.NewMaster(), state)
    assert state.new_master == "valkey-replica1" and state.t_new_master is not None
    with pytest.raises(WaitTimeout, match=r"a master other than \['valkey-replica1'\]"):
        lab.do(hl.NewMaster(timeout=0.1), RunState(faulted=[["valkey-replica1"]]))


def test_client_resumed_counts_ok_ops_in_every_lane_after_the_fault():
    lab = ha_lab()
    ok_ops(lab.recorder, "a", 3)  # before the fault: not counted
    state = RunState(lanes=["a", "b"], faulted=[["valkey-master"]], t_fault=now())
    ok_ops(lab.recorder, "a", 2)
    ok_ops(lab.recorder, "b", 1)
    with pytest.raises(WaitTimeout):
        lab.do(hl.ClientResumed(count=2, timeout=0.1), state)  # b has 1
    lab.do(hl.ClientResumed(count=2, lanes=("a",), timeout=0.1), state)
    ok_ops(lab.recorder, "b", 1)
    lab.do(hl.ClientResumed(count=2, timeout=0.1), state)
    with pytest.raises(ValueError, match="start one first"):
        lab.do(hl.ClientResumed(), RunState())


class FakeHAClient:
    def __init__(self, reply):
        self.reply, self.closed = reply, False

    def set_acked(self, key, value, replicas, timeout_ms):
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    def close(self):
        self.closed = True


def test_the_probe_records_one_write_with_its_acks_or_the_refusal(monkeypatch):
    lab = ha_lab()
    clients = [FakeHAClient(2), FakeHAClient(redis.ResponseError("NOREPLICAS Not enough good replicas to write."))]
    monkeypatch.setattr(lab, "client", lambda **kw: clients.pop(0))
    with lab.recorder.running("failover"):
        lab.do(hl.Probe(replicas=2), RunState())
        lab.do(hl.Probe(replicas=2, name="sync"), RunState())
    first, second = pair(lab.recorder.records())
    assert (first.f, first.type, first.replicated, first.lane, first.value) == ("write", "ok", 2, "probe", "1")
    assert first.key.endswith(":probe") and second.key.endswith(":sync")
    assert (second.type, second.error) == ("fail", "ResponseError: NOREPLICAS Not enough good replicas to write.")


# -- the cluster lab's handlers -----------------------------------------------------------------------------
def cluster_lab(topology=None) -> cl.ClusterLab:
    return cl.ClusterLab(backend=None, topology=topology, pw="", valkey_version="8", node_timeout_ms=100,
                         recorder=RunRecorder())


def failed_ops(rec: RunRecorder, lane: str, n: int) -> None:
    for _ in range(n):
        with rec.op(rec.process(), "write", "k", "v", lane=lane):
            raise redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down")


def test_shard_resumed_counts_the_victims_lane_from_the_fault_or_the_promotion():
    lab = cluster_lab()
    state = RunState(faulted=[["node-7000"]], t_fault=now())
    ok_ops(lab.recorder, "node-7000", 3)
    lab.do(cl.ShardResumed(count=3, timeout=0.1), state)  # the lane defaults to the victim's
    state.t_promoted = now()
    with pytest.raises(WaitTimeout, match="writes to node-7000's slots to resume"):
        lab.do(cl.ShardResumed(count=1, after_promotion=True, timeout=0.1), state)
    ok_ops(lab.recorder, "register", 1)
    lab.do(cl.ShardResumed(count=1, lane="register", after_promotion=True, timeout=0.1), state)


def test_orphan_fails_counts_failures_from_the_step_on():
    lab = cluster_lab()
    failed_ops(lab.recorder, "short", 5)  # before the step: not counted
    with pytest.raises(WaitTimeout, match="short's orphaned slots"):
        lab.do(cl.OrphanFails(lane="short", count=1, timeout=0.1), RunState())


class FakeClusterClient:
    def __init__(self, replies):
        self.replies = replies

    def set(self, key, value):
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeClusterTopo:
    def __init__(self, client):
        self._client = client

    def client(self, node):
        return self._client


def test_lost_slot_probes_record_the_errors_the_check_reads(monkeypatch):
    plain = FakeClusterClient([redis.exceptions.MovedError(f"{LAYOUT['node-7000'][0]} 127.0.3.1:7300")])
    lab = cluster_lab(FakeClusterTopo(plain))
    monkeypatch.setattr(lab, "client", lambda *a, **kw: FakeClusterClient(
        [redis.exceptions.ClusterDownError("CLUSTERDOWN Hash slot not served")]))
    lab.do(cl.LostSlotProbes(node="node-7000", via="node-7001"), RunState())
    ops = {op.lane: op for op in pair(lab.recorder.records())}
    assert ops["probe-plain"].type == "fail" and ops["probe-plain"].error.startswith("MovedError: ")
    assert ops["probe-client"].error == "ClusterDownError: CLUSTERDOWN Hash slot not served"
    assert ops["probe-client"].error_kind == "ClusterDownError"


def test_served_again_probes_until_a_write_is_acknowledged_with_a_new_process_after_info(monkeypatch):
    client = FakeClusterClient([redis.TimeoutError("Timeout reading from socket"),
                                redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"), True])
    lab = cluster_lab()
    monkeypatch.setattr(lab, "client", lambda *a, **kw: client)
    lab.do(cl.ServedAgain(node="node-7000", timeout=5), RunState())
    ops = pair(lab.recorder.records())
    assert [(op.type, op.lane) for op in ops] == [("info", "served"), ("fail", "served"), ("ok", "served")]
    assert ops[0].process != ops[1].process == ops[2].process
    assert len({op.key for op in ops}) == 1
