"""`make bench` with one failover per topology (CI): both halves in one run, the lab's clients
at the server's floor (the cluster client's promotion watcher, the HA follow-promotion lane),
the stock clients beside them, every figure, the goals and the pictures. The checker's cost
curve is left out (--skip-curve): it needs no server and tests/unit/test_linearizable_bench.py
covers it."""
import xml.dom.minidom

from tests.helpers import ha_ports, load, run_app, valkey_processes

HA_BASE, CLUSTER_BASE = 6850, 7850  # the bench's second-lab ports


def test_bench_one_ha_run_and_one_cluster_run(tmp_path):
    proc = run_app("bench.py", "--runs", "1", "--base-port", str(HA_BASE), "--cluster-base-port", str(CLUSTER_BASE),
                   "--ready-samples", "1", "--skip-curve", "--json", str(tmp_path / "bench.json"),
                   "--svg-dir", str(tmp_path), timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = load(tmp_path / "bench.json")
    assert len(report["load_average_start"]) == 3 and len(report["load_average_end"]) == 3
    assert report["machine"]["cpus"] >= 1 and "linearizability" not in report

    # HA
    assert report["ha"]["ready_s"]["n"] == 1
    ha = report["ha"]["summary"]
    assert ha["runs"] == 1 and ha["switch_s"]["p50"] > 0
    assert set(ha["clients"]) >= {"lab client", "lab client + WAIT 1", "stock client", "lab client, follow promotion"}
    for name in ("lab client", "lab client + WAIT 1", "stock client"):
        assert ha["clients"][name]["unavailable_s"]["p50"] >= ha["down_after_s"]  # nobody writes without a master
    assert ha["clients"]["lab client + WAIT 1"]["lost"] == 0
    assert ha["writable_s"]["n"] == 1 and 0 < ha["writable_s"]["p50"] < ha["switch_s"]["p50"]
    follow = ha["clients"]["lab client, follow promotion"]
    assert follow["after_writable_s_runs"][0] is not None
    # following the promotion beats waiting for +switch-master
    assert follow["unavailable_s"]["p50"] < ha["clients"]["lab client"]["unavailable_s"]["p50"]
    assert "follow_interval_s" in report["ha"]["clients"]["lab client, follow promotion"]["settings"]
    xml.dom.minidom.parse(str(tmp_path / "failover-ha.svg"))

    # cluster
    c = report["cluster"]
    assert c["node_timeout_ms"] == 3000 and len(c["ready_samples_s"]) == 1
    cluster = c["summary"]
    assert cluster["runs"] == 1 and cluster["promotion_s"]["n"] == 1
    clients = cluster["clients"]
    assert set(clients) >= {"lab ClusterClient", "lab ClusterClient + WAIT 1", "stock RedisCluster"}
    lab = clients["lab ClusterClient"]
    assert lab["unavailable_s"]["p50"] >= 1.0 and lab["lag_after_promotion_s_runs"][0] is not None
    assert lab["other_shards_failed"] == 0 and clients["lab ClusterClient + WAIT 1"]["lost"] == 0
    load_ = cluster["watcher_load"]
    assert load_["cluster_shards_calls"] > 0 and load_["per_s_runs"][0] > 0 and load_["wakeups"] >= 1
    svg = (tmp_path / "failover-cluster.svg").read_text()
    assert svg.startswith("<svg") and "promoted" in svg and "stock RedisCluster" in svg
    xml.dom.minidom.parse(str(tmp_path / "failover-cluster.svg"))

    goals = {g["goal"] for g in report["goals"]}
    assert {"HA ready <= 2 s (local)", "cluster lab client lag after promotion p95 <= 0.05 s",
            "HA follow-promotion mode p50 unavailable_s <= replica writable + 0.1 s"} <= goals
    assert any(g.startswith("cluster p50 unavailable_s") for g in goals)
    assert valkey_processes(ha_ports(HA_BASE) + [CLUSTER_BASE + i for i in range(6)]) == []
