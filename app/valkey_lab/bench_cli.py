"""Repeated failovers with numbers: p50/p95 of switch and unavailability, client lag,
write loss with and without WAIT, time to ready; the lab's clients beside stock ones.

    python app/bench.py                        # 5 failovers per topology, local processes
    python app/bench.py --runs 10 --json reports/bench.json --svg-dir reports
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Optional


import redis
from rich.console import Console
from rich.table import Table

from valkey_lab.cluster import bench as bench_cluster
from valkey_lab.ha import bench as bench_ha
from valkey_lab.bench import linearizability
from valkey_lab.runner.cli import OneLineParser, default_console
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.util import LabError, WaitTimeout, now, prog


def machine() -> dict:
    from valkey_lab.backends.local import BIN_ENV, server_version
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "redis_py": redis.__version__, "valkey": server_version(),
            "valkey_bin": os.environ.get(BIN_ENV) or "PATH (Debian's package)",
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
            "date": time.strftime("%Y-%m-%d"), "time_utc": time.strftime("%H:%M:%S", time.gmtime())}


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (the bench is timing-sensitive: reported at its
    start and end)."""
    return [round(x, 2) for x in os.getloadavg()]


def goals(report: dict) -> list[dict]:
    return bench_ha.goals(report) + bench_cluster.goals(report)


def render(console: Console, report: dict) -> None:
    if report.get("ha") or report.get("ha_risk"):
        bench_ha.render(console, report)
    bench_cluster.render(console, report)
    linearizability.render(console, report.get("linearizability"))
    t = Table(title="Goals", title_justify="left")
    for col in ("goal", "target", "measured", "met"):
        t.add_column(col)
    for g in report["goals"]:
        t.add_row(g["goal"], str(g["target"]), str(g["measured"]), "[green]yes[/]" if g["met"] else "[red]no[/]")
    console.print(t)
    if report.get("load_average_start"):
        console.print(f"load average (1, 5, 15 min) at the start {report['load_average_start']}, at the end "
                      f"{report.get('load_average_end')}, on {report['machine']['cpus']} CPUs")


def wire(args, console: Console, recorder) -> dict:
    """The topologies' own runs for --sweep, --scorecard and --promotion (bench/ sits below ha/
    and cluster/, so it is handed them)."""
    from valkey_lab.cluster.topology import node_timeout_ms
    return {"sweep": {"down-after": lambda v: bench_ha.sweep_down_after(args, console, recorder, v),
                      "node-timeout": lambda v: bench_cluster.sweep_cluster(args, console, recorder, v),
                      "ping-interval": lambda v: bench_cluster.sweep_cluster(args, console, recorder, 3000, ping_ms=v),
                      "dataset": lambda sizes: bench_ha.sweep_dataset(args, console, recorder, sizes),
                      "load": lambda rates: bench_ha.sweep_load(args, console, recorder, rates)},
            "scorecard": {"ha": lambda: bench_ha.scorecard(args, console, recorder),
                          "cluster": lambda: bench_cluster.scorecard(args, console, recorder)},
            "promotion": (lambda bin_dir, loaded: bench_cluster.promotion_version(args, console, recorder, bin_dir,
                                                                                  loaded), node_timeout_ms())}


def external_targets(args) -> Optional[str]:
    """--backend external: each benched topology's target file, handed to ha/ and cluster/
    bench; only the failover bench (the sweeps change settings with CONFIG SET, the promotion
    timeline reads node logs, --risk needs a partition)."""
    bench_ha.TARGET = bench_cluster.TARGET = None
    if args.backend != "external":
        return "--target is for --backend external" if args.target else None
    if args.sweep or args.scorecard or args.promotion or args.risk:
        return "--backend external runs the failover bench only (not --sweep, --scorecard, --promotion or --risk)"
    import tomllib
    found = {}
    for path in args.target:
        try:
            found[tomllib.loads(Path(path).read_text()).get("topology")] = path
        except (OSError, ValueError) as exc:
            return f"cannot read the target file {path}: {exc}"
    wanted = ["ha", "cluster"] if args.topology == "both" else [args.topology]
    missing = [t for t in wanted if t not in found]
    if missing:
        return (f"--backend external needs a --target FILE.toml with topology = \"{missing[0]}\" "
                f"(or --topology {'cluster' if missing[0] == 'ha' else 'ha'})")
    bench_ha.TARGET, bench_cluster.TARGET = found.get("ha"), found.get("cluster")
    return None


PICTURES = {"ha": "failover-ha.svg", "cluster": "failover-cluster.svg", "linearizability": "linearizability-curve.svg"}


def pictures(report: dict, svg_dir) -> dict:
    """name -> SVG text of the pictures this run drew (a file left by an earlier run is not shown)."""
    if not svg_dir:
        return {}
    found = {name: Path(svg_dir) / name for part, name in PICTURES.items() if part in report}
    return {name: path.read_text() for name, path in found.items() if path.exists()}


