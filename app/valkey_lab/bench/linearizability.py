"""How fast, and how big, is the linearizability checker? Its cost curve as data.

    python -m valkey_lab.bench.linearizability      # from app/; prints the curve as JSON

``cost_curve()`` times ``check`` on generated histories, valid by construction and with one
impossible read (``stale_read``), against the number of ops (1k, 10k, 100k at 10 clients)
and of clients (10, 50, 100 at 10k ops), each in a fresh Python process that reads the
history from a file, as ``check.py`` does: seconds of the check, and the process's peak
RSS. ``curve_table`` renders it (rich), ``curve_svg`` draws it (log-log), ``curve_shape``
says what it measures in words; ``report`` and ``render`` are the bench report's section
(app/valkey_lab/bench_cli.py). ``measure`` is the older, in-process timing of valid
register histories.
"""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional

from valkey_lab.checkers.linearizable import DEFAULT_MAX_MEMORY, check
from valkey_lab.history.gen import corrupt_read, kv_history, register_history, stale_read

_APP = Path(__file__).resolve().parents[2]  # app/: what the child process imports from


def measure(sizes: Iterable[int] = (1000, 5000, 20000), processes: int = 10, info_rate: float = 0.05,
            seed: int = 7, timeout: Optional[float] = 120.0) -> list[dict]:
    """One row per size: ops, processes, info ops, seconds (wall, the checker only), verdict."""
    rows = []
    for n in sizes:
        history = register_history(n, processes, info_rate, seed=seed + n)
        started = time.perf_counter()
        result = check(history, model="register", timeout=timeout)
        seconds = time.perf_counter() - started
        rows.append({"ops": result["ops"], "processes": processes, "info_ops": result["info"],
                     "info_dropped": sum(k["dropped_info"] or 0 for k in result["keys"]),
                     "seconds": round(seconds, 4), "ops_per_second": round(result["ops"] / seconds) if seconds else None,
                     "valid": result["valid"]})
    return rows


