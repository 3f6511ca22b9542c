"""checkers/invariants.py on hand-written histories: each generic invariant's verdict, its
evidence and its wording, and the evidence whose absence makes it unknown rather than a pass."""
import pytest

from valkey_lab.checkers import invariants as inv
from valkey_lab.checkers.verdict import Verdict
from valkey_lab.history.view import RunView


def c(p, type, f, key, value, t, lane=None, **kw):
    rec = {"kind": "client", "process": p, "type": type, "f": f, "key": key, "value": value, "time": t, "run": "s",
           **kw}
    if lane is not None:
        rec["lane"] = lane
    return rec


class B:
    """A tiny history builder: ``B().write(...).read(...).view()``."""

    def __init__(self):
        self.records, self._p = [], 100

    def op(self, f, key, value, at, done=None, type="ok", lane=None, result=None, p=None, **kw):
        p = self._next() if p is None else p
        self.records.append(c(p, "invoke", f, key, value, at, lane))
        if done is not None:
            self.records.append(c(p, type, f, key, value if result is None else result, done, lane, **kw))
        return self

    def _next(self):
        self._p += 1
        return self._p

    def write(self, key, value, at, done=None, **kw):
        return self.op("write", key, value, at, done, **kw)

    def read(self, key, value, at, done=None, **kw):
        return self.op("read", key, None, at, done, result=value, **kw)

    def incr(self, key, result, at, done=None, lane="counter", **kw):
        return self.op("incr", key, None, at, done, lane=lane, result=result, **kw)

    def add(self, **rec):
        self.records.append({"run": "s", **rec})
        return self

    def roles(self, t, masters, nodes=None, snapshot=True):
        value = {"masters": masters, "snapshot": snapshot}
        if nodes is not None:
            value["nodes"] = nodes
        return self.add(kind="server", f="roles", node="watch", value=value, time=t)

    def view(self, settings=None):
        return RunView(self.records, "s", settings or {})


# -------------------------------------------------------------------------------- acknowledged_writes
def test_acknowledged_writes_all_read_back_is_valid():
    h = B().write("a", 1, 0, 1).write("b", 2, 0, 1).read("a", 1, 2, 3).read("b", 2, 2, 3).view()
    v = inv.acknowledged_writes(h)
    assert v == Verdict("no acknowledged write was lost", True,
                        {"acknowledged": 2, "lost": 0, "lost_keys": [], "unread": 0}, "lost 0")


def test_acknowledged_writes_a_lost_key_is_invalid_even_with_unread_ones():
    b = B().write("a", 1, 0, 1).write("u", 9, 0, 1)
    for i in range(7):
        b.write(f"k{i}", i, 0, 1).read(f"k{i}", None, 2, 3)
    v = inv.acknowledged_writes(b.read("a", 2, 2, 3).view())
    assert v.valid is False and v.expected == "lost 0" and v.missing is None
    assert v.observed == {"acknowledged": 9, "lost": 8, "lost_keys": ["a", "k0", "k1", "k2", "k3"], "unread": 1}


def test_acknowledged_writes_unread_is_unknown_and_names_the_keys():
    h = B().write("a", 1, 0, 1).write("b", 2, 0, 1).write("c", 3, 0, 1).read("a", 1, 2, 3).view()
    v = inv.acknowledged_writes(h)
    assert v == Verdict("no acknowledged write was lost", None,
                        {"acknowledged": 3, "lost": 0, "lost_keys": [], "unread": 2}, "lost 0",
                        "a final read of 2 acknowledged key(s), e.g. ['b', 'c']")


def test_acknowledged_writes_none_is_unknown():
    h = B().write("a", 1, 0, 1, type="fail").write("b", 1, 0, 1, type="info").read("a", None, 2, 3).view()
    v = inv.acknowledged_writes(h)
    assert v == Verdict("no acknowledged write was lost", None,
                        {"acknowledged": 0, "lost": 0, "lost_keys": [], "unread": 0}, "lost 0",
                        "no acknowledged write to check")


def test_acknowledged_writes_by_lane_replicas_and_invoke_window():
    b = (B().write("a", 1, 1.0, 1.5, lane="w", replicated=1).write("b", 1, 2.0, 2.5, lane="w", replicated=0)
         .write("c", 1, 3.0, 3.5, lane="x", replicated=2)
         .read("a", None, 9, 10).read("b", None, 9, 10).read("c", None, 9, 10))
    h = b.view()
    assert inv.acknowledged_writes(h).observed["lost"] == 3
    v = inv.acknowledged_writes(h, lane="w")
    assert v.name == "no acknowledged write of lane w was lost" and v.observed["lost_keys"] == ["a", "b"]
    v = inv.acknowledged_writes(h, min_replicated=1)
    assert v.name == "no WAIT 1-acknowledged write was lost" and v.observed["lost_keys"] == ["a", "c"]
    assert inv.acknowledged_writes(h, min_replicated=2).observed["lost_keys"] == ["c"]
    assert inv.acknowledged_writes(h, lane="w", min_replicated=2).valid is None
    v = inv.acknowledged_writes(h, lane="w", min_replicated=1)
    assert v.name == "no WAIT 1-acknowledged write of lane w was lost"
    assert inv.acknowledged_writes(h, since=2.0).observed["lost_keys"] == ["b", "c"]
    assert inv.acknowledged_writes(h, until=2.0).observed["lost_keys"] == ["a"]
    assert inv.acknowledged_writes(h, since=1.0, until=3.0).observed["lost_keys"] == ["a", "b"]
    assert inv.acknowledged_writes(h, since=3.0, until=3.0).valid is None
    assert inv.acknowledged_writes(h, name="mine").name == "mine"


