"""Faults beyond a crash for the HA topology: pause, manual failover, chained failover,
partition, and the faults real networks make (loss, one_way, bandwidth, hung_master,
sentinel_stall, client_pause). Each is a schedule of the one harness, declared with
generators (valkey_lab.generators), and a check of its history (ha/checks.py)."""
from __future__ import annotations

from dataclasses import replace

from valkey_lab.generators import phases
from valkey_lab.ha.checks import (WINDOW_AFTER_SWITCH_S, bandwidth, chained, client_pause, hung_master,
                                  linearizable_kill, linearizable_partition, manual, packet_loss, one_way, partition, pause,
                                  sentinel_stall, BANDWIDTH_RATES, LOSS_PERCENTS, ONE_WAY_DIRECTIONS)
from valkey_lab.ha.checks import random_schedule
from valkey_lab.ha.lab import (REJOIN_DEADLINE_S, ClientResumed, DropFill, FailedOver, Fill, FullResync, HALab,
                               NewMaster,
                               OldMasterWrite, ResyncDone,
                               Probe, Recovered, Rejoined, ReplicaReads, ReplicasHealthy, SentinelEvent, SyncSampler)
from valkey_lab.ha.topology import SENTINELS, SERVERS
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, Hold, Start, StopWorkload, final_phase, run
from valkey_lab.runner.schedules import Catalog, KindSpec, RandomSuite, Spec, generate, schedule
from valkey_lab.nemesis.fault import Fault
from valkey_lab.workload.writer import Workload, Writer

# -- phases the scenarios share ----------------------------------------------------------------------
FAILS_OVER = phases(NewMaster(), ClientResumed(count=10))  # a master elected, the clients on it
AFTER_HEAL = phases(Heal(), Rejoined(), Probe(replicas=2), ReplicaReads(lanes=("probe",)))


def fault(kind: str, target: str = "master", **params) -> Start:
    return Start(Fault(kind, target, params))


# --------------------------------------------------------------------------------- pause
def pause_method(lab: HALab):
    """SIGSTOP / docker pause: the master is alive but silent; Sentinel must treat it as down."""
    return run(lab, "pause", workload=lab.workload(), observers=lab.observers(),
               schedule=phases(fault("pause"), FAILS_OVER, StopWorkload(), AFTER_HEAL))


# -------------------------------------------------------------------------------- manual
def manual_method(lab: HALab):
    """SENTINEL FAILOVER under load: the old master is demoted while clients hold connections
    to it, so they meet READONLY and must follow. Writes use WAIT 2: only those are promised."""
    return run(lab, "manual", workload=lab.workload(wait_replicas=2), observers=lab.observers(),
               schedule=phases(ReplicasHealthy(), fault("failover"), FAILS_OVER, StopWorkload(), Rejoined(),
                               Probe(replicas=2)))


# ------------------------------------------------------------------------------- chained
def chained_method(lab: HALab):
    """Kill the master, then the freshly promoted one: the last replica must take over. A
    Sentinel that took part in a failover does not start another for the same master within
    2x failover-timeout, so the second switch may wait that long."""
    s = lab.settings()
    second = 2 * s["failover_timeout_s"] + s["down_after_s"] + 5
    # The writer's retry budget covers that wait: a write sent just before the second kill must
    # not give up while Sentinel is still allowed to be waiting (the default budget is 20 s).
    policy = replace(lab.policy, budget=max(lab.policy.budget, second))
    return run(lab, "chained", workload=lab.workload(policy=policy), observers=lab.observers(), schedule=phases(
        fault("kill"), FAILS_OVER, Rejoined(),
        fault("kill"), NewMaster(timeout=second), ClientResumed(count=10), StopWorkload(), Heal(), Rejoined()))


# ----------------------------------------------------------------------------- partition


def _partition_round(lab: HALab, guarded: bool):
    """Cut the master off from Sentinels and replicas while a client that already holds a
    connection to it keeps writing; write for the same window after the switch in both
    rounds; heal; read everything back from the new master."""
    name = "partition:with" if guarded else "partition:without"
    lab.min_replicas(1 if guarded else 0)
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
        return run(lab, name, workload=Workload([lane]), observers=lab.observers(), schedule=phases(
            fault("partition"), NewMaster(), Hold(WINDOW_AFTER_SWITCH_S), StopWorkload(), Heal(), Rejoined()))
    finally:
        stale.close()


def partition_method(lab: HALab):
    """Jepsen's classic, twice: without and with min-replicas-to-write 1."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: HALab):
    """Jepsen's register (5 processes: read, write, cas) while the master is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(), observers=lab.observers(),
               schedule=phases(fault("kill"), NewMaster(), ClientResumed(count=20, lanes=("register",)), Hold(2.0),
                               StopWorkload(), Heal(), Rejoined()))


