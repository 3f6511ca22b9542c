"""Benchmark of repeated cluster primary kills (the cluster half of ``make bench``): the lab's
ClusterClient and a stock ``RedisCluster`` with the same retry settings write side by side,
one writer per shard each, through the same SIGKILLs of node-7000; node-7003 takes over,
node-7000 rejoins and gets its shard back (CLUSTER FAILOVER, the harness's restore) before
the next run. Every run goes through the one harness; every figure comes from its history.
A 10 ms ROLE probe on node-7003 marks the moment it became primary; the lab client's
promotion watcher's load on the surviving nodes is read from their own commandstats
(``cluster|shards``, which only the watcher sends)."""
from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from valkey_lab.bench import stats
from valkey_lab.bench.probe import RoleProbe, first_master
from valkey_lab.bench.stats import summary
from valkey_lab.bench.stock import StockClusterClient, settings
from valkey_lab.checkers import availability, loss
from valkey_lab.cluster.lab import ClusterLab, Promoted, Rejoined, ShardResumed, open_lab
from valkey_lab.runner.run import Heal, Script, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.report import plot
from valkey_lab.checkers.scenario import unavailable_s
from valkey_lab.cluster.topology import LAYOUT, NODES
from valkey_lab.util import now
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.writer import Workload, Writer

DEFAULT_BASE_PORT = 7600  # clear of the suite's 7100 and the Docker stack's 7000-7005
VICTIM, HEIR = "node-7000", "node-7003"
LAB, LAB_WAIT, STOCK = "lab ClusterClient", "lab ClusterClient + WAIT 1", "stock RedisCluster"
SOCKET_TIMEOUT_S = 0.5


# Where the bench's labs run: local processes, or an external target (bench_cli --backend
# external --target FILE sets it; the failover bench only).
TARGET: Optional[str] = None


@contextmanager
def cluster_lab(base_port: int, recorder):
    """A fresh local cluster, formed by init.sh (or the external target's, attached); yields
    (lab, seconds from start to ready)."""
    start = now()
    with open_lab(argparse.Namespace(backend="external" if TARGET else "local", base_port=base_port,
                                     target=TARGET), recorder) as lab:
        yield lab, round(now() - start, 3)


def clients(lab: ClusterLab) -> dict:
    shared = settings(lab.policy(), SOCKET_TIMEOUT_S)
    return {LAB: {"settings": {**shared, "watch_interval_s": 0.02},
                  "adds": "remapped redirects, one retry layer, unknown-outcome rule; while a primary is "
                          "unreachable it polls CLUSTER SHARDS on its replica every 20 ms and wakes at the promotion"},
            LAB_WAIT: {"settings": shared, "adds": "as the lab client, then WAIT 1 (300 ms)"},
            STOCK: {"settings": shared, "adds": "redis-py RedisCluster (its own sleepless retries) + tenacity"}}


def _lane_name(client: str, primary: str) -> str:
    return f"{client}|{primary}"


def shards_calls(lab: ClusterLab, nodes: list[str]) -> dict[str, int]:
    """``cluster|shards`` calls each node has served (INFO commandstats): the watchers' load."""
    out = {}
    for node in nodes:
        try:
            stat = lab.topology.client(node).info("commandstats").get("cmdstat_cluster|shards", {})
            out[node] = int(stat.get("calls", 0)) if isinstance(stat, dict) else 0
        except Exception:  # noqa: BLE001 - a node that does not answer adds nothing
            out[node] = 0
    return out


def heir_probe(lab: ClusterLab) -> RoleProbe:
    return RoleProbe(lab.backend, lab.password, lab.recorder, nodes=lambda: [HEIR])