# -------------------------------------------------------------------------------------------- all_lost
def test_all_lost_passes_only_when_every_write_is_gone():
    h = B().write("a", 1, 0, 1).write("b", 2, 0, 1).read("a", None, 2, 3).read("b", 3, 2, 3).view()
    v = inv.all_lost(h, h.ops[:2], "gone")
    assert v == Verdict("gone", True, {"writes": 2, "survived": 0, "survived_keys": [], "unread": 0},
                        "survived 0")


def test_all_lost_a_survivor_fails_even_with_unread_writes():
    b = B()
    for i in range(7):
        b.write(f"k{i}", i, 0, 1).read(f"k{i}", i, 2, 3)
    h = b.write("u", 1, 0, 1).view()
    v = inv.all_lost(h, [op for op in h.ops if op.f == "write"], "gone")
    assert v.valid is False and v.expected == "survived 0"
    assert v.observed == {"writes": 8, "survived": 7, "survived_keys": ["k0", "k1", "k2", "k3", "k4"],
                          "unread": 1}


def test_all_lost_without_writes_or_reads_is_unknown():
    h = B().write("a", 1, 0, 1).write("b", 1, 0, 1).read("a", None, 2, 3).view()
    v = inv.all_lost(h, [], "gone")
    assert v == Verdict("gone", None, {"writes": 0, "survived": 0, "survived_keys": [], "unread": 0},
                        "> 0 writes, all lost", "no such write in the history")
    v = inv.all_lost(h, h.ops[:2], "gone")
    assert v == Verdict("gone", None, {"writes": 2, "survived": 0, "survived_keys": [], "unread": 1}, "survived 0",
                        "a final read of 1 of those keys, e.g. ['b']")


# ---------------------------------------------------------------------------------------- fail_applied
NAME_FAIL = "no write reported failed was applied (fail means not applied), no value came from nowhere"


def test_fail_applied_and_values_from_nowhere_are_invalid():
    h = B().write("a", 1, 0, 1, type="fail").read("a", 1, 2, 3).view()
    v = inv.fail_applied(h)
    assert v.name == NAME_FAIL and v.valid is False and v.expected == "0 and 0"
    assert v.observed == {"failed": 1, "fail_applied": 1, "fail_applied_keys": ["a"], "unexpected": 0,
                          "unexpected_keys": []}
    h = B().write("a", 1, 0, 1).read("a", 7, 2, 3).view()
    v = inv.fail_applied(h)
    assert v.valid is False and v.observed["unexpected"] == 1 and v.observed["unexpected_keys"] == ["a"]


def test_fail_applied_valid_unknown_and_by_lane():
    h = B().write("a", 1, 0, 1, type="fail", lane="l").write("b", 2, 0, 1, lane="m").read("a", None, 2, 3).view()
    v = inv.fail_applied(h)
    assert v == Verdict(NAME_FAIL, True, {"failed": 1, "fail_applied": 0, "fail_applied_keys": [],
                                          "unexpected": 0, "unexpected_keys": []}, "0 and 0")
    assert inv.fail_applied(h, lane="l").valid is True
    v = inv.fail_applied(h, lane="m")
    assert v == Verdict(NAME_FAIL, None, {"failed": 0, "fail_applied": 0, "fail_applied_keys": [],
                                          "unexpected": 0, "unexpected_keys": []}, "0 and 0",
                        "a final read of any written key")
    v = inv.fail_applied(h, lane="z")
    assert v == Verdict(NAME_FAIL, None, {"failed": 0, "fail_applied": 0, "fail_applied_keys": [],
                                          "unexpected": 0, "unexpected_keys": []}, "0 and 0",
                        "no write in the history")
    assert inv.fail_applied(B().read("a", None, 0, 1).view()).missing == "no write in the history"
    h = B().write("a", 1, 0, 1, lane="l").write("b", 1, 0, 1, type="fail", lane="m").read("b", 1, 2, 3).view()
    assert inv.fail_applied(h, lane="l").valid is None and inv.fail_applied(h, lane="m").valid is False


# -------------------------------------------------------------------------------------------- counter
NAME_INCR = "no INCR applied twice (final <= ok + info increments; no two ok INCRs returned the same value)"
EXPECT_INCR = "double_applied 0, duplicate_results []"


