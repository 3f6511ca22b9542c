"""Generic invariants any run can be judged by, with or without a scenario: each is a checker
``fn(h, ...) -> Verdict`` over one run's history (history.view.RunView). They never pass for
lack of evidence: an acknowledged write no final read covered, a window with too few samples,
an expected event that never came make the verdict unknown, and say what is missing.

Parameters are data (which lane, how many replicas, which window), never flags that change
what a checker means: a scenario that expects a violation says so with ``expect_invalid``.
"""
from __future__ import annotations

import bisect
from typing import Callable, Iterable, Optional

from valkey_lab.checkers import availability, linearizable as lin, loss
from valkey_lab.checkers.verdict import Verdict, unknown, verdict
from valkey_lab.history.model import Op
from valkey_lab.history.view import RunView

EXAMPLES = 5  # keys or ops listed as evidence; the counts stay exact


def _keys(ops: Iterable[Op]) -> list:
    return [op.key for op in ops][:EXAMPLES]


def _unread(h: RunView, ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.key not in h.final]


# -------------------------------------------------------------------------------- write loss
def lane_loss(h: RunView, lane: str, min_replicated: int = 0) -> dict:
    """loss.write_loss of one lane's writes (with at least ``min_replicated`` WAIT acks)
    against the run's final reads: the measure, for metrics; acknowledged_writes judges."""
    return loss.write_loss(h.ops, lane=lane, min_replicated=min_replicated)


def acknowledged_writes(h: RunView, lane: Optional[str] = None, min_replicated: int = 0,
                        since: Optional[float] = None, until: Optional[float] = None,
                        name: Optional[str] = None) -> Verdict:
    """Jepsen's set checker: every ok write (with at least ``min_replicated`` WAIT acks,
    invoked in [since, until)) reads back its value in the final reads. Unread: unknown."""
    acked = [op for op in h.ops if op.f == "write" and op.ok and op.acks >= min_replicated
             and (lane is None or op.lane == lane) and (since is None or op.t_invoke >= since)
             and (until is None or op.t_invoke < until)]
    what = f"WAIT {min_replicated}-" if min_replicated else ""
    name = name or f"no {what}acknowledged write{f' of lane {lane}' if lane else ''} was lost"
    lost = [op for op in acked if op.key in h.final and h.final[op.key] != op.value]
    unread = _unread(h, acked)
    evidence = {"acknowledged": len(acked), "lost": len(lost), "lost_keys": _keys(lost), "unread": len(unread)}
    if lost:
        return verdict(name, False, evidence, "lost 0")
    if not acked:
        return unknown(name, "no acknowledged write to check", evidence, "lost 0")
    if unread:
        return unknown(name, f"a final read of {len(unread)} acknowledged key(s), e.g. {_keys(unread)}",
                       evidence, "lost 0")
    return verdict(name, True, evidence, "lost 0")


def all_lost(h: RunView, ops: list[Op], name: str) -> Verdict:
    """The opposite expectation, for a scenario that shows loss (a split brain): every one
    of ``ops`` (acknowledged writes) is gone after the heal."""
    kept = [op for op in ops if op.key in h.final and h.final[op.key] == op.value]
    unread = _unread(h, ops)
    evidence = {"writes": len(ops), "survived": len(kept), "survived_keys": _keys(kept), "unread": len(unread)}
    if kept:
        return verdict(name, False, evidence, "survived 0")
    if not ops:
        return unknown(name, "no such write in the history", evidence, "> 0 writes, all lost")
    if unread:
        return unknown(name, f"a final read of {len(unread)} of those keys, e.g. {_keys(unread)}", evidence,
                       "survived 0")
    return verdict(name, True, evidence, "survived 0")


def fail_applied(h: RunView, lane: Optional[str] = None) -> Verdict:
    """``fail`` means not applied: no failed write reads back, and no final value is one that
    no ok or info write wrote."""
    name = "no write reported failed was applied (fail means not applied), no value came from nowhere"
    got = loss.write_loss(h.ops, lane=lane)
    evidence = {k: got[k] for k in ("failed", "fail_applied", "fail_applied_keys", "unexpected", "unexpected_keys")}
    writes = [op for op in h.ops if op.f == "write" and (lane is None or op.lane == lane)]
    if got["fail_applied"] or got["unexpected"]:
        return verdict(name, False, evidence, "0 and 0")
    if not writes:
        return unknown(name, "no write in the history", evidence, "0 and 0")
    read = [op for op in writes if op.key in h.final]
    if not read:
        return unknown(name, "a final read of any written key", evidence, "0 and 0")
    return verdict(name, True, evidence, "0 and 0")


