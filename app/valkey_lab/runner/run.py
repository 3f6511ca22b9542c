"""The one fault-run harness: ``run(lab, workload, schedule, observers) -> Outcome``.

Jepsen's shape (db + client + nemesis + generator + checker, faults as ops in the one
history) with chaostoolkit's runner discipline (steady state first, the method, rollback
always in ``finally``). Every suite scenario, fault scenario, bench run and ``--watch`` goes
through it. It records; it never judges: checks are pure functions of the recorded history.

A schedule is data: a list of steps.

    [Start(Fault("kill", "master")), Await("new-master"), Await("client-resumed"),
     StopWorkload(), Heal(), Await("rejoined")]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from valkey_lab.loop import sleep
from valkey_lab.nemesis.fault import Fault, Nemesis
from valkey_lab.util import WaitTimeout, now


@dataclass(frozen=True)
class Start:
    fault: Fault


@dataclass(frozen=True)
class Heal:
    """End the active faults (of one kind or target, or all)."""
    kind: Optional[str] = None


@dataclass(frozen=True)
class Await:
    """Wait for a named condition of the lab (``Lab.wait``); waiting is never a check."""
    condition: str
    timeout: Optional[float] = None
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Hold:
    """Let the observers watch for ``seconds`` (e.g. that nobody is promoted without quorum)."""
    seconds: float


@dataclass(frozen=True)
class StopWorkload:
    """Stop the workload's lanes (only those whose name starts with ``lanes``, when given)."""
    lanes: Optional[str] = None


@dataclass(frozen=True)
class Act:
    """A lab action by name (``Lab.act``: a write probe, a CONFIG SET, a read of the replicas),
    or a scenario's script ``fn(lab, facts)`` that records what it does and sees."""
    action: Any
    params: dict = field(default_factory=dict)


Step = Start | Heal | Await | Hold | StopWorkload | Act


@dataclass
class Outcome:
    name: str
    records: list
    error: Optional[str] = None  # what the run waited for in vain, or what broke it
    facts: dict = field(default_factory=dict)


def run(lab, name: str, workload=None, schedule: Sequence[Step] = (), observers: Sequence[Any] = (),
        final_keys: Optional[Callable[[], list[str]]] = None) -> Outcome:
    """Run one scenario's method on ``lab`` and return its history (records tagged ``name``).

    Steady state first (``lab.steady``), then observers and the workload (whose start returns
    once warm), then the schedule. Whatever happens, the faults are healed and the lab
    restored in ``finally``; the final reads come last, as ordinary client reads."""
    rec = lab.recorder
    facts: dict = {}
    error: Optional[str] = None
    started: list = []
    with rec.running(name):
        nemesis = Nemesis(lab, rec)
        try:
            rec.harness("steady", {"seconds": round(lab.steady(), 3)})
            for obs in observers:
                started.append(obs.start())
            if workload is not None:
                facts["lanes"] = [lane.lane for lane in workload.lanes]
                t = now()
                workload.start()
                rec.harness("warm", {"seconds": round(now() - t, 3)})
            for step in schedule:
                _step(lab, rec, nemesis, workload, step, facts)
        except WaitTimeout as exc:
            error = f"waited {exc.timeout:.1f}s in vain for {exc.what} (last: {exc.last!r})"[:400]
            rec.harness("timeout", {"what": exc.what, "seconds": exc.timeout, "last": repr(exc.last)[:200]})
        finally:
            if workload is not None:
                workload.stop()
            try:
                nemesis.end_all()
            finally:
                for obs in reversed(started):
                    obs.stop()
                lab.restore()
        if workload is not None or final_keys is not None:
            keys = final_keys() if final_keys is not None else workload.keys()
            lab.final_reads(list(dict.fromkeys(keys)))  # each key once, even when several lanes share it
        return Outcome(name, [r for r in rec.records() if r.get("run") == name or r.get("kind") == "meta"],
                       error, facts)


def _step(lab, rec, nemesis: Nemesis, workload, step: Step, facts: dict) -> None:
    if isinstance(step, Start):
        facts.setdefault("faulted", []).append(nemesis.start(step.fault))
        facts["t_fault"] = now()
    elif isinstance(step, Heal):
        nemesis.end(step.kind)
        facts["t_heal"] = now()
    elif isinstance(step, Await):
        t = now()
        lab.wait(step.condition, facts, step.timeout, **step.params)
        rec.harness("await", {"condition": step.condition, "seconds": round(now() - t, 3),
                                **{k: v for k, v in facts.items() if isinstance(v, (str, int, float))}})
    elif isinstance(step, Hold):
        sleep(step.seconds)
    elif isinstance(step, StopWorkload):
        if workload is not None:
            workload.stop(step.lanes)
    elif isinstance(step, Act):
        if callable(step.action):  # a scenario's own script: it records its evidence itself
            step.action(lab, facts, **step.params)
        else:
            lab.act(step.action, facts, **step.params)
    else:  # pragma: no cover - a schedule is built from the classes above
        raise TypeError(f"unknown step {step!r}")


__all__ = ["run", "Outcome", "Start", "Heal", "Await", "Hold", "StopWorkload", "Act"]
