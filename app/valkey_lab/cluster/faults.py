"""Faults beyond a crash for the cluster: pause, manual failover, chained failover, the loss
of a whole shard, and a partition. Each is a schedule of the one harness and a check of
its history; they share suites.cluster.judge_failover."""
from __future__ import annotations

from valkey_lab.checkers import loss
from valkey_lab.cluster.lab import PROBE_BUDGET_S, ClusterLab
from valkey_lab.runner.scenario import Scenario, ScenarioResult
from valkey_lab.runner.run import Act, Await, Heal, Hold, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.cluster.scenarios import HEIR, VICTIM, judge_failover, rejoin_s
from valkey_lab.checkers.scenario import judge_linearizable, lane_summary, unavailable_s
from valkey_lab.cluster.topology import LAYOUT, NODES, PRIMARIES, format_ranges
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.writer import Workload, Writer

VICTIM_RANGE = LAYOUT[VICTIM]


def _layout_back(h: RunView, r: ScenarioResult, label: str = "") -> None:
    layout = (h.server("layout") or [{"value": {"problems": ["no restore recorded"]}}])[-1]["value"]
    r.check(f"{label}the deterministic layout is back (node-7000..7002 primaries, each with its replica)",
            not layout["problems"], layout["problems"] or (layout.get("done") or ["nothing to swap"]))
    r.metrics[f"{label}restore_s"] = layout.get("seconds")


def _short_lane(lab: ClusterLab) -> Writer:
    """Writes to node-7000's slots with a 1 s budget: a lost shard must fail them fast."""
    return lab.shard_writer(VICTIM, [VICTIM_RANGE], lane="short", policy=lab.policy(PROBE_BUDGET_S))


def _fast_failures(h: RunView, r: ScenarioResult, since: float, until: float, label: str) -> list:
    ops = [op for op in h.lane("short") if since < op.t_invoke < until]
    budget = h.settings["probe_budget_s"]
    r.check(f"{label}writes to those slots failed, each within the client's budget (a clear error, not a hang)",
            bool(ops) and all(not op.ok and op.t_complete is not None and op.t_complete - op.t_invoke <= budget + 1.0
                              for op in ops),
            {"failed": len(ops), "slowest_s": round(max((op.t_complete - op.t_invoke for op in ops
                                                          if op.t_complete is not None), default=0), 3),
             "errors": sorted({(op.error or "").split(":")[0] for op in ops})})
    return ops


def _others_fine(h: RunView, r: ScenarioResult, since: float, label: str) -> None:
    nt = h.settings["node_timeout_s"]
    rows, bad = {}, False
    for p in PRIMARIES[1:]:
        ops = [op for op in h.lane(p) if op.t_invoke >= since]
        slowest = max((op.t_complete - op.t_invoke for op in ops if op.t_complete is not None), default=0.0)
        not_ok = sum(not op.ok for op in ops)
        bad |= bool(not_ok or slowest >= nt or not ops)
        rows[p] = {"ok": len(ops) - not_ok, "not_ok": not_ok, "slowest_s": round(slowest, 3)}
    r.check(f"{label}writes to the other shards never failed nor stalled", not bad, rows)


def _survivors_ok(h: RunView, r: ScenarioResult, since: float, until: float, dead: list, label: str) -> None:
    states = {s["viewer"]: s["state"] for s in cluster_events.samples_of(h.records)
              if since <= s["t"] <= until and s["viewer"] not in dead}
    r.check(f"{label}the survivors stayed cluster_state:ok (cluster-require-full-coverage no)",
            bool(states) and set(states.values()) == {"ok"}, states)


# ------------------------------------------------------------------------------------ pause
def pause_method(lab: ClusterLab):
    """SIGSTOP / docker pause node-7000: alive, silent. The others must fail it over; resumed,
    it must learn it lost its slots and come back as a replica (not a second primary)."""
    return run(lab, "pause", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(), schedule=[
        Start(Fault("pause", VICTIM)), Await("promoted"), Await("shard-resumed", params={"count": 20}),
        StopWorkload(), Heal(), Await("rejoined"), Await("healthy")])


