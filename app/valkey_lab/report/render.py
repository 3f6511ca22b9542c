"""Rich tables for suite reports. Input is the report dict, so a saved JSON renders the same."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 160 else text[:157] + "..."
    return "" if value is None else str(value)


# Three-valued: a verdict the history could not decide is neither a pass nor a fail.
STATUS = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "[yellow]UNKNOWN[/]"}
SUITE = {True: "[green]PASSED[/]", False: "[red]FAILED[/]", None: "[yellow]UNKNOWN[/]"}
MARK = {True: "[green]✔[/]", False: "[red]✘[/]", None: "[yellow]?[/]"}


def _valid(d: dict):
    """valid of a scenario or report dict (reports saved before verdicts were three-valued: passed)."""
    return d["valid"] if "valid" in d else bool(d.get("passed"))


def _status(d: dict) -> str:
    """PASS / FAIL / UNKNOWN, or SKIP for a scenario that did not run (runner.scenario.Skipped)."""
    return "[dim]SKIP[/]" if d.get("status") == "skip" else STATUS[_valid(d)]


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def scenario_table(scenario: dict) -> Table:
    status = _status(scenario)
    table = Table(title=f"{scenario['name']}  {status}  ({scenario['duration_s']:.2f}s)",
                  title_justify="left", show_lines=False, expand=False)
    table.add_column("kind", style="dim")
    table.add_column("what")
    table.add_column("value / observed", overflow="fold")
    for check in scenario["checks"]:
        observed = _fmt(check["observed"])
        if check["ok"] is None:  # say what is missing, out loud
            observed = f"[yellow]missing: {check.get('missing', '?')}[/]" + (f"; {observed}" if observed else "")
        table.add_row("check", f"{MARK[check['ok']]} {check['check']}", observed)
    for key, value in scenario["metrics"].items():
        table.add_row("metric", f"[cyan]{key}[/]", _fmt(value))
    for key, value in scenario["details"].items():
        if key != "traceback" and not _is_rows(value):
            table.add_row("detail", key, _fmt(value))
    if scenario.get("error"):
        table.add_row("error", "[red]scenario crashed[/]", scenario["error"])
    if scenario.get("skipped"):
        table.add_row("skipped", "not run: neither a pass nor a fail", scenario["skipped"])
    return table


def rows_table(title: str, rows: list[dict]) -> Table:
    """A table of uniform dicts (nodes, shards, retries)."""
    table = Table(title=title, title_justify="left")
    for key in (rows[0] if rows else {}):
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(_fmt(v) for v in row.values()))
    return table


def summary_table(report: dict) -> Table:
    table = Table(title=f"{report['suite']} suite on {report['backend']} (Valkey {report['valkey_version']}): "
                        f"{SUITE[_valid(report)]} in {report['duration_s']:.1f}s",
                  title_justify="left")
    table.add_column("scenario")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("key metrics")
    for s in report["scenarios"]:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(s["metrics"].items())[:4])
        metrics = s["skipped"] if s.get("skipped") else metrics
        table.add_row(s["name"], _status(s), f"{s['duration_s']:.2f}s", metrics)
    return table


def render_scenario(console: Console, scenario: dict) -> None:
    console.print(scenario_table(scenario))
    for key, value in scenario["details"].items():
        if _is_rows(value):
            console.print(rows_table(f"  {scenario['name']}: {key}", value))
    console.print()
