"""Faults beyond a crash for the HA topology: pause, manual failover, chained failover and
partition. Each runs a writer through the fault and checks who is master, what the client
saw and which acknowledged writes survived (checkers.write_loss)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional

import redis

from . import checkers
from .ha_scenarios import REJOIN_DEADLINE_S, SWITCH_DEADLINE_S, HAContext, restoring
from .ha_topology import DOWN_AFTER_S, FAILOVER_TIMEOUT_S, SENTINELS, SERVERS, SERVICE
from .results import Scenario, ScenarioResult
from .util import WaitTimeout, now, wait_for
from .workload import Writer


@dataclass
class FaultRun:
    old: str
    new: str
    t_fault: float
    switch_s: float
    unavailable_s: Optional[float]
    writer: Writer
    timeline: list
    loss: dict


class MasterWatch:
    """Samples, in the background, how many running servers claim to be master and the
    Sentinels' config epoch, to check 'at most one master' and 'epochs only go up'."""

    def __init__(self, ctx: HAContext, interval: float = 0.1):
        self.ctx, self.interval = ctx, interval
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _epoch(self) -> Optional[int]:
        """The highest config epoch any Sentinel reports (a failover leader may lag its peers)."""
        epochs = []
        for s in SENTINELS:
            try:
                epochs.append(int(self.ctx.topo.client(s).execute_command("SENTINEL MASTER", SERVICE)["config-epoch"]))
            except Exception:  # noqa: BLE001 - a killed Sentinel is not a sample
                continue
        return max(epochs, default=None)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = now()
            masters = [n for n in SERVERS if self.ctx.backend.is_running(n) and self.ctx.topo.role(n) == "master"]
            took = now() - start
            # A sample is a snapshot only if it was quick: one spanning a failover would
            # see the old master before the kill and the new one after it.
            self.samples.append({"t": start, "masters": masters, "epoch": self._epoch(), "took": took,
                                 "snapshot": took < 0.3})
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def max_masters(self) -> int:
        return max((len(s["masters"]) for s in self.samples if s["snapshot"]), default=0)

    def snapshots(self) -> int:
        return sum(s["snapshot"] for s in self.samples)

    def epochs(self) -> list[int]:
        """The epoch sequence as sampled, consecutive repeats collapsed."""
        seen = [s["epoch"] for s in self.samples if s["epoch"] is not None]
        return [e for i, e in enumerate(seen) if i == 0 or e != seen[i - 1]]


