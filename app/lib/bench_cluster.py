"""Benchmark of repeated cluster primary kills (the cluster half of ``make bench``): the lab's
ClusterClient and a stock ``RedisCluster`` (default options) write side by side, one writer
per shard each, through the same SIGKILLs of node-7000; node-7003 takes over, node-7000 is
restarted, rejoins as a replica and gets its shard back (CLUSTER FAILOVER) before the next run.

Per run: ``unavailable_s`` of the dead shard's slots per client (from the History:
checkers.unavailability over the writes invoked after the kill), failed operations on the
other shards, acknowledged writes lost without and with WAIT 1, and the nodes' flags and
epochs (cluster_events) for the timeline and the picture."""
from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from redis.cluster import RedisCluster
from rich.console import Console
from rich.table import Table

from . import checkers, cluster_events, plot
from .cluster_events import FlagSampler
from .cluster_scenarios import (ClusterLab, ShardKeys, ShardLoad, dead_shard_unavailability, final_values,
                                open_lab, plain_write, shard_load, waited_write)
from .cluster_topology import NODES
from .history import History
from .retry import BackoffPolicy
from .stats import summary
from .util import now, wait_for
from .workload import Writer

DEFAULT_BASE_PORT = 7600  # clear of the suite's 7100 and the Docker stack's 7000-7005
VICTIM, HEIR = "node-7000", "node-7003"
LAB, LAB_WAIT, STOCK = "lab ClusterClient", "lab ClusterClient + WAIT 1", "stock RedisCluster"


@contextmanager
def cluster_lab(base_port: int):
    """A fresh local cluster, formed by init.sh; yields (lab, seconds from start to ready:
    processes started, cluster formed, all slots covered, one map, every replica linked)."""
    start = now()
    with open_lab(argparse.Namespace(backend="local", base_port=base_port)) as lab:
        yield lab, round(now() - start, 3)


def ready_times(base_port: int, times: int) -> list[float]:
    out = []
    for _ in range(times):
        with cluster_lab(base_port) as (_lab, ready_s):
            out.append(ready_s)
    return out


def stock_load(lab: ClusterLab, shards: list[dict], tag: str) -> ShardLoad:
    """One default RedisCluster per shard writer: what an application gets with
    ``RedisCluster(host, port, password=...)`` and nothing else (locally the nodes announce
    addresses the host reaches, so no address_remap is needed)."""
    history = History()
    writers, clients = {}, {}
    host, port = lab.backend.address(NODES[1])
    for s in shards:
        primary = s["primary"]
        rc = RedisCluster(host=host, port=port, password=lab.password, decode_responses=True)
        clients[primary] = rc

        def write(key: str, value: str, rc=rc) -> None:
            rc.set(key, value)
        writers[primary] = Writer(write, lab.key(tag, primary), history, pace=0.01, shard_of=lambda k, p=primary: p,
                                  keys=ShardKeys(lab.key(tag, primary), s["ranges"]))
    return ShardLoad(history, writers, clients)