def test_counter_valid_lost_is_measured_not_judged():
    h = B().incr("c", 1, 0, 1).incr("c", 2, 0, 1).incr("c", 3, 0, 1).read("c", "2", 2, 3).view()
    v = inv.counter(h)
    assert v == Verdict(NAME_INCR, True, {"ok": 3, "info": 0, "final": 2, "lost": 1, "double_applied": 0,
                                          "duplicate_results": []}, EXPECT_INCR)


def test_counter_double_applied_or_duplicate_results_is_invalid():
    h = B().incr("c", 1, 0, 1).incr("c", None, 0, 1, type="info").read("c", "3", 2, 3).view()
    v = inv.counter(h)
    assert v.valid is False and v.observed["double_applied"] == 1 and v.expected == EXPECT_INCR
    h = B().incr("c", 1, 0, 1).incr("c", 1, 0, 1).read("c", "2", 2, 3).view()
    v = inv.counter(h)
    assert v.valid is False and v.observed["duplicate_results"] == [1] and v.observed["double_applied"] == 0
    h = B().incr("c", 1, 0, 1).incr("c", 1, 0, 1).view()  # unread, yet a duplicate is a violation
    assert inv.counter(h).valid is False


def test_counter_without_incr_or_final_read_is_unknown():
    v = inv.counter(B().read("c", "1", 0, 1).view())
    assert v == Verdict(NAME_INCR, None, None, EXPECT_INCR, "no INCR in lane counter")
    v = inv.counter(B().incr("c", 1, 0, 1, lane="other").view(), lane="mine")
    assert v.missing == "no INCR in lane mine"
    v = inv.counter(B().incr("c", 1, 0, 1).read("d", "1", 0, 1).view())
    assert v == Verdict(NAME_INCR, None, {"ok": 1, "info": 0, "final": None, "lost": None, "double_applied": None,
                                          "duplicate_results": []}, EXPECT_INCR, "a final read of the counter c")


def test_counter_in_another_lane_and_several_keys():
    h = B().incr("c", 1, 0, 1, lane="x").incr("c", 2, 0, 1).read("c", "1", 2, 3).view()
    assert inv.counter(h, lane="x").valid is True and inv.counter(h, lane="x").observed["ok"] == 1
    h = B().incr("c", 1, 0, 1).incr("d", 1, 0, 1).read("c", "1", 2, 3).view()
    v = inv.counter(h)
    assert v == Verdict(NAME_INCR, False, "the counter lane touches keys ['c', 'd']: pass key=")


# --------------------------------------------------------------------------------------- availability
def test_available_within_a_bound():
    h = (B().write("a", 1, 9.0, 10.5, lane="l").write("b", 1, 10.0, 12.0, lane="l", type="info")
         .write("c", 1, 10.5, 13.0, lane="l").view())
    v = inv.available_within(h, "l", 10.0, 5, "its retry budget")
    assert v == Verdict("the clients of lane l were served again within its retry budget (5s)", True, 3.0, "<= 5")
    v = inv.available_within(h, "l", 10.0, 2.5, "x")
    assert v.valid is False and v.observed == 3.0 and v.expected == "<= 2.5" and v.name.endswith("x (2.5s)")
    assert inv.available_within(h, "l", 10.0, 3.0, "x").valid is True


def test_available_within_with_replica_acks():
    h = B().write("a", 1, 10.0, 11.0, lane="l", replicated=0).write("b", 1, 10.0, 12.0, lane="l", replicated=1).view()
    assert inv.available_within(h, "l", 10.0, 5, "x").observed == 1.0
    assert inv.available_within(h, "l", 10.0, 5, "x", min_replicated=1).observed == 2.0


def test_available_within_without_the_fault_or_an_ok_op():
    h = B().write("a", 1, 10.0, 11.0, lane="l", type="info").view()
    v = inv.available_within(h, "l", None, 5, "x")
    assert v == Verdict("the clients of lane l were served again within x (5s)", None, None, "<= 5",
                        "the fault (no nemesis op)")
    v = inv.available_within(h, "l", 10.0, 5, "x")
    assert v == Verdict("the clients of lane l were served again within x (5s)", None, None, "<= 5",
                        "an op of lane l completed ok after the fault")
    v = inv.available_within(h, "empty", 10.0, 5, "x")  # no op of the lane at all
    assert v.valid is None and v.missing == "an op of lane empty completed ok after the fault"


def test_available_within_no_ok_op_beyond_the_bound_is_invalid():
    h = (B().write("a", 1, 10.0, 13.0, lane="l", type="info").write("b", 1, 10.0, 16.25, lane="l", type="fail")
         .write("c", 1, 11.0, None, lane="l").view())
    v = inv.available_within(h, "l", 10.0, 5, "x")
    assert v == Verdict("the clients of lane l were served again within x (5s)", False, "no ok op in 6.25s", "<= 5")
    assert inv.available_within(h, "l", 10.0, 6.25, "x").valid is None
    assert inv.available_within(h, "l", 10.0, 6.2, "x").valid is False


