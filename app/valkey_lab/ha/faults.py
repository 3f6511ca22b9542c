"""Faults beyond a crash for the HA topology: pause, manual failover, chained failover and
partition. Each is a schedule of the one harness and a check of its history; they share the
failover judgements of suites.ha (judge_switch, judge_loss, judge_rejoin)."""
from __future__ import annotations

from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.topology import epochs, max_masters, sentinel_timeline
from valkey_lab.ha.lab import HALab
from valkey_lab.runner.scenario import Scenario, ScenarioResult
from valkey_lab.runner.run import Act, Await, Heal, Hold, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.checkers.scenario import judge_linearizable
from valkey_lab.ha.scenarios import judge_counter, judge_loss, judge_rejoin, judge_switch, rejoin_s, switch_of
from valkey_lab.workload.writer import Workload, Writer

AFTER_HEAL = [Heal(), Await("rejoined"), Act("probe", {"replicas": 2}), Act("replica-reads", {"lanes": ("probe",)})]


# --------------------------------------------------------------------------------- pause
def pause_method(lab: HALab):
    """SIGSTOP / docker pause: the master is alive but silent; Sentinel must treat it as down."""
    return run(lab, "pause", workload=lab.workload(), observers=lab.observers(), schedule=[
        Start(Fault("pause", "master")), Await("new-master"), Await("client-resumed", params={"count": 10}),
        StopWorkload(), *AFTER_HEAL])


def pause(h: RunView, r: ScenarioResult) -> None:
    switch = judge_switch(h, r, label="paused master: ")
    judge_loss(h, r)
    judge_counter(h, r)
    if h.victims():
        judge_rejoin(h, r, h.victims()[0], switch and switch["new"])


# -------------------------------------------------------------------------------- manual
def manual_method(lab: HALab):
    """SENTINEL FAILOVER under load: the old master is demoted while clients hold connections
    to it, so they meet READONLY and must follow. Writes use WAIT 2: only those are promised."""
    return run(lab, "manual", workload=lab.workload(wait_replicas=2), observers=lab.observers(), schedule=[
        Await("replicas-healthy"), Start(Fault("failover", "master")), Await("new-master"), Await("client-resumed", params={"count": 10}),
        StopWorkload(), Await("rejoined"), Act("probe", {"replicas": 2})])


def manual(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, label="SENTINEL FAILOVER: ", expect_gap=False, lane="wait2")
    judge_loss(h, r, lane="wait2", replicas=2, safe_after_switch=False)
    judge_counter(h, r)
    r.metrics["failover_requests"] = len(h.harness("failover-request"))
    r.metrics["note"] = ("Sentinel's manual failover does not stop writes on the old master: only writes both "
                         "replicas acknowledged are promised; lost_plain shows the rest")


# ------------------------------------------------------------------------------- chained
def chained_method(lab: HALab):
    """Kill the master, then the freshly promoted one: the last replica must take over. A
    Sentinel that took part in a failover does not start another for the same master within
    2x failover-timeout, so the second switch may wait that long."""
    s = lab.settings()
    second = 2 * s["failover_timeout_s"] + s["down_after_s"] + 5
    return run(lab, "chained", workload=lab.workload(), observers=lab.observers(), schedule=[
        Start(Fault("kill", "master")), Await("new-master"), Await("client-resumed", params={"count": 10}),
        Await("rejoined"),
        Start(Fault("kill", "master")), Await("new-master", timeout=second), Await("client-resumed", params={"count": 10}),
        StopWorkload(), Heal(), Await("rejoined")])


