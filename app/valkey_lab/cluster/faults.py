"""Faults beyond a crash for the cluster: pause, manual failover, chained failover, the loss
of a whole shard, a partition, and the faults real networks make (bus_partition, loss). Each
is a schedule of the one harness, declared with generators (valkey_lab.generators), and a
check of its history (cluster/checks.py)."""
from __future__ import annotations

import redis

from valkey_lab.cluster.checks import (HEIR, LOSS_PERCENTS, VICTIM, VICTIM_RANGE, WINDOW_AFTER_BUS_PROMOTION_S,
                                       WINDOW_AFTER_PROMOTION_S, bus_partition, chained, linearizable_kill,
                                       linearizable_partition, manual, packet_loss, partition, pause, random_schedule,
                                       shard_loss)
from valkey_lab.cluster.topology import NODES, PRIMARIES
from valkey_lab.cluster.lab import (PROBE_BUDGET_S, ClusterLab, FailedOver, FlaggedFail, Healthy, LostSlotProbes,
                                    OrphanFails,
                                    Promoted, RegisterReads, Rejoined, ServedAgain, ShardResumed, VoteTimer)
from valkey_lab.generators import phases
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, Hold, Start, StopWorkload, final_phase, run
from valkey_lab.runner.schedules import Catalog, KindSpec, RandomSuite, Spec, generate, schedule
from valkey_lab.nemesis.fault import Fault
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.writer import Workload, Writer

PROMOTED = phases(Promoted(), ShardResumed(count=20))  # node-7003 took over and the shard is written again
BACK = phases(StopWorkload(), Heal(), Rejoined())  # clients stopped, healed, node-7000 its replica again


def fault(kind: str, target: str = VICTIM, **params) -> Start:
    return Start(Fault(kind, target, params))


def _short_lane(lab: ClusterLab) -> Writer:
    """Writes to node-7000's slots with a 1 s budget: a lost shard must fail them fast."""
    return lab.shard_writer(VICTIM, [VICTIM_RANGE], lane="short", policy=lab.policy(PROBE_BUDGET_S))


# ------------------------------------------------------------------------------------ pause
def pause_method(lab: ClusterLab):
    """SIGSTOP / docker pause node-7000: alive, silent. The others must fail it over; resumed,
    it must learn it lost its slots and come back as a replica (not a second primary)."""
    return run(lab, "pause", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(),
               schedule=phases(fault("pause"), PROMOTED, BACK, Healthy()))


# ----------------------------------------------------------------------------------- manual
def manual_method(lab: ClusterLab):
    """CLUSTER FAILOVER on node-7003 under load, connections held open: the writers' maps and
    connections still point at node-7000, which now answers MOVED; they must follow, and a
    coordinated failover loses no acknowledged write at all (the replica catches up first)."""
    return run(lab, "manual", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(),
               schedule=phases(VoteTimer(), fault("failover"), PROMOTED, StopWorkload(), Rejoined()))


