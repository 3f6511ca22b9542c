"""How the cost of a failover grows (``python app/bench.py --sweep``): each part changes one
thing, builds a fresh local lab for each value (settings through $VALKEY_LAB_SET, see
topology/config.py) and repeats the bench's own SIGKILL run ``runs`` times through the one
harness; every figure comes from the runs' histories.

- ``down-after``: Sentinel's down-after-milliseconds {1000, 2000, 4000};
- ``node-timeout``: cluster-node-timeout {1000, 3000, 6000};
- ``ping-interval``: the hidden cluster-ping-interval (default node-timeout/2) {default, 500, 100}
  at node-timeout 3000;
- ``dataset``: 10 MB, 100 MB, 1 GB in the HA master: the rejoined old master's full resync and
  the other replica's master_link_status down time;
- ``load``: a background writer at 100, 1,000, 10,000 SET/s (pipelined, through the lab's HA
  client): failover time and what it lost.

Each of the first three is fitted with a line (unavailable ~ a x setting + b) and drawn with
the floor the servers' source allows (HA: the replica is writable ~0.2 s after down-after;
cluster: node-timeout + the 0.5 s minimum election delay).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from rich.console import Console
from rich.table import Table

from valkey_lab.bench.charts import fit_line, xy_chart
from valkey_lab.bench.stats import summary
from valkey_lab.history.view import RunView
from valkey_lab.topology.config import OVERRIDES_ENV
from valkey_lab.util import now

PARTS = ("down-after", "node-timeout", "ping-interval", "dataset", "load")
DOWN_AFTER_MS = (1000, 2000, 4000)
NODE_TIMEOUT_MS = (1000, 3000, 6000)
PING_INTERVAL_MS = (None, 500, 100)
DATASET_MB = (10, 100, 1000)
LOAD_OPS = (100, 1000, 10000)
HA_FLOOR_S = 0.2  # down-after + SDOWN tick + ODOWN/election + REPLICAOF NO ONE (sentinel.c, 53-100 ms ticks)
CLUSTER_FLOOR_S = 0.5  # node-timeout (a ping sent at the kill) + FAIL at once + the 500 ms minimum election delay


@contextmanager
def settings(*items: str, forget=lambda: None) -> Iterator[None]:
    """$VALKEY_LAB_SET for the labs built inside; ``forget()`` drops what a lab read of the old
    settings (Sentinel's timing, when it is cached), on the way in and out."""
    old = os.environ.get(OVERRIDES_ENV)
    os.environ[OVERRIDES_ENV] = ";".join(items)
    forget()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(OVERRIDES_ENV, None)
        else:
            os.environ[OVERRIDES_ENV] = old
        forget()


# -- the setting sweeps: the bench's own runs at each value ------------------------------------------
def curve(points: list[dict], floor_s: float, server_key: str) -> dict:
    """Per setting: percentiles of the lab client's unavailability (and the server's own event);
    the fitted line over every run; the floor at each setting."""
    values = sorted({p["setting_ms"] for p in points})
    rows = []
    for v in values:
        ps = [p for p in points if p["setting_ms"] == v]
        rows.append({"setting_ms": v, "unavailable_s": summary(p["lab"] for p in ps),
                     "unavailable_s_runs": [p["lab"] for p in ps],
                     "stock_unavailable_s": summary(p.get("stock") for p in ps),
                     "follow_unavailable_s": summary(p.get("follow") for p in ps) if "follow" in ps[0] else None,
                     server_key: summary(p.get(server_key) for p in ps),
                     "floor_s": round(v / 1000 + floor_s, 3)})
    return {"rows": rows, "fit_unavailable": fit_line((p["setting_ms"] / 1000, p["lab"]) for p in points),
            "fit_server": fit_line((p["setting_ms"] / 1000, p.get(server_key)) for p in points),
            "floor": f"setting + {floor_s} s", "points": points}


def curve_svg(title: str, xlabel: str, c: dict, server_key: str, server_name: str) -> str:
    pts = c["points"]
    series = [{"name": "lab client (each run)", "points": [(p["setting_ms"] / 1000, p["lab"]) for p in pts]},
              {"name": f"{server_name} (each run)", "points": [(p["setting_ms"] / 1000, p.get(server_key)) for p in pts]},
              {"name": "lab client p50", "kind": "line",
               "points": [(r["setting_ms"] / 1000, r["unavailable_s"]["p50"]) for r in c["rows"]]},
              {"name": "lab client p95", "kind": "dashed",
               "points": [(r["setting_ms"] / 1000, r["unavailable_s"]["p95"]) for r in c["rows"]]}]
    if any(r.get("follow_unavailable_s") for r in c["rows"]):
        series.append({"name": "follow-promotion mode p50", "kind": "line", "points": [
            (r["setting_ms"] / 1000, (r.get("follow_unavailable_s") or {}).get("p50")) for r in c["rows"]]})
    f = c["fit_unavailable"]
    xs = [r["setting_ms"] / 1000 for r in c["rows"]]
    if f["a"] is not None:
        series.append({"name": f"fit {f['a']:.2f}x + {f['b']:.2f}", "kind": "line", "color": "#999",
                       "points": [(x, f["a"] * x + f["b"]) for x in xs]})
    series.append({"name": f"floor ({c['floor']})", "kind": "dashed", "color": "#000",
                   "points": [(r["setting_ms"] / 1000, r["floor_s"]) for r in c["rows"]]})
    return xy_chart(title, xlabel, "seconds after the kill", series)


# -- data-set size: resync and link-down time -----------------------------------------------------------
def link_times(h: RunView, t_fault: float, t_heal: Optional[float], old: str, new: Optional[str],
               servers: tuple = ("valkey-master", "valkey-replica1", "valkey-replica2")) -> dict:
    """From the 100 ms role samples: when the other replica's link to the new master was up
    again, and when the rejoined old master was first a replica of it and then linked."""
    samples = sorted(h.server("roles"), key=lambda r: r["time"])
    other = next((n for n in servers if n not in (old, new)), None)
    up = next((r["time"] for r in samples if r["time"] > t_fault and other and
               (r["value"]["nodes"].get(other) or {}).get("master") == new and
               (r["value"]["nodes"].get(other) or {}).get("link") == "up"), None)
    as_replica = next((r["time"] for r in samples if t_heal is not None and r["time"] > t_heal and
                       (r["value"]["nodes"].get(old) or {}).get("role") == "slave"), None)
    synced = next((r["time"] for r in samples if as_replica is not None and r["time"] >= as_replica and
                   (r["value"]["nodes"].get(old) or {}).get("link") == "up"), None)
    rnd = lambda a, b: None if a is None or b is None else round(a - b, 3)  # noqa: E731
    return {"other_replica": other, "other_link_down_s": rnd(up, t_fault),
            "rejoined_full_resync_s": rnd(synced, as_replica), "rejoined_after_restart_s": rnd(synced, t_heal)}


def available_gb() -> Optional[float]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


# -- write load ------------------------------------------------------------------------------------------
class Loader:
    """SETs of distinct keys at ``rate`` per second, in pipelines every 10 ms, through one lab HA
    client (it retries and follows +switch-master as an application would). Keeps the keys of
    every acknowledged batch; a batch that raised is not acknowledged."""

    def __init__(self, client, prefix: str, rate: int):
        self.client, self.prefix, self.rate = client, prefix, rate
        self.per_batch = max(1, rate // 100)
        self.acked: list[str] = []
        self.failed = 0
        self.batches: list[tuple[float, float, bool]] = []  # (invoked, completed, ok)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="loader")
        self.i = 0

    def start(self) -> "Loader":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        next_t = now()
        while not self._stop.is_set():
            keys = [f"{self.prefix}:{self.i + j}" for j in range(self.per_batch)]
            self.i += self.per_batch

            def write(r, keys=keys):
                pipe = r.pipeline(transaction=False)
                for k in keys:
                    pipe.set(k, "1")
                return pipe.execute()
            t0 = now()
            try:
                self.client.call(write, idempotent=True)
                self.acked += keys
                self.batches.append((t0, now(), True))
            except Exception:  # noqa: BLE001 - the application saw an error: not acknowledged
                self.failed += len(keys)
                self.batches.append((t0, now(), False))
            next_t = max(next_t + 0.01, now() - 0.01)  # no catching up after an outage
            self._stop.wait(max(0.0, next_t - now()))


def count_missing(client, keys: list[str], chunk: int = 1000) -> Optional[int]:
    missing = 0
    try:
        for i in range(0, len(keys), chunk):
            part = keys[i:i + chunk]
            values = client.call(lambda r, part=part: r.mget(part), idempotent=True)
            missing += sum(v is None for v in values)
    except Exception:  # noqa: BLE001 - unread: unknown, not lost
        return None
    return missing


# -- the whole sweep -----------------------------------------------------------------------------------
def run_sweep(args, console: Console, parts_run: dict) -> dict:
    """``parts_run``: the topology's own runs (ha/bench.py, cluster/bench.py), wired by bench_cli:
    ``down-after(ms)``, ``node-timeout(ms)``, ``ping-interval(ms or 0)`` -> points;
    ``dataset(sizes)``, ``load(rates)`` -> rows."""
    parts = [p for p in PARTS if not getattr(args, "only", None) or p in args.only]
    out: dict = {"parts": parts, "runs_per_value": args.runs}
    if "down-after" in parts:
        pts = [p for v in DOWN_AFTER_MS for p in parts_run["down-after"](v)]
        out["down_after"] = curve(pts, HA_FLOOR_S, "writable_s")
    if "node-timeout" in parts:
        pts = [p for v in NODE_TIMEOUT_MS for p in parts_run["node-timeout"](v)]
        out["node_timeout"] = curve(pts, CLUSTER_FLOOR_S, "promotion_s")
    if "ping-interval" in parts:
        pts = [p for v in PING_INTERVAL_MS for p in parts_run["ping-interval"](v or 0)]
        out["ping_interval"] = {**curve(pts, CLUSTER_FLOOR_S, "promotion_s"),
                                "floor": f"node-timeout 3 s + {CLUSTER_FLOOR_S} s",
                                "note": "node-timeout 3000; 1500 = the default (cluster-ping-interval 0 means "
                                        "node-timeout/2)"}
        for r in out["ping_interval"]["rows"]:
            r["floor_s"] = 3.0 + CLUSTER_FLOOR_S  # the ping interval moves when PFAIL starts, not node-timeout
    if "dataset" in parts:
        out["dataset"] = parts_run["dataset"](DATASET_MB)
    if "load" in parts:
        out["load"] = parts_run["load"](LOAD_OPS)
    return out


def write_svgs(report: dict, directory: str) -> list[str]:
    Path(directory).mkdir(parents=True, exist_ok=True)
    written = []

    def save(name: str, svg: str) -> None:
        (Path(directory) / name).write_text(svg)
        written.append(str(Path(directory) / name))
    if "down_after" in report:
        save("sweep-down-after.svg", curve_svg("HA: unavailable vs down-after-milliseconds (SIGKILL of the master)",
                                               "down-after (s)", report["down_after"], "writable_s",
                                               "replica writable"))
    if "node_timeout" in report:
        save("sweep-node-timeout.svg", curve_svg("Cluster: dead-shard unavailable vs cluster-node-timeout",
                                                 "node-timeout (s)", report["node_timeout"], "promotion_s",
                                                 "replica primary (ROLE)"))
    if "ping_interval" in report:
        save("sweep-ping-interval.svg", curve_svg("Cluster: unavailable vs cluster-ping-interval (node-timeout 3 s)",
                                                  "ping interval (s)", report["ping_interval"], "promotion_s",
                                                  "replica primary (ROLE)"))
    if report.get("dataset"):
        rows = [r for r in report["dataset"] if "skipped" not in r]
        save("sweep-dataset.svg", xy_chart(
            "HA: resync time vs data-set size", "data set (MB)", "seconds", [
                {"name": "rejoined: full resync", "kind": "line",
                 "points": [(r["dataset_mb"], r["rejoined_full_resync_s"]) for r in rows]},
                {"name": "rejoined: restart -> linked", "kind": "line",
                 "points": [(r["dataset_mb"], r["rejoined_after_restart_s"]) for r in rows]},
                {"name": "other replica: link down", "kind": "line",
                 "points": [(r["dataset_mb"], r["other_link_down_s"]) for r in rows]}]))
    if report.get("load"):
        rows = report["load"]
        save("sweep-load.svg", xy_chart(
            "HA: failover vs write load (SIGKILL of the master)", "target SET/s (log10)", "seconds / writes lost", [
                {"name": "switch_s", "points": [(_log10(r["rate"]), r["switch_s"]) for r in rows]},
                {"name": "loader unavailable", "points": [(_log10(r["rate"]), r["loader_unavailable_s"]) for r in rows]},
                {"name": "loader writes lost", "points": [(_log10(r["rate"]), r["loader_lost"]) for r in rows]}]))
    return written


def _log10(x: float) -> float:
    import math
    return round(math.log10(x), 3)


def render(console: Console, report: dict) -> None:
    for key, label, server in (("down_after", "down-after-milliseconds", "writable_s"),
                               ("node_timeout", "cluster-node-timeout", "promotion_s"),
                               ("ping_interval", "cluster-ping-interval (node-timeout 3000)", "promotion_s")):
        c = report.get(key)
        if not c:
            continue
        f = c["fit_unavailable"]
        fit = "-" if f["a"] is None else f"{f['a']:.3f} x setting(s) + {f['b']:.3f} s (r2 {f['r2']})"
        t = Table(title=f"Sweep: {label}; lab client unavailable ~ {fit}", title_justify="left")
        for col in ("setting ms", "runs", "unavailable p50", "p95", "stock p50", "follow p50", server + " p50",
                    "floor"):
            t.add_column(col)
        for r in c["rows"]:
            t.add_row(str(r["setting_ms"]), str(r["unavailable_s"]["n"]), str(r["unavailable_s"]["p50"]),
                      str(r["unavailable_s"]["p95"]), str(r["stock_unavailable_s"]["p50"]),
                      str((r.get("follow_unavailable_s") or {}).get("p50", "-")), str(r[server]["p50"]),
                      str(r["floor_s"]))
        console.print(t)
    if report.get("dataset"):
        t = Table(title="Sweep: data-set size (HA, SIGKILL of the master, then it restarts empty)",
                  title_justify="left")
        for col in ("MB", "used memory MB", "switch s", "other replica link down s", "rejoined full resync s",
                    "restart -> linked s"):
            t.add_column(col)
        for r in report["dataset"]:
            if "skipped" in r:
                t.add_row(str(r["dataset_mb"]), r["skipped"], "", "", "", "")
            else:
                t.add_row(str(r["dataset_mb"]), str(r["used_memory_mb"]), str(r["switch_s"]),
                          str(r["other_link_down_s"]), str(r["rejoined_full_resync_s"]),
                          str(r["rejoined_after_restart_s"]))
        console.print(t)
    if report.get("load"):
        t = Table(title="Sweep: write load (HA, SIGKILL of the master; a pipelined loader beside the lab client)",
                  title_justify="left")
        for col in ("target/s", "achieved/s", "switch s", "writable s", "loader back s", "lab client back s",
                    "loader acked", "loader lost"):
            t.add_column(col)
        for r in report["load"]:
            t.add_row(str(r["rate"]), str(r["achieved_per_s"]), str(r["switch_s"]), str(r["writable_s"]),
                      str(r["loader_unavailable_s"]), str(r["lab"]), str(r["loader_acknowledged"]),
                      str(r["loader_lost"]))
        console.print(t)


__all__ = ["run_sweep", "render", "write_svgs", "curve", "fit_line", "settings", "link_times", "Loader", "count_missing",
           "available_gb"]
