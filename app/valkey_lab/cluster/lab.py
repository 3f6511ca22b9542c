"""The Cluster adapter of the Lab protocol: 6 nodes, 3 shards, the deterministic layout
(node-7000..7002 primaries of the three slot ranges, node-7003..7005 their replicas).

Its steps (data in a schedule, each handled by the method of the same name, see
``ClusterLab.do``): waits ``Promoted``, ``ShardResumed``, ``Rejoined``, ``FlaggedFail``,
``OrphanFails``, ``ServedAgain``, ``VoteTimer``, ``Healthy``; actions ``Probe``,
``RejoinState``, ``RegisterReads``, ``LostSlotProbes``. A step's ``node`` defaults to the
first node of the last fault (the victim). Fault targets (``resolve``): a node name,
"shard:NODE" (the node and its partner), "primary:N" / "replica:N" (the node that is now the
primary, or a replica, of the N-th slot range: 1 is 0-5460), "primary" (of range 1)."""
from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.backends.base import Backend
from valkey_lab.clients.cluster import ClusterClient, keys_in_ranges
from valkey_lab.clients.retry import BackoffPolicy
from valkey_lab.runner.lab import client_events, close_all, perform
from valkey_lab.runner.run import Action, RunState, Wait
from valkey_lab.cluster.observe import FlagSampler
from valkey_lab.cluster import topology as ct
from valkey_lab.cluster.topology import LAYOUT, NODES, PAIR, ClusterTopology
from valkey_lab.util import LabError, WaitTimeout, now, password, wait_for
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.register import CAS_SCRIPT, RegisterLane, RegisterOps
from valkey_lab.workload.writer import Incrementer, Workload, Writer, final_reads

# Errors by which a shard refuses service (as opposed to a transport hiccup).
CLUSTER_REFUSALS = ("ClusterDownError", "TryAgainError", "SlotNotCoveredError", "ClusterUnavailable",
                    "MasterDownError", "ReadOnlyError", "ClusterError")
# 1 s (the HA lab uses 2): replicas ack every second, so the lag reads 0-1 when linked; with 2
# the guard would fire about when the minority check (node-timeout 3 s) does anyway.
MIN_REPLICAS_MAX_LAG_S = 1
PROBE_BUDGET_S = 1.0  # lanes that must fail fast on a lost shard


# -- the cluster lab's steps -----------------------------------------------------------------------
@dataclass(frozen=True)
class Promoted(Wait):
    """The victim's partner owns its slots and the survivors agree (-> ``state.t_promoted``)."""
    condition = "promoted"


@dataclass(frozen=True)
class ShardResumed(Wait):
    """``count`` ok writes of ``lane`` (default: the victim's shard writer) since the last fault,
    or since the promotion (``after_promotion``)."""
    condition = "shard-resumed"
    count: int = 20
    lane: Optional[str] = None
    after_promotion: bool = False


@dataclass(frozen=True)
class Rejoined(Wait):
    """``node`` is back as a replica of its partner, link up."""
    condition = "rejoined"
    node: Optional[str] = None


@dataclass(frozen=True)
class FlaggedFail(Wait):
    """Every survivor flags each of ``nodes`` (default: the last fault's) fail."""
    condition = "flagged-fail"
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrphanFails(Wait):
    """``count`` failed ops of ``lane`` from now on (its slots are known lost by this step)."""
    condition = "orphan-fails"
    lane: str
    count: int = 3


@dataclass(frozen=True)
class ServedAgain(Wait):
    """A probe write to ``node``'s slots, repeated until one is acknowledged."""
    condition = "served-again"
    node: Optional[str] = None


@dataclass(frozen=True)
class VoteTimer(Wait):
    """The primaries may vote again: 2 x node-timeout since the shard's last election."""
    condition = "vote-timer"


@dataclass(frozen=True)
class Healthy(Wait):
    """cluster_state:ok and one map on every node."""
    condition = "healthy"


@dataclass(frozen=True)
class FailedOver(Wait):
    """If the last fault took down a primary with slots, every survivor names another owner of
    them; otherwise at once. (A killed primary restarted before that comes back empty, and its
    replica resyncs from it: a fault of its own.)"""
    condition = "failed-over"


@dataclass(frozen=True)
class Probe(Action):
    """SET + WAIT 1 on ``shard``'s slots: the op records how many replicas acknowledged."""
    shard: str