def failover_under_load(ctx: HAContext, r: ScenarioResult, inject: Callable[[str], None], what: str,
                        replicas_for_ack: int = 1, expect_gap: bool = True,
                        ready: Optional[Callable[[], object]] = None, deadline: float = SWITCH_DEADLINE_S) -> FaultRun:
    """Write through ``inject(master)``; wait for the Sentinels to agree on another master
    and for the client to write there; return what happened. Adds the common checks."""
    topo = ctx.topo
    (ready or (lambda: topo.wait_ready(timeout=60)))()
    old = topo.agreed_master()
    client = ctx.client()
    writer = Writer(lambda k, v: client.set_acked(k, v, replicas=replicas_for_ack, timeout_ms=300),
                    prefix=ctx.key(f"{r.name}:w"))
    try:
        with ctx.events() as events:
            writer.start()
            wait_for(lambda: writer.count_ok_after(0) >= 20, "the writer to be writing", 10)
            t_fault = now()
            try:
                inject(old)
                t_done = now()
                new = wait_for(topo.agreed_master, f"the Sentinels to agree on a master other than {old}",
                               deadline, accept=lambda m: m is not None and m != old)
                wait_for(lambda: writer.count_ok_after(t_done) >= 10 and client.master == ctx.backend.address(new),
                         f"the client to write to {new}", ctx.policy.budget + 20)
            finally:  # what the Sentinels said is the first thing to read when this fails
                r.details["timeline"] = events.timeline(t_fault, since=t_fault - 1)
            writer.stop()
            switch = events.first("+switch-master", since=t_fault)
            timeline = events.timeline(t_fault, since=t_fault - 1)
        ops = writer.history.ops()
        m = topo.client(new)
        final = dict(zip([op.key for op in ops], m.mget([op.key for op in ops])))
        loss = {"plain": checkers.write_loss(ops, final),
                f"wait_{replicas_for_ack}": checkers.write_loss(ops, final, min_replicated=replicas_for_ack)}
    finally:
        writer.stop()
        client.close()
    first_ok = writer.first_ok_after(t_done)
    unavailable_s = None if first_ok is None else round(first_ok - t_fault, 3)
    switch_s = round((switch["t"] if switch else now()) - t_fault, 3)
    change = next((c for c in client.master_changes if c["at"] >= t_fault), None)
    r.check(f"{what}: a different node became master", new != old, {"old": old, "new": new})
    r.check("Sentinel published +switch-master", switch is not None, switch and switch["data"])
    r.check("the client wrote again within its budget", unavailable_s is not None, unavailable_s)
    r.check("the client follows the new master", client.master == ctx.backend.address(new),
            {"client": client.master, "new": ctx.backend.address(new)})
    if expect_gap:
        r.check(f"no write succeeded before the switch (unavailable_s >= down-after {DOWN_AFTER_S}s)",
                unavailable_s is not None and unavailable_s >= DOWN_AFTER_S, unavailable_s)
    r.check("no write failed for good (READONLY / errors were retried)", not any(op.status == "fail" for op in ops),
            sum(op.status == "fail" for op in ops))
    key = f"wait_{replicas_for_ack}"
    r.check(f"no write acknowledged by {replicas_for_ack} replica(s) (WAIT) was lost", loss[key]["lost"] == 0, loss[key])
    r.metrics.update({"old_master": old, "new_master": new, "switch_s": switch_s, "unavailable_s": unavailable_s,
                      "client_lag_after_switch_s": checkers.client_lag(switch and switch["t"], first_ok),
                      "client_followed_after_switch_s": checkers.client_lag(switch and switch["t"],
                                                                            change and change["at"]),
                      "writes": len(ops), f"lost_{key}": loss[key]["lost"], "lost_plain": loss["plain"]["lost"],
                      "info_writes": loss["plain"]["unknown"]})
    r.details["timeline"] = timeline
    return FaultRun(old, new, t_fault, switch_s, unavailable_s, writer, timeline, loss)


def _survivors_in_sync(ctx: HAContext) -> None:
    """Readiness with a server down: one agreed master, every running replica linked."""
    topo = ctx.topo
    wait_for(lambda: (m := topo.agreed_master()) is not None and all(
        topo.in_sync(n, m) for n in SERVERS if n != m and ctx.backend.is_running(n)),
        "the surviving master and replica to be in sync", 30)


def _rejoin(ctx: HAContext, r: ScenarioResult, node: str, master: str) -> None:
    t = now()
    wait_for(lambda: ctx.topo.in_sync(node, master), f"{node} to come back as a replica of {master}",
             REJOIN_DEADLINE_S, interval=0.1)
    r.check(f"{node} came back as a replica of {master}, link up", True, ctx.topo.replica_state(node, master))
    r.metrics[f"{node}_rejoin_s"] = round(now() - t, 3)


# --------------------------------------------------------------------------------- pause
def pause(ctx: HAContext, r: ScenarioResult) -> None:
    """SIGSTOP / docker pause: the master is alive but silent; Sentinel must treat it as down."""
    run = failover_under_load(ctx, r, ctx.backend.pause, "paused master")
    ctx.backend.resume(run.old)
    _rejoin(ctx, r, run.old, run.new)


# -------------------------------------------------------------------------------- manual
def manual(ctx: HAContext, r: ScenarioResult) -> None:
    """SENTINEL FAILOVER under load: the old master is demoted while clients hold connections
    to it, so they meet READONLY (redis-py turns it into a reconnect) and must follow."""
    sentinel = ctx.topo.client(SENTINELS[0])
    requests = []

    def replicas_look_healthy() -> bool:
        return all(rep["flags"] == "slave" and rep["master-link-status"] == "ok"
                   for rep in sentinel.execute_command("SENTINEL REPLICAS", SERVICE))

    def trigger(master: str) -> None:
        # Sentinel aborts a requested failover when it trusts no replica
        # (-failover-abort-no-good-slave, e.g. just after a rejoin) and does not retry it:
        # an operator would ask again, and so does the scenario (at most 3 times).
        for _ in range(3):
            wait_for(replicas_look_healthy, "Sentinel to see healthy replicas", 30)
            requests.append(now())
            sentinel.execute_command("SENTINEL FAILOVER", SERVICE)
            try:
                wait_for(ctx.topo.agreed_master, "the requested failover", 8,
                         accept=lambda m: m is not None and m != master)
                return
            except WaitTimeout:
                continue

    run = failover_under_load(ctx, r, trigger, "SENTINEL FAILOVER", replicas_for_ack=2, expect_gap=False)
    r.metrics["failover_requests"] = len(requests)
    r.metrics["note"] = ("Sentinel's manual failover does not stop writes on the old master: "
                         "only writes both replicas acknowledged are guaranteed; lost_plain shows the rest")
    _rejoin(ctx, r, run.old, run.new)


