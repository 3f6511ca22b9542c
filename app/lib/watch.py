"""A live dashboard while you break things by hand (`--watch`), and a report of what it
saw when you stop it with Ctrl-C. Topology-specific parts come from a WatchSource."""
from __future__ import annotations

import time
from typing import Callable, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from . import checkers
from .workload import Writer
from .util import now


class WatchSource(Protocol):
    def roles(self) -> list[dict]:
        """One row per node: name, role, and whatever else is worth a column."""

    def events(self) -> list[dict]:
        """Server-side events so far, each with t (monotonic) and event."""


def commands_table(rows: list[dict]) -> Table:
    """How to break each node by hand on this backend, ready to copy."""
    table = Table(title="break it from another terminal", title_justify="left", expand=True)
    for key in (rows[0] if rows else {"node": ""}):
        table.add_column(str(key), no_wrap=True)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def _status_table(source: WatchSource, writer: Writer, t0: float, title: str,
                  commands: Callable[[], list[dict]] = lambda: []) -> Group:
    ops = writer.history.ops()
    t = now()
    recent = [op for op in ops if op.t_complete is not None and op.t_complete >= t - 1.0]
    ok_rate = sum(op.status == "ok" for op in recent)
    # The heading is a line of its own: a table title wraps at the table's width.
    heading = Text(f"{title}  (running {t - t0:.0f}s, Ctrl-C to stop and report)", style="bold", no_wrap=True,
                   overflow="ellipsis")
    nodes = Table(expand=True)
    rows = source.roles()
    for key in (rows[0] if rows else {"node": ""}):
        nodes.add_column(str(key))
    for row in rows:
        nodes.add_row(*(str(v) for v in row.values()))
    counts = Table(title="client", title_justify="left", expand=True)
    for col in ("writes ok/s", "ok", "fail", "info", "in flight for"):
        counts.add_column(col)
    pending = [op for op in ops if op.t_complete is None]
    counts.add_row(str(ok_rate), str(sum(op.status == "ok" for op in ops)), str(sum(op.status == "fail" for op in ops)),
                   str(sum(op.status == "info" for op in ops)),
                   f"{t - pending[0].t_invoke:.1f}s" if pending and t - pending[0].t_invoke > 0.2 else "-")
    events = Table(title="last events", title_justify="left", expand=True)
    events.add_column("t")
    events.add_column("event")
    events.add_column("data", overflow="fold")
    for e in source.events()[-8:]:
        events.add_row(f"{e['t'] - t0:.2f}s", e["event"], str(e.get("data", ""))[:80])
    return Group(heading, nodes, commands_table(commands()), counts, events)


def watch(source: WatchSource, writer: Writer, title: str, console: Console,
          master_changes: Callable[[], list[dict]] = lambda: [],
          commands: Callable[[], list[dict]] = lambda: []) -> dict:
    """Refresh the dashboard until Ctrl-C; return the report of what was seen (data).
    ``commands``: per node, the shell commands that break it on this backend."""
    t0 = now()
    writer.start()
    try:
        with Live(_status_table(source, writer, t0, title, commands), console=console, refresh_per_second=4,
                  transient=not console.is_terminal) as live:
            while True:
                time.sleep(0.25)  # the dashboard's refresh rate, not a wait for state
                live.update(_status_table(source, writer, t0, title, commands))
    except KeyboardInterrupt:
        pass
    finally:
        writer.stop()
    ops = writer.history.ops()
    outages = checkers.gaps(ops, threshold=0.5)
    return {"watched_s": round(now() - t0, 3),
            "writes": {s: sum(op.status == s for op in ops) for s in ("ok", "fail", "info")},
            "outages": [{"from_s": round(g["from"] - t0, 3), "to_s": round(g["to"] - t0, 3), "seconds": g["seconds"]}
                        for g in outages],
            "master_changes": [{"at_s": round(c["at"] - t0, 3), "from": c["from"], "to": c["to"]}
                               for c in master_changes()],
            "events": [{"t_s": round(e["t"] - t0, 3), "event": e["event"], "data": e.get("data", "")}
                       for e in source.events()]}


def render_report(console: Console, report: dict) -> None:
    console.print(f"watched {report['watched_s']:.1f}s; writes {report['writes']}")
    for key in ("outages", "master_changes", "events"):
        rows = report[key]
        table = Table(title=f"{key.replace('_', ' ')} ({len(rows)})", title_justify="left")
        for col in (rows[0] if rows else {"none": ""}):
            table.add_column(col)
        for row in rows[-30:]:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
