"""Faults beyond a crash for the HA topology: pause, manual failover, chained failover and
partition. Each is a schedule of the one harness and a check of its history; they share the
failover judgements of suites.ha (judge_switch, judge_loss, judge_rejoin)."""
from __future__ import annotations

from valkey_lab.ha.checks import WINDOW_AFTER_SWITCH_S, chained, linearizable_kill, linearizable_partition, manual, partition, pause
from valkey_lab.ha.lab import ClientResumed, HALab, NewMaster, Probe, Rejoined, ReplicaReads, ReplicasHealthy
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, Hold, Start, StopWorkload, run
from valkey_lab.nemesis.fault import Fault
from valkey_lab.workload.writer import Workload, Writer

AFTER_HEAL = [Heal(), Rejoined(), Probe(replicas=2), ReplicaReads(lanes=("probe",))]


# --------------------------------------------------------------------------------- pause
def pause_method(lab: HALab):
    """SIGSTOP / docker pause: the master is alive but silent; Sentinel must treat it as down."""
    return run(lab, "pause", workload=lab.workload(), observers=lab.observers(), schedule=[
        Start(Fault("pause", "master")), NewMaster(), ClientResumed(count=10), StopWorkload(), *AFTER_HEAL])


# -------------------------------------------------------------------------------- manual
def manual_method(lab: HALab):
    """SENTINEL FAILOVER under load: the old master is demoted while clients hold connections
    to it, so they meet READONLY and must follow. Writes use WAIT 2: only those are promised."""
    return run(lab, "manual", workload=lab.workload(wait_replicas=2), observers=lab.observers(), schedule=[
        ReplicasHealthy(), Start(Fault("failover", "master")), NewMaster(), ClientResumed(count=10), StopWorkload(),
        Rejoined(), Probe(replicas=2)])


# ------------------------------------------------------------------------------- chained
def chained_method(lab: HALab):
    """Kill the master, then the freshly promoted one: the last replica must take over. A
    Sentinel that took part in a failover does not start another for the same master within
    2x failover-timeout, so the second switch may wait that long."""
    s = lab.settings()
    second = 2 * s["failover_timeout_s"] + s["down_after_s"] + 5
    return run(lab, "chained", workload=lab.workload(), observers=lab.observers(), schedule=[
        Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=10), Rejoined(),
        Start(Fault("kill", "master")), NewMaster(timeout=second), ClientResumed(count=10),
        StopWorkload(), Heal(), Rejoined()])


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
        return run(lab, name, workload=Workload([lane]), observers=lab.observers(), schedule=[
            Start(Fault("partition", "master")), NewMaster(), Hold(WINDOW_AFTER_SWITCH_S), StopWorkload(),
            Heal(), Rejoined()])
    finally:
        stale.close()


def partition_method(lab: HALab):
    """Jepsen's classic, twice: without and with min-replicas-to-write 1."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: HALab):
    """Jepsen's register (5 processes: read, write, cas) while the master is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(), observers=lab.observers(), schedule=[
        Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=20, lanes=("register",)), Hold(2.0),
        StopWorkload(), Heal(), Rejoined()])


def linearizable_partition_method(lab: HALab):
    """Jepsen's 2013 Redis finding on Valkey: the master is cut off from Sentinels and
    replicas while two clients still hold connections to it; the five clients that follow
    Sentinel move to the new master. The isolated side stops last (its writes are the ones
    the heal throws away)."""
    return run(lab, "linearizable_partition", workload=lab.register_workload(stale=2), observers=lab.observers(),
               schedule=[Start(Fault("partition", "master")), NewMaster(), ClientResumed(count=20, lanes=("register",)),
                         StopWorkload("register"), Hold(1.0), StopWorkload(), Heal(), Rejoined()])


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
