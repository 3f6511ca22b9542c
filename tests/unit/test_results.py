import pytest

from lib.results import Scenario, ScenarioResult, resolve, run_one, suite_report
from lib.util import WaitTimeout

S = [Scenario("a", lambda c, r: None, ""), Scenario("b", lambda c, r: None, "", ("a",)),
     Scenario("c", lambda c, r: None, "", ("b",))]


def test_resolve_adds_what_a_scenario_needs_in_suite_order():
    assert [s.name for s in resolve(["c"], S)] == ["a", "b", "c"]
    assert [s.name for s in resolve(None, S)] == ["a", "b", "c"]


def test_resolve_names_the_choices_for_an_unknown_scenario():
    with pytest.raises(ValueError, match="unknown scenario nope; choose from: a, b, c"):
        resolve(["nope"], S)


def test_a_scenario_without_checks_does_not_pass():
    assert not run_one(Scenario("x", lambda c, r: None, ""), None).passed


def test_a_failed_check_or_a_crash_fails_the_scenario():
    assert not run_one(Scenario("x", lambda c, r: r.check("holds", False), ""), None).passed
    crashed = run_one(Scenario("x", lambda c, r: 1 / 0, ""), None)
    assert not crashed.passed and crashed.error.startswith("ZeroDivisionError")


def test_a_timeout_becomes_a_failed_check():
    def waits(ctx, r):
        raise WaitTimeout("the master", 1.0, "nope")
    result = run_one(Scenario("x", waits, ""), None)
    assert not result.passed and "the master" in result.checks[0]["check"]


def test_report_shape():
    ok = ScenarioResult("x")
    ok.check("fine", True)
    report = suite_report("ha", "local", "8.0.1", [ok], 1.0)
    assert report["passed"] and set(report) >= {"suite", "backend", "valkey_version", "passed", "duration_s", "scenarios"}
    assert set(report["scenarios"][0]) >= {"name", "passed", "duration_s", "metrics", "details"}
    assert not suite_report("ha", "local", "8.0.1", [], 1.0)["passed"]
