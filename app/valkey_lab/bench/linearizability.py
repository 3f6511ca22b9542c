"""How fast is the linearizability checker? Times ``check`` on generated valid register
histories (many processes, some info ops) and returns the numbers as data.

    python -m valkey_lab.bench.linearizability      # from app/; prints JSON
"""
from __future__ import annotations

import json
import platform
import time
from typing import Iterable, Optional

from valkey_lab.checkers.linearizable import check
from valkey_lab.history.gen import register_history


def measure(sizes: Iterable[int] = (1000, 5000, 20000), processes: int = 10, info_rate: float = 0.05,
            seed: int = 7, timeout: Optional[float] = 120.0) -> list[dict]:
    """One row per size: ops, processes, info ops, seconds (wall, the checker only), verdict."""
    rows = []
    for n in sizes:
        history = register_history(n, processes, info_rate, seed=seed + n)
        started = time.perf_counter()
        result = check(history, model="register", timeout=timeout)
        seconds = time.perf_counter() - started
        rows.append({"ops": result["ops"], "processes": processes, "info_ops": result["info"],
                     "info_dropped": sum(k["dropped_info"] for k in result["keys"]),
                     "seconds": round(seconds, 4), "ops_per_second": round(result["ops"] / seconds) if seconds else None,
                     "valid": result["valid"]})
    return rows


if __name__ == "__main__":
    print(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                      "results": measure()}, indent=2))
