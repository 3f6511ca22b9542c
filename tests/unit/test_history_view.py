"""RunView: one scenario run's records and the lookups every check makes, pinned on a small
hand-written history (what each lookup returns, its bounds inclusive or not, its defaults)."""
import pytest

from valkey_lab.history.view import RunView

SETTINGS = {"addresses": {"n1": "10.0.0.1:6379", "n2": "10.0.0.2:6379"},
            "announced": {"172.18.0.5:6379": "n2"}}


def client(p, type, f, key, value, t, run="s", **kw):
    return {"kind": "client", "process": p, "type": type, "f": f, "key": key, "value": value, "time": t,
            "run": run, **kw}


def nemesis(f, phase, target, t, run="s", **params):
    return {"kind": "nemesis", "process": "nemesis", "type": "info", "f": f, "phase": phase, "value": target,
            "params": params, "time": t, "run": run}


def server(f, node, value, t, run="s"):
    return {"kind": "server", "f": f, "node": node, "value": value, "time": t, "run": run}


def event(name, t, node="s1", data="m 1 2 3 4"):
    return server("sentinel-event", node, {"event": name, "data": data}, t)


RECORDS = [
    {"kind": "meta", "settings": {"from": "meta"}},
    client(0, "invoke", "write", "a", 1, 1.0, lane="probe"),
    client(0, "ok", "write", "a", 1, 1.5, lane="probe"),
    client(1, "invoke", "write", "b", 2, 1.2, lane="wait1"),
    client(1, "info", "write", "b", 2, 3.0, lane="wait1"),
    nemesis("kill", "start", "n1", 2.0, nodes=["n1"]),
    nemesis("pause", "start", "n2", 2.5, nodes=["n2", "n3"]),
    event("+sdown", 2.2),
    event("+switch-master", 4.0, data="m 10.0.0.1 6379 10.0.0.2 6379"),
    event("+switch-master", 4.5, node="s2"),
    server("roles", "watch", {"masters": ["n1"], "snapshot": True}, 1.0),
    server("roles", "watch", {"masters": ["n1", "n2"]}, 3.0),
    server("roles", "watch", {"masters": ["n2"], "snapshot": True}, 4.0),
    server("roles", "watch", {"masters": ["n2"], "snapshot": True}, 5.0),
    server("epoch", "n1", 3, 4.2),
    server("epoch", "n2", 4, 4.3),
    nemesis("pause", "end", "n2", 5.0),
    nemesis("kill", "end", "n1", 6.0),
    nemesis("kill", "end", "n9", 6.1),
    client(2, "invoke", "read", "a", None, 7.0, lane="final"),
    client(2, "ok", "read", "a", 1, 7.5, lane="final"),
    client(3, "invoke", "read", "b", None, 7.1, lane="final"),
    client(3, "ok", "read", "b", 2, 7.4, lane="final"),
    client(4, "invoke", "read", "a", None, 7.2),
    client(4, "ok", "read", "a", 9, 7.3),
    client(5, "invoke", "read", "b", None, 7.6, lane="final"),
    client(5, "fail", "read", "b", 5, 7.7, lane="final"),
    {"kind": "client-event", "f": "master-change", "value": {"from": "x", "to": "y"}, "time": 4.1, "run": "s"},
    {"kind": "client-event", "f": "retry", "value": {"sleep_s": 0.1}, "time": 4.2, "run": "s"},
    {"kind": "harness", "f": "steady", "value": {"s": 1}, "time": 0.5, "run": "s"},
    {"kind": "harness", "f": "error", "value": {"what": "boom"}, "time": 8.0, "run": "s"},
    {"kind": "harness", "f": "timeout", "value": {"what": "slow"}, "time": 9.0, "run": "s"},
]


@pytest.fixture
def h():
    return RunView(RECORDS, "s", SETTINGS)


# -- which records belong to the run ----------------------------------------------------------------
def test_a_run_keeps_its_own_records_and_its_sub_runs_only():
    records = [{"kind": "x", "run": "p", "time": 0}, {"kind": "x", "run": "p:with", "time": 1},
               {"kind": "x", "run": "p:without", "time": 2}, {"kind": "x", "run": "pp", "time": 3},
               {"kind": "x", "run": "q:p", "time": 4}, {"kind": "x", "time": 5}, {"kind": "x", "run": None, "time": 6},
               {"kind": "x", "run": "p-", "time": 7}]
    h = RunView(records, "p")
    assert [r["time"] for r in h.records] == [0, 1, 2]
    assert h.all_records is records and h.name == "p"
    assert RunView(records, "p:with").records == [records[1]]
    assert RunView(records, "None").records == []


