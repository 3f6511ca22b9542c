"""The cluster lab on an external deployment (``--backend external --target FILE.toml``).

- The six nodes are the target's [nodes] (``node-7000`` ... ``node-7005``). What each node
  announces is read from its own ``CLUSTER NODES`` line (``myself``): the hostname when it
  announces one, else its IP, and mapped back to the [nodes] address for the clients (MOVED,
  ASK, CLUSTER SLOTS).
- The cluster suite names nodes by port (its checkers judge saved histories by it), so the
  nodes must announce distinct ports; a target where they do not is refused with one line.
- It must be in the lab's layout (node-7000..7002 primaries of 0-5460, 5461-10922,
  10923-16383, node-7003..7005 their replicas); with ``allow_faults`` a layout swapped by
  failovers is restored with CLUSTER FAILOVER (no write lost), without it the run is refused.
- cluster-node-timeout is read with CONFIG GET (a read); a service that forbids CONFIG gets
  it from [settings] cluster_node_timeout_ms.
- Slot moves (MOVED / ASK scenarios), CLUSTER FAILOVER and every fault need ``allow_faults``;
  CONFIG SET is never sent (the partition scenario's min-replicas guard is skipped).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Optional

import redis

from valkey_lab.backends.external import (ExternalBackend, FaultRefused, KeyGuard, check_command, check_nodes,
                                          refusal, require_faults)
from valkey_lab.backends.target import Target, load_target
from valkey_lab.cluster.lab import ClusterLab
from valkey_lab.cluster.topology import NODES, ClusterTopology, parse_cluster_nodes
from valkey_lab.topology.node_clients import NodeClients
from valkey_lab.util import LabError, WaitTimeout

METHOD_NEEDS: dict[str, tuple[str, ...]] = {
    "topology": (), "slot_placement": (), "shard_distribution": (), "watch": (),
    "moved_redirect": ("reshard",),
    "ask_redirect": ("reshard",),
    "primary_failover": ("kill",),
    "pause": ("pause",),
    "partition": ("config-set", "partition"),
    "manual": ("failover",),
    "chained": ("kill", "hold-down"),
    "shard_loss": ("kill", "hold-down"),
    "linearizable_kill": ("kill",),
    "linearizable_partition": ("partition",),
    "bus_partition": ("host-net",), "loss": ("host-net",),
}


class ExternalClusterTopology(ClusterTopology):
    """The admin steps that change the cluster (slot moves, CLUSTER FAILOVER) only with
    allow_faults; cluster-node-timeout from [settings] when CONFIG GET is refused."""

    def __init__(self, backend: ExternalBackend, password: Optional[str], target: Target, timeout: float = 1.0):
        super().__init__(backend, password, timeout)
        self.target = target

    def begin_migration(self, slot: int, src: str, dst: str) -> None:
        require_faults(self.target, f"moving slot {slot} (CLUSTER SETSLOT)")
        super().begin_migration(slot, src, dst)

    def move_slot(self, slot: int, src: str, dst: str, timeout: float = 20.0) -> list[str]:
        require_faults(self.target, f"moving slot {slot} (CLUSTER SETSLOT, MIGRATE)")
        return super().move_slot(slot, src, dst, timeout)

    def manual_failover(self, replica: str, timeout: float, mode: Optional[str] = None) -> float:
        require_faults(self.target, f"CLUSTER FAILOVER {mode or ''} on {replica}".replace("  ", " "))
        return super().manual_failover(replica, timeout, mode)

    def config_node_timeout_ms(self) -> int:
        try:
            return super().config_node_timeout_ms()
        except redis.RedisError as exc:
            if self.target.cluster_node_timeout_ms:
                return int(self.target.cluster_node_timeout_ms)
            raise LabError(f"CONFIG GET cluster-node-timeout refused ({exc}): give it in {self.target.name} as "
                           "[settings] cluster_node_timeout_ms = N") from exc


class ExternalClusterLab(ClusterLab):
    """ClusterLab on an ExternalBackend: keys under the prefix, faults only when allowed,
    never CONFIG SET."""

    def __init__(self, *args, target: Target, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.report_extra["target"] = {"file": target.name, "allow_faults": target.allow_faults,
                                       "key_prefix": target.key_prefix, "templates": sorted(target.faults)}

    @property
    def backend_name(self) -> str:
        return "external"

    def key(self, *parts: str) -> str:
        return self.target.key_prefix + super().key(*parts)

    def refuses(self, method: str) -> Optional[str]:
        return refusal(self.target, METHOD_NEEDS.get(method, ("undeclared",)))

    def resolve(self, target: str) -> list[str]:
        require_faults(self.target, f"a fault on {target}")  # every fault starts with resolve (nemesis)
        return super().resolve(target)

    def command(self, node: str, *args):
        check_command(args)
        require_faults(self.target, f"{' '.join(map(str, args[:2]))} on {node}")
        return self.topology.client(node).execute_command(*args)

    def min_replicas(self, to_write: int, strict: bool = True) -> None:
        if strict:
            raise FaultRefused("the lab never runs CONFIG SET (min-replicas-to-write) on an external target")

    def restore(self) -> None:
        """As ClusterLab's (heal, resume and start what the lab broke, wait for health, the
        layout back with CLUSTER FAILOVER); without allow_faults a layout the platform swapped
        is left as it is and recorded as a problem."""
        try:
            super().restore()
        except FaultRefused as exc:
            self.recorder.server("layout", None, {"problems": [str(exc)], "done": [], "seconds": 0.0})


def learn_announced(backend: ExternalBackend, password: Optional[str]) -> dict[str, list]:
    """node -> the addresses it announces (its own CLUSTER NODES line: hostname, then IP)."""
    probe = NodeClients(backend, password, timeout=2.0)
    found: dict[str, list] = {}
    try:
        for node in NODES:
            try:
                me = next(line for line in parse_cluster_nodes(probe.client(node).execute_command("CLUSTER", "NODES"))
                          if line.myself)
            except (redis.RedisError, OSError, StopIteration):
                continue
            found[node] = list(dict.fromkeys([(me.host, me.port), (me.ip, me.port)]))
    finally:
        probe.close()
    return found


def check_ports(backend: ExternalBackend) -> None:
    """The cluster suite tells nodes apart by port: each must announce its own."""
    by_port: dict[int, set] = {}
    for node in NODES:
        for port in {backend.announced(node)[1], backend.address(node)[1]}:
            by_port.setdefault(port, set()).add(node)
    shared = {p: sorted(ns) for p, ns in by_port.items() if len(ns) > 1}
    if shared:
        port, nodes = next(iter(shared.items()))
        raise LabError(f"{backend.target.name}: {', '.join(nodes)} share port {port} (announced or in [nodes]); the "
                       "cluster suite tells nodes apart by port: give each node its own (cluster-announce-port, or a "
                       "port-forward per node)")


@contextmanager
def open_external(args, recorder):
    """Attach to the cluster ``args.target`` names; yield its ExternalClusterLab; at the end,
    delete every key under the prefix (also after Ctrl-C or a failure) and say so."""
    target = load_target(args.target, "cluster", NODES)
    pw = target.password()
    backend = ExternalBackend(target, pw)
    check_nodes(backend, {n: "cluster" for n in NODES})
    backend.learn(learn_announced(backend, pw))
    check_ports(backend)
    topo = ExternalClusterTopology(backend, pw, target)
    backend.relearn = lambda: backend.learn(learn_announced(backend, pw))
    lab: Optional[ExternalClusterLab] = None
    guard: Optional[KeyGuard] = None
    extra: dict = {}
    try:
        try:
            topo.wait_healthy(60.0, "the cluster to be healthy")
        except WaitTimeout as exc:
            raise LabError(f"{target.name}: the cluster is not healthy within 60s ({exc.last}): the lab starts from a "
                           "healthy cluster") from exc
        problems = topo.layout_problems()
        if problems:
            if not target.allow_faults:
                raise LabError(f"{target.name}: the cluster is not in the lab's layout ({'; '.join(problems)}); with "
                               "allow_faults = true the lab restores it with CLUSTER FAILOVER")
            extra["restored_layout"] = topo.restore_layout(30.0)
        try:
            topo.wait_healthy(30.0, "the deterministic layout, healthy", layout=True)
        except WaitTimeout as exc:
            raise LabError(f"{target.name}: the cluster is not in the lab's layout ({exc.last}): node-7000..7002 "
                           "must be the primaries of 0-5460, 5461-10922, 10923-16383 and node-7003..7005 their "
                           "replicas") from exc
        lab = ExternalClusterLab(backend, topo, pw, topo.valkey_version(), topo.config_node_timeout_ms(), recorder,
                                 report_extra=extra, target=target)
        lab.report_extra.update({"node_timeout_ms": lab.node_timeout_ms, "run_id": lab.run_id,
                                 "nodes": {n: ":".join(map(str, backend.address(n))) for n in NODES},
                                 "announced": {n: ":".join(map(str, backend.announced(n))) for n in NODES}})
        guard = KeyGuard(target.key_prefix, lambda: [(s["primary"], topo.client(s["primary"])) for s in topo.shards()])
        lab.report_extra["target"]["keys"] = guard.begin()
        yield lab
    finally:
        if lab is not None:
            lab.close()
        backend.close()
        if guard is not None:
            guard.end()
            sys.stdout.write(f"cluster: {target.name}: {guard.line()}\n")
            sys.stdout.flush()
        topo.close()


__all__ = ["ExternalClusterLab", "ExternalClusterTopology", "open_external", "METHOD_NEEDS", "learn_announced"]
