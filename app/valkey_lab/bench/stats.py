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


def summary(values: Iterable[Optional[float]]) -> dict:
    data = [v for v in values if v is not None]
    return {"n": len(data), "p50": percentile(data, 50), "p95": percentile(data, 95),
            "min": round(min(data), 4) if data else None, "max": round(max(data), 4) if data else None}