def counter(h: RunView, lane: str = "counter") -> Verdict:
    """An INCR lane: no increment applied twice (final <= ok + info), no two ok increments
    returning the same value. Lost increments are measured (asynchronous replication may
    lose them), not judged here."""
    name = "no INCR applied twice (final <= ok + info increments; no two ok INCRs returned the same value)"
    ops = [op for op in h.ops if op.f == "incr" and op.lane == lane]
    if not ops:
        return unknown(name, f"no INCR in lane {lane}", None, "double_applied 0, duplicate_results []")
    try:
        got = loss.counter(ops + [op for op in h.ops if op.f == "read"], lane=lane)
    except ValueError as exc:  # several keys in one lane: the history is not a counter's
        return verdict(name, False, str(exc))
    evidence = {k: got.get(k) for k in ("ok", "info", "final", "lost", "double_applied", "duplicate_results")}
    expected = "double_applied 0, duplicate_results []"
    if got["duplicate_results"] or got.get("double_applied"):
        return verdict(name, False, evidence, expected)
    if got["final"] is None and got["lost"] is None:
        return unknown(name, f"a final read of the counter {got['key']}", evidence, expected)
    return verdict(name, True, evidence, expected)


# ------------------------------------------------------------------------------ availability
def available_within(h: RunView, lane: str, t: Optional[float], bound: float, why: str,
                     min_replicated: int = 0) -> Verdict:
    """Ops of ``lane`` invoked after ``t`` completed ok again within ``bound`` seconds."""
    name = f"the clients of lane {lane} were served again within {why} ({bound:g}s)"
    if t is None:
        return unknown(name, "the fault (no nemesis op)", None, f"<= {bound}")
    after = [op for op in h.lane(lane) if op.t_invoke >= t]
    gap = availability.unavailability(after, t, min_replicated=min_replicated).get("all", {}).get("unavailable_s")
    if gap is None:
        if any(op.t_complete is not None and op.t_complete - t > bound for op in after):
            return verdict(name, False, f"no ok op in {max(op.t_complete for op in after if op.t_complete) - t:.2f}s",
                           f"<= {bound}")
        return unknown(name, f"an op of lane {lane} completed ok after the fault", None, f"<= {bound}")
    return verdict(name, gap <= bound, gap, f"<= {bound}")


def unavailable_at_least(h: RunView, lane: str, t: Optional[float], floor: float, why: str) -> Verdict:
    """No op invoked after ``t`` succeeded before ``floor`` seconds: a physical bound (e.g.
    Sentinel can't act before down-after), so an earlier success means the fault didn't hold."""
    name = f"no op of lane {lane} succeeded before {why} ({floor:g}s)"
    if t is None:
        return unknown(name, "the fault (no nemesis op)", None, f">= {floor}")
    after = [op for op in h.lane(lane) if op.t_invoke >= t]
    gap = availability.unavailability(after, t).get("all", {}).get("unavailable_s")
    if gap is None:
        return unknown(name, f"an op of lane {lane} completed ok after the fault", None, f">= {floor}")
    return verdict(name, gap >= floor, gap, f">= {floor}")


def no_failed_writes(h: RunView, lane: str, since: Optional[float] = None, until: Optional[float] = None) -> Verdict:
    """A retrying client turns refusals into success or ``info``; a ``fail`` write is an error
    the application saw. Writes invoked in [since, until): a window ends where the next
    fault's begins, so each write is judged by the fault it was sent into."""
    name = f"no write of lane {lane} failed for good (refusals were retried to success or are 'info')"
    ops = [op for op in h.lane(lane) if op.f == "write" and (since is None or op.t_invoke >= since)
           and (until is None or op.t_invoke < until)]
    failed = [op for op in ops if op.type == "fail"]
    if not ops:
        return unknown(name, f"a write of lane {lane}", None, 0)
    return verdict(name, not failed, {"writes": len(ops), "fail": len(failed),
                                      "examples": [op.error for op in failed[:2]]}, 0)


