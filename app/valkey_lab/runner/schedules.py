"""Seeded random fault schedules: generated from a seed, replayed exactly, shrunk when they fail.

    python app/ha_test.py --schedule random --seed 42 --duration 60 [--faults kill,pause,...]
                          [--unsafe] [--shrink] [--keep 0,2]

**Generation** (``generate``) is a pure function of the seed and the options: which faults
(kinds from ``--faults``), on which target specs (``master``, ``replica:1``, ``sentinel:2``,
``primary:2``, a node name: resolved to nodes only when each fault starts), for how long, and
the pauses between them. Each system brings its ``Catalog`` (ha/faults.py, cluster/faults.py):
the kinds it knows, the targets and parameters each may take, and the waits that mean
"recovered".

- **Safe** (the default): one fault at a time. Each is healed after its hold, and the run waits
  for recovery before the next one, so the topology never faces more than it survives; a
  killed master (primary) is restarted only once another one took over (restarted sooner,
  with no persistence, it comes back empty and its replicas resync from it: every write lost).
- **Unsafe** (``--unsafe``): faults overlap at their planned times, quorum-threatening targets
  included (``sentinels:2``, a whole shard): a schedule made to break things.

**Replay**: the same seed gives the same plan, so the same nemesis sequence (kind, phase,
target spec) in the history; each nemesis op carries its target spec (``value``), the plan
index ``i`` and the nodes it resolved to (``params``). ``--keep`` replays a subset of the plan
(by index), which is how a shrunk schedule is replayed.

**Shrinking** (``shrink``): Zeller's delta debugging (ddmin) over the plan's faults: replay
subsets and complements of the failing schedule, keep any that still fails, until removing
any single fault makes it pass (1-minimal).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from valkey_lab.generators import Context, Cursor, Gen, Sleep, phases
from valkey_lab.nemesis.fault import Fault
from valkey_lab.runner.run import Heal, Hold, Start
from valkey_lab.util import LabError


@dataclass(frozen=True)
class KindSpec:
    """What one fault kind may be in a random schedule."""
    targets: tuple  # target specs, in safe schedules
    hold: tuple = (3.0, 8.0)  # seconds from its start to its heal (uniform)
    params: Callable[[random.Random], dict] = lambda rng: {}
    unsafe_targets: tuple = ()  # more targets, only with --unsafe
    # Safe schedules: wait for the catalog's ``failover`` steps before the heal (a kill: a
    # master restarted before its failover comes back empty and its replicas resync from it).
    failover_first: bool = False
    # A rough cost of recovering from it, by target (the first key the target starts with;
    # "" for the rest): sizes a safe schedule to --duration.
    recovery_s: Any = 3.0

    def cost(self, target: str) -> float:
        if not isinstance(self.recovery_s, Mapping):
            return float(self.recovery_s)
        for prefix, seconds in self.recovery_s.items():
            if prefix and target.startswith(prefix):
                return float(seconds)
        return float(self.recovery_s.get("", 3.0))


@dataclass(frozen=True)
class Catalog:
    system: str
    kinds: Mapping[str, KindSpec]
    default: tuple  # the kinds of --faults when none is given
    recovery: tuple  # the lab's waits after a heal ("every replica linked again", "cluster healthy")
    failover: tuple = ()  # the lab's waits before healing a fault that took a master down (KindSpec.failover_first)

    def check_kinds(self, kinds: Sequence[str]) -> None:
        unknown = [k for k in kinds if k not in self.kinds]
        if unknown:
            raise LabError(f"--faults: the {self.system} schedule knows no {', '.join(unknown)}; choose from: "
                           f"{', '.join(self.kinds)}")


@dataclass(frozen=True)
class Spec:
    """The options of one random schedule (what the replay command repeats)."""
    seed: int
    duration: float
    faults: tuple
    unsafe: bool = False
    keep: Optional[tuple] = None  # indices of the plan to keep (a shrunk schedule); None: all

    def command(self, suite: str, backend: str, base_port: Optional[int] = None,
                keep: Optional[Sequence[int]] = None) -> str:
        """The command line that replays this schedule (``keep``: only those faults of its plan)."""
        keep = self.keep if keep is None else tuple(keep)
        parts = [f"python app/{suite}_test.py", f"--backend {backend}"] + \
            ([f"--base-port {base_port}"] if base_port is not None else []) + \
            [f"--schedule random --seed {self.seed} --duration {self.duration:g} --faults {','.join(self.faults)}"]
        if self.unsafe:
            parts.append("--unsafe")
        if keep is not None:
            parts.append(f"--keep {','.join(map(str, keep)) or 'none'}")
        return " ".join(parts)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "duration": self.duration, "faults": list(self.faults), "unsafe": self.unsafe,
                "keep": None if self.keep is None else list(self.keep)}


@dataclass(frozen=True)
class Planned:
    """One fault of a generated schedule."""
    i: int  # its index in the full plan (stable when a subset is replayed)
    kind: str
    target: str  # the target spec, resolved when the fault starts
    at: float  # planned start, seconds from the schedule's start (unsafe: honoured; safe: nominal)
    hold: float  # seconds from its start to its heal
    params: dict = field(default_factory=dict)
    pause: float = 1.0  # safe schedules: the seconds before it starts (after the previous recovery)

    @property
    def fault(self) -> Fault:
        return Fault(self.kind, self.target, {**self.params, "i": self.i})

    def as_dict(self) -> dict:
        return {"i": self.i, "kind": self.kind, "target": self.target, "at": round(self.at, 3),
                "hold": round(self.hold, 3), "pause": round(self.pause, 3), "params": dict(self.params)}


def generate(spec: Spec, catalog: Catalog) -> list[Planned]:
    """The plan a seed gives: a pure function of ``spec`` and ``catalog`` (no clock, no lab)."""
    catalog.check_kinds(spec.faults)
    if not spec.faults:
        raise LabError("--faults: name at least one fault kind")
    rng = random.Random(spec.seed)
    plan: list[Planned] = []
    pause = rng.uniform(1.0, 3.0)
    t = pause
    while True:
        kind = rng.choice(list(spec.faults))
        ks = catalog.kinds[kind]
        targets = ks.targets + (ks.unsafe_targets if spec.unsafe else ())
        target = rng.choice(list(targets))
        hold = round(rng.uniform(*ks.hold), 3)
        params = ks.params(rng)
        if spec.unsafe:
            hold = round(rng.uniform(max(ks.hold[0], 6.0), max(ks.hold[1], 18.0)), 3)
            if t + 2.0 > spec.duration * 0.6:
                break
            hold = min(hold, max(3.0, spec.duration - t - 1.0))
        elif plan and t + hold + ks.cost(target) > spec.duration:
            break
        plan.append(Planned(len(plan), kind, target, round(t, 3), hold, params, round(pause, 3)))
        pause = rng.uniform(1.0, 5.0) if spec.unsafe else rng.uniform(1.0, 4.0)
        t += pause if spec.unsafe else hold + ks.cost(target) + pause
        if len(plan) >= 50:
            break
    if spec.keep is not None:
        wanted = set(spec.keep)
        missing = sorted(wanted - {p.i for p in plan})
        if missing:
            raise LabError(f"--keep {','.join(map(str, missing))}: the plan of seed {spec.seed} has faults "
                           f"0..{len(plan) - 1}")
        plan = [p for p in plan if p.i in wanted]
    return plan


# -- the schedule as a generator ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AtTimes(Gen):
    """Steps at fixed offsets from the moment the schedule starts (an unsafe schedule's starts
    and heals, overlapping as planned): a Sleep until each, then the step."""
    events: tuple  # ((offset_s, step), ...), sorted

    def cursor(self) -> Cursor:
        return _AtCursor(self.events)


class _AtCursor(Cursor):
    def __init__(self, events):
        self.events, self.i, self.t0, self.slept = events, 0, None, False

    def next(self, ctx: Context) -> Any:
        if self.i >= len(self.events):
            return None
        now = ctx.clock()
        if self.t0 is None:
            self.t0 = now
        at, step = self.events[self.i]
        wait = self.t0 + at - now
        if wait > 0.005 and not self.slept:
            self.slept = True
            return Sleep(wait)
        self.i, self.slept = self.i + 1, False
        return step


def schedule(plan: Sequence[Planned], catalog: Catalog, unsafe: bool) -> Gen:
    """The nemesis generator of a plan. Safe: each fault after a pause, held, healed, then the
    lab's recovery waits, one after another. Unsafe: starts and heals at their planned times."""
    if not unsafe:
        return phases(*[phases(Hold(p.pause), Start(p.fault), Hold(p.hold) if p.hold > 0 else [],
                               catalog.failover if catalog.kinds[p.kind].failover_first else [],
                               Heal(fault=p.fault), *catalog.recovery) for p in plan])
    events = sorted([(p.at, 0, p.i, Start(p.fault)) for p in plan] +
                    [(p.at + p.hold, 1, p.i, Heal(fault=p.fault)) for p in plan], key=lambda e: e[:3])
    return AtTimes(tuple((at, step) for at, _, _, step in events))


