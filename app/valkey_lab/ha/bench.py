"""Benchmark of repeated Sentinel failovers: the lab's client and a stock redis-py client
with the same retry settings write side by side through the same SIGKILLs. Every run goes
through the one harness; every figure is computed from the run's history."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from valkey_lab.bench import stats
from valkey_lab.bench.stats import summary
from valkey_lab.bench.stock import StockHAClient, settings
from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.topology import sentinel_timeline
from valkey_lab.ha.lab import ClientResumed, HALab, NewMaster, Rejoined, open_lab
from valkey_lab.report import plot
from valkey_lab.util import now
from valkey_lab.runner.run import Heal, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.checkers.scenario import unavailable_s
from valkey_lab.ha.checks import switch_of
from valkey_lab.ha.topology import SENTINELS, SERVICE
from valkey_lab.workload.writer import Workload, Writer

LAB, LAB_WAIT, STOCK = "lab client", "lab client + WAIT 1", "stock client"
SOCKET_TIMEOUT_S = 0.5
DEFAULT_BASE_PORT = 6790


def clients(lab: HALab) -> dict:
    """Each client's settings: equal where both sides have the knob."""
    shared = settings(lab.policy, SOCKET_TIMEOUT_S)
    return {LAB: {"settings": shared, "adds": "follows +switch-master at once; unknown-outcome rule"},
            LAB_WAIT: {"settings": shared, "adds": "as the lab client, then WAIT 1 (300 ms)"},
            STOCK: {"settings": shared, "adds": "redis-py Sentinel.master_for + tenacity, nothing else"}}


def failover_run(lab: HALab, index: int):
    """One SIGKILL of the master under the three clients; the old master rejoins after."""
    stock = StockHAClient([lab.backend.address(s) for s in SENTINELS], SERVICE, lab.password, lab.policy,
                          SOCKET_TIMEOUT_S)
    name = f"ha-bench-{index + 1}"
    with lab.recorder.running(name):
        lanes = [lab.writer(LAB, replicas=0), lab.writer(LAB_WAIT, replicas=1),
                 Writer(lab.recorder, STOCK, lambda k, v: stock.set(k, v), lab.key(name, "stock"), pace=0.005)]
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers(), schedule=[
            Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=5, lanes=(LAB, LAB_WAIT, STOCK)),
            StopWorkload(), Heal(), Rejoined()])
    finally:
        stock.close()


def measure(h: RunView) -> dict:
    """One run's figures, from its history alone."""
    t = h.t_fault()
    switch = switch_of(h, t, away_from=tuple(h.victims()))
    switch_t = switch["time"] if switch else None
    out = {"old": (h.victims() or [None])[0], "new": switch and switch["new"],
           "switch_s": None if switch_t is None else round(switch_t - t, 4), "clients": {}}
    for lane in (LAB, LAB_WAIT, STOCK):
        ops = h.lane(lane)
        after = [op for op in ops if switch_t is not None and op.t_invoke >= switch_t]
        first = availability.first_ok_after(after, switch_t) if switch_t is not None else None
        out["clients"][lane] = {
            "unavailable_s": unavailable_s(h, t, lane),
            "lag_after_switch_s": availability.client_lag(switch_t, first.t_complete if first else None),
            "ops": len(ops), "not_ok": sum(not op.ok for op in ops),
            "loss": loss.write_loss(h.client_records((lane,)), lane=lane, min_replicated=1 if lane == LAB_WAIT else 0)}
    out["timeline"] = sentinel_timeline(h.records, t, since=t - 1)
    return out


def lanes_for_picture(h: RunView) -> dict:
    return stats.lanes_for_picture({lane: h.lane(lane) for lane in (LAB, LAB_WAIT, STOCK)}, h.t_fault())


def summarize(runs: list[dict], down_after_s: float) -> dict:
    per_client = {}
    for name in (LAB, LAB_WAIT, STOCK):
        s = summary(r["clients"][name]["unavailable_s"] for r in runs)
        per_client[name] = {
            **stats.per_run(runs, name, "unavailable_s"), **stats.per_run(runs, name, "lag_after_switch_s"),
            "unavailable_over_down_after_p50": None if s["p50"] is None else round(s["p50"] / down_after_s, 3),
            "acknowledged": sum(r["clients"][name]["loss"]["acknowledged"] for r in runs),
            "lost": sum(r["clients"][name]["loss"]["lost"] for r in runs),
            "lost_runs": [r["clients"][name]["loss"]["lost"] for r in runs]}
    return {"runs": len(runs), "down_after_s": down_after_s, "switch_s": summary(r["switch_s"] for r in runs),
            "switch_s_runs": [r["switch_s"] for r in runs], "clients": per_client}


__all__ = ["failover_run", "measure", "summarize", "clients", "lanes_for_picture", "LAB", "LAB_WAIT", "STOCK"]


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


def run_bench(args, console: Console, recorder, valkey: str = "?") -> dict:
    ready = ha_ready_times(args.base_port, 3, recorder)
    runs = []
    with ha_lab(args.base_port, recorder) as lab:
        recorder.meta(ha_settings=lab.settings())
        for i in range(args.runs):
            out = failover_run(lab, i)
            view = RunView(out.records, out.name, lab.settings())
            run = measure(view)
            runs.append(run)
            if i == 0 and args.svg_dir:
                Path(args.svg_dir).mkdir(parents=True, exist_ok=True)
                svg = plot.failover_svg(f"Sentinel failover: SIGKILL of {run['old']} (local, Valkey "
                                        f"{valkey})", lanes_for_picture(view), run["timeline"],
                                        t_min=-1.0)
                (Path(args.svg_dir) / "failover-ha.svg").write_text(svg)
            c = run["clients"]
            console.print(f"HA failover {i + 1}/{args.runs}: {run['old']} -> {run['new']}, switch {run['switch_s']}s, "
                          f"lab client back after {c[LAB]['unavailable_s']}s, stock client after "
                          f"{c[STOCK]['unavailable_s']}s")
            if out.error:
                console.print(f"[red]run {i + 1} did not finish: {out.error}[/]")
        down_after, client_settings = lab.settings()["down_after_s"], clients(lab)
    return {"ready_s": summary(ready), "ready_samples_s": ready, "clients": client_settings,
            "summary": summarize(runs, down_after),
            "runs": [{k: v for k, v in r.items() if k != "timeline"} for r in runs]}


def goals(report: dict) -> list[dict]:
    """The HA goals, each with its target and what this bench measured."""
    out = []
    ha = report.get("ha")
    if ha:
        s = ha["summary"]
        lab = s["clients"][LAB]
        out += [
            {"goal": "HA p50 unavailable_s <= down-after + 1.0 s", "target": s["down_after_s"] + 1.0,
             "measured": lab["unavailable_s"]["p50"]},
            {"goal": "HA client lag after +switch-master p95 <= 0.1 s", "target": 0.1,
             "measured": lab["lag_after_switch_s"]["p95"]},
            {"goal": "0 WAIT-acknowledged writes lost (HA crash failovers)", "target": 0,
             "measured": s["clients"][LAB_WAIT]["lost"]},
            {"goal": "HA ready <= 2 s (local)", "target": 2.0, "measured": ha["ready_s"]["p50"]},
        ]
    for g in out:
        g["met"] = g["measured"] is not None and g["measured"] <= g["target"]
    return out


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