def failover_run(lab: ClusterLab, index: int) -> dict:
    """One SIGKILL of node-7000 under every writer; the layout is restored afterwards."""
    topo, backend, deadline = lab.topology, lab.backend, lab.failover_deadline_s
    topo.wait_healthy(60.0, "the deterministic layout before the kill", layout=True)
    shards = topo.shards()
    policy = BackoffPolicy(base=0.05, cap=0.25, jitter=0.05, budget=deadline)
    tag = f"bench{index}"
    loads = {LAB: shard_load(lab, shards, f"{tag}:lab", policy, write=plain_write),
             LAB_WAIT: shard_load(lab, [s for s in shards if s["primary"] == VICTIM], f"{tag}:labw", policy,
                                  write=lambda c: waited_write(c, 1, 300)),
             STOCK: stock_load(lab, shards, f"{tag}:stock")}
    sampler = FlagSampler(topo, lambda: [n for n in NODES if n != VICTIM])
    try:
        for load in loads.values():
            load.start()
        wait_for(lambda: all(len(load.ok_invoked_after(p, 0)) >= 10 for load in loads.values() for p in load.writers),
                 "every writer to write", 15)
        sampler.start()
        wait_for(lambda: len(sampler.rounds) >= 2, "the flag sampler to run", 5, interval=0.02)
        backend.kill(VICTIM)
        wait_for(lambda: not backend.is_running(VICTIM), f"{VICTIM} to be dead", 10, interval=0.01)
        t_kill = now()
        wait_for(lambda: topo.me(HEIR).role == "primary", f"{HEIR} to be promoted", deadline, interval=0.05)
        wait_for(lambda: all(len(load.ok_invoked_after(VICTIM, t_kill)) >= 5 for load in loads.values()),
                 "every client to write to the promoted shard", deadline + 30, interval=0.05)
    finally:
        for load in loads.values():
            load.stop()
        sampler.stop()
    samples = sampler.samples()
    timeline = cluster_events.relative(cluster_events.events(samples), t_kill)
    promoted = next((e["t_s"] for e in timeline if e["event"] == "promoted" and e["node"] == HEIR), None)
    clients = {}
    for name, load in loads.items():
        ops = load.ops()
        final = final_values(lab, [op.key for op in load.ops(VICTIM)])
        dead_ops = load.ops(VICTIM)
        others = [op for op in ops if op.shard != VICTIM]
        unavailable = dead_shard_unavailability(load, VICTIM, t_kill)
        clients[name] = {
            "unavailable_s": unavailable,
            "lag_after_promotion_s": checkers.client_lag(promoted, unavailable),
            "ops": len(ops), "dead_shard_not_ok": sum(op.status != "ok" for op in dead_ops),
            "other_shards_ops": len(others),
            "other_shards_failed": sum(op.status != "ok" for op in others),
            "loss": checkers.write_loss(dead_ops, final, min_replicated=1 if "WAIT" in name else 0),
            "history": [op.as_dict(t_kill) for op in dead_ops],
        }
        for c in load.clients.values():
            c.close()
    # Back to the layout: node-7000 rejoins as a replica of node-7003, then takes its shard back.
    t_restart = now()
    backend.start(VICTIM)
    wait_for(lambda: topo.role(VICTIM) == "replica" and topo.link_up(VICTIM), f"{VICTIM} to rejoin as a replica",
             2 * deadline, interval=0.05)
    rejoin_s = now() - t_restart
    topo.wait_healthy(2 * deadline, "a healthy cluster after the rejoin")
    topo.restore_layout(2 * deadline)
    topo.wait_healthy(deadline, "the deterministic layout", layout=True)
    cleanup = lab.client()
    cleanup.delete_many([k for load in loads.values() for k in load.keys()])
    fail = next((e["t_s"] for e in timeline if e["event"] == "fail" and e["node"] == VICTIM), None)
    pfail = next((e["t_s"] for e in timeline if e["event"] == "fail?" and e["node"] == VICTIM), None)
    return {"run": index + 1, "killed": VICTIM, "promoted": HEIR, "pfail_s": pfail, "fail_s": fail,
            "promotion_s": promoted, "rejoin_s": round(rejoin_s, 3), "clients": clients, "timeline": timeline,
            "epoch_regressions": cluster_events.epoch_regressions(samples)}


def summarize(runs: list[dict], node_timeout_s: float) -> dict:
    names = list(runs[0]["clients"]) if runs else []
    per_client = {}
    for name in names:
        unavailable = summary(r["clients"][name]["unavailable_s"] for r in runs)
        per_client[name] = {
            "unavailable_s": unavailable,
            "unavailable_over_node_timeout_p50": None if unavailable["p50"] is None
            else round(unavailable["p50"] / node_timeout_s, 3),
            "lag_after_promotion_s": summary(r["clients"][name]["lag_after_promotion_s"] for r in runs),
            "other_shards_ops": sum(r["clients"][name]["other_shards_ops"] for r in runs),
            "other_shards_failed": sum(r["clients"][name]["other_shards_failed"] for r in runs),
            "dead_shard_not_ok": sum(r["clients"][name]["dead_shard_not_ok"] for r in runs),
            "acknowledged": sum(r["clients"][name]["loss"]["acknowledged"] for r in runs),
            "lost": sum(r["clients"][name]["loss"]["lost"] for r in runs),
        }
    return {"runs": len(runs), "node_timeout_s": node_timeout_s,
            "promotion_s": summary(r["promotion_s"] for r in runs), "fail_s": summary(r["fail_s"] for r in runs),
            "epoch_regressions": sum(len(r["epoch_regressions"]) for r in runs), "clients": per_client}


