"""Benchmark of repeated Sentinel failovers on one topology: the lab's client and the
spec's stock client write side by side through the same SIGKILLs."""
from __future__ import annotations

import redis
from redis.sentinel import Sentinel
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from . import checkers
from .ha_scenarios import REJOIN_DEADLINE_S, SWITCH_DEADLINE_S, HAContext
from .ha_topology import DOWN_AFTER_S, SENTINELS, SERVICE
from .stats import summary
from .util import now, wait_for
from .workload import Writer


class StockHAClient:
    """What the spec's snippet grows into in a typical application: ``Sentinel(...)``,
    ``master_for`` with default options, and a retry decorator around each call."""

    def __init__(self, sentinels, password):
        self.sentinel = Sentinel(sentinels, sentinel_kwargs={"password": password}, password=password)
        self.master = self.sentinel.master_for(SERVICE)

    @retry(wait=wait_exponential(multiplier=0.1, max=2), stop=stop_after_delay(30), reraise=True,
           retry=retry_if_exception_type((redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)))
    def set(self, key: str, value: str) -> None:
        self.master.set(key, value)

    def close(self) -> None:
        self.master.close()
        self.sentinel.close()


def _plain_write(client):
    def write(key: str, value: str) -> None:  # no WAIT: nothing known about replication
        client.call(lambda r: r.set(key, value), idempotent=True)
    return write


def failover_run(ctx: HAContext) -> dict:
    """One SIGKILL of the master under three writers; the old master is brought back after."""
    topo, backend = ctx.topo, ctx.backend
    topo.wait_ready(timeout=60)
    old = topo.agreed_master()
    lab, lab_wait = ctx.client(), ctx.client()
    stock = StockHAClient([backend.address(s) for s in SENTINELS], ctx.password)
    prefix = ctx.key(f"bench:{now():.3f}")
    writers = {
        "lab client": Writer(_plain_write(lab), f"{prefix}:lab"),
        "lab client + WAIT 1": Writer(lambda k, v: lab_wait.set_acked(k, v, 1, 300), f"{prefix}:labw"),
        "stock client": Writer(lambda k, v: stock.set(k, v), f"{prefix}:stock"),
    }
    try:
        with ctx.events() as events:
            for w in writers.values():
                w.start()
            wait_for(lambda: all(w.count_ok_after(0) >= 10 for w in writers.values()), "the writers to write", 10)
            t_kill = now()
            backend.kill(old)
            t_dead = now()
            new = wait_for(topo.agreed_master, "a new master", SWITCH_DEADLINE_S,
                           accept=lambda m: m is not None and m != old)
            wait_for(lambda: all(w.count_ok_after(t_dead) >= 5 for w in writers.values()),
                     "every client to write again", 45)
            for w in writers.values():
                w.stop()
            switch = events.first("+switch-master", since=t_kill)
            timeline = events.timeline(t_kill, since=t_kill - 1)
    finally:
        for w in writers.values():
            w.stop()
        lab.close()
        lab_wait.close()
        stock.close()
    t_switch = switch["t"] if switch else None
    m = topo.client(new)
    clients = {}
    for name, w in writers.items():
        ops = w.history.ops()
        final = dict(zip([op.key for op in ops], m.mget([op.key for op in ops])))
        first_ok = w.first_ok_after(t_dead)
        clients[name] = {
            "unavailable_s": None if first_ok is None else round(first_ok - t_kill, 4),
            "lag_after_switch_s": checkers.client_lag(t_switch, first_ok),
            "ops": len(ops), "not_ok": sum(op.status != "ok" for op in ops),
            "loss": checkers.write_loss(ops, final, min_replicated=1 if "WAIT" in name else 0),
            "history": [op.as_dict(t_kill) for op in ops],
        }
    backend.start(old)
    wait_for(lambda: topo.in_sync(old, new), f"{old} to rejoin", REJOIN_DEADLINE_S, interval=0.1)
    return {"old": old, "new": new, "switch_s": None if t_switch is None else round(t_switch - t_kill, 4),
            "clients": clients, "timeline": timeline}


def summarize(runs: list[dict]) -> dict:
    names = list(runs[0]["clients"]) if runs else []
    per_client = {}
    for name in names:
        unavailable = [r["clients"][name]["unavailable_s"] for r in runs]
        per_client[name] = {
            "unavailable_s": summary(unavailable),
            "lag_after_switch_s": summary(r["clients"][name]["lag_after_switch_s"] for r in runs),
            "unavailable_over_down_after_p50": None if summary(unavailable)["p50"] is None
            else round(summary(unavailable)["p50"] / DOWN_AFTER_S, 3),
            "acknowledged": sum(r["clients"][name]["loss"]["acknowledged"] for r in runs),
            "lost": sum(r["clients"][name]["loss"]["lost"] for r in runs),
        }
    return {"runs": len(runs), "down_after_s": DOWN_AFTER_S, "switch_s": summary(r["switch_s"] for r in runs),
            "clients": per_client}
