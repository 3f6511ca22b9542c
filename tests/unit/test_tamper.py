"""Edit a recorded history and the verdict must turn: missing evidence is unknown (exit 3),
never a pass; a violation is invalid (exit 1). Judged as --analyze judges, through the CLI's
own code, on histories recorded from real runs (tests/data/histories)."""
from __future__ import annotations

import pytest

from tests.helpers import analyze, recorded as load
from valkey_lab.cluster import cli as cluster_cli
from valkey_lab.ha import cli as ha_cli


def by_check(report: dict) -> dict:
    return {c["check"]: c for s in report["scenarios"] for c in s["checks"]}


HA = ("failover", "consistency", "quorum_safety")


def ha_run():
    return load("ha-suite.jsonl.gz", HA)


def remove_final_read(records: list[dict], lane: str) -> str:
    """Drop the final read (invoke and completion) of one acknowledged key of ``lane``."""
    acked = next(r["key"] for r in records if r.get("kind") == "client" and r.get("type") == "ok"
                 and r.get("f") == "write" and r.get("lane") == lane and (r.get("replicated") or 0) >= 1)
    proc = next(r["process"] for r in records if r.get("kind") == "client" and r.get("type") == "ok"
                and r.get("f") == "read" and r.get("key") == acked)
    reads = [r for r in records if r.get("kind") == "client" and r.get("process") == proc]
    # a final-read process reads several keys in turn: remove only this key's invoke + completion
    for r in [r for r in reads if r.get("key") == acked]:
        records.remove(r)
    return acked


def double_an_incr(records: list[dict]) -> None:
    """Record one ok INCR a second time, by a process nobody else uses."""
    done = next(r for r in records if r.get("kind") == "client" and r.get("f") == "incr" and r.get("type") == "ok"
                and r.get("lane") == "counter")
    invoke = max((r for r in records if r.get("kind") == "client" and r.get("process") == done["process"]
                  and r["type"] == "invoke" and r["time"] <= done["time"]), key=lambda r: r["time"])
    fresh = 1 + max(r["process"] for r in records if isinstance(r.get("process"), int))
    i = records.index(done)
    records[i + 1:i + 1] = [{**invoke, "process": fresh, "time": done["time"] + 1e-6},
                            {**done, "process": fresh, "time": done["time"] + 2e-6}]


def test_the_untouched_ha_history_passes(tmp_path):
    code, report = analyze(tmp_path, ha_cli.main, ha_run())
    assert code == 0, [c for c in by_check(report).values() if c["ok"] is not True]
    assert report["status"] == "pass"


def test_a_missing_final_read_is_unknown_not_a_pass(tmp_path):
    records = ha_run()
    key = remove_final_read(records, "wait1")
    code, report = analyze(tmp_path, ha_cli.main, records)
    assert code == 3 and report["status"] == "unknown"
    undecided = [c for c in by_check(report).values() if c["ok"] is None]
    assert any(key in str(c["missing"]) for c in undecided), undecided
    assert all(c["ok"] is not False for c in by_check(report).values())


def test_an_incr_recorded_twice_is_invalid(tmp_path):
    records = ha_run()
    double_an_incr(records)
    code, report = analyze(tmp_path, ha_cli.main, records)
    assert code == 1
    counter = next(c for c in by_check(report).values() if c["check"].startswith("no INCR applied twice"))
    assert counter["ok"] is False and counter["observed"]["duplicate_results"]


def test_quorum_safety_without_its_observations_is_unknown(tmp_path):
    records = [r for r in ha_run() if not (r.get("run") == "quorum_safety" and r.get("kind") == "server"
                                           and r.get("f") in ("roles", "sentinels"))]
    code, report = analyze(tmp_path, ha_cli.main, records)
    assert code == 3
    q = next(s for s in report["scenarios"] if s["name"] == "quorum_safety")
    assert q["status"] == "unknown"
    assert any("role snapshots" in (c.get("missing") or "") for c in q["checks"])


def test_discovery_without_a_switch_is_not_a_pass(tmp_path):
    records = [r for r in load("ha-suite.jsonl.gz", ["failover", "discovery"])
               if not (r.get("f") == "sentinel-event" and r["value"]["event"] == "+switch-master")]
    code, report = analyze(tmp_path, ha_cli.main, records)
    disc = next(s for s in report["scenarios"] if s["name"] == "discovery")
    assert disc["status"] != "pass" and code in (1, 3)
    assert not any(c["ok"] is True for c in disc["checks"] if "names the master" in c["check"]
                   or "only it" in c["check"] or "connected to it" in c["check"])


def test_a_write_surviving_the_split_brain_fails_the_partition(tmp_path):
    """The split-brain check compares the writes the isolated master acknowledged after the
    switch with what the final reads found: one survivor turns it."""
    records = load("ha-partition.jsonl.gz")
    run = "partition:without"
    switch = next(r["time"] for r in records if r.get("run") == run and r.get("f") == "sentinel-event"
                  and r["value"]["event"] == "+switch-master")
    late = next(r for r in records if r.get("run") == run and r.get("kind") == "client" and r.get("lane") == "stale"
                and r["type"] == "ok" and r["time"] > switch)
    read = next(r for r in records if r.get("kind") == "client" and r["type"] == "ok" and r.get("f") == "read"
                and r.get("key") == late["key"])
    read["value"] = late["value"]
    code, report = analyze(tmp_path, ha_cli.main, records)
    assert code == 1
    bad = [c for c in by_check(report).values() if c["ok"] is False]
    assert any("after the switch was lost" in c["check"] for c in bad), bad


# -- the same edits on a cluster history -------------------------------------------------------
def cluster_run():
    return load("cluster-failover.jsonl.gz")


def test_the_untouched_cluster_history_passes(tmp_path):
    code, report = analyze(tmp_path, cluster_cli.main, cluster_run())
    assert code == 0, [c for c in by_check(report).values() if c["ok"] is not True]


def test_a_missing_final_read_of_the_cluster_is_unknown(tmp_path):
    records = cluster_run()
    remove_final_read(records, "node-7000")
    code, report = analyze(tmp_path, cluster_cli.main, records)
    assert code == 3 and report["status"] == "unknown"


def test_the_cluster_without_its_sampled_views_is_unknown(tmp_path):
    records = [r for r in cluster_run() if r.get("f") != "cluster-view"]
    code, report = analyze(tmp_path, cluster_cli.main, records)
    assert code == 3
    assert any("sampled" in (c.get("missing") or "") for c in by_check(report).values())


def test_a_cluster_incr_recorded_twice_is_invalid(tmp_path):
    records = cluster_run()
    if not any(r.get("f") == "incr" for r in records):
        pytest.skip("this recorded cluster history has no counter lane")
    double_an_incr(records)
    code, _ = analyze(tmp_path, cluster_cli.main, records)
    assert code == 1