def test_unavailable_at_least_a_floor():
    h = B().write("a", 1, 9.0, 10.5, lane="l").write("b", 1, 10.0, 14.0, lane="l").view()
    v = inv.unavailable_at_least(h, "l", 10.0, 4, "down-after")
    assert v == Verdict("no op of lane l succeeded before down-after (4s)", True, 4.0, ">= 4")
    v = inv.unavailable_at_least(h, "l", 10.0, 4.5, "down-after")
    assert v.valid is False and v.observed == 4.0 and v.expected == ">= 4.5"
    v = inv.unavailable_at_least(h, "l", None, 4, "x")
    assert v == Verdict("no op of lane l succeeded before x (4s)", None, None, ">= 4", "the fault (no nemesis op)")
    v = inv.unavailable_at_least(h, "m", 10.0, 4, "x")
    assert v == Verdict("no op of lane m succeeded before x (4s)", None, None, ">= 4",
                        "an op of lane m completed ok after the fault")
    h = B().write("a", 1, 10.0, 11.0, lane="l", replicated=0).view()
    assert inv.unavailable_at_least(h, "l", 10.0, 1, "x").observed == 1.0


def test_no_failed_writes():
    h = (B().write("a", 1, 1.0, 2.0, lane="l", type="fail", error="E1").write("b", 1, 5.0, 6.0, lane="l")
         .write("c", 1, 5.0, 6.0, lane="l", type="fail", error="E2").write("d", 1, 5.0, 6.0, lane="l", type="fail",
                                                                           error="E3")
         .op("cas", "e", [1, 2], 5.0, 6.0, lane="l", type="fail").view())
    v = inv.no_failed_writes(h, "l")
    assert v == Verdict("no write of lane l failed for good (refusals were retried to success or are 'info')", False,
                        {"writes": 4, "fail": 3, "examples": ["E1", "E2"]}, 0)
    v = inv.no_failed_writes(h, "l", since=5.0)
    assert v.valid is False and v.observed == {"writes": 3, "fail": 2, "examples": ["E2", "E3"]}
    h2 = B().write("b", 1, 5.0, 6.0, lane="l").write("x", 1, 5.0, 6.0, lane="l", type="info").view()
    assert inv.no_failed_writes(h2, "l").valid is True
    assert inv.no_failed_writes(h2, "l").observed == {"writes": 2, "fail": 0, "examples": []}
    v = inv.no_failed_writes(h, "l", since=5.1)
    assert v == Verdict("no write of lane l failed for good (refusals were retried to success or are 'info')", None,
                        None, 0, "a write of lane l")
    # a window ends where the next fault's begins: a write invoked at or after ``until`` is not judged here
    v = inv.no_failed_writes(h, "l", since=1.0, until=5.0)
    assert v.valid is False and v.observed == {"writes": 1, "fail": 1, "examples": ["E1"]}
    assert inv.no_failed_writes(h, "l", since=1.0, until=1.0).valid is None
    assert inv.no_failed_writes(h2, "l", since=1.0, until=5.0001).observed["writes"] == 2


# ------------------------------------------------------------------------------- one writable master
SETTINGS = {"addresses": {"n1": "10.0.0.1:6379", "n2": "10.0.0.2:6379"}}


def change(t, lane, frm, to):
    return dict(kind="client-event", f="master-change", time=t, value={"lane": lane, "from": frm, "to": to})


def test_attribution_by_node_stale_lane_or_the_master_the_lane_followed():
    b = (B().add(**change(5.0, "w", "10.0.0.1:6379", "10.0.0.2:6379"))
         .add(**change(7.0, "w", "10.0.0.2:6379", "n3-address"))
         .add(kind="client-event", f="master-change", time=6.0, value={"from": "a", "to": "b"})  # no lane: ignored
         .write("a", 1, 1.0, 2.0, lane="w", node="10.0.0.2:6379")  # recorded node, by address
         .write("b", 1, 1.0, 2.0, lane="w", node="nX")  # an unknown address stays as it is
         .write("c", 1, 1.0, 2.0, lane="stale:n9")
         .write("c2", 1, 1.0, 2.0, lane="stale:n9:7000")
         .write("d", 1, 1.0, 2.0, lane="w")  # before the first change: the master it left
         .write("e", 1, 5.0, 6.0, lane="w")  # invoked at the change: the new master
         .write("f", 1, 6.9, 7.5, lane="w")
         .write("g", 1, 8.0, 9.0, lane="w")  # changed to an address nobody knows
         .write("h", 1, 8.0, None, lane="w")  # never completed
         .write("i", 1, 8.0, 9.0, lane="other")
         .write("j", 1, 8.0, 9.0))
    h = b.view(SETTINGS)
    who = inv.attribution(h)
    assert {op.key: who(op) for op in h.ops} == {"a": "n2", "b": "nX", "c": "n9", "c2": "n9:7000", "d": "n1",
                                                 "e": "n2", "f": "n2", "g": None, "h": None, "i": None, "j": None}