# ---------------------------------------------------------------------------------- chained
def chained_method(lab: ClusterLab):
    """Kill node-7000 (node-7003 takes over), then node-7003: that shard has no replica left,
    so nobody can take over. Its slots stop being served while the other shards serve; both
    restarted (node-7003 first), node-7003 serves again and node-7000 is its replica."""
    nt = lab.node_timeout_s
    return run(lab, "chained", workload=lab.shard_workload({VICTIM: 1}, extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=phases(
        fault("kill"), PROMOTED,
        fault("kill", HEIR), FlaggedFail(nodes=(HEIR,)), Hold(2 * nt), OrphanFails(lane="short", count=3),
        StopWorkload(), Heal(), ServedAgain(node=VICTIM), Rejoined(node=VICTIM)))


# ------------------------------------------------------------------------------- shard_loss
def shard_loss_method(lab: ClusterLab):
    """Kill a primary and its replica at once. The other shards keep serving
    (cluster-require-full-coverage no); the lost slots fail clearly and quickly (no hang);
    restarted, the shard serves again. Without persistence its keys are gone: reported."""
    return run(lab, "shard_loss", workload=lab.shard_workload(extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=phases(
        fault("kill", f"shard:{VICTIM}"), FlaggedFail(nodes=(VICTIM, HEIR)),
        LostSlotProbes(node=VICTIM, via="node-7001"), OrphanFails(lane="short", count=3), StopWorkload(),
        Heal(), ServedAgain(node=VICTIM), Healthy()))


# -------------------------------------------------------------------------------- partition


def _partition_round(lab: ClusterLab, guarded: bool):
    """Cut node-7000 off from the other five nodes while a client holding a direct connection
    keeps writing to it (SET + WAIT 1 100 ms); the same write window in both rounds; heal."""
    name = "partition:with" if guarded else "partition:without"
    lab.min_replicas(1 if guarded else 0)
    lane, direct = _direct_lane(lab, name)
    try:
        return run(lab, name, workload=Workload([lane]), observers=lab.observers(), schedule=phases(
            fault("partition"), Promoted(), Hold(WINDOW_AFTER_PROMOTION_S), BACK))
    finally:
        direct.close()


def _direct_lane(lab: ClusterLab, name: str) -> tuple[Writer, redis.Redis]:
    """A writer holding a plain connection to node-7000 (SET + WAIT 1 100 ms to its slots), as
    an application with a stale map would: it writes wherever node-7000 still says yes."""
    host, port = lab.backend.address(VICTIM)
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
                      shard=VICTIM, where=lambda: VICTIM)
    return lane, direct


def partition_method(lab: ClusterLab):
    """Jepsen's classic on the cluster: the isolated primary takes writes the heal throws away,
    until it notices it is in the minority (node-timeout). Without and with min-replicas."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: ClusterLab):
    """Jepsen's register (5 processes: read, write, cas) on keys of node-7000's slots while
    node-7000 is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(VICTIM), observers=lab.observers(),
               schedule=phases(fault("kill"), Promoted(), ShardResumed(count=20, lane="register"), Hold(2.0), BACK))


def linearizable_partition_method(lab: ClusterLab):
    """Jepsen's finding on the cluster: node-7000 is cut off from the other nodes while two
    clients hold connections to it. Until it sees itself in the minority (node-timeout) it
    acknowledges everyone's writes, which its cut-off replica never gets. Once node-7003 is
    promoted, every key is read through a fresh cluster client, and the five cluster clients
    go on against node-7003. Their client wakes at the promotion itself, so they race those
    reads: a key whose first op on node-7003 is a blind write hides what it lost. Ten keys
    make it all but certain that some key is read first (with three, all three were
    sometimes overwritten first, and the run was linearizable)."""
    return run(lab, "linearizable_partition", workload=lab.register_workload(VICTIM, stale=2, keys=10),
               observers=lab.observers(), schedule=phases(
        fault("partition"), Promoted(), RegisterReads(), ShardResumed(count=20, lane="register", after_promotion=True),
        StopWorkload("register"), Hold(1.0), BACK))


# ------------------------------------------------------------------------ the faults real networks make
def bus_partition_method(lab: ClusterLab):
    """Only node-7000's cluster bus (port + 10000) is cut from the other five nodes; clients,
    and its replica's replication link, still reach its data port. A cluster client writes
    node-7000's slots with WAIT 1, and a client holding a plain connection to node-7000 writes
    on; node-7003 is promoted; healed, node-7000 rejoins as its replica."""
    lane, direct = _direct_lane(lab, "bus_partition")
    try:
        return run(lab, "bus_partition", workload=lab.shard_workload({VICTIM: 1}, extra=(lane,)),
                   observers=lab.observers(), schedule=phases(
            Hold(1.0), fault("bus_partition"), Promoted(), Hold(WINDOW_AFTER_BUS_PROMOTION_S), BACK, Healthy(),
            Hold(1.0)))
    finally:
        direct.close()


CLUSTER_LOSS_S = 8.0  # each loss rate is held this long under load


