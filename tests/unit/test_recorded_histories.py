"""The scenario checks, judged on histories recorded from real runs (tests/data/histories):
every verdict is a pure function of the history, so it can be pinned down without a server,
and a tampered history must change it."""
import copy

import pytest

from valkey_lab.runner.scenario import judge
from valkey_lab.history.model import meta_of
from valkey_lab.cluster import scenarios as cluster
from valkey_lab.ha import scenarios as ha
from valkey_lab.ha import faults as ha_faults
from tests.helpers import recorded

SCENARIOS = {s.name: s for s in ha.SCENARIOS + ha_faults.FAULT_SCENARIOS}
CLUSTER = {s.name: s for s in cluster.SCENARIOS}


def verdict(scenarios: dict, name: str, records: list[dict]):
    return judge(scenarios[name], records, meta_of(records)["settings"])


@pytest.fixture(scope="module")
def ha_run():
    return recorded("ha-suite.jsonl.gz")


@pytest.fixture(scope="module")
def partition_run():
    return recorded("ha-partition.jsonl.gz")


@pytest.fixture(scope="module")
def cluster_run():
    return recorded("cluster-failover.jsonl.gz")


@pytest.mark.parametrize("name", list(ha.METHODS) + ["discovery", "retry_backoff", "consistency", "rejoin"])
def test_every_ha_scenario_passes_on_its_recorded_history(ha_run, name):
    result = verdict(SCENARIOS, name, ha_run)
    assert result.passed, [c for c in result.checks if not c["ok"]] or result.error


def test_the_failover_figures_come_from_the_history(ha_run):
    m = verdict(SCENARIOS, "failover", ha_run).metrics
    assert m["old_master"] != m["new_master"]
    assert m["down_after_s"] <= m["unavailable_s"] <= 20 and m["switch_s"] <= m["unavailable_s"] + 0.1
    c = verdict(SCENARIOS, "consistency", ha_run).metrics
    assert c["lost_wait_1"] == 0 and c["acknowledged"] > 0


def test_a_partition_history_shows_real_loss_and_the_guard(partition_run):
    result = verdict(SCENARIOS, "partition", partition_run)
    assert result.passed, [c for c in result.checks if not c["ok"]]
    m = result.metrics
    assert m["lost_acked_without_min_replicas"] > m["lost_acked_with_min_replicas"] >= 0
    assert m["lost_wait_acked_without"] == 0 and m["lost_wait_acked_with"] == 0


@pytest.mark.parametrize("name", ["primary_failover", "rejoin"])
def test_the_cluster_failover_passes_on_its_recorded_history(cluster_run, name):
    result = verdict(CLUSTER, name, cluster_run)
    assert result.passed, [c for c in result.checks if not c["ok"]] or result.error


# -- tampering: each edit must turn a pass into a fail -------------------------------------
def edited(records, pick, change):
    """A copy of ``records`` with ``change`` applied to the first record ``pick`` chooses
    (``pick(records)`` returns a predicate, built once)."""
    out = copy.deepcopy(records)
    chosen = pick(out)
    change(next(r for r in out if chosen(r)))
    return out


def _acked(lane):
    """An ok write of ``lane`` that a replica acknowledged and whose value is read back."""
    def pick(records):
        finals = {x["key"]: x["value"] for x in records if x.get("kind") == "client" and x["type"] == "ok"
                  and x["f"] == "read"}
        return lambda r: (r.get("kind") == "client" and r["type"] == "ok" and r["f"] == "write"
                          and r.get("lane") == lane and (r.get("replicated") or 0) >= 1
                          and finals.get(r["key"]) == r["value"])
    return pick


def _final_read_of(write_pick):
    def pick(records):
        target = next(x for x in records if write_pick(records)(x))
        return lambda r: r.get("kind") == "client" and r["type"] == "ok" and r["f"] == "read" and r["key"] == target["key"]
    return pick


def test_nulling_the_final_read_of_an_acknowledged_key_is_reported_lost(ha_run):
    bad = edited(ha_run, _final_read_of(_acked("wait1")), lambda r: r.update(value=None))
    result = verdict(SCENARIOS, "consistency", bad)
    assert not result.passed and result.metrics["lost_wait_1"] == 1


def test_a_failed_write_found_applied_invalidates_the_run(ha_run):
    bad = edited(ha_run, _acked("wait1"), lambda r: r.update(type="fail"))
    result = verdict(SCENARIOS, "consistency", bad)
    failed = [c for c in result.checks if not c["ok"]]
    assert failed and any(c["observed"].get("fail_applied") == 1 for c in failed if isinstance(c["observed"], dict))


def test_a_switch_that_stays_on_the_killed_master_is_caught(ha_run):
    victim = next(r for r in ha_run if r.get("kind") == "nemesis" and r["phase"] == "start")["params"]["addresses"][0]
    host, port = victim.split(":")
    bad = copy.deepcopy(ha_run)
    for r in bad:
        if r.get("f") == "sentinel-event" and r["value"]["event"] == "+switch-master":
            parts = r["value"]["data"].split()
            r["value"]["data"] = " ".join(parts[:3] + [host, port])
    assert not verdict(SCENARIOS, "failover", bad).passed


def test_a_write_acknowledged_before_down_after_is_caught(ha_run):
    """An ok write completing before Sentinel could act would mean a second master."""
    t = next(r for r in ha_run if r.get("kind") == "nemesis" and r["phase"] == "start")["time"]
    bad = copy.deepcopy(ha_run)
    first_after = next(r for r in bad if r.get("kind") == "client" and r["type"] == "invoke" and r.get("lane") == "wait1"
                       and r["time"] >= t)
    done = next(r for r in bad if r.get("kind") == "client" and r["process"] == first_after["process"]
                and r["type"] != "invoke" and r["time"] >= first_after["time"])
    done.update(type="ok", time=t + 0.5)
    assert not verdict(SCENARIOS, "failover", bad).passed


def test_a_lost_write_on_the_promoted_shard_is_caught(cluster_run):
    bad = edited(cluster_run, _final_read_of(_acked("node-7000")), lambda r: r.update(value=None))
    assert not verdict(CLUSTER, "primary_failover", bad).passed
