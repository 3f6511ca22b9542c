"""checkers/scenario.py, the judgements both systems share: availability from the fault on
(ops invoked after it only), a lane's summary, who was master at a moment, and the
linearizability checker's counterexample told in plain words."""
import pytest

from valkey_lab.checkers import linearizable
from valkey_lab.checkers.scenario import lane_summary, linearizable_report, masters_at, unavailable_s
from valkey_lab.checkers.verdict import Judgement
from valkey_lab.history.view import RunView


def client(p, type, f, value, t, lane="l", key="k", **kw):
    return {"kind": "client", "process": p, "type": type, "f": f, "key": key, "value": value, "time": t,
            "lane": lane, "run": "s", **kw}


def op(p, f, value, at, done_at=None, type="ok", lane="l", result=None, **kw):
    out = [client(p, "invoke", f, value, at, lane)]
    if done_at is not None:
        out.append(client(p, type, f, value if result is None else result, done_at, lane, **kw))
    return out


def roles(t, masters, snapshot=True):
    return {"kind": "server", "f": "roles", "node": "watch", "time": t, "run": "s",
            "value": {"masters": masters, "snapshot": snapshot}}


def view(t, nodes):
    return {"kind": "server", "f": "cluster-view", "node": "watch", "time": t, "run": "s",
            "value": {"nodes": {n: {"role": role, "slots": slots} for n, (role, slots) in nodes.items()}}}


# -- unavailable_s ------------------------------------------------------------------------------------------
def test_unavailable_counts_only_ops_invoked_at_or_after_the_fault():
    records = (op(0, "write", 1, 9.0, 10.5)  # invoked before the fault: the dying node's answer says nothing
               + op(1, "write", 2, 10.0, 10.0, type="info")
               + op(2, "write", 3, 10.0, 13.25)  # invoked exactly at the fault: counts
               + op(3, "write", 4, 11.0, 14.0))
    h = RunView(records, "s")
    assert unavailable_s(h, 10.0, "l") == 3.25
    assert unavailable_s(h, 9.0, "l") == 1.5
    assert unavailable_s(h, 10.0, "other") is None
    assert unavailable_s(h, 20.0, "l") is None


def test_unavailable_with_replica_acks_counts_only_acknowledged_ops():
    records = op(0, "write", 1, 10.0, 11.0, replicated=0) + op(1, "write", 2, 10.5, 12.0, replicated=1) + \
        op(2, "write", 3, 10.6, 12.5, replicated=2)
    h = RunView(records, "s")
    assert unavailable_s(h, 10.0, "l") == 1.0
    assert unavailable_s(h, 10.0, "l", min_replicated=1) == 2.0
    assert unavailable_s(h, 10.0, "l", min_replicated=2) == 2.5
    assert unavailable_s(h, 10.0, "l", min_replicated=3) is None


# -- lane_summary --------------------------------------------------------------------------------------------
def test_lane_summary_counts_outcomes_and_the_slowest_completed_op():
    records = (op(0, "write", 1, 0.0, 0.5) + op(0, "write", 2, 1.0, 3.0004) + op(1, "write", 3, 1.0, 1.5, type="fail")
               + op(2, "write", 4, 1.0, 9.0, type="info") + op(3, "write", 5, 2.0)  # never completed: info, no time
               + op(4, "write", 6, 0.0, 100.0, lane="other"))
    assert lane_summary(RunView(records, "s"), "l") == {"ok": 2, "fail": 1, "info": 2, "slowest_s": 8.0}
    records = op(0, "write", 1, 0.0, 2.0004) + op(1, "write", 1, 0.0, 1.0)
    assert lane_summary(RunView(records, "s"), "l")["slowest_s"] == 2.0
    records = op(0, "write", 1, 0.0, 2.0006)
    assert lane_summary(RunView(records, "s"), "l")["slowest_s"] == 2.001