def test_the_view_is_true_only_when_the_run_recorded_something():
    assert bool(RunView([{"kind": "x", "run": "a"}], "a")) is True
    assert bool(RunView([{"kind": "x", "run": "a"}], "b")) is False
    assert bool(RunView([], "b")) is False


def test_settings_given_win_over_the_meta_record_even_when_empty():
    assert RunView(RECORDS, "s", SETTINGS).settings is SETTINGS
    assert RunView(RECORDS, "s", {}).settings == {}
    assert RunView(RECORDS, "s").settings == {"from": "meta"}
    assert RunView([{"kind": "meta", "x": 1}], "s").settings == {}
    assert RunView([], "s").settings == {}


# -- client ops -------------------------------------------------------------------------------------------
def test_ops_are_paired_from_the_runs_records_and_filtered_by_lane(h):
    assert [(op.process, op.type) for op in h.ops] == [(0, "ok"), (1, "info"), (2, "ok"), (3, "ok"), (4, "ok"),
                                                       (5, "fail")]
    assert [op.process for op in h.lane("wait1")] == [1]
    assert [op.process for op in h.lane("final")] == [2, 3, 5]
    assert h.lane("nope") == []
    assert h.ops is h.ops  # paired once


def test_ops_of_another_run_are_not_paired():
    other = [client(9, "invoke", "write", "z", 1, 0.0, run="other")]
    assert RunView(RECORDS + other, "s").ops == RunView(RECORDS, "s").ops


def test_client_records_of_the_processes_of_some_lanes_plus_every_read(h):
    every = h.client_records()
    assert len(every) == 12 and all(r["kind"] == "client" for r in every)
    assert every == [r for r in RECORDS if r["kind"] == "client"]
    probe = h.client_records(("probe",))
    assert [(r["process"], r["type"]) for r in probe] == [
        (0, "invoke"), (0, "ok"), (2, "invoke"), (2, "ok"), (3, "invoke"), (3, "ok"), (4, "invoke"), (4, "ok"),
        (5, "invoke"), (5, "fail")]
    assert [r["process"] for r in h.client_records(("wait1",)) if r["type"] == "invoke"] == [1, 2, 3, 4, 5]
    assert [r["process"] for r in h.client_records(()) if r["type"] == "invoke"] == [2, 3, 4, 5]


def test_client_records_of_a_lane_include_an_op_that_never_completed():
    records = [client(0, "invoke", "write", "a", 1, 0.0, lane="l"), client(1, "invoke", "write", "b", 1, 0.0, lane="m"),
               client(1, "ok", "write", "b", 1, 1.0, lane="l")]  # the completion's lane does not choose
    assert RunView(records, "s").client_records(("l",)) == records[:1]


def test_client_records_keep_only_client_records_of_the_run():
    records = [client(0, "invoke", "write", "a", 1, 0.0, lane="l"),
               {"kind": "client-event", "process": 0, "f": "retry", "type": "invoke", "lane": "l", "run": "s"},
               client(0, "ok", "write", "a", 1, 1.0, lane="l"),
               client(0, "invoke", "write", "a", 1, 2.0, lane="l", run="t")]
    assert RunView(records, "s").client_records(("l",)) == records[:1] + records[2:3]


def test_final_is_the_last_ok_read_of_each_key_by_completion(h):
    # process 4 read a=9 at 7.3, process 2 read a=1 at 7.5: 1 wins though invoked first;
    # process 5's read of b failed, so b keeps the 2 read at 7.4.
    assert h.final == {"a": 1, "b": 2}
    assert RunView([], "s").final == {}


def test_final_by_completion_not_invoke_order():
    records = [client(0, "invoke", "read", "k", None, 0.0), client(1, "invoke", "read", "k", None, 1.0),
               client(1, "ok", "read", "k", "late-invoke", 2.0), client(0, "ok", "read", "k", "early-invoke", 3.0)]
    assert RunView(records, "s").final == {"k": "early-invoke"}


