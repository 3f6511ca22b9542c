"""The HA adapter of the Lab protocol: 1 master, 2 replicas, 3 Sentinels on a backend.

Conditions it can wait for (``wait``): new-master, client-resumed, rejoined, whole,
refusing, split-writes. Actions (``act``): probe, replica-reads, min-replicas.
Fault targets (``resolve``): "master", "replicas", "sentinels:N", a node name.
"""
from __future__ import annotations

import itertools
import uuid
from contextlib import contextmanager
from typing import Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.backends.base import Backend
from valkey_lab.clients.ha import BackoffPolicy, HAClient
from valkey_lab.runner.lab import client_events, close_all
from valkey_lab.ha.observe import RoleSampler, SentinelObserver
from valkey_lab.ha.topology import (DOWN_AFTER_S, FAILOVER_TIMEOUT_S, SENTINELS, SERVERS, SERVICE, HATopology,
                                    docker_backend, docker_stack_running, local_backend, DEFAULT_LOCAL_BASE_PORT)
from valkey_lab.util import WaitTimeout, now, password, wait_for
from valkey_lab.workload.register import CAS_SCRIPT, RegisterLane, RegisterOps
from valkey_lab.workload.writer import Incrementer, Workload, Writer, final_reads, outcome

SWITCH_DEADLINE_S = DOWN_AFTER_S + FAILOVER_TIMEOUT_S + 5  # generous upper bound for one failover
REJOIN_DEADLINE_S = 45.0  # Sentinel re-checks a down instance every 10 s, then a full sync
MIN_REPLICAS_MAX_LAG_S = 2


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

    # -- what the checkers need ----------------------------------------------------------------
    def settings(self) -> dict:
        return {"down_after_s": DOWN_AFTER_S, "failover_timeout_s": FAILOVER_TIMEOUT_S, "quorum": 2,
                "switch_deadline_s": SWITCH_DEADLINE_S, "rejoin_deadline_s": REJOIN_DEADLINE_S,
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
                "settings": {"down_after_ms": int(DOWN_AFTER_S * 1000), "failover_timeout_ms": int(FAILOVER_TIMEOUT_S * 1000),
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

    def writer(self, lane: str, replicas: int = 1, timeout_ms: int = 300, pace: float = 0.005) -> Writer:
        """A lane of distinct-key SETs, each followed by WAIT ``replicas`` (0: no WAIT)."""
        c = self.client(lane=lane)
        if replicas:
            write = lambda k, v: c.set_acked(k, v, replicas=replicas, timeout_ms=timeout_ms)  # noqa: E731
        else:
            write = lambda k, v: (c.call(lambda r: r.set(k, v), idempotent=True), None)[1]  # noqa: E731
        return Writer(self.recorder, lane, write, self.key(f"w{next(self._namespaces)}", lane), pace=pace)

    def counter(self, lane: str = "counter") -> Incrementer:
        c = self.client(record=False)
        return Incrementer(self.recorder, lane, lambda k: c.call(lambda r: r.incr(k)),
                           self.key(f"w{next(self._namespaces)}", lane))

    def workload(self, wait_replicas: int = 1, counter: bool = True) -> Workload:
        lanes = [self.writer(f"wait{wait_replicas}", replicas=wait_replicas)]
        if counter:
            lanes.append(self.counter())
        return Workload(lanes)

    def register_workload(self, processes: int = 5, stale: int = 0, keys: int = 3, seed: int = 1) -> Workload:
        """Jepsen's register: ``processes`` clients through the lab's HA client (following
        Sentinel), plus ``stale`` clients holding a plain connection to the current master
        (as an application that never asks Sentinel again would)."""
        names = [self.key(f"w{next(self._namespaces)}", "register", str(i)) for i in range(keys)]
        lanes = []
        for i in range(processes):
            c = self.client(lane="register")
            ops = RegisterOps(read=lambda k, c=c: c.call(lambda r: r.get(k), idempotent=True),
                              write=lambda k, v, c=c: c.call(lambda r: r.set(k, v)),
                              cas=lambda k, old, new, c=c: bool(c.call(lambda r: r.eval(CAS_SCRIPT, 1, k, old, new))))
            lanes.append(RegisterLane(self.recorder, "register", ops, names, seed=seed * 1000 + i))
        if stale:
            master = self.master()
            for i in range(stale):
                conn = self.direct(master)
                self._stale.append(conn)
                ops = RegisterOps(read=conn.get, write=lambda k, v, conn=conn: conn.set(k, v),
                                  cas=lambda k, old, new, conn=conn: bool(conn.eval(CAS_SCRIPT, 1, k, old, new)))
                lanes.append(RegisterLane(self.recorder, f"stale:{master}", ops, names,
                                          seed=seed * 1000 + 100 + i))
        return Workload(lanes)

    def observers(self) -> list:
        return [SentinelObserver(self.backend, self.password, self.recorder),
                RoleSampler(self.backend, self.password, self.recorder)]

    # -- the fault interface ---------------------------------------------------------------------
    def master(self) -> str:
        """The master every running Sentinel names."""
        return wait_for(lambda: self.topo.agreed_master([s for s in SENTINELS if self.backend.is_running(s)]),
                        "the Sentinels to agree on a master", SWITCH_DEADLINE_S)

    def direct(self, node: str) -> redis.Redis:
        """A plain connection to one node, as a client that never asks Sentinel would hold."""
        host, port = self.backend.address(node)
        return redis.Redis(host, port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                           decode_responses=True, retry=Retry(NoBackoff(), 0))  # never sends a write twice

    def resolve(self, target: str) -> list[str]:
        if target == "master":
            return [self.master()]
        if target == "replicas":
            m = self.master()
            return [n for n in SERVERS if n != m]
        if target.startswith("sentinels:"):
            return SENTINELS[len(SENTINELS) - int(target.split(":")[1]):]
        if target in self.backend.nodes():
            return [target]
        raise ValueError(f"unknown HA fault target {target!r}")

    def partition_peers(self, node: str, params: dict) -> list[str]:
        return [n for n in self.backend.nodes() if n != node]

    def manual_failover(self, nodes: list[str], params: dict) -> None:
        """SENTINEL FAILOVER. Sentinel aborts a requested failover when it trusts no replica
        (-failover-abort-no-good-slave, e.g. just after a rejoin) and does not retry it: an
        operator would ask again, and so does the lab (at most 3 times)."""
        sentinel = self.topo.client(SENTINELS[0])
        for attempt in range(3):
            if attempt:
                self.wait("replicas-healthy", {})
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

    def wait(self, condition: str, facts: dict, timeout: Optional[float] = None, **params) -> None:
        topo = self.topo
        victims = facts.get("faulted", [[]])[-1]
        if condition == "new-master":
            new = wait_for(topo.agreed_master, f"the Sentinels to agree on a master other than {victims}",
                           timeout or SWITCH_DEADLINE_S, accept=lambda m: m is not None and m not in victims)
            facts["new_master"] = new
            facts["t_new_master"] = now()
        elif condition == "client-resumed":  # `count` ok ops in every lane (or `lane`) after the last fault
            t = self.recorder.at(facts["t_fault"])
            count = params.get("count", 10)  # >= 2 per lane: at least one op invoked after the fault
            lanes = params.get("lanes") or ([params["lane"]] if "lane" in params else facts.get("lanes", [None]))
            wait_for(lambda: all(self._ok_after(lane, t) >= count for lane in lanes),
                     f"the clients to write again after {victims}", timeout or self.policy.budget + 20, interval=0.02)
        elif condition == "rejoined":  # every running server except the master is its replica, link up
            master = facts.get("new_master") or self.master()
            wait_for(lambda: topo.agreed_master() == master and all(
                topo.in_sync(n, master) for n in SERVERS if n != master and self.backend.is_running(n)),
                f"every running server to replicate {master}", timeout or REJOIN_DEADLINE_S, interval=0.1)
        elif condition == "replicas-healthy":  # Sentinel trusts both replicas (a manual failover needs one)
            sentinel = topo.client(SENTINELS[0])
            wait_for(lambda: all(rep["flags"] == "slave" and rep["master-link-status"] == "ok"
                                 for rep in sentinel.execute_command("SENTINEL REPLICAS", SERVICE)),
                     "Sentinel to see healthy replicas", timeout or 30)
        elif condition == "whole":
            topo.wait_ready(timeout=timeout or REJOIN_DEADLINE_S, master=facts.get("new_master"))
        elif condition == "refusing":  # the isolated master refuses writes on its own (NOREPLICAS)
            t = self.recorder.at(facts["t_fault"])
            wait_for(lambda: self.recorder.count(lambda r: r.get("kind") == "client" and r["type"] == "fail"
                                                 and "NOREPLICAS" in (r.get("error") or ""), since=t) > 0,
                     "the isolated master to refuse writes (NOREPLICAS)", timeout or MIN_REPLICAS_MAX_LAG_S + 10)
        elif condition == "split-writes":  # the isolated master keeps acknowledging writes after the switch
            t = self.recorder.at(facts["t_new_master"]) if "t_new_master" in facts else self.recorder.at(facts["t_fault"])
            wait_for(lambda: self._ok_after(params.get("lane"), t) >= params.get("count", 20),
                     "writes to the isolated master", timeout or 10, interval=0.02)
        else:
            raise ValueError(f"unknown HA condition {condition!r}")

    def act(self, action: str, facts: dict, **params) -> None:
        rec = self.recorder
        if action == "probe":  # one SET + WAIT <replicas>: the client op records how many acknowledged
            c = self.client(record=False)
            try:
                p, key = rec.process(), self.key(f"w{next(self._namespaces)}", params.get("name", "probe"))
                h = rec.invoke(p, "write", key, "1", lane=params.get("lane", "probe"))
                try:
                    acks = c.set_acked(key, "1", replicas=params.get("replicas", 2), timeout_ms=3000)
                    rec.complete(h, "ok", replicated=acks, lane=params.get("lane", "probe"))
                except redis.RedisError as exc:
                    rec.complete(h, outcome(exc), error=str(exc)[:200], lane=params.get("lane", "probe"))
                facts.setdefault("probe_keys", []).append(key)
            finally:
                c.close()
        elif action == "replica-reads":  # what each replica serves for the keys of `lane` (a witness)
            keys = [r["key"] for r in rec.records() if r.get("kind") == "client" and r["type"] == "ok"
                    and r.get("lane") in params.get("lanes", ()) and r.get("run") == rec.run]
            for node in SERVERS:
                role = self.topo.role(node)
                if role != "slave":
                    continue
                values = self.topo.client(node).mget(keys) if keys else []
                rec.server("replica-values", node, dict(zip(keys, values)))
        elif action == "min-replicas":
            for node in SERVERS:
                try:
                    self.topo.client(node).config_set("min-replicas-to-write", params["to_write"])
                    self.topo.client(node).config_set("min-replicas-max-lag", MIN_REPLICAS_MAX_LAG_S)
                except redis.RedisError:
                    if params.get("strict", True):
                        raise
        else:
            raise ValueError(f"unknown HA action {action!r}")

    def restore(self) -> None:
        """Heal, resume and start every node (best effort: the next steady state will tell)."""
        self.backend.heal()
        for node in SERVERS + SENTINELS:
            try:
                self.backend.resume(node)
                self.backend.start(node)
            except Exception:  # noqa: BLE001
                pass
        self.act("min-replicas", {}, to_write=0, strict=False)

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
    """Build (local) or attach to (docker) the HA topology and yield its HALab."""
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


__all__ = ["HALab", "open_lab", "SWITCH_DEADLINE_S", "REJOIN_DEADLINE_S"]
