"""The command line shared by ha_test.py and cluster_test.py.

Exit codes: 0 every scenario passed, 1 a scenario failed, 2 bad input or environment
(one line on stderr, no traceback), 130 interrupted. Whatever was started is stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Callable, ContextManager, Optional

from rich.console import Console

from . import render
from .results import Scenario, resolve, run_one, suite_report
from .util import LabError, WaitTimeout, now


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + error; we print one clear line
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parser(prog: str, description: str, scenarios: list[Scenario]) -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog, description=description,
                      epilog="scenarios (* = only with --scenario NAME or --all): " +
                             "; ".join(f"{s.name}{'' if s.default else '*'}: {s.summary}" for s in scenarios))
    p.add_argument("--backend", choices=["auto", "local", "docker"], default="auto",
                   help="auto: docker when the compose stack runs, else local processes")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="run only this scenario (repeatable; what it needs runs too)")
    p.add_argument("--all", action="store_true", help="run every scenario, the fault scenarios included")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument("--base-port", type=int, default=None, help="first port of the local backend")
    p.add_argument("--quiet", action="store_true", help="print only the summary table")
    p.add_argument("--watch", action="store_true",
                   help="live dashboard while you inject faults by hand; Ctrl-C stops it and reports")
    return p


def _error(line: str) -> None:
    """One plain line on stderr: no wrapping, no markup, greppable."""
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()


def default_console() -> Console:
    """Rich falls back to 80 columns when stdout is not a terminal (CI logs, pipes), which
    truncates the node tables; give those 120 unless COLUMNS says otherwise."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=120)
    return console


def _sigterm(signum, frame):  # turn SIGTERM into the same clean exit as Ctrl-C
    raise KeyboardInterrupt


def run(suite: str, args: argparse.Namespace, scenarios: list[Scenario],
        open_lab: Callable[[argparse.Namespace], ContextManager], console: Optional[Console] = None,
        watch: Optional[Callable] = None) -> int:
    """Run the selected scenarios inside ``open_lab(args)`` (a context manager yielding the
    context: ``ctx.backend_name``, ``ctx.valkey_version``); print tables; write JSON."""
    console = console or default_console()
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        selected = resolve(args.scenario, scenarios, everything=getattr(args, "all", False))
    except ValueError as exc:
        _error(f"{suite}: {exc}")
        return 2
    start = now()
    results = []
    if getattr(args, "watch", False) and watch is not None:
        return _watch(suite, args, open_lab, watch, console)
    try:
        with open_lab(args) as ctx:
            for scenario in selected:
                result = run_one(scenario, ctx)
                results.append(result)
                if not args.quiet:
                    render.render_scenario(console, result.as_dict())
            report = suite_report(suite, ctx.backend_name, ctx.valkey_version, results, now() - start,
                                  extra=getattr(ctx, "report_extra", None))
    except LabError as exc:
        _error(f"{suite}: {exc}")
        return 2
    except WaitTimeout as exc:  # the lab never became ready: an environment problem
        _error(f"{suite}: {exc}")
        return 2
    except KeyboardInterrupt:
        _error(f"{suite}: interrupted; everything the run started has been stopped")
        return 130
    console.print(render.summary_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
        console.print(f"report written to {args.json}")
    return 0 if report["passed"] else 1


def _watch(suite: str, args, open_lab, watch: Callable, console: Console) -> int:
    from .watch import render_report
    try:
        with open_lab(args) as ctx:
            report = watch(ctx, console)
    except LabError as exc:
        _error(f"{suite}: {exc}")
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the dashboard was up
        _error(f"{suite}: interrupted; everything the run started has been stopped")
        return 130
    render_report(console, report)
    if args.json:
        Path(args.json).write_text(json.dumps({"suite": suite, "mode": "watch", **report}, indent=2, default=str) + "\n")
    return 0


def main(suite: str, description: str, scenarios: list[Scenario], open_lab, argv=None, watch=None) -> int:
    args = parser(f"{suite}_test.py", description, scenarios).parse_args(argv)
    return run(suite, args, scenarios, open_lab, watch=watch)


__all__ = ["main", "run", "parser"]
