"""The HA adapter of the Lab protocol: 1 master, 2 replicas, 3 Sentinels on a backend.

Its steps (data in a schedule, each handled by the method of the same name, see ``HALab.do``):
waits ``NewMaster``, ``ClientResumed``, ``Rejoined``, ``ReplicasHealthy``, ``SentinelEvent``;
actions ``Probe``, ``ReplicaReads``, ``Fill``, ``DropFill``, ``OldMasterWrite``. Fault targets
(``resolve``): "master", "replicas", "replica:N" (the N-th server that is not the master),
"sentinels:N" (the last N), "sentinel:N" (the N-th), a node name.
"""
from __future__ import annotations

import itertools
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.backends.base import Backend
from valkey_lab.clients.ha import BackoffPolicy, HAClient
from valkey_lab.loop import BackgroundLoop
from valkey_lab.runner.lab import client_events, close_all, perform
from valkey_lab.runner.run import Action, RunState, Wait
from valkey_lab.ha.observe import RoleSampler, SentinelObserver
from valkey_lab.ha.topology import (SENTINELS, SERVERS, SERVICE, HATopology, sentinel_timing,
                                    docker_backend, docker_stack_running, local_backend, DEFAULT_LOCAL_BASE_PORT)
from valkey_lab.util import WaitTimeout, now, password, wait_for
from valkey_lab.workload.register import CAS_SCRIPT, RegisterLane, RegisterOps
from valkey_lab.workload.writer import Incrementer, Workload, Writer, final_reads

REJOIN_DEADLINE_S = 45.0  # Sentinel re-checks a down instance every 10 s, then a full sync
MIN_REPLICAS_MAX_LAG_S = 2


# -- the HA lab's steps --------------------------------------------------------------------------
@dataclass(frozen=True)
class NewMaster(Wait):
    """Every running Sentinel names a master other than the faulted nodes (-> ``state.new_master``)."""
    condition = "new-master"


@dataclass(frozen=True)
class ClientResumed(Wait):
    """``count`` ok ops in each of ``lanes`` (default: every lane of the workload) since the last
    fault; >= 2 per lane means at least one op invoked after the fault succeeded."""
    condition = "client-resumed"
    count: int = 10
    lanes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejoined(Wait):
    """Every running server except the (new) master replicates it, link up."""
    condition = "rejoined"


@dataclass(frozen=True)
class ReplicasHealthy(Wait):
    """Sentinel trusts both replicas (a manual failover needs one it trusts)."""
    condition = "replicas-healthy"


@dataclass(frozen=True)
class Probe(Action):
    """One SET + WAIT ``replicas`` through the master: the op records how many acknowledged."""
    replicas: int = 2
    name: str = "probe"  # part of the key
    lane: str = "probe"


@dataclass(frozen=True)
class ReplicaReads(Action):
    """What each replica serves for the keys the ok writes of ``lanes`` wrote (a witness)."""
    lanes: tuple[str, ...]


@dataclass(frozen=True)
class Recovered(Wait):
    """Whatever failed over meanwhile: every running Sentinel names one master, it answers
    role:master, and every other running server replicates it, link up (re-read each poll)."""
    condition = "recovered"


@dataclass(frozen=True)
class FailedOver(Wait):
    """If the last fault took the master down, the Sentinels name another one; otherwise at
    once. Restarting a killed master before that would be a fault of its own: with no
    persistence it comes back empty (or with an old RDB), and its replicas resync from it."""
    condition = "failed-over"


@dataclass(frozen=True)
class SentinelEvent(Wait):
    """A Sentinel (``node``, or any) published ``event`` since the last fault started."""
    condition = "sentinel-event"
    event: str = "+tilt"
    node: Optional[str] = None


@dataclass(frozen=True)
class Fill(Action):
    """``mb`` MB through the master in ``value_kb`` KB random values (pipelined; random, since
    the RDB a full sync streams is compressed), then WAIT 2: a data set a replica's full resync
    must copy. What it wrote is recorded (server ``fill``), not journaled."""
    mb: int = 24
    value_kb: int = 16


@dataclass(frozen=True)
class DropFill(Action):
    """Delete what ``Fill`` wrote (so later runs do not resync it)."""


