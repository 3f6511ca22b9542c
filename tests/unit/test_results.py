"""A scenario's verdict is judged from the history alone; the suite report's shape."""
import pytest

from valkey_lab.runner.scenario import Scenario, ScenarioResult, judge, resolve, suite_report


def noop(h, r):
    pass


S = [Scenario("a", "", "a", noop), Scenario("b", "", "a", noop, needs=("a",)),
     Scenario("c", "", "c", noop, needs=("b",))]


def records(run="a", extra=()):
    return [{"kind": "meta", "settings": {}}, {"kind": "harness", "f": "steady", "value": {}, "run": run, "time": 0.0},
            *extra]


def test_resolve_adds_what_a_scenario_needs_in_suite_order():
    assert [s.name for s in resolve(["c"], S)] == ["a", "b", "c"]
    assert [s.name for s in resolve(None, S)] == ["a", "b", "c"]


def test_resolve_names_the_choices_for_an_unknown_scenario():
    with pytest.raises(ValueError, match="unknown scenario nope; choose from: a, b, c"):
        resolve(["nope"], S)


def test_a_scenario_without_checks_does_not_pass():
    assert not judge(Scenario("x", "", "a", noop), records(), {}).passed


def test_a_failed_check_or_a_crash_fails_the_scenario():
    assert not judge(Scenario("x", "", "a", lambda h, r: r.check("holds", False)), records(), {}).passed
    crashed = judge(Scenario("x", "", "a", lambda h, r: 1 / 0), records(), {})
    assert not crashed.passed and crashed.error.startswith("ZeroDivisionError")


def test_a_recorded_timeout_fails_the_scenario_even_when_its_checks_hold():
    timeout = {"kind": "harness", "f": "timeout", "value": {"what": "the master"}, "run": "a", "time": 1.0}
    result = judge(Scenario("x", "", "a", lambda h, r: r.check("fine", True)), records(extra=[timeout]), {})
    assert not result.passed and result.checks[0]["observed"] == "the master"


def test_a_run_missing_from_the_history_is_an_error():
    result = judge(Scenario("x", "", "other", lambda h, r: r.check("fine", True)), records(), {})
    assert not result.passed and "no run 'other'" in result.error


def test_report_shape():
    ok = ScenarioResult("x")
    ok.check("fine", True, 1, expected=1)
    report = suite_report("ha", "local", "8.0.1", [ok], 1.0)
    assert report["passed"] and set(report) >= {"suite", "backend", "valkey_version", "passed", "duration_s", "scenarios"}
    assert set(report["scenarios"][0]) >= {"name", "passed", "duration_s", "metrics", "details"}
    assert report["scenarios"][0]["checks"][0]["expected"] == 1
    assert not suite_report("ha", "local", "8.0.1", [], 1.0)["passed"]
