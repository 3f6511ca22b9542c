"""The command line shared by ha_test.py and cluster_test.py.

    --history DIR    save the run's history (DIR/history.jsonl) and report (DIR/report.json)
    --analyze DIR    judge a saved history again, with no server at all
    --schedule random --seed N --duration S [--faults a,b] [--unsafe] [--shrink] [--keep i,j]
                     a generated fault schedule (runner/schedules.py), judged by every generic checker;
                     on failure the seed and the replay command, with --shrink a minimal failing schedule

Exit codes, as check.py's: 0 every verdict valid, 1 any invalid, 2 bad input or environment
(one line on stderr, no traceback), 3 unknown (some verdict lacked its evidence) and none
invalid, 130 interrupted. Whatever was started is stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable, ContextManager, Optional

from rich.console import Console

from valkey_lab.checkers.verdict import exit_code
from valkey_lab.backends.external import FaultRefused
from valkey_lab.runner.scenario import SKIPPED, Scenario, judge, resolve, suite_report
from valkey_lab.history.model import HistoryError, load_jsonl, meta_of
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.report import render
from valkey_lab.util import LabError, WaitTimeout, now, prog


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + error; we print one clear line
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _kinds(text: str) -> tuple:
    return tuple(k.strip() for k in text.split(",") if k.strip())


def _indices(text: str) -> tuple:
    if text.strip() in ("", "none"):
        return ()
    try:
        return tuple(int(k) for k in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of fault indices, not {text!r}") from None


def parser(prog: str, description: str, scenarios: list[Scenario], random_suite=None) -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog, description=description,
                      epilog="scenarios (* = only with --scenario NAME or --all): " +
                             "; ".join(f"{s.name}{'' if s.default else '*'}: {s.summary}" for s in scenarios))
    p.add_argument("--backend", choices=["auto", "local", "docker", "external"], default="auto",
                   help="auto: docker when the compose stack runs, else local processes; external: the deployment "
                        "--target names")
    p.add_argument("--target", metavar="FILE.toml",
                   help="an external deployment (Kubernetes, VMs, a managed service): its nodes, the password's "
                        "variable, allow_faults, key_prefix and fault command templates (examples/targets/)")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="run only this scenario (repeatable; what it needs runs too)")
    p.add_argument("--all", action="store_true", help="run every scenario, the fault scenarios included")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument("--html", metavar="FILE", help="write the run as one self-contained HTML page to FILE")
    p.add_argument("--history", metavar="DIR", help="save the run's history (DIR/history.jsonl) beside the report")
    p.add_argument("--analyze", metavar="DIR", help="judge the history saved in DIR again, without any server")
    p.add_argument("--export-edn", metavar="FILE", help="also write the run's history as Jepsen EDN (Knossos, Elle)")
    p.add_argument("--base-port", type=int, default=None, help="first port of the local backend")
    p.add_argument("--valkey-bin", metavar="DIR", help="local backend: run the valkey-server (and valkey-sentinel) "
                   "in DIR instead of those on PATH (a directory with only valkey-server runs Sentinel with --sentinel)")
    p.add_argument("--quiet", action="store_true", help="print only the summary table")
    p.add_argument("--watch", action="store_true",
                   help="live dashboard while you inject faults by hand; Ctrl-C stops it and reports")
    if random_suite is not None:
        kinds = ", ".join(random_suite.catalog.kinds)
        g = p.add_argument_group("generated schedules")
        g.add_argument("--schedule", choices=["random"], help="run a fault schedule generated from --seed instead "
                       "of the scenarios, under a workload (register + writer + counter), judged by every generic "
                       "checker")
        g.add_argument("--seed", type=int, default=0, help="the seed of the schedule (the same seed, the same "
                       "faults, targets and timings)")
        g.add_argument("--duration", type=float, default=60.0, help="seconds of faults the schedule plans "
                       "(recovery waits and the final phase come on top)")
        g.add_argument("--faults", type=_kinds, default=None, metavar="KIND,...",
                       help=f"fault kinds to draw from (default: {','.join(random_suite.catalog.default)}; "
                            f"known: {kinds})")
        g.add_argument("--unsafe", action="store_true", help="let faults overlap, quorum loss included: no "
                       "promise that the topology survives")
        g.add_argument("--shrink", action="store_true", help="on failure, replay smaller schedules (delta "
                       "debugging) until a minimal one still fails, and print its replay command")
        g.add_argument("--keep", type=_indices, default=None, metavar="I,J,...",
                       help="replay only these faults of the seed's plan (what --shrink prints)")
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


def _roundtrip(records: list[dict]) -> list[dict]:
    """The records as --analyze will read them back (tuples become lists): the live verdict
    is computed from exactly what is saved."""
    return json.loads(json.dumps(records, default=str))


def _judge_all(selected: list[Scenario], records: list[dict], console: Console, quiet: bool) -> list:
    settings = meta_of(records).get("settings", {})
    results = []
    for scenario in selected:
        result = judge(scenario, records, settings)
        results.append(result)
        if not quiet:
            render.render_scenario(console, result.as_dict())
    return results


def _save_history(args, recorder, report: Optional[dict] = None) -> None:
    """--history DIR: the history (also of a run that failed half-way) and the report beside
    it; --export-edn FILE: the same history as Jepsen EDN."""
    if getattr(args, "export_edn", None) and len(recorder.records()) > 1:
        from valkey_lab.history.edn import write_edn
        Path(args.export_edn).parent.mkdir(parents=True, exist_ok=True)
        write_edn(recorder.records(), args.export_edn)
    if getattr(args, "history", None) and len(recorder.records()) > 1:
        Path(args.history).mkdir(parents=True, exist_ok=True)
        recorder.save(Path(args.history) / "history.jsonl")
        if report is not None:
            _write(str(Path(args.history) / "report.json"), report)


def _write(path: Optional[str], data: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def _write_html(path: Optional[str], records: list[dict], report: dict, selected: list[Scenario]) -> None:
    """--html FILE: the history and its verdicts on one page (a pure function of both)."""
    if path:
        from valkey_lab.report.html import page
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(page(records, report, methods={s.name: s.method for s in selected}), encoding="utf-8")


def run(suite: str, args: argparse.Namespace, scenarios: list[Scenario], methods: dict,
        open_lab: Callable[..., ContextManager], console: Optional[Console] = None,
        watch: Optional[Callable] = None, random_suite=None) -> int:
    """Run the selected scenarios' methods on the lab ``open_lab(args, recorder)`` yields,
    judge each scenario from the recorded history, print tables, write JSON."""
    console = console or default_console()
    signal.signal(signal.SIGTERM, _sigterm)
    if getattr(args, "valkey_bin", None):
        os.environ["VALKEY_LAB_BIN"] = str(Path(args.valkey_bin).resolve())  # read by backends.local
    if getattr(args, "analyze", None):
        return analyze(suite, args, scenarios, console)
    try:
        selected = resolve(args.scenario, scenarios, everything=getattr(args, "all", False))
    except ValueError as exc:
        _error(f"{suite}: {exc}")
        return 2
    problem = _backend_problem(args)
    if problem:
        _error(f"{suite}: {problem}")
        return 2
    if getattr(args, "watch", False) and watch is not None:
        return _watch(suite, args, open_lab, watch, console)
    if getattr(args, "schedule", None) == "random":
        return run_random(suite, args, scenarios, random_suite, open_lab, console)
    start = now()
    recorder = RunRecorder()
    report = None
    try:
        with open_lab(args, recorder) as lab:
            recorder.meta(suite=suite, backend=lab.backend_name, valkey_version=lab.valkey_version,
                          settings=lab.settings(), scenarios=[s.name for s in selected])
            done: set[str] = set()
            results = []
            records: list = []
            for scenario in selected:
                if scenario.method not in done:
                    done.add(scenario.method)
                    refuses = getattr(lab, "refuses", None)  # an external target: what it cannot or may not do
                    reason = refuses(scenario.method) if refuses is not None else None
                    try:
                        if reason is not None:
                            raise FaultRefused(reason)
                        methods[scenario.method](lab)
                    except FaultRefused as exc:  # not run (or stopped at the refused fault): skipped, as data
                        _skip(suite, recorder, scenario.method, str(exc))
                    except (LabError, KeyboardInterrupt):
                        raise
                    except Exception as exc:  # noqa: BLE001 - a crashed method is a failed scenario, as data
                        with recorder.running(scenario.method):
                            recorder.harness("error", {"what": f"{type(exc).__name__}: {exc}"[:400]})
                    records = _roundtrip(recorder.records())
                result = judge(scenario, records, meta_of(records).get("settings", {}))
                results.append(result)
                if not args.quiet:
                    render.render_scenario(console, result.as_dict())
            report = suite_report(suite, lab.backend_name, lab.valkey_version, results, now() - start,
                                  extra=getattr(lab, "report_extra", None))
    except (LabError, WaitTimeout) as exc:  # WaitTimeout here: the lab never became ready
        _error(f"{suite}: {exc}")
        return 2
    except KeyboardInterrupt:
        _error(f"{suite}: interrupted; everything the run started has been stopped")
        return 130
    finally:
        _save_history(args, recorder, report)
    console.print(render.summary_table(report))
    _write(args.json, report)
    if args.json:
        console.print(f"report written to {args.json}")
    if getattr(args, "html", None):
        _write_html(args.html, _roundtrip(recorder.records()), report, selected)
        console.print(f"page written to {args.html}")
    if getattr(args, "history", None):
        console.print(f"history written to {Path(args.history) / 'history.jsonl'}")
    return exit_code(report["valid"])


def _backend_problem(args) -> Optional[str]:
    """--backend external needs --target; --target alone means external."""
    target, backend = getattr(args, "target", None), getattr(args, "backend", None)
    if target and backend == "auto":
        args.backend = "external"
    elif target and backend != "external":
        return f"--target is for --backend external, not --backend {backend}"
    elif backend == "external" and not target:
        return "--backend external needs --target FILE.toml (see examples/targets/)"
    return None


def _with_target(args, command: str) -> str:
    """A replay command of an external run names its target file too."""
    return f"{command} --target {args.target}" if getattr(args, "target", None) else command


def _skip(suite: str, recorder, method: str, reason: str) -> None:
    """A method that did not run: one line on stderr, and a ``skipped`` record in the history
    (so --analyze reports the same skip)."""
    _error(f"{suite}: {method} skipped: {reason}")
    with recorder.running(method):
        recorder.harness(SKIPPED, {"reason": reason})


def analyze(suite: str, args: argparse.Namespace, scenarios: list[Scenario], console: Console) -> int:
    """--analyze DIR: the same verdicts from the saved history alone (no server is started)."""
    path = Path(args.analyze)
    path = path / "history.jsonl" if path.is_dir() else path
    try:
        if not path.exists():
            raise LabError(f"no history at {path}: save one with --history DIR")
        records = load_jsonl(path)
        meta = meta_of(records)
        if meta.get("suite") != suite:
            raise LabError(f"{path} is a history of the {meta.get('suite') or 'unknown'} suite, not {suite}")
        by_name = {s.name: s for s in scenarios}
        unknown = [n for n in meta.get("scenarios", []) if n not in by_name]
        if unknown:
            raise LabError(f"{path} names scenarios this suite does not know: {', '.join(unknown)}")
        selected = [by_name[n] for n in meta.get("scenarios", [])]
        results = _judge_all(selected, records, console, args.quiet)
    except (LabError, HistoryError, ValueError, OSError) as exc:
        _error(f"{suite}: {exc}")
        return 2
    times = [r["time"] for r in records if "time" in r]
    report = suite_report(suite, meta.get("backend", "?"), meta.get("valkey_version", "?"), results,
                          (max(times) - min(times)) if times else 0.0, extra={"analyzed": str(path)})
    console.print(render.summary_table(report))
    _write(args.json, report)
    _write_html(getattr(args, "html", None), records, report, selected)
    return exit_code(report["valid"])


def _watch(suite: str, args, open_lab, watch: Callable, console: Console) -> int:
    from valkey_lab.runner.watch import render_report
    recorder = RunRecorder()
    try:
        with open_lab(args, recorder) as lab:
            recorder.meta(suite=suite, backend=lab.backend_name, settings=lab.settings(), scenarios=[])
            report = watch(lab, console)
    except LabError as exc:
        _error(f"{suite}: {exc}")
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the dashboard was up
        _error(f"{suite}: interrupted; everything the run started has been stopped")
        return 130
    finally:
        _save_history(args, recorder)
    render_report(console, report)
    _write(args.json, {"suite": suite, "mode": "watch", **report} if args.json else {})
    return 0


def run_random(suite: str, args: argparse.Namespace, scenarios: list[Scenario], random_suite, open_lab,
               console: Console) -> int:
    """--schedule random: generate the plan from the seed, run it on the lab under the
    workload, judge it with the generic checkers; on failure print the seed and the replay
    command, and with --shrink replay smaller plans (ddmin) on the same lab until a minimal
    one still fails."""
    from valkey_lab.runner.schedules import Spec, ddmin, generate, plan_table
    start = now()
    try:
        if random_suite is None:
            raise LabError("this suite has no random schedules")
        spec = Spec(args.seed, args.duration, args.faults or random_suite.catalog.default, args.unsafe, args.keep)
        plan = generate(spec, random_suite.catalog)
        scenario = next(s for s in scenarios if s.name == random_suite.scenario)
    except LabError as exc:
        _error(f"{suite}: {exc}")
        return 2
    if not args.quiet:
        console.print(render.rows_table(f"schedule of seed {spec.seed} ({'unsafe' if spec.unsafe else 'safe'}, "
                                   f"{len(plan)} faults)", plan_table(plan)))
    recorder = RunRecorder()
    report = None
    shrunk: Optional[dict] = None
    replay = None
    try:
        with open_lab(args, recorder) as lab:
            recorder.meta(suite=suite, backend=lab.backend_name, valkey_version=lab.valkey_version,
                          settings=lab.settings(), scenarios=[scenario.name], schedule=spec.as_dict())
            replay = _with_target(args, spec.command(suite, lab.backend_name, args.base_port))

            def attempt(name: str, faults: list) -> object:
                try:
                    random_suite.method(lab, faults, spec, name)
                except (LabError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # noqa: BLE001 - a crashed run is a failed one, as data
                    with recorder.running(name):
                        recorder.harness("error", {"what": f"{type(exc).__name__}: {exc}"[:400]})
                records = _roundtrip(recorder.records())
                return judge(replace(scenario, method=name), records, meta_of(records).get("settings", {}))
            result = attempt(scenario.method, plan)
            result.name = scenario.name
            if not args.quiet:
                render.render_scenario(console, result.as_dict())
            if not result.passed:
                _error(f"{suite}: the schedule of seed {spec.seed} {result.status}ed; replay it with: {replay}")
                if args.shrink and result.valid is False and len(plan) > 1:
                    tries = iter(range(1, 1000))

                    def fails(sub: list) -> bool:
                        n = next(tries)
                        got = attempt(f"shrink-{n}", sub)
                        console.print(f"shrink {n}: faults {[p.i for p in sub]} -> {got.status}")
                        return got.valid is False
                    minimal = ddmin(plan, fails)
                    keep = [p.i for p in minimal]
                    shrunk = {"faults": len(minimal), "keep": keep, "plan": plan_table(minimal),
                              "replay": _with_target(args, spec.command(suite, lab.backend_name, args.base_port,
                                                                        keep=keep))}
                    console.print(f"minimal schedule: {len(minimal)} faults")
                    console.print(f"replay it with: {shrunk['replay']}")
            report = suite_report(suite, lab.backend_name, lab.valkey_version, [result], now() - start,
                                  extra={**(getattr(lab, "report_extra", None) or {}),
                                         "schedule": {**spec.as_dict(), "plan": plan_table(plan), "replay": replay,
                                                      "shrunk": shrunk}})
    except (LabError, WaitTimeout) as exc:
        _error(f"{suite}: {exc}")
        return 2
    except KeyboardInterrupt:
        _error(f"{suite}: interrupted; everything the run started has been stopped")
        return 130
    finally:
        _save_history(args, recorder, report)
    console.print(render.summary_table(report))
    if replay is not None:
        console.print(f"seed {spec.seed}; replay: {replay}")
    _write(args.json, report)
    if getattr(args, "html", None):
        _write_html(args.html, _roundtrip(recorder.records()), report, [scenario])
        console.print(f"page written to {args.html}")
    if getattr(args, "history", None):
        console.print(f"history written to {Path(args.history) / 'history.jsonl'}")
    return exit_code(report["valid"])


def main(suite: str, description: str, scenarios: list[Scenario], methods: dict, open_lab, argv=None,
         watch=None, random_suite=None) -> int:
    name = prog(f"{suite}_test.py", f"valkey-lab-{suite}")
    args = parser(name, description, scenarios, random_suite).parse_args(argv)
    return run(suite, args, scenarios, methods, open_lab, watch=watch, random_suite=random_suite)


__all__ = ["main", "run", "run_random", "parser", "analyze"]
