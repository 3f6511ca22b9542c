"""The checks of the generated tests (ha/checks.py, cluster/checks.py: the new faults and the
random schedules) on hand-written histories: what makes each valid, invalid or unknown."""
import pytest

from valkey_lab.checkers import invariants as inv
from valkey_lab.checkers.verdict import Verdict
from valkey_lab.cluster import checks as cc
from valkey_lab.ha import checks as hc
from valkey_lab.history.view import RunView

A, B_, C = "valkey-master", "valkey-replica1", "valkey-replica2"
SETTINGS = {"addresses": {A: "127.0.1.1:6950", B_: "127.0.1.2:6951", C: "127.0.1.3:6952"}, "down_after_s": 2.0,
            "switch_deadline_s": 17.0, "rejoin_deadline_s": 45.0, "repl_lag_window_s": 1.0,
            "client_backoff": {"budget_s": 20.0}}


class H:
    """A tiny history builder for one run named ``r``."""

    def __init__(self, run="r"):
        self.run, self.records, self.p = run, [], 0

    def add(self, **rec):
        self.records.append({"run": self.run, **rec})
        return self

    def op(self, f, key, value, at, done, type="ok", lane="wait1", node=None, result=None, **kw):
        self.p += 1
        self.add(kind="client", process=self.p, type="invoke", f=f, key=key, value=value, time=at, lane=lane)
        extra = {"node": SETTINGS["addresses"][node]} if node else {}
        return self.add(kind="client", process=self.p, type=type, f=f, key=key,
                        value=value if result is None else result, time=done, lane=lane, **extra, **kw)

    def write(self, key, at, node, lane="wait1", replicated=1, done=None):
        return self.op("write", key, f"v-{key}", at, at + 0.01 if done is None else done, lane=lane, node=node,
                       replicated=replicated)

    def read(self, key, value, at):
        return self.op("read", key, None, at, at + 0.01, lane="final", result=value)

    def roles(self, t, masters, slaves=()):
        nodes = {m: {"role": "master"} for m in masters}
        nodes.update({s: {"role": "slave", "master": masters[0] if masters else None, "link": "up"} for s in slaves})
        return self.add(kind="server", f="roles", node=None, time=t,
                        value={"masters": list(masters), "nodes": nodes, "snapshot": True, "down": []})

    def sentinels(self, t, master):
        return self.add(kind="server", f="sentinels", node=None, time=t,
                        value={f"s{i}": {"master": master, "epoch": 1} for i in range(3)})

    def nemesis(self, f, phase, t, target="master", nodes=(A,), **params):
        return self.add(kind="nemesis", f=f, phase=phase, value=target, time=t, params={"nodes": list(nodes), **params})

    def event(self, t, event, data, node="s1"):
        return self.add(kind="server", f="sentinel-event", node=node, time=t, value={"event": event, "data": data})

    def view(self):
        return RunView(self.records, self.run, SETTINGS)


# -- one master accepting writes at a time --------------------------------------------------------------------
def killed_and_restarted() -> H:
    """A acknowledges, dies at 2; B promoted at 4 and acknowledges from 4.5; A restarted at 6
    calls itself master (empty) until Sentinel converts it at 9, but takes no write."""
    h = H()
    for i in range(20):
        h.write(f"a{i}", 0.1 * i, A)
    for i in range(50):
        h.write(f"b{i}", 4.5 + 0.1 * i, B_)
    for k in range(100):
        t = 0.1 * k
        h.roles(t, [A] if t < 2 else [] if t < 4 else [B_, A] if 6 <= t < 9 else [B_],
                slaves=[A] if t >= 9 else [])
    return h


def test_a_restarted_empty_master_is_not_a_second_writable_one():
    h = killed_and_restarted().view()
    assert inv.one_writable_master(h).valid is False  # by role samples alone: two masters, writes acknowledged
    v = hc.one_master_accepting(h)
    assert v.valid is True and v.observed["attributed_writes"] == 70


