"""The new fault scenarios judged on histories recorded from real local runs
(tests/data/histories/generated-*.jsonl.gz: HA hung_master and client_pause, cluster
bus_partition): each passes, and editing the evidence turns the verdict as it should."""
import copy

import pytest

from valkey_lab.cluster import faults as cluster_faults
from valkey_lab.ha import faults as ha_faults
from valkey_lab.history.model import meta_of
from valkey_lab.runner.scenario import judge
from tests.helpers import recorded

HA = {s.name: s for s in ha_faults.FAULT_SCENARIOS}
CLUSTER = {s.name: s for s in cluster_faults.FAULT_SCENARIOS}


@pytest.fixture(scope="module")
def ha_run():
    return recorded("generated-ha.jsonl.gz")


@pytest.fixture(scope="module")
def cluster_run():
    return recorded("generated-cluster.jsonl.gz")


def verdict(scenarios, name, records):
    return judge(scenarios[name], records, meta_of(records)["settings"])


@pytest.mark.parametrize("name", ["hung_master", "client_pause"])
def test_the_recorded_ha_runs_pass(ha_run, name):
    result = verdict(HA, name, ha_run)
    assert result.passed, [c for c in result.checks if c["ok"] is not True] or result.error


def test_the_recorded_hung_master_figures(ha_run):
    m = verdict(HA, "hung_master", ha_run).metrics
    assert m["sleep_s"] == 10.0 and m["switch_s"] < m["sleep_s"]
    assert m["woke_still_master_s"] > 5 and m["acked_by_old_master_after_waking"] == 0


def test_a_demoted_master_that_took_the_write_fails_hung_master(ha_run):
    records = copy.deepcopy(ha_run)
    done = next(r for r in records if r.get("run") == "hung_master" and r.get("lane") == "old-master"
                and r["type"] != "invoke")
    done.update(type="ok")
    del done["error"]
    result = verdict(HA, "hung_master", records)
    assert result.valid is False and any("READONLY" in c["check"] and c["ok"] is False for c in result.checks)
    gone = [r for r in ha_run if not (r.get("run") == "hung_master" and r.get("lane") == "old-master")]
    assert verdict(HA, "hung_master", gone).valid is None  # no direct write: unknown, not a pass


def test_a_write_acknowledged_inside_the_pause_fails_client_pause(ha_run):
    records = copy.deepcopy(ha_run)
    start = next(r["time"] for r in records if r.get("run") == "client_pause" and r.get("kind") == "nemesis")
    ok = [r for r in records if r.get("run") == "client_pause" and r.get("lane") == "wait1" and r.get("type") == "ok"
          and r["time"] > start]
    ok[0]["time"] = start + 2.0  # the first write after the pause claims an answer in the middle of it
    assert verdict(HA, "client_pause", records).valid is False


def test_the_recorded_bus_partition_passes_and_needs_the_old_primarys_own_view(cluster_run):
    result = verdict(CLUSTER, "bus_partition", cluster_run)
    assert result.passed, [c for c in result.checks if c["ok"] is not True] or result.error
    m = result.metrics
    assert m["acked_after_cut"] > 0 and m["lost_after_promotion"] == 0
    assert m["old_primary_last_ok_s"] <= m["old_primary_state_fail_s"] + 0.5 < m["promotion_s"] + 0.5
    blind = [r for r in cluster_run if not (r.get("f") == "cluster-view" and r.get("node") == "node-7000")]
    assert verdict(CLUSTER, "bus_partition", blind).valid is None  # its own view unsampled: unknown