def test_lane_summary_of_an_empty_or_unfinished_lane():
    assert lane_summary(RunView([], "s"), "l") == {"ok": 0, "fail": 0, "info": 0, "slowest_s": 0.0}
    assert lane_summary(RunView(op(0, "write", 1, 0.0), "s"), "l") == {"ok": 0, "fail": 0, "info": 1,
                                                                      "slowest_s": 0.0}


# -- masters_at ----------------------------------------------------------------------------------------------
def test_masters_at_is_the_last_role_snapshot_at_or_before_the_moment():
    h = RunView([roles(1.0, ["a"]), roles(2.0, ["a", "b"], snapshot=False), roles(3.0, ["b"]),
                 view(0.5, {"x": ("primary", "0-100")})], "s")
    assert masters_at(h, 0.9) == ["x"]  # no role snapshot yet: the cluster view
    assert masters_at(h, 1.0) == ["a"]
    assert masters_at(h, 2.5) == ["a"]  # the sample at 2.0 is not a snapshot
    assert masters_at(h, 3.0) == ["b"] and masters_at(h, 99) == ["b"]


def test_masters_at_from_cluster_views_is_the_primary_of_slot_0_over_the_last_six_views():
    old = [view(t, {"p1": ("primary", "0-5460"), "p2": ("primary", "5461-10922")}) for t in (1, 2)]
    new = [view(t, {"p1": ("replica", ""), "r1": ("primary", "0-5460")}) for t in (3, 4, 5, 6, 7, 8)]
    h = RunView(old + new, "s")
    assert masters_at(h, 0.5) == []
    assert masters_at(h, 1.0) == ["p1"]
    assert masters_at(h, 3.0) == ["p1", "r1"]  # both within the last six views: sorted, once each
    assert masters_at(h, 7.0) == ["p1", "r1"]  # views 2..7
    assert masters_at(h, 8.0) == ["r1"]  # views 3..8
    h = RunView([view(1, {"a": ("primary", "10-0"), "b": ("primary", "0-1"), "c": ("replica", "0-1")}),
                 view(2, {"a": ("primary", "0-1")})], "s")
    assert masters_at(h, 1.0) == ["b"] and masters_at(h, 2.0) == ["a", "b"]


def test_masters_at_without_any_sample():
    assert masters_at(RunView([], "s"), 5.0) == []


# -- linearizable_report -------------------------------------------------------------------------------------
def cx_op(process, f, value, invoke, complete, type="ok", role="before"):
    return {"process": process, "f": f, "value": value, "invoke": invoke, "complete": complete, "type": type,
            "role": role}


GOT = {"valid": False, "ops": 7, "processes": 4, "info": 1, "seconds": 0.25,
       "counterexample": {"summary": "p3 read 1 cannot be linearized",
                          "ops": [cx_op(0, "write", 1, 1.0, 1.5),
                                  cx_op(1, "write", 2, None, None, type="info", role="concurrent"),
                                  cx_op(2, "write", 3, 2.25, 2.5, type="fail"),
                                  cx_op(3, "read", 1, 4.0, 4.1234, role="failed")]}}


def register_records(roles_too=True):
    records = (op(0, "write", 1, 1.0, 1.5, lane="stale:n1") + op(1, "write", 2, 1.2, lane="register")
               + op(2, "write", 3, 2.25, 2.5, lane="register", type="fail") + op(3, "read", None, 4.0, 4.1234,
                                                                               lane="final", result=1))
    if roles_too:
        records += [roles(0.0, ["n1"]), roles(2.0, ["n1", "n2"]), roles(3.0, ["n2"])]
    return records


def test_the_checkers_figures_go_to_the_metrics():
    r = Judgement("s")
    linearizable_report(RunView(register_records(), "s"), r, dict(GOT, counterexample=None, valid=True))
    assert r.metrics == {"linearizable": True, "register_ops": 7, "processes": 4, "info_ops": 1,
                         "checker_s": 0.25}
    assert r.details == {} and r.verdicts == []


