"""Benchmark of repeated Sentinel failovers: the lab's client (default and follow-the-promotion
modes) and a stock redis-py client with the same retry settings write side by side through
the same SIGKILLs. A 10 ms ROLE probe marks the moment the replica became writable. Every
run goes through the one harness; every figure is computed from the run's history.

``risk_bench``: the partition and manual-failover faults with both client modes side by side,
and what each lost."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from valkey_lab.bench import stats
from valkey_lab.bench.probe import RoleProbe, first_master
from valkey_lab.bench.stats import summary
from valkey_lab.bench.stock import StockHAClient, settings
from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.topology import sentinel_timeline
from valkey_lab.clients.ha import HAClient
from valkey_lab.ha.lab import ClientResumed, HALab, NewMaster, Rejoined, ReplicasHealthy, open_lab
from valkey_lab.report import plot
from valkey_lab.runner.lab import client_events
from valkey_lab.util import now
from valkey_lab.runner.run import Heal, Hold, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.checkers.scenario import unavailable_s
from valkey_lab.ha.checks import switch_of
from valkey_lab.ha.topology import SENTINELS, SERVERS, SERVICE
from valkey_lab.workload.writer import Workload, Writer

LAB, LAB_WAIT, STOCK = "lab client", "lab client + WAIT 1", "stock client"
LAB_FOLLOW = "lab client, follow promotion"
CLIENTS = (LAB, LAB_WAIT, LAB_FOLLOW, STOCK)
SOCKET_TIMEOUT_S = 0.5
DEFAULT_BASE_PORT = 6790
FOLLOW_INTERVAL_S = 0.02


def clients(lab: HALab) -> dict:
    """Each client's settings: equal where both sides have the knob."""
    shared = settings(lab.policy, SOCKET_TIMEOUT_S)
    return {LAB: {"settings": shared, "adds": "follows +switch-master at once; unknown-outcome rule"},
            LAB_WAIT: {"settings": shared, "adds": "as the lab client, then WAIT 1 (300 ms)"},
            LAB_FOLLOW: {"settings": {**shared, "follow_interval_s": FOLLOW_INTERVAL_S},
                         "adds": "as the lab client, and HAClient(follow_promotion=True): ROLE on the replica "
                                 "Sentinel selected every 20 ms, switches when it says master"},
            STOCK: {"settings": shared, "adds": "redis-py Sentinel.master_for + tenacity, nothing else"}}


def follow_client(lab: HALab, lane: str, follow: bool = True) -> HAClient:
    """The lab's HA client (lab.client's settings), in follow-the-promotion mode or not."""
    return HAClient([lab.backend.address(s) for s in SENTINELS], SERVICE, password=lab.password,
                    remap=lab.backend.remap, policy=lab.policy, socket_timeout=SOCKET_TIMEOUT_S,
                    follow_promotion=follow, follow_interval=FOLLOW_INTERVAL_S,
                    on_event=client_events(lab.recorder, lane))


def set_writer(lab: HALab, lane: str, client: HAClient, prefix: str) -> Writer:
    return Writer(lab.recorder, lane, lambda k, v: (client.call(lambda r: r.set(k, v), idempotent=True), None)[1],
                  lab.key(prefix, lane), pace=0.005)


def probe(lab: HALab) -> RoleProbe:
    """ROLE of every server every 10 ms: when the replica became writable."""
    return RoleProbe(lab.backend, lab.password, lab.recorder, nodes=lambda: SERVERS)


def failover_run(lab: HALab, index: int, name: Optional[str] = None):
    """One SIGKILL of the master under the four clients; the old master rejoins after. Run
    names must be unique within a history (``name``; default ha-bench-N)."""
    stock = StockHAClient([lab.backend.address(s) for s in SENTINELS], SERVICE, lab.password, lab.policy,
                          SOCKET_TIMEOUT_S, remap=lab.backend.remap if lab.backend.name == "external" else None)
    name = name or f"ha-bench-{index + 1}"
    follower = follow_client(lab, LAB_FOLLOW)
    with lab.recorder.running(name):
        lanes = [lab.writer(LAB, replicas=0), lab.writer(LAB_WAIT, replicas=1),
                 set_writer(lab, LAB_FOLLOW, follower, name),
                 Writer(lab.recorder, STOCK, lambda k, v: stock.set(k, v), lab.key(name, "stock"), pace=0.005)]
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [probe(lab)], schedule=[
            Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=5, lanes=CLIENTS),
            StopWorkload(), Heal(), Rejoined()])
    finally:
        stock.close()
        follower.close()