def failover_run(lab: ClusterLab, index: int, name: Optional[str] = None):
    """One SIGKILL of node-7000 under every writer; the layout is restored afterwards. Run
    names must be unique within a history (``name``; default cluster-bench-N)."""
    name = name or f"cluster-bench-{index + 1}"
    survivors = [n for n in NODES if n != VICTIM]
    mark = lambda f: Script(lambda lab_, state: lab.recorder.harness(f, shards_calls(lab, survivors)))  # noqa: E731
    shards = lab.topology.shards()
    host, port = lab.backend.address(NODES[1])
    stocks = []
    lanes = []
    for s in shards:
        p = s["primary"]
        lanes.append(lab.shard_writer(p, s["ranges"], lane=_lane_name(LAB, p)))
        stock = StockClusterClient(host, port, lab.password, lab.policy(), SOCKET_TIMEOUT_S,
                                   remap=lab.backend.address_map() if lab.backend.name == "external" else None)
        stocks.append(stock)
        prefix = lab.key(name, "stock", p)
        lanes.append(Writer(lab.recorder, _lane_name(STOCK, p), lambda k, v, c=stock: c.set(k, v), prefix,
                            pace=0.01, keys=ShardKeys(prefix, s["ranges"]), shard=p))
    lanes.append(lab.shard_writer(VICTIM, [LAYOUT[VICTIM]], lane=_lane_name(LAB_WAIT, VICTIM), wait_replicas=1))
    victim_lanes = [_lane_name(c, VICTIM) for c in (LAB, LAB_WAIT, STOCK)]
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [heir_probe(lab)], schedule=[
            mark("shards-calls-before"), Start(Fault("kill", VICTIM)), Promoted(),
            *[ShardResumed(count=5, lane=lane) for lane in victim_lanes], mark("shards-calls-after"),
            StopWorkload(), Heal(), Rejoined()])
    finally:
        for stock in stocks:
            stock.close()


def measure(h: RunView) -> dict:
    t = h.t_fault()
    samples = cluster_events.samples_of(h.records)
    timeline = cluster_events.relative(cluster_events.events(samples), t)
    first = lambda ev, node: next((e["t_s"] for e in timeline if e["event"] == ev and e["node"] == node), None)  # noqa
    promoted = first("promoted", HEIR)
    probed = first_master(h.records, t, exclude=(VICTIM,))
    role_s = None if probed is None else round(probed[1] - t, 4)
    out = {"run": h.name, "killed": VICTIM, "promoted": HEIR, "pfail_s": first("fail?", VICTIM),
           "fail_s": first("fail", VICTIM), "promotion_sampled_s": promoted,
           "promotion_s": role_s if role_s is not None else promoted, "clients": {}, "timeline": timeline,
           "epoch_regressions": cluster_events.epoch_regressions(samples), "watcher": watcher_load(h, t)}
    promoted = out["promotion_s"]
    for client in (LAB, LAB_WAIT, STOCK):
        dead = _lane_name(client, VICTIM)
        others = [op for lane in {op.lane for op in h.ops} if lane and lane.startswith(client + "|")
                  and lane != dead for op in h.lane(lane)]
        gap = unavailable_s(h, t, dead)
        # the client caught up when any write of the dead shard's lane completed ok after the
        # promotion (the one retrying through it included); unavailable_s counts only writes
        # invoked after the kill, so it also holds the lane's pace and one round trip
        caught = None if promoted is None else availability.first_ok_after(h.lane(dead), t + promoted)
        out["clients"][client] = {
            "unavailable_s": gap,
            "lag_after_promotion_s": availability.client_lag(promoted, None if caught is None else caught.t_complete - t),
            "dead_shard_not_ok": sum(not op.ok for op in h.lane(dead)), "other_shards_ops": len(others),
            "other_shards_failed": sum(not op.ok for op in others),
            "loss": loss.write_loss(h.client_records((dead,)), lane=dead, min_replicated=1 if client == LAB_WAIT else 0)}
    return out


def watcher_load(h: RunView, t: float) -> dict:
    """CLUSTER SHARDS the survivors served between the marks around the outage (only the lab
    clients' watchers send it), per second of that window and per second of the outage."""
    before, after = h.harness("shards-calls-before"), h.harness("shards-calls-after")
    if not before or not after:
        return {}
    calls = sum(after[0]["value"].get(n, 0) - before[0]["value"].get(n, 0) for n in after[0]["value"])
    window = after[0]["time"] - before[0]["time"]
    seen = [r for r in h.records if r.get("kind") == "client-event" and r.get("f") == "promotion-seen"]
    return {"cluster_shards_calls": calls, "window_s": round(window, 3),
            "per_s": round(calls / window, 1) if window > 0 else None, "wakeups": len(seen)}