# ------------------------------------------------------------------------- one writable master
def _lane_masters(h: RunView) -> dict[str, list[tuple[float, Optional[str], Optional[str]]]]:
    """lane -> [(time, from, to)] of the master changes its client recorded."""
    out: dict[str, list] = {}
    for e in h.client_events("master-change"):
        lane = e["value"].get("lane")
        if lane is not None:
            out.setdefault(lane, []).append((e["time"], h.node_of(str(e["value"].get("from"))),
                                             h.node_of(str(e["value"].get("to")))))
    return out


def attribution(h: RunView) -> Callable[[Op], Optional[str]]:
    """op -> the node that acknowledged it: recorded on the completion (``node``); the node a
    direct lane ``stale:<node>`` is bound to; or, for a client that follows the master, the
    master its lane's client had switched to when the op completed."""
    changes = _lane_masters(h)

    def node_of(op: Op) -> Optional[str]:
        node = op.extra.get("node")
        if node:
            return h.node_of(node) or node
        if op.lane and op.lane.startswith("stale:"):
            return op.lane.split(":", 1)[1]
        seq = changes.get(op.lane or "")
        if not seq or op.t_complete is None:
            return None
        before = [to for t, _, to in seq if t <= op.t_invoke]
        return before[-1] if before else seq[0][1]  # before its first change: the master it left
    return node_of


def one_writable_master(h: RunView, window_s: float = 1.0,
                        attribute: Optional[Callable[[Op], Optional[str]]] = None) -> Verdict:
    """At most one master accepting acknowledged writes at any moment: no ok write was
    acknowledged by a node while a role snapshot taken within ``window_s`` before it named
    another master too. The overlap (first to last such write) is measured."""
    name = "at most one master accepted acknowledged writes at any moment"
    snaps = h.roles()
    default = attribution(h)
    who = (lambda op: attribute(op) or default(op)) if attribute is not None else default
    writes = [op for op in h.ops if op.ok and op.f in ("write", "cas", "incr") and op.t_complete is not None]
    known = [(op, who(op)) for op in writes]
    known = [(op, n) for op, n in known if n is not None]
    if not snaps:
        return unknown(name, "role snapshots (the roles observer)", None, "overlap 0")
    if not known:
        return unknown(name, "writes attributed to the node that acknowledged them", {"writes": len(writes)},
                       "overlap 0")
    times = [s["time"] for s in snaps]
    split = []
    for op, node in known:
        i = bisect.bisect_right(times, op.t_complete) - 1
        if i < 0 or op.t_complete - times[i] > window_s:
            continue
        masters = snaps[i]["value"]["masters"]
        if node in masters and len(masters) > 1:
            split.append((op, node, sorted(set(masters) - {node})))
    overlap = round(split[-1][0].t_complete - split[0][0].t_complete, 3) if split else 0.0
    evidence = {"attributed_writes": len(known), "while_another_master": len(split), "overlap_s": overlap,
                "examples": [f"{op.key} acknowledged by {n} at {op.t_complete:.3f}s while {', '.join(o)} was "
                             "master too" for op, n, o in split[:3]]}
    return verdict(name, not split, evidence, "overlap 0")


def expect_invalid(v: Verdict, why: str) -> Verdict:
    """A scenario that demonstrates a violation (Jepsen's finding) expects ``v`` invalid: it
    passes when the checker found the violation, fails when it didn't, and stays unknown
    when the checker could not decide."""
    name = f"{v.name}: NOT, as expected ({why})"
    if v.valid is None:
        return unknown(name, v.missing or "the checker's evidence", v.observed, "a violation")
    return verdict(name, v.valid is False, v.observed, "a violation")