# -- nemesis ops ------------------------------------------------------------------------------------------
def test_nemesis_by_kind_and_phase(h):
    assert [(r["f"], r["phase"], r["time"]) for r in h.nemesis()] == [
        ("kill", "start", 2.0), ("pause", "start", 2.5), ("pause", "end", 5.0), ("kill", "end", 6.0),
        ("kill", "end", 6.1)]
    assert [r["time"] for r in h.nemesis("kill")] == [2.0, 6.0, 6.1]
    assert [r["time"] for r in h.nemesis(phase="end")] == [5.0, 6.0, 6.1]
    assert [r["time"] for r in h.nemesis("pause", "start")] == [2.5]
    assert h.nemesis("partition") == []


def test_the_nth_fault_its_time_and_victims(h):
    assert h.fault()["value"] == "n1" and h.fault(0)["time"] == 2.0
    assert h.fault(1)["value"] == "n2"
    assert h.fault(2) is None
    assert h.fault(0, "pause")["value"] == "n2" and h.fault(1, "pause") is None
    assert h.t_fault() == 2.0 and h.t_fault(1) == 2.5 and h.t_fault(2) is None
    assert h.t_fault(0, "pause") == 2.5 and h.t_fault(0, "partition") is None
    assert h.victims() == ["n1"] and h.victims(1) == ["n2", "n3"]
    assert h.victims(0, "pause") == ["n2", "n3"] and h.victims(2) == [] and h.victims(0, "partition") == []
    assert isinstance(h.victims(), list)


def test_victims_without_nodes_is_empty():
    h = RunView([nemesis("kill", "start", "n1", 1.0)], "s")
    assert h.victims() == []


def test_heal_by_kind_and_target(h):
    assert h.heal()["time"] == 5.0 and h.heal(1)["time"] == 6.0 and h.heal(2)["time"] == 6.1
    assert h.heal(3) is None
    assert h.heal(0, "kill")["time"] == 6.0 and h.heal(1, "kill")["time"] == 6.1
    assert h.heal(0, target="n1")["time"] == 6.0 and h.heal(1, target="n1") is None
    assert h.heal(0, "kill", "n9")["time"] == 6.1 and h.heal(0, "pause", "n9") is None


# -- server observations ----------------------------------------------------------------------------------
def test_server_records_by_f_and_node(h):
    assert [r["time"] for r in h.server("epoch")] == [4.2, 4.3]
    assert [r["value"] for r in h.server("epoch", "n2")] == [4]
    assert h.server("epoch", "n3") == [] and h.server("nothing") == []


def test_first_event_with_inclusive_bounds(h):
    assert h.first_event("+switch-master")["time"] == 4.0
    assert h.first_event("+switch-master", since=4.0)["time"] == 4.0
    assert h.first_event("+switch-master", since=4.1)["time"] == 4.5
    assert h.first_event("+switch-master", since=4.6) is None
    assert h.first_event("+switch-master", until=4.0)["time"] == 4.0
    assert h.first_event("+switch-master", until=3.9) is None
    assert h.first_event("+switch-master", since=4.5, until=4.5)["node"] == "s2"
    assert h.first_event("+sdown")["time"] == 2.2 and h.first_event("+odown") is None


def test_roles_snapshots_only_by_default_with_inclusive_bounds(h):
    assert [r["time"] for r in h.roles()] == [1.0, 4.0, 5.0]
    assert [r["time"] for r in h.roles(snapshots=False)] == [1.0, 3.0, 4.0, 5.0]
    assert [r["time"] for r in h.roles(since=4.0)] == [4.0, 5.0]
    assert [r["time"] for r in h.roles(until=4.0)] == [1.0, 4.0]
    assert [r["time"] for r in h.roles(since=1.0, until=1.0)] == [1.0]
    assert [r["time"] for r in h.roles(since=3.0, until=3.0, snapshots=False)] == [3.0]
    assert h.roles(since=5.1) == [] and h.roles(until=0.9) == []


# -- the client's own events, the harness ------------------------------------------------------------------
def test_client_events_and_harness_records_by_f(h):
    assert [e["value"] for e in h.client_events("master-change")] == [{"from": "x", "to": "y"}]
    assert [e["time"] for e in h.client_events("retry")] == [4.2] and h.client_events("moved") == []
    assert [r["value"] for r in h.harness("steady")] == [{"s": 1}]
    assert h.harness("error")[0]["time"] == 8.0 and h.harness("nothing") == []