def lanes_for_picture(h: RunView) -> dict:
    return stats.lanes_for_picture({c: h.lane(_lane_name(c, VICTIM)) for c in (LAB, LAB_WAIT, STOCK)}, h.t_fault())


def summarize(runs: list[dict], node_timeout_s: float) -> dict:
    per_client = {}
    for name in (LAB, LAB_WAIT, STOCK):
        s = summary(r["clients"][name]["unavailable_s"] for r in runs)
        per_client[name] = {
            **stats.per_run(runs, name, "unavailable_s"), **stats.per_run(runs, name, "lag_after_promotion_s"),
            "unavailable_over_node_timeout_p50": None if s["p50"] is None else round(s["p50"] / node_timeout_s, 3),
            "other_shards_ops": sum(r["clients"][name]["other_shards_ops"] for r in runs),
            "other_shards_failed": sum(r["clients"][name]["other_shards_failed"] for r in runs),
            "dead_shard_not_ok": sum(r["clients"][name]["dead_shard_not_ok"] for r in runs),
            "acknowledged": sum(r["clients"][name]["loss"]["acknowledged"] for r in runs),
            "lost": sum(r["clients"][name]["loss"]["lost"] for r in runs),
            "lost_runs": [r["clients"][name]["loss"]["lost"] for r in runs]}
    load = [r.get("watcher") or {} for r in runs]
    return {"runs": len(runs), "node_timeout_s": node_timeout_s,
            "promotion_s": summary(r["promotion_s"] for r in runs), "promotion_s_runs": [r["promotion_s"] for r in runs],
            "promotion_sampled_s": summary(r.get("promotion_sampled_s") for r in runs),
            "watcher_load": {"cluster_shards_calls": sum(x.get("cluster_shards_calls", 0) for x in load),
                             "per_s": summary(x.get("per_s") for x in load),
                             "per_s_runs": [x.get("per_s") for x in load],
                             "wakeups": sum(x.get("wakeups", 0) for x in load),
                             "what": "CLUSTER SHARDS served by the 5 surviving nodes from the kill until every "
                                     "client wrote again (INFO commandstats deltas); the lab clients of the dead "
                                     "shard (2: with and without WAIT) poll while they retry"},
            "fail_s": summary(r["fail_s"] for r in runs),
            "epoch_regressions": sum(len(r["epoch_regressions"]) for r in runs), "clients": per_client}


def svg(lanes: dict, timeline: list, valkey: str) -> str:
    events = [e for e in timeline if e["event"] in ("fail?", "fail", "promoted")]
    return plot.failover_svg(f"Cluster failover: SIGKILL of {VICTIM}, writes to its slots (local, Valkey {valkey})",
                             lanes, events, t_min=-1.0)


def run_bench(args, console: Console, recorder, valkey: str = "?") -> dict:
    base = getattr(args, "cluster_base_port", None) or DEFAULT_BASE_PORT
    ready = []
    for _ in range(getattr(args, "ready_samples", 3)):
        with cluster_lab(base, recorder) as (_lab, ready_s):
            ready.append(ready_s)
    runs = []
    with cluster_lab(base, recorder) as (lab, _):
        recorder.meta(cluster_settings=lab.settings())
        for i in range(args.runs):
            out = failover_run(lab, i)
            view = RunView(out.records, out.name, lab.settings())
            got = measure(view)
            runs.append(got)
            if i == 0 and getattr(args, "svg_dir", None):
                Path(args.svg_dir).mkdir(parents=True, exist_ok=True)
                (Path(args.svg_dir) / "failover-cluster.svg").write_text(svg(lanes_for_picture(view), got["timeline"],
                                                                             valkey))
            c = got["clients"]
            console.print(f"cluster failover {i + 1}/{args.runs}: {VICTIM} killed, {HEIR} promoted after "
                          f"{got['promotion_s']}s; writes back after {c[LAB]['unavailable_s']}s (lab), "
                          f"{c[STOCK]['unavailable_s']}s (stock); failed on other shards: "
                          f"{c[LAB]['other_shards_failed']} (lab), {c[STOCK]['other_shards_failed']} (stock)")
            if out.error:
                console.print(f"[red]run {i + 1} did not finish: {out.error}[/]")
        node_timeout_s, client_settings = lab.node_timeout_s, clients(lab)
    return {"ready_s": summary(ready), "ready_samples_s": ready, "node_timeout_ms": int(node_timeout_s * 1000),
            "clients": client_settings, "summary": summarize(runs, node_timeout_s),
            "runs": [{k: v for k, v in r.items() if k != "timeline"} for r in runs]}