def linearizable_partition_method(lab: HALab):
    """Jepsen's 2013 Redis finding on Valkey: the master is cut off from Sentinels and
    replicas while two clients still hold connections to it; the five clients that follow
    Sentinel move to the new master. The isolated side stops last (its writes are the ones
    the heal throws away)."""
    return run(lab, "linearizable_partition", workload=lab.register_workload(stale=2), observers=lab.observers(),
               schedule=phases(fault("partition"), NewMaster(), ClientResumed(count=20, lanes=("register",)),
                               StopWorkload("register"), Hold(1.0), StopWorkload(), Heal(), Rejoined()))


# ------------------------------------------------------------------------ the faults real networks make
LOSS_S = 10.0  # each loss rate is held this long under load


def loss_method(lab: HALab):
    """A random 10 %, 30 %, then 60 % of the packets on the master's links dropped (its clients'
    too) for LOSS_S each, under load; healed, the run waits for recovery while the clients go on."""
    for percent in LOSS_PERCENTS:
        run(lab, f"loss:{percent}", workload=lab.workload(), observers=lab.observers(),
            schedule=phases(Hold(1.0), fault("loss", percent=percent), Hold(LOSS_S)),
            final=final_phase(Rejoined(), Hold(2.0)))


def one_way_method(lab: HALab):
    """The master can't send to its peers (Sentinels, replicas) but receives; then the reverse.
    The test clients still reach it both ways."""
    for direction in ONE_WAY_DIRECTIONS:
        run(lab, f"one_way:{direction}", workload=lab.workload(counter=False), observers=lab.observers(),
            schedule=phases(fault("one_way", direction=direction), FAILS_OVER, Hold(1.0)),
            final=final_phase(Rejoined(), Probe(replicas=2), ReplicaReads(lanes=("probe",)), Hold(1.0)))


FILL_MB = 24  # the data set a full resync copies


def bandwidth_method(lab: HALab):
    """A replica does a full resync of FILL_MB MB: with no limit, with its own links limited,
    then with the master's links limited (htb); the writers go on meanwhile."""
    for i, (where, rate) in enumerate(BANDWIDTH_RATES):
        limit = [] if rate is None else [fault("bandwidth", "replica:1" if where == "replica" else "master",
                                                rate=rate)]
        run(lab, f"bandwidth:{where}", workload=lab.workload(), observers=lab.observers() + [
            SyncSampler(lab.backend, lab.password, lab.recorder)], schedule=phases(
            Fill(mb=FILL_MB) if i == 0 else [], Hold(1.0), *limit, FullResync("replica:1"), Hold(0.5),
            Rejoined(timeout=180), ResyncDone(), Hold(1.0), Heal(), Hold(0.5),
            DropFill() if i == len(BANDWIDTH_RATES) - 1 else []))


def hung_master_method(lab: HALab):
    """DEBUG SLEEP on the master, longer than down-after and the failover: alive, socket open,
    answering nobody. Sentinel fails over; when it wakes, it must be demoted and refuse writes."""
    sleep_s = 3 * lab.settings()["down_after_s"] + 4
    return run(lab, "hung_master", workload=lab.workload(), observers=lab.observers(), schedule=phases(
        fault("hung_master", seconds=sleep_s), FAILS_OVER, Heal(), Rejoined(), OldMasterWrite(), Hold(1.0)))


STALL_S = 4.0  # > Sentinel's 2 s TILT trigger


def sentinel_stall_method(lab: HALab):
    """SIGSTOP one Sentinel for STALL_S, then resume it: its timer jumps, it enters TILT (30 s)
    and must act on nothing it learnt before, so nobody fails the healthy master over."""
    stalled = SENTINELS[0]
    return run(lab, "sentinel_stall", workload=lab.workload(), observers=lab.observers(), schedule=phases(
        Hold(1.0), fault("sentinel_stall", "sentinel:1"), Hold(STALL_S), Heal(),
        SentinelEvent(event="+tilt", node=stalled, timeout=15), SentinelEvent(event="-tilt", node=stalled, timeout=60),
        Hold(1.0)))


def client_pause_method(lab: HALab):
    """CLIENT PAUSE ... WRITE on the master for longer than down-after: writes wait, reads and
    PING are answered. Sentinel must not fail over; the write stall is measured."""
    pause_s = 2 * lab.settings()["down_after_s"] + 1
    lanes = lab.workload().lanes + lab.register_workload(processes=2).lanes
    return run(lab, "client_pause", workload=Workload(lanes), observers=lab.observers(), schedule=phases(
        Hold(1.0), fault("client_pause", seconds=pause_s, mode="WRITE"), Hold(pause_s + 1.0), Heal(), Hold(2.0)))