def test_attribution_of_ops_without_a_lane_follows_the_changes_of_the_empty_lane():
    b = B().add(**change(1.0, "", "10.0.0.1:6379", "10.0.0.2:6379")).write("a", 1, 2.0, 3.0).write("b", 1, 0.0, 0.5)
    h = b.view(SETTINGS)
    who = inv.attribution(h)
    assert [who(op) for op in h.ops] == ["n2", "n1"]


def test_one_writable_master_valid_when_each_write_came_from_the_only_master():
    b = (B().roles(0.0, ["n1"]).roles(5.0, ["n2"]).write("a", 1, 0.1, 0.5, lane="stale:n1")
         .write("b", 1, 5.1, 5.5, lane="stale:n2"))
    v = inv.one_writable_master(b.view())
    assert v == Verdict("at most one master accepted acknowledged writes at any moment", True,
                        {"attributed_writes": 2, "while_another_master": 0, "overlap_s": 0.0, "examples": []},
                        "overlap 0")


def test_one_writable_master_measures_the_overlap():
    b = (B().roles(0.0, ["n1"]).roles(5.0, ["n1", "n2"]).roles(9.0, ["n2"])
         .write("a", 1, 4.0, 5.0, lane="stale:n1")  # at the snapshot naming two: counts
         .write("b", 1, 5.1, 5.5, lane="stale:n2")
         .write("c", 1, 5.2, 5.75, lane="stale:n1")
         .write("d", 1, 5.2, 6.25, lane="stale:n1")  # 1.25 s after the snapshot: too old to judge
         .op("cas", "e", [1, 2], 5.2, 5.9, lane="stale:n2").op("incr", "f", None, 5.2, 6.0, lane="stale:n1")
         .op("read", "g", None, 5.2, 5.3, lane="stale:n1")
         .write("h", 1, 5.3, 5.4, lane="stale:n1", type="info")
         .write("i", 1, 5.3, 5.4, lane="stale:n3"))  # n3 is not among the masters
    v = inv.one_writable_master(b.view())
    assert v.valid is False and v.expected == "overlap 0"
    assert v.observed == {"attributed_writes": 7, "while_another_master": 5, "overlap_s": 1.0, "examples": [
        "a acknowledged by n1 at 5.000s while n2 was master too",
        "b acknowledged by n2 at 5.500s while n1 was master too",
        "c acknowledged by n1 at 5.750s while n2 was master too"]}
    v = inv.one_writable_master(b.view(), window_s=2.0)
    assert v.observed["while_another_master"] == 6


def test_one_writable_master_ignores_writes_before_any_snapshot_and_non_snapshots():
    b = (B().roles(5.0, ["n1", "n2"]).roles(5.5, ["n1", "n2"], snapshot=False)
         .write("a", 1, 0.0, 4.99, lane="stale:n1").write("b", 1, 5.5, 5.6, lane="stale:n1"))
    v = inv.one_writable_master(b.view())
    assert v.valid is False and v.observed["while_another_master"] == 1 and v.observed["overlap_s"] == 0.0
    assert v.observed["examples"] == ["b acknowledged by n1 at 5.600s while n2 was master too"]
    b = B().roles(5.0, ["n1", "n2", "n3"]).write("a", 1, 5.0, 5.0, lane="stale:n2")
    assert inv.one_writable_master(b.view()).observed["examples"] == [
        "a acknowledged by n2 at 5.000s while n1, n3 was master too"]


def test_one_writable_master_without_snapshots_or_attributed_writes_is_unknown():
    b = B().roles(1.0, ["n1"], snapshot=False).write("a", 1, 0.0, 1.0, lane="stale:n1")
    v = inv.one_writable_master(b.view())
    assert v == Verdict("at most one master accepted acknowledged writes at any moment", None, None, "overlap 0",
                        "role snapshots (the roles observer)")
    b = B().roles(1.0, ["n1"]).write("a", 1, 0.0, 1.0, lane="w").write("b", 1, 0.0, 1.0, lane="w", type="fail")
    v = inv.one_writable_master(b.view())
    assert v == Verdict("at most one master accepted acknowledged writes at any moment", None, {"writes": 1},
                        "overlap 0", "writes attributed to the node that acknowledged them")


def test_the_overlap_is_rounded_to_the_millisecond():
    b = (B().roles(5.0, ["n1", "n2"]).write("a", 1, 5.0, 5.1, lane="stale:n1")
         .write("b", 1, 5.1, 5.22345, lane="stale:n2"))
    assert inv.one_writable_master(b.view()).observed["overlap_s"] == 0.123