@dataclass(frozen=True)
class FullResync(Action):
    """Make ``replica`` (a target spec) do a full resync now: REPLICAOF NO ONE then REPLICAOF the
    master, pipelined in one round trip (nobody sees it as a master in between). Its new
    replication ID matches nothing the master knows, so PSYNC gets FULLRESYNC. (A restart would
    not do: the replica reloads the RDB it received and resyncs partially.) Recorded as
    server ``resync`` (the node, the master)."""
    replica: str = "replica:1"


@dataclass(frozen=True)
class ResyncDone(Action):
    """The master's count of full syncs served (INFO stats ``sync_full``) now: server
    ``resync-done``, to compare with the count ``FullResync`` recorded before."""


@dataclass(frozen=True)
class OldMasterWrite(Action):
    """One plain SET straight to the first node of fault ``n`` (the old master), recorded in
    lane ``old-master`` with the node: a demoted master refuses it (READONLY)."""
    n: int = 0


class SyncSampler(BackgroundLoop):
    """Every ``interval`` seconds, what each server that is a replica says of its link and its
    sync (``master_link_status``, ``master_sync_in_progress``, bytes read of the transfer):
    server records ``sync``, to show a full resync over time."""
    name = "sync-sampler"
    step_on_stop = True
    FIELDS = ("master_link_status", "master_sync_in_progress", "master_sync_total_bytes", "master_sync_read_bytes",
              "slave_repl_offset", "master_last_io_seconds_ago")

    def __init__(self, backend, password: str, recorder, interval: float = 0.2):
        super().__init__(interval)
        self.rec = recorder
        self.topo = HATopology(backend, password, timeout=0.3)

    def step(self) -> None:
        for node in SERVERS:
            try:
                info = self.topo.replication(node)
            except (redis.RedisError, OSError):
                self.rec.server("sync", node, {"role": None})
                continue
            if info.get("role") == "slave":
                self.rec.server("sync", node, {"role": "slave", **{k: info.get(k) for k in self.FIELDS}})

    def closing(self) -> None:
        self.topo.close()