def measure(h: RunView) -> dict:
    """One run's figures, from its history alone."""
    t = h.t_fault()
    switch = switch_of(h, t, away_from=tuple(h.victims()))
    switch_t = switch["time"] if switch else None
    writable = first_master(h.records, t, exclude=h.victims())
    writable_t = writable[1] if writable else None
    out = {"old": (h.victims() or [None])[0], "new": switch and switch["new"],
           "switch_s": None if switch_t is None else round(switch_t - t, 4),
           "writable_s": None if writable_t is None else round(writable_t - t, 4), "clients": {}}
    for lane in CLIENTS:
        ops = h.lane(lane)
        if not ops:
            continue
        after = [op for op in ops if switch_t is not None and op.t_invoke >= switch_t]
        first = availability.first_ok_after(after, switch_t) if switch_t is not None else None
        gap = unavailable_s(h, t, lane)
        out["clients"][lane] = {
            "unavailable_s": gap,
            "lag_after_switch_s": availability.client_lag(switch_t, first.t_complete if first else None),
            "after_writable_s": availability.client_lag(out["writable_s"], gap),
            "back_before_switch": gap is not None and out["switch_s"] is not None and gap < out["switch_s"],
            "ops": len(ops), "not_ok": sum(not op.ok for op in ops),
            "loss": loss.write_loss(h.client_records((lane,)), lane=lane, min_replicated=1 if lane == LAB_WAIT else 0)}
    out["timeline"] = sentinel_timeline(h.records, t, since=t - 1)
    return out


def lanes_for_picture(h: RunView) -> dict:
    return stats.lanes_for_picture({lane: h.lane(lane) for lane in CLIENTS}, h.t_fault())


def summarize(runs: list[dict], down_after_s: float) -> dict:
    per_client = {}
    for name in CLIENTS:
        if not all(name in r["clients"] for r in runs):
            continue
        s = summary(r["clients"][name]["unavailable_s"] for r in runs)
        per_client[name] = {
            **stats.per_run(runs, name, "unavailable_s"), **stats.per_run(runs, name, "lag_after_switch_s"),
            **stats.per_run(runs, name, "after_writable_s"),
            "unavailable_over_down_after_p50": None if s["p50"] is None else round(s["p50"] / down_after_s, 3),
            "acknowledged": sum(r["clients"][name]["loss"]["acknowledged"] for r in runs),
            "lost": sum(r["clients"][name]["loss"]["lost"] for r in runs),
            "lost_runs": [r["clients"][name]["loss"]["lost"] for r in runs]}
    return {"runs": len(runs), "down_after_s": down_after_s, "switch_s": summary(r["switch_s"] for r in runs),
            "switch_s_runs": [r["switch_s"] for r in runs],
            "writable_s": summary(r.get("writable_s") for r in runs), "writable_s_runs": [r.get("writable_s") for r in runs],
            "clients": per_client}


__all__ = ["failover_run", "measure", "summarize", "clients", "lanes_for_picture", "LAB", "LAB_WAIT", "STOCK",
           "LAB_FOLLOW", "risk_bench", "risk_summary", "sweep_down_after", "sweep_dataset", "sweep_load", "scorecard"]


# Where the bench's labs run: local processes, or an external target (bench_cli --backend
# external --target FILE sets it; the failover bench only).
TARGET: Optional[str] = None


def ha_lab(base_port: int, recorder):
    return open_lab(argparse.Namespace(backend="external" if TARGET else "local", base_port=base_port,
                                       target=TARGET), recorder)


def ha_ready_times(base_port: int, times: int, recorder) -> list[float]:
    """Seconds from nothing to a ready topology (processes started, replicas linked, Sentinels agreeing)."""
    out = []
    for _ in range(times):
        start = now()
        with ha_lab(base_port, recorder):
            out.append(round(now() - start, 3))
    return out