def test_one_writable_master_with_a_custom_attribution_falling_back_to_the_default():
    b = (B().roles(0.0, ["n1", "n2"]).write("a", 1, 0.1, 0.5, lane="stale:n1").write("b", 1, 0.1, 0.6, lane="w"))
    v = inv.one_writable_master(b.view(), attribute=lambda op: "n2" if op.key == "b" else None)
    assert v.observed["attributed_writes"] == 2 and v.observed["overlap_s"] == 0.1
    v = inv.one_writable_master(b.view(), attribute=lambda op: None)
    assert v.observed["attributed_writes"] == 1


# ------------------------------------------------------------------------------------ expect_invalid
def test_expect_invalid_turns_a_violation_into_the_expected_finding():
    assert inv.expect_invalid(Verdict("v", False, 3, "0"), "split brain") == Verdict(
        "v: NOT, as expected (split brain)", True, 3, "a violation")
    assert inv.expect_invalid(Verdict("v", True, 0), "why") == Verdict(
        "v: NOT, as expected (why)", False, 0, "a violation")
    assert inv.expect_invalid(Verdict("v", None, 1, missing="a read"), "why") == Verdict(
        "v: NOT, as expected (why)", None, 1, "a violation", "a read")
    assert inv.expect_invalid(Verdict("v", None), "why").missing == "the checker's evidence"


# --------------------------------------------------------------------------------------- converged
def linked(master, *replicas, link="up", role="slave"):
    nodes = {master: {"role": "master"}}
    nodes.update({r: {"role": role, "master": master, "link": link} for r in replicas})
    return nodes


NAME_CONV = "the topology converged within 10s of the last heal (one master, every replica linked)"


def test_converged_at_the_first_snapshot_with_one_master_and_every_replica_linked():
    b = (B().roles(4.0, ["n1"], linked("n1", "n2", "n3"))  # before the heal: not counted
         .roles(5.5, ["n1", "n2"], linked("n1", "n2"))
         .roles(6.0, ["n2"], linked("n2", "n1", "n3", link="down"))
         .roles(6.5, ["n2"], {**linked("n2", "n1"), "n3": {"role": "slave", "master": "n1", "link": "up"}})
         .roles(7.0, ["n2"], {**linked("n2", "n1"), "n3": {"role": "master"}})
         .roles(7.5, ["n2"], {**linked("n2", "n1"), "n3": None})
         .roles(8.2344, ["n2"], linked("n2", "n1", "n3"))
         .roles(9.0, ["n2"], linked("n2", "n1", "n3")))
    v = inv.converged(b.view(), 5.0, 10)
    assert v == Verdict(NAME_CONV, True, {"converged_s": 3.234, "master": "n2"}, "<= 10")
    v = inv.converged(b.view(), 5.0, 3.2)
    assert v.valid is False and v.observed == {"converged_s": 3.234, "master": "n2"} and v.expected == "<= 3.2"
    assert inv.converged(b.view(), 5.0, 3.234).valid is True


def test_converged_only_over_the_given_nodes():
    b = B().roles(6.0, ["n1"], {**linked("n1", "n2"), "n3": None})
    assert inv.converged(b.view(), 5.0, 10).valid is None
    v = inv.converged(b.view(), 5.0, 10, nodes=["n1", "n2"])
    assert v.valid is True and v.observed == {"converged_s": 1.0, "master": "n1"}
    b = B().roles(6.0, ["n1"], {"n1": {"role": "master"}, "n2": {"role": "slave", "master": "n1", "link": "up"}})
    assert inv.converged(b.view(), 5.0, 10, nodes=["n9"]).valid is None  # nothing left to judge
    assert inv.converged(B().roles(6.0, ["n1"], {}).view(), 5.0, 10).valid is None
    assert inv.converged(B().roles(6.0, ["n1"]).view(), 5.0, 10).valid is None
    assert inv.converged(B().roles(6.0, ["n1"], {"n1": {}}).view(), 5.0, 10).valid is True


def test_converged_without_the_heal_or_late_is_unknown_or_invalid():
    b = B().roles(6.0, ["n1", "n2"], linked("n1")).roles(15.0, ["n1", "n2"], linked("n1"))
    v = inv.converged(b.view(), None, 10)
    assert v == Verdict(NAME_CONV, None, None, "<= 10", "the heal (a nemesis end op)")
    v = inv.converged(b.view(), 5.0, 10)
    assert v == Verdict(NAME_CONV, None, {"snapshots": 2}, "<= 10", "role snapshots up to 10s after the heal")
    b.roles(15.5, ["n2", "n3"], linked("n2", "n1", link="down"))
    v = inv.converged(b.view(), 5.0, 10)
    assert v == Verdict(NAME_CONV, False, {"snapshots": 3, "last": ["n2", "n3"]}, "<= 10")
    assert inv.converged(b.view(), 5.5, 10).valid is None  # 15.5 is 10 s after: not late yet