class HALab:
    name = "ha"

    def __init__(self, backend: Backend, topo: HATopology, pw: str, recorder, policy: BackoffPolicy = BackoffPolicy(),
                 backend_name: str = "", valkey_version: str = "", ready_s: Optional[float] = None):
        self.backend, self.topo, self.password, self.recorder = backend, topo, pw, recorder
        self.policy, self.backend_name, self.valkey_version, self.ready_s = policy, backend_name, valkey_version, ready_s
        self.run_id = uuid.uuid4().hex[:8]
        self._namespaces = itertools.count()  # every workload writes keys of its own
        self._stale: list = []  # plain connections of stale register clients
        self._clients: list[HAClient] = []
        timing = sentinel_timing()  # read when a lab is built, not at import
        self.down_after_s, self.failover_timeout_s = timing.down_after_s, timing.failover_timeout_s
        self.switch_deadline_s = self.down_after_s + self.failover_timeout_s + 5  # generous bound for one failover

    # -- what the checkers need ----------------------------------------------------------------
    def settings(self) -> dict:
        return {"down_after_s": self.down_after_s, "failover_timeout_s": self.failover_timeout_s, "quorum": 2,
                "switch_deadline_s": self.switch_deadline_s, "rejoin_deadline_s": REJOIN_DEADLINE_S,
                "min_replicas_max_lag_s": MIN_REPLICAS_MAX_LAG_S,
                # Writes acknowledged this long before a fault are "at risk" (asynchronous replication).
                "repl_lag_window_s": 1.0,
                "client_backoff": {"base_s": self.policy.base, "cap_s": self.policy.cap,
                                   "jitter_s": self.policy.jitter, "budget_s": self.policy.budget},
                "addresses": {n: ":".join(map(str, self.backend.address(n))) for n in self.backend.nodes()},
                "announced": {":".join(map(str, self.backend.announced(n))): n for n in self.backend.nodes()}}

    @property
    def report_extra(self) -> dict:
        s = self.settings()
        return {"ready_s": None if self.ready_s is None else round(self.ready_s, 3),
                "settings": {"down_after_ms": int(self.down_after_s * 1000),
                             "failover_timeout_ms": int(self.failover_timeout_s * 1000),
                             "quorum": 2, "client_backoff": s["client_backoff"]}}

    # -- clients and workloads -----------------------------------------------------------------
    def client(self, policy: Optional[BackoffPolicy] = None, watch_switch: bool = True, record: bool = True,
               socket_timeout: float = 0.5, lane: Optional[str] = None) -> HAClient:
        c = HAClient([self.backend.address(s) for s in SENTINELS], SERVICE, password=self.password,
                     remap=self.backend.remap, policy=policy or self.policy, watch_switch=watch_switch,
                     socket_timeout=socket_timeout, on_event=client_events(self.recorder, lane) if record else None)
        self._clients.append(c)
        return c

    def key(self, *parts: str) -> str:
        return ":".join(("lab", self.run_id, *parts))

    @staticmethod
    def where(c: HAClient):
        """The master ``c`` last talked to, as "host:port" (a completion's ``node``)."""
        return lambda: ":".join(map(str, c.master)) if c.master else None

    def writer(self, lane: str, replicas: int = 1, timeout_ms: int = 300, pace: float = 0.005,
               policy: Optional[BackoffPolicy] = None) -> Writer:
        """A lane of distinct-key SETs, each followed by WAIT ``replicas`` (0: no WAIT)."""
        c = self.client(policy, lane=lane)
        if replicas:
            write = lambda k, v: c.set_acked(k, v, replicas=replicas, timeout_ms=timeout_ms)  # noqa: E731
        else:
            write = lambda k, v: (c.call(lambda r: r.set(k, v), idempotent=True), None)[1]  # noqa: E731
        return Writer(self.recorder, lane, write, self.key(f"w{next(self._namespaces)}", lane), pace=pace,
                      where=self.where(c))

    def counter(self, lane: str = "counter") -> Incrementer:
        c = self.client(record=False)
        return Incrementer(self.recorder, lane, lambda k: c.call(lambda r: r.incr(k)),
                           self.key(f"w{next(self._namespaces)}", lane), where=self.where(c))

    def workload(self, wait_replicas: int = 1, counter: bool = True, policy: Optional[BackoffPolicy] = None) -> Workload:
        lanes = [self.writer(f"wait{wait_replicas}", replicas=wait_replicas, policy=policy)]
        if counter:
            lanes.append(self.counter())
        return Workload(lanes)

    def register_workload(self, processes: int = 5, stale: int = 0, keys: int = 3, seed: int = 1,
                          gen=None) -> Workload:
        """Jepsen's register: ``processes`` clients through the lab's HA client (following
        Sentinel), plus ``stale`` clients holding a plain connection to the current master
        (as an application that never asks Sentinel again would). ``gen``: the op mix and
        pacing (workload.register.REGISTER_OPS by default)."""
        names = [self.key(f"w{next(self._namespaces)}", "register", str(i)) for i in range(keys)]
        lanes = []
        for i in range(processes):
            c = self.client(lane="register")
            ops = RegisterOps(read=lambda k, c=c: c.call(lambda r: r.get(k), idempotent=True),
                              write=lambda k, v, c=c: c.call(lambda r: r.set(k, v)),
                              cas=lambda k, old, new, c=c: bool(c.call(lambda r: r.eval(CAS_SCRIPT, 1, k, old, new))))
            lanes.append(RegisterLane(self.recorder, "register", ops, names, seed=seed * 1000 + i, gen=gen,
                                      where=self.where(c)))
        if stale:
            master = self.master()
            for i in range(stale):
                conn = self.direct(master)
                self._stale.append(conn)
                ops = RegisterOps(read=conn.get, write=lambda k, v, conn=conn: conn.set(k, v),
                                  cas=lambda k, old, new, conn=conn: bool(conn.eval(CAS_SCRIPT, 1, k, old, new)))
                lanes.append(RegisterLane(self.recorder, f"stale:{master}", ops, names,
                                          seed=seed * 1000 + 100 + i, gen=gen))
        return Workload(lanes)

    def observers(self) -> list:
        return [SentinelObserver(self.backend, self.password, self.recorder),
                RoleSampler(self.backend, self.password, self.recorder)]

    # -- the fault interface ---------------------------------------------------------------------
    def master(self) -> str:
        """The master every running Sentinel names."""
        return wait_for(lambda: self.topo.agreed_master([s for s in SENTINELS if self.backend.is_running(s)]),
                        "the Sentinels to agree on a master", self.switch_deadline_s)

    def direct(self, node: str) -> redis.Redis:
        """A plain connection to one node, as a client that never asks Sentinel would hold."""
        host, port = self.backend.address(node)
        return redis.Redis(host, port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                           decode_responses=True, retry=Retry(NoBackoff(), 0))  # never sends a write twice

    def current_master(self) -> str:
        """The master as a fault target sees it: the one the running Sentinels agree on, or,
        when none runs or they disagree for 3 s (an unsafe schedule killed them), the server
        that answers role:master (the first, if several do)."""
        running = [s for s in SENTINELS if self.backend.is_running(s)]
        if running:
            try:
                return wait_for(lambda: self.topo.agreed_master(running), "the Sentinels to agree on a master", 3.0)
            except WaitTimeout:
                pass
        return wait_for(lambda: (self.topo.masters() or [None])[0], "a server answering role:master",
                        self.switch_deadline_s)

    def resolve(self, target: str) -> list[str]:
        if target == "master":
            return [self.current_master()]
        if target == "replicas":
            m = self.current_master()
            return [n for n in SERVERS if n != m]
        if target.startswith("replica:"):
            m = self.current_master()
            return [[n for n in SERVERS if n != m][int(target.split(":")[1]) - 1]]
        if target.startswith("sentinels:"):
            return SENTINELS[len(SENTINELS) - int(target.split(":")[1]):]
        if target.startswith("sentinel:"):
            return [SENTINELS[int(target.split(":")[1]) - 1]]
        if target in self.backend.nodes():
            return [target]
        raise ValueError(f"unknown HA fault target {target!r}")

    def command(self, node: str, *args):
        """One command on ``node`` through a plain connection (CLIENT PAUSE, CONFIG SET, ...)."""
        return self.topo.client(node).execute_command(*args)

    def partition_peers(self, node: str, params: dict) -> list[str]:
        return [n for n in self.backend.nodes() if n != node]

    def manual_failover(self, nodes: list[str], params: dict) -> None:
        """SENTINEL FAILOVER. Sentinel aborts a requested failover when it trusts no replica
        (-failover-abort-no-good-slave, e.g. just after a rejoin) and does not retry it: an
        operator would ask again, and so does the lab (at most 3 times)."""
        sentinel = self.topo.client(SENTINELS[0])
        for attempt in range(3):
            if attempt:
                self.replicas_healthy(ReplicasHealthy(), RunState())
            self.recorder.harness("failover-request", {"attempt": attempt + 1})
            sentinel.execute_command("SENTINEL FAILOVER", SERVICE)
            try:
                wait_for(self.topo.agreed_master, "the requested failover", 8,
                         accept=lambda m: m is not None and m not in nodes)
                return
            except WaitTimeout:
                continue

    # -- steady state, conditions, actions ---------------------------------------------------------
    def steady(self) -> float:
        return self.topo.wait_ready(timeout=60)

    def _ok_after(self, lane: Optional[str], t: float) -> int:
        return self.recorder.count(lambda r: r.get("kind") == "client" and r["type"] == "ok"
                                   and (lane is None or r.get("lane") == lane), since=t)

    def do(self, step: Wait | Action, state: RunState) -> None:
        perform("HA", {NewMaster: self.new_master, ClientResumed: self.client_resumed, Rejoined: self.rejoined,
                       ReplicasHealthy: self.replicas_healthy, Probe: self.probe, ReplicaReads: self.replica_reads,
                       SentinelEvent: self.sentinel_event, Fill: self.fill, DropFill: self.drop_fill,
                       OldMasterWrite: self.old_master_write, Recovered: self.recovered,
                       FullResync: self.full_resync, ResyncDone: self.resync_done, FailedOver: self.failed_over},
                step, state)

    def failed_over(self, step: FailedOver, state: RunState) -> None:
        victims = state.victims
        wait_for(lambda: (m := self.topo.agreed_master([s for s in SENTINELS if self.backend.is_running(s)]))
                 is not None and m not in victims, f"the Sentinels to name a master other than {victims}",
                 step.timeout or self.switch_deadline_s, interval=0.05)

    def recovered(self, step: Recovered, state: RunState) -> None:
        topo = self.topo

        def whole() -> bool:
            master = topo.agreed_master([s for s in SENTINELS if self.backend.is_running(s)])
            return master is not None and topo.role(master) == "master" and all(
                topo.in_sync(n, master) for n in SERVERS if n != master and self.backend.is_running(n))
        wait_for(whole, "one master the Sentinels agree on, every running server replicating it",
                 step.timeout or REJOIN_DEADLINE_S + self.switch_deadline_s, interval=0.1)

    def new_master(self, step: NewMaster, state: RunState) -> None:
        victims = state.victims
        state.new_master = wait_for(self.topo.agreed_master, f"the Sentinels to agree on a master other than {victims}",
                                    step.timeout or self.switch_deadline_s,
                                    accept=lambda m: m is not None and m not in victims)
        state.t_new_master = now()

    def client_resumed(self, step: ClientResumed, state: RunState) -> None:
        if state.t_fault is None:
            raise ValueError("ClientResumed counts from a fault: start one first")
        t = self.recorder.at(state.t_fault)
        lanes = step.lanes or state.lanes or [None]
        wait_for(lambda: all(self._ok_after(lane, t) >= step.count for lane in lanes),
                 f"the clients to write again after {state.victims}", step.timeout or self.policy.budget + 20,
                 interval=0.02)

    def rejoined(self, step: Rejoined, state: RunState) -> None:
        topo = self.topo
        master = state.new_master or self.master()
        wait_for(lambda: topo.agreed_master() == master and all(
            topo.in_sync(n, master) for n in SERVERS if n != master and self.backend.is_running(n)),
            f"every running server to replicate {master}", step.timeout or REJOIN_DEADLINE_S, interval=0.1)

    def replicas_healthy(self, step: ReplicasHealthy, state: RunState) -> None:
        sentinel = self.topo.client(SENTINELS[0])
        wait_for(lambda: all(rep["flags"] == "slave" and rep["master-link-status"] == "ok"
                             for rep in sentinel.execute_command("SENTINEL REPLICAS", SERVICE)),
                 "Sentinel to see healthy replicas", step.timeout or 30)

    def probe(self, step: Probe, state: RunState) -> None:
        c = self.client(record=False)
        try:
            key = self.key(f"w{next(self._namespaces)}", step.name)
            with self.recorder.op(self.recorder.process(), "write", key, "1", lane=step.lane) as op:
                op.ok(replicated=c.set_acked(key, "1", replicas=step.replicas, timeout_ms=3000))
        finally:
            c.close()

    def replica_reads(self, step: ReplicaReads, state: RunState) -> None:
        rec = self.recorder
        keys = [r["key"] for r in rec.records() if r.get("kind") == "client" and r["type"] == "ok"
                and r.get("lane") in step.lanes and r.get("run") == rec.run]
        for node in SERVERS:
            if self.topo.role(node) != "slave":
                continue
            values = self.topo.client(node).mget(keys) if keys else []
            rec.server("replica-values", node, dict(zip(keys, values)))

    def sentinel_event(self, step: SentinelEvent, state: RunState) -> None:
        since = self.recorder.at(state.t_fault) if state.t_fault is not None else 0.0
        wait_for(lambda: self.recorder.count(
            lambda r: r.get("kind") == "server" and r.get("f") == "sentinel-event"
            and r["value"]["event"] == step.event and (step.node is None or r.get("node") == step.node), since=since),
            f"{step.node or 'a Sentinel'} to publish {step.event}", step.timeout or self.switch_deadline_s + 30,
            interval=0.05)

    def fill(self, step: Fill, state: RunState) -> None:
        host, port = self.backend.address(self.master())
        conn = redis.Redis(host, port, password=self.password, socket_timeout=120, socket_connect_timeout=5)
        n = step.mb * 1024 // step.value_kb
        prefix = self.key("fill")
        t = now()
        try:
            for start in range(0, n, 64):
                pipe = conn.pipeline(transaction=False)
                for i in range(start, min(n, start + 64)):
                    pipe.set(f"{prefix}:{i}", os.urandom(step.value_kb * 1024))  # incompressible: the RDB is LZF'd
                pipe.execute()
            acked = conn.execute_command("WAIT", 2, 30000)
            used = conn.info("memory")["used_memory"]
        finally:
            conn.close()
        self._filled = (prefix, n)
        self.recorder.server("fill", None, {"mb": step.mb, "keys": n, "value_kb": step.value_kb, "acked": acked,
                                            "seconds": round(now() - t, 3), "used_memory_mb": round(used / 2 ** 20, 1)})

    def drop_fill(self, step: DropFill, state: RunState) -> None:
        prefix, n = getattr(self, "_filled", (None, 0))
        if not prefix:
            return
        c = self.client(record=False)
        try:
            for start in range(0, n, 500):
                keys = [f"{prefix}:{i}" for i in range(start, min(n, start + 500))]
                c.call(lambda r, keys=keys: r.unlink(*keys), idempotent=True)
        finally:
            c.close()
        self._filled = (None, 0)

    def full_resync(self, step: FullResync, state: RunState) -> None:
        master = self.master()
        (node,) = self.resolve(step.replica)
        host, port = self.backend.announced(master)
        before = int(self.topo.client(master).info("stats").get("sync_full", 0))
        pipe = self.topo.client(node).pipeline(transaction=False)
        pipe.execute_command("REPLICAOF", "NO", "ONE")
        pipe.execute_command("REPLICAOF", host, port)
        self.recorder.server("resync", node, {"master": master, "replies": [str(x) for x in pipe.execute()],
                                              "sync_full_before": before})

    def resync_done(self, step: ResyncDone, state: RunState) -> None:
        master = self.master()
        self.recorder.server("resync-done", master,
                             {"sync_full": int(self.topo.client(master).info("stats").get("sync_full", 0))})

    def old_master_write(self, step: OldMasterWrite, state: RunState) -> None:
        node = state.faulted[step.n][0]
        conn = self.direct(node)
        key = self.key(f"w{next(self._namespaces)}", "old-master")
        try:
            with self.recorder.op(self.recorder.process(), "write", key, "1", lane="old-master", node=node):
                conn.set(key, "1")
        finally:
            conn.close()

    def min_replicas(self, to_write: int, strict: bool = True) -> None:
        """min-replicas-to-write on every server (``strict``: a server that refuses raises)."""
        for node in SERVERS:
            try:
                self.topo.client(node).config_set("min-replicas-to-write", to_write)
                self.topo.client(node).config_set("min-replicas-max-lag", MIN_REPLICAS_MAX_LAG_S)
            except redis.RedisError:
                if strict:
                    raise

    def restore(self) -> None:
        """Heal, resume and start every node (best effort: the next steady state will tell)."""
        self.backend.heal()
        for node in SERVERS + SENTINELS:
            try:
                self.backend.resume(node)
                self.backend.start(node)
            except Exception:  # noqa: BLE001
                pass
        self.min_replicas(0, strict=False)

    def final_reads(self, keys: list[str]) -> None:
        c = self.client(record=False)
        try:
            final_reads(self.recorder, keys, lambda part: dict(zip(part, c.call(lambda r: r.mget(part),
                                                                                  idempotent=True))))
        finally:
            c.close()

    def close(self) -> None:
        close_all(self._clients)
        close_all(self._stale)