def test_a_counterexample_in_plain_words():
    r = Judgement("s")
    r.metrics["kept"] = 1
    linearizable_report(RunView(register_records(), "s"), r, GOT)
    assert r.metrics == {"kept": 1, "linearizable": False, "register_ops": 7, "processes": 4, "info_ops": 1,
                         "checker_s": 0.25}
    assert r.details["counterexample"] == "p3 read 1 cannot be linearized"
    assert r.details["in_plain_words"] == [
        "1.000s: process 0, a client connected straight to n1 write 1 (answered ok at 1.500s); master then: n1",
        "0.000s: process 1, a client following the Sentinels write 2 (never answered); master then: n1",
        "2.250s: process 2, a client following the Sentinels write 3 (answered fail at 2.500s); "
        "master then: n1, n2",
        "4.000s: process 3, the final read after the heal read 1 (answered ok at 4.123s); master then: n2"
        "  <- impossible"]
    assert r.verdicts == []


def test_without_role_samples_the_client_follows_the_cluster():
    r = Judgement("s")
    records = register_records(roles_too=False) + [view(0.0, {"p": ("primary", "0-16383")})]
    linearizable_report(RunView(records, "s"), r, GOT)
    words = r.details["in_plain_words"]
    assert words[1] == "0.000s: process 1, a client following the cluster write 2 (never answered); master then: p"
    assert words[0].startswith("1.000s: process 0, a client connected straight to n1 write 1")


def test_an_op_of_an_unknown_process_and_no_master():
    r = Judgement("s")
    got = dict(GOT, counterexample={"summary": "s", "ops": [cx_op(9, "cas", [1, 2], 0.5, 0.75)]})
    linearizable_report(RunView([], "s"), r, got)
    assert r.details["in_plain_words"] == [
        "0.500s: process 9, a client following the cluster cas [1, 2] (answered ok at 0.750s); master then: none"]


def test_the_lanes_come_from_invokes_only():
    records = [client(0, "ok", "write", 1, 1.0, lane="stale:n9"), client(0, "invoke", "write", 1, 0.5, lane="final")]
    r = Judgement("s")
    got = dict(GOT, counterexample={"summary": "s", "ops": [cx_op(0, "write", 1, 0.5, 1.0)]})
    linearizable_report(RunView(records, "s"), r, got)
    assert r.details["in_plain_words"][0].startswith("0.500s: process 0, the final read after the heal write 1")
    records = [{"kind": "client-event", "process": 0, "type": "invoke", "lane": "final", "run": "s", "time": 0}]
    linearizable_report(RunView(records, "s"), r, got)
    assert "a client following the cluster" in r.details["in_plain_words"][0]


def test_with_the_real_checker_on_a_stale_read():
    records = (op(0, "write", 1, 0.0, 1.0, lane="register") + op(0, "write", 2, 2.0, 3.0, lane="register")
               + op(1, "read", None, 4.0, 5.0, lane="stale:n1", result=1) + [roles(0.0, ["n2"])])
    h = RunView(records, "s")
    got = linearizable.check(h.client_records(), "register")
    r = Judgement("s")
    linearizable_report(h, r, got)
    assert got["valid"] is False and r.metrics["linearizable"] is False and r.metrics["register_ops"] == 3
    assert r.details["in_plain_words"][-1] == (
        "4.000s: process 1, a client connected straight to n1 read 1 (answered ok at 5.000s); "
        "master then: n2  <- impossible")


@pytest.mark.parametrize("lane, words", [
    ("stale:n1:x", "a client connected straight to n1:x"),
    ("finally", "a client following the cluster"),
    (None, "a client following the cluster"),
])
def test_who_by_lane(lane, words):
    records = [client(0, "invoke", "write", 1, 0.0, lane=lane)]
    r = Judgement("s")
    got = dict(GOT, counterexample={"summary": "s", "ops": [cx_op(0, "write", 1, 0.0, None)]})
    linearizable_report(RunView(records, "s"), r, got)
    assert r.details["in_plain_words"] == [f"0.000s: process 0, {words} write 1 (never answered); master then: none"]
