"""The HA lab on an external deployment (``--backend external --target FILE.toml``): the same
scenarios, checkers and reports, with the platform doing the breaking.

- The nodes are the target's [nodes]; what they announce (container names, pod hostnames,
  IPs) is learnt from the Sentinels' own replies, matched by run id, and mapped back to the
  [nodes] addresses.
- Sentinel's down-after, failover-timeout and quorum come from ``SENTINEL MASTER``, not from
  the lab's configuration: the checks judge the deployment as it is configured.
- Each scenario method declares what it needs (``METHOD_NEEDS``); a target that cannot or may
  not do it skips the scenario with the reason (``refuses``). Faults that reach the lab
  anyway (a random schedule) are refused at the fault itself (``resolve``).
- Keys: the lab's own names, under the target's key_prefix; KeyGuard deletes them at the end.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Optional

import redis

from valkey_lab.backends.external import (ExternalBackend, FaultRefused, KeyGuard, check_command, check_nodes,
                                          refusal, require_faults)
from valkey_lab.backends.target import Target, load_target
from valkey_lab.ha.lab import HALab, server_version
from valkey_lab.ha.topology import SENTINELS, SERVERS, SERVICE, HATopology
from valkey_lab.util import LabError, WaitTimeout

# What each scenario method needs of the target (backends.external.NEEDS). A method not
# listed (a generated schedule, a scenario added later) is "undeclared": it runs only with
# allow_faults, and each of its faults is then checked as it starts.
METHOD_NEEDS: dict[str, tuple[str, ...]] = {
    "crud": (), "replica_sync": (), "watch": (),
    "failover": ("kill",),
    "quorum_safety": ("kill", "hold-down"),
    "pause": ("pause",),
    "manual": ("failover",),
    "chained": ("kill",),
    "partition": ("config-set", "partition"),
    "linearizable_kill": ("kill",),
    "linearizable_partition": ("partition",),
    "loss": ("host-net",), "one_way": ("host-net",), "bandwidth": ("host-net",),
    "hung_master": ("valkey-fault",),  # DEBUG SLEEP: the server may refuse it (enable-debug-command)
    "client_pause": ("valkey-fault",),
    "sentinel_stall": ("pause",),
}


class ExternalHALab(HALab):
    """HALab on an ExternalBackend: keys under the prefix, faults only when allowed, never
    CONFIG SET."""

    def __init__(self, *args, target: Target, quorum: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.target, self.quorum = target, quorum
        self.keys: dict = {}

    def key(self, *parts: str) -> str:
        return self.target.key_prefix + super().key(*parts)

    def refuses(self, method: str) -> Optional[str]:
        needs = METHOD_NEEDS.get(method, ("undeclared",))
        if method == "quorum_safety" and self.quorum != 2:
            return f"it assumes quorum 2 of 3 Sentinels; the target's is {self.quorum}"
        return refusal(self.target, needs)

    def resolve(self, target: str) -> list[str]:
        require_faults(self.target, f"a fault on {target}")  # every fault starts with resolve (nemesis)
        return super().resolve(target)

    def manual_failover(self, nodes: list[str], params: dict) -> None:
        require_faults(self.target, "SENTINEL FAILOVER")
        super().manual_failover(nodes, params)

    def command(self, node: str, *args):
        check_command(args)  # never FLUSHALL / FLUSHDB / CONFIG SET here
        require_faults(self.target, f"{' '.join(map(str, args[:2]))} on {node}")
        return self.topo.client(node).execute_command(*args)

    def min_replicas(self, to_write: int, strict: bool = True) -> None:
        """Never CONFIG SET on an external target: a scenario that needs it is refused; the
        restore's reset (not strict) has nothing to undo."""
        if strict:
            raise FaultRefused("the lab never runs CONFIG SET (min-replicas-to-write) on an external target")

    @property
    def report_extra(self) -> dict:
        t = self.target
        return {**super().report_extra, "target": {"file": t.name, "allow_faults": t.allow_faults,
                                                   "key_prefix": t.key_prefix, "templates": sorted(t.faults),
                                                   "quorum": self.quorum, "keys": self.keys}}


