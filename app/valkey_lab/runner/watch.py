"""A live dashboard while you break things by hand (``--watch``), and a report of what it
saw when you stop it with Ctrl-C. Both are drawn from the run's history as it grows: the
harness runs the workload and the observers, this module only renders records."""
from __future__ import annotations

from typing import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from valkey_lab.checkers.availability import gaps
from valkey_lab.loop import sleep
from valkey_lab.history.model import pair


def commands_table(rows: list[dict]) -> Table:
    """How to break each node by hand on this backend, ready to copy."""
    table = Table(title="break it from another terminal", title_justify="left", expand=True)
    for key in (rows[0] if rows else {"node": ""}):
        table.add_column(str(key), no_wrap=True)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def _rows_table(rows: list[dict]) -> Table:
    table = Table(expand=True)
    for key in (rows[0] if rows else {"node": ""}):
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def status(records: list[dict], title: str, node_rows: list[dict], commands: list[dict]) -> Group:
    """One frame of the dashboard, from the records so far."""
    now = max((r["time"] for r in records if "time" in r), default=0.0)
    ops = pair(records)
    recent = [op for op in ops if op.t_complete is not None and op.t_complete >= now - 1.0]
    pending = [op for op in ops if op.t_complete is None]
    # The heading is a line of its own: a table title wraps at the table's width.
    heading = Text(f"{title}  (running {now:.0f}s, Ctrl-C to stop and report)", style="bold", no_wrap=True,
                   overflow="ellipsis")
    counts = Table(title="client", title_justify="left", expand=True)
    for col in ("writes ok/s", "ok", "fail", "info", "in flight for"):
        counts.add_column(col)
    counts.add_row(str(sum(op.ok for op in recent)), str(sum(op.ok for op in ops)),
                   str(sum(op.type == "fail" for op in ops)),
                   str(sum(op.type == "info" and op.t_complete is not None for op in ops)),
                   f"{now - pending[0].t_invoke:.1f}s" if pending and now - pending[0].t_invoke > 0.2 else "-")
    events = Table(title="last events", title_justify="left", expand=True)
    events.add_column("t")
    events.add_column("event")
    events.add_column("data", overflow="fold")
    for e in event_rows(records)[-8:]:
        events.add_row(f"{e['t_s']:.2f}s", e["event"], str(e["data"])[:100])
    return Group(heading, _rows_table(node_rows), commands_table(commands), counts, events)


def event_rows(records: list[dict]) -> list[dict]:
    """Server events worth a line: Sentinel's (each once) or the cluster's flag changes."""
    seen, out = set(), []
    for r in records:
        if r.get("kind") == "server" and r.get("f") in ("sentinel-event", "cluster-event"):
            key = (r["value"]["event"], r["value"].get("data"))
            if key not in seen:
                seen.add(key)
                out.append({"t_s": r["time"], "event": r["value"]["event"], "data": r["value"].get("data", "")})
    return out


def dashboard(title: str, console: Console, records: Callable[[], list[dict]], node_rows: Callable[[list], list],
              commands: Callable[[], list[dict]]) -> None:
    """Refresh until Ctrl-C (which ends the dashboard, not the run: the harness then heals
    and restores as always)."""
    def frame():
        recs = records()
        return status(recs, title, node_rows(recs), commands())
    try:
        with Live(frame(), console=console, refresh_per_second=4, transient=not console.is_terminal) as live:
            while True:
                sleep(0.25)  # the dashboard's refresh rate, not a wait for state
                live.update(frame())
    except KeyboardInterrupt:
        pass


def report(records: list[dict], master_changes: list[dict]) -> dict:
    """What the watch saw, as data (pure)."""
    ops = [op for op in pair(records) if op.f != "read"]
    times = [r["time"] for r in records if "time" in r]
    return {"watched_s": round(max(times) - min(times), 3) if times else 0.0,
            "writes": {s: sum(op.type == s for op in ops) for s in ("ok", "fail", "info")},
            "outages": [{"from_s": g["from"], "to_s": g["to"], "seconds": g["seconds"]}
                        for g in gaps(ops, threshold=0.5)],
            "master_changes": master_changes,
            "events": event_rows(records)}


def render_report(console: Console, rep: dict) -> None:
    console.print(f"watched {rep['watched_s']:.1f}s; writes {rep['writes']}")
    for key in ("outages", "master_changes", "events"):
        rows = rep[key]
        table = Table(title=f"{key.replace('_', ' ')} ({len(rows)})", title_justify="left")
        for col in (rows[0] if rows else {"none": ""}):
            table.add_column(col)
        for row in rows[-30:]:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