def main(argv=None) -> int:
    p = OneLineParser(prog=prog("bench.py", "valkey-lab-bench"), description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="failovers per topology (default 5)")
    p.add_argument("--topology", choices=["ha", "cluster", "both"], default="both")
    p.add_argument("--json", metavar="FILE", default="reports/bench.json")
    p.add_argument("--svg-dir", metavar="DIR", default="reports", help="where the failover pictures go")
    p.add_argument("--base-port", type=int, default=bench_ha.DEFAULT_BASE_PORT)
    p.add_argument("--history", metavar="DIR", help="save every run's history (DIR/history.jsonl)")
    p.add_argument("--html", metavar="FILE", help="write a summary page to FILE and one page per bench run beside it")
    p.add_argument("--cluster-base-port", type=int, default=bench_cluster.DEFAULT_BASE_PORT,
                   help=f"first port of the local cluster (default {bench_cluster.DEFAULT_BASE_PORT}..+5)")
    p.add_argument("--valkey-bin", metavar="DIR", help="run the valkey-server (and valkey-sentinel) in DIR instead of "
                   "those on PATH")
    p.add_argument("--ready-samples", type=int, default=3, metavar="N",
                   help="labs built from nothing to time readiness, per topology (default 3; 0 skips)")
    p.add_argument("--skip-curve", action="store_true", help="leave out the linearizability checker's cost curve "
                   "(generated histories, no server; 1-2 min of CPU)")
    p.add_argument("--risk", action="store_true", help="also run the HA partition and manual-failover faults with "
                   "the default and the follow-promotion client side by side (--risk-runs each)")
    p.add_argument("--risk-runs", type=int, default=None, metavar="N", help="runs per fault with --risk (default --runs)")
    p.add_argument("--sweep", action="store_true", help="how the cost grows with the settings, the data set and the "
                   "write load (valkey_lab.bench.sweep; JSON, table, SVG)")
    p.add_argument("--only", metavar="PART", action="append", help="with --sweep: only these parts (down-after, "
                   "node-timeout, ping-interval, dataset, load); with --scorecard: ha or cluster")
    p.add_argument("--scorecard", action="store_true", help="the client scorecard (valkey_lab.bench.scorecard)")
    p.add_argument("--promotion", action="store_true", help="why cluster promotion takes what it takes: kills with "
                   "and without the bench's load, the nodes' own log timeline (valkey_lab.bench.promotion)")
    p.add_argument("--compare-bin", metavar="DIR", action="append", default=[],
                   help="with --promotion: also measure the valkey-server build in DIR (repeatable)")
    p.add_argument("--backend", choices=["local", "external"], default="local",
                   help="local processes (default), or the deployments --target names (the failover bench only)")
    p.add_argument("--target", metavar="FILE.toml", action="append", default=[],
                   help="with --backend external: a target file (one per topology benched: ha and/or cluster)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    problem = external_targets(args)
    if problem:
        sys.stderr.write(f"bench: {problem}\n")
        return 2
    if args.valkey_bin:
        os.environ["VALKEY_LAB_BIN"] = str(Path(args.valkey_bin).resolve())  # read by backends.local
    # Every client of a run lives in this one process: a woken thread waits for the GIL at most
    # ~1 ms instead of the default 5 ms (the same for every client; an application has its own process).
    sys.setswitchinterval(0.001)
    if args.sweep or args.scorecard or args.promotion:
        from valkey_lab.bench import modes
        return modes.main(args, default_console(), machine, load_average, lambda c, r: wire(args, c, r))
    console = default_console()
    report = {"suite": "bench", "backend": args.backend, "machine": machine(), "runs_per_topology": args.runs,
              "load_average_start": load_average()}
    started = now()
    recorder = RunRecorder()
    recorder.meta(suite="bench", backend=args.backend, machine=report["machine"])
    try:
        if args.topology in ("ha", "both"):
            report["ha"] = bench_ha.run_bench(args, console, recorder, machine()["valkey"])
        if args.topology in ("cluster", "both"):
            report["cluster"] = bench_cluster.run_bench(args, console, recorder, machine()["valkey"])
        if args.risk:
            report["ha_risk"] = bench_ha.risk_bench(args, console, recorder)
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
    # The linearizability checker's cost curve on generated histories (no server needed).
    if not args.skip_curve:
        report["linearizability"] = linearizability.report(svg_dir=args.svg_dir)["curve"]
    report["duration_s"] = round(now() - started, 1)
    report["load_average_end"] = load_average()
    report["goals"] = goals(report)
    render(console, report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"report written to {args.json}" + (f", pictures in {args.svg_dir}/" if args.svg_dir else ""))
    if args.html:
        from valkey_lab.report.html import bench_pages
        svgs = pictures(report, args.svg_dir)
        out = Path(args.html)
        out.parent.mkdir(parents=True, exist_ok=True)
        for name, text in bench_pages(json.loads(json.dumps(recorder.records(), default=str)), report, svgs,
                                      out.name).items():
            (out.parent / name).write_text(text, encoding="utf-8")
        console.print(f"pages written to {args.html} and beside it, one per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