def pause(h: RunView, r: ScenarioResult) -> None:
    judge_failover(h, r, label="paused primary: ")
    heal = h.heal()
    t_resume = heal["time"] if heal else h.records[-1]["time"]
    after = [round_ for round_ in cluster_events.rounds_of(h.records) if round_ and round_[0]["t"] >= t_resume]
    claims = cluster_events.double_claims(after)
    r.check(f"after the resume, {VICTIM} never served its old slots beside {HEIR} (no two nodes in state ok "
            "claimed the same slots)", bool(after) and not claims, claims[:3] or f"{len(after)} sampling rounds")
    events = cluster_events.events(cluster_events.samples_of(h.records))
    demoted = next((e for e in events if e["event"] == "demoted" and e["node"] == VICTIM and e["t"] >= t_resume), None)
    r.metrics["demoted_after_resume_s"] = demoted and round(demoted["t"] - t_resume, 3)
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, t_resume)
    _layout_back(h, r)


# ----------------------------------------------------------------------------------- manual
def manual_method(lab: ClusterLab):
    """CLUSTER FAILOVER on node-7003 under load, connections held open: the writers' maps and
    connections still point at node-7000, which now answers MOVED; they must follow, and a
    coordinated failover loses no acknowledged write at all (the replica catches up first)."""
    return run(lab, "manual", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(), schedule=[
        Await("vote-timer"), Start(Fault("failover", VICTIM)), Await("promoted"),
        Await("shard-resumed", params={"count": 20}), StopWorkload(), Await("rejoined")])


def manual(h: RunView, r: ScenarioResult) -> None:
    got = judge_failover(h, r, label="CLUSTER FAILOVER: ", coordinated=True)
    failed = [op for op in h.ops if op.f == "write" and not op.ok]
    r.check("no write failed: MOVED / READONLY were followed, nothing exhausted its retries", not failed,
            [f"{op.key}: {op.error}" for op in failed[:3]] or f"{len(h.ops)} ops ok")
    moved = r.metrics.get("moved_on_dead_shard", 0)
    r.check(f"the held connections really were redirected (MOVED read on {VICTIM}'s shard)", moved > 0, moved)
    r.check("a coordinated failover loses no acknowledged write, WAITed or not", got["plain"]["lost"] == 0,
            {k: v for k, v in got["plain"].items() if k not in ("lost_keys", "fail_applied_keys", "unexpected_keys")})
    heal = h.t_fault()
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, heal) if heal is not None else None
    _layout_back(h, r)


# ---------------------------------------------------------------------------------- chained
def chained_method(lab: ClusterLab):
    """Kill node-7000 (node-7003 takes over), then node-7003: that shard has no replica left,
    so nobody can take over. Its slots stop being served while the other shards serve; both
    restarted (node-7003 first), node-7003 serves again and node-7000 is its replica."""
    nt = lab.node_timeout_s
    return run(lab, "chained", workload=lab.shard_workload({VICTIM: 1}, extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Await("promoted"), Await("shard-resumed", params={"count": 20}),
        Start(Fault("kill", HEIR)), Await("flagged-fail", params={"nodes": [HEIR]}), Hold(2 * nt),
        Await("orphan-fails", params={"lane": "short", "count": 3}), StopWorkload(),
        Heal(), Await("served-again", params={"node": VICTIM}),
        Await("rejoined", params={"node": VICTIM, "primary": HEIR})])


def chained(h: RunView, r: ScenarioResult) -> None:
    judge_failover(h, r, label="kill node-7000: ", check_loss=False, prefix="first_")
    t2 = h.t_fault(1)
    heal = h.heal()
    if t2 is None or heal is None:
        r.check("both kills and the restart ran", False, {"second_kill": t2, "restart": heal})
        return
    t_heal = heal["time"]
    survivors = [n for n in NODES if n not in (VICTIM, HEIR)]
    # Once the survivors flag node-7003 fail, nobody may take its slots over until the restart.
    samples = [s for s in cluster_events.samples_of(h.records) if t2 <= s["t"] <= t_heal and s["viewer"] in survivors]
    owners = {s["viewer"]: cluster_events.owners(s).get(format_ranges([VICTIM_RANGE])) for s in samples}
    taken = sorted({o for o in owners.values() if o not in (None, HEIR)})
    r.check(f"with no replica left, nobody took over {format_ranges([VICTIM_RANGE])}: every survivor still "
            f"names {HEIR} its owner", bool(samples) and not taken, taken or f"{len(samples)} samples until the restart")
    fails = [e for e in cluster_events.events(samples) if e["event"] == "fail" and e["node"] == HEIR]
    t_failed = fails[0]["t"] if fails else t2
    _fast_failures(h, r, t_failed, t_heal, "second kill: ")
    _others_fine(h, r, t2, "second kill: ")
    _survivors_ok(h, r, t2, t_heal, [VICTIM, HEIR], "second kill: ")
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, {HEIR} serves its slots again", bool(served),
            round(served[0].t_complete - t_heal, 3) if served else "never")
    all_samples = cluster_events.samples_of(h.records)
    regressions = cluster_events.epoch_regressions(all_samples)
    r.check("across both failovers and the restarts, epochs only went up", not regressions,
            regressions[:3] or f"{len(all_samples)} samples")
    claims = cluster_events.double_claims(cluster_events.rounds_of(h.records))
    r.check("at every sample, each slot range had at most one primary among running nodes in state ok",
            not claims, claims[:3] or f"{len(cluster_events.rounds_of(h.records))} sampling rounds")
    r.metrics.update({"second_fail_detected_s": round(t_failed - t2, 3),
                      "served_again_after_restart_s": round(served[0].t_complete - t_heal, 3) if served else None,
                      "rejoin_s": rejoin_s(h, VICTIM, HEIR, t_heal),
                      "keys_of_lost_shard_note": "no persistence in the lab: the restarted shard starts empty"})
    _layout_back(h, r)


