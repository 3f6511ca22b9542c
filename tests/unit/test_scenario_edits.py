"""One scenario, one fact changed: a recorded run edited the way a specific failure would
change it (a switch published without the quorum, a replica promoted too early, an event that
never came), and the check that watches for that failure must turn, while its neighbours say
what they said. test_pinned_edits removes whole kinds of evidence; these are the surgical
edits, one per check, that show each check can fail and can be unknown."""
from __future__ import annotations

import pytest

from tests.helpers import judgement
from tests.unit.test_pinned_edits import _of_run


def _time_of(rs, pred):
    return next(r["time"] for r in rs if pred(r))


def _nemesis(rs, value, phase):
    return _time_of(rs, lambda r: r["kind"] == "nemesis" and r["value"] == value and r["phase"] == phase)


def _event(r, name, node=None):
    return (r["kind"] == "server" and r["f"] == "sentinel-event" and r["value"]["event"] == name
            and (node is None or r["node"] == node))


# -- quorum_safety: the master killed while only one Sentinel of three runs -------------------------------
def _switch_without_quorum(rs):
    t_kill = _nemesis(rs, "master", "start")
    first = next(i for i, r in enumerate(rs) if _event(r, "+switch-master"))
    moved = {**rs[first], "time": t_kill + 1.0}
    return sorted(rs[:first] + rs[first + 1:] + [moved], key=lambda r: r["time"])


def _promoted_while_alone(rs):
    t_kill = _nemesis(rs, "master", "start")
    snap = next(r for r in rs if r["kind"] == "server" and r["f"] == "roles" and r["time"] > t_kill)
    fake = {**snap, "time": t_kill + 1.5, "value": {**snap["value"], "masters": ["valkey-master"]}}
    return sorted(rs + [fake], key=lambda r: r["time"])


def _lone_never_saw_it(rs):
    return [r for r in rs if not (_event(r, "+sdown", "valkey-sentinel1") and r["value"]["data"].startswith("master"))]


def _lone_silent(rs):
    t_kill, t_back = _nemesis(rs, "master", "start"), _nemesis(rs, "sentinels:2", "end")
    return [r for r in rs if not (r.get("f") == "sentinel-event" and r["node"] == "valkey-sentinel1"
                                  and t_kill <= r["time"] <= t_back)]


def _quorum_back_too_soon(rs):
    t_kill = _nemesis(rs, "master", "start")
    return [{**r, "time": t_kill + 5.0} if r["kind"] == "nemesis" and r["value"] == "sentinels:2"
            and r["phase"] == "end" else r for r in rs]


def _never_switched(rs):
    return [r for r in rs if not _event(r, "+switch-master")]


HELD = "the master stayed down without quorum for >= 3x down-after"
NOT_PROMOTED = "no replica promoted while 1 of 3 Sentinels ran"
SDOWN = "the lone Sentinel saw the master down (+sdown)"
NO_SWITCH = "no Sentinel published +switch-master without the quorum"
FAILED_OVER = "with the quorum back, Sentinel failed over to a replica"

CASES = [
    ("ha-suite.jsonl.gz", "quorum_safety", _switch_without_quorum, {NO_SWITCH: False, FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _promoted_while_alone, {NOT_PROMOTED: False, NO_SWITCH: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _lone_never_saw_it, {SDOWN: False, NO_SWITCH: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _lone_silent, {SDOWN: None, NO_SWITCH: None, FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _quorum_back_too_soon, {HELD: False}),
    ("ha-suite.jsonl.gz", "quorum_safety", _never_switched, {FAILED_OVER: None, NO_SWITCH: True}),
]


def _verdicts(got: dict) -> dict:
    # Checks whose name carries a measured number (a window's length) are matched by prefix.
    return {c["check"].split(" (")[0] if c["check"].startswith(NOT_PROMOTED) else c["check"]: c["ok"]
            for c in got["checks"]}


@pytest.mark.parametrize("name, scenario, edit, want", CASES,
                         ids=[f"{s}-{e.__name__.strip('_')}" for _, s, e, _ in CASES])
def test_the_check_that_watches_for_the_failure_turns(tmp_path, name, scenario, edit, want):
    meta, records = _of_run(name, scenario)
    untouched = _verdicts(judgement(tmp_path, [meta] + records, scenario))
    got = _verdicts(judgement(tmp_path, [meta] + edit(records), scenario))
    assert all(untouched[c] is True for c in want), "the recorded run passes every check edited here"
    assert {c: got.get(c, "absent") for c in want} == want
