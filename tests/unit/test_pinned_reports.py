"""Every judge, pinned: each scenario of each history recorded from a real run
(tests/data/histories) is judged as --analyze judges it, through the CLI's own code, and its
whole judgement (every check's verdict, observation, expectation and what is missing; every
metric; the details) must equal the one pinned in tests/data/pinned/. A change to a judge
that changes anything it reports fails here, which is what mutation testing needs of the
judges' metrics as much as of their verdicts.

After an intended change: VALKEY_LAB_REPIN=1 pytest tests/unit/test_pinned_reports.py, then
read the diff of tests/data/pinned/ before committing it."""
from __future__ import annotations


import pytest

from tests.helpers import ROOT, judgement, pinned, recorded

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


@pytest.mark.parametrize("name, scenario", CASES, ids=[f"{n.split('.')[0]}-{s}" for n, s in CASES])
def test_the_judgement_is_the_pinned_one(tmp_path, name, scenario):
    got = judgement(tmp_path, recorded(name, [scenario]), scenario)
    want = pinned(PINNED / f"{name.split('.')[0]}-{scenario}.json", got)
    assert got["checks"] == want["checks"]
    assert got["metrics"] == want["metrics"]
    assert got == want