def test_two_masters_acknowledging_in_turn_is_the_split_brain():
    h = killed_and_restarted()
    h.write("late", 7.0, A)  # A takes a write while B does: a stale client still on it
    v = hc.one_master_accepting(h.view())
    assert v.valid is False and v.observed["while_another_master"] > 0


def test_a_clean_handover_is_one_master_at_a_time():
    h = H()
    for i in range(10):
        h.write(f"a{i}", 0.1 * i, A)
    for i in range(10):
        h.write(f"b{i}", 1.05 + 0.1 * i, B_)
    for k in range(25):
        h.roles(0.1 * k, [A, B_])  # both call themselves master the whole time (a partition)
    assert hc.one_master_accepting(h.view()).valid is True


def test_no_attributed_write_is_unknown():
    h = H().roles(0, [A]).op("write", "k", "v", 0, 0.1)  # no node on the completion
    v = hc.one_master_accepting(h.view())
    assert v.valid is None and "attributed" in v.missing


# -- no failover ---------------------------------------------------------------------------------------------------
def test_same_master_needs_samples_and_fails_on_a_switch():
    h = H()
    for k in range(30):
        h.roles(0.1 * k, [A]).sentinels(0.1 * k, A)
    assert hc.same_master(h.view(), 0.0, 2.9, "x").valid is True
    assert hc.same_master(h.view(), 0.0, 20.0, "x").valid is None  # 30 samples for 20 s: too few
    h.event(1.0, "+switch-master", "myvalkey 127.0.1.1 6950 127.0.1.2 6951")
    assert hc.same_master(h.view(), 0.0, 2.9, "x").valid is False
    assert hc.same_master(H().view(), None, None, "x").valid is None


# -- client_pause ----------------------------------------------------------------------------------------------------
def paused_run(writes_inside: bool = False, odown: bool = False) -> H:
    h = H()
    for k in range(80):
        h.roles(0.1 * k, [A]).sentinels(0.1 * k, A)
    h.nemesis("client_pause", "start", 1.0, seconds=5.0)
    h.nemesis("client_pause", "end", 6.0)
    for i in range(10):
        h.write(f"w{i}", 0.1 * i, A)
    h.write("held", 1.0, A, done=6.05)  # waited out the pause
    if writes_inside:
        h.write("inside", 3.0, A)
    for i in range(10):
        h.write(f"x{i}", 6.1 + 0.1 * i, A)
    for i in range(5):
        h.op("read", "reg", None, 2.0 + 0.5 * i, 2.01 + 0.5 * i, lane="register", node=A, result=None)
    h.event(4.9, "+sdown", "master myvalkey 127.0.1.1 6950")
    if odown:
        h.event(5.0, "+odown", "master myvalkey 127.0.1.1 6950 #quorum 2/2")
    for key in [f"w{i}" for i in range(10)] + ["held", "inside"] + [f"x{i}" for i in range(10)]:
        h.read(key, f"v-{key}", 7.5)
    return h


def judge(check, h: H):
    from valkey_lab.checkers.verdict import Judgement
    r = Judgement("t")
    check(h.view(), r)
    return r


def test_client_pause_passes_with_a_held_write_and_reports_the_sdown():
    r = judge(hc.client_pause, paused_run())
    assert r.valid is True, [c for c in r.checks if c["ok"] is not True]
    assert r.metrics["write_stall_s"] == 5.14 and r.metrics["sdown_during_pause"] == ["s1 at 3.90s"]


def test_client_pause_fails_on_a_write_inside_the_pause_or_an_odown():
    assert judge(hc.client_pause, paused_run(writes_inside=True)).valid is False
    r = judge(hc.client_pause, paused_run(odown=True))
    assert r.valid is False and any("+odown" in c["check"] and c["ok"] is False for c in r.checks)


