"""The cluster timeline's pure parts: CLUSTER NODES samples -> events, epoch and double-claim
checks (hand-written samples, no processes)."""
from valkey_lab.cluster.observe import diff, double_claims, epoch_regressions, events, owners, relative, snapshot
from valkey_lab.cluster.topology import parse_cluster_nodes

IDS = {f"node-700{i}": f"{i}" * 40 for i in range(6)}
PORTS = {name: 7200 + i for i, name in enumerate(IDS)}
BY_PORT = {p: n for n, p in PORTS.items()}


def line(name, flags, master="-", epoch=1, slots=""):
    return (f"{IDS[name]} 127.0.3.{PORTS[name] - 7199}:{PORTS[name]}@{PORTS[name] + 10000},127.0.3.{PORTS[name] - 7199} "
            f"{flags} {IDS[master] if master != '-' else '-'} 0 0 {epoch} connected {slots}").strip()


def view(viewer, t, current_epoch=6, state="ok", **overrides):
    """The healthy layout as ``viewer`` sees it, with per-node overrides (flags, master, epoch, slots)."""
    base = {"node-7000": ("master", "-", 1, "0-5460"), "node-7001": ("master", "-", 2, "5461-10922"),
            "node-7002": ("master", "-", 3, "10923-16383"), "node-7003": ("slave", "node-7000", 1, ""),
            "node-7004": ("slave", "node-7001", 2, ""), "node-7005": ("slave", "node-7002", 3, "")}
    base.update(overrides)
    text = "\n".join(line(n, ("myself," if n == viewer else "") + f, m, e, s) for n, (f, m, e, s) in base.items())
    lines = parse_cluster_nodes(text)
    return snapshot(viewer, lines, {"cluster_current_epoch": str(current_epoch), "cluster_state": state},
                    lambda ln: BY_PORT[ln.port], t)


def failover_samples():
    """node-7001 watches node-7000 die: fail?, fail, then node-7003 promoted with epoch 7."""
    return [view("node-7001", 0.0),
            view("node-7001", 3.5, **{"node-7000": ("master,fail?", "-", 1, "0-5460")}),
            view("node-7001", 4.0, **{"node-7000": ("master,fail", "-", 1, "0-5460")}),
            view("node-7001", 5.0, current_epoch=7, **{"node-7000": ("master,fail", "-", 1, ""),
                                                       "node-7003": ("master", "-", 7, "0-5460")})]


def test_snapshot_names_nodes_and_masters():
    s = view("node-7001", 1.0)
    assert s["nodes"]["node-7003"]["master"] == "node-7000" and s["nodes"]["node-7001"]["myself"]
    assert s["current_epoch"] == 6 and s["state"] == "ok"
    assert owners(s) == {"0-5460": "node-7000", "5461-10922": "node-7001", "10923-16383": "node-7002"}


def test_a_failover_reads_as_pfail_fail_promoted_epochs():
    evts = events(failover_samples())
    kinds = [(e["event"], e["node"]) for e in evts]
    assert kinds.index(("fail?", "node-7000")) < kinds.index(("fail", "node-7000")) < kinds.index(("promoted", "node-7003"))
    assert ("currentEpoch", "cluster") in kinds and ("configEpoch", "node-7003") in kinds
    promoted = next(e for e in evts if e["event"] == "promoted")
    assert promoted["t"] == 5.0 and "0-5460" in promoted["data"] and "configEpoch 7" in promoted["data"]
    rel = relative(evts, 3.0)
    assert rel[0]["t_s"] == 0.5 and "t" not in rel[0] and "what" not in rel[0]


def test_the_same_event_from_several_viewers_is_kept_once_unless_it_happens_again():
    a = [view("node-7001", 0.0), view("node-7001", 4.0, **{"node-7000": ("master,fail", "-", 1, "0-5460")})]
    b = [view("node-7002", 0.1), view("node-7002", 4.2, **{"node-7000": ("master,fail", "-", 1, "0-5460")})]
    fails = [e for e in events(a + b) if e["event"] == "fail"]
    assert len(fails) == 1 and fails[0]["viewer"] == "node-7001"
    assert len([e for e in events(a + b, first_only=False) if e["event"] == "fail"]) == 2
    later = [view("node-7001", 20.0), view("node-7001", 30.0, **{"node-7000": ("master,fail", "-", 1, "0-5460")})]
    assert len([e for e in events(a + later) if e["event"] == "fail"]) == 2  # a second failure is news


def test_first_snapshot_reports_only_flags_already_raised():
    s = view("node-7001", 0.0, **{"node-7000": ("master,fail", "-", 1, "0-5460")})
    assert [(e["event"], e["node"]) for e in diff(None, s)] == [("fail", "node-7000")]


def test_demotion_and_cluster_state_changes():
    before = view("node-7000", 0.0)
    after = view("node-7000", 1.0, state="fail", **{"node-7000": ("slave", "node-7003", 7, ""),
                                                   "node-7003": ("master", "-", 7, "0-5460")})
    kinds = {(e["event"], e["node"]) for e in diff(before, after)}
    assert {("demoted", "node-7000"), ("promoted", "node-7003"), ("cluster_state fail", "node-7000")} <= kinds


def test_epochs_that_only_rise_pass_and_a_regression_is_named():
    assert epoch_regressions(failover_samples()) == []
    bad = failover_samples() + [view("node-7001", 6.0, current_epoch=5, **{"node-7003": ("master", "-", 6, "0-5460")})]
    problems = epoch_regressions(bad)
    assert any("currentEpoch 7 -> 5" in p for p in problems)
    assert any("node-7003 configEpoch 7 -> 6" in p for p in problems)


def test_a_role_or_master_change_is_not_an_epoch_regression():
    """CLUSTER NODES shows a replica with its primary's configEpoch (Valkey's nodeEpoch()): a
    primary that became a replica of a primary with a lower epoch is not its epoch going down."""
    demoted = failover_samples() + [view("node-7001", 6.0, current_epoch=7,
                                         **{"node-7003": ("slave", "node-7000", 1, ""),
                                            "node-7000": ("master", "-", 1, "0-5460")})]
    assert epoch_regressions(demoted) == []
    same_master = [view("node-7001", 0.0, **{"node-7003": ("slave", "node-7000", 3, "")}),
                   view("node-7001", 1.0, **{"node-7003": ("slave", "node-7000", 2, "")})]
    assert epoch_regressions(same_master) == ["node-7001 sees node-7003 configEpoch 3 -> 2"]


def test_double_claims_count_only_nodes_in_state_ok():
    promoted = {"node-7003": ("master", "-", 7, "0-5460")}
    new = view("node-7003", 1.0, **promoted)
    stale_ok = view("node-7000", 1.0)  # still claims 0-5460, and says cluster_state ok: two primaries
    stale_fail = view("node-7000", 1.0, state="fail")  # claims, but refuses every query
    assert double_claims([[new, stale_ok]]) == ["node-7003 and node-7000 both claim 0-5460"]
    assert double_claims([[new, stale_fail]]) == []
    assert double_claims([[view("node-7000", 1.0), view("node-7001", 1.0)]]) == []
