"""A scenario's verdict: named checks that carry their evidence, and Jepsen's compose.

Validity is three-valued: True, False, or None (unknown: the history could not decide).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, TypedDict


class Check(TypedDict):
    check: str
    ok: Optional[bool]
    observed: Any
    expected: Any


def _valid(x: Any) -> Optional[bool]:
    return None if x is None else bool(x)


def check(name: str, ok: Any, observed: Any = None, expected: Any = None) -> Check:
    """One check: what was seen next to what was required, so a report can show why."""
    return {"check": name, "ok": _valid(ok), "observed": observed, "expected": expected}


def from_result(name: str, result: Mapping, expected: Any = None) -> Check:
    """A checker's result (a dict with ``valid``) as a check; the rest is the evidence."""
    return check(name, result["valid"], {k: v for k, v in result.items() if k != "valid"}, expected)


def validity(result: Any) -> Optional[bool]:
    """True/False/None of a check (``ok``), a checker result (``valid``) or a bare value."""
    if isinstance(result, Mapping):
        if "valid" in result:
            return _valid(result["valid"])
        if "ok" in result:
            return _valid(result["ok"])
        raise ValueError(f"neither 'valid' nor 'ok' in {sorted(result)}")
    return _valid(result)


def compose(results: Mapping[str, Any]) -> Optional[bool]:
    """Jepsen's compose: False if any is False, else None if any is None, else True."""
    values = [validity(r) for r in results.values()]
    if False in values:
        return False
    if None in values:
        return None
    return True


def failed(checks: Iterable[Check]) -> list[str]:
    """Names of the checks that did not pass (False or unknown)."""
    return [c["check"] for c in checks if c["ok"] is not True]


__all__ = ["Check", "check", "from_result", "validity", "compose", "failed"]
