"""The ``Lab`` protocol: what the harness needs of a topology on a backend. HA (Sentinel)
and Cluster are its two adapters (ha.lab.HALab, cluster.lab.ClusterLab); a new backend
(Kubernetes, VMs) plugs in underneath them, a new topology beside them."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Protocol

from valkey_lab.backends.base import Backend
from valkey_lab.runner.run import Action, RunState, Wait


class Lab(Protocol):
    name: str  # "ha" or "cluster"
    backend: Backend
    recorder: Any  # history.recorder.RunRecorder
    backend_name: str
    valkey_version: str

    def settings(self) -> dict:
        """What the checkers need to judge a run (timeouts, budgets); saved in the meta record."""

    def resolve(self, target: str) -> list[str]:
        """A fault target ("master", "primary", "sentinels:2", a node name) -> node names, now."""

    def partition_peers(self, node: str, params: dict) -> list[str]:
        """Whom a partition of ``node`` cuts it off from."""

    def manual_failover(self, nodes: list[str], params: dict) -> None:
        """A coordinated switch away from ``nodes`` (SENTINEL FAILOVER / CLUSTER FAILOVER)."""

    def steady(self) -> float:
        """Wait for the steady state (every node up, replicas linked, the layout as built);
        return the seconds it took."""

    def do(self, step: Wait | Action, state: RunState) -> None:
        """Carry out one of the lab's own steps (HA: NewMaster, ClientResumed, Rejoined, Probe,
        ...; cluster: Promoted, ShardResumed, ...), reading and updating ``state``; a step
        the lab has no handler for is a TypeError."""

    def restore(self) -> None:
        """Heal, resume and start every node (the ``finally`` of every run)."""

    def final_reads(self, keys: list[str]) -> None:
        """Read ``keys`` after the heal, recorded as client read ops."""

    def close(self) -> None:
        ...


def perform(system: str, handlers: Mapping[type, Callable[[Any, RunState], None]], step: Wait | Action,
            state: RunState) -> None:
    """``Lab.do`` of a lab whose ``handlers`` map each step class to the method that handles it."""
    handler = handlers.get(type(step))
    if handler is None:
        raise TypeError(f"the {system} lab has no step {type(step).__name__} (it has: "
                        f"{', '.join(t.__name__ for t in handlers)})")
    handler(step, state)


def close_all(clients: list) -> None:
    """Close every client a lab handed out (best effort on the way out)."""
    for c in clients:
        try:
            c.close()
        except Exception:  # noqa: BLE001 - a client of a dead node may fail to close cleanly
            pass
    clients.clear()


def client_events(recorder, lane: Optional[str] = None):
    """A client's on_event hook that records its retries, master changes and redirects
    (tagged with the workload lane the client serves, when it serves one)."""
    def on_event(event: dict) -> None:
        value = {k: v for k, v in event.items() if k != "kind"}
        if lane is not None:
            value["lane"] = lane
        if "at" in value:
            value["at"] = recorder.at(value["at"])
        for k in ("from", "to"):
            if isinstance(value.get(k), tuple):
                value[k] = ":".join(map(str, value[k]))
        recorder.client_event(event["kind"], value)
    return on_event


__all__ = ["Lab", "perform", "client_events", "close_all"]
