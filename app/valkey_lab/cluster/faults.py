"""Faults beyond a crash for the cluster: pause, manual failover, chained failover, the loss
of a whole shard, and a partition. Each is a schedule of the one harness and a check of
its history; they share suites.cluster.judge_failover."""
from __future__ import annotations

from valkey_lab.cluster.checks import (HEIR, VICTIM, VICTIM_RANGE, WINDOW_AFTER_PROMOTION_S, chained, linearizable_kill,
                                       linearizable_partition, manual, partition, pause,
                                       shard_loss)
from valkey_lab.cluster.lab import (PROBE_BUDGET_S, ClusterLab, FlaggedFail, Healthy, LostSlotProbes, OrphanFails,
                                    Promoted, RegisterReads, Rejoined, ServedAgain, ShardResumed, VoteTimer)
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, Hold, Start, StopWorkload, run
from valkey_lab.nemesis.fault import Fault
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.writer import Workload, Writer


def _short_lane(lab: ClusterLab) -> Writer:
    """Writes to node-7000's slots with a 1 s budget: a lost shard must fail them fast."""
    return lab.shard_writer(VICTIM, [VICTIM_RANGE], lane="short", policy=lab.policy(PROBE_BUDGET_S))


# ------------------------------------------------------------------------------------ pause
def pause_method(lab: ClusterLab):
    """SIGSTOP / docker pause node-7000: alive, silent. The others must fail it over; resumed,
    it must learn it lost its slots and come back as a replica (not a second primary)."""
    return run(lab, "pause", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(), schedule=[
        Start(Fault("pause", VICTIM)), Promoted(), ShardResumed(count=20), StopWorkload(), Heal(), Rejoined(),
        Healthy()])


# ----------------------------------------------------------------------------------- manual
def manual_method(lab: ClusterLab):
    """CLUSTER FAILOVER on node-7003 under load, connections held open: the writers' maps and
    connections still point at node-7000, which now answers MOVED; they must follow, and a
    coordinated failover loses no acknowledged write at all (the replica catches up first)."""
    return run(lab, "manual", workload=lab.shard_workload({VICTIM: 1}), observers=lab.observers(), schedule=[
        VoteTimer(), Start(Fault("failover", VICTIM)), Promoted(), ShardResumed(count=20), StopWorkload(),
        Rejoined()])


# ---------------------------------------------------------------------------------- chained
def chained_method(lab: ClusterLab):
    """Kill node-7000 (node-7003 takes over), then node-7003: that shard has no replica left,
    so nobody can take over. Its slots stop being served while the other shards serve; both
    restarted (node-7003 first), node-7003 serves again and node-7000 is its replica."""
    nt = lab.node_timeout_s
    return run(lab, "chained", workload=lab.shard_workload({VICTIM: 1}, extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Promoted(), ShardResumed(count=20),
        Start(Fault("kill", HEIR)), FlaggedFail(nodes=(HEIR,)), Hold(2 * nt), OrphanFails(lane="short", count=3),
        StopWorkload(), Heal(), ServedAgain(node=VICTIM), Rejoined(node=VICTIM)])


# ------------------------------------------------------------------------------- shard_loss
def shard_loss_method(lab: ClusterLab):
    """Kill a primary and its replica at once. The other shards keep serving
    (cluster-require-full-coverage no); the lost slots fail clearly and quickly (no hang);
    restarted, the shard serves again. Without persistence its keys are gone: reported."""
    return run(lab, "shard_loss", workload=lab.shard_workload(extra=(_short_lane(lab),)),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", f"shard:{VICTIM}")), FlaggedFail(nodes=(VICTIM, HEIR)),
        LostSlotProbes(node=VICTIM, via="node-7001"), OrphanFails(lane="short", count=3), StopWorkload(),
        Heal(), ServedAgain(node=VICTIM), Healthy()])


# -------------------------------------------------------------------------------- partition


def _partition_round(lab: ClusterLab, guarded: bool):
    """Cut node-7000 off from the other five nodes while a client holding a direct connection
    keeps writing to it (SET + WAIT 1 100 ms); the same write window in both rounds; heal."""
    name = "partition:with" if guarded else "partition:without"
    lab.min_replicas(1 if guarded else 0)
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
            Start(Fault("partition", VICTIM)), Promoted(), Hold(WINDOW_AFTER_PROMOTION_S), StopWorkload(),
            Heal(), Rejoined()])
    finally:
        direct.close()


def partition_method(lab: ClusterLab):
    """Jepsen's classic on the cluster: the isolated primary takes writes the heal throws away,
    until it notices it is in the minority (node-timeout). Without and with min-replicas."""
    _partition_round(lab, guarded=False)
    _partition_round(lab, guarded=True)


# ------------------------------------------------------------------------- linearizability
def linearizable_kill_method(lab: ClusterLab):
    """Jepsen's register (5 processes: read, write, cas) on keys of node-7000's slots while
    node-7000 is SIGKILLed."""
    return run(lab, "linearizable_kill", workload=lab.register_workload(VICTIM), observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Promoted(), ShardResumed(count=20, lane="register"), Hold(2.0),
        StopWorkload(), Heal(), Rejoined()])


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
               observers=lab.observers(), schedule=[
        Start(Fault("partition", VICTIM)), Promoted(), RegisterReads(),
        ShardResumed(count=20, lane="register", after_promotion=True),
        StopWorkload("register"), Hold(1.0), StopWorkload(), Heal(), Rejoined()])


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