# --------------------------------------------------------------------------------- convergence
def converged(h: RunView, since: Optional[float], deadline_s: float, nodes: Optional[list] = None) -> Verdict:
    """After the last heal, within ``deadline_s``, a role snapshot shows one master and every
    other (running) server replicating it with its link up."""
    name = f"the topology converged within {deadline_s:g}s of the last heal (one master, every replica linked)"
    if since is None:
        return unknown(name, "the heal (a nemesis end op)", None, f"<= {deadline_s}")
    snaps = h.roles(since=since)
    for s in snaps:
        v = s["value"]
        if len(v["masters"]) != 1:
            continue
        m = v["masters"][0]
        states = {n: st for n, st in (v.get("nodes") or {}).items() if nodes is None or n in nodes}
        if states and all(n == m or (st and st.get("role") == "slave" and st.get("master") == m
                                     and st.get("link") == "up") for n, st in states.items()):
            t = round(s["time"] - since, 3)
            return verdict(name, t <= deadline_s, {"converged_s": t, "master": m}, f"<= {deadline_s}")
    late = [s for s in snaps if s["time"] - since > deadline_s]
    if late:
        return verdict(name, False, {"snapshots": len(snaps), "last": snaps[-1]["value"]["masters"]},
                       f"<= {deadline_s}")
    return unknown(name, f"role snapshots up to {deadline_s:g}s after the heal", {"snapshots": len(snaps)},
                   f"<= {deadline_s}")


# ---------------------------------------------------------------------------- linearizability
SAID = {True: "linearizable", False: "NOT linearizable", None: "undecided"}  # a checker result in words


def linearizable(h: RunView, timeout: float = 60.0, lanes: Optional[tuple] = None) -> tuple[Verdict, dict]:
    """Knossos' register check of the run's client ops (the register lanes and the final
    reads); the checker's full result rides along for the report."""
    got = lin.check(h.client_records(lanes), "register", timeout)
    name = "the register history is linearizable"
    observed = SAID[got["valid"]]
    if got["valid"] is None:
        return unknown(name, f"a verdict within {timeout:g}s ({got.get('reason', 'timeout')})", observed), got
    return verdict(name, got["valid"], observed), got


def indeterminate_in(records: Iterable[dict], windows: list[tuple[float, float]]) -> tuple[list[dict], int]:
    """The client records with every ok op that ran during a window (invoked by its end,
    completed at or after its start) turned info: it may or may not have taken effect.
    Returns them and how many ops were turned."""
    invoked: dict = {}
    out, turned = [], 0
    for r in records:
        if r.get("kind") == "client" and r.get("type") == "invoke":
            invoked[r.get("process")] = r["time"]
        elif r.get("kind") == "client" and r.get("process") in invoked:
            t0 = invoked.pop(r.get("process"))
            # 1 us: the record's rounding, a fault logged at the instant an op was invoked
            if r.get("type") == "ok" and any(t0 <= hi + 1e-6 and r["time"] >= lo for lo, hi in windows):
                r = {**r, "type": "info"}
                turned += 1
        out.append(r)
    return out, turned


def explained_by_lost_window(h: RunView, got: dict, timeout: float = 60.0, lanes: Optional[tuple] = None) -> Verdict:
    """A crash may lose what the old master acknowledged but had not replicated yet. That is
    the model: every op that ran in the ``repl_lag_window_s`` (setting, default 1 s) before a
    fault of the run (or across it) may or may not have taken effect; ``got`` is
    ``linearizable``'s result on the same history. A violation is explained only if the
    register history is linearizable under that model; anything else (a write acknowledged
    well before the fault and gone, every final read empty) the window does not excuse."""
    window_s = h.settings.get("repl_lag_window_s", 1.0)
    name = (f"any linearizability violation involves an op acknowledged in the {window_s:g}s before the fault "
            "(asynchronous replication's lost window)")
    if got["valid"] is True:
        return verdict(name, True, "linearizable: nothing to explain")
    expected = "linearizable once the window's ops may or may not have happened"
    t_faults = [f["time"] for f in h.nemesis(phase="start")]
    if got["valid"] is None or not t_faults:
        return unknown(name, "a verdict of the checker and the fault's time", None, expected)
    relaxed, turned = indeterminate_in(h.client_records(lanes), [(t - window_s, t) for t in t_faults])
    again = lin.check(relaxed, "register", timeout)
    observed = {"ops_made_indeterminate": turned,
                "then": SAID[again["valid"]]}
    if again["valid"] is None:
        return unknown(name, f"a verdict within {timeout:g}s on the window's history "
                             f"({again.get('reason', 'timeout')})", observed, expected)
    return verdict(name, again["valid"], observed, expected)


__all__ = ["lane_loss", "acknowledged_writes", "all_lost", "fail_applied", "counter", "available_within",
           "unavailable_at_least", "no_failed_writes", "one_writable_master", "expect_invalid", "converged", "linearizable",
           "indeterminate_in", "explained_by_lost_window"]
