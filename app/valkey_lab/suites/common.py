"""Judgements shared by the HA and cluster suites (pure functions of a run's history)."""
from __future__ import annotations

from typing import Optional

from valkey_lab.checkers import availability
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