@dataclass(frozen=True)
class RejoinState(Action):
    """What ``node`` and its partner report of their replication (after the probe)."""
    node: str


@dataclass(frozen=True)
class RegisterReads(Action):
    """One read of each register key, through a fresh cluster client, as soon as asked."""


@dataclass(frozen=True)
class LostSlotProbes(Action):
    """What a plain connection to ``via`` and the cluster client say of a write to ``node``'s lost slots."""
    node: str
    via: str


class ClusterLab:
    name = "cluster"

    def __init__(self, backend: Backend, topology: ClusterTopology, pw: str, valkey_version: str,
                 node_timeout_ms: int, recorder, report_extra: Optional[dict] = None):
        self.backend, self.topology, self.password, self.recorder = backend, topology, pw, recorder
        self.valkey_version, self.node_timeout_ms = valkey_version, node_timeout_ms
        self.report_extra = report_extra or {}
        self.run_id = os.urandom(3).hex()
        self.clients: list[ClusterClient] = []
        self._namespaces = itertools.count()
        self._stale: list = []  # plain connections of stale register clients
        self.register_keys: list[str] = []
        self.last_election = 0.0  # a primary votes for a shard's failover at most once per 2 x node-timeout

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def node_timeout_s(self) -> float:
        return self.node_timeout_ms / 1000

    @property
    def failover_deadline_s(self) -> float:
        """How long a failover may take before the run gives up waiting: measured ~1.8x
        node-timeout (design notes, section 3); 8x plus 5 s leaves room for a slow CI machine."""
        return 8 * self.node_timeout_s + 5

    def policy(self, budget: Optional[float] = None) -> BackoffPolicy:
        return BackoffPolicy(base=0.05, cap=0.25, jitter=0.05, budget=budget or self.failover_deadline_s)

    def settings(self) -> dict:
        p = self.policy()
        ports = {}
        for n in NODES:
            ports[str(self.backend.announced(n)[1])] = n
            ports[str(self.backend.address(n)[1])] = n
        return {"node_timeout_s": self.node_timeout_s, "failover_deadline_s": self.failover_deadline_s,
                "layout": {k: list(v) for k, v in LAYOUT.items()}, "pair": PAIR, "ports": ports,
                "addresses": {n: ":".join(map(str, self.backend.address(n))) for n in NODES},
                "client_backoff": {"base_s": p.base, "cap_s": p.cap, "jitter_s": p.jitter, "budget_s": p.budget},
                "probe_budget_s": PROBE_BUDGET_S, "min_replicas_max_lag_s": MIN_REPLICAS_MAX_LAG_S,
                "repl_lag_window_s": 1.0, "refusals": list(CLUSTER_REFUSALS)}

    # -- clients and workloads -----------------------------------------------------------------
    def client(self, policy: Optional[BackoffPolicy] = None, record: bool = True, lane: Optional[str] = None
               ) -> ClusterClient:
        c = ClusterClient([self.backend.address(n) for n in self.topology.running()], self.password,
                          remap=self.backend.address_map(), policy=policy or BackoffPolicy(base=0.05, cap=0.5,
                                                                                           jitter=0.05, budget=10.0),
                          on_event=client_events(self.recorder, lane) if record else None)
        self.clients.append(c)
        return c

    def key(self, *parts: str) -> str:
        return ":".join(("lab", self.run_id, *parts))

    def shard_writer(self, primary: str, ranges, lane: Optional[str] = None, wait_replicas: int = 0,
                     policy: Optional[BackoffPolicy] = None, pace: float = 0.01) -> Writer:
        """A lane of distinct-key SETs to one shard's slots (WAIT ``wait_replicas`` after each)."""
        lane = lane or primary
        c = self.client(policy or self.policy(), lane=lane)
        if wait_replicas:
            write = lambda k, v: c.set_acked(k, v, replicas=wait_replicas, timeout_ms=300)  # noqa: E731
        else:
            write = lambda k, v: (c.set(k, v), None)[1]  # noqa: E731
        prefix = self.key(f"w{next(self._namespaces)}", lane)
        return Writer(self.recorder, lane, write, prefix, pace=pace, keys=ShardKeys(prefix, ranges), shard=primary)

    def shard_workload(self, wait_for_shard: Optional[dict] = None, extra: tuple = ()) -> Workload:
        """One writer per shard, each with a client of its own (a writer stuck on a dead shard
        must not slow the others); ``wait_for_shard``: primary -> WAIT replicas."""
        lanes = [self.shard_writer(s["primary"], s["ranges"], wait_replicas=(wait_for_shard or {}).get(s["primary"], 0))
                 for s in self.topology.shards()]
        return Workload(lanes + list(extra))

    def counter(self, lane: str = "counter", node: str = "node-7001") -> Incrementer:
        """INCR of one key in ``node``'s slots, never retried after an ambiguous error."""
        c = self.client(self.policy(), lane=lane)
        key = keys_in_ranges(self.key(f"w{next(self._namespaces)}", lane), [LAYOUT[node]], 1)[0]
        return Incrementer(self.recorder, lane, lambda k: c.call(lambda rc: rc.incr(k)), key, shard=node)

    def register_workload(self, node: Optional[str] = None, processes: int = 5, stale: int = 0, keys: int = 3,
                          seed: int = 1, gen=None) -> Workload:
        """Jepsen's register on keys of ``node``'s slots (None: of every shard's): ``processes``
        clients through the lab's cluster client, plus ``stale`` clients holding a plain
        connection to ``node``. ``gen``: the op mix and pacing (REGISTER_OPS by default)."""
        ranges = [LAYOUT[node]] if node is not None else list(LAYOUT.values())
        names = ([k for rng in ranges for k in keys_in_ranges(self.key(f"w{next(self._namespaces)}", "register"),
                                                               [rng], keys)] if node is None else
                 keys_in_ranges(self.key(f"w{next(self._namespaces)}", "register"), ranges, keys))
        self.register_keys = names
        lanes = []
        for i in range(processes):
            c = self.client(self.policy(), lane="register")
            ops = RegisterOps(read=lambda k, c=c: c.call(lambda rc: rc.get(k), idempotent=True),
                              write=lambda k, v, c=c: c.call(lambda rc: rc.set(k, v)),
                              cas=lambda k, old, new, c=c: bool(c.call(lambda rc: rc.eval(CAS_SCRIPT, 1, k, old, new))))
            lanes.append(RegisterLane(self.recorder, "register", ops, names, seed=seed * 1000 + i, gen=gen))
        for i in range(stale):
            host, port = self.backend.address(node)
            conn = redis.Redis(host, port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                               decode_responses=True, retry=Retry(NoBackoff(), 0))
            self._stale.append(conn)
            ops = RegisterOps(read=conn.get, write=lambda k, v, conn=conn: conn.set(k, v),
                              cas=lambda k, old, new, conn=conn: bool(conn.eval(CAS_SCRIPT, 1, k, old, new)))
            lanes.append(RegisterLane(self.recorder, f"stale:{node}", ops, names, seed=seed * 1000 + 100 + i,
                                      gen=gen))
        return Workload(lanes)

    def observers(self) -> list:
        return [FlagSampler(self.topology, lambda: [n for n in NODES if self.backend.is_running(n)], self.recorder)]

    # -- the fault interface ---------------------------------------------------------------------
    def resolve(self, target: str) -> list[str]:
        if target.startswith("shard:"):
            node = target.split(":", 1)[1]
            return [node, PAIR[node]]
        if target in NODES:
            return [target]
        if target == "primary" or target.startswith(("primary:", "replica:")):
            role, _, n = target.partition(":")
            rng = LAYOUT[list(LAYOUT)[int(n or 1) - 1]]
            shard = next((s for s in self.topology.shards() if tuple(s["ranges"][0]) == tuple(rng)), None)
            if shard is None:
                raise ValueError(f"no primary serves {ct.format_ranges([rng])} now: cannot resolve {target!r}")
            if role == "primary":
                return [shard["primary"]]
            replicas = [r for r in shard["replicas"] if self.backend.is_running(r)] or [PAIR[shard["primary"]]]
            return [replicas[0]]
        raise ValueError(f"unknown cluster fault target {target!r}")

    def command(self, node: str, *args):
        """One command on ``node`` through a plain connection (CLIENT PAUSE, CONFIG SET, ...)."""
        return self.topology.client(node).execute_command(*args)

    def partition_peers(self, node: str, params: dict) -> list[str]:
        return [n for n in NODES if n != node]

    def manual_failover(self, nodes: list[str], params: dict) -> None:
        """CLUSTER FAILOVER on each node's partner (coordinated: the replica catches up first;
        params ``mode`` FORCE or TAKEOVER: Valkey's two uncoordinated ones)."""
        for node in nodes:
            self.topology.manual_failover(PAIR[node], self.failover_deadline_s, params.get("mode"))
            self.last_election = now()

    # -- steady state, conditions, actions ---------------------------------------------------------
    def steady(self) -> float:
        return self.topology.wait_healthy(30.0, "a healthy cluster with the deterministic layout", layout=True)

    def _ops(self, lane: str, since: float, ok: bool = True) -> int:
        return self.recorder.count(lambda r: r.get("kind") == "client" and r.get("lane") == lane
                                   and r["type"] != "invoke" and (r["type"] == "ok") == ok, since=since)

    def do(self, step: Wait | Action, state: RunState) -> None:
        perform("cluster", {Promoted: self.promoted, ShardResumed: self.shard_resumed, Rejoined: self.rejoined,
                            FlaggedFail: self.flagged_fail, OrphanFails: self.orphan_fails,
                            ServedAgain: self.served_again, VoteTimer: self.vote_timer, Healthy: self.healthy,
                            Probe: self.probe, RejoinState: self.rejoin_state, RegisterReads: self.register_reads,
                            LostSlotProbes: self.lost_slot_probes, FailedOver: self.failed_over}, step, state)

    def failed_over(self, step: FailedOver, state: RunState) -> None:
        topo, victims = self.topology, set(state.victims)

        def moved_on() -> bool:
            survivors = [n for n in NODES if n not in victims and self.backend.is_running(n)]
            return bool(survivors) and all(not (line.role == "primary" and line.slots and topo.name_of(line) in victims)
                                           for n in survivors for line in topo.view(n))
        wait_for(moved_on, f"the survivors to give {', '.join(sorted(victims))}'s slots to another primary",
                 self._deadline(step), interval=0.05)

    def _deadline(self, step: Wait) -> float:
        return step.timeout or self.failover_deadline_s

    @staticmethod
    def _victim(node: Optional[str], state: RunState) -> str:
        victim = node or (state.victims[0] if state.victims else None)
        if victim is None:
            raise ValueError("no node given and no fault started: which node?")
        return victim

    def promoted(self, step: Promoted, state: RunState) -> None:
        topo, deadline, victims = self.topology, self._deadline(step), state.victims
        victim = self._victim(None, state)
        heir, slots = PAIR[victim], LAYOUT[victim]
        wait_for(lambda: (me := topo.me(heir)).role == "primary" and me.slots == [slots],
                 f"{heir} to become primary of {ct.format_ranges([slots])}", deadline, interval=0.05)
        survivors = [n for n in NODES if self.backend.is_running(n) and n not in victims]
        wait_for(lambda: topo.agreed_view(survivors, dead=victims) is not None and
                 all(topo.owner_of(slots[0], n) == heir for n in survivors),
                 "the surviving nodes to agree on the new primary", deadline, interval=0.05)
        self.last_election = state.t_promoted = now()

    def shard_resumed(self, step: ShardResumed, state: RunState) -> None:
        lane = step.lane or self._victim(None, state)
        since = state.t_promoted if step.after_promotion else state.t_fault
        if since is None:
            raise ValueError("ShardResumed counts from a fault (or a promotion): none yet")
        t = self.recorder.at(since)
        wait_for(lambda: self._ops(lane, t) >= step.count, f"writes to {lane}'s slots to resume",
                 self._deadline(step), interval=0.02)

    def rejoined(self, step: Rejoined, state: RunState) -> None:
        topo, node = self.topology, self._victim(step.node, state)
        primary = PAIR[node]
        wait_for(lambda: topo.role(node) == "replica" and topo.primary_of(node) == primary and topo.link_up(node),
                 f"{node} to come back as a replica of {primary}, link up", 2 * self._deadline(step), interval=0.05)

    def flagged_fail(self, step: FlaggedFail, state: RunState) -> None:
        topo, gone = self.topology, list(step.nodes or state.victims)
        survivors = [n for n in NODES if n not in gone and self.backend.is_running(n)]
        wait_for(lambda: all(sum("fail" in line.flags and topo.name_of(line) in gone for line in topo.view(n))
                             == len(gone) for n in survivors),
                 f"every survivor to flag {', '.join(gone)} fail", self._deadline(step), interval=0.05)

    def orphan_fails(self, step: OrphanFails, state: RunState) -> None:
        start = self.recorder.at(now())
        wait_for(lambda: self._ops(step.lane, start, ok=False) >= step.count,
                 f"writes to {step.lane}'s orphaned slots to fail", self._deadline(step))

    def served_again(self, step: ServedAgain, state: RunState) -> None:
        victim = self._victim(step.node, state)
        key = keys_in_ranges(self.key(f"w{next(self._namespaces)}", "served"), [LAYOUT[victim]], 1)[0]
        worker = self.recorder.worker()
        holder: dict = {}

        def probe() -> bool:
            if "client" not in holder:  # a fresh RedisCluster refuses to start while a node of its map is down
                try:
                    holder["client"] = self.client(self.policy(PROBE_BUDGET_S), record=False)
                except Exception:  # noqa: BLE001 - not yet
                    return False
            with worker.op("write", key, "1", lane="served") as op:
                holder["client"].set(key, "1")
            return op.type == "ok"
        wait_for(probe, f"{ct.format_ranges([LAYOUT[victim]])} to be served again", 2 * self._deadline(step),
                 interval=0.1)

    def vote_timer(self, step: VoteTimer, state: RunState) -> None:
        vote_timer = 2 * self.node_timeout_s + 0.2
        wait_for(lambda: now() - self.last_election >= vote_timer,
                 f"the primaries' vote timer ({vote_timer:.1f}s since the shard's last election)",
                 step.timeout or vote_timer + 1)

    def healthy(self, step: Healthy, state: RunState) -> None:
        self.topology.wait_healthy(self._deadline(step), "cluster_state:ok and one map on every node")

    def probe(self, step: Probe, state: RunState) -> None:
        c = self.client(record=False)
        key = keys_in_ranges(self.key(f"w{next(self._namespaces)}", "probe"), [LAYOUT[step.shard]], 1)[0]
        with self.recorder.op(self.recorder.process(), "write", key, "1", lane="probe", shard=step.shard) as op:
            op.ok(replicated=c.set_acked(key, "1", replicas=1, timeout_ms=5000))

    def rejoin_state(self, step: RejoinState, state: RunState) -> None:
        topo = self.topology
        for node in (step.node, PAIR[step.node]):
            info = topo.info(node, "replication")
            self.recorder.server("replication", node, {
                "dbsize": topo.client(node).dbsize(), "role": info.get("role"),
                "offset": info.get("master_repl_offset") if info.get("role") == "master"
                else info.get("slave_repl_offset")})

    def register_reads(self, step: RegisterReads, state: RunState) -> None:
        c = self.client(self.policy(), record=False)
        for key in self.register_keys:
            with self.recorder.op(self.recorder.process(), "read", key, None, lane="register-read") as op:
                op.ok(c.get(key))

    def lost_slot_probes(self, step: LostSlotProbes, state: RunState) -> None:
        topo = self.topology
        key = keys_in_ranges(self.key(f"w{next(self._namespaces)}", "lost"), [LAYOUT[step.node]], 1)[0]
        for lane, write in (("probe-plain", lambda: topo.client(step.via).set(key, "x")),
                            ("probe-client", lambda: self.client(self.policy(PROBE_BUDGET_S), record=False)
                             .set(key, "x"))):
            with self.recorder.op(self.recorder.process(), "write", key, "x", lane=lane):
                write()

    def min_replicas(self, to_write: int, strict: bool = True) -> None:
        """min-replicas-to-write on every running node (``strict``: a node that refuses raises)."""
        for node in NODES:
            if self.backend.is_running(node):
                try:
                    self.topology.client(node).config_set("min-replicas-to-write", to_write)
                    self.topology.client(node).config_set("min-replicas-max-lag", MIN_REPLICAS_MAX_LAG_S)
                except redis.RedisError:
                    if strict:
                        raise

    def restore(self) -> None:
        """Every node running and linked, then the deterministic layout back (CLUSTER FAILOVER,
        no write lost); what it took is recorded for the checks."""
        backend, topo, deadline = self.backend, self.topology, self.failover_deadline_s
        backend.heal()
        for node in NODES:
            try:
                if node in getattr(backend, "paused", ()) or backend.name == "docker":
                    backend.resume(node)
                backend.start(node)
            except Exception:  # noqa: BLE001 - best effort: the health wait below tells
                pass
        self.min_replicas(0, strict=False)
        start = now()
        try:
            topo.wait_healthy(2 * deadline, "every node back, cluster_state:ok, one map, replicas linked")
            done = topo.restore_layout(deadline)
            if done:
                self.last_election = now()
            topo.wait_healthy(deadline, "the deterministic layout", layout=True)
            problems = topo.layout_problems() + topo.health()
        except WaitTimeout as exc:
            done, problems = [], [f"waited in vain for {exc.what}"]
        self.recorder.server("layout", None, {"problems": problems, "done": done, "seconds": round(now() - start, 3)})

    def final_reads(self, keys: list[str]) -> None:
        c = self.client(record=False)
        final_reads(self.recorder, keys, c.get_many)

    def close(self) -> None:
        close_all(self.clients)
        close_all(self._stale)


