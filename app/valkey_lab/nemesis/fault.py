"""Faults as data: ``Fault(kind, target, params)``.

A fault names what to break by role ("master", "primary", "sentinels:2") or by node, and the
lab resolves the role when the fault starts, as Jepsen's nemesis does. Applying and healing
go through the backend (SIGKILL or ``docker kill``, SIGSTOP or ``docker pause``, iptables) or
through the lab (Valkey commands such as SENTINEL FAILOVER). Every start and end is a
nemesis op in the run's history, so the clock of every metric starts at a recorded op.

A new fault (packet loss, DEBUG SLEEP, CLIENT PAUSE, ...) is a new entry in KINDS: the
scenarios and the harness do not change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from valkey_lab.util import LabError


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise LabError(f"unknown fault kind {self.kind!r}; choose from: {', '.join(KINDS)}")


@dataclass(frozen=True)
class Kind:
    """How a fault kind acts on ``nodes`` (resolved names) and how it is undone.

    ``in_effect_on_return``: the fault holds once ``apply`` returns (a SIGKILL waited for, a
    ``docker kill`` answered, iptables rules in place), so its nemesis op is recorded right
    after: an op invoked later cannot have been served by the faulted node, on any backend
    (``docker kill`` takes tens of ms, a local SIGKILL less). Otherwise (a failover request
    that ``apply`` waits out) the op is recorded before, when the request goes out."""
    apply: Callable[[Any, list[str], Mapping], None]
    heal: Optional[Callable[[Any, list[str], Mapping], None]]  # None: nothing to undo
    doc: str
    in_effect_on_return: bool = True


def _each(method: str) -> Callable:
    def act(lab, nodes: list[str], params: Mapping) -> None:
        for node in nodes:
            getattr(lab.backend, method)(node)
    return act


def _partition(lab, nodes: list[str], params: Mapping) -> None:
    for node in nodes:
        lab.backend.partition(node, [p for p in lab.partition_peers(node, params)])


def _heal_partition(lab, nodes: list[str], params: Mapping) -> None:
    lab.backend.heal()


def _manual_failover(lab, nodes: list[str], params: Mapping) -> None:
    lab.manual_failover(nodes, params)


KINDS: dict[str, Kind] = {
    "kill": Kind(_each("kill"), _each("start"), "SIGKILL / docker kill; healed by starting it again"),
    "pause": Kind(_each("pause"), _each("resume"), "SIGSTOP / docker pause; healed by resuming it"),
    "partition": Kind(_partition, _heal_partition,
                      "iptables: drop packets between the node and its peers (Sentinels, replicas, cluster bus); "
                      "the test client still reaches it"),
    "failover": Kind(_manual_failover, None, "SENTINEL FAILOVER / CLUSTER FAILOVER: a coordinated switch",
                     in_effect_on_return=False),
}


class Nemesis:
    """Starts and ends faults on a lab, recording each as a nemesis op. ``end_all`` heals
    whatever is still active (the harness calls it in its ``finally``)."""

    def __init__(self, lab, recorder):
        self.lab, self.rec = lab, recorder
        self.active: list[tuple[Fault, list[str]]] = []

    def start(self, fault: Fault) -> list[str]:
        nodes = self.lab.resolve(fault.target)
        params = {**fault.params, "nodes": nodes, "backend": self.lab.backend.name,
                  "addresses": [":".join(map(str, self.lab.backend.address(n))) for n in nodes]}
        kind = KINDS[fault.kind]
        if not kind.in_effect_on_return:
            self.rec.nemesis(fault.kind, "start", fault.target, params)
        kind.apply(self.lab, nodes, fault.params)
        if kind.in_effect_on_return:
            self.rec.nemesis(fault.kind, "start", fault.target, params)
        if KINDS[fault.kind].heal is not None:
            self.active.append((fault, nodes))
        return nodes

    def end(self, kind: Optional[str] = None) -> None:
        """Heal the active faults (of ``kind``, or all), last started first."""
        for fault, nodes in reversed(list(self.active)):
            if kind is not None and fault.kind != kind and fault.target != kind:
                continue
            self.active.remove((fault, nodes))
            KINDS[fault.kind].heal(self.lab, nodes, fault.params)
            self.rec.nemesis(fault.kind, "end", fault.target, {"nodes": nodes})

    def end_all(self) -> None:
        self.end()


__all__ = ["Fault", "Kind", "KINDS", "Nemesis"]
