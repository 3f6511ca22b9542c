#!/usr/bin/env python3
"""Repeated failovers with numbers: p50/p95 of switch and unavailability, client lag,
write loss with and without WAIT, time to ready; the lab's clients beside stock ones.

    python app/bench.py                        # 5 failovers per topology, local processes
    python app/bench.py --runs 10 --json reports/bench.json --svg-dir reports
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


import redis
from rich.console import Console
from rich.table import Table

from valkey_lab.cluster import bench as bench_cluster
from valkey_lab.ha import bench as bench_ha
from valkey_lab.bench import linearizability
from valkey_lab.bench.stats import summary
from valkey_lab.runner.cli import OneLineParser, default_console
from valkey_lab.ha.lab import open_lab
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.history.view import RunView
from valkey_lab.report import plot
from valkey_lab.util import LabError, WaitTimeout, now

HA_BASE = 6790


def machine() -> dict:
    valkey = os.popen("valkey-server --version").read().split()
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "redis_py": redis.__version__, "valkey": next((w[2:] for w in valkey if w.startswith("v=")), "?"),
            "date": time.strftime("%Y-%m-%d")}


def ha_lab(base_port: int, recorder):
    return open_lab(argparse.Namespace(backend="local", base_port=base_port), recorder)


def ha_ready_times(base_port: int, times: int, recorder) -> list[float]:
    """Seconds from nothing to a ready topology (processes started, replicas linked, Sentinels agreeing)."""
    out = []
    for _ in range(times):
        start = now()
        with ha_lab(base_port, recorder):
            out.append(round(now() - start, 3))
    return out


def run_ha_bench(args, console: Console, recorder) -> dict:
    ready = ha_ready_times(args.base_port, 3, recorder)
    runs = []
    with ha_lab(args.base_port, recorder) as lab:
        recorder.meta(ha_settings=lab.settings())
        for i in range(args.runs):
            out = bench_ha.failover_run(lab, i)
            view = RunView(out.records, out.name, lab.settings())
            run = bench_ha.measure(view)
            runs.append(run)
            if i == 0 and args.svg_dir:
                Path(args.svg_dir).mkdir(parents=True, exist_ok=True)
                svg = plot.failover_svg(f"Sentinel failover: SIGKILL of {run['old']} (local, Valkey "
                                        f"{machine()['valkey']})", bench_ha.lanes_for_picture(view), run["timeline"],
                                        t_min=-1.0)
                (Path(args.svg_dir) / "failover-ha.svg").write_text(svg)
            c = run["clients"]
            console.print(f"HA failover {i + 1}/{args.runs}: {run['old']} -> {run['new']}, switch {run['switch_s']}s, "
                          f"lab client back after {c[bench_ha.LAB]['unavailable_s']}s, stock client after "
                          f"{c[bench_ha.STOCK]['unavailable_s']}s")
            if out.error:
                console.print(f"[red]run {i + 1} did not finish: {out.error}[/]")
        down_after, client_settings = lab.settings()["down_after_s"], bench_ha.clients(lab)
    return {"ready_s": summary(ready), "ready_samples_s": ready, "clients": client_settings,
            "summary": bench_ha.summarize(runs, down_after),
            "runs": [{k: v for k, v in r.items() if k != "timeline"} for r in runs]}


def goals(report: dict) -> list[dict]:
    out = []
    ha = report.get("ha")
    if ha:
        s = ha["summary"]
        lab = s["clients"][bench_ha.LAB]
        out += [
            {"goal": "HA p50 unavailable_s <= down-after + 1.0 s", "target": s["down_after_s"] + 1.0,
             "measured": lab["unavailable_s"]["p50"]},
            {"goal": "HA client lag after +switch-master p95 <= 0.1 s", "target": 0.1,
             "measured": lab["lag_after_switch_s"]["p95"]},
            {"goal": "0 WAIT-acknowledged writes lost (HA crash failovers)", "target": 0,
             "measured": s["clients"][bench_ha.LAB_WAIT]["lost"]},
            {"goal": "HA ready <= 2 s (local)", "target": 2.0, "measured": ha["ready_s"]["p50"]},
        ]
    for g in out:
        g["met"] = g["measured"] is not None and g["measured"] <= g["target"]
    return out + bench_cluster.goals(report)


def render(console: Console, report: dict) -> None:
    ha = report.get("ha")
    if ha:
        s = ha["summary"]
        t = Table(title=f"HA: {s['runs']} SIGKILL failovers, down-after {s['down_after_s']}s, "
                        f"switch_s p50 {s['switch_s']['p50']} p95 {s['switch_s']['p95']}; ready p50 {ha['ready_s']['p50']}s",
                  title_justify="left")
        for col in ("client", "unavailable p50", "p95", "÷ down-after", "lag after switch p50", "p95",
                    "acknowledged", "lost"):
            t.add_column(col)
        for name, c in s["clients"].items():
            t.add_row(name, str(c["unavailable_s"]["p50"]), str(c["unavailable_s"]["p95"]),
                      str(c["unavailable_over_down_after_p50"]), str(c["lag_after_switch_s"]["p50"]),
                      str(c["lag_after_switch_s"]["p95"]), str(c["acknowledged"]), str(c["lost"]))
        console.print(t)
    bench_cluster.render(console, report)
    t = Table(title="Linearizability checker on generated register histories (10 processes, 5 % info)",
              title_justify="left")
    for col in ("ops", "info ops", "verdict", "seconds"):
        t.add_column(col)
    for row in report.get("linearizability", []):
        t.add_row(str(row.get("ops")), str(row.get("info_ops")), str(row.get("valid")), str(row.get("seconds")))
    console.print(t)
    t = Table(title="Goals", title_justify="left")
    for col in ("goal", "target", "measured", "met"):
        t.add_column(col)
    for g in report["goals"]:
        t.add_row(g["goal"], str(g["target"]), str(g["measured"]), "[green]yes[/]" if g["met"] else "[red]no[/]")
    console.print(t)


def main(argv=None) -> int:
    p = OneLineParser(prog="bench.py", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="failovers per topology (default 5)")
    p.add_argument("--topology", choices=["ha", "cluster", "both"], default="both")
    p.add_argument("--json", metavar="FILE", default="reports/bench.json")
    p.add_argument("--svg-dir", metavar="DIR", default="reports", help="where the failover pictures go")
    p.add_argument("--base-port", type=int, default=HA_BASE)
    p.add_argument("--history", metavar="DIR", help="save every run's history (DIR/history.jsonl)")
    p.add_argument("--cluster-base-port", type=int, default=bench_cluster.DEFAULT_BASE_PORT,
                   help=f"first port of the local cluster (default {bench_cluster.DEFAULT_BASE_PORT}..+5)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    console = default_console()
    report = {"suite": "bench", "backend": "local", "machine": machine(), "runs_per_topology": args.runs}
    started = now()
    recorder = RunRecorder()
    recorder.meta(suite="bench", backend="local", machine=report["machine"])
    try:
        if args.topology in ("ha", "both"):
            report["ha"] = run_ha_bench(args, console, recorder)
        if args.topology in ("cluster", "both"):
            report["cluster"] = bench_cluster.run_bench(args, console, recorder, machine()["valkey"])
    except (LabError, WaitTimeout) as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted; everything the run started has been stopped\n")
        return 130
    finally:
        if args.history:
            Path(args.history).mkdir(parents=True, exist_ok=True)
            recorder.save(Path(args.history) / "history.jsonl")
    # The linearizability checker's speed on generated register histories (no server needed).
    report["linearizability"] = linearizability.measure(sizes=(1000, 5000, 20000), processes=10, info_rate=0.05)
    report["duration_s"] = round(now() - started, 1)
    report["goals"] = goals(report)
    render(console, report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"report written to {args.json}" + (f", pictures in {args.svg_dir}/" if args.svg_dir else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