def pause_edges(writes=(), after=True, held=True, seconds=5.0, events=()):
    """A 5 s pause from t=1 (end 6, heal at 6): writes before it, the extra ``writes`` as
    (at, done, type), optionally the held write and writes after it, Sentinel ``events``."""
    h = H()
    for k in range(80):
        h.roles(0.1 * k, [A]).sentinels(0.1 * k, A)
    h.nemesis("client_pause", "start", 1.0, **({} if seconds is None else {"seconds": seconds}))
    h.nemesis("client_pause", "end", 6.0)
    keys = []
    for i in range(10):
        keys.append(f"w{i}")
        h.write(f"w{i}", 0.1 * i, A)  # the last completes at 0.91
    for n, (at, done, type) in enumerate(writes):
        if done is None:  # never completed
            h.add(kind="client", process=900 + n, type="invoke", f="write", key=f"e{n}", value="v", time=at,
                  lane="wait1")
        else:
            h.op("write", f"e{n}", f"v-e{n}", at, done, type=type, node=A, replicated=1)
            keys += [f"e{n}"] if type == "ok" else []
    if held:
        keys.append("held")
        h.write("held", 1.0, A, done=6.05)
    if after:
        for i in range(10):
            keys.append(f"x{i}")
            h.write(f"x{i}", 6.1 + 0.1 * i, A)
    for i in range(5):
        h.op("read", "reg", None, 2.0 + 0.5 * i, 2.01 + 0.5 * i, lane="register", node=A, result=None)
    for t, event in events:
        h.event(t, event, "master myvalkey 127.0.1.1 6950" + (" #quorum 2/2" if event == "+odown" else ""))
    for key in keys:
        h.read(key, f"v-{key}", 7.5)
    return judge(hc.client_pause, h)


PAUSE_HELD = "no write was acknowledged inside the pause (the pause held)"
PAUSE_RESUMED = "writes resumed within 1.5 s of the pause's end"
PAUSE_ODOWN = "no Sentinel saw the master objectively down (+odown): PING is answered during a WRITE pause"


def _pause_checks(r):
    return {c["check"]: c["ok"] for c in r.checks}


@pytest.mark.parametrize("writes, want, stall", [
    ([(1.25, 1.0 + 0.3, "ok")], True, round(6.05 - (1.0 + 0.3), 3)),   # at the pause's start + 0.3: before it
    ([(5.6, 6.0 - 0.3, "ok")], True, round(6.0 - 0.3 - 0.91, 3)),       # at its end - 0.3: after it
    ([(4.9, 5.0, "ok")], False, 5.14),                                   # inside
    ([(1.25, 1.31, "ok")], False, 5.14),
])
def test_client_pause_edges_of_the_pause(writes, want, stall):
    r = pause_edges(writes)
    assert _pause_checks(r)[PAUSE_HELD] is want and r.metrics["write_stall_s"] == stall


def test_client_pause_resumed_edges_and_missing_writes():
    assert _pause_checks(pause_edges([(7.0, 7.5, "ok")], after=False, held=False))[PAUSE_RESUMED] is True  # 1.5 s
    assert _pause_checks(pause_edges([(7.0, 7.51, "ok")], after=False, held=False))[PAUSE_RESUMED] is False
    # Only a refusal after the pause: writes were tried and none resumed.
    assert _pause_checks(pause_edges([(5.0, 6.0 - 0.3, "fail")], after=False, held=False))[PAUSE_RESUMED] is False
    assert _pause_checks(pause_edges([(6.05, 6.1, "fail")], after=False, held=False))[PAUSE_RESUMED] is False
    # A refusal well inside the pause is no try after it; an unfinished write is none either.
    for writes in ([(4.0, 5.0, "fail")], [(5.0, None, "ok")]):
        r = pause_edges(writes, after=False, held=False)
        assert _pause_checks(r)[PAUSE_RESUMED] is None and r.metrics["write_stall_s"] is None
    assert pause_edges(seconds=None).metrics["pause_s"] == 0.0


