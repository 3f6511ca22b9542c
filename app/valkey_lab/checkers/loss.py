"""Did acknowledged writes survive? Jepsen's set checker and its kin, over a recorded history.

``ok`` means the server said yes, ``fail`` that it certainly did not apply, ``info`` that
nobody knows: an info write may be read back (recovered) or not, and is never lost.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from valkey_lab.history.model import HistoryError, Op, OpsOrRecords, as_ops

MAX_KEYS = 20  # keys listed as evidence; the counts stay exact


def _in_lane(op: Op, f: str, lane: Optional[str]) -> bool:
    return op.f == f and (lane is None or op.lane == lane)


def final_reads(ops: list[Op]) -> dict[str, Any]:
    """key -> what its last ok read returned (by completion time; None: the key was missing).
    Keys never read successfully are absent."""
    reads = sorted((op for op in ops if op.f == "read" and op.ok), key=lambda op: op.t_complete)
    return {op.key: op.result for op in reads}


def write_loss(records: OpsOrRecords, lane: Optional[str] = None, min_replicated: int = 0) -> dict:
    """Writes of distinct keys (optionally one ``lane``), judged by each key's final read.

    acknowledged: ok writes with at least ``min_replicated`` replica acks; lost: acknowledged
    writes whose key reads back something else; unread: acknowledged writes whose key was
    never read (undecided, not lost); fail_applied: fail writes read back (the client was
    told no, yet it happened); recovered: info writes read back; unexpected: a final value
    that no ok or info write wrote. ``valid`` is None when acknowledged writes exist but
    none could be checked.
    """
    ops = as_ops(records)
    final = final_reads(ops)
    writes = [op for op in ops if _in_lane(op, "write", lane)]
    written: dict[str, set] = {}
    for op in writes:
        if op.type in ("ok", "info"):
            written.setdefault(op.key, set()).add(_hashable(op.value))
    acked = [op for op in writes if op.ok and op.acks >= min_replicated]
    read_acked = [op for op in acked if op.key in final]
    lost = [op.key for op in read_acked if final[op.key] != op.value]
    fail_applied = [op.key for op in writes if op.type == "fail" and op.key in final and final[op.key] == op.value]
    recovered = [op for op in writes if op.type == "info" and op.key in final and final[op.key] == op.value]
    unexpected = sorted({op.key for op in writes
                         if op.key in final and final[op.key] is not None and op.key not in fail_applied
                         and _hashable(final[op.key]) not in written.get(op.key, set())})
    if lost or fail_applied or unexpected:
        valid: Optional[bool] = False
    elif acked and not read_acked:
        valid = None
    else:
        valid = True
    return {"valid": valid, "acknowledged": len(acked), "lost": len(lost), "lost_keys": lost[:MAX_KEYS],
            "unread": len(acked) - len(read_acked), "fail_applied": len(fail_applied),
            "fail_applied_keys": fail_applied[:MAX_KEYS], "recovered": len(recovered),
            "unexpected": len(unexpected), "unexpected_keys": unexpected[:MAX_KEYS],
            "unknown": sum(op.type == "info" for op in writes), "failed": sum(op.type == "fail" for op in writes)}


def _hashable(v: Any) -> Any:
    # Values are JSON: a list read back must still be comparable as a set member.
    return tuple(v) if isinstance(v, list) else v


def _one_key(ops: list[Op], what: str) -> Optional[str]:
    keys = list(dict.fromkeys(op.key for op in ops))
    if len(keys) > 1:
        raise HistoryError(f"the {what} lane touches keys {keys}: pass key=")
    return keys[0] if keys else None


def _final_read(ops: list[Op], key: Optional[str]) -> tuple[bool, Any]:
    final = final_reads(ops)
    return key in final, final.get(key)


def counter(records: OpsOrRecords, key: Optional[str] = None, lane: Optional[str] = "counter") -> dict:
    """An INCR lane (each incr adds 1) against its final read v: with a ok and u info incrs,
    ``lost = a - v`` and ``double_applied = v - (a + u)`` (each floored at 0). Two ok incrs
    returning the same value can't both have happened once: ``duplicate_results``."""
    ops = as_ops(records)
    incrs = [op for op in ops if _in_lane(op, "incr", lane) and (key is None or op.key == key)]
    if key is None:
        key = _one_key(incrs, "counter")
    a = sum(op.ok for op in incrs)
    u = sum(op.type == "info" for op in incrs)
    seen = Counter(op.result for op in incrs if op.ok)
    dupes = sorted(v for v, n in seen.items() if n > 1)
    was_read, v = _final_read(ops, key)
    out = {"key": key, "ok": a, "info": u, "failed": sum(op.type == "fail" for op in incrs),
           "duplicate_results": dupes}
    if not was_read:
        return {**out, "final": None, "lost": None, "double_applied": None, "valid": False if dupes else None}
    v = int(v or 0)  # a missing counter is 0
    lost, double = max(0, a - v), max(0, v - (a + u))
    return {**out, "final": v, "lost": lost, "double_applied": double, "valid": not (lost or double or dupes)}


