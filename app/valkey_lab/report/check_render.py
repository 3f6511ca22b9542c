"""Rich rendering of ``check.py`` results: one table row per history, then each counterexample.

Input is the JSON-ready result list, so a saved ``--json`` file renders the same.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

VERDICTS = {True: "[green]linearizable[/]", False: "[red]NOT linearizable[/]", None: "[yellow]unknown (timeout)[/]"}


def _value(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        return value
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _time(t: Any) -> str:
    return "" if t is None else f"{t:.6f}"


def results_table(results: Iterable[dict]) -> Table:
    table = Table(title="linearizability", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("model")
    table.add_column("ops", justify="right")
    table.add_column("processes", justify="right")
    table.add_column("info", justify="right")
    table.add_column("keys", justify="right")
    table.add_column("verdict")
    table.add_column("seconds", justify="right")
    for r in results:
        table.add_row(escape(str(r["file"])), r["model"], str(r["ops"]), str(r.get("processes", "")),
                      str(r.get("info", "")), str(r.get("keys", "")), VERDICTS[r["valid"]], f"{r['seconds']:.3f}")
    return table


def counterexample_panel(result: dict) -> Panel:
    cx = result["counterexample"]
    ops = Table(show_edge=False, pad_edge=False)
    for col in ("", "process", "f", "value", "type", "invoke", "complete"):
        ops.add_column(col, justify="right" if col in ("invoke", "complete") else "left")
    marks = {"failed": "[red]✘ failed[/]", "concurrent": "[yellow]concurrent[/]", "before": "[dim]before[/]"}
    for op in cx.get("ops", []):
        ops.add_row(marks.get(op.get("role"), ""), str(op["process"]), str(op["f"]), escape(_value(op["value"])),
                    str(op["type"]), _time(op["invoke"]), _time(op["complete"]))
    states = Table(show_edge=False, pad_edge=False)
    states.add_column("order that gets furthest (its last ops)")
    states.add_column("state")
    for s in cx.get("states", []):
        states.add_row(escape(" -> ".join(s["order"]) or "(initial state)"), escape(_value(s["state"])))
    return Panel(Group(Text(cx["summary"]), Text(""), ops, Text(""), states),
                 title=f"{escape(str(result['file']))}: counterexample", title_align="left", border_style="red")


def render(results: list[dict], console: Console) -> None:
    console.print(results_table(results))
    for r in results:
        if r.get("counterexample"):
            console.print(counterexample_panel(r))