def test_declared_lanes_come_from_the_workload_record_or_else_from_the_ops():
    inc = [{"kind": "client", "process": 1, "type": "invoke", "f": "incr", "key": "c", "lane": "counter", "time": 1,
            "run": "s"},
           {"kind": "client", "process": 1, "type": "ok", "f": "incr", "key": "c", "value": 1, "lane": "counter",
            "time": 2, "run": "s"}]

    def workload(*lanes, value=True):
        return [{"kind": "harness", "f": "workload", "value": {"lanes": list(lanes)} if value else None, "time": 0,
                 "run": "s"}]
    assert RunView(inc, "s").declared("counter") and not RunView(inc, "s").declared("w")  # no record: the ops
    assert not RunView([], "s").declared("counter")
    assert RunView(workload("w", "counter"), "s").declared("counter")  # declared, no op recorded
    assert not RunView(workload("w") + inc, "s").declared("counter")   # the record decides
    assert RunView(workload("w") + workload("counter"), "s").declared("counter")  # any of them
    assert not RunView(workload(value=False) + inc, "s").declared("counter")
    assert not RunView([{**workload("counter")[0], "kind": "server"}], "s").declared("counter")


def test_harness_and_client_events_do_not_mix():
    records = [{"kind": "harness", "f": "x", "value": 1, "time": 0, "run": "s"},
               {"kind": "client-event", "f": "x", "value": 2, "time": 1, "run": "s"},
               {"kind": "server", "f": "x", "value": 3, "time": 2, "run": "s"}]
    h = RunView(records, "s")
    assert [r["value"] for r in h.harness("x")] == [1]
    assert [r["value"] for r in h.client_events("x")] == [2]
    assert [r["value"] for r in h.server("x")] == [3]


def test_timeout_is_the_first_timeout_else_the_first_error():
    def harness(f, value, t):
        return {"kind": "harness", "f": f, "value": value, "time": t, "run": "s"}
    assert RunView([harness("steady", 1, 0)], "s").timeout is None
    assert RunView([harness("error", "e1", 0), harness("error", "e2", 1)], "s").timeout == "e1"
    assert RunView([harness("error", "e", 0), harness("timeout", "t1", 1), harness("timeout", "t2", 2)],
                   "s").timeout == "t1"


def test_duration_is_the_span_of_the_runs_records_rounded():
    assert RunView([], "s").duration_s == 0.0
    assert RunView([{"kind": "x", "time": 2.5, "run": "s"}], "s").duration_s == 0.0
    records = [{"kind": "x", "time": t, "run": "s"} for t in (3.0, 1.0006, 4.0, 2.0)]
    assert RunView(records, "s").duration_s == 2.999
    records = [{"kind": "x", "time": t, "run": "s"} for t in (1.0, 2.2346)]
    assert RunView(records, "s").duration_s == 1.235


# -- addresses ---------------------------------------------------------------------------------------------
def test_node_of_an_announced_or_reachable_address(h):
    assert h.node_of("172.18.0.5:6379") == "n2"  # announced
    assert h.node_of("10.0.0.1:6379") == "n1" and h.node_of("10.0.0.2:6379") == "n2"  # reachable
    assert h.node_of("10.0.0.3:6379") is None


def test_an_announced_address_wins_over_a_reachable_one():
    h = RunView([], "s", {"announced": {"a:1": "x"}, "addresses": {"y": "a:1"}})
    assert h.node_of("a:1") == "x"
    h = RunView([], "s", {"announced": {"b:1": "x"}, "addresses": {"y": "a:1", "z": "a:1"}})
    assert h.node_of("a:1") == "y"


def test_node_of_and_address_without_settings():
    h = RunView([], "s", {})
    assert h.node_of("a:1") is None and h.address("n1") is None
    assert RunView([], "s", {"addresses": {"n1": "a:1"}}).node_of("a:1") == "n1"
    assert RunView([], "s", {"announced": {"a:1": "n1"}}).node_of("a:1") == "n1"


def test_address_of_a_node(h):
    assert h.address("n1") == "10.0.0.1:6379" and h.address("n3") is None


def test_a_round_of_a_run_is_judged_with_the_runs_settings():
    records = [{"kind": "meta", "settings": {"down_after_s": 5.0}},
               {"kind": "harness", "f": "steady", "run": "partition:with", "time": 1.0, "value": {}},
               {"kind": "harness", "f": "steady", "run": "partition:without", "time": 2.0, "value": {}}]
    h = RunView(records, "partition", {"down_after_s": 2.0})  # the caller's settings, not the meta's
    with_ = h.round("partition:with")
    assert [r["time"] for r in with_.records] == [1.0] and with_.settings == {"down_after_s": 2.0}
    assert with_.name == "partition:with" and with_.all_records is records
