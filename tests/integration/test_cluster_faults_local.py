"""The cluster's fault scenarios and --watch on the local backend (the bench: test_bench_floor.py): real
valkey-server processes, real SIGSTOP / SIGKILL, real iptables partitions (own 127.0.3.x
address per node)."""
import json
import signal
import subprocess
import sys

import pytest
import redis

from tests.helpers import ROOT, load, valkey_processes

BASE = 7300  # clear of test_cluster_local's 7200 and the default 7100
FAULTS = ["pause", "partition", "manual", "chained", "shard_loss"]


def cluster_ports(base: int) -> list[int]:
    return [base + i for i in range(6)] + [base + 10000 + i for i in range(6)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import cluster_test
    path = tmp_path_factory.mktemp("cluster-faults") / "report.json"
    args = ["--backend", "local", "--base-port", str(BASE), "--json", str(path), "--quiet"]
    for name in FAULTS:
        args += ["--scenario", name]
    code = cluster_test.main(args)
    data = load(path)
    data["exit_code"] = code
    return data


def by_name(report) -> dict:
    return {s["name"]: s for s in report["scenarios"]}


def test_fault_scenarios_pass(report):
    failed = [(s["name"], [c for c in s["checks"] if not c["ok"]], s["error"]) for s in report["scenarios"]
              if not s["passed"]]
    assert not failed and report["exit_code"] == 0
    assert [s["name"] for s in report["scenarios"]] == FAULTS  # suite order, nothing else run


def test_every_fault_scenario_restores_the_layout(report):
    for s in report["scenarios"]:
        assert any("deterministic layout is back" in c["check"] and c["ok"] for c in s["checks"]), s["name"]


def test_pause_fails_over_and_the_paused_primary_returns_as_replica(report):
    m = by_name(report)["pause"]["metrics"]
    assert m["promotion_s"] >= 3.0  # a silent node is only failed after node-timeout
    assert m["wait_1_writes_lost"] == 0 and m["rejoin_s"] < 30


def test_partition_loses_acknowledged_writes_but_not_waited_ones(report):
    m = by_name(report)["partition"]["metrics"]
    assert m["lost_acked_without_min_replicas"] > 0  # the split brain is shown, not hidden
    assert m["lost_wait_acked_without"] == 0 and m["lost_wait_acked_with"] == 0
    assert m["isolated_last_ok_with_s"] <= m["min_replicas_max_lag_s"] + 2
    without = by_name(report)["partition"]["details"]["rounds"][0]
    assert without["minority_state_fail_s"] is not None and without["promotion_s"] is not None


def test_manual_failover_loses_nothing_and_is_fast(report):
    m = by_name(report)["manual"]["metrics"]
    assert m["acked_writes_lost"] == 0 and m["moved_on_dead_shard"] > 0 and m["unavailable_s"] < 3.0


def test_chained_and_shard_loss_keep_other_shards_serving(report):
    chained = by_name(report)["chained"]
    assert chained["metrics"]["second_fail_detected_s"] >= 1.0
    assert any("nobody took over" in c["check"] and c["ok"] for c in chained["checks"])
    loss = by_name(report)["shard_loss"]
    assert min(loss["metrics"]["writes_ok_other_shards"].values()) > 100
    assert any("fails on a lost slot with an error, within its budget" in c["check"] and c["ok"]
               for c in loss["checks"])


def test_nothing_left_behind(report):
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert "VALKEY_CLUSTER_" not in rules
    assert valkey_processes(cluster_ports(BASE)) == []


def test_watch_reports_a_failover_injected_by_hand_and_stops_cleanly(tmp_path):
    """--watch: the user SIGKILLs node-7000 from outside; Ctrl-C prints what was seen."""
    from valkey_lab.util import password, wait_for
    out_json = tmp_path / "watch.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "app/cluster_test.py"), "--backend", "local", "--base-port",
                             str(BASE), "--watch", "--json", str(out_json)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    heir = redis.Redis("127.0.3.4", BASE + 3, password=password(), socket_timeout=0.5, decode_responses=True)
    first = redis.Redis("127.0.3.1", BASE, password=password(), socket_timeout=0.5, decode_responses=True)
    try:
        wait_for(lambda: first.dbsize() >= 10, "the dashboard's writers to be writing", 60)
        first.close()
        victim = next(line.split()[0] for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                      text=True).stdout.splitlines() if f"valkey-server 127.0.3.1:{BASE}" in line)
        subprocess.run(["kill", "-9", victim], check=True)  # the user's fault, from another terminal
        wait_for(lambda: "myself,master" in heir.execute_command("CLUSTER", "NODES"), "node-7003 promoted", 30)
        wait_for(lambda: heir.dbsize() >= 1 and proc.poll() is None, "the dashboard to keep running", 5)
    finally:
        heir.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    data = json.loads(out_json.read_text())
    assert data["mode"] == "watch"
    assert [(c["from"], c["to"]) for c in data["master_changes"]] == [("node-7000", "node-7003")]
    assert any(e["event"] == "fail" for e in data["events"]) and any(e["event"] == "promoted" for e in data["events"])
    assert data["outages"] and data["outages"][0]["seconds"] >= 2.0
    assert data["writes_by_shard"]["node-7001"]["fail"] == 0
    assert "outages" in out and valkey_processes(cluster_ports(BASE)) == []