# ----------------------------------------------------------------------------------- linearizability
def register(stale_value):
    return (B().write(None, 1, 0.0, 1.0, lane="register").write(None, 2, 2.0, 3.0, lane="register")
            .read(None, stale_value, 4.0, 5.0, lane="final").write(None, 3, 0.0, 9.0, lane="other").view())


def test_linearizable_verdict_and_the_checkers_result():
    v, got = inv.linearizable(register(2))
    assert v == Verdict("the register history is linearizable", True, "linearizable") and got["valid"] is True
    assert got["ops"] == 4
    v, got = inv.linearizable(register(1))
    assert v == Verdict("the register history is linearizable", False, "NOT linearizable")
    assert got["counterexample"] is not None
    v, got = inv.linearizable(register(3), lanes=("register",))
    assert v.valid is False and got["ops"] == 3
    v, got = inv.linearizable(register(3))
    assert v.valid is True and got["ops"] == 4


def test_linearizable_undecided_is_unknown(monkeypatch):
    monkeypatch.setattr(inv.lin, "check", lambda records, model, timeout: {"valid": None, "reason": "too big",
                                                                          "seen": (model, timeout)})
    v, got = inv.linearizable(register(2), timeout=2.5)
    assert v == Verdict("the register history is linearizable", None, "undecided", None, "a verdict within 2.5s (too big)")
    assert got["seen"] == ("register", 2.5)
    monkeypatch.setattr(inv.lin, "check", lambda records, model, timeout: {"valid": None})
    assert inv.linearizable(register(2))[0].missing == "a verdict within 60s (timeout)"


NAME_WIN = ("any linearizability violation involves an op acknowledged in the 1.5s before the fault "
            "(asynchronous replication's lost window)")
EXPECTED_WIN = "linearizable once the window's ops may or may not have happened"
LOST = {"valid": False}  # what linearizable said of the history (the check re-decides it with the window)


def lost_write(t0, t1, final=1, faults=(10.0,), type="ok", window=1.5):
    """Write 1, then write 2 at [t0, t1] (t1 None: never completed), a 2 s kill at each of
    ``faults``, and a final read at 30 s that finds ``final``."""
    b = B().write("k", 1, 0.0, 1.0, lane="register").write("k", 2, t0, t1, lane="register", type=type)
    for t in faults:  # a heal has no lost window: the ends are there to show it
        b.add(kind="nemesis", f="kill", phase="start", value="master", time=t, params={"nodes": ["n1"]})
        b.add(kind="nemesis", f="kill", phase="end", value="master", time=t + 2.0, params={"nodes": ["n1"]})
    return b.read("k", final, 30.0, 31.0, lane="final").view({} if window is None else {"repl_lag_window_s": window})


@pytest.mark.parametrize("t0, t1, explained", [
    (1.2, 1.5, False),              # acknowledged long before the fault: a loss the window does not excuse
    (8.3, 8.49, False),             # just before the window
    (8.4, 8.5, True),               # completed at the window's start
    (9.9, 10.1, True),              # in flight across the fault
    (10.0, 12.0, True),             # invoked at the fault
    (10.0 + 1e-6, 12.0, True),      # within the microsecond of the record's rounding
    (10.01, 12.0, False),           # invoked after the fault: acknowledged by the new master, so it had to stay
])
def test_a_lost_write_is_explained_only_inside_the_window(t0, t1, explained):
    v = inv.explained_by_lost_window(lost_write(t0, t1), LOST)
    then = "linearizable" if explained else "NOT linearizable"
    assert v == Verdict(NAME_WIN, explained, {"ops_made_indeterminate": int(explained), "then": then}, EXPECTED_WIN)


def test_every_final_read_empty_is_not_explained_by_the_window():
    # Write 2 sits in the window, but write 1 was acknowledged long before: no value at all is a loss.
    v = inv.explained_by_lost_window(lost_write(9.5, 9.6, final=None), LOST)
    assert v.valid is False and v.observed == {"ops_made_indeterminate": 1, "then": "NOT linearizable"}


def test_each_fault_has_its_window_and_the_window_is_a_setting():
    two = (10.0, 20.0)
    assert inv.explained_by_lost_window(lost_write(19.4, 19.5, faults=two), LOST).valid is True
    assert inv.explained_by_lost_window(lost_write(9.4, 9.5, faults=two), LOST).valid is True
    assert inv.explained_by_lost_window(lost_write(18.0, 18.4, faults=two), LOST).valid is False
    assert inv.explained_by_lost_window(lost_write(11.5, 11.6, faults=two), LOST).valid is False  # during a fault
    assert inv.explained_by_lost_window(lost_write(18.0, 18.4, faults=two, window=2.0), LOST).valid is True
    default = inv.explained_by_lost_window(lost_write(8.7, 8.8, window=None), LOST)  # 1 s when not set
    assert default.valid is False and default.name == NAME_WIN.replace("1.5s", "1s")
    assert inv.explained_by_lost_window(lost_write(9.1, 9.2, window=None), LOST).valid is True