def timed_check(path, model: str = "register", **options) -> dict:
    """Read and check one history file in a fresh Python process, as ``check.py`` would:
    valid, reason, seconds (read + check), check_seconds, cpu_seconds (the check's CPU time,
    workers included: what a loaded machine does not inflate), peak_mb (the process's peak
    RSS, the interpreter included). ``options`` go to ``check`` (timeout, max_memory, jobs)."""
    job = json.dumps({"path": str(path), "model": model, "options": options})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_APP), os.environ.get("PYTHONPATH")])))
    limit = (options.get("timeout") or 600) + 120
    run = subprocess.run([sys.executable, "-c", "from valkey_lab.bench.linearizability import _child; _child()", job],
                         capture_output=True, text=True, env=env, timeout=limit)
    if run.returncode != 0 or not run.stdout.strip():
        raise RuntimeError(f"checking {path} failed: {run.stderr.strip()[-300:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _child() -> None:
    import resource

    from valkey_lab.history.edn import read_history
    job = json.loads(sys.argv[1])
    started = time.perf_counter()
    records = read_history(job["path"])
    read, cpu = time.perf_counter(), _cpu()
    result = check(records, job["model"], **job["options"])
    done, cpu = time.perf_counter(), _cpu() - cpu
    # VmHWM: ru_maxrss would include the parent this process was forked from before exec
    peak = _vm_hwm_kib() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest worker, if any
    print(json.dumps({"valid": result["valid"], "reason": result["reason"], "ops": result["ops"],
                      "seconds": round(done - started, 4), "check_seconds": round(done - read, 4),
                      "cpu_seconds": round(cpu, 4),
                      "peak_mb": round(max(peak, children) / 1024, 1)}))


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the workers)."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _vm_hwm_kib() -> Optional[int]:
    """This process's peak RSS in KiB since its exec (Linux), None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _write_jsonl(history: list[dict], path: Path) -> None:
    with path.open("w") as f:
        for r in history:
            f.write(json.dumps(r) + "\n")


def cost_curve(ops: Iterable[int] = (1000, 10000, 100000), clients: Iterable[int] = (10, 50, 100), *,
               at_clients: int = 10, at_ops: int = 10000, model: str = "register", keys: Optional[int] = None,
               info_rate: float = 0.05, seed: int = 7, timeout: float = 60.0,
               max_memory: int = DEFAULT_MAX_MEMORY) -> list[dict]:
    """The checker's time and peak memory against ops (at ``at_clients`` clients) and against
    clients (at ``at_ops`` ops), valid and invalid (one stale read), one fresh process each.
    A point past the budget says so (``valid`` None, ``reason``)."""
    make = register_history if model == "register" else kv_history
    points = [("ops", n, at_clients) for n in ops] + [("clients", at_ops, c) for c in clients]
    rows = []
    with tempfile.TemporaryDirectory(prefix="lin-curve-") as tmp:
        for axis, n, c in points:
            history = make(n, c, info_rate, seed=seed + n + c, **({"keys": keys} if keys else {}))
            for kind in ("valid", "invalid"):
                h = history if kind == "valid" else (stale_read(history, seed) or corrupt_read(history, seed))
                path = Path(tmp) / f"{model}-{n}-{c}-{kind}.jsonl"
                _write_jsonl(h, path)
                got = timed_check(path, model, timeout=timeout, max_memory=max_memory, jobs=1)
                rows.append({"axis": axis, "model": model, "ops": n, "clients": c, "kind": kind,
                             "valid": got["valid"], "reason": got["reason"], "seconds": got["check_seconds"],
                             "cpu_seconds": got["cpu_seconds"], "peak_mb": got["peak_mb"]})
                path.unlink()
    return rows


def _slope(rows: list[dict], axis: str, kind: str, x: str, y: str) -> Optional[float]:
    """The log-log slope from the first to the last decided point of a series."""
    pts = [(r[x], r[y]) for r in rows if r["axis"] == axis and r["kind"] == kind and r["valid"] is not None
           and r[y] and r[y] > 0]
    if len(pts) < 2 or pts[0][0] == pts[-1][0]:
        return None
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    return math.log(y1 / y0) / math.log(x1 / x0)


def _words(k: Optional[float]) -> str:
    if k is None:
        return "not measured"
    if k < 0.3:
        return f"flat (exponent {k:.2f})"
    if k < 1.25:
        return f"about linear (exponent {k:.2f})"
    if k < 1.75:
        return f"between linear and quadratic (exponent {k:.2f})"
    return f"quadratic or worse (exponent {k:.2f})"


def curve_shape(rows: list[dict]) -> list[str]:
    """The measured shape in words: the growth exponent of time against ops and clients."""
    out = []
    for axis, what in (("ops", "ops"), ("clients", "clients")):
        fixed = next((r for r in rows if r["axis"] == axis), None)
        if fixed is None:
            continue
        at = f"{fixed['clients']} clients" if axis == "ops" else f"{fixed['ops']:,} ops"
        y = "cpu_seconds" if all(r.get("cpu_seconds") for r in rows) else "seconds"
        for kind in ("valid", "invalid"):
            out.append(f"time against {what} ({kind}, {at}): {_words(_slope(rows, axis, kind, axis, y))}")
    undecided = [r for r in rows if r["valid"] is None]
    for r in undecided:
        out.append(f"{r['ops']:,} ops, {r['clients']} clients ({r['kind']}): unknown ({r['reason']})")
    return out


def curve_table(rows: list[dict]):
    """A rich table of the curve."""
    from rich.table import Table
    t = Table(title="Linearizability checker: cost against ops and clients (one fresh process per point)",
              title_justify="left")
    for col, just in (("axis", "left"), ("model", "left"), ("ops", "right"), ("clients", "right"),
                      ("history", "left"), ("verdict", "left"), ("seconds", "right"), ("CPU s", "right"),
                      ("peak MB", "right")):
        t.add_column(col, justify=just)
    verdicts = {True: "linearizable", False: "NOT linearizable"}
    for r in rows:
        verdict = verdicts.get(r["valid"]) or f"unknown ({r['reason']})"
        cpu = r.get("cpu_seconds")
        t.add_row(r["axis"], r["model"], f"{r['ops']:,}", str(r["clients"]), r["kind"], verdict,
                  f"{r['seconds']:.3f}", "" if cpu is None else f"{cpu:.3f}", f"{r['peak_mb']:.0f}")
    return t


def curve_svg(rows: list[dict]) -> str:
    """Seconds against ops and against clients, valid and invalid, on log-log axes."""
    from valkey_lab.report.plot import loglog_svg
    series = {}
    for axis in ("ops", "clients"):
        for kind in ("valid", "invalid"):
            pts = [(r[axis], r["seconds"]) for r in rows if r["axis"] == axis and r["kind"] == kind
                   and r["valid"] is not None]
            if pts:
                at = "" if not pts else (f" @{rows[0]['clients']} cl." if axis == "ops" else f" @{rows[-1]['ops']:,} ops")
                series[f"{kind}, x = {axis}{at}"] = pts
    return loglog_svg("Linearizability checker: seconds against ops and clients", series,
                      "ops (or clients)", "seconds")


def report(svg_dir: Optional[str] = None, **curve_args) -> dict:
    """The bench report's section: the curve (``cost_curve(**curve_args)``), its shape in
    words, and the picture written to ``svg_dir``/linearizability-curve.svg when given."""
    rows = cost_curve(**curve_args)
    section = {"curve": rows, "shape": curve_shape(rows), "python": platform.python_version(),
               "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    if svg_dir:
        path = Path(svg_dir) / "linearizability-curve.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(curve_svg(rows))
        section["svg"] = str(path)
    return section


def render(console, section) -> None:
    """The section as the bench prints it: the table, then the shape, line by line.
    ``section``: what ``report`` returns, or just the curve's rows (the shape is then
    computed from them); anything else (an older report's rows) prints nothing."""
    if isinstance(section, list):
        section = {"curve": section} if section and all("axis" in r for r in section) else {}
    if not isinstance(section, dict) or not section.get("curve"):
        return
    console.print(curve_table(section["curve"]))
    for line in section.get("shape") or curve_shape(section["curve"]):
        console.print(f"  {line}")


if __name__ == "__main__":
    curve = cost_curve()
    print(json.dumps({"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                      "curve": curve, "shape": curve_shape(curve)}, indent=2))
