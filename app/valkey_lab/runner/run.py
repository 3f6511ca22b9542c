"""The one fault-run harness: ``run(lab, name, workload, schedule, observers) -> Outcome``.

Jepsen's shape (db + client + nemesis + generator + checker, faults as ops in the one
history) with chaostoolkit's runner discipline (steady state first, the method, rollback
always in ``finally``). Every suite scenario, fault scenario, bench run and ``--watch`` goes
through it. It records; it never judges: checks are pure functions of the recorded history.

A schedule is data: a generator of steps (valkey_lab.generators: ``phases``, ``repeat``,
``stagger``, ``time_limit``, ``mix``, ...; a plain list is ``phases`` of its steps), which the
harness interprets as the nemesis process. The harness's own steps (``Start``, ``Heal``,
``Hold``, ``StopWorkload``, ``StopObservers``, ``Restore``, ``FinalReads``, ``Script``) work
on any lab; a lab's own steps are ``Wait`` and ``Action`` dataclasses declared beside the lab
(ha.lab, cluster.lab), each handled by a method of the lab with a typed signature
(``Lab.do``). What the steps learn is kept in a typed ``RunState``.

    phases(Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=20),
           StopWorkload(), Heal(), Rejoined())

The final phase is a generator like any other (``final``, run whatever happened to the
schedule): by default ``FINAL`` (stop the clients, heal everything, stop the observers,
restore the lab, read every key); ``final_phase(*recovery)`` heals first and waits for
recovery while the clients still run, as Jepsen's final generator does.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Optional, Sequence

from valkey_lab.generators import PENDING, Context, Sleep, each_item, lift, phases
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
    """End the active faults (of one kind or target, or that very ``fault``, or all)."""
    kind: Optional[str] = None
    fault: Optional[Fault] = None


@dataclass(frozen=True)
class Hold(Sleep):
    """Let the observers watch for ``seconds`` (e.g. that nobody is promoted without quorum)."""


@dataclass(frozen=True)
class StopWorkload:
    """Stop the workload's lanes (only those whose name starts with ``lanes``, when given)."""
    lanes: Optional[str] = None


@dataclass(frozen=True)
class StopObservers:
    """Stop the observers (each takes its last sample)."""


@dataclass(frozen=True)
class Restore:
    """The lab's restore: every node healed, resumed and started (``Lab.restore``)."""


@dataclass(frozen=True)
class FinalReads:
    """Read every key the workload wrote, as ordinary client reads (the history decides loss)."""


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


Step = Start | Heal | Hold | StopWorkload | StopObservers | Restore | FinalReads | Script | Wait | Action

# The final phase of every run unless it declares its own: clients stopped before the heal
# (the scenarios judge the fault window), observers stopped, the lab restored, every key read.
FINAL = phases(StopWorkload(), Heal(), StopObservers(), Restore(), FinalReads())


def final_phase(*recovery: Step):
    """Jepsen's final generator: heal every fault, wait for recovery (``recovery``: the lab's
    waits) while the clients still run, then stop them and the observers, restore the lab and
    read every key."""
    return phases(Heal(), *recovery, StopWorkload(), StopObservers(), Restore(), FinalReads())


@dataclass
class Outcome:
    name: str
    records: list
    error: Optional[str] = None  # what the run waited for in vain, or what broke it


def run(lab, name: str, workload=None, schedule: Any = (), observers: Sequence[Any] = (), final: Any = FINAL,
        seed: int = 0) -> Outcome:
    """Run one scenario's method on ``lab`` and return its history (records tagged ``name``).

    Steady state first (``lab.steady``), then observers and the workload (whose start returns
    once warm), then the schedule (a generator of steps, walked as the nemesis process with a
    random source seeded by ``seed``). Whatever happens, the final phase runs (``final``: by
    default clients stopped, faults healed, observers stopped, the lab restored, then the final
    reads as ordinary client reads); a wait in vain there is recorded like one in the schedule."""
    rec = lab.recorder
    state = RunState()
    error: Optional[str] = None
    started: list = []
    ctx = Context(rng=random.Random(seed), process="nemesis", clock=now)
    with rec.running(name):
        nemesis = Nemesis(lab, rec)
        env = _Env(lab, rec, nemesis, workload, started, state)
        failing = True
        try:
            rec.harness("steady", {"seconds": round(lab.steady(), 3)})
            for obs in observers:
                started.append(obs.start())
            if workload is not None:
                state.lanes = [lane.lane for lane in workload.lanes]
                rec.harness("workload", {"lanes": list(dict.fromkeys(state.lanes))})  # what the judges may expect ops of
                t = now()
                workload.start()
                rec.harness("warm", {"seconds": round(now() - t, 3)})
            _interpret(env, schedule, ctx)
            failing = False
        except WaitTimeout as exc:
            error = _timed_out(rec, exc)
            failing = False
        finally:
            problem = _final(env, final, ctx, reads=not failing)
            error = error or problem
        return Outcome(name, [r for r in rec.records() if r.get("run") == name or r.get("kind") == "meta"], error)