def test_only_ok_ops_are_made_indeterminate():
    # A failed write did not happen, an unfinished one is info already: nothing is turned.
    for v in (inv.explained_by_lost_window(lost_write(9.5, 9.6, type="fail"), LOST),
              inv.explained_by_lost_window(lost_write(9.5, None), LOST)):
        assert v.observed == {"ops_made_indeterminate": 0, "then": "linearizable"} and v.valid is True


def test_the_lanes_judged_are_the_linearizability_checks():
    h = (B().write("k", 1, 0.0, 1.0, lane="register").write("k", 3, 1.1, 1.2, lane="other")
         .write("k", 2, 9.5, 9.6, lane="register")
         .add(kind="nemesis", f="kill", phase="start", value="master", time=10.0, params={})
         .read("k", 1, 30.0, 31.0, lane="final").view({"repl_lag_window_s": 1.5}))
    assert inv.explained_by_lost_window(h, LOST, lanes=("register",)).valid is True
    assert inv.explained_by_lost_window(h, LOST).valid is False  # the other lane's 3 was acknowledged, then gone


def test_explained_by_lost_window_valid_unknown_and_undecided(monkeypatch):
    h = lost_write(9.5, 9.6)
    assert inv.explained_by_lost_window(h, {"valid": True}) == Verdict(NAME_WIN, True,
                                                                       "linearizable: nothing to explain")
    assert inv.explained_by_lost_window(h, {"valid": None}) == Verdict(
        NAME_WIN, None, None, EXPECTED_WIN, "a verdict of the checker and the fault's time")
    no_fault = RunView([r for r in h.records if r["kind"] != "nemesis"], "s", h.settings)
    assert inv.explained_by_lost_window(no_fault, LOST).missing == "a verdict of the checker and the fault's time"
    assert inv.explained_by_lost_window(no_fault, {"valid": True}).valid is True
    seen = []
    monkeypatch.setattr(inv.lin, "check", lambda records, model, timeout: seen.append((model, timeout)) or
                        {"valid": None, "reason": "memory"})
    assert inv.explained_by_lost_window(h, LOST, timeout=2.5) == Verdict(
        NAME_WIN, None, {"ops_made_indeterminate": 1, "then": "undecided"}, EXPECTED_WIN,
        "a verdict within 2.5s on the window's history (memory)")
    assert seen == [("register", 2.5)]
    monkeypatch.setattr(inv.lin, "check", lambda records, model, timeout: {"valid": None})
    assert inv.explained_by_lost_window(h, LOST).missing == "a verdict within 60s on the window's history (timeout)"


def test_indeterminate_in_turns_the_ok_ops_that_ran_in_a_window():
    recs = [c(1, "invoke", "write", "k", 1, 8.0), c(1, "ok", "write", "k", 1, 9.0),      # in
            c(2, "invoke", "read", "k", None, 9.5), c(2, "ok", "read", "k", 1, 9.6),     # in
            c(3, "invoke", "write", "k", 2, 9.7), c(3, "fail", "write", "k", 2, 9.8),    # a fail stays
            c(4, "invoke", "write", "k", 3, 9.7), c(4, "info", "write", "k", 3, 9.8),    # info already
            c(1, "invoke", "write", "k", 4, 11.0), c(1, "ok", "write", "k", 4, 11.1),    # after it: stays
            {"kind": "nemesis", "f": "kill", "phase": "start", "time": 10.0, "process": 1},
            c(5, "ok", "write", "k", 5, 9.9)]                                             # never invoked: stays
    out, turned = inv.indeterminate_in(recs, [(8.5, 10.0)])
    assert turned == 2
    assert [r.get("type") for r in out] == ["invoke", "info", "invoke", "info", "invoke", "fail", "invoke", "info",
                                            "invoke", "ok", None, "ok"]
    assert out[1] == {**recs[1], "type": "info"} and recs[1]["type"] == "ok"  # the input is not changed
    assert inv.indeterminate_in(recs, []) == (recs, 0)
    assert inv.indeterminate_in(recs, [(11.1, 12.0)])[1] == 1          # completed at the window's start
    assert inv.indeterminate_in(recs, [(11.1 + 1e-3, 12.0)])[1] == 0


def test_lane_loss_measures_one_lane_against_the_final_reads():
    h = (B().write("a", 1, 0, 1, lane="w", replicated=1).write("b", 2, 0, 1, lane="w")
         .write("c", 3, 0, 1, lane="other", replicated=1)
         .read("a", 1, 2, 3, lane="final").read("b", None, 2, 3, lane="final").read("c", None, 2, 3, lane="final")
         .view())
    plain, waited = inv.lane_loss(h, "w"), inv.lane_loss(h, "w", 1)
    assert (plain["acknowledged"], plain["lost"]) == (2, 1)   # b lost; c is another lane's
    assert (waited["acknowledged"], waited["lost"]) == (1, 0)  # only a had a replica's ack
    assert inv.lane_loss(h, "other", 1)["lost"] == 1
