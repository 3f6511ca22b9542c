"""Faults as data: ``Fault(kind, target, params)``.

A fault names what to break by role ("master", "primary", "sentinels:2") or by node, and the
lab resolves the role when the fault starts, as Jepsen's nemesis does. Applying and healing
go through the backend (SIGKILL or ``docker kill``, SIGSTOP or ``docker pause``, iptables) or
through the lab (Valkey commands such as SENTINEL FAILOVER). Every start and end is a
nemesis op in the run's history, so the clock of every metric starts at a recorded op.

A new fault is a new entry in KINDS: the scenarios and the harness do not change. Beyond a
crash, a freeze and a partition: ``loss`` (a random P % of a node's packets dropped),
``one_way`` (a node can't send to its peers, or can't receive from them), ``bus_partition``
(only the cluster bus of a node), ``bandwidth`` (its links rate-limited with htb),
``hung_master`` (``DEBUG SLEEP``: alive, socket open, answering nobody), ``client_pause``
(``CLIENT PAUSE ... WRITE``: reads and PING answered, writes held) and ``sentinel_stall``
(SIGSTOP of a Sentinel: its clock jumps when it resumes). What ``apply`` returns (rule
chains, tc classes) is handed back to ``heal``, so healing one fault leaves the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from valkey_lab.util import LabError, wait_for


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
    apply: Callable[[Any, list[str], Mapping], Any]  # returns what heal needs (or None)
    heal: Optional[Callable[..., None]]  # heal(lab, nodes, params, handle); None: nothing to undo
    doc: str
    in_effect_on_return: bool = True


def _each(method: str) -> Callable:
    def act(lab, nodes: list[str], params: Mapping, handle: Any = None) -> None:
        for node in nodes:
            getattr(lab.backend, method)(node)
    return act


def _partition(lab, nodes: list[str], params: Mapping) -> None:
    for node in nodes:
        lab.backend.partition(node, [p for p in lab.partition_peers(node, params)])


def _heal_partition(lab, nodes: list[str], params: Mapping, handle: Any = None) -> None:
    lab.backend.heal()


def _manual_failover(lab, nodes: list[str], params: Mapping) -> None:
    lab.manual_failover(nodes, params)


def _backend(lab, method: str):
    fn = getattr(lab.backend, method, None)
    if fn is None:
        raise LabError(f"the {lab.backend.name} backend has no {method.replace('_', ' ')} fault")
    return fn


def _tokens(method: str, args: Callable[[Any, str, Mapping], tuple]) -> Callable:
    """A network fault applied node by node through ``backend.<method>(node, *args)``; the
    tokens it returns are what ``_heal_tokens`` hands back to ``backend.heal_fault``."""
    def act(lab, nodes: list[str], params: Mapping) -> list:
        fn = _backend(lab, method)
        tokens = []
        try:
            for node in nodes:
                tokens.append(fn(node, *args(lab, node, params)))
        except BaseException:
            _heal_tokens(lab, nodes, params, tokens)
            raise
        return tokens
    return act


def _heal_tokens(lab, nodes: list[str], params: Mapping, handle: Any = None) -> None:
    for token in reversed(handle or []):
        lab.backend.heal_fault(token)


def _answers(lab, node: str) -> bool:
    try:
        return lab.backend._answers(node)
    except LabError:
        return False


def _hang(lab, nodes: list[str], params: Mapping) -> None:
    """DEBUG SLEEP; in effect once the node stops answering PING (it got the command)."""
    seconds = float(params.get("seconds", 8))
    for node in nodes:
        _backend(lab, "debug_sleep")(node, seconds)
    for node in nodes:
        wait_for(lambda node=node: not _answers(lab, node), f"{node} to stop answering (DEBUG SLEEP)", 5,
                 interval=0.02)


def _wake(lab, nodes: list[str], params: Mapping, handle: Any = None) -> None:
    """A DEBUG SLEEP ends by itself: healed when the node answers again."""
    seconds = float(params.get("seconds", 8))
    for node in nodes:
        wait_for(lambda node=node: _answers(lab, node), f"{node} to answer again after DEBUG SLEEP", seconds + 30,
                 interval=0.05)


def _client_pause(lab, nodes: list[str], params: Mapping) -> None:
    ms = int(float(params.get("seconds", 5)) * 1000)
    for node in nodes:
        lab.command(node, "CLIENT", "PAUSE", ms, params.get("mode", "WRITE"))


def _client_unpause(lab, nodes: list[str], params: Mapping, handle: Any = None) -> None:
    for node in nodes:
        try:
            lab.command(node, "CLIENT", "UNPAUSE")
        except Exception:  # noqa: BLE001 - a node killed meanwhile has no pause left to end
            pass


KINDS: dict[str, Kind] = {
    "kill": Kind(_each("kill"), _each("start"), "SIGKILL / docker kill; healed by starting it again"),
    "pause": Kind(_each("pause"), _each("resume"), "SIGSTOP / docker pause; healed by resuming it"),
    "partition": Kind(_partition, _heal_partition,
                      "iptables: drop packets between the node and its peers (Sentinels, replicas, cluster bus); "
                      "the test client still reaches it"),
    "failover": Kind(_manual_failover, None, "SENTINEL FAILOVER / CLUSTER FAILOVER: a coordinated switch",
                     in_effect_on_return=False),
    "loss": Kind(_tokens("loss", lambda lab, n, p: (float(p.get("percent", 30)),)), _heal_tokens,
                 "iptables statistic: drop a random P % (params percent) of the packets to and from the node, "
                 "on all its links (clients included)"),
    "one_way": Kind(_tokens("one_way", lambda lab, n, p: (lab.partition_peers(n, p), p.get("direction", "out"))),
                    _heal_tokens, "iptables: the node can't send to its peers (direction out) or can't receive "
                                  "from them (in); the test client still reaches it both ways"),
    "bus_partition": Kind(_tokens("bus_partition", lambda lab, n, p: (lab.partition_peers(n, p),)), _heal_tokens,
                          "iptables: drop only the cluster-bus packets (port + 10000) between the node and its "
                          "peers; clients (and replication) still reach its data port"),
    "bandwidth": Kind(_tokens("limit_bandwidth", lambda lab, n, p: (p.get("rate", "16mbit"),)), _heal_tokens,
                      "tc htb: the node's links limited to a rate (params rate, e.g. 16mbit); no added latency "
                      "(this kernel has no netem)"),
    "hung_master": Kind(_hang, _wake, "DEBUG SLEEP (params seconds): the process lives and its socket is open, "
                                      "but it answers nobody; healed when the sleep ends"),
    "client_pause": Kind(_client_pause, _client_unpause,
                         "CLIENT PAUSE (params seconds, mode WRITE): writes held, reads and PING answered; "
                         "healed by CLIENT UNPAUSE (or when it runs out)"),
    "sentinel_stall": Kind(_each("pause"), _each("resume"),
                           "SIGSTOP / docker pause of a Sentinel, then resume: its timer jumps (TILT)"),
}


class Nemesis:
    """Starts and ends faults on a lab, recording each as a nemesis op. ``end_all`` heals
    whatever is still active (the harness calls it in its ``finally``)."""

    def __init__(self, lab, recorder):
        self.lab, self.rec = lab, recorder
        self.active: list[tuple[Fault, list[str], Any]] = []  # (fault, nodes, what its apply returned)

    def start(self, fault: Fault) -> list[str]:
        nodes = self.lab.resolve(fault.target)
        params = {**fault.params, "nodes": nodes, "backend": self.lab.backend.name,
                  "addresses": [":".join(map(str, self.lab.backend.address(n))) for n in nodes]}
        kind = KINDS[fault.kind]
        if not kind.in_effect_on_return:
            self.rec.nemesis(fault.kind, "start", fault.target, params)
        handle = kind.apply(self.lab, nodes, fault.params)
        if kind.in_effect_on_return:
            self.rec.nemesis(fault.kind, "start", fault.target, params)
        if KINDS[fault.kind].heal is not None:
            self.active.append((fault, nodes, handle))
        return nodes

    def end(self, kind: Optional[str] = None, fault: Optional[Fault] = None) -> None:
        """Heal the active faults (of ``kind``, or of that target; or that very ``fault``; or
        all), last started first."""
        for entry in reversed(list(self.active)):
            started, nodes, handle = entry
            if kind is not None and started.kind != kind and started.target != kind:
                continue
            if fault is not None and started != fault:
                continue
            self.active.remove(entry)
            # The record comes once the heal is done (a restarted node answers); ``began`` is when
            # it may first show (a restarted old master claims master before it is recorded).
            began = self.rec.now()
            KINDS[started.kind].heal(self.lab, nodes, started.params, handle)
            self.rec.nemesis(started.kind, "end", started.target,
                             {"nodes": nodes, "began": began,
                              **({"i": started.params["i"]} if "i" in started.params else {})})

    def end_all(self) -> None:
        self.end()


__all__ = ["Fault", "Kind", "KINDS", "Nemesis"]