def test_client_pause_sentinel_events_up_to_a_second_after_the_heal():
    late = pause_edges(events=[(7.5, "+odown"), (7.5, "+sdown")])
    assert _pause_checks(late)[PAUSE_ODOWN] is True and late.metrics["sdown_during_pause"] == []
    near = pause_edges(events=[(6.5, "+odown"), (6.5, "+sdown")])
    assert _pause_checks(near)[PAUSE_ODOWN] is False and near.metrics["sdown_during_pause"] == ["s1 at 5.50s"]


# -- sentinel_stall ---------------------------------------------------------------------------------------------------
def stall_run(untilt: bool = True, sdown_in_tilt: bool = False) -> H:
    h = H()
    for k in range(400):
        h.roles(0.1 * k, [A]).sentinels(0.1 * k, A)
    for i in range(390):
        h.write(f"w{i}", 0.1 * i, A)
        h.read(f"w{i}", f"v-w{i}", 39.5)
    h.nemesis("sentinel_stall", "start", 1.0, target="sentinel:1", nodes=("valkey-sentinel1",))
    h.nemesis("sentinel_stall", "end", 5.0, target="sentinel:1", nodes=("valkey-sentinel1",))
    h.event(5.03, "+tilt", "#tilt mode entered", node="valkey-sentinel1")
    if sdown_in_tilt:
        h.event(6.0, "+sdown", "master myvalkey 127.0.1.1 6950", node="valkey-sentinel1")
    if untilt:
        h.event(35.03, "-tilt", "#tilt mode exited", node="valkey-sentinel1")
    return h


def test_sentinel_stall_tilts_and_acts_on_nothing():
    r = judge(hc.sentinel_stall, stall_run())
    assert r.valid is True, [c for c in r.checks if c["ok"] is not True]
    assert r.metrics["tilt_s"] == 30.0 and r.metrics["tilt_after_resume_s"] == 0.03
    assert judge(hc.sentinel_stall, stall_run(sdown_in_tilt=True)).valid is False
    short = stall_run(untilt=False)
    short.records = [r for r in short.records if r["time"] < 30.0]
    assert judge(hc.sentinel_stall, short).valid is None  # the history ends inside the TILT period: unknown
    long = stall_run(untilt=False)
    assert judge(hc.sentinel_stall, long).valid is None  # 34.9 s after +tilt: not past 30 + 5 yet
    long.roles(41.0, [A])
    assert judge(hc.sentinel_stall, long).valid is False  # long past it and still no -tilt


# -- random schedules ----------------------------------------------------------------------------------------------------
def random_run(lost_wait_write: bool = False, failover: bool = True) -> H:
    h = killed_and_restarted()
    h.nemesis("kill", "start", 2.0, i=0)
    h.nemesis("kill", "end", 6.0, i=0)
    if failover:
        h.event(3.9, "+switch-master", "myvalkey 127.0.1.1 6950 127.0.1.2 6951")
    for i in range(20):
        h.read(f"a{i}", f"v-a{i}", 9.5)
    for i in range(50):
        h.read(f"b{i}", "gone" if lost_wait_write and i == 3 else f"v-b{i}", 9.5)
    for k in range(100, 120):
        h.roles(0.1 * k, [B_], slaves=[A, C])
    return h


def test_a_random_run_is_judged_by_every_generic_checker():
    r = judge(hc.random_schedule, random_run())
    names = [c["check"] for c in r.checks]
    assert any("WAIT 1" in n for n in names) and any("fail means not applied" in n for n in names)
    assert any("at most one master" in n for n in names) and any("fault 0 (kill master)" in n for n in names)
    assert any("converged" in n for n in names) and any("linearizab" in n for n in names)
    assert not any(c["ok"] is False for c in r.checks), [c for c in r.checks if c["ok"] is False]
    assert r.metrics["faults"] == 1 and r.metrics["failovers"] == 1
    assert r.details["nemesis"][0] == {"i": 0, "f": "kill", "target": "master", "nodes": A, "start_s": 2.0,
                                       "end_s": 6.0}


