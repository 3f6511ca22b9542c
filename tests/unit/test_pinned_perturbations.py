"""Every fact a judge reads must matter: each observed value of a recorded run (a TTL, an
offset, a count of ASK replies, a link state, a retry's sleep) is nudged, one at a time, to
the values around it and to the edges (0, 1, n - 1, n + 1, the empty string, the empty list,
the other boolean), and the scenario is judged again. The verdict of every check on every
nudged history is pinned in tests/data/pinned-perturbations/, so a judge whose comparison,
bound or conjunction changes (``>`` for ``>=``, ``or`` for ``and``, ``1`` for ``0``) fails
here even when the recorded run sits far from that edge.

The runs judged are the scenarios' own small runs, and in larger ones the records a run
holds few of (a layout restore, a fill, a resync); a time series is left to
test_pinned_edits. After an intended change: VALKEY_LAB_REPIN=1 pytest
tests/unit/test_pinned_perturbations.py, then read the diff (each key is
``record#path=value``, each value the scenario's verdict, then each check's, as T/F/U)."""
from __future__ import annotations

import collections
import copy
import json

import pytest

from tests.helpers import ROOT, judgement, pinned
from tests.unit.test_pinned_edits import _of_run
from tests.unit.test_pinned_reports import CASES

PERTURBED = ROOT / "tests" / "data" / "pinned-perturbations"
SMALL_RUN = 120        # records: every record of a run this small is perturbed
MAX_RECORDS = 3000     # larger runs are judged on their few records only (each judgement costs)
FEW = 3                # "few": a (kind, f) the run holds at most this many of
SERIES = 40            # in a larger run, a series this short (retries, switches) has its ends nudged
MAX_LIST = 6           # the elements of longer lists are not perturbed one by one
MAX_KEYS = 30          # of a larger map (one entry per key written), only its first entries are
FIRST = 2              # ... and of a series (a group of more than FEW), its first and last records
LETTER = {True: "T", False: "F", None: "U"}


def _nudges(x):
    """The values next to ``x`` and at the edges, none equal to it."""
    if isinstance(x, bool):
        out = [not x]
    elif isinstance(x, int):
        out = [0, 1, x - 1, x + 1]
    elif isinstance(x, float):
        out = [0.0, round(x / 2, 6), round(x * 2, 6), round(x + 1, 6)]
    elif isinstance(x, str):
        out = ["", x + "?"]
    elif x is None:
        out = [1]
    elif isinstance(x, list):
        out = [[]] + ([x[:-1]] if len(x) > 1 else [])
    elif isinstance(x, dict):
        out = [{}]
    else:
        out = []
    seen, kept = set(), []
    for v in out:
        key = json.dumps(v, sort_keys=True)
        if v != x or type(v) is not type(x):
            if key not in seen:
                seen.add(key)
                kept.append(v)
    return kept


def _leaves(x, path=()):
    """(path, value) of ``x`` and everything inside it worth nudging."""
    yield path, x
    if isinstance(x, dict):
        for k in sorted(x, key=str)[:len(x) if len(x) <= MAX_KEYS else FIRST]:
            yield from _leaves(x[k], path + (k,))
    elif isinstance(x, list) and len(x) <= MAX_LIST:
        for i, v in enumerate(x):
            yield from _leaves(v, path + (i,))


def _set(rec, path, value):
    out = copy.deepcopy(rec)
    target = out
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return out


def _perturbed(records):
    """(label, records) for each nudge of each fact of the chosen records."""
    groups = collections.defaultdict(list)
    for i, rec in enumerate(records):
        groups[(rec["kind"], rec.get("f"))].append(i)
    small = len(records) <= SMALL_RUN
    for i, rec in enumerate(records):
        group = groups[(rec["kind"], rec.get("f"))]
        if len(group) > FEW and ((not small and len(group) > SERIES) or i not in group[:FIRST] + group[-1:]):
            continue
        if rec["kind"] == "client" and rec["type"] == "invoke":
            continue  # what was asked; the completion is what the server said
        fields = {k: rec[k] for k in ("value", "replicated", "node") if k in rec}
        for path, x in _leaves(fields):
            if not path:
                continue
            for v in _nudges(x):
                label = f"{i}:{rec.get('f')}#{'.'.join(map(str, path))}={json.dumps(v, sort_keys=True)[:40]}"
                yield label, records[:i] + [_set(rec, path, v)] + records[i + 1:]


def _signature(got: dict) -> str:
    if got.get("error"):
        return "E:" + str(got["error"]).split(":")[0]
    return LETTER[got["valid"]] + ":" + "".join(LETTER[c["ok"]] for c in got["checks"])


def _cases():
    for name, scenario in CASES:
        if len(_of_run(name, scenario)[1]) <= MAX_RECORDS:
            yield name, scenario


PERTURBATION_CASES = list(_cases())


@pytest.mark.parametrize("name, scenario", PERTURBATION_CASES,
                         ids=[f"{n.split('.')[0]}-{s}" for n, s in PERTURBATION_CASES])
def test_every_fact_a_judge_reads_is_judged_as_pinned_when_nudged(tmp_path, name, scenario):
    meta, records = _of_run(name, scenario)
    got = {label: _signature(judgement(tmp_path, [meta] + edited, scenario))
           for label, edited in _perturbed(records)}
    want = pinned(PERTURBED / f"{name.split('.')[0]}-{scenario}.json", got)
    assert got == want