def run_bench(args, console: Console, recorder, valkey: str = "?") -> dict:
    ready = ha_ready_times(args.base_port, getattr(args, "ready_samples", 3), recorder)
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
            console.print(f"HA failover {i + 1}/{args.runs}: {run['old']} -> {run['new']}, writable "
                          f"{run['writable_s']}s, switch {run['switch_s']}s; back after: lab {c[LAB]['unavailable_s']}s, "
                          f"follow {c[LAB_FOLLOW]['unavailable_s']}s, stock {c[STOCK]['unavailable_s']}s")
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
            {"goal": "HA follow-promotion mode p50 unavailable_s <= replica writable + 0.1 s", "target": 0.1,
             "measured": s["clients"].get(LAB_FOLLOW, {}).get("after_writable_s", {}).get("p50")},
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
        t = Table(title=f"HA: {s['runs']} SIGKILL failovers, down-after {s['down_after_s']}s, replica writable p50 "
                        f"{s.get('writable_s', {}).get('p50')}s, switch_s p50 {s['switch_s']['p50']} p95 "
                        f"{s['switch_s']['p95']}; ready p50 {ha['ready_s']['p50']}s", title_justify="left")
        for col in ("client", "unavailable p50", "p95", "÷ down-after", "after writable p50", "lag after switch p50",
                    "p95", "acknowledged", "lost"):
            t.add_column(col)
        for name, c in s["clients"].items():
            t.add_row(name, str(c["unavailable_s"]["p50"]), str(c["unavailable_s"]["p95"]),
                      str(c["unavailable_over_down_after_p50"]), str(c.get("after_writable_s", {}).get("p50")),
                      str(c["lag_after_switch_s"]["p50"]), str(c["lag_after_switch_s"]["p95"]),
                      str(c["acknowledged"]), str(c["lost"]))
        console.print(t)
    risk = report.get("ha_risk")
    if risk:
        t = Table(title=f"HA: what following the promotion risks ({risk['runs_per_fault']} runs per fault, both "
                        "modes writing side by side, plain SET)", title_justify="left")
        for col in ("fault", "mode", "unavailable p50", "acknowledged", "lost", "lost per run",
                    "ok writes between the promotion and +switch-master"):
            t.add_column(col)
        for fault, modes in risk["summary"].items():
            for mode, m in modes.items():
                t.add_row(fault, mode, str(m["unavailable_s"]["p50"]), str(m["acknowledged"]), str(m["lost"]),
                          str(m["lost_runs"]), str(m["ok_between_promotion_and_switch"]))
        console.print(t)


# -- what following the promotion risks: partition and manual failover, both modes ---------------
SAFE, FOLLOW = "safe (default)", "follow promotion"


def risk_run(lab: HALab, fault: str, index: int):
    """``fault`` ("partition" or "manual") with a default-mode and a follow-mode client writing
    plain SETs side by side (the schedules of ha/faults.py, without min-replicas or WAIT)."""
    name = f"ha-risk-{fault}-{index + 1}"
    safe, follower = follow_client(lab, SAFE, follow=False), follow_client(lab, FOLLOW)
    with lab.recorder.running(name):
        lanes = [set_writer(lab, SAFE, safe, name), set_writer(lab, FOLLOW, follower, name)]
    if fault == "partition":
        schedule = [Start(Fault("partition", "master")), NewMaster(), Hold(2.0), StopWorkload(), Heal(), Rejoined()]
    else:
        schedule = [ReplicasHealthy(), Start(Fault("failover", "master")), NewMaster(),
                    ClientResumed(count=10, lanes=(SAFE, FOLLOW)), StopWorkload(), Rejoined()]
    try:
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [probe(lab)], schedule=schedule)
    finally:
        safe.close()
        follower.close()


