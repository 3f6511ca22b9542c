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
from valkey_lab.bench.stats import summary
from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.scenario import unavailable_s
from valkey_lab.history.view import RunView

SOCKET_TIMEOUT_S = 0.5
HA_CLIENTS = ("redis-py defaults", "redis-py tuned", "valkey-py tuned", "lab HAClient", "lab HAClient follow")
CLUSTER_CLIENTS = ("redis-py defaults", "redis-py tuned", "valkey-py tuned", "valkey-glide-sync", "lab ClusterClient",
                   "lab ClusterClient no watcher")
COLUMNS = ("client", "unavailable p50", "p95", "lag behind switch p50", "p95", "errors surfaced", "acknowledged",
           "lost", "runs")


def lane(client: str) -> str:
    """The workload lane of a scorecard client."""
    return f"sc:{client}"


# -- HA ---------------------------------------------------------------------------------------------
# -- cluster --------------------------------------------------------------------------------------
# -- shared ----------------------------------------------------------------------------------------
def client_figures(h: RunView, t: float, lane: str, switch_t) -> dict:
    """One client's figures in one run: unavailable, lag behind the server's switch, errors the
    application saw, acknowledged writes lost."""
    ops = h.lane(lane)
    gap = unavailable_s(h, t, lane)
    # caught up: the first write of the lane (the one retrying through the switch included)
    # that completed ok at or after the server's switch
    first = availability.first_ok_after(ops, switch_t) if switch_t is not None else None
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


def run_scorecard(args, console: Console, sections: dict[str, Callable[[], dict]]) -> dict:
    """``sections``: "ha" / "cluster" -> the topology's own scorecard runs (ha/bench.py,
    cluster/bench.py), wired by bench_cli."""
    parts = [p for p in ("ha", "cluster") if not getattr(args, "only", None) or p in args.only]
    out: dict = {"runs": args.runs, "socket_timeout_s": SOCKET_TIMEOUT_S}
    for part in parts:
        out[part] = sections[part]()
    return out


def setting_of(name: str, policy) -> str:
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


__all__ = ["run_scorecard", "render", "svg", "table_rows", "summarize", "client_figures", "lane", "setting_of",
           "COLUMNS", "HA_CLIENTS", "CLUSTER_CLIENTS"]