# ------------------------------------------------------------------------------- chained
def chained(ctx: HAContext, r: ScenarioResult) -> None:
    """Kill the master, then the freshly promoted one: the last replica must take over;
    never two masters at once; the epoch only goes up."""
    backend = ctx.backend
    with MasterWatch(ctx) as watch:
        first = failover_under_load(ctx, r, backend.kill, "first kill")
        sub = type(r)(r.name)
        # A Sentinel that took part in a failover (as leader or voter) does not start another
        # one for the same master within 2x failover-timeout: the second switch may wait.
        second = failover_under_load(ctx, sub, backend.kill, "second kill", ready=lambda: _survivors_in_sync(ctx),
                                     deadline=2 * FAILOVER_TIMEOUT_S + DOWN_AFTER_S + 5)
        r.checks.extend({**c, "check": f"second kill: {c['check']}"} for c in sub.checks)
        r.metrics.update({f"second_{k}": v for k, v in sub.metrics.items() if k in ("switch_s", "unavailable_s",
                                                                                   "new_master", "lost_wait_1")})
        r.details["timeline_second"] = second.timeline
    r.check("at most one master at every check during the failovers", watch.max_masters() <= 1
            and watch.snapshots() >= 20, {"samples": len(watch.samples), "snapshots": watch.snapshots(),
                                          "max_masters": watch.max_masters()})
    epochs = watch.epochs()
    r.check("the config epoch only went up, and rose with each of the two failovers",
            epochs == sorted(set(epochs)) and len(epochs) >= 2 and epochs[-1] >= epochs[0] + 2, epochs)
    # A restarted old master runs as an (empty) master until Sentinel reconfigures it:
    # measure that window, which a client connecting to it directly would write into.
    t_restart = now()
    for node in (first.old, second.old):
        backend.start(node)
    for node in (first.old, second.old):
        _rejoin(ctx, r, node, second.new)
    r.metrics["restarted_nodes_converted_after_s"] = round(now() - t_restart, 3)
    r.metrics["final_master"] = second.new


FAULT_SCENARIOS = [
    Scenario("pause", restoring(pause), "SIGSTOP / docker pause the master: failover, then it returns as a replica"),
    Scenario("manual", restoring(manual), "SENTINEL FAILOVER under load: READONLY handled, WAIT-2 writes kept"),
    Scenario("chained", restoring(chained), "kill the master, then the new one: one master at a time, epochs rise"),
]


# ----------------------------------------------------------------------------- partition
MIN_REPLICAS_MAX_LAG_S = 2


def _set_min_replicas(ctx: HAContext, to_write: int, strict: bool = True) -> None:
    for node in SERVERS:
        try:
            ctx.topo.client(node).config_set("min-replicas-to-write", to_write)
            ctx.topo.client(node).config_set("min-replicas-max-lag", MIN_REPLICAS_MAX_LAG_S)
        except redis.RedisError:
            if strict:
                raise


