"""What the servers said about themselves, from the ``server`` records of a history:
how many masters at once, whether epochs only went up, and the Sentinel timeline."""
from __future__ import annotations

from typing import Iterable, Optional

from valkey_lab.history.model import server_ops

MAX_VIOLATIONS = 10


def _by_time(records: Iterable[dict]) -> list[dict]:
    return sorted(records, key=lambda r: r["time"])


def max_masters(records: Iterable[dict]) -> dict:
    """Split brain as seen by role samples: only snapshots count (a slow sample spanning a
    failover would see the old and the new master and prove nothing). ``valid`` is None
    when there was no snapshot at all."""
    samples = server_ops(records, "roles")
    snaps = [s for s in _by_time(samples) if s["value"].get("snapshot")]
    most = max((len(s["value"].get("masters", [])) for s in snaps), default=0)
    violations = [{"time": s["time"], "masters": sorted(s["value"]["masters"])} for s in snaps
                  if len(s["value"].get("masters", [])) > 1]
    return {"valid": most <= 1 if snaps else None, "samples": len(samples), "snapshots": len(snaps),
            "max_masters": most, "violations": violations[:MAX_VIOLATIONS]}


def _collapse(values: list) -> list:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def epochs(records: Iterable[dict], f: str = "epoch") -> dict:
    """Epoch samples per node (repeats collapsed): ``valid`` iff no node's epoch ever went
    down; ``rises`` counts new highs over all nodes (each node's first sample excepted);
    ``regressions`` lists the drops."""
    per_node: dict[str, list[int]] = {}
    regressions = []
    rises, high = 0, None
    for r in _by_time(server_ops(records, f)):
        v = r["value"]
        if v is None:  # the node did not answer
            continue
        seq = per_node.setdefault(r["node"], [])
        if seq and v < seq[-1]:
            regressions.append({"node": r["node"], "time": r["time"], "from": seq[-1], "to": v})
        seq.append(v)
        if high is not None and v > high:
            rises += 1
        high = v if high is None else max(high, v)
    return {"valid": not regressions, "rises": rises, "sequence": {n: _collapse(s) for n, s in per_node.items()},
            "regressions": regressions[:MAX_VIOLATIONS]}


def _events(records: Iterable[dict], f: str) -> list[dict]:
    return [{"time": r["time"], "node": r.get("node"), "event": r["value"].get("event"),
             "data": r["value"].get("data")} for r in _by_time(server_ops(records, f))]


def sentinel_timeline(records: Iterable[dict], t0: float, since: Optional[float] = None,
                      events: Optional[Iterable[str]] = None) -> list[dict]:
    """Each (event, data) once, at its first sighting (``t_s`` relative to ``t0``), with how
    many Sentinels saw it; only ``events`` if given, only from ``since`` if given."""
    wanted = None if events is None else set(events)
    rows: dict[tuple, dict] = {}
    for e in _events(records, "sentinel-event"):
        if (wanted is not None and e["event"] not in wanted) or (since is not None and e["time"] < since):
            continue
        row = rows.setdefault((e["event"], e["data"]), {"t_s": round(e["time"] - t0, 3), "event": e["event"],
                                                        "data": e["data"], "first_seen_by": e["node"],
                                                        "seen": set()})
        row["seen"].add(e["node"])
    return [{**{k: v for k, v in r.items() if k != "seen"}, "seen_by": len(r["seen"])} for r in rows.values()]


def first_event(records: Iterable[dict], event: str, since: Optional[float] = None,
                f: str = "sentinel-event") -> Optional[dict]:
    """The first ``event`` (``{"time", "node", "event", "data"}``) at or after ``since``."""
    return next((e for e in _events(records, f) if e["event"] == event and (since is None or e["time"] >= since)),
                None)


__all__ = ["max_masters", "epochs", "sentinel_timeline", "first_event"]
