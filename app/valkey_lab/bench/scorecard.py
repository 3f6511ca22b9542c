"""The client scorecard (``python app/bench.py --scorecard --runs 10``): the same HA kill (SIGKILL
of the master) and the same cluster kill (SIGKILL of node-7000), repeated, with every client
configuration writing side by side, each on its own lane of distinct keys (cluster: to the
dead shard's slots). Every run goes through the one harness; every number comes from the
history: unavailable (kill -> first ok of an op invoked after it), lag behind the server's
switch (HA: +switch-master; cluster: node-7003's ROLE says master), errors surfaced to the
application (ops that raised), acknowledged writes lost (final reads after the heal).

Clients: see bench/adapters.py. GLIDE has no Sentinel support, so it is on the cluster side only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

from valkey_lab.bench import adapters
from valkey_lab.bench.charts import bar_chart
from valkey_lab.bench.probe import first_master
from valkey_lab.bench.stats import summary
from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.scenario import unavailable_s
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.runner.run import Heal, Start, StopWorkload, run
from valkey_lab.workload.keys import ShardKeys
from valkey_lab.workload.writer import Workload, Writer

SOCKET_TIMEOUT_S = 0.5
HA_CLIENTS = ("redis-py defaults", "redis-py tuned", "valkey-py tuned", "lab HAClient", "lab HAClient follow")
CLUSTER_CLIENTS = ("redis-py defaults", "redis-py tuned", "valkey-py tuned", "valkey-glide-sync", "lab ClusterClient",
                   "lab ClusterClient no watcher")
COLUMNS = ("client", "unavailable p50", "p95", "lag behind switch p50", "p95", "errors surfaced", "acknowledged",
           "lost", "runs")


def _lane(client: str) -> str:
    return f"sc:{client}"


# -- HA ---------------------------------------------------------------------------------------------
def ha_factories(lab) -> dict[str, Callable[[], object]]:
    from valkey_lab.ha import bench as bench_ha
    from valkey_lab.ha.topology import SENTINELS, SERVICE
    sentinels = [lab.backend.address(s) for s in SENTINELS]

    def lab_client(follow: bool, lane: str):
        c = bench_ha.follow_client(lab, lane, follow=follow)
        return adapters._Closing(lambda k, v: c.call(lambda r: r.set(k, v), idempotent=True), [c.close])
    return {
        "redis-py defaults": lambda: adapters.redis_py_sentinel(sentinels, SERVICE, lab.password, lab.policy, False),
        "redis-py tuned": lambda: adapters.redis_py_sentinel(sentinels, SERVICE, lab.password, lab.policy, True),
        "valkey-py tuned": lambda: adapters.valkey_py_sentinel(sentinels, SERVICE, lab.password, lab.policy),
        "lab HAClient": lambda: lab_client(False, _lane("lab HAClient")),
        "lab HAClient follow": lambda: lab_client(True, _lane("lab HAClient follow")),
    }


def ha_run(lab, index: int, names=HA_CLIENTS):
    from valkey_lab.ha import bench as bench_ha
    from valkey_lab.ha.lab import NewMaster, Rejoined
    from valkey_lab.runner.run import Hold
    name = f"scorecard-ha-{index + 1}"
    made = {n: f() for n, f in ha_factories(lab).items() if n in names}
    with lab.recorder.running(name):
        lanes = [Writer(lab.recorder, _lane(n), lambda k, v, c=c: (c.set(k, v), None)[1], lab.key(name, str(i)),
                        pace=0.01) for i, (n, c) in enumerate(made.items())]
    try:
        # Hold: let the clients without a retry (redis-py defaults) come back on their own
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [bench_ha.probe(lab)], schedule=[
            Start(Fault("kill", "master")), NewMaster(), Hold(3.0), StopWorkload(), Heal(), Rejoined()])
    finally:
        for c in made.values():
            c.close()


def ha_measure(h: RunView, names=HA_CLIENTS) -> dict:
    from valkey_lab.ha.checks import switch_of
    t = h.t_fault()
    switch = switch_of(h, t, away_from=tuple(h.victims()))
    switch_t = switch["time"] if switch else None
    writable = first_master(h.records, t, exclude=h.victims())
    out = {"switch_s": None if switch_t is None else round(switch_t - t, 4),
           "writable_s": None if writable is None else round(writable[1] - t, 4), "clients": {}}
    for n in names:
        out["clients"][n] = _client_figures(h, t, _lane(n), switch_t)
    return out


# -- cluster --------------------------------------------------------------------------------------
def cluster_factories(lab) -> dict[str, Callable[[], object]]:
    from valkey_lab.cluster.topology import NODES
    from valkey_lab.clients.cluster import ClusterClient
    from valkey_lab.runner.lab import client_events
    host, port = lab.backend.address(NODES[1])
    policy = lab.policy()

    def lab_client(watch: bool, lane: str):
        c = ClusterClient([lab.backend.address(n) for n in lab.topology.running()], lab.password,
                          remap=lab.backend.address_map(), policy=policy, socket_timeout=SOCKET_TIMEOUT_S,
                          watch_promotion=watch, on_event=client_events(lab.recorder, lane))
        return adapters._Closing(lambda k, v: c.set(k, v), [c.close])
    return {
        "redis-py defaults": lambda: adapters.redis_py_cluster(host, port, lab.password, policy, False),
        "redis-py tuned": lambda: adapters.redis_py_cluster(host, port, lab.password, policy, True),
        "valkey-py tuned": lambda: adapters.valkey_py_cluster(host, port, lab.password, policy),
        "valkey-glide-sync": lambda: adapters.glide_cluster(host, port, lab.password, policy),
        "lab ClusterClient": lambda: lab_client(True, _lane("lab ClusterClient")),
        "lab ClusterClient no watcher": lambda: lab_client(False, _lane("lab ClusterClient no watcher")),
    }


def cluster_run(lab, index: int, names=CLUSTER_CLIENTS):
    from valkey_lab.cluster import bench as bench_cluster
    from valkey_lab.cluster.lab import Promoted, Rejoined
    from valkey_lab.cluster.topology import LAYOUT
    from valkey_lab.runner.run import Hold
    name = f"scorecard-cluster-{index + 1}"
    made = {n: f() for n, f in cluster_factories(lab).items() if n in names}
    lanes = []
    with lab.recorder.running(name):
        for i, (n, c) in enumerate(made.items()):
            prefix = lab.key(name, str(i))
            lanes.append(Writer(lab.recorder, _lane(n), lambda k, v, c=c: (c.set(k, v), None)[1], prefix, pace=0.01,
                                keys=ShardKeys(prefix, [LAYOUT[bench_cluster.VICTIM]]), shard=bench_cluster.VICTIM))
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [bench_cluster.heir_probe(lab)],
                   schedule=[Start(Fault("kill", bench_cluster.VICTIM)), Promoted(), Hold(3.0), StopWorkload(),
                             Heal(), Rejoined()])
    finally:
        for c in made.values():
            c.close()


def cluster_measure(h: RunView, names=CLUSTER_CLIENTS) -> dict:
    from valkey_lab.cluster import bench as bench_cluster
    t = h.t_fault()
    promoted = first_master(h.records, t, exclude=(bench_cluster.VICTIM,))
    promoted_t = promoted[1] if promoted else None
    out = {"promotion_s": None if promoted_t is None else round(promoted_t - t, 4), "clients": {}}
    for n in names:
        out["clients"][n] = _client_figures(h, t, _lane(n), promoted_t)
    return out


# -- shared ----------------------------------------------------------------------------------------
def _client_figures(h: RunView, t: float, lane: str, switch_t) -> dict:
    ops = h.lane(lane)
    gap = unavailable_s(h, t, lane)
    after = [op for op in ops if switch_t is not None and op.t_invoke >= switch_t]
    first = availability.first_ok_after(after, switch_t) if switch_t is not None else None
    surfaced = [op for op in ops if op.t_complete is not None and op.type in ("fail", "info")]
    return {"unavailable_s": gap,
            "lag_s": availability.client_lag(switch_t, first.t_complete if first else None),
            "errors_surfaced": len(surfaced),
            "error_kinds": sorted({str(op.error).split(":")[0][:40] for op in surfaced if op.error})[:5],
            "ops": len(ops), "loss": loss.write_loss(h.client_records((lane,)), lane=lane)}


def summarize(runs: list[dict], names, server_key: str) -> dict:
    out = {}
    for n in names:
        cs = [r["clients"][n] for r in runs if n in r["clients"]]
        out[n] = {"unavailable_s": summary(c["unavailable_s"] for c in cs),
                  "unavailable_s_runs": [c["unavailable_s"] for c in cs],
                  "lag_s": summary(c["lag_s"] for c in cs), "lag_s_runs": [c["lag_s"] for c in cs],
                  "errors_surfaced": sum(c["errors_surfaced"] for c in cs),
                  "errors_surfaced_runs": [c["errors_surfaced"] for c in cs],
                  "error_kinds": sorted({k for c in cs for k in c["error_kinds"]}),
                  "acknowledged": sum(c["loss"]["acknowledged"] for c in cs),
                  "lost": sum(c["loss"]["lost"] for c in cs), "lost_runs": [c["loss"]["lost"] for c in cs],
                  "never_back_runs": sum(c["unavailable_s"] is None for c in cs), "runs": len(cs)}
    return {"server": {server_key: summary(r.get(server_key) for r in runs),
                       f"{server_key}_runs": [r.get(server_key) for r in runs]}, "clients": out}


def run_scorecard(args, console: Console, recorder) -> dict:
    from valkey_lab.cluster import bench as bench_cluster
    from valkey_lab.ha import bench as bench_ha
    parts = [p for p in ("ha", "cluster") if not getattr(args, "only", None) or p in args.only]
    out: dict = {"runs": args.runs, "socket_timeout_s": SOCKET_TIMEOUT_S}
    if "ha" in parts:
        runs = []
        with bench_ha.ha_lab(args.base_port, recorder) as lab:
            for i in range(args.runs):
                o = ha_run(lab, i)
                m = ha_measure(RunView(o.records, o.name, lab.settings()))
                m["error"] = o.error
                runs.append(m)
                console.print(f"scorecard HA {i + 1}/{args.runs}: switch {m['switch_s']}s; " + ", ".join(
                    f"{n} {c['unavailable_s']}" for n, c in m["clients"].items()))
            policy = lab.policy
        out["ha"] = {"fault": "SIGKILL of the master", "server_switch": "+switch-master (first Sentinel)",
                     "settings": {n: _setting_of(n, policy) for n in HA_CLIENTS},
                     "summary": summarize(runs, HA_CLIENTS, "switch_s"), "runs": runs}
        out["ha"]["summary"]["server"]["writable_s"] = summary(r["writable_s"] for r in runs)
    if "cluster" in parts:
        runs = []
        with bench_cluster.cluster_lab(args.cluster_base_port, recorder) as (lab, _ready):
            for i in range(args.runs):
                o = cluster_run(lab, i)
                m = cluster_measure(RunView(o.records, o.name, lab.settings()))
                m["error"] = o.error
                runs.append(m)
                console.print(f"scorecard cluster {i + 1}/{args.runs}: promotion {m['promotion_s']}s; " + ", ".join(
                    f"{n} {c['unavailable_s']}" for n, c in m["clients"].items()))
            policy = lab.policy()
        out["cluster"] = {"fault": "SIGKILL of node-7000 (writes to its slots)",
                          "server_switch": "node-7003's ROLE says master (10 ms probe)",
                          "settings": {n: _setting_of(n, policy) for n in CLUSTER_CLIENTS},
                          "summary": summarize(runs, CLUSTER_CLIENTS, "promotion_s"), "runs": runs}
    return out


def _setting_of(name: str, policy) -> str:
    return adapters.settings_text(policy, SOCKET_TIMEOUT_S).get(name, "")


def table_rows(section: dict) -> list[list[str]]:
    """The scorecard table of one topology: one row per client, COLUMNS wide."""
    rows = []
    for n, c in section["summary"]["clients"].items():
        rows.append([n, str(c["unavailable_s"]["p50"]), str(c["unavailable_s"]["p95"]), str(c["lag_s"]["p50"]),
                     str(c["lag_s"]["p95"]), str(c["errors_surfaced"]), str(c["acknowledged"]), str(c["lost"]),
                     f"{c['runs'] - c['never_back_runs']}/{c['runs']}"])
    return rows


def render(console: Console, report: dict) -> None:
    for key, title in (("ha", "HA (Sentinel)"), ("cluster", "Cluster")):
        section = report.get(key)
        if not section:
            continue
        server = section["summary"]["server"]
        sk = "switch_s" if key == "ha" else "promotion_s"
        t = Table(title=f"Client scorecard, {title}: {section['fault']}, {report['runs']} runs; server switch "
                        f"({section['server_switch']}) p50 {server[sk]['p50']} s", title_justify="left")
        for col in COLUMNS:
            t.add_column(col)
        for row in table_rows(section):
            t.add_row(*row)
        console.print(t)
        for n, s in section["settings"].items():
            console.print(f"  {n}: {s}")
    if report.get("ha") or report.get("cluster"):
        console.print("GLIDE (valkey-glide-sync) has no Sentinel support: it is scored on the cluster only.")


def svg(report: dict) -> str:
    rows, refs = [], []
    parts = []
    for gi, (key, title) in enumerate((("ha", "HA"), ("cluster", "cluster"))):
        section = report.get(key)
        if not section:
            continue
        parts.append(title)
        for n, c in section["summary"]["clients"].items():
            rows.append({"label": f"{title}: {n}", "p50": c["unavailable_s"]["p50"], "p95": c["unavailable_s"]["p95"],
                         "values": c["unavailable_s_runs"], "group": gi})
        server = section["summary"]["server"]
        sk = "switch_s" if key == "ha" else "promotion_s"
        refs.append((f"{title} server switch p50", server[sk]["p50"]))
    return bar_chart(f"Client scorecard: unavailable after a SIGKILL ({report['runs']} runs; bar p50, whisker p95, "
                     "dot a run)", rows, xlabel="seconds from the kill to the first ok write", refs=refs,
                     note="clients that never came back within the run are left out of their percentiles")


def write(report: dict, directory: str) -> list[str]:
    Path(directory).mkdir(parents=True, exist_ok=True)
    path = Path(directory) / "scorecard.svg"
    path.write_text(svg(report))
    return [str(path)]


__all__ = ["run_scorecard", "render", "svg", "table_rows", "summarize", "COLUMNS", "HA_CLIENTS", "CLUSTER_CLIENTS"]
