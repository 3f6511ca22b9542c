"""Every judge, pinned: each scenario of each history recorded from a real run
(tests/data/histories) is judged as --analyze judges it, through the CLI's own code, and its
whole judgement (every check's verdict, observation, expectation and what is missing; every
metric; the details) must equal the one pinned in tests/data/pinned/. A change to a judge
that changes anything it reports fails here, which is what mutation testing needs of the
judges' metrics as much as of their verdicts.

After an intended change: VALKEY_LAB_REPIN=1 pytest tests/unit/test_pinned_reports.py, then
read the diff of tests/data/pinned/ before committing it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import ROOT, analyze, recorded
from valkey_lab.cluster import cli as cluster_cli
from valkey_lab.ha import cli as ha_cli

PINNED = ROOT / "tests" / "data" / "pinned"
CASES = [
    ("ha-suite.jsonl.gz", "crud"), ("ha-suite.jsonl.gz", "failover"), ("ha-suite.jsonl.gz", "discovery"),
    ("ha-suite.jsonl.gz", "retry_backoff"), ("ha-suite.jsonl.gz", "consistency"),
    ("ha-suite.jsonl.gz", "replica_sync"), ("ha-suite.jsonl.gz", "rejoin"), ("ha-suite.jsonl.gz", "quorum_safety"),
    ("ha-partition.jsonl.gz", "partition"),
    ("generated-ha.jsonl.gz", "hung_master"), ("generated-ha.jsonl.gz", "client_pause"),
    ("ha-bandwidth.jsonl.gz", "bandwidth"),
    ("cluster-failover.jsonl.gz", "primary_failover"), ("cluster-failover.jsonl.gz", "rejoin"),
    ("generated-cluster.jsonl.gz", "bus_partition"),
    *[("ha-faults.jsonl.gz", s) for s in ("pause", "manual", "chained")],
    *[("ha-linearizable.jsonl.gz", s) for s in ("linearizable_kill", "linearizable_partition")],
    *[("ha-generated.jsonl.gz", s) for s in ("loss", "one_way", "sentinel_stall")],
    ("ha-random.jsonl.gz", "random"),
    *[("cluster-suite.jsonl.gz", s) for s in ("topology", "slot_placement", "moved_redirect", "ask_redirect",
                                              "shard_distribution")],
    *[("cluster-faults.jsonl.gz", s) for s in ("pause", "partition", "manual", "chained", "shard_loss")],
    *[("cluster-linearizable.jsonl.gz", s) for s in ("linearizable_kill", "linearizable_partition")],
    ("cluster-generated.jsonl.gz", "loss"),
    ("cluster-random.jsonl.gz", "random"),
]


def judgement(tmp_path: Path, name: str, scenario: str) -> dict:
    records = recorded(name, [scenario])
    _, report = analyze(tmp_path, cluster_cli.main if records[0]["suite"] == "cluster" else ha_cli.main, records)
    s = next(s for s in report["scenarios"] if s["name"] == scenario)
    return {k: s.get(k) for k in ("name", "status", "valid", "passed", "checks", "metrics", "details", "error")}


# What the judging itself measures (the linearizability check's own seconds) is not of the run.
CLOCKED = {"checker_s"}


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in CLOCKED}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


@pytest.mark.parametrize("name, scenario", CASES, ids=[f"{n.split('.')[0]}-{s}" for n, s in CASES])
def test_the_judgement_is_the_pinned_one(tmp_path, name, scenario):
    got = stable(json.loads(json.dumps(judgement(tmp_path, name, scenario), sort_keys=True, default=str)))
    pinned = PINNED / f"{name.split('.')[0]}-{scenario}.json"
    if os.environ.get("VALKEY_LAB_REPIN") == "1" or not pinned.exists():
        if os.environ.get("CI") and not pinned.exists():
            pytest.fail(f"{pinned.name} is not pinned (VALKEY_LAB_REPIN=1 writes it)")
        pinned.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(pinned.read_text())
    assert got["checks"] == want["checks"]
    assert got["metrics"] == want["metrics"]
    assert got == want
