"""Results as data. A scenario is a declaration: the method (a named run of the harness
that records a history) and a check, a pure function of that history that fills a
ScenarioResult with checks, metrics and details. The suite report is a plain dict (the JSON
report). Rendering is report.render's job; nothing here prints."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from valkey_lab.checkers.verdict import STATUS, Judgement, merge
from valkey_lab.history.view import RunView


ScenarioResult = Judgement  # a scenario's verdicts (checkers.verdict)

SKIPPED = "skipped"  # the harness record (f) that says a method did not run, and why


class Skipped(Judgement):
    """A scenario that did not run, with the reason (e.g. its fault needs a template the
    external target lacks, or the target refuses destructive faults). It is neither a pass
    nor a fail: the suite's verdict is composed of the scenarios that ran, so a skip does not
    change the exit code; a suite in which nothing ran proved nothing (unknown, exit 3)."""

    def __init__(self, name: str, reason: str, duration_s: float = 0.0):
        super().__init__(name, duration_s=duration_s)
        self.reason = reason

    @property
    def valid(self):
        return None

    @property
    def status(self) -> str:
        return "skip"

    def as_dict(self) -> dict:
        return {**super().as_dict(), "status": "skip", "passed": False, "valid": None, "skipped": self.reason}


def skip_reason(records: list[dict], method: str) -> Optional[str]:
    """The reason the history gives for not running ``method`` (a ``skipped`` harness record)."""
    for r in records:
        if r.get("kind") == "harness" and r.get("f") == SKIPPED and r.get("run") == method:
            return (r.get("value") or {}).get("reason", "skipped")
    return None

Check = Callable[[RunView, ScenarioResult], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    method: str  # the run whose history this scenario judges (several scenarios may share one)
    check: Check
    needs: tuple = ()  # scenarios reported with this one (they judge the same run)
    default: bool = True  # part of a plain run; the others run with --scenario NAME or --all


def resolve(selected: Optional[list[str]], scenarios: list[Scenario], everything: bool = False) -> list[Scenario]:
    """The scenarios to run, in suite order, with what they need. Unknown names: ValueError."""
    by_name = {s.name: s for s in scenarios}
    if everything:
        return list(scenarios)
    if not selected:
        return [s for s in scenarios if s.default]
    unknown = [n for n in selected if n not in by_name]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; choose from: {', '.join(by_name)}")
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for dep in by_name[name].needs:
                add(dep)

    for name in selected:
        add(name)
    return [s for s in scenarios if s.name in wanted]


def judge(scenario: Scenario, records: list[dict], settings: dict) -> ScenarioResult:
    """The verdict of ``scenario`` from the history alone (live, and again with --analyze)."""
    reason = skip_reason(records, scenario.method)
    if reason is not None:
        return Skipped(scenario.name, reason)
    view = RunView(records, scenario.method, settings)
    result = ScenarioResult(scenario.name, duration_s=view.duration_s)
    if not view:
        result.error = f"the history has no run {scenario.method!r}"
        return result
    problem = view.timeout
    if problem is not None:
        result.check("the run finished (every wait ended within its deadline)", False, problem.get("what", problem))
    try:
        scenario.check(view, result)
    except Exception as exc:  # noqa: BLE001 - a check that crashes on a short history is a failed check
        if problem is None:
            result.error = f"{type(exc).__name__}: {exc}"
    return result


def suite_report(suite: str, backend: str, valkey_version: str, results: list[ScenarioResult],
                 duration_s: float, extra: Optional[dict] = None) -> dict:
    ran = [r for r in results if not isinstance(r, Skipped)]
    valid = merge(ran) if ran else None  # skips are neither pass nor fail; nothing ran: nothing proved
    skipped = {r.name: r.reason for r in results if isinstance(r, Skipped)}
    return {"suite": suite, "backend": backend, "valkey_version": valkey_version,
            "valid": valid, "status": STATUS[valid], "passed": valid is True, "duration_s": round(duration_s, 3),
            **(extra or {}), **({"skipped": skipped} if skipped else {}), "scenarios": [r.as_dict() for r in results]}
