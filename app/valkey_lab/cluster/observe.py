"""The cluster's failover timeline: node flags and epochs as the nodes themselves report them.

A ``FlagSampler`` reads CLUSTER NODES and CLUSTER INFO of some nodes (the "viewers", e.g.
the survivors of a kill) every ``interval`` seconds in the background. The pure functions
below turn those samples into events (``fail?`` = PFAIL, ``fail``, ``promoted``, ``demoted``,
``currentEpoch``, ``configEpoch``, ``cluster_state``, ...) and into safety checks: epochs only
go up, and at every sample at most one running node claims each slot as its primary.
Cluster has no event channel like Sentinel's pub/sub, so sampling is the honest way in:
an event's time is when a sample first showed it (resolution: the interval).
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import redis

from valkey_lab.cluster.topology import ClusterTopology, NodeLine, format_ranges, merge_ranges, parse_cluster_nodes
from valkey_lab.loop import BackgroundLoop
from valkey_lab.util import now

FLAGS = ("fail?", "fail", "handshake", "noaddr")


# -- pure: samples -> events, safety checks ----------------------------------------------------------
def snapshot(viewer: str, lines: list[NodeLine], info: dict, name_of: Callable[[NodeLine], str], t: float) -> dict:
    """One viewer's state at time ``t``, reduced to what the timeline compares."""
    nodes = {}
    for line in lines:
        nodes[name_of(line)] = {"role": line.role, "flags": sorted(f for f in line.flags if f in FLAGS),
                                "config_epoch": line.config_epoch, "slots": format_ranges(line.slots),
                                "master": line.master_id, "id": line.id, "myself": line.myself}
    ids = {v["id"]: n for n, v in nodes.items()}
    for v in nodes.values():
        v["master"] = ids.get(v["master"] or "", None)
    return {"t": t, "viewer": viewer, "current_epoch": int(info.get("cluster_current_epoch", 0)),
            "state": info.get("cluster_state"), "nodes": nodes}


def diff(before: Optional[dict], after: dict) -> list[dict]:
    """Events between two snapshots of the same viewer (``before`` None: the first one,
    which yields only the flags already raised)."""
    t, viewer = after["t"], after["viewer"]
    out = []

    def ev(event: str, node: str, data: str, what: str = "") -> None:
        out.append({"t": t, "event": event, "node": node, "viewer": viewer, "data": data, "what": what})

    old_nodes = before["nodes"] if before else {}
    for name, new in after["nodes"].items():
        old = old_nodes.get(name)
        for flag in new["flags"]:
            if old is None or flag not in old["flags"]:
                ev(flag, name, f"{viewer} flags {name} {flag}")
        if old is None:
            continue
        for flag in old["flags"]:
            if flag not in new["flags"]:
                ev(f"{flag} cleared", name, f"{viewer} no longer flags {name} {flag}")
        if old["role"] == "replica" and new["role"] == "primary":
            ev("promoted", name, f"{name} primary of {new['slots']} (configEpoch {new['config_epoch']}), "
                                 f"seen by {viewer}")
        elif old["role"] == "primary" and new["role"] == "replica":
            ev("demoted", name, f"{name} replica of {new['master']}, seen by {viewer}")
        elif new["role"] == "primary" and old["slots"] != new["slots"]:
            ev("slots", name, f"{name} owns {new['slots']} (was {old['slots']}), seen by {viewer}")
        if new["config_epoch"] != old["config_epoch"]:
            what = f"{old['config_epoch']} -> {new['config_epoch']}"
            ev("configEpoch", name, f"{name} {what}, seen by {viewer}", what)
    if before is not None:
        if after["current_epoch"] != before["current_epoch"]:
            what = f"{before['current_epoch']} -> {after['current_epoch']}"
            ev("currentEpoch", "cluster", f"{viewer} {what}", what)
        if after["state"] != before["state"]:
            ev(f"cluster_state {after['state']}", viewer,
               f"{viewer}: cluster_state {before['state']} -> {after['state']}")
    return out


def events(samples: Iterable[dict], first_only: bool = True, window: float = 5.0) -> list[dict]:
    """Every event of every viewer in time order. With ``first_only``, the same event about the
    same node (e.g. ``fail`` of node-7000, or configEpoch 1 -> 7 of node-7003) is kept once,
    as the first viewer showed it; repeats within ``window`` seconds are the other viewers
    catching up, later ones are new (node-7000 failing a second time)."""
    last: dict[str, dict] = {}
    out = []
    for s in sorted(samples, key=lambda s: s["t"]):
        out += diff(last.get(s["viewer"]), s)
        last[s["viewer"]] = s
    if not first_only:
        return out
    first_at: dict[tuple, float] = {}
    kept = []
    for e in out:
        key = (e["event"], e["node"], e["what"])
        if key in first_at and e["t"] - first_at[key] <= window:
            continue
        first_at[key] = e["t"]
        kept.append(e)
    return kept


def relative(evts: Iterable[dict], t0: float) -> list[dict]:
    """Events with ``t_s`` relative to the fault, as the report and the picture want them."""
    return [{"t_s": round(e["t"] - t0, 3), **{k: v for k, v in e.items() if k not in ("t", "what")}} for e in evts]


