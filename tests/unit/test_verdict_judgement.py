"""Three-valued verdicts and a scenario's Judgement: unknown is said, never passed; a
violation seen stays a violation; a judgement that checked nothing proved nothing."""
import pytest

from valkey_lab.checkers.verdict import STATUS, Judgement, Verdict, exit_code, merge, unknown, verdict


def test_a_verdict_is_true_false_or_unknown():
    assert verdict("v", 1).valid is True and verdict("v", 0).valid is False
    assert verdict("v", []).valid is False and verdict("v", [0]).valid is True
    assert verdict("v", None).valid is None
    v = verdict("name", True, {"lost": 0}, "lost 0")
    assert v == Verdict("name", True, {"lost": 0}, "lost 0", None)


def test_missing_evidence_turns_a_pass_unknown_but_never_a_violation():
    assert verdict("v", True, missing="a final read") == Verdict("v", None, None, None, "a final read")
    assert verdict("v", None, missing="x").missing == "x"
    seen = verdict("v", False, 3, 0, missing="a final read")
    assert seen.valid is False and seen.missing is None
    assert verdict("v", True, missing="").valid is None  # an empty reason is still a reason
    assert verdict("v", True).missing is None and verdict("v", None).missing is None


def test_unknown_names_what_is_missing():
    assert unknown("v", "role snapshots") == Verdict("v", None, None, None, "role snapshots")
    assert unknown("v", "x", {"n": 0}, "n > 0") == Verdict("v", None, {"n": 0}, "n > 0", "x")


def test_as_check_keeps_expected_only_when_given_and_missing_only_when_unknown():
    assert Verdict("a", True, 1).as_check() == {"check": "a", "ok": True, "observed": 1}
    assert Verdict("a", False, 1, 0).as_check() == {"check": "a", "ok": False, "observed": 1, "expected": 0}
    assert Verdict("a", False, 1, 0, "ignored when decided").as_check() == {
        "check": "a", "ok": False, "observed": 1, "expected": 0}
    assert Verdict("a", None, None, "x", "a read").as_check() == {
        "check": "a", "ok": None, "observed": None, "expected": "x", "missing": "a read"}
    assert Verdict("a", None).as_check() == {"check": "a", "ok": None, "observed": None,
                                             "missing": "evidence the history does not hold"}
    assert Verdict("a", None, missing="").as_check()["missing"] == "evidence the history does not hold"


@pytest.mark.parametrize("values, expected", [
    ([], True), ([True], True), ([True, True], True), ([True, None], None), ([None, None], None),
    ([None, False], False), ([False, None], False), ([True, False, True], False),
])
def test_merge_any_false_then_any_unknown(values, expected):
    assert merge(Verdict("v", x) for x in values) is expected
    assert merge(values) is expected


def test_exit_codes_and_status_words():
    assert [exit_code(v) for v in (True, False, None)] == [0, 1, 3]
    assert STATUS == {True: "pass", False: "fail", None: "unknown"}


def test_a_judgement_that_checked_nothing_is_unknown():
    r = Judgement("s")
    assert r.valid is None and r.status == "unknown" and r.passed is False
    assert r.checks == [] and r.verdicts == [] and r.metrics == {} and r.details == {}
    assert r.error is None and r.duration_s == 0.0


def test_a_judgement_composes_its_verdicts():
    r = Judgement("s")
    assert r.check("one", True, 1, 1) is True
    assert r.valid is True and r.status == "pass" and r.passed is True
    assert r.check("two", True, missing="a read") is None
    assert r.valid is None and r.status == "unknown" and r.passed is False
    assert r.check("three", 0, 2, 0) is False
    assert r.valid is False and r.status == "fail" and r.passed is False
    assert [c["check"] for c in r.checks] == ["one", "two", "three"]
    assert r.checks[1] == {"check": "two", "ok": None, "observed": None, "missing": "a read"}
    assert r.checks[2] == {"check": "three", "ok": False, "observed": 2, "expected": 0}


def test_judgements_do_not_share_their_lists():
    a, b = Judgement("a"), Judgement("b")
    a.check("x", True)
    a.metrics["m"] = 1
    a.details["d"] = 1
    assert b.verdicts == [] and b.metrics == {} and b.details == {}


def test_an_error_makes_a_judgement_invalid_whatever_its_verdicts():
    r = Judgement("s", error="the history lacks the run")
    assert r.valid is False and r.status == "fail"
    r.check("x", True)
    assert r.valid is False and r.passed is False
    assert Judgement("s", error="").valid is False


def test_add_takes_verdicts_and_lists_of_verdicts_and_returns_what_they_compose_to():
    r = Judgement("s")
    ok, bad, unsure = Verdict("ok", True), Verdict("bad", False), Verdict("unsure", None, missing="m")
    assert r.add(ok) is True
    assert r.add([ok, unsure]) is None
    assert r.add(ok, (v for v in [bad])) is False
    assert r.add() is True  # nothing added composes to valid; the judgement keeps what it had
    assert [v.name for v in r.verdicts] == ["ok", "ok", "unsure", "ok", "bad"]
    assert r.valid is False
    r2 = Judgement("t")
    assert r2.add([]) is True and r2.valid is None


def test_as_dict_is_the_json_reports_form():
    r = Judgement("s", duration_s=1.23456)
    r.check("c", True, 5, 5)
    r.metrics["unavailable_s"] = 3.2
    r.details["note"] = "n"
    assert r.as_dict() == {"name": "s", "status": "pass", "passed": True, "valid": True, "duration_s": 1.235,
                           "metrics": {"unavailable_s": 3.2}, "details": {"note": "n"},
                           "checks": [{"check": "c", "ok": True, "observed": 5, "expected": 5}], "error": None}
    bad = Judgement("b", error="boom", duration_s=0.0004)
    assert bad.as_dict() == {"name": "b", "status": "fail", "passed": False, "valid": False, "duration_s": 0.0,
                             "metrics": {}, "details": {}, "checks": [], "error": "boom"}
    assert Judgement("u").as_dict()["status"] == "unknown" and Judgement("u").as_dict()["valid"] is None


def test_compose_takes_a_sequence_of_verdicts_too():
    from valkey_lab.checkers.verdict import compose
    assert compose([Verdict("a", True), Verdict("b", None)]) is None
    assert compose((Verdict("a", True), {"valid": False})) is False
    assert compose([]) is True