def tokens(text: Optional[str], sep: str = ";") -> list[str]:
    """``"a;b;"`` -> ``["a", "b"]``; a missing key has none."""
    return [t for t in (text or "").split(sep) if t]


def _token(value: Any, sep: str) -> str:
    s = str(value)
    return s[:-len(sep)] if s.endswith(sep) else s


def append_set(records: OpsOrRecords, key: Optional[str] = None, lane: Optional[str] = "append",
               sep: str = ";") -> dict:
    """An APPEND lane of unique tokens (each append adds ``"<token><sep>"``) against the final
    read: ``double_applied`` tokens present more than once, ``lost`` ok tokens missing,
    ``fail_applied`` fail tokens present, ``unexpected`` tokens nobody appended."""
    ops = as_ops(records)
    appends = [op for op in ops if _in_lane(op, "append", lane) and (key is None or op.key == key)]
    if key is None:
        key = _one_key(appends, "append")
    by_type: dict[str, list[str]] = {"ok": [], "fail": [], "info": []}
    for op in appends:
        by_type[op.type].append(_token(op.value, sep))
    was_read, text = _final_read(ops, key)
    out: dict = {"key": key, "ok": len(by_type["ok"]), "info": len(by_type["info"]),
                 "failed": len(by_type["fail"])}
    if not was_read:
        return {**out, "read": None, "lost": None, "double_applied": None, "fail_applied": None,
                "unexpected": None, "recovered": None, "valid": None}
    present = Counter(tokens(text, sep))
    appended = {t for ts in by_type.values() for t in ts}
    found = {"lost": sorted(t for t in by_type["ok"] if t not in present),
             "double_applied": sorted(t for t, n in present.items() if n > 1),
             "fail_applied": sorted(t for t in by_type["fail"] if t in present),
             "unexpected": sorted(t for t in present if t not in appended)}
    return {**out, "read": sum(present.values()), **{k: v[:MAX_KEYS] for k, v in found.items()},
            "recovered": sum(t in present for t in by_type["info"]), "valid": not any(found.values())}


def at_risk(records: OpsOrRecords, t_fault: float, window_s: float, lane: Optional[str] = None) -> dict:
    """Writes a fault at ``t_fault`` could lose: ok writes acknowledged in the replication-lag
    window before it (async replicas may not have them yet), plus every info write."""
    writes = [op for op in as_ops(records) if _in_lane(op, "write", lane)]
    acked = sum(op.ok and t_fault - window_s <= op.t_complete <= t_fault for op in writes)
    info = sum(op.type == "info" for op in writes)
    return {"acked_in_window": acked, "info": info, "total": acked + info}


__all__ = ["final_reads", "write_loss", "counter", "append_set", "tokens", "at_risk"]