def _partition_round(ctx: HAContext, r: ScenarioResult, guarded: bool) -> dict:
    """Cut the master off from Sentinels and replicas while a client that already holds a
    connection keeps writing to it; heal; count that client's acknowledged writes lost."""
    topo, backend = ctx.topo, ctx.backend
    label = "with min-replicas-to-write 1" if guarded else "without min-replicas-to-write"
    topo.wait_ready(timeout=60)
    _set_min_replicas(ctx, 1 if guarded else 0)
    old = topo.agreed_master()
    host, port = backend.address(old)
    stale = redis.Redis(host, port, password=ctx.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                        decode_responses=True)

    def stale_write(key: str, value: str) -> int:
        pipe = stale.pipeline(transaction=False)
        pipe.set(key, value)
        pipe.execute_command("WAIT", 1, 100)
        return int(pipe.execute()[1])

    writer = Writer(stale_write, prefix=ctx.key(f"partition:{int(guarded)}"))
    peers = [n for n in backend.nodes() if n != old]
    try:
        writer.start()
        wait_for(lambda: writer.count_ok_after(0) >= 20, "the isolated client to be writing", 10)
        t_cut = now()
        backend.partition(old, peers)
        new = wait_for(topo.agreed_master, f"the majority side to elect a master other than {old}",
                       SWITCH_DEADLINE_S, accept=lambda m: m is not None and m != old)
        t_switch = now()
        if guarded:  # the isolated master must start refusing writes on its own
            wait_for(lambda: any(op.status == "fail" and "NOREPLICAS" in (op.error or "") for op in writer.history.ops()),
                     "the isolated master to refuse writes (NOREPLICAS)", MIN_REPLICAS_MAX_LAG_S + 10)
        else:  # let the split brain show: the isolated master keeps acknowledging writes
            wait_for(lambda: writer.count_ok_after(t_switch) >= 20, "writes to the isolated master", 10)
        writer.stop()
    finally:
        writer.stop()
        backend.heal()
        stale.close()
    t_heal = now()
    wait_for(lambda: topo.in_sync(old, new), f"{old} to rejoin as a replica after the heal", REJOIN_DEADLINE_S,
             interval=0.1)
    ops = writer.history.ops()
    final = dict(zip([op.key for op in ops], topo.client(new).mget([op.key for op in ops])))
    acked = checkers.write_loss(ops, final)
    waited = checkers.write_loss(ops, final, min_replicated=1)
    acked_after_switch = sum(1 for op in ops if op.status == "ok" and op.t_complete > t_switch)
    last_ok = max((op.t_complete for op in ops if op.status == "ok"), default=t_cut)
    r.check(f"{label}: the majority side promoted another master", new != old, {"old": old, "new": new})
    r.check(f"{label}: no WAIT-acknowledged write was lost", waited["lost"] == 0, waited["lost"])
    if guarded:
        r.check(f"{label}: the isolated master stopped acknowledging writes within max-lag + 2 s of the cut",
                last_ok - t_cut <= MIN_REPLICAS_MAX_LAG_S + 2, round(last_ok - t_cut, 3))
    else:
        r.check(f"{label}: the isolated master kept acknowledging writes after the switch (split brain)",
                acked_after_switch > 0, acked_after_switch)
        r.check(f"{label}: those acknowledged writes were lost after the heal", acked["lost"] >= acked_after_switch,
                acked["lost"])
    r.check(f"{label}: {old} rejoined as a replica of {new}", topo.in_sync(old, new), True)
    return {"old": old, "new": new, "acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_switch": acked_after_switch,
            "refused": acked["failed"], "rejoin_after_heal_s": round(now() - t_heal, 3)}


def partition(ctx: HAContext, r: ScenarioResult) -> None:
    """Jepsen's classic: an isolated master keeps taking writes that the heal throws away.
    Run twice, without and with min-replicas-to-write 1, and report both losses."""
    try:
        without = _partition_round(ctx, r, guarded=False)
        guarded = _partition_round(ctx, r, guarded=True)
    finally:
        ctx.backend.heal()
        _set_min_replicas(ctx, 0, strict=False)
    r.check("min-replicas-to-write lost fewer acknowledged writes", guarded["lost_acknowledged"]
            < without["lost_acknowledged"], {"without": without["lost_acknowledged"], "with": guarded["lost_acknowledged"]})
    r.metrics.update({"lost_acked_without_min_replicas": without["lost_acknowledged"],
                      "lost_acked_with_min_replicas": guarded["lost_acknowledged"],
                      "lost_wait_acked_without": without["lost_wait_acknowledged"],
                      "lost_wait_acked_with": guarded["lost_wait_acknowledged"],
                      "min_replicas_max_lag_s": MIN_REPLICAS_MAX_LAG_S})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]


FAULT_SCENARIOS.append(
    Scenario("partition", restoring(partition), "isolate the master from Sentinels and replicas; writes lost, "
             "without and with min-replicas-to-write"))
