"""Rich rendering of ``check.py`` results: one table row per decided history, then each
counterexample; one plain line per undecided history (its reason and how far it got) and
per hint.

Input is the JSON-ready result list, so a saved ``--json`` file renders the same.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

VERDICTS = {True: "[green]linearizable[/]", False: "[red]NOT linearizable[/]", None: "[yellow]unknown (timeout)[/]"}


def verdict(result: dict) -> str:
    """The verdict as markup: unknown says why (timeout or memory)."""
    if result["valid"] is None:
        return f"[yellow]unknown ({result.get('reason') or 'timeout'})[/]"
    return VERDICTS[result["valid"]]


def unknown_line(result: dict) -> str:
    """One plain line for a history the budget did not let the checker decide."""
    keys = result.get("keys")
    progress = f", {result.get('decided_keys', 0)} of {keys} keys decided" if keys and keys > 1 else ""
    return (f"{Path(str(result['file'])).name}: unknown ({result.get('reason') or 'timeout'}) after "
            f"{result['seconds']:.1f}s{progress}, {result['ops']} ops")


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
                      str(r.get("info", "")), str(r.get("keys", "")), verdict(r), f"{r['seconds']:.3f}")
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
    decided = [r for r in results if r["valid"] is not None]
    if decided:
        console.print(results_table(decided))
    for r in decided:
        if r.get("counterexample"):
            console.print(counterexample_panel(r))
    for r in results:  # plain lines: never wrapped, easy to grep
        if r["valid"] is None:
            console.file.write(unknown_line(r) + "\n")
        if r.get("left_out"):
            k = r["left_out"]["keys"]
            console.file.write(f"{Path(str(r['file'])).name}: left out {r['left_out']['ops']} ops on {len(k)} INCR "
                               f"counter key{'s' if len(k) > 1 else ''} ({', '.join(map(str, k))}): the register "
                               "model has no INCR\n")
        if r.get("hint"):
            console.file.write(f"{Path(str(r['file'])).name}: hint: {r['hint']}\n")
    console.file.flush()