def loss_method(lab: ClusterLab):
    """A random 10 %, 30 %, then 60 % of the packets on node-7000's links (clients, bus and
    replication alike) dropped for CLUSTER_LOSS_S each, under load on every shard; healed, the
    run waits for a healthy cluster while the writers go on."""
    for percent in LOSS_PERCENTS:
        run(lab, f"loss:{percent}", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(),
            schedule=phases(Hold(1.0), fault("loss", "primary:1", percent=percent), Hold(CLUSTER_LOSS_S)),
            final=final_phase(Healthy(), Hold(2.0)))


# ------------------------------------------------------------------------------ seeded random schedules
_PRIMARIES = ("primary:1", "primary:2", "primary:3")
_ANY = (*_PRIMARIES, "replica:1", "replica:2", "replica:3", *NODES)
RECOVERED = Healthy(timeout=60.0)  # every node ok, one map, every replica linked (whatever the layout)
# Recovery, roughly: a primary's failover (~5 s) and its rejoin, a replica's resync; a node by
# name may be either.
_COST = {"primary": 12.0, "replica": 3.0, "": 8.0}
CATALOG = Catalog("cluster", {
    "kill": KindSpec(_ANY, (2.0, 8.0), unsafe_targets=tuple(f"shard:{p}" for p in PRIMARIES), recovery_s=_COST,
                     failover_first=True),
    "pause": KindSpec(_ANY, (2.0, 8.0), unsafe_targets=tuple(f"shard:{p}" for p in PRIMARIES), recovery_s=_COST),
    "partition": KindSpec(_ANY, (4.0, 10.0), recovery_s=_COST),
    "bus_partition": KindSpec(_PRIMARIES, (4.0, 10.0), recovery_s=14.0),
    "loss": KindSpec(_PRIMARIES, (4.0, 10.0), lambda rng: {"percent": rng.choice([10, 30, 60])}, recovery_s=10.0),
}, default=("kill", "pause", "bus_partition"), recovery=(RECOVERED,), failover=(FailedOver(),))


def random_method(lab: ClusterLab, plan: list, spec: Spec, name: str = "random"):
    """A generated schedule (runner.schedules) under a workload that runs throughout: a WAIT 1
    writer per shard, a counter and Jepsen's register (5 clients, keys on every shard). At the
    end everything is healed, the run waits for a healthy cluster while the clients go on, then
    stops them, restores the layout and reads every key."""
    with lab.recorder.running(name):
        lab.recorder.harness("schedule", {**spec.as_dict(), "plan": [p.as_dict() for p in plan]})
    workload = lab.shard_workload({p: 1 for p in PRIMARIES}, extra=(lab.counter(), *lab.register_workload().lanes))
    return run(lab, name, workload=workload, observers=lab.observers(), schedule=schedule(plan, CATALOG, spec.unsafe),
               final=final_phase(RECOVERED, Hold(2.0)), seed=spec.seed)


DEFAULT_SPEC = Spec(seed=0, duration=60.0, faults=CATALOG.default)
RANDOM = RandomSuite(CATALOG, random_method)


METHODS = {"pause": pause_method, "partition": partition_method, "manual": manual_method, "chained": chained_method,
           "shard_loss": shard_loss_method, "linearizable_kill": linearizable_kill_method,
           "linearizable_partition": linearizable_partition_method, "bus_partition": bus_partition_method,
           "loss": loss_method, "random": lambda lab: random_method(lab, generate(DEFAULT_SPEC, CATALOG), DEFAULT_SPEC)}

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
    Scenario("bus_partition", "cut only node-7000's cluster bus; clients still reach its data port: node-7003 "
             "promoted, writes node-7000 takes until it sees the minority, writes lost", "bus_partition",
             bus_partition, default=False),
    Scenario("loss", "drop 10 %, 30 %, 60 % of node-7000's packets (iptables statistic) under load: what the "
             "cluster and the clients do; nothing WAIT-acknowledged lost", "loss", packet_loss, default=False),
    Scenario("random", "a seeded random fault schedule under load, judged by every generic checker (see "
             "--schedule random; alone: seed 0, 60 s, the default faults)", "random", random_schedule,
             default=False),
]
