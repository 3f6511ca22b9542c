"""Verdicts, as in Jepsen's checker.clj: ``valid`` is True, False or None (unknown: the
history lacks the evidence to decide), each verdict carries what was observed next to what
was required, and ``compose`` makes any False win, then any unknown.

A checker is a pure function ``check(h) -> Verdict`` (or a list of them) of one run's
history ``h`` (history.view.RunView: the records plus the run's settings, its context).
A scenario's ``Judgement`` collects the verdicts of the checkers that judge it. Nothing
here prints: rendering is report.render's job.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, TypedDict, Union

Valid = Optional[bool]
STATUS = {True: "pass", False: "fail", None: "unknown"}


class Check(TypedDict, total=False):
    check: str
    ok: Valid
    observed: Any
    expected: Any
    missing: str


def _valid(x: Any) -> Valid:
    return None if x is None else bool(x)


@dataclass(frozen=True)
class Verdict:
    """One thing that must hold: ``valid``, what was ``observed`` and what was ``expected``;
    when unknown, ``missing`` names the evidence the history lacks."""
    name: str
    valid: Valid
    observed: Any = None
    expected: Any = None
    missing: Optional[str] = None

    def as_check(self) -> Check:
        out: Check = {"check": self.name, "ok": self.valid, "observed": self.observed}
        if self.expected is not None:
            out["expected"] = self.expected
        if self.valid is None:
            out["missing"] = self.missing or "evidence the history does not hold"
        return out


def verdict(name: str, valid: Any, observed: Any = None, expected: Any = None,
            missing: Optional[str] = None) -> Verdict:
    """A verdict; ``missing`` (what the history lacks) turns it unknown whatever ``valid`` says,
    unless ``valid`` is already False: a violation seen is a violation."""
    v = _valid(valid)
    if missing is not None and v is not False:
        v = None
    return Verdict(name, v, observed, expected, missing if v is None else None)


def unknown(name: str, missing: str, observed: Any = None, expected: Any = None) -> Verdict:
    return Verdict(name, None, observed, expected, missing)


def check(name: str, ok: Any, observed: Any = None, expected: Any = None) -> Check:
    """One check as a dict (the JSON report's form)."""
    return {"check": name, "ok": _valid(ok), "observed": observed, "expected": expected}


def from_result(name: str, result: Mapping, expected: Any = None) -> Check:
    """A checker's result (a dict with ``valid``) as a check; the rest is the evidence."""
    return check(name, result["valid"], {k: v for k, v in result.items() if k != "valid"}, expected)


def validity(result: Any) -> Valid:
    """True/False/None of a Verdict, a check (``ok``), a checker result (``valid``) or a bare value."""
    if isinstance(result, (Verdict, Judgement)):
        return result.valid
    if isinstance(result, Mapping):
        if "valid" in result:
            return _valid(result["valid"])
        if "ok" in result:
            return _valid(result["ok"])
        raise ValueError(f"neither 'valid' nor 'ok' in {sorted(result)}")
    return _valid(result)


def merge(values: Iterable[Any]) -> Valid:
    """Jepsen's merge-valid: False if any is False, else None if any is None, else True."""
    vs = [validity(v) for v in values]
    if False in vs:
        return False
    if None in vs:
        return None
    return True


def compose(results: Union[Mapping[str, Any], Iterable[Any]]) -> Valid:
    """Jepsen's compose over named results (a mapping) or a sequence of verdicts."""
    return merge(results.values() if isinstance(results, Mapping) else results)


def failed(checks: Iterable[Check]) -> list[str]:
    """Names of the checks that did not pass (False or unknown)."""
    return [c["check"] for c in checks if c["ok"] is not True]


def exit_code(valid: Valid) -> int:
    """The suites' and check.py's exit code: 0 valid, 1 invalid, 3 unknown (2 is bad input)."""
    return {True: 0, False: 1, None: 3}[valid]


@dataclass
class Judgement:
    """A scenario's verdicts, metrics and details. Valid only when every verdict is, and there
    is at least one; an error (the check crashed, the history lacks the run) is invalid."""
    name: str
    verdicts: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    error: Optional[str] = None
    duration_s: float = 0.0

    def add(self, *verdicts: Union[Verdict, Iterable[Verdict]]) -> Valid:
        """Record checkers' verdicts; return what they compose to."""
        added: list[Verdict] = []
        for v in verdicts:
            added.extend([v] if isinstance(v, Verdict) else list(v))
        self.verdicts.extend(added)
        return merge(added)

    def check(self, what: str, ok: Any, observed: Any = None, expected: Any = None,
              missing: Optional[str] = None) -> Valid:
        """Record one verdict: an observation against an independent expectation."""
        v = verdict(what, ok, observed, expected, missing)
        self.verdicts.append(v)
        return v.valid

    @property
    def checks(self) -> list[Check]:
        return [v.as_check() for v in self.verdicts]

    @property
    def valid(self) -> Valid:
        if self.error is not None:
            return False
        if not self.verdicts:  # a scenario that checked nothing has proved nothing
            return None
        return merge(self.verdicts)

    @property
    def status(self) -> str:
        return STATUS[self.valid]

    @property
    def passed(self) -> bool:
        return self.valid is True

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "passed": self.passed, "valid": self.valid,
                "duration_s": round(self.duration_s, 3), "metrics": self.metrics, "details": self.details,
                "checks": self.checks, "error": self.error}


Checker = Callable[[Any], Union[Verdict, Iterable[Verdict]]]


__all__ = ["Valid", "Verdict", "Judgement", "Checker", "verdict", "unknown", "check", "from_result",
           "validity", "merge", "compose", "failed", "exit_code", "STATUS"]
