"""Percentiles for the benchmark (nearest-rank on the sorted sample: honest for small n)."""
from __future__ import annotations

import math
from typing import Iterable, Optional


def percentile(values: Iterable[float], p: float) -> Optional[float]:
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    rank = max(1, math.ceil(p / 100 * len(data)))
    return round(data[rank - 1], 4)


def lanes_for_picture(ops_by_client: dict, t0: float) -> dict:
    """client -> [{t_invoke, t_complete, status}] relative to the fault (report.plot's input)."""
    return {name: [{"t_invoke": op.t_invoke - t0, "t_complete": None if op.t_complete is None else op.t_complete - t0,
                    "status": op.type} for op in ops] for name, ops in ops_by_client.items()}


def per_run(runs: list[dict], client: str, metric: str) -> dict:
    """A metric of one client over the runs: percentiles plus every run's value."""
    values = [r["clients"][client][metric] for r in runs]
    return {metric: summary(values), f"{metric}_runs": values}


def summary(values: Iterable[Optional[float]]) -> dict:
    data = [v for v in values if v is not None]
    return {"n": len(data), "p50": percentile(data, 50), "p95": percentile(data, 95),
            "min": round(min(data), 4) if data else None, "max": round(max(data), 4) if data else None}