def chained(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, 0, label="first kill: ", prefix="first_")
    # A Sentinel that took part in a failover waits 2x failover-timeout before another one
    # for the same master: the second switch may take that long.
    second = judge_switch(h, r, 1, label="second kill: ", prefix="second_", within=(
        2 * h.settings["failover_timeout_s"] + h.settings["down_after_s"] + 5,
        "Sentinel's bound for a second failover, 2 x failover-timeout + down-after + 5 s"))
    judge_loss(h, r)
    heal = h.heal()
    t_heal = heal["time"] if heal else None
    # Until the killed nodes were restarted, at most one server may call itself master.
    masters = max_masters([rec for rec in h.records if t_heal is None or rec["time"] <= t_heal])
    r.check("at most one master at every snapshot until the restarts", masters["valid"] is True
            and masters["snapshots"] >= 20, {k: masters[k] for k in ("snapshots", "max_masters", "violations")},
            expected="no snapshot with two masters (>= 20 snapshots)")
    ep = epochs(h.records)
    tops = [e["value"] for e in h.server("epoch")]
    r.check("the config epoch never went down, and rose with each of the two failovers",
            ep["valid"] and bool(tops) and max(tops) >= min(tops) + 2, {"min": min(tops, default=None),
                                                                        "max": max(tops, default=None)})
    # A restarted old master runs as an (empty) master until Sentinel converts it: measured,
    # from role samples kept through the restarts.
    if t_heal is not None and second:
        claimed = [s for s in h.roles(since=t_heal) if len(s["value"]["masters"]) > 1]
        r.metrics["restarted_old_masters_claimed_master_s"] = round(claimed[-1]["time"] - t_heal, 3) if claimed else 0.0
        for node in h.victims(0) + h.victims(1):
            r.metrics[f"{node}_rejoin_s"] = rejoin_s(h, node, second["new"], t_heal)
    r.metrics["final_master"] = second and second["new"]
    r.details["timeline"] = sentinel_timeline(h.records, h.t_fault() or 0.0)


# ----------------------------------------------------------------------------- partition
WINDOW_AFTER_SWITCH_S = 3.0  # both rounds write this long after the switch: the same window


def _partition_round(lab: HALab, guarded: bool):
    """Cut the master off from Sentinels and replicas while a client that already holds a
    connection to it keeps writing; write for the same window after the switch in both
    rounds; heal; read everything back from the new master."""
    name = "partition:with" if guarded else "partition:without"
    lab.act("min-replicas", {}, to_write=1 if guarded else 0)
    master = lab.master()
    stale = lab.direct(master)

    def write(key: str, value: str) -> int:
        pipe = stale.pipeline(transaction=False)
        pipe.set(key, value)
        pipe.execute_command("WAIT", 1, 100)
        return int(pipe.execute()[1])
    with lab.recorder.running(name):
        lane = Writer(lab.recorder, "stale", write, lab.key(name, "stale"))
    try:
        return run(lab, name, workload=Workload([lane]), observers=lab.observers(), schedule=[
            Start(Fault("partition", "master")), Await("new-master"), Hold(WINDOW_AFTER_SWITCH_S), StopWorkload(),
            Heal(), Await("rejoined")])
    finally:
        stale.close()