def test_a_register_value_written_by_a_cas_is_not_a_value_from_nowhere():
    h = random_run()
    h.op("write", "reg", "1", 5.0, 5.01, lane="register", node=B_)
    h.op("cas", "reg", ["1", "2"], 5.1, 5.11, lane="register", node=B_)
    h.read("reg", "2", 9.6)
    r = judge(hc.random_schedule, h)
    assert not any(c["ok"] is False for c in r.checks), [c for c in r.checks if c["ok"] is False]


def test_a_lost_wait_acknowledged_write_fails_a_random_run():
    r = judge(hc.random_schedule, random_run(lost_wait_write=True))
    assert r.valid is False and any("WAIT 1" in c["check"] and c["ok"] is False for c in r.checks)


def test_a_random_run_without_its_counter_is_unknown_not_passed():
    # The random workload always runs a counter: a history without one lacks evidence.
    r = judge(hc.random_schedule, random_run())
    assert any(c["check"].startswith("no INCR applied twice") and c["ok"] is None for c in r.checks)
    assert r.valid is None


def test_without_a_failover_every_acknowledged_write_is_judged():
    r = judge(hc.random_schedule, random_run(failover=False))
    assert any("no failover happened" in c["check"] for c in r.checks)


def test_the_cluster_converged_needs_a_whole_round_after_the_heal():
    slots = {"node-7000": "0-5460", "node-7001": "5461-10922", "node-7002": "10923-16383"}

    def sample(viewer, t):
        nodes = {n: {"role": "primary" if n in slots else "replica", "flags": [], "config_epoch": 1,
                     "slots": slots.get(n, "-"), "master": None, "id": n, "myself": n == viewer}
                 for n in [f"node-{7000 + i}" for i in range(6)]}
        return {"kind": "server", "f": "cluster-view", "node": viewer, "time": t, "run": "r",
                "value": {"round": 50, "viewer": viewer, "current_epoch": 1, "state": "ok", "nodes": nodes}}
    records = [sample(f"node-{7000 + i}", 5.0) for i in range(6)]
    got = cc.cluster_converged(RunView(records, "r", {}), 4.0, 10.0)
    assert got.valid is True and got.observed == {"converged_s": 1.0}
    assert cc.cluster_converged(RunView(records, "r", {}), 6.0, 10.0).valid is None  # nothing after that heal
    assert cc.cluster_converged(RunView(records[:5], "r", {}), 4.0, 10.0).valid is None  # a node missing
    records[2]["value"]["state"] = "fail"
    assert cc.cluster_converged(RunView(records, "r", {}), 4.0, 10.0).valid is None


def _round(n, t, state="ok", flagged=None, dt=0.0):
    """One sampling round of the six nodes, the first at ``t`` and each next ``dt`` later."""
    slots = {"node-7000": "0-5460", "node-7001": "5461-10922", "node-7002": "10923-16383"}
    out = []
    for i in range(6):
        viewer = f"node-{7000 + i}"
        nodes = {m: {"role": "primary" if m in slots else "replica", "flags": ["fail?"] if m == flagged else [],
                     "config_epoch": 1, "slots": slots.get(m, "-"), "master": None, "id": m, "myself": m == viewer}
                 for m in [f"node-{7000 + j}" for j in range(6)]}
        out.append({"kind": "server", "f": "cluster-view", "node": viewer, "time": t + i * dt, "run": "r",
                    "value": {"round": n, "viewer": viewer, "current_epoch": 1, "state": state, "nodes": nodes}})
    return out


CONVERGED = "the cluster converged within 10s of the heal (6 nodes ok, no flags, one owner per range)"