def goals(report: dict) -> list[dict]:
    cluster = report.get("cluster")
    if not cluster:
        return []
    s = cluster["summary"]
    lab = s["clients"][LAB]
    p50: Optional[float] = lab["unavailable_s"]["p50"]
    failed = lab["other_shards_failed"]
    stock = s["clients"][STOCK]["unavailable_s"]["p50"]
    out = [
        {"goal": "cluster p50 unavailable_s <= node-timeout + 1.0 s, 0 failed ops on other shards",
         "target": s["node_timeout_s"] + 1.0, "measured": p50, "other_shards_failed": failed},
        {"goal": "cluster lab client lag after promotion p95 <= 0.05 s", "target": 0.05,
         "measured": lab["lag_after_promotion_s"]["p95"]},
        {"goal": "cluster lab client p50 unavailable_s <= stock RedisCluster's p50 (same runs)", "target": stock,
         "measured": p50, "other_shards_failed": failed},
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
                    f"fail seen p50 {s['fail_s']['p50']}s, promotion (ROLE) p50 {s['promotion_s']['p50']} "
                    f"p95 {s['promotion_s']['p95']}s; ready p50 {cluster['ready_s']['p50']}s; watcher load p50 "
                    f"{s.get('watcher_load', {}).get('per_s', {}).get('p50')} CLUSTER SHARDS/s", title_justify="left")
    for col in ("client", "dead shard unavailable p50", "p95", "÷ node-timeout", "lag after promotion p50", "p95",
                "failed ops other shards", "acknowledged", "lost"):
        t.add_column(col)
    for name, c in s["clients"].items():
        t.add_row(name, str(c["unavailable_s"]["p50"]), str(c["unavailable_s"]["p95"]),
                  str(c["unavailable_over_node_timeout_p50"]), str(c["lag_after_promotion_s"]["p50"]),
                  str(c["lag_after_promotion_s"]["p95"]),
                  f"{c['other_shards_failed']} of {c['other_shards_ops']}" if c["other_shards_ops"] else "-",
                  str(c["acknowledged"]), str(c["lost"]))
    console.print(t)


__all__ = ["run_bench", "goals", "render", "summarize", "failover_run", "measure", "DEFAULT_BASE_PORT", "sweep_cluster",
           "scorecard", "promotion_version", "heir_probe"]


# -- the sweep's cluster parts (bench/sweep.py draws and fits them) ----------------------------------
def sweep_cluster(args, console: Console, recorder, value_ms: int, ping_ms: Optional[int] = None) -> list[dict]:
    """The bench's SIGKILL run ``args.runs`` times on a lab with cluster-node-timeout ``value_ms``
    (or, with ``ping_ms``, node-timeout 3000 and cluster-ping-interval ``ping_ms``; 0 = default)."""
    from valkey_lab.bench.sweep import settings as with_settings
    items = [f"cluster/node.conf:cluster-node-timeout={3000 if ping_ms is not None else value_ms}"]
    if ping_ms is not None:
        items.append(f"cluster/node.conf:cluster-ping-interval={ping_ms}")
    setting = value_ms if ping_ms is None else (ping_ms or 1500)
    part = "node-timeout" if ping_ms is None else "ping-interval"
    out = []
    with with_settings(*items):
        with cluster_lab(getattr(args, "cluster_base_port", None) or DEFAULT_BASE_PORT, recorder) as (lab, _):
            for i in range(args.runs):
                o = failover_run(lab, i, name=f"sweep-{part}-{setting}-{i + 1}")
                m = measure(RunView(o.records, o.name, lab.settings()))
                c = m["clients"]
                row = {"setting_ms": setting, "pfail_s": m["pfail_s"], "fail_s": m["fail_s"],
                       "promotion_s": m["promotion_s"], "lab": c[LAB]["unavailable_s"],
                       "stock": c[STOCK]["unavailable_s"], "other_shards_failed": c[LAB]["other_shards_failed"],
                       "error": o.error}
                out.append(row)
                console.print(f"sweep {part} {setting} ms, run {i + 1}/{args.runs}: {row}")
    return out