def epoch_regressions(samples: Iterable[dict]) -> list[str]:
    """Any viewer whose currentEpoch, or whose view of a node's configEpoch, went down. CLUSTER
    NODES shows a replica with its primary's configEpoch (Valkey's nodeEpoch()), so a node is
    compared only while its role and primary stay the same: a primary demoted under a primary
    with a lower epoch is not an epoch going down."""
    problems = []
    last: dict[str, dict] = {}
    for s in sorted(samples, key=lambda s: s["t"]):
        prev = last.get(s["viewer"])
        if prev is not None:
            if s["current_epoch"] < prev["current_epoch"]:
                problems.append(f"{s['viewer']} currentEpoch {prev['current_epoch']} -> {s['current_epoch']}")
            for name, node in s["nodes"].items():
                old = prev["nodes"].get(name)
                # A node's configEpoch is per node id; a node that was forgotten and re-met is not compared.
                if old is not None and old["id"] == node["id"] and (old["role"], old["master"]) == (
                        node["role"], node["master"]) and node["config_epoch"] < old["config_epoch"]:
                    problems.append(f"{s['viewer']} sees {name} configEpoch {old['config_epoch']} -> "
                                    f"{node['config_epoch']}")
        last[s["viewer"]] = s
    return problems


def _ranges(text: str) -> list[tuple[int, int]]:
    if text in ("", "-"):
        return []
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def double_claims(rounds: Iterable[list[dict]]) -> list[str]:
    """Per sampling round (the samples of every viewer taken together), slots that two
    running nodes each claimed as their own (their ``myself`` line: primary with slots) while
    both said cluster_state:ok. A node in state fail refuses every query, so its stale claim
    serves nobody: a restarted old primary claims its slots until told otherwise, but stays in
    state fail meanwhile (Valkey's writable delay), and an isolated one goes fail after
    node-timeout."""
    problems = []
    for samples in rounds:
        claims: list[tuple[str, list]] = []
        for s in samples:
            me = s["nodes"].get(s["viewer"])
            if me and me["myself"] and me["role"] == "primary" and s["state"] == "ok":
                claims.append((s["viewer"], _ranges(me["slots"])))
        for i, (a, ra) in enumerate(claims):
            for b, rb in claims[i + 1:]:
                overlap = [(max(x[0], y[0]), min(x[1], y[1])) for x in ra for y in rb if max(x[0], y[0]) <= min(x[1], y[1])]
                if overlap:
                    problems.append(f"{a} and {b} both claim {format_ranges(merge_ranges(overlap))}")
    return sorted(set(problems))


def owners(sample: dict) -> dict[str, str]:
    """slot range text -> primary, as one viewer sees it (primaries with slots only)."""
    return {v["slots"]: n for n, v in sample["nodes"].items() if v["role"] == "primary" and v["slots"] != "-"}


# -- the sampler ------------------------------------------------------------------------------------
class FlagSampler(BackgroundLoop):
    """Background sampling of CLUSTER NODES / CLUSTER INFO of ``viewers()`` (re-evaluated every
    round, so a killed node drops out and a restarted one comes in). Own connections with a
    short timeout, so a paused node costs one timeout, not the scenario's clients' time.
    Every sample is a ``cluster-view`` record of the run's history, numbered by its round
    (``samples_of`` and ``rounds_of`` turn the records back into samples)."""

    name = "cluster-flag-sampler"
    step_on_stop = True

    def __init__(self, topology: ClusterTopology, viewers: Callable[[], list[str]], recorder, interval: float = 0.05,
                 timeout: float = 0.25):
        super().__init__(interval)
        self.topo = ClusterTopology(topology.backend, topology.password, timeout=timeout)
        self.viewers = viewers
        self.rec = recorder
        self.rounds = 0

    def warm(self) -> bool:
        return self.rounds >= 2

    def _sample(self, node: str, round_no: int) -> None:
        try:
            client = self.topo.client(node)
            pipe = client.pipeline(transaction=False)
            pipe.execute_command("CLUSTER", "NODES")
            pipe.execute_command("CLUSTER", "INFO")
            nodes_text, info_text = pipe.execute()
        except (redis.RedisError, OSError):
            return
        info = dict(line.split(":", 1) for line in info_text.strip().splitlines() if ":" in line)
        try:
            sample = snapshot(node, parse_cluster_nodes(nodes_text), info, self.topo.name_of, now())
        except KeyError:  # a line for an address that is no lab node (should not happen)
            return
        self.rec.server("cluster-view", node, {k: v for k, v in sample.items() if k != "t"} | {"round": round_no})

    def step(self) -> None:
        for viewer in self.viewers():
            self._sample(viewer, self.rounds)
        self.rounds += 1

    def closing(self) -> None:
        self.topo.close()


def samples_of(records: Iterable[dict]) -> list[dict]:
    """The samples a FlagSampler recorded, with ``t`` on the history's clock."""
    return [{**r["value"], "t": r["time"]} for r in records if r.get("kind") == "server" and r.get("f") == "cluster-view"]


def rounds_of(records: Iterable[dict]) -> list[list[dict]]:
    by: dict[int, list[dict]] = {}
    for s in samples_of(records):
        by.setdefault(s.get("round", 0), []).append(s)
    return [by[k] for k in sorted(by)]


__all__ = ["FlagSampler", "snapshot", "diff", "events", "relative", "epoch_regressions", "double_claims", "owners",
           "samples_of", "rounds_of"]