@dataclass
class _Env:
    lab: Any
    rec: Any
    nemesis: Nemesis
    workload: Any
    observers: list  # the observers started, in order
    state: RunState


def _timed_out(rec, exc: WaitTimeout) -> str:
    rec.harness("timeout", {"what": exc.what, "seconds": exc.timeout, "last": repr(exc.last)[:200]})
    return f"waited {exc.timeout:.1f}s in vain for {exc.what} (last: {exc.last!r})"[:400]


def _interpret(env: _Env, schedule: Any, ctx: Context) -> None:
    """Walk the schedule's generator: sleep its pauses, carry out its steps."""
    cursor = lift(schedule).cursor()
    while True:
        item = cursor.next(ctx)
        if item is None:
            return
        if item is PENDING:
            sleep(0.01)
        elif isinstance(item, Sleep):
            sleep(item.seconds)
        else:
            _step(env, item)


def _final(env: _Env, final: Any, ctx: Context, reads: bool) -> Optional[str]:
    """The final phase: every step is tried even when one before it broke (the lab must be
    left whole); a wait in vain is recorded and the phase goes on. Once something broke, or
    while the run is being interrupted (``reads`` False), only the cleanup is done: no pause,
    no wait for recovery, no final reads. The first error is raised at the end."""
    broken: Optional[BaseException] = None
    timeout: Optional[str] = None
    for item in each_item(final, ctx):
        if (not reads or broken is not None) and isinstance(item, (FinalReads, Wait, Sleep)):
            continue
        try:
            if isinstance(item, Sleep):
                sleep(item.seconds)
            else:
                _step(env, item)
        except WaitTimeout as exc:
            timeout = timeout or _timed_out(env.rec, exc)
        except BaseException as exc:  # noqa: BLE001 - raised below, once the lab is whole again
            broken = broken or exc
    if broken is not None:
        raise broken
    return timeout


def _step(env: _Env, step: Any) -> None:
    lab, rec, nemesis, workload, state = env.lab, env.rec, env.nemesis, env.workload, env.state
    if isinstance(step, Start):
        state.faulted.append(nemesis.start(step.fault))
        state.t_fault = now()
    elif isinstance(step, Heal):
        nemesis.end(step.kind, step.fault)
        state.t_heal = now()
    elif isinstance(step, Wait):
        t = now()
        lab.do(step, state)
        rec.harness("await", {"condition": step.condition, "seconds": round(now() - t, 3), **state.scalars()})
    elif isinstance(step, Action):
        lab.do(step, state)
    elif isinstance(step, Sleep):
        sleep(step.seconds)
    elif isinstance(step, StopWorkload):
        if workload is not None:
            workload.stop(step.lanes)
    elif isinstance(step, StopObservers):
        while env.observers:
            env.observers.pop().stop()
    elif isinstance(step, Restore):
        lab.restore()
    elif isinstance(step, FinalReads):
        if workload is not None:
            lab.final_reads(list(dict.fromkeys(workload.keys())))  # each key once, even when lanes share it
    elif isinstance(step, Script):
        step.fn(lab, state)
    else:
        raise TypeError(f"not a step: {step!r}")


__all__ = ["run", "Outcome", "RunState", "Start", "Heal", "Hold", "StopWorkload", "StopObservers", "Restore",
           "FinalReads", "Script", "Wait", "Action", "Step", "FINAL", "final_phase"]