# ------------------------------------------------------------------------------- shard_loss
def shard_loss_method(lab: ClusterLab):
    """Kill a primary and its replica at once. The other shards keep serving
    (cluster-require-full-coverage no); the lost slots fail clearly and quickly (no hang);
    restarted, the shard serves again. Without persistence its keys are gone: reported."""
    return run(lab, "shard_loss", workload=lab.shard_workload(extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", f"shard:{VICTIM}")), Await("flagged-fail", params={"nodes": [VICTIM, HEIR]}),
        Act("lost-slot-probes", {"node": VICTIM, "via": "node-7001"}),
        Await("orphan-fails", params={"lane": "short", "count": 3}), StopWorkload(),
        Heal(), Await("served-again", params={"node": VICTIM}), Await("healthy")])


def shard_loss(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    heal = h.heal()
    if t is None or heal is None:
        r.check("the shard was killed and restarted", False, {"kill": t, "restart": heal})
        return
    t_heal = heal["time"]
    samples = cluster_events.samples_of(h.records)
    flagged = {e["node"]: e["t"] for e in cluster_events.events(samples) if e["event"] == "fail" and e["t"] >= t}
    r.check(f"the survivors flagged {VICTIM} and {HEIR} fail", VICTIM in flagged and HEIR in flagged,
            {n: round(flagged[n] - t, 3) for n in flagged})
    plain = (h.lane("probe-plain") or [None])[-1]
    r.check("a node asked for a lost slot says so: MOVED to the dead owner, or CLUSTERDOWN (never accepts it)",
            plain is not None and not plain.ok and (plain.error or "").startswith(
                ("MovedError", "ClusterDownError", "ResponseError")), plain and plain.error)
    probe = (h.lane("probe-client") or [None])[-1]
    budget = h.settings["probe_budget_s"]
    r.check("the cluster client fails on a lost slot with an error, within its budget (not a hang)",
            probe is not None and not probe.ok and probe.t_complete - probe.t_invoke <= budget + 1.0,
            probe and f"{probe.error} after {probe.t_complete - probe.t_invoke:.2f}s")
    t_flag = max((flagged.get(n, t) for n in (VICTIM, HEIR)), default=t)
    _fast_failures(h, r, t_flag, t_heal, "")
    _others_fine(h, r, t, "")
    _survivors_ok(h, r, t, t_heal, [VICTIM, HEIR], "")
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, the shard serves again ({VICTIM} primary, {HEIR} its replica)", bool(served),
            round(served[0].t_complete - t_heal, 3) if served else "never")
    before = [op for op in h.lane(VICTIM) if op.ok and op.t_invoke < t]
    gone = sum(1 for op in before if h.final.get(op.key) != op.value)
    r.metrics.update({"fail_detected_s": round(t_flag - t, 3),
                      "served_again_after_restart_s": round(served[0].t_complete - t_heal, 3) if served else None,
                      "writes_ok_other_shards": {p: lane_summary(h, p)["ok"] for p in PRIMARIES[1:]},
                      "acked_before_loss": len(before), "acked_before_loss_gone_after_restart": gone,
                      "note": "no persistence in the lab (save \"\", appendonly no): a shard that loses both "
                              "nodes restarts empty"})
    _layout_back(h, r)


# -------------------------------------------------------------------------------- partition
WINDOW_AFTER_PROMOTION_S = 2.0  # both rounds write this long after the promotion: the same window