def risk_measure(h: RunView) -> dict:
    t = h.t_fault()
    victims = h.victims()
    switch = switch_of(h, t, away_from=tuple(victims))
    writable = first_master(h.records, t, exclude=victims)
    out = {"writable_s": None if writable is None else round(writable[1] - t, 4),
           "switch_s": None if switch is None else round(switch["time"] - t, 4), "modes": {}}
    for lane in (SAFE, FOLLOW):
        ops = h.lane(lane)
        old_after = [op for op in ops if op.ok and writable is not None and switch is not None
                     and writable[1] <= op.t_complete <= switch["time"] and op.t_invoke < switch["time"]]
        out["modes"][lane] = {"unavailable_s": unavailable_s(h, t, lane), "ops": len(ops),
                              "loss": loss.write_loss(h.client_records((lane,)), lane=lane),
                              "ok_between_writable_and_switch": len(old_after)}
    return out


def risk_summary(runs: dict[str, list[dict]]) -> dict:
    out = {}
    for fault, fruns in runs.items():
        out[fault] = {}
        for mode in (SAFE, FOLLOW):
            ms = [r["modes"][mode] for r in fruns]
            out[fault][mode] = {"unavailable_s": summary(m["unavailable_s"] for m in ms),
                                "unavailable_s_runs": [m["unavailable_s"] for m in ms],
                                "acknowledged": sum(m["loss"]["acknowledged"] for m in ms),
                                "lost": sum(m["loss"]["lost"] for m in ms),
                                "lost_runs": [m["loss"]["lost"] for m in ms],
                                "ok_between_promotion_and_switch": sum(m["ok_between_writable_and_switch"] for m in ms)}
    return out


def risk_bench(args, console: Console, recorder, faults=("partition", "manual")) -> dict:
    runs: dict[str, list[dict]] = {f: [] for f in faults}
    n = getattr(args, "risk_runs", None) or args.runs
    with ha_lab(args.base_port, recorder) as lab:
        for fault in faults:
            for i in range(n):
                out = risk_run(lab, fault, i)
                got = risk_measure(RunView(out.records, out.name, lab.settings()))
                runs[fault].append(got)
                m = got["modes"]
                console.print(f"HA {fault} {i + 1}/{n}: writable {got['writable_s']}s, switch "
                              f"{got['switch_s']}s; lost: safe {m[SAFE]['loss']['lost']} of "
                              f"{m[SAFE]['loss']['acknowledged']}, follow {m[FOLLOW]['loss']['lost']} of "
                              f"{m[FOLLOW]['loss']['acknowledged']}")
                if out.error:
                    console.print(f"[red]{out.name} did not finish: {out.error}[/]")
    return {"runs_per_fault": n, "modes": {SAFE: "HAClient() (waits for +switch-master)",
                                                   FOLLOW: "HAClient(follow_promotion=True)"},
            "summary": risk_summary(runs), "runs": runs}


# -- the sweep's HA parts (bench/sweep.py draws and fits them) ------------------------------------
def _forget_timing() -> None:
    from valkey_lab.ha import topology
    getattr(topology.sentinel_timing, "cache_clear", lambda: None)()  # when it is cached


def sweep_down_after(args, console: Console, recorder, value_ms: int) -> list[dict]:
    """The bench's SIGKILL run ``args.runs`` times on a lab with down-after-milliseconds ``value_ms``."""
    from valkey_lab.bench.sweep import settings as with_settings
    out = []
    with with_settings(f"ha/sentinel.conf:down-after-milliseconds={value_ms}", forget=_forget_timing):
        with ha_lab(args.base_port, recorder) as lab:
            for i in range(args.runs):
                o = failover_run(lab, i, name=f"sweep-down-after-{value_ms}-{i + 1}")
                m = measure(RunView(o.records, o.name, lab.settings()))
                c = m["clients"]
                row = {"setting_ms": value_ms, "switch_s": m["switch_s"], "writable_s": m["writable_s"],
                       "lab": c[LAB]["unavailable_s"], "follow": c[LAB_FOLLOW]["unavailable_s"],
                       "stock": c[STOCK]["unavailable_s"], "error": o.error}
                out.append(row)
                console.print(f"sweep down-after {value_ms} ms, run {i + 1}/{args.runs}: {row}")
    return out


