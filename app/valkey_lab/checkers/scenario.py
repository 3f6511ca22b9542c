"""Judgements shared by the HA and cluster suites (pure functions of a run's history)."""
from __future__ import annotations

from typing import Optional

from valkey_lab.checkers import availability
from valkey_lab.checkers.verdict import Judgement as ScenarioResult
from valkey_lab.history.view import RunView


def unavailable_s(h: RunView, t: float, lane: str, min_replicated: int = 0) -> Optional[float]:
    """From the fault to the first ok completion of an op invoked after it: a write invoked
    before the fault may still be answered by the dying node, which says nothing about when
    service came back. With ``min_replicated``, only ops that many replicas acknowledged count
    (a WAIT lane's availability)."""
    after = [op for op in h.lane(lane) if op.t_invoke >= t]
    got = availability.unavailability(after, t, min_replicated=min_replicated)
    return got.get("all", {}).get("unavailable_s")


def lane_summary(h: RunView, lane: str) -> dict:
    ops = h.lane(lane)
    return {"ok": sum(op.ok for op in ops), "fail": sum(op.type == "fail" for op in ops),
            "info": sum(op.type == "info" for op in ops),
            "slowest_s": round(max((op.t_complete - op.t_invoke for op in ops if op.t_complete is not None),
                                   default=0.0), 3)}


def masters_at(h: RunView, t: float) -> list:
    """Who called itself master (HA role samples) or primary of the register's shard (cluster
    samples) at ``t``: the last sample at or before it."""
    roles = [s for s in h.roles(until=t)]
    if roles:
        return roles[-1]["value"]["masters"]
    views = [r for r in h.server("cluster-view") if r["time"] <= t]
    if views:
        return sorted({n for r in views[-6:] for n, v in r["value"]["nodes"].items()
                       if v["role"] == "primary" and v["slots"].startswith("0-")})
    return []


def linearizable_report(h: RunView, r: ScenarioResult, got: dict) -> None:
    """The linearizability checker's figures, and its counterexample in plain words: who did
    what, when, while which node was master. (The verdict is the checkers' job.)"""
    lanes = {rec["process"]: rec.get("lane") for rec in h.records if rec.get("kind") == "client"
             and rec.get("type") == "invoke"}
    r.metrics.update({"linearizable": got["valid"], "register_ops": got["ops"], "processes": got["processes"],
                      "info_ops": got["info"], "checker_s": got["seconds"]})
    cx = got["counterexample"]
    if cx is None:
        return

    def who(process) -> str:
        lane = lanes.get(process) or ""
        if lane.startswith("stale:"):
            return f"process {process}, a client connected straight to {lane.split(':', 1)[1]}"
        if lane == "final":
            return f"process {process}, the final read after the heal"
        return f"process {process}, a client following the {'Sentinels' if h.roles() else 'cluster'}"
    words = []
    for op in cx["ops"]:
        t = op["invoke"] if op["invoke"] is not None else 0.0
        done = "never answered" if op["complete"] is None else f"answered {op['type']} at {op['complete']:.3f}s"
        words.append(f"{t:.3f}s: {who(op['process'])} {op['f']} {op['value']!r} ({done}); "
                     f"master then: {', '.join(masters_at(h, t)) or 'none'}"
                     + ("  <- impossible" if op.get("role") == "failed" else ""))
    r.details["counterexample"] = cx["summary"]
    r.details["in_plain_words"] = words