def test_cluster_converged_edges_of_the_heal_and_the_deadline():
    def judged(*rounds, since=4.0):
        return cc.cluster_converged(RunView([s for rd in rounds for s in rd], "r", {}), since, 10.0)
    failing = dict(state="fail")
    assert judged(_round(1, 4.0)) == Verdict(CONVERGED, True, {"converged_s": 0.0}, "<= 10.0")    # at the heal
    assert judged(_round(1, 3.9, dt=0.1)).valid is None      # its first sample came before the heal
    assert judged(_round(1, 14.0)) == Verdict(CONVERGED, True, {"converged_s": 10.0}, "<= 10.0")  # at the deadline
    assert judged(_round(1, 14.5)).valid is False             # converged, but late
    late = judged(_round(1, 5.0, **failing), _round(2, 14.5, **failing))
    assert late == Verdict(CONVERGED, False, {"rounds": 2, "last_states": {f"node-{7000 + i}": "fail"
                                                                          for i in range(6)}}, "<= 10.0")
    assert judged(_round(1, 5.0, **failing), _round(2, 6.0, **failing), _round(3, 14.5, flagged="node-7001")
                  ).observed["last_states"] == {f"node-{7000 + i}": "ok" for i in range(6)}  # the last round's
    # Not converged and not yet past the deadline: unknown, however the round's samples spread.
    for rounds in ([_round(1, 7.0, **failing)], [_round(1, 14.0, **failing)], [_round(1, 13.9, dt=0.2, **failing)]):
        assert judged(*rounds) == Verdict(CONVERGED, None, {"rounds": 1}, "<= 10.0",
                                          "sampling rounds up to 10s after the heal")
    assert judged(_round(1, 5.0, flagged="node-7002")).valid is None       # a node flagged
    assert judged(_round(1, 5.0), since=None) == Verdict(CONVERGED, None, None, "<= 10.0", "the heal (a nemesis end op)")


def test_a_cluster_random_run_is_judged_by_every_generic_checker():
    slots = {"node-7000": "0-5460", "node-7001": "5461-10922", "node-7002": "10923-16383"}
    h = H()

    def rnd(t, n):
        for i in range(6):
            viewer = f"node-{7000 + i}"
            nodes = {f"node-{7000 + k}": {"role": "primary" if f"node-{7000 + k}" in slots else "replica",
                                          "flags": [], "config_epoch": 1, "slots": slots.get(f"node-{7000 + k}", "-"),
                                          "master": None, "id": str(k), "myself": k == i} for k in range(6)}
            h.add(kind="server", f="cluster-view", node=viewer, time=t,
                  value={"round": n, "viewer": viewer, "current_epoch": 1, "state": "ok", "nodes": nodes})
    for n in range(10):
        rnd(0.5 * n, n)
    h.nemesis("kill", "start", 1.0, target="node-7005", nodes=("node-7005",), i=0)
    h.nemesis("kill", "end", 2.0, target="node-7005", nodes=("node-7005",), i=0)
    for p in slots:
        for i in range(5):
            h.write(f"{p}:{i}", 0.5 * i, None, lane=p)
            h.read(f"{p}:{i}", f"v-{p}:{i}", 4.8)
    h.op("write", "reg", "1", 3.0, 3.01, lane="register")
    h.op("cas", "reg", ["1", "2"], 3.1, 3.11, lane="register")
    h.read("reg", "2", 4.8)
    for i in range(3):
        h.op("incr", "counter", 1, 3.2 + 0.1 * i, 3.21 + 0.1 * i, lane="counter", result=i + 1)
    h.read("counter", "3", 4.8)
    h.add(kind="harness", f="schedule", time=0.0, value={"seed": 42})
    h.add(kind="server", f="layout", node=None, time=5.0, value={"problems": [], "done": [], "seconds": 0.1})
    settings = {"failover_deadline_s": 29.0, "repl_lag_window_s": 1.0, "node_timeout_s": 3.0}
    from valkey_lab.checkers.verdict import Judgement
    r = Judgement("t")
    cc.random_schedule(RunView(h.records, "r", settings), r)
    names = [c["check"] for c in r.checks]
    assert any("node-7000's range: no write reported failed" in n for n in names)
    assert any("at every sample, each slot range had at most one primary" in n for n in names)
    assert any("fault 0 (kill node-7005)" in n for n in names) and any("converged" in n for n in names)
    assert r.valid is True, [c for c in r.checks if c["ok"] is not True]
    assert r.metrics["seed"] == 42 and r.metrics["faults"] == 1