def fill(lab: HALab, mb: int, value_kb: int = 1024) -> dict:
    """``mb`` MB in 1 MB values through the master, in pipelines, WAIT 2 after each 32 MB (so the
    replicas' output buffers never reach their limit)."""
    import redis
    host, port = lab.backend.address(lab.master())
    master = redis.Redis(host, port, password=lab.password, socket_timeout=120, socket_connect_timeout=5)
    value = b"x" * (value_kb * 1024)
    t = now()
    n = mb * 1024 // value_kb
    for start in range(0, n, 32):
        pipe = master.pipeline(transaction=False)
        for i in range(start, min(n, start + 32)):
            pipe.set(f"fill:{i}", value)
        pipe.execute()
        master.execute_command("WAIT", 2, 30000)
    info = master.info("memory")
    master.close()
    return {"keys": n, "fill_s": round(now() - t, 2), "used_memory_mb": round(info["used_memory"] / 2 ** 20)}


def sweep_dataset(args, console: Console, recorder, sizes) -> list[dict]:
    """Per size: fill the master, SIGKILL it, restart it empty: the other replica's link-down
    time and the rejoined node's full resync (from the 100 ms role samples)."""
    from valkey_lab.bench.sweep import available_gb, link_times
    out = []
    for mb in sizes:
        free_gb = available_gb()
        if free_gb is not None and free_gb < 4 * mb / 1024 + 4:  # three copies, the sync, and room for others
            out.append({"dataset_mb": mb, "skipped": f"only {free_gb:.1f} GB available"})
            console.print(f"sweep dataset {mb} MB skipped: only {free_gb:.1f} GB of memory available")
            continue
        with ha_lab(args.base_port, recorder) as lab:
            filled = fill(lab, mb)
            o = run(lab, f"sweep-dataset-{mb}mb", observers=lab.observers(), schedule=[
                Start(Fault("kill", "master")), NewMaster(), Heal(), Rejoined(timeout=240)])
            h = RunView(o.records, o.name, lab.settings())
            t, heal = h.t_fault(), h.heal()
            switch = switch_of(h, t, away_from=tuple(h.victims()))
            row = {"dataset_mb": mb, **filled, "switch_s": None if switch is None else round(switch["time"] - t, 3),
                   **link_times(h, t, heal["time"] if heal else None, h.victims()[0], switch and switch["new"],
                                tuple(SERVERS)),
                   "memory_available_gb_before": round(free_gb, 1) if free_gb else None, "error": o.error}
            out.append(row)
            console.print(f"sweep dataset {mb} MB: {row}")
    return out


def sweep_load(args, console: Console, recorder, rates) -> list[dict]:
    """Per rate: a pipelined loader (bench/sweep.Loader) beside one lab-client lane, SIGKILL of
    the master: the switch, when each was back, what the loader lost."""
    from valkey_lab.bench.sweep import Loader, count_missing
    out = []
    with ha_lab(args.base_port, recorder) as lab:
        for rate in rates:
            for i in range(args.runs):
                name = f"sweep-load-{rate}-{i + 1}"
                lane = f"lab client @ {rate}/s"
                client = follow_client(lab, f"loader-{rate}", follow=False)
                writer_client = follow_client(lab, lane, follow=False)
                with lab.recorder.running(name):
                    writer = set_writer(lab, lane, writer_client, name)
                loader = Loader(client, lab.key(name, "loader"), rate).start()
                try:
                    o = run(lab, name, workload=Workload([writer]), observers=lab.observers() + [probe(lab)], schedule=[
                        Hold(1.0), Start(Fault("kill", "master")), NewMaster(), ClientResumed(count=5), Hold(1.0),
                        StopWorkload(), Heal(), Rejoined()])
                finally:
                    loader.stop()
                h = RunView(o.records, o.name, lab.settings())
                m = measure(h)
                t = h.t_fault()
                t_mono = t + lab.recorder.t0  # the loader keeps monotonic readings
                before = [b for b in loader.batches if b[2] and b[1] < t_mono]
                span = (before[-1][1] - before[0][0]) if len(before) > 1 else None
                first_ok = next((b[1] for b in loader.batches if b[2] and b[0] >= t_mono), None)
                lost = count_missing(client, loader.acked)
                client.close()
                writer_client.close()
                lane_loss = loss.write_loss(h.client_records((lane,)), lane=lane)
                row = {"rate": rate, "achieved_per_s": round(len(before) * loader.per_batch / span) if span else None,
                       "switch_s": m["switch_s"], "writable_s": m["writable_s"], "lab": unavailable_s(h, t, lane),
                       "loader_unavailable_s": None if first_ok is None else round(first_ok - t_mono, 3),
                       "loader_acknowledged": len(loader.acked), "loader_lost": lost, "loader_failed": loader.failed,
                       "lane_acknowledged": lane_loss["acknowledged"], "lane_lost": lane_loss["lost"], "error": o.error}
                lab.recorder.harness("loader", row)
                out.append(row)
                console.print(f"sweep load {rate}/s, run {i + 1}/{args.runs}: {row}")
    return out