def partition_method(lab: HALab):
    """Jepsen's classic, twice: without and with min-replicas-to-write 1."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


def _judge_round(h: RunView, r: ScenarioResult, guarded: bool) -> dict:
    label = "with min-replicas-to-write 1: " if guarded else "without min-replicas-to-write: "
    t_cut = h.t_fault()
    switch = switch_of(h, t_cut, away_from=tuple(h.victims())) if t_cut is not None else None
    r.check(f"{label}the majority side promoted another master", switch is not None and
            switch["new"] not in h.victims(), switch and switch["data"])
    records = h.client_records(("stale",))
    acked = loss.write_loss(records, lane="stale")
    waited = loss.write_loss(records, lane="stale", min_replicated=1)
    r.check(f"{label}no WAIT-acknowledged write was lost", waited["lost"] == 0, waited["lost"], expected=0)
    ok = [op for op in h.lane("stale") if op.ok]
    after_switch = [op for op in ok if switch and op.t_complete > switch["time"]]
    last_ok = max((op.t_complete for op in ok), default=t_cut)
    lag = h.settings["min_replicas_max_lag_s"]
    if guarded:
        r.check(f"{label}the isolated master stopped acknowledging writes within max-lag + 2 s of the cut",
                t_cut is not None and last_ok - t_cut <= lag + 2, round(last_ok - t_cut, 3) if t_cut else None,
                expected=f"<= {lag + 2}")
    else:
        r.check(f"{label}the isolated master kept acknowledging writes after the switch (split brain)",
                len(after_switch) > 0, len(after_switch), expected="> 0")
        r.check(f"{label}those acknowledged writes were lost after the heal", acked["lost"] >= len(after_switch),
                acked["lost"], expected=f">= {len(after_switch)}")
    heal = h.heal()
    return {"old": (h.victims() or [None])[0], "new": switch and switch["new"],
            "acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_switch": len(after_switch),
            "refused": acked["failed"], "unavailable_s": availability.client_lag(t_cut, last_ok),
            "rejoin_after_heal_s": rejoin_s(h, (h.victims() or [None])[0], switch and switch["new"], heal["time"])
            if heal and switch else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(RunView(h.all_records, "partition:without", h.settings), r, guarded=False)
    guarded = _judge_round(RunView(h.all_records, "partition:with", h.settings), r, guarded=True)
    r.check("min-replicas-to-write lost fewer acknowledged writes", guarded["lost_acknowledged"]
            < without["lost_acknowledged"], {"without": without["lost_acknowledged"],
                                              "with": guarded["lost_acknowledged"]})
    r.metrics.update({"lost_acked_without_min_replicas": without["lost_acknowledged"],
                      "lost_acked_with_min_replicas": guarded["lost_acknowledged"],
                      "lost_wait_acked_without": without["lost_wait_acknowledged"],
                      "lost_wait_acked_with": guarded["lost_wait_acknowledged"],
                      "min_replicas_max_lag_s": h.settings["min_replicas_max_lag_s"],
                      "write_window_after_switch_s": WINDOW_AFTER_SWITCH_S})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: HALab):
    """Jepsen's register (5 processes: read, write, cas) while the master is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(), observers=lab.observers(), schedule=[
        Start(Fault("kill", "master")), Await("new-master"),
        Await("client-resumed", params={"lane": "register", "count": 20}), Hold(2.0), StopWorkload(), Heal(),
        Await("rejoined")])


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, lane="register")
    judge_linearizable(h, r, expect=None)


def linearizable_partition_method(lab: HALab):
    """Jepsen's 2013 Redis finding on Valkey: the master is cut off from Sentinels and
    replicas while two clients still hold connections to it; the five clients that follow
    Sentinel move to the new master. The isolated side stops last (its writes are the ones
    the heal throws away)."""
    return run(lab, "linearizable_partition", workload=lab.register_workload(stale=2), observers=lab.observers(),
               schedule=[Start(Fault("partition", "master")), Await("new-master"),
                         Await("client-resumed", params={"lane": "register", "count": 20}),
                         StopWorkload("register"), Hold(1.0), StopWorkload(), Heal(), Await("rejoined")])


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    switch = switch_of(h, h.t_fault() or 0.0, away_from=tuple(h.victims()))
    r.check("the majority side promoted another master", switch is not None and switch["new"] not in h.victims(),
            switch and switch["data"])
    judge_linearizable(h, r, expect=False)


METHODS = {"pause": pause_method, "manual": manual_method, "chained": chained_method, "partition": partition_method,
           "linearizable_kill": linearizable_kill_method, "linearizable_partition": linearizable_partition_method}

FAULT_SCENARIOS = [
    Scenario("pause", "SIGSTOP / docker pause the master: failover, then it returns as a replica", "pause", pause,
             default=False),
    Scenario("manual", "SENTINEL FAILOVER under load: READONLY handled, WAIT-2 writes kept", "manual", manual,
             default=False),
    Scenario("chained", "kill the master, then the new one: one master at a time, epochs rise", "chained", chained,
             default=False),
    Scenario("partition", "isolate the master from Sentinels and replicas; writes lost, without and with "
             "min-replicas-to-write", "partition", partition, default=False),
    Scenario("linearizable_kill", "register ops (read/write/cas, 5 clients) while the master is killed: the "
             "linearizability verdict, whichever it is", "linearizable_kill", linearizable_kill, default=False),
    Scenario("linearizable_partition", "register ops while the master is partitioned and 2 clients still reach it: "
             "not linearizable, with the counterexample", "linearizable_partition", linearizable_partition,
             default=False),
]