@pytest.mark.parametrize("rate, bits", [("24mbit", 24e6), ("1gbit", 1e9), ("500kbit", 5e5), ("8bit", 8.0),
                                        ("1.5mbit", 1.5e6)])
def test_a_rate_as_tc_reads_it(rate, bits):
    assert hc.parse_bits(rate) == bits


def test_a_rate_without_a_unit_is_refused():
    with pytest.raises(ValueError, match="^not a rate: '24'$"):
        hc.parse_bits("24")


def test_the_link_over_time_has_a_row_per_change_of_link_sync_or_role():
    h = H()
    mb = 2 ** 20

    def sync(t, link, busy, role="slave", read=0, total=0, node=B_):
        h.add(kind="server", f="sync", node=node, time=t,
              value={"master_link_status": link, "master_sync_in_progress": busy, "role": role,
                     "master_sync_read_bytes": read, "master_sync_total_bytes": total})
    sync(10.0, "down", 1, read=0, total=0)
    sync(10.5, "down", 1, read=3 * mb, total=8 * mb)       # same state: no row
    sync(11.0, "down", 0, read=8 * mb, total=8 * mb)
    sync(11.2, "down", 2, read=None, total=1)              # one byte to go is still a total
    sync(11.5, "up", 0)
    sync(12.0, "up", 0, role="master")                     # a role change alone is a change
    sync(12.5, "up", 0, node=C)                            # another node's samples are not this node's
    rows = hc.link_timeline(h.view(), B_, 10.0)
    assert rows == [
        {"t_s": 0.0, "link": "down", "sync_in_progress": 1, "read_mb": 0.0, "total_mb": None},
        {"t_s": 1.0, "link": "down", "sync_in_progress": 0, "read_mb": 8.0, "total_mb": 8.0},
        {"t_s": 1.2, "link": "down", "sync_in_progress": 2, "read_mb": 0.0, "total_mb": 0.0},
        {"t_s": 1.5, "link": "up", "sync_in_progress": 0, "read_mb": 0.0, "total_mb": None},
        {"t_s": 2.0, "link": "up", "sync_in_progress": 0, "read_mb": 0.0, "total_mb": None}]


def test_a_cluster_window_counts_what_was_invoked_in_it():
    h = H()
    h.op("write", "k1", "a", 10.0, 10.1, lane="node-7000")              # at the window's start: in
    h.op("write", "k2", "b", 10.5, 12.5, lane="node-7000")              # 2 s latency, completes at the edge
    h.op("write", "k3", "c", 11.0, 11.2, lane="node-7000", type="fail")
    h.op("write", "k4", "d", 11.5, 13.0, lane="node-7000", type="info")
    h.op("write", "k5", "e", 12.5, 12.6, lane="node-7000")              # invoked at the end: out
    h.op("write", "k6", "f", 9.0, 10.2, lane="node-7000")               # invoked before: out
    got = cc._window(h.view(), "node-7000", 10.0, 12.5)
    assert got == {"ok": 2, "fail": 1, "info": 1, "ok_per_s": 0.8, "latency_p99_ms": 2000.0, "longest_gap_s": 2.4}
    assert cc._window(h.view(), "node-7000", 10.0, 10.0)["ok_per_s"] is None
    empty = cc._window(h.view(), "node-7001", 10.0, 12.5)
    assert empty == {"ok": 0, "fail": 0, "info": 0, "ok_per_s": 0.0, "latency_p99_ms": None, "longest_gap_s": 2.5}