def server_version(topo: HATopology) -> str:
    for node in SERVERS:
        try:
            info = topo.client(node).info("server")
            return info.get("valkey_version") or info.get("redis_version", "?")
        except Exception:  # noqa: BLE001 - a killed node: ask the next one
            continue
    return "?"


@contextmanager
def open_lab(args, recorder):
    """Build (local) or attach to (docker, external) the HA topology and yield its HALab."""
    if getattr(args, "backend", None) == "external" or getattr(args, "target", None):
        from valkey_lab.ha.external import open_external  # the deployment a target file names
        with open_external(args, recorder) as lab:
            yield lab
        return
    pw = password()
    name = args.backend
    if name == "auto":
        name = "docker" if docker_stack_running() else "local"
    backend = local_backend(pw, args.base_port or DEFAULT_LOCAL_BASE_PORT) if name == "local" else docker_backend(pw)
    topo = HATopology(backend, pw)
    lab = None
    try:
        topo.check_reachable()
        ready_s = topo.wait_ready(timeout=60)
        lab = HALab(backend, topo, pw, recorder, backend_name=name, valkey_version=server_version(topo),
                    ready_s=ready_s)
        yield lab
    finally:
        if lab is not None:
            lab.close()
        topo.close()
        backend.close()


__all__ = ["HALab", "open_lab", "REJOIN_DEADLINE_S", "NewMaster", "ClientResumed", "Rejoined",
           "ReplicasHealthy", "Probe", "ReplicaReads", "SentinelEvent", "Fill", "DropFill", "OldMasterWrite",
           "SyncSampler", "Recovered", "FullResync", "ResyncDone", "FailedOver"]