def svg(run: dict, valkey: str) -> str:
    lanes = {name: c["history"] for name, c in run["clients"].items()}
    events = [e for e in run["timeline"] if e["event"] in ("fail?", "fail", "promoted")]
    return plot.failover_svg(f"Cluster failover: SIGKILL of {run['killed']}, writes to its slots "
                             f"(local, Valkey {valkey})", lanes, events, t_min=-1.0)


def run_bench(args, console: Console, valkey: str = "?") -> dict:
    base = getattr(args, "cluster_base_port", None) or DEFAULT_BASE_PORT
    ready = ready_times(base, 3)
    runs = []
    with cluster_lab(base) as (lab, _):
        for i in range(args.runs):
            run = failover_run(lab, i)
            runs.append(run)
            c = run["clients"]
            console.print(f"cluster failover {i + 1}/{args.runs}: {VICTIM} killed, {HEIR} promoted after "
                          f"{run['promotion_s']}s; writes back after {c[LAB]['unavailable_s']}s (lab), "
                          f"{c[STOCK]['unavailable_s']}s (stock); failed on other shards: "
                          f"{c[LAB]['other_shards_failed']} (lab), {c[STOCK]['other_shards_failed']} (stock)")
        node_timeout_s = lab.node_timeout_s
    if getattr(args, "svg_dir", None) and runs:
        Path(args.svg_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.svg_dir) / "failover-cluster.svg").write_text(svg(runs[0], valkey))
    for run in runs:  # keep the JSON readable: histories only in the picture
        for c in run["clients"].values():
            c.pop("history", None)
    return {"ready_s": summary(ready), "ready_samples_s": ready, "node_timeout_ms": int(node_timeout_s * 1000),
            "summary": summarize(runs, node_timeout_s), "runs": runs}


def goals(report: dict) -> list[dict]:
    cluster = report.get("cluster")
    if not cluster:
        return []
    s = cluster["summary"]
    lab = s["clients"][LAB]
    p50: Optional[float] = lab["unavailable_s"]["p50"]
    failed = lab["other_shards_failed"]
    out = [
        {"goal": "cluster p50 unavailable_s <= node-timeout + 1.0 s, 0 failed ops on other shards",
         "target": s["node_timeout_s"] + 1.0, "measured": p50, "other_shards_failed": failed},
        {"goal": "0 WAIT-acknowledged writes lost (cluster crash failovers)", "target": 0,
         "measured": s["clients"][LAB_WAIT]["lost"]},
        {"goal": "cluster ready <= 4 s (local)", "target": 4.0, "measured": cluster["ready_s"]["p50"]},
    ]
    for g in out:
        g["met"] = g["measured"] is not None and g["measured"] <= g["target"] and not g.get("other_shards_failed")
    return out


def render(console: Console, report: dict) -> None:
    cluster = report.get("cluster")
    if not cluster:
        return
    s = cluster["summary"]
    t = Table(title=f"Cluster: {s['runs']} SIGKILLs of {VICTIM}, node-timeout {s['node_timeout_s']}s, "
                    f"fail seen p50 {s['fail_s']['p50']}s, promotion p50 {s['promotion_s']['p50']} "
                    f"p95 {s['promotion_s']['p95']}s; ready p50 {cluster['ready_s']['p50']}s",
              title_justify="left")
    for col in ("client", "dead shard unavailable p50", "p95", "÷ node-timeout", "lag after promotion p50",
                "failed ops other shards", "acknowledged", "lost"):
        t.add_column(col)
    for name, c in s["clients"].items():
        t.add_row(name, str(c["unavailable_s"]["p50"]), str(c["unavailable_s"]["p95"]),
                  str(c["unavailable_over_node_timeout_p50"]), str(c["lag_after_promotion_s"]["p50"]),
                  f"{c['other_shards_failed']} of {c['other_shards_ops']}" if c["other_shards_ops"] else "-",
                  str(c["acknowledged"]), str(c["lost"]))
    console.print(t)


__all__ = ["run_bench", "goals", "render", "summarize", "failover_run", "ready_times", "DEFAULT_BASE_PORT"]
