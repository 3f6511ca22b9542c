"""The one fault-run harness: ``run(lab, name, workload, schedule, observers) -> Outcome``.

Jepsen's shape (db + client + nemesis + generator + checker, faults as ops in the one
history) with chaostoolkit's runner discipline (steady state first, the method, rollback
always in ``finally``). Every suite scenario, fault scenario, bench run and ``--watch`` goes
through it. It records; it never judges: checks are pure functions of the recorded history.

A schedule is data: a list of steps. The harness's own (``Start``, ``Heal``, ``Hold``,
``StopWorkload``, ``Script``) work on any lab; a lab's own steps are ``Wait`` and ``Action``
dataclasses declared beside the lab (ha.lab, cluster.lab), each handled by a method of the
lab with a typed signature (``Lab.do``). What the steps learn is kept in a typed ``RunState``.

    [Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=20),
     StopWorkload(), Heal(), Rejoined()]
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Optional, Sequence

from valkey_lab.loop import sleep
from valkey_lab.nemesis.fault import Fault, Nemesis
from valkey_lab.util import WaitTimeout, now


@dataclass
class RunState:
    """What a run has learnt so far, for the steps that follow (times are monotonic readings)."""
    lanes: list[str] = field(default_factory=list)  # the workload's lanes
    faulted: list[list[str]] = field(default_factory=list)  # the nodes of each fault started, in order
    t_fault: Optional[float] = None  # when the last fault started
    t_heal: Optional[float] = None  # when the last heal ended
    new_master: Optional[str] = None  # HA: the master the Sentinels agreed on after the fault
    t_new_master: Optional[float] = None
    t_promoted: Optional[float] = None  # cluster: when the survivors agreed on the promoted replica

    @property
    def victims(self) -> list[str]:
        """The nodes of the last fault started."""
        return self.faulted[-1] if self.faulted else []

    def scalars(self) -> dict:
        """The single values learnt so far (an ``await`` record carries them)."""
        return {f.name: v for f in fields(self) if isinstance(v := getattr(self, f.name), (str, int, float))}


# -- the harness's own steps ----------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    fault: Fault


@dataclass(frozen=True)
class Heal:
    """End the active faults (of one kind or target, or all)."""
    kind: Optional[str] = None


@dataclass(frozen=True)
class Hold:
    """Let the observers watch for ``seconds`` (e.g. that nobody is promoted without quorum)."""
    seconds: float


@dataclass(frozen=True)
class StopWorkload:
    """Stop the workload's lanes (only those whose name starts with ``lanes``, when given)."""
    lanes: Optional[str] = None


@dataclass(frozen=True)
class Script:
    """A scenario's own script ``fn(lab, state)``: it records what it does and sees."""
    fn: Callable[[Any, RunState], None]


# -- the kinds of a lab's own steps -----------------------------------------------------------------
@dataclass(frozen=True)
class Wait:
    """Wait for a condition of the lab; waiting is never a check. The harness records an
    ``await`` (``condition``, the seconds it took, the state's single values); one waited for
    in vain ends the run with a ``timeout`` record. ``timeout`` None: the lab's deadline."""
    condition: ClassVar[str] = ""
    timeout: Optional[float] = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Action:
    """Do something on the lab that records its own evidence (a probe write, replica reads)."""


Step = Start | Heal | Hold | StopWorkload | Script | Wait | Action


@dataclass
class Outcome:
    name: str
    records: list
    error: Optional[str] = None  # what the run waited for in vain, or what broke it


def run(lab, name: str, workload=None, schedule: Sequence[Step] = (), observers: Sequence[Any] = ()) -> Outcome:
    """Run one scenario's method on ``lab`` and return its history (records tagged ``name``).

    Steady state first (``lab.steady``), then observers and the workload (whose start returns
    once warm), then the schedule. Whatever happens, the faults are healed and the lab
    restored in ``finally``; the final reads come last, as ordinary client reads."""
    rec = lab.recorder
    state = RunState()
    error: Optional[str] = None
    started: list = []
    with rec.running(name):
        nemesis = Nemesis(lab, rec)
        try:
            rec.harness("steady", {"seconds": round(lab.steady(), 3)})
            for obs in observers:
                started.append(obs.start())
            if workload is not None:
                state.lanes = [lane.lane for lane in workload.lanes]
                t = now()
                workload.start()
                rec.harness("warm", {"seconds": round(now() - t, 3)})
            for step in schedule:
                _step(lab, rec, nemesis, workload, step, state)
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
        if workload is not None:
            lab.final_reads(list(dict.fromkeys(workload.keys())))  # each key once, even when lanes share it
        return Outcome(name, [r for r in rec.records() if r.get("run") == name or r.get("kind") == "meta"], error)


def _step(lab, rec, nemesis: Nemesis, workload, step: Step, state: RunState) -> None:
    if isinstance(step, Start):
        state.faulted.append(nemesis.start(step.fault))
        state.t_fault = now()
    elif isinstance(step, Heal):
        nemesis.end(step.kind)
        state.t_heal = now()
    elif isinstance(step, Wait):
        t = now()
        lab.do(step, state)
        rec.harness("await", {"condition": step.condition, "seconds": round(now() - t, 3), **state.scalars()})
    elif isinstance(step, Action):
        lab.do(step, state)
    elif isinstance(step, Hold):
        sleep(step.seconds)
    elif isinstance(step, StopWorkload):
        if workload is not None:
            workload.stop(step.lanes)
    elif isinstance(step, Script):
        step.fn(lab, state)
    else:
        raise TypeError(f"not a step: {step!r}")


__all__ = ["run", "Outcome", "RunState", "Start", "Heal", "Hold", "StopWorkload", "Script", "Wait", "Action",
           "Step"]