# -- the scorecard's HA part (bench/scorecard.py tabulates and draws it) ------------------------------
def scorecard_factories(lab: HALab) -> dict:
    from valkey_lab.bench import adapters
    from valkey_lab.bench.scorecard import lane
    sentinels = [lab.backend.address(s) for s in SENTINELS]

    def lab_client(follow: bool, name: str):
        c = follow_client(lab, lane(name), follow=follow)
        return adapters._Closing(lambda k, v: c.call(lambda r: r.set(k, v), idempotent=True), [c.close])
    return {
        "redis-py defaults": lambda: adapters.redis_py_sentinel(sentinels, SERVICE, lab.password, lab.policy, False),
        "redis-py tuned": lambda: adapters.redis_py_sentinel(sentinels, SERVICE, lab.password, lab.policy, True),
        "valkey-py tuned": lambda: adapters.valkey_py_sentinel(sentinels, SERVICE, lab.password, lab.policy),
        "lab HAClient": lambda: lab_client(False, "lab HAClient"),
        "lab HAClient follow": lambda: lab_client(True, "lab HAClient follow"),
    }


def scorecard_run(lab: HALab, index: int, names: tuple):
    from valkey_lab.bench.scorecard import lane
    name = f"scorecard-ha-{index + 1}"
    made = {n: f() for n, f in scorecard_factories(lab).items() if n in names}
    with lab.recorder.running(name):
        lanes = [Writer(lab.recorder, lane(n), lambda k, v, c=c: (c.set(k, v), None)[1], lab.key(name, str(i)),
                        pace=0.01) for i, (n, c) in enumerate(made.items())]
    try:
        # Hold: the clients without a retry (redis-py defaults) come back on their own
        return run(lab, name, workload=Workload(lanes), observers=lab.observers() + [probe(lab)], schedule=[
            Start(Fault("kill", "master")), NewMaster(), Hold(3.0), StopWorkload(), Heal(), Rejoined()])
    finally:
        for c in made.values():
            c.close()


def scorecard(args, console: Console, recorder) -> dict:
    from valkey_lab.bench.scorecard import HA_CLIENTS, client_figures, lane, setting_of
    from valkey_lab.bench.scorecard import summarize as sc_summarize
    runs = []
    with ha_lab(args.base_port, recorder) as lab:
        for i in range(args.runs):
            o = scorecard_run(lab, i, HA_CLIENTS)
            h = RunView(o.records, o.name, lab.settings())
            t = h.t_fault()
            switch = switch_of(h, t, away_from=tuple(h.victims()))
            writable = first_master(h.records, t, exclude=h.victims())
            m = {"switch_s": None if switch is None else round(switch["time"] - t, 4),
                 "writable_s": None if writable is None else round(writable[1] - t, 4),
                 "clients": {n: client_figures(h, t, lane(n), switch and switch["time"]) for n in HA_CLIENTS},
                 "error": o.error}
            runs.append(m)
            console.print(f"scorecard HA {i + 1}/{args.runs}: switch {m['switch_s']}s; " + ", ".join(
                f"{n} {c['unavailable_s']}" for n, c in m["clients"].items()))
        policy = lab.policy
    out = {"fault": "SIGKILL of the master", "server_switch": "+switch-master (first Sentinel)",
           "settings": {n: setting_of(n, policy) for n in HA_CLIENTS},
           "summary": sc_summarize(runs, HA_CLIENTS, "switch_s"), "runs": runs}
    out["summary"]["server"]["writable_s"] = summary(r["writable_s"] for r in runs)
    return out
