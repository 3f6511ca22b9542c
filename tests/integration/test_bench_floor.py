"""The bench at the server's floor, one run each (CI): the cluster bench with the lab client's
promotion watcher, and the HA bench with the follow-promotion lane; the report has the new
figures (watcher load, ROLE-probe promotion / writable times, lag, the goals)."""
import xml.dom.minidom

from tests.helpers import ha_ports, load, run_app, valkey_processes

HA_BASE, CLUSTER_BASE = 6850, 7850  # the bench's second-lab ports


def test_bench_floor_one_cluster_run_and_one_ha_run(tmp_path):
    proc = run_app("bench.py", "--runs", "1", "--base-port", str(HA_BASE), "--cluster-base-port", str(CLUSTER_BASE),
                   "--ready-samples", "0", "--json", str(tmp_path / "bench.json"), "--svg-dir", str(tmp_path),
                   timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = load(tmp_path / "bench.json")
    assert len(report["load_average_start"]) == 3 and len(report["load_average_end"]) == 3

    ha = report["ha"]["summary"]
    assert ha["writable_s"]["n"] == 1 and 0 < ha["writable_s"]["p50"] < ha["switch_s"]["p50"]
    follow = ha["clients"]["lab client, follow promotion"]
    assert follow["after_writable_s_runs"][0] is not None
    # following the promotion beats waiting for +switch-master
    assert follow["unavailable_s"]["p50"] < ha["clients"]["lab client"]["unavailable_s"]["p50"]
    assert "follow_interval_s" in report["ha"]["clients"]["lab client, follow promotion"]["settings"]

    cluster = report["cluster"]["summary"]
    lab = cluster["clients"]["lab ClusterClient"]
    assert cluster["promotion_s"]["n"] == 1 and lab["lag_after_promotion_s_runs"][0] is not None
    assert lab["other_shards_failed"] == 0
    load_ = cluster["watcher_load"]
    assert load_["cluster_shards_calls"] > 0 and load_["per_s_runs"][0] > 0 and load_["wakeups"] >= 1
    goals = {g["goal"] for g in report["goals"]}
    assert {"cluster lab client lag after promotion p95 <= 0.05 s",
            "HA follow-promotion mode p50 unavailable_s <= replica writable + 0.1 s"} <= goals
    xml.dom.minidom.parse(str(tmp_path / "failover-cluster.svg"))
    assert valkey_processes(ha_ports(HA_BASE) + [CLUSTER_BASE + i for i in range(6)]) == []
