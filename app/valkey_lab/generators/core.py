"""Generators as data, in the spirit of Jepsen's ``generator.clj``.

A generator is a frozen value that says *what* happens and *when*: a fault schedule, a client
op mix, a pacing. It does nothing by itself: an interpreter asks it for items, one at a time,
through a cursor (``gen.cursor()``), and performs them. The harness (runner.run) interprets
the schedule of a run (its items are steps: faults, heals, waits); a workload lane interprets
its op generator (its items are ``Invoke``s). Both honour ``Sleep`` items, the one way time
passes between items.

    phases(Start(Fault("kill", "master")), NewMaster(), Heal())          # steps, in order
    stagger(0.01, mix([repeat(Invoke("read")), repeat(Invoke("write"))], weights=[4, 6]))
    time_limit(60, cycle(stagger(10, faults)))                           # a fault every ~10 s

Combinators: ``once``, ``phases`` (one after the other), ``repeat`` / ``cycle``, ``mix``
(random choice per item, weighted), ``delay`` (a fixed pause before each item), ``stagger``
(a random pause in [0, 2 dt) before each item), ``time_limit``, ``limit`` (n items), ``on``
(only for some processes; ``clients`` and ``nemesis``), ``from_fn`` (an item computed from
the context). A list or tuple is ``phases`` of its elements; any other value is ``once``.

Each process runs its own cursor of a declared generator (Jepsen shares one across
threads): the declaration is shared, the position in it is the process's own, and ``on``
says which processes a part of it is for. Randomness comes from the context's ``rng`` only,
so a seed gives the same sequence of items.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection, Iterator, Optional, Sequence, Union

PENDING = type("Pending", (), {"__repr__": lambda self: "PENDING"})()  # nothing for this process now: ask again


@dataclass(frozen=True)
class Sleep:
    """Let ``seconds`` pass before the next item (the interpreter sleeps, interruptibly)."""
    seconds: float


@dataclass(frozen=True)
class Invoke:
    """One client operation for the process that pulled it to perform (``f``: read, write,
    cas, incr, ...; ``value`` when the generator chooses it, else the process does)."""
    f: str
    value: Any = None


@dataclass
class Context:
    """What a cursor may consult: the random source (seeded: the same seed, the same items),
    the process asking (a lane name, or ``"nemesis"``) and the clock."""
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    process: Any = None
    clock: Callable[[], float] = time.monotonic


class Cursor:
    """A position in a generator: ``next(ctx)`` gives the next item, PENDING, or None once done."""

    def next(self, ctx: Context) -> Any:
        raise NotImplementedError


class Gen:
    """A generator: a frozen value; ``cursor()`` starts a walk through it."""

    def cursor(self) -> Cursor:
        raise NotImplementedError

    def items(self, ctx: Optional[Context] = None, sleeps: bool = False, max_items: int = 100_000) -> list:
        """Every item, without performing any and without sleeping (time stands still unless
        ``ctx.clock`` moves): for tests, and to print a schedule before running it."""
        ctx = ctx or Context()
        out, cur = [], self.cursor()
        while len(out) < max_items:
            item = cur.next(ctx)
            if item is None or item is PENDING:
                break
            if sleeps or not isinstance(item, Sleep):
                out.append(item)
        return out


Genish = Union[Gen, Sequence, Any]


def lift(x: Genish) -> Gen:
    """A generator from anything: a Gen as it is, a list or tuple as phases of its elements,
    None as nothing, any other value as that one item."""
    if isinstance(x, Gen):
        return x
    if x is None:
        return Seq(())
    if isinstance(x, (list, tuple)):
        return Seq(tuple(lift(e) for e in x))
    return Once(x)


# -- once -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Once(Gen):
    item: Any

    def cursor(self) -> Cursor:
        return _OnceCursor(self.item)


class _OnceCursor(Cursor):
    def __init__(self, item):
        self.item, self.done = item, False

    def next(self, ctx):
        if self.done:
            return None
        self.done = True
        return self.item


def once(item: Any) -> Gen:
    return Once(item)


# -- phases -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seq(Gen):
    gens: tuple

    def cursor(self) -> Cursor:
        return _SeqCursor(self.gens)


class _SeqCursor(Cursor):
    def __init__(self, gens):
        self.gens, self.i, self.cur = gens, 0, None

    def next(self, ctx):
        while self.i < len(self.gens):
            if self.cur is None:
                self.cur = self.gens[self.i].cursor()
            item = self.cur.next(ctx)
            if item is not None:
                return item
            self.i, self.cur = self.i + 1, None
        return None


def phases(*xs: Genish) -> Gen:
    """One after the other: each runs until it is exhausted, then the next begins."""
    return Seq(tuple(lift(x) for x in xs))


# -- repeat / cycle ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repeat(Gen):
    gen: Gen
    times: Optional[int] = None  # None: forever

    def cursor(self) -> Cursor:
        return _RepeatCursor(self.gen, self.times)


class _RepeatCursor(Cursor):
    def __init__(self, gen, times):
        self.gen, self.left, self.cur, self.gave = gen, times, None, False

    def next(self, ctx):
        while self.left is None or self.left > 0:
            if self.cur is None:
                self.cur, self.gave = self.gen.cursor(), False
            item = self.cur.next(ctx)
            if item is not None:
                self.gave = True
                return item
            self.cur = None
            if self.left is not None:
                self.left -= 1
            if not self.gave:  # a pass that gave nothing will give nothing again: done
                return None
        return None


def repeat(x: Genish, times: Optional[int] = None) -> Gen:
    """``x`` again and again (``times`` passes, or forever). A single item repeats itself."""
    return Repeat(lift(x), times)


cycle = repeat


# -- mix -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mix(Gen):
    gens: tuple
    weights: tuple

    def cursor(self) -> Cursor:
        return _MixCursor(self.gens, self.weights)


class _MixCursor(Cursor):
    def __init__(self, gens, weights):
        self.curs = [g.cursor() for g in gens]
        self.weights = list(weights)

    def next(self, ctx):
        while self.curs:
            i = ctx.rng.choices(range(len(self.curs)), weights=self.weights)[0]
            item = self.curs[i].next(ctx)
            if item is not None:
                return item
            del self.curs[i], self.weights[i]  # exhausted: the others share its weight
        return None


def mix(xs: Sequence[Genish], weights: Optional[Sequence[float]] = None) -> Gen:
    """Each item from one of ``xs``, picked at random (by ``weights``) from the context's rng;
    an exhausted one drops out."""
    gens = tuple(lift(x) for x in xs)
    weights = tuple(weights) if weights is not None else (1.0,) * len(gens)
    if len(weights) != len(gens) or not gens or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"mix needs one non-negative weight per generator, not all 0: {weights}")
    return Mix(gens, weights)


def ops(weights: dict[str, float]) -> Gen:
    """A client op mix: ``ops({"read": 40, "write": 40, "cas": 20})`` invokes each f with its
    weight, forever."""
    return mix([repeat(Invoke(f)) for f in weights], list(weights.values()))


# -- pacing -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pace(Gen):
    seconds: float
    gen: Gen
    random: bool = False  # stagger: uniform in [0, 2 * seconds); delay: exactly seconds

    def cursor(self) -> Cursor:
        return _PaceCursor(self)


class _PaceCursor(Cursor):
    def __init__(self, pace: Pace):
        self.pace, self.cur, self.held = pace, pace.gen.cursor(), None

    def next(self, ctx):
        if self.held is not None:
            item, self.held = self.held, None
            return item
        item = self.cur.next(ctx)
        if item is None or item is PENDING or isinstance(item, Sleep):
            return item
        pause = self.pace.seconds * (2 * ctx.rng.random() if self.pace.random else 1.0)
        if pause <= 0:
            return item
        self.held = item
        return Sleep(pause)


def delay(seconds: float, x: Genish) -> Gen:
    """A pause of ``seconds`` before each item of ``x``."""
    return Pace(seconds, lift(x), False)


def stagger(seconds: float, x: Genish) -> Gen:
    """A random pause, uniform in [0, 2 x ``seconds``), before each item of ``x`` (so items
    come every ``seconds`` on average, never in lockstep)."""
    return Pace(seconds, lift(x), True)


# -- limits ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeLimit(Gen):
    seconds: float
    gen: Gen

    def cursor(self) -> Cursor:
        return _TimeLimitCursor(self)


class _TimeLimitCursor(Cursor):
    def __init__(self, tl: TimeLimit):
        self.tl, self.cur, self.deadline = tl, tl.gen.cursor(), None

    def next(self, ctx):
        t = ctx.clock()
        if self.deadline is None:
            self.deadline = t + self.tl.seconds
        left = self.deadline - t
        if left <= 0:
            return None
        item = self.cur.next(ctx)
        if isinstance(item, Sleep) and item.seconds > left:
            return replace(item, seconds=left)  # a Hold too keeps its type
        return item


def time_limit(seconds: float, x: Genish) -> Gen:
    """``x`` until ``seconds`` have passed since its first item was asked for; a pause that
    would run past the limit is cut short."""
    return TimeLimit(seconds, lift(x))


@dataclass(frozen=True)
class Limit(Gen):
    n: int
    gen: Gen

    def cursor(self) -> Cursor:
        return _LimitCursor(self)


class _LimitCursor(Cursor):
    def __init__(self, lim: Limit):
        self.left, self.cur = lim.n, lim.gen.cursor()

    def next(self, ctx):
        if self.left <= 0:
            return None
        item = self.cur.next(ctx)
        if item is not None and item is not PENDING and not isinstance(item, Sleep):
            self.left -= 1
        return item


def limit(n: int, x: Genish) -> Gen:
    """At most ``n`` items of ``x`` (pauses do not count)."""
    return Limit(n, lift(x))


# -- on these processes only -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class On(Gen):
    processes: Any  # a collection of processes, or a predicate on the process
    gen: Gen

    def cursor(self) -> Cursor:
        return _OnCursor(self)


class _OnCursor(Cursor):
    def __init__(self, on: On):
        self.on, self.cur = on, on.gen.cursor()

    def next(self, ctx):
        p = self.on.processes
        mine = p(ctx.process) if callable(p) else ctx.process in p
        return self.cur.next(ctx) if mine else None


def on(processes: Union[Collection, Callable[[Any], bool]], x: Genish) -> Gen:
    """``x`` for the processes named (or those ``processes(p)`` accepts); nothing for the others."""
    if not callable(processes):
        processes = frozenset(processes)
    return On(processes, lift(x))


def _is_nemesis(p: Any) -> bool:
    return p == "nemesis"


def _is_client(p: Any) -> bool:
    return p != "nemesis"


def nemesis(x: Genish) -> Gen:
    """``x`` for the nemesis (the harness's schedule) only."""
    return On(_is_nemesis, lift(x))


def clients(x: Genish) -> Gen:
    """``x`` for the client processes only."""
    return On(_is_client, lift(x))


# -- computed items ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FromFn(Gen):
    fn: Callable[[Context], Any]

    def cursor(self) -> Cursor:
        return _FnCursor(self.fn)


class _FnCursor(Cursor):
    def __init__(self, fn):
        self.fn = fn

    def next(self, ctx):
        return self.fn(ctx)


def from_fn(fn: Callable[[Context], Any]) -> Gen:
    """Items computed by ``fn(ctx)`` each time one is asked for (a Gen, a list or an item; None ends it).
    A returned generator is walked through before ``fn`` is asked again."""
    return Repeat(_Expand(fn))


@dataclass(frozen=True)
class _Expand(Gen):
    fn: Callable[[Context], Any]

    def cursor(self) -> Cursor:
        return _ExpandCursor(self.fn)


class _ExpandCursor(Cursor):
    def __init__(self, fn):
        self.fn, self.cur, self.asked = fn, None, False

    def next(self, ctx):
        if self.cur is None:
            if self.asked:
                return None
            self.asked = True
            out = self.fn(ctx)
            if out is None:
                return None
            self.cur = lift(out).cursor()
        return self.cur.next(ctx)


def each_item(gen: Genish, ctx: Optional[Context] = None) -> Iterator:
    """Walk a generator's items in the calling thread (pauses included, not slept)."""
    ctx = ctx or Context()
    cur = lift(gen).cursor()
    while True:
        item = cur.next(ctx)
        if item is None or item is PENDING:
            return
        yield item


__all__ = ["PENDING", "Context", "Cursor", "Gen", "Invoke", "Sleep", "lift", "once", "phases", "repeat", "cycle",
           "mix", "ops", "delay", "stagger", "time_limit", "limit", "on", "nemesis", "clients", "from_fn",
           "each_item"]