# -- the scorecard's cluster part ---------------------------------------------------------------------
def scorecard_factories(lab: ClusterLab) -> dict:
    from valkey_lab.bench import adapters
    from valkey_lab.bench.scorecard import lane
    from valkey_lab.clients.cluster import ClusterClient
    from valkey_lab.runner.lab import client_events
    host, port = lab.backend.address(NODES[1])
    policy = lab.policy()

    def lab_client(watch: bool, name: str):
        c = ClusterClient([lab.backend.address(n) for n in lab.topology.running()], lab.password,
                          remap=lab.backend.address_map(), policy=policy, socket_timeout=SOCKET_TIMEOUT_S,
                          watch_promotion=watch, on_event=client_events(lab.recorder, lane(name)))
        return adapters._Closing(lambda k, v: c.set(k, v), [c.close])
    return {
        "redis-py defaults": lambda: adapters.redis_py_cluster(host, port, lab.password, policy, False),
        "redis-py tuned": lambda: adapters.redis_py_cluster(host, port, lab.password, policy, True),
        "valkey-py tuned": lambda: adapters.valkey_py_cluster(host, port, lab.password, policy),
        "valkey-glide-sync": lambda: adapters.glide_cluster(host, port, lab.password, policy),
        "lab ClusterClient": lambda: lab_client(True, "lab ClusterClient"),
        "lab ClusterClient no watcher": lambda: lab_client(False, "lab ClusterClient no watcher"),
    }


def scorecard_run(lab: ClusterLab, index: int, names: tuple):
    from valkey_lab.bench.scorecard import lane
    from valkey_lab.runner.run import Hold
    name = f"scorecard-cluster-{index + 1}"
    made = {n: f() for n, f in scorecard_factories(lab).items() if n in names}
    lanes = []
    with lab.recorder.running(name):
        for i, (n, c) in enumerate(made.items()):
            prefix = lab.key(name, str(i))
            lanes.append(Writer(lab.recorder, lane(n), lambda k, v, c=c: (c.set(k, v), None)[1], prefix, pace=0.01,
                                keys=ShardKeys(prefix, [LAYOUT[VICTIM]]), shard=VICTIM))
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [heir_probe(lab)],
                   schedule=[Start(Fault("kill", VICTIM)), Promoted(), Hold(3.0), StopWorkload(), Heal(), Rejoined()])
    finally:
        for c in made.values():
            c.close()


def scorecard(args, console: Console, recorder) -> dict:
    from valkey_lab.bench.scorecard import CLUSTER_CLIENTS, client_figures, lane, setting_of
    from valkey_lab.bench.scorecard import summarize as sc_summarize
    runs = []
    with cluster_lab(getattr(args, "cluster_base_port", None) or DEFAULT_BASE_PORT, recorder) as (lab, _):
        for i in range(args.runs):
            o = scorecard_run(lab, i, CLUSTER_CLIENTS)
            h = RunView(o.records, o.name, lab.settings())
            t = h.t_fault()
            promoted = first_master(h.records, t, exclude=(VICTIM,))
            m = {"promotion_s": None if promoted is None else round(promoted[1] - t, 4),
                 "clients": {n: client_figures(h, t, lane(n), promoted and promoted[1]) for n in CLUSTER_CLIENTS},
                 "error": o.error}
            runs.append(m)
            console.print(f"scorecard cluster {i + 1}/{args.runs}: promotion {m['promotion_s']}s; " + ", ".join(
                f"{n} {c['unavailable_s']}" for n, c in m["clients"].items()))
        policy = lab.policy()
    return {"fault": "SIGKILL of node-7000 (writes to its slots)",
            "server_switch": "node-7003's ROLE says master (10 ms probe)",
            "settings": {n: setting_of(n, policy) for n in CLUSTER_CLIENTS},
            "summary": sc_summarize(runs, CLUSTER_CLIENTS, "promotion_s"), "runs": runs}


