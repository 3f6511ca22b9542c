"""Checks with evidence and Jepsen's three-valued compose."""
import pytest

from valkey_lab.checkers.verdict import check, compose, failed, from_result, validity


def test_check_carries_its_evidence():
    assert check("at most one master", True, {"max_masters": 1}, "<= 1") == {
        "check": "at most one master", "ok": True, "observed": {"max_masters": 1}, "expected": "<= 1"}
    assert check("x", 0) == {"check": "x", "ok": False, "observed": None, "expected": None}
    assert check("x", 3)["ok"] is True and check("x", None)["ok"] is None


def test_from_result_keeps_everything_but_valid_as_evidence():
    assert from_result("no acknowledged write lost", {"valid": False, "lost": 2}, expected={"lost": 0}) == {
        "check": "no acknowledged write lost", "ok": False, "observed": {"lost": 2}, "expected": {"lost": 0}}
    assert from_result("n", {"valid": None})["ok"] is None


def test_validity_of_checks_results_and_bare_values():
    assert validity({"valid": True, "ok": False}) is True
    assert validity({"ok": 0}) is False and validity({"valid": None}) is None
    assert validity(None) is None and validity(1) is True and validity(False) is False
    with pytest.raises(ValueError, match=r"neither 'valid' nor 'ok' in \['lost'\]"):
        validity({"lost": 1})


@pytest.mark.parametrize("values, expected", [
    ([], True),
    ([True, True], True),
    ([True, None], None),
    ([None, False, True], False),
    ([False], False),
    ([None], None),
])
def test_compose_is_jepsens(values, expected):
    results = {f"c{i}": {"valid": v} for i, v in enumerate(values)}
    assert compose(results) is expected


def test_compose_takes_checks_and_results_together():
    assert compose({"loss": {"valid": True, "lost": 0}, "masters": check("m", True)}) is True
    assert compose({"loss": {"valid": True}, "masters": check("m", False)}) is False
    assert compose({"loss": {"valid": 1}, "masters": check("m", None)}) is None


def test_failed_names_false_and_unknown_checks():
    assert failed([check("a", True), check("b", False), check("c", None)]) == ["b", "c"]