@contextmanager
def open_lab(args, recorder):
    """Build (local) or attach to (docker) the cluster, make sure it is formed and healthy with
    the deterministic layout, and yield the ClusterLab. Everything started here is stopped."""
    if getattr(args, "backend", None) == "external" or getattr(args, "target", None):
        from valkey_lab.cluster.external import open_external  # the deployment a target file names
        with open_external(args, recorder) as lab:
            yield lab
        return
    secret = password()
    kind = args.backend
    if kind == "auto":
        kind = "docker" if ct.docker_stack_running() else "local"
    extra: dict = {}
    if kind == "local":
        base = ct.DEFAULT_LOCAL_BASE_PORT if args.base_port is None else args.base_port
        backend = ct.local_backend(secret, base)
    else:
        backend = ct.docker_backend(secret)
    topo = ClusterTopology(backend, secret)
    lab = None
    try:
        if kind == "local":
            extra["init"] = ct.run_init([backend.address(n) for n in NODES], secret)
        else:
            restarted = [n for n in NODES if not backend.is_running(n)]
            for node in restarted:  # a node killed by hand earlier: the suite starts from a whole cluster
                backend.start(node)
            if restarted:
                extra["restarted"] = restarted
            topo.check_reachable()
            failed = ct.init_service_failure(backend)
            if failed:
                raise LabError(f"the cluster-init service failed ({failed}): see 'docker-compose -f "
                               f"{ct.COMPOSE_FILE} logs cluster-init'")
            try:  # the init service may still be forming it right after `up -d`
                topo.wait_healthy(60.0, "the cluster to be formed and healthy")
            except WaitTimeout as exc:
                raise LabError(f"the cluster is not formed or not healthy ({exc.last}): its init service forms "
                               f"it ('docker-compose -f {ct.COMPOSE_FILE} up -d'; see "
                               f"'docker-compose -f {ct.COMPOSE_FILE} logs cluster-init')") from exc
            restored = topo.restore_layout(30.0)
            if restored:
                extra["restored_layout"] = restored
        try:
            topo.wait_healthy(30.0, "the deterministic layout, healthy", layout=True)
        except WaitTimeout as exc:
            raise LabError(f"the cluster is healthy but not in the lab's layout ({exc.last}), e.g. after an "
                           f"interrupted slot migration: recreate it with 'docker-compose -f {ct.COMPOSE_FILE} "
                           f"down -v' then 'up -d'") from exc
        lab = ClusterLab(backend, topo, secret, topo.valkey_version(), topo.config_node_timeout_ms(), recorder,
                         report_extra=extra)
        extra.update({"node_timeout_ms": lab.node_timeout_ms, "run_id": lab.run_id,
                      "nodes": {n: ":".join(map(str, backend.address(n))) for n in NODES}})
        yield lab
    finally:
        if lab is not None:
            lab.close()
        topo.close()
        backend.close()


__all__ = ["ClusterLab", "open_lab", "CLUSTER_REFUSALS", "PROBE_BUDGET_S", "Promoted", "ShardResumed",
           "Rejoined", "FlaggedFail", "OrphanFails", "ServedAgain", "VoteTimer", "Healthy", "Probe", "RejoinState",
           "RegisterReads", "LostSlotProbes", "FailedOver"]