# -- where promotion time goes (bench/promotion.py parses the logs and tabulates) ----------------------
def promotion_logs(lab: ClusterLab, t_kill_wall: float) -> list[dict]:
    from valkey_lab.bench.promotion import parse_log
    events = []
    for node in NODES:
        events += parse_log(lab.backend.log(node), t_kill_wall, node)
    return sorted(events, key=lambda e: e["t_s"])


def promotion_idle_run(lab: ClusterLab, index: int, tag: str):
    """SIGKILL of node-7000 with no client: only the ROLE probe and a 100 ms CLUSTER NODES
    sampler on the two surviving primaries (for PFAIL)."""
    from valkey_lab.cluster.observe import FlagSampler
    from valkey_lab.cluster.topology import PRIMARIES
    sampler = FlagSampler(lab.topology, lambda: [n for n in PRIMARIES if n != VICTIM], lab.recorder, interval=0.1)
    return run(lab, f"promotion-{tag}-idle-{index + 1}", observers=[sampler, heir_probe(lab)],
               schedule=[Start(Fault("kill", VICTIM)), Promoted(), Heal(), Rejoined()])


def promotion_measure(lab: ClusterLab, o, mode: str) -> dict:
    import os
    from valkey_lab.bench.promotion import timeline_figures, wall_of
    h = RunView(o.records, o.name, lab.settings())
    t = h.t_fault()
    probed = first_master(h.records, t, exclude=(VICTIM,))
    evts = cluster_events.relative(cluster_events.events(cluster_events.samples_of(h.records)), t)
    pfail = next((e["t_s"] for e in evts if e["event"] == "fail?" and e["node"] == VICTIM), None)
    logs = promotion_logs(lab, wall_of(lab.recorder, t))
    return {"run": o.name, "mode": mode, "promotion_s": None if probed is None else round(probed[1] - t, 4),
            "pfail_seen_s": pfail, **timeline_figures(logs), "log": logs[:40], "error": o.error,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def promotion_version(args, console: Console, recorder, bin_dir: Optional[str], loaded: bool) -> dict:
    """Idle kills (and, with ``loaded``, the bench's loaded kills) on the build in ``bin_dir``
    (None: the one on PATH)."""
    import os
    from valkey_lab.backends.local import BIN_ENV, server_version
    from valkey_lab.bench.promotion import line, summarize as pr_summarize
    old = os.environ.get(BIN_ENV)
    if bin_dir:
        os.environ[BIN_ENV] = str(Path(bin_dir).resolve())
    else:
        os.environ.pop(BIN_ENV, None)
    version = server_version()
    tag = f"v{version}"
    runs: dict[str, list[dict]] = {"idle": []}
    try:
        with cluster_lab(getattr(args, "cluster_base_port", None) or DEFAULT_BASE_PORT, recorder) as (lab, _):
            for i in range(args.runs):
                got = promotion_measure(lab, promotion_idle_run(lab, i, tag), "idle")
                runs["idle"].append(got)
                console.print(f"promotion {tag} idle {i + 1}/{args.runs}: {line(got)}")
            if loaded:
                runs["loaded"] = []
                for i in range(args.runs):
                    o = failover_run(lab, i, name=f"promotion-{tag}-loaded-{i + 1}")
                    got = promotion_measure(lab, o, "loaded")
                    runs["loaded"].append(got)
                    console.print(f"promotion {tag} loaded {i + 1}/{args.runs}: {line(got)}")
    finally:
        if old is None:
            os.environ.pop(BIN_ENV, None)
        else:
            os.environ[BIN_ENV] = old
    return {"valkey": version, "bin": bin_dir or "PATH", "summary": {m: pr_summarize(rs) for m, rs in runs.items()},
            "runs": runs}
