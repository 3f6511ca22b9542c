"""Every judge on edited evidence: each scenario of each recorded history (the cases of
test_pinned_reports) is judged again after one edit of its own records, the edits a broken
run, a lost log, a lying client or a broken server would make: no client ops, every ok op
turned into a failure or into an unknown outcome, no server observations, no harness waits,
no faults recorded, no client events, the run cut in half; every final read finding nothing,
every node a master, the whole run four times slower.

Two things are asserted:
- less evidence never passes: an edit that removes evidence and changes any check may not
  leave the scenario valid (it must turn invalid or unknown), and no edit makes an unknown or
  invalid check pass;
- the whole edited judgement equals the one pinned in tests/data/pinned-edits/, so the judges'
  unknown and failing branches (what they say is missing, what they observed) are pinned as
  their passing ones are in test_pinned_reports. After an intended change:
  VALKEY_LAB_REPIN=1 pytest tests/unit/test_pinned_edits.py, then read the diff."""
from __future__ import annotations

import json

import pytest

from tests.helpers import ROOT, judgement, pinned, recorded
from tests.unit.test_pinned_reports import CASES, PINNED
from valkey_lab.cluster import cli as cluster_cli
from valkey_lab.ha import cli as ha_cli

EDITED = ROOT / "tests" / "data" / "pinned-edits"


def _drop(kind):
    return lambda rs: [r for r in rs if r["kind"] != kind]


def _complete_as(type_, error):
    def edit(rs):
        out = []
        for r in rs:
            if r["kind"] == "client" and r["type"] == "ok":
                r = {**r, "type": type_, "error": error}
                if type_ == "fail":
                    r.pop("value", None)
            out.append(r)
        return out
    return edit


def _first_half(rs):
    t0, t1 = rs[0]["time"], rs[-1]["time"]
    return [r for r in rs if r["time"] <= (t0 + t1) / 2]


def _reads_return_nothing(rs):
    """Every ok read found nothing: each write it covered is lost."""
    return [{**r, "value": None} if r["kind"] == "client" and r["type"] == "ok" and r["f"] == "read" else r
            for r in rs]


def _every_node_a_master(rs):
    """Every role snapshot shows each node as a master: split brain all along."""
    out = []
    for r in rs:
        if r["kind"] == "server" and r["f"] == "roles":
            nodes = {n: {**(v or {}), "role": "master"} for n, v in r["value"].get("nodes", {}).items()}
            r = {**r, "value": {**r["value"], "nodes": nodes, "masters": sorted(nodes)}}
        out.append(r)
    return out


def _four_times_slower(rs):
    """The run's clock stretched fourfold: every wait and outage four times as long."""
    t0 = rs[0]["time"]
    return [{**r, "time": t0 + 4 * (r["time"] - t0)} for r in rs]


# name -> (the record kind the run must have for the edit to mean anything, the edit)
EDITS = {
    "no-client-ops": ("client", _drop("client")),
    "ok-to-fail": ("client", _complete_as("fail", "ConnectionError: edited out")),
    "ok-to-info": ("client", _complete_as("info", "UnknownOutcome: edited out")),
    "no-server": ("server", _drop("server")),
    "no-harness": ("harness", _drop("harness")),
    "no-nemesis": ("nemesis", _drop("nemesis")),
    "no-client-events": ("client-event", _drop("client-event")),
    "first-half": (None, _first_half),
}
# Edits that falsify rather than remove: the judgement must still be the pinned one, but a
# scenario may rightly pass them (a stretched outage can stay within its bound; a register's
# violation may be explained by the fault's lost window).
FALSIFY = {
    "reads-return-nothing": ("client", _reads_return_nothing),
    "every-node-a-master": ("server", _every_node_a_master),
    "four-times-slower": (None, _four_times_slower),
}


def _of_run(name: str, scenario: str) -> tuple[dict, list[dict]]:
    """The meta record and the records of the run ``scenario`` judges (several share one)."""
    records = recorded(name, [scenario])
    cli = cluster_cli if records[0]["suite"] == "cluster" else ha_cli
    method = next((s.method for s in cli.SCENARIOS if s.name == scenario), scenario)
    return records[0], [r for r in records[1:] if r.get("run") == method or str(r.get("run")).startswith(method + ":")]


def _cases():
    for name, scenario in CASES:
        kinds = {r["kind"] for r in _of_run(name, scenario)[1]}
        for edit, (needs, _) in {**EDITS, **FALSIFY}.items():
            if needs is None or needs in kinds:
                yield name, scenario, edit


EDIT_CASES = list(_cases())


@pytest.mark.parametrize("name, scenario, edit", EDIT_CASES,
                         ids=[f"{n.split('.')[0]}-{s}-{e}" for n, s, e in EDIT_CASES])
def test_an_edit_of_the_evidence_never_passes_and_is_judged_as_pinned(tmp_path, name, scenario, edit):
    meta, records = _of_run(name, scenario)
    got = judgement(tmp_path, [meta] + {**EDITS, **FALSIFY}[edit][1](records), scenario)
    original = json.loads((PINNED / f"{name.split('.')[0]}-{scenario}.json").read_text())
    if edit in EDITS and got["checks"] != original["checks"]:
        assert got["valid"] is not True, f"{edit} changed the checks and {scenario} still passes"
    before = {c["check"]: c["ok"] for c in original["checks"]}
    for c in got["checks"]:
        if c["ok"] is True and c["check"] in before:
            assert before[c["check"]] is True, f"{edit} made {c['check']!r} pass"
    want = pinned(EDITED / f"{name.split('.')[0]}-{scenario}-{edit}.json", got)
    assert got["checks"] == want["checks"]
    assert got == want