# -- shrinking ------------------------------------------------------------------------------------------------------
def ddmin(items: Sequence[Any], fails: Callable[[list], bool], max_tests: int = 40) -> list:
    """Zeller's delta debugging: a 1-minimal subsequence of ``items`` for which ``fails`` is
    still true (``fails(items)`` is known to be). Each subsequence is tested once (each test
    is a lab run); after ``max_tests`` tests, the smallest failing one found so far."""
    items = list(items)
    current, n = list(range(len(items))), 2  # positions: the items need not be hashable
    seen: dict[tuple, bool] = {tuple(current): True}

    def test(sub: list) -> bool:
        key = tuple(sub)
        if key not in seen:
            if len(seen) > max_tests:
                return False
            seen[key] = bool(fails([items[i] for i in sub]))
        return seen[key]
    while len(current) >= 2:
        size = len(current) / n
        parts = [p for p in (current[round(i * size):round((i + 1) * size)] for i in range(n)) if p]
        for part in parts:  # a part that fails by itself
            if test(part):
                current, n = part, 2
                break
        else:
            for part in parts:  # or everything but a part
                rest = [x for x in current if x not in part]
                if len(parts) > 2 and test(rest):
                    current, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(current):
                    break
                n = min(len(current), 2 * n)
    return [items[i] for i in current]


@dataclass(frozen=True)
class RandomSuite:
    """What a suite brings to ``--schedule random``: its catalog of faults, the method that runs
    one plan as a named run of the harness (``method(lab, plan, spec, name)``), and the name of
    the scenario that judges it (its check: the generic checkers)."""
    catalog: Catalog
    method: Callable[..., Any]
    scenario: str = "random"


def plan_table(plan: Sequence[Planned]) -> list[dict]:
    return [{"i": p.i, "kind": p.kind, "target": p.target, "at_s": round(p.at, 1), "hold_s": round(p.hold, 1),
             "params": ", ".join(f"{k}={v}" for k, v in p.params.items())} for p in plan]


__all__ = ["KindSpec", "Catalog", "Spec", "Planned", "RandomSuite", "generate", "schedule", "AtTimes", "ddmin",
           "plan_table"]
