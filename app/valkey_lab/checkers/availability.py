"""How long clients could not work, from a recorded history.

Everything is ordered by COMPLETION time: an op invoked before the fault may be the one
that first succeeds after it, and what the client saw is when the answer came.
"""
from __future__ import annotations

from typing import Callable, Optional

from valkey_lab.history.model import Op, OpsOrRecords, as_ops

ROUND = 6  # the recorder's resolution (microseconds)


def by_shard(op: Op) -> str:
    """Group for cluster runs: the shard that answered (``?`` when the client didn't say)."""
    return op.shard if op.shard is not None else "?"


def _counts(op: Op, min_replicated: int) -> bool:
    # The WAIT lane counts an op as served only once a replica acknowledged it too.
    return op.ok and op.acks >= min_replicated


def _completed(records: OpsOrRecords, lane: Optional[str]) -> list[Op]:
    ops = [op for op in as_ops(records) if op.t_complete is not None and (lane is None or op.lane == lane)]
    return sorted(ops, key=lambda op: op.t_complete)


def unavailability(records: OpsOrRecords, t_fault: float, group: Optional[Callable[[Op], str]] = None,
                   lane: Optional[str] = None, min_replicated: int = 0) -> dict[str, dict]:
    """Per group: ``unavailable_s`` from ``t_fault`` to the first ok completion at or after
    it (with at least ``min_replicated`` acks; None if none came), and how many ops completed
    after the fault ok / not ok. Groups with no op after the fault are listed too."""
    group = group or (lambda op: "all")
    out: dict[str, dict] = {}
    for op in _completed(records, lane):
        g = out.setdefault(group(op), {"unavailable_s": None, "ok_after_fault": 0, "not_ok_after_fault": 0})
        if op.t_complete < t_fault:
            continue
        if _counts(op, min_replicated):
            g["ok_after_fault"] += 1
            if g["unavailable_s"] is None:
                g["unavailable_s"] = round(op.t_complete - t_fault, ROUND)
        else:
            g["not_ok_after_fault"] += 1
    return out


def first_ok_after(records: OpsOrRecords, t: float, lane: Optional[str] = None,
                   min_replicated: int = 0) -> Optional[Op]:
    """The first op (by completion) that completed ok at or after ``t``, or None."""
    return next((op for op in _completed(records, lane) if op.t_complete >= t and _counts(op, min_replicated)),
                None)


def gaps(records: OpsOrRecords, threshold: float, lane: Optional[str] = None) -> list[dict]:
    """Windows longer than ``threshold`` seconds between two consecutive ok completions."""
    times = [op.t_complete for op in _completed(records, lane) if op.ok]
    return [{"from": a, "to": b, "seconds": round(b - a, ROUND)} for a, b in zip(times, times[1:])
            if b - a > threshold]


def client_lag(server_t: Optional[float], client_t: Optional[float]) -> Optional[float]:
    """How long after the server-side event (e.g. +switch-master) the client got an ok;
    None when either never happened."""
    if server_t is None or client_t is None:
        return None
    return round(client_t - server_t, ROUND)


__all__ = ["by_shard", "unavailability", "first_ok_after", "gaps", "client_lag"]