def learn_announced(topo: HATopology) -> dict[str, list]:
    """node -> the addresses the Sentinels use for it, matched by run id (INFO server of each
    node against SENTINEL MASTER / REPLICAS / SENTINELS)."""
    run_ids = {}
    for node in SERVERS + SENTINELS:
        try:
            run_ids[topo.client(node).info("server")["run_id"]] = node
        except (redis.RedisError, OSError, KeyError):
            continue
    found: dict[str, list] = {n: [] for n in SERVERS + SENTINELS}
    for sentinel in SENTINELS:
        try:
            conn = topo.client(sentinel)
            entries = [conn.execute_command("SENTINEL MASTER", SERVICE),
                       *conn.execute_command("SENTINEL REPLICAS", SERVICE),
                       *conn.execute_command("SENTINEL SENTINELS", SERVICE)]
        except (redis.RedisError, OSError):
            continue
        for entry in entries:
            node = run_ids.get(entry.get("runid") or entry.get("run-id"))
            if node is not None and entry.get("ip"):
                addr = (str(entry["ip"]), int(entry["port"]))
                if addr not in found[node]:
                    found[node].append(addr)
    return {n: addrs for n, addrs in found.items() if addrs}


def sentinel_settings(topo: HATopology) -> dict:
    """down-after, failover-timeout and quorum as the first answering Sentinel has them."""
    for sentinel in SENTINELS:
        try:
            state = topo.client(sentinel).execute_command("SENTINEL MASTER", SERVICE)
            return {"down_after_s": int(state["down-after-milliseconds"]) / 1000,
                    "failover_timeout_s": int(state["failover-timeout"]) / 1000, "quorum": int(state["quorum"])}
        except redis.ResponseError as exc:
            raise LabError(f"{sentinel} does not monitor {SERVICE!r} ({exc}): the lab's Sentinel master name is "
                           f"{SERVICE} (Bitnami's chart: --set sentinel.masterSet={SERVICE})") from exc
        except (redis.RedisError, OSError):
            continue
    raise LabError("no Sentinel of the target answers SENTINEL MASTER")


@contextmanager
def open_external(args, recorder):
    """Attach to the deployment ``args.target`` names; yield its ExternalHALab; at the end,
    delete every key under the prefix (also after Ctrl-C or a failure) and say so."""
    target = load_target(args.target, "ha", SERVERS + SENTINELS)
    pw = target.password()
    backend = ExternalBackend(target, pw)
    topo = HATopology(backend, pw)
    lab: Optional[ExternalHALab] = None
    guard: Optional[KeyGuard] = None
    try:
        check_nodes(backend, {**{n: "standalone" for n in SERVERS}, **{n: "sentinel" for n in SENTINELS}})
        backend.learn(learn_announced(topo))
        backend.relearn = lambda: backend.learn(learn_announced(topo))
        timing = sentinel_settings(topo)
        try:
            ready_s = topo.wait_ready(timeout=60)
        except WaitTimeout as exc:
            raise LabError(f"{target.name}: not one master with both replicas linked and three Sentinels agreeing "
                           f"within 60s (last: {exc.last!r}): the lab starts from a healthy deployment") from exc
        lab = ExternalHALab(backend, topo, pw, recorder, backend_name="external", valkey_version=server_version(topo),
                            ready_s=ready_s, target=target, quorum=timing["quorum"])
        lab.down_after_s, lab.failover_timeout_s = timing["down_after_s"], timing["failover_timeout_s"]
        lab.switch_deadline_s = lab.down_after_s + lab.failover_timeout_s + 5
        guard = KeyGuard(target.key_prefix, lambda: [(m, topo.client(m)) for m in [lab.master()]])
        lab.keys = guard.begin()
        yield lab
    finally:
        if lab is not None:
            lab.close()
        backend.close()
        if guard is not None:
            guard.end()
            sys.stdout.write(f"ha: {target.name}: {guard.line()}\n")
            sys.stdout.flush()
        topo.close()


__all__ = ["ExternalHALab", "open_external", "METHOD_NEEDS", "learn_announced"]