def _partition_round(lab: ClusterLab, guarded: bool):
    """Cut node-7000 off from the other five nodes while a client holding a direct connection
    keeps writing to it (SET + WAIT 1 100 ms); the same write window in both rounds; heal."""
    name = "partition:with" if guarded else "partition:without"
    lab.act("min-replicas", {}, to_write=1 if guarded else 0)
    host, port = lab.backend.address(VICTIM)
    import redis
    direct = redis.Redis(host, port, password=lab.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                         decode_responses=True)

    def write(key: str, value: str) -> int:
        pipe = direct.pipeline(transaction=False)
        pipe.set(key, value)
        pipe.execute_command("WAIT", 1, 100)
        return int(pipe.execute()[1])
    prefix = lab.key(name, "direct")
    with lab.recorder.running(name):
        lane = Writer(lab.recorder, "direct", write, prefix, pace=0.005, keys=ShardKeys(prefix, [VICTIM_RANGE]),
                      shard=VICTIM)
    try:
        return run(lab, name, workload=Workload([lane]), observers=lab.observers(), schedule=[
            Start(Fault("partition", VICTIM)), Await("promoted"), Hold(WINDOW_AFTER_PROMOTION_S), StopWorkload(),
            Heal(), Await("rejoined")])
    finally:
        direct.close()


def partition_method(lab: ClusterLab):
    """Jepsen's classic on the cluster: the isolated primary takes writes the heal throws away,
    until it notices it is in the minority (node-timeout). Without and with min-replicas."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


def _kind(error: str) -> str:
    for code, needles in (("NOREPLICAS", ("NOREPLICAS",)), ("CLUSTERDOWN", ("CLUSTERDOWN", "ClusterDownError"))):
        if any(n in error for n in needles):
            return code
    return error.split(":")[0]


def _judge_round(h: RunView, r: ScenarioResult, guarded: bool) -> dict:
    label = "with min-replicas-to-write 1: " if guarded else "without min-replicas-to-write: "
    t_cut = h.t_fault()
    if t_cut is None:
        r.check(f"{label}the partition ran", False, None)
        return {}
    samples = cluster_events.samples_of(h.records)
    events = cluster_events.events(samples)
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and e["t"] >= t_cut), None)
    r.check(f"{label}the majority side promoted {HEIR}", promo is not None,
            promo and f"{promo['t'] - t_cut:.2f}s after the cut")
    records = h.client_records(("direct",))
    acked = loss.write_loss(records, lane="direct")
    waited = loss.write_loss(records, lane="direct", min_replicated=1)
    r.check(f"{label}no WAIT-acknowledged write was lost", waited["lost"] == 0, waited["lost"], expected=0)
    ops = h.lane("direct")
    acked_after_cut = sum(1 for op in ops if op.ok and op.t_invoke > t_cut)
    last_ok = max((op.t_complete for op in ops if op.ok), default=t_cut)
    stopped_s = round(last_ok - t_cut, 3)
    errors = sorted({_kind(op.error or "") for op in ops if not op.ok and op.t_invoke > t_cut})
    minority = next((e for e in events if e["event"] == "cluster_state fail" and e["node"] == VICTIM
                     and e["t"] >= t_cut), None)
    lag, nt = h.settings["min_replicas_max_lag_s"], h.settings["node_timeout_s"]
    if guarded:
        r.check(f"{label}the isolated primary stopped acknowledging writes within max-lag + 2 s of the cut "
                "(NOREPLICAS, or CLUSTERDOWN when the minority check fired first)",
                bool({"NOREPLICAS", "CLUSTERDOWN"} & set(errors)) and stopped_s <= lag + 2,
                {"last_ok_after_cut_s": stopped_s, "errors": errors}, expected=f"<= {lag + 2}")
    else:
        r.check(f"{label}the isolated primary kept acknowledging writes after the cut, lost after the heal "
                "(the split brain shows)", acked_after_cut > 0 and acked["lost"] > 0,
                {"acked_after_cut": acked_after_cut, "lost": acked["lost"]})
        r.check(f"{label}it saw itself in the minority and refused writes (cluster_state fail, CLUSTERDOWN) within "
                "node-timeout + 2 s", minority is not None and stopped_s <= nt + 2,
                {"last_ok_after_cut_s": stopped_s, "cluster_state_fail_s": minority and round(minority["t"] - t_cut, 3)},
                expected=f"<= {nt + 2}")
    heal = h.heal()
    return {"acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_cut": acked_after_cut,
            "last_ok_after_cut_s": stopped_s, "refused": acked["failed"], "unknown": acked["unknown"],
            "errors_after_cut": errors, "promotion_s": promo and round(promo["t"] - t_cut, 3),
            "minority_state_fail_s": minority and round(minority["t"] - t_cut, 3),
            "rejoin_after_heal_s": rejoin_s(h, VICTIM, HEIR, heal["time"]) if heal else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(RunView(h.all_records, "partition:without", h.settings), r, guarded=False)
    guarded = _judge_round(RunView(h.all_records, "partition:with", h.settings), r, guarded=True)
    r.metrics.update({"lost_acked_without_min_replicas": without.get("lost_acknowledged"),
                      "lost_acked_with_min_replicas": guarded.get("lost_acknowledged"),
                      "lost_wait_acked_without": without.get("lost_wait_acknowledged"),
                      "lost_wait_acked_with": guarded.get("lost_wait_acknowledged"),
                      "isolated_last_ok_without_s": without.get("last_ok_after_cut_s"),
                      "isolated_last_ok_with_s": guarded.get("last_ok_after_cut_s"),
                      "min_replicas_max_lag_s": h.settings["min_replicas_max_lag_s"],
                      "write_window_after_promotion_s": WINDOW_AFTER_PROMOTION_S,
                      "node_timeout_ms": int(h.settings["node_timeout_s"] * 1000)})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]
    _layout_back(RunView(h.all_records, "partition:with", h.settings), r)


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: ClusterLab):
    """Jepsen's register (5 processes: read, write, cas) on keys of node-7000's slots while
    node-7000 is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(VICTIM), observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Await("promoted"), Await("shard-resumed", params={"lane": "register",
                                                                                       "count": 20}),
        Hold(2.0), StopWorkload(), Heal(), Await("rejoined")])


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    gap = unavailable_s(h, t, "register") if t is not None else None
    nt = h.settings["node_timeout_s"]
    r.check(f"register ops on {VICTIM}'s slots resumed within 4 x node-timeout", gap is not None and gap <= 4 * nt,
            gap, expected=f"<= {4 * nt}")
    r.metrics["unavailable_s"] = gap
    judge_linearizable(h, r, expect=None)


