"""Pure checkers over an operation history: no I/O, no printing, unit-tested with
hand-written histories."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from .history import Op


def write_loss(ops: Iterable[Op], final: dict[str, Optional[str]], min_replicated: int = 0) -> dict:
    """Acknowledged-write loss (Jepsen's set checker) for writes of distinct keys.

    ``final`` maps every written key to the value read at the end (None: absent).
    lost: ``ok`` writes (with at least ``min_replicated`` replica acks) whose value is gone;
    recovered: ``info`` writes that turned out applied; unexpected: a value no write wrote.
    """
    writes = [op for op in ops if op.kind == "write"]
    written = {op.key: op.value for op in writes}
    acked = [op for op in writes if op.status == "ok" and (op.replicated or 0) >= min_replicated]
    lost = [op.key for op in acked if final.get(op.key) != op.value]
    recovered = [op.key for op in writes if op.status == "info" and final.get(op.key) == op.value]
    unexpected = [k for k, v in final.items() if v is not None and written.get(k) != v]
    return {"valid": not lost and not unexpected, "acknowledged": len(acked), "lost": len(lost),
            "lost_keys": lost[:20], "recovered": len(recovered), "unexpected": len(unexpected),
            "unknown": sum(1 for op in writes if op.status == "info"),
            "failed": sum(1 for op in writes if op.status == "fail")}


def unavailability(ops: Iterable[Op], t_fault: float, group: Optional[Callable[[Op], str]] = None) -> dict:
    """Per group (e.g. shard): ``unavailable_s`` is the time from the fault to the first
    ``ok`` completion after it (None if none came), with counts of the operations that
    completed after the fault, ok and not ok."""
    group = group or (lambda op: "all")
    out: dict[str, dict] = {}
    for op in sorted(ops, key=lambda o: o.t_invoke):
        g = out.setdefault(group(op), {"unavailable_s": None, "not_ok_after_fault": 0, "ok_after_fault": 0})
        if op.t_complete is None or op.t_complete < t_fault:
            continue
        if op.status == "ok":
            g["ok_after_fault"] += 1
            if g["unavailable_s"] is None:
                g["unavailable_s"] = round(op.t_complete - t_fault, 4)
        else:
            g["not_ok_after_fault"] += 1
    return out


def gaps(ops: Iterable[Op], threshold: float) -> list[dict]:
    """Windows longer than ``threshold`` seconds with no ``ok`` completion."""
    times = sorted(op.t_complete for op in ops if op.status == "ok" and op.t_complete is not None)
    return [{"from": a, "to": b, "seconds": round(b - a, 4)} for a, b in zip(times, times[1:]) if b - a > threshold]


def client_lag(switch_at: Optional[float], client_first_ok: Optional[float]) -> Optional[float]:
    """How long after the server-side switch (+switch-master) the client wrote again."""
    if switch_at is None or client_first_ok is None:
        return None
    return round(client_first_ok - switch_at, 4)