# ------------------------------------------------------------------------------ seeded random schedules
_NODES = ("master", "replica:1", "replica:2", "sentinel:1", "sentinel:2", "sentinel:3", *SERVERS, *SENTINELS)
# Recovery, roughly: a master's failover (3.5 s) and its rejoin (Sentinel re-checks every 10 s),
# a replica's resync, a Sentinel's restart; a node by name may be either.
_COST = {"master": 14.0, "replica": 3.0, "sentinel": 1.0, "valkey-sentinel": 1.0, "": 8.0}
CATALOG = Catalog("ha", {
    "kill": KindSpec(_NODES, (2.0, 8.0), unsafe_targets=("sentinels:2",), recovery_s=_COST, failover_first=True),
    "pause": KindSpec(_NODES, (2.0, 8.0), unsafe_targets=("sentinels:2",), recovery_s=_COST),
    "partition": KindSpec(("master", "replica:1", "replica:2"), (4.0, 10.0), recovery_s=14.0),
    "loss": KindSpec(("master", "replica:1", "replica:2"), (4.0, 10.0),
                     lambda rng: {"percent": rng.choice([10, 30, 60])}, recovery_s=8.0),
    "one_way": KindSpec(("master",), (4.0, 10.0), lambda rng: {"direction": rng.choice(["out", "in"])},
                        recovery_s=14.0),
    "bandwidth": KindSpec(("master", "replica:1", "replica:2"), (4.0, 10.0),
                          lambda rng: {"rate": rng.choice(["8mbit", "24mbit"])}, recovery_s=2.0),
    "hung_master": KindSpec(("master",), (0.0, 0.0), lambda rng: {"seconds": rng.choice([1.5, 4, 8])},
                            recovery_s=16.0),
    "client_pause": KindSpec(("master",), (1.0, 1.0), lambda rng: {"seconds": rng.choice([1, 3, 5]),
                                                                   "mode": "WRITE"}, recovery_s=6.0),
    "sentinel_stall": KindSpec(("sentinel:1", "sentinel:2", "sentinel:3"), (2.5, 5.0), recovery_s=1.0),
}, default=("kill", "pause", "hung_master", "client_pause", "sentinel_stall"),
    recovery=(Recovered(timeout=REJOIN_DEADLINE_S + 30),), failover=(FailedOver(),))


def random_method(lab: HALab, plan: list, spec: Spec, name: str = "random"):
    """A generated schedule (runner.schedules) under a workload that runs throughout: a WAIT 1
    writer, a counter and Jepsen's register (5 clients). At the end everything is healed, the
    run waits for recovery while the clients go on, then stops them and reads every key."""
    with lab.recorder.running(name):
        lab.recorder.harness("schedule", {**spec.as_dict(), "plan": [p.as_dict() for p in plan]})
    workload = Workload(lab.workload().lanes + lab.register_workload().lanes)
    return run(lab, name, workload=workload, observers=lab.observers(), schedule=schedule(plan, CATALOG, spec.unsafe),
               final=final_phase(Recovered(timeout=REJOIN_DEADLINE_S + 30), Hold(2.0)), seed=spec.seed)


DEFAULT_SPEC = Spec(seed=0, duration=60.0, faults=CATALOG.default)
RANDOM = RandomSuite(CATALOG, random_method)


METHODS = {"pause": pause_method, "manual": manual_method, "chained": chained_method, "partition": partition_method,
           "linearizable_kill": linearizable_kill_method, "linearizable_partition": linearizable_partition_method,
           "loss": loss_method, "one_way": one_way_method, "bandwidth": bandwidth_method,
           "hung_master": hung_master_method, "sentinel_stall": sentinel_stall_method,
           "client_pause": client_pause_method,
           "random": lambda lab: random_method(lab, generate(DEFAULT_SPEC, CATALOG), DEFAULT_SPEC)}

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
    Scenario("loss", "drop 10 %, 30 %, 60 % of the master's packets (iptables statistic) under load: what Sentinel "
             "and the clients do; nothing WAIT-acknowledged lost", "loss", packet_loss, default=False),
    Scenario("one_way", "the master can't send to its peers, then can't receive from them: failover, one master "
             "accepting writes at a time, the old one rejoins", "one_way", one_way, default=False),
    Scenario("bandwidth", "a replica's full resync of a sizeable data set, unlimited, then with its links and the "
             "master's limited (htb): sync time and master_link_status over time", "bandwidth", bandwidth,
             default=False),
    Scenario("hung_master", "DEBUG SLEEP on the master longer than down-after: failover; awake, it is demoted and "
             "refuses writes", "hung_master", hung_master, default=False),
    Scenario("sentinel_stall", "SIGSTOP a Sentinel > 2 s, resume it: +tilt, -tilt, and no failover on stale data",
             "sentinel_stall", sentinel_stall, default=False),
    Scenario("client_pause", "CLIENT PAUSE WRITE on the master longer than down-after: no failover (PING answered); "
             "the write stall measured", "client_pause", client_pause, default=False),
    Scenario("random", "a seeded random fault schedule under load, judged by every generic checker (see "
             "--schedule random; alone: seed 0, 60 s, the default faults)", "random", random_schedule,
             default=False),
]