def linearizable_partition_method(lab: ClusterLab):
    """Jepsen's finding on the cluster: node-7000 is cut off from the other nodes while two
    clients hold connections to it. Until it sees itself in the minority (node-timeout) it
    acknowledges everyone's writes, which its cut-off replica never gets. Once node-7003 is
    promoted, every key is read through a fresh cluster client, then the five cluster
    clients go on against node-7003."""
    return run(lab, "linearizable_partition", workload=lab.register_workload(VICTIM, stale=2),
               observers=lab.observers(), schedule=[
        Start(Fault("partition", VICTIM)), Await("promoted"), Act("register-reads"),
        Await("shard-resumed", params={"lane": "register", "count": 20, "after": "promotion"}),
        StopWorkload("register"), Hold(1.0), StopWorkload(), Heal(), Await("rejoined")])


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    events = cluster_events.events(cluster_events.samples_of(h.records))
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and t is not None
                  and e["t"] >= t), None)
    r.check(f"the majority side promoted {HEIR}", promo is not None, promo and f"{promo['t'] - t:.2f}s after the cut")
    judge_linearizable(h, r, expect=False)


METHODS = {"pause": pause_method, "partition": partition_method, "manual": manual_method, "chained": chained_method,
           "shard_loss": shard_loss_method, "linearizable_kill": linearizable_kill_method,
           "linearizable_partition": linearizable_partition_method}

FAULT_SCENARIOS = [
    Scenario("pause", "SIGSTOP / docker pause node-7000: node-7003 promoted; resumed, 7000 is its replica", "pause",
             pause, default=False),
    Scenario("partition", "cut node-7000 off from the other nodes; a direct client writes on; acknowledged writes "
             "lost without / with min-replicas-to-write", "partition", partition, default=False),
    Scenario("manual", "CLUSTER FAILOVER on node-7003 under load: MOVED followed, no write lost", "manual", manual,
             default=False),
    Scenario("chained", "kill node-7000, then node-7003: orphaned slots fail, others serve, epochs rise", "chained",
             chained, default=False),
    Scenario("shard_loss", "kill node-7000 and node-7003: other shards serve, lost slots fail clearly, back on "
             "restart", "shard_loss", shard_loss, default=False),
    Scenario("linearizable_kill", "register ops (read/write/cas, 5 clients) on node-7000's slots while it is killed: "
             "the linearizability verdict, whichever it is", "linearizable_kill", linearizable_kill, default=False),
    Scenario("linearizable_partition", "register ops while node-7000 is partitioned and 2 clients still reach it: not "
             "linearizable, with the counterexample", "linearizable_partition", linearizable_partition,
             default=False),
]
