"""The HA suite: each scenario is a method (a named harness run that records a history) and
a check, a pure function of that history. Several scenarios judge one run: failover,
discovery, retry_backoff, consistency and rejoin all read the history of the one failover run
(kill the master under load, wait for the switch and for the client, restart the old master,
wait for it to rejoin, read everything back)."""
from __future__ import annotations

from valkey_lab.ha.checks import (WAIT_LANE, consistency, crud, discovery, failover, quorum_safety, rejoin,
                                  replica_sync, retry_backoff)

from valkey_lab.ha.lab import ClientResumed, HALab, NewMaster, Probe, Rejoined, ReplicaReads
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, Hold, RunState, Script, Start, StopWorkload, run
from valkey_lab.nemesis.fault import Fault
from valkey_lab.ha.topology import SENTINELS, SERVERS


# ============================================================================ shared judgements


# =================================================================================== crud
def crud_method(lab: HALab):
    """SET/GET/INCR/HSET/EXPIRE/DEL through the master, each a client op of the history;
    then what each replica serves for those keys, and whom the Sentinels name."""
    def script(lab: HALab, state: RunState) -> None:
        rec, c, worker = lab.recorder, lab.client(), lab.recorder.worker()
        k = lambda name: lab.key("crud", name)  # noqa: E731

        def op(f: str, key: str, value, fn, idempotent: bool = True) -> None:
            with worker.op(f, key, value, lane="crud") as done:  # an error is recorded; the check shows it
                done.ok(c.call(fn, idempotent=idempotent))
        op("write", k("s"), "hello", lambda x: x.set(k("s"), "hello"))
        op("read", k("s"), None, lambda x: x.get(k("s")))
        for _ in range(3):
            op("incr", k("n"), 1, lambda x: x.incr(k("n")), idempotent=False)
        op("hset", k("h"), {"f1": "a", "f2": "b"}, lambda x: x.hset(k("h"), mapping={"f1": "a", "f2": "b"}))
        op("hgetall", k("h"), None, lambda x: x.hgetall(k("h")))
        op("write", k("tmp"), "x", lambda x: x.set(k("tmp"), "x"))
        op("expire", k("tmp"), 100, lambda x: x.expire(k("tmp"), 100))
        op("ttl", k("tmp"), None, lambda x: x.ttl(k("tmp")))
        op("del", k("tmp"), None, lambda x: x.delete(k("tmp")), idempotent=False)
        op("exists", k("tmp"), None, lambda x: x.exists(k("tmp")))
        # WAIT covers this connection's writes up to the marker: acknowledged marker, replicated keys.
        op("wait", k("sync"), 2, lambda x: c.set_acked(k("sync"), "1", 2, timeout_ms=3000))
        rec.client_event("master", {"to": ":".join(map(str, c.master))})
        for s in SENTINELS:
            rec.server("sentinel-master", s, lab.topo.sentinel_master(s))
        for node in SERVERS:
            if lab.topo.role(node) == "slave":
                x = lab.topo.client(node)
                rec.server("replica-values", node, {"s": x.get(k("s")), "n": x.get(k("n")), "h": x.hgetall(k("h")),
                                                    "tmp": x.exists(k("tmp"))})
        lab.topo.client(lab.master()).delete(k("s"), k("n"), k("h"), k("sync"))
    return run(lab, "crud", schedule=[Script(script)])


# ============================================================================== the failover run
def failover_method(lab: HALab):
    """Kill the master under load; wait for the switch and for the client; restart the old
    master and wait for it to rejoin; a WAIT-2 probe; what the replicas serve; final reads."""
    return run(lab, "failover", workload=lab.workload(wait_replicas=1), observers=lab.observers(), schedule=[
        Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=20), StopWorkload(), Heal(), Rejoined(),
        Probe(replicas=2), ReplicaReads(lanes=(WAIT_LANE, "probe"))])


# ============================================================================ replica_sync
def replica_sync_method(lab: HALab):
    def observe(lab: HALab, state: RunState) -> None:
        master = lab.master()
        offset = lab.topo.replication(master)["master_repl_offset"]
        lab.recorder.server("master-offset", master, offset)
        for node in SERVERS:
            if node != master and lab.backend.is_running(node):
                lab.recorder.server("replica-state", node, lab.topo.replica_state(node, master))
    return run(lab, "replica_sync", schedule=[Probe(replicas=2, name="sync"), Script(observe)])


# =========================================================================== quorum_safety
def quorum_method(lab: HALab):
    down_after = lab.settings()["down_after_s"]
    return run(lab, "quorum_safety", observers=lab.observers(), schedule=[
        Start(Fault("kill", "sentinels:2")), Start(Fault("kill", "master")), Hold(3 * down_after),
        # A Sentinel restarted while the master's container is stopped blocks ~20 s resolving
        # its name in Docker (design notes, 4.3) before it catches up: every Sentinel must agree.
        Heal("sentinels:2"), NewMaster(timeout=lab.settings()["switch_deadline_s"] + 25), Heal(), Rejoined()])


METHODS = {"crud": crud_method, "failover": failover_method, "replica_sync": replica_sync_method,
           "quorum_safety": quorum_method}

SCENARIOS = [
    Scenario("crud", "SET/GET/INCR/HSET/EXPIRE/DEL through the master; replicas read them back", "crud", crud),
    Scenario("failover", "kill the master under writes; a replica is promoted; switch_s, unavailable_s",
             "failover", failover),
    Scenario("discovery", "every Sentinel names the new master; it answers as master; the client is on it",
             "failover", discovery, needs=("failover",)),
    Scenario("retry_backoff", "the client's retries during the failover: growing, capped", "failover",
             retry_backoff, needs=("failover",)),
    Scenario("consistency", "no WAIT-acknowledged write lost, no INCR applied twice; replicas equal the master",
             "failover", consistency, needs=("failover",)),
    Scenario("replica_sync", "each replica's role, master, link and offset after a WAIT", "replica_sync",
             replica_sync),
    Scenario("rejoin", "the old master comes back as a replica of the new one and serves new writes", "failover",
             rejoin, needs=("failover",)),
    Scenario("quorum_safety", "2 of 3 Sentinels down: no promotion; restored: failover", "quorum_safety",
             quorum_safety),
]

__all__ = ["SCENARIOS", "METHODS"]
