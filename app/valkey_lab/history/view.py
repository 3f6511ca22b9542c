"""A read-only view of one scenario run's records, with the lookups every check needs.
Pure: built from records, it never talks to a server, so ``--analyze`` gets exactly the
verdicts of the live run."""
from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Optional

from valkey_lab.history.model import Op, meta_of, pair


class RunView:
    def __init__(self, records: list[dict], name: str, settings: Optional[dict] = None):
        self.name = name
        self.all_records = records
        # A method may record several runs ("partition:without", "partition:with").
        self.records = [r for r in records if r.get("run") == name or str(r.get("run", "")).startswith(name + ":")]
        self.settings = settings if settings is not None else meta_of(records).get("settings", {})

    def __bool__(self) -> bool:
        return bool(self.records)

    def round(self, name: str) -> "RunView":
        """One round of this run ("partition:with"), judged with this run's settings."""
        return RunView(self.all_records, name, self.settings)

    # A judge asks for the same records many times: indexed once per view (the records of a
    # view never change), which keeps a long run's judging linear.
    @cached_property
    def _by_kind(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in self.records:
            out.setdefault(r.get("kind"), []).append(r)
        return out

    def derived(self, fn: Callable[[list[dict]], Any]) -> Any:
        """``fn(self.records)``, computed once per view (``fn`` must be pure; callers must not
        change what it returns)."""
        cache = self.__dict__.setdefault("_derived", {})
        if fn not in cache:
            cache[fn] = fn(self.records)
        return cache[fn]

    # -- client ops ------------------------------------------------------------------------------
    @cached_property
    def ops(self) -> list[Op]:
        return pair(self.records)

    @cached_property
    def _lanes(self) -> dict[str, list[Op]]:
        out: dict[str, list[Op]] = {}
        for op in self.ops:
            out.setdefault(op.lane, []).append(op)
        return out

    def lane(self, lane: str) -> list[Op]:
        return list(self._lanes.get(lane, ()))

    def client_records(self, lanes: Optional[tuple] = None) -> list[dict]:
        """Client records of the processes that invoked ops in ``lanes``, plus every read
        (the final reads decide loss)."""
        client = self._by_kind.get("client", [])
        if lanes is None:
            return list(client)
        procs = {r["process"] for r in client if r.get("type") == "invoke"
                 and (r.get("lane") in lanes or r.get("f") == "read")}
        return [r for r in client if r.get("process") in procs]

    @cached_property
    def final(self) -> dict[str, Any]:
        """key -> the value its last ok read returned."""
        out: dict[str, Any] = {}
        for op in sorted((op for op in self.ops if op.f == "read" and op.ok), key=lambda o: o.t_complete):
            out[op.key] = op.result
        return out

    # -- nemesis ops ------------------------------------------------------------------------------
    def nemesis(self, kind: Optional[str] = None, phase: Optional[str] = None) -> list[dict]:
        return [r for r in self._by_kind.get("nemesis", ()) if (kind is None or r["f"] == kind)
                and (phase is None or r.get("phase") == phase)]

    def fault(self, n: int = 0, kind: Optional[str] = None) -> Optional[dict]:
        """The n-th fault start (its ``time`` is the clock's zero for that fault)."""
        starts = self.nemesis(kind, "start")
        return starts[n] if len(starts) > n else None

    def t_fault(self, n: int = 0, kind: Optional[str] = None) -> Optional[float]:
        f = self.fault(n, kind)
        return None if f is None else f["time"]

    def victims(self, n: int = 0, kind: Optional[str] = None) -> list[str]:
        f = self.fault(n, kind)
        return [] if f is None else list(f["params"].get("nodes", []))

    def heal(self, n: int = 0, kind: Optional[str] = None, target: Optional[str] = None) -> Optional[dict]:
        ends = [r for r in self.nemesis(kind, "end") if target is None or r.get("value") == target]
        return ends[n] if len(ends) > n else None

    # -- server observations ----------------------------------------------------------------------
    def server(self, f: str, node: Optional[str] = None) -> list[dict]:
        return [r for r in self._by_kind.get("server", ()) if r.get("f") == f
                and (node is None or r.get("node") == node)]

    def first_event(self, event: str, since: Optional[float] = None, until: Optional[float] = None) -> Optional[dict]:
        return next((r for r in self.server("sentinel-event") if r["value"]["event"] == event
                     and (since is None or r["time"] >= since) and (until is None or r["time"] <= until)), None)

    def roles(self, since: Optional[float] = None, until: Optional[float] = None, snapshots: bool = True) -> list[dict]:
        return [r for r in self.server("roles") if (not snapshots or r["value"].get("snapshot"))
                and (since is None or r["time"] >= since) and (until is None or r["time"] <= until)]

    # -- the client's own events, the harness ------------------------------------------------------
    def client_events(self, f: str) -> list[dict]:
        return [r for r in self._by_kind.get("client-event", ()) if r.get("f") == f]

    def harness(self, f: str) -> list[dict]:
        return [r for r in self._by_kind.get("harness", ()) if r.get("f") == f]

    def declared(self, lane: str) -> bool:
        """Did the run's workload have ``lane`` (its ``workload`` harness record)? So a lane
        whose ops are all missing is judged unknown, not skipped. A history recorded before
        that record existed answers by the lane's ops."""
        found = self.harness("workload")
        if not found:
            return bool(self.lane(lane))
        return any(lane in (r.get("value") or {}).get("lanes", ()) for r in found)

    @property
    def timeout(self) -> Optional[dict]:
        found = self.harness("timeout") + self.harness("error")
        return found[0]["value"] if found else None

    @property
    def duration_s(self) -> float:
        times = [r["time"] for r in self.records]
        return round(max(times) - min(times), 3) if times else 0.0

    # -- addresses ----------------------------------------------------------------------------------
    def node_of(self, address: str) -> Optional[str]:
        """The node an address (announced or reachable, "host:port") belongs to, per the settings."""
        if address in self.settings.get("announced", {}):
            return self.settings["announced"][address]
        return next((n for n, a in self.settings.get("addresses", {}).items() if a == address), None)

    def address(self, node: str) -> Optional[str]:
        return self.settings.get("addresses", {}).get(node)


__all__ = ["RunView"]
