"""Results as data: a scenario records checks, metrics and details; the suite report is a
plain dict (the JSON report). Rendering is render.py's job; nothing here prints."""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .util import WaitTimeout, now


@dataclass
class ScenarioResult:
    name: str
    checks: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    error: Optional[str] = None
    duration_s: float = 0.0

    def check(self, what: str, ok: bool, observed: Any = None) -> bool:
        """Record one assertion; the scenario passes only if every check holds."""
        self.checks.append({"check": what, "ok": bool(ok), "observed": observed})
        return bool(ok)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c["ok"] for c in self.checks)

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "duration_s": round(self.duration_s, 3),
                "metrics": self.metrics, "details": self.details, "checks": self.checks, "error": self.error}


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Any, ScenarioResult], None]
    summary: str
    needs: tuple = ()  # scenarios whose state this one reads; run first when not selected
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


def run_one(scenario: Scenario, ctx: Any) -> ScenarioResult:
    result = ScenarioResult(scenario.name)
    start = now()
    try:
        scenario.run(ctx, result)
    except WaitTimeout as exc:
        result.check(f"waited for {exc.what}", False, f"not within {exc.timeout:.1f}s; last: {exc.last!r}"[:300])
    except Exception as exc:  # noqa: BLE001 - a crashed scenario is a failed scenario, reported as data
        result.error = f"{type(exc).__name__}: {exc}"
        result.details["traceback"] = traceback.format_exc(limit=6)
    result.duration_s = now() - start
    return result


def suite_report(suite: str, backend: str, valkey_version: str, results: list[ScenarioResult],
                 duration_s: float, extra: Optional[dict] = None) -> dict:
    return {"suite": suite, "backend": backend, "valkey_version": valkey_version,
            "passed": bool(results) and all(r.passed for r in results), "duration_s": round(duration_s, 3),
            **(extra or {}), "scenarios": [r.as_dict() for r in results]}
