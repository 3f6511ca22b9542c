"""The cluster suite on the local backend: six real valkey-server processes, real SIGKILLs.
Runs the app in-process (for coverage) and as a user would (exit codes, one-line errors)."""
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, assert_one_line_error, load, run_app, valkey_processes

SCENARIOS = ["topology", "slot_placement", "moved_redirect", "ask_redirect", "shard_distribution",
             "primary_failover", "rejoin"]
BASE = 7200  # away from the default 7100, so a user's own local run does not collide


def cluster_ports(base: int) -> list[int]:
    return [base + i for i in range(6)] + [base + 10000 + i for i in range(6)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import cluster_test
    path = tmp_path_factory.mktemp("cluster") / "report.json"
    code = cluster_test.main(["--backend", "local", "--base-port", str(BASE), "--json", str(path), "--quiet"])
    data = load(path)
    data["exit_code"] = code
    return data


def by_name(report) -> dict:
    return {s["name"]: s for s in report["scenarios"]}


def test_every_scenario_passes_and_the_suite_exits_0(report):
    failed = [(s["name"], [c for c in s["checks"] if not c["ok"]], s["error"]) for s in report["scenarios"]
              if not s["passed"]]
    assert not failed
    assert report["exit_code"] == 0 and report["passed"]
    assert [s["name"] for s in report["scenarios"]] == SCENARIOS


def test_report_shape(report):
    assert report["suite"] == "cluster" and report["backend"] == "local"
    assert report["valkey_version"][0].isdigit()
    assert report["node_timeout_ms"] == 3000
    assert report["init"]["changed"] and report["init"]["output"][-1].startswith("init: formed and healthy")
    assert report["nodes"]["node-7000"] == f"127.0.3.1:{BASE}"  # each node its own loopback address


def test_topology_table_lists_the_deterministic_layout(report):
    rows = {r["node"]: r for r in by_name(report)["topology"]["details"]["nodes"]}
    assert [rows[n]["slots"] for n in ("node-7000", "node-7001", "node-7002")] == ["0-5460", "5461-10922",
                                                                                     "10923-16383"]
    assert {n: rows[n]["replica_of"] for n in ("node-7003", "node-7004", "node-7005")} == \
        {"node-7003": "node-7000", "node-7004": "node-7001", "node-7005": "node-7002"}
    assert by_name(report)["topology"]["metrics"]["slots_covered"] == 16384


def test_redirect_metrics_are_real(report):
    s = by_name(report)
    assert s["slot_placement"]["metrics"]["keys"] >= 1000
    assert s["moved_redirect"]["metrics"]["moved_seen_by_client"] >= 2  # moved away and back
    ask = s["ask_redirect"]["metrics"]
    assert ask["ask_seen_by_client"] > 0 and ask["ask_seen_by_client"] == ask["server_errorstat_ask"]
    assert ask["server_cmdstat_asking"] > 0


def test_distribution_table(report):
    s = by_name(report)["shard_distribution"]
    rows = s["details"]["shards"]
    assert len(rows) == 3 and sum(r["keys"] for r in rows) == s["metrics"]["keys"] == 3000
    assert all(r["replica_keys"] == r["keys"] for r in rows)
    assert s["metrics"]["max_share_deviation"] <= s["metrics"]["tolerance"]


def test_failover_metrics(report):
    m = by_name(report)["primary_failover"]["metrics"]
    # The dead shard is down for about node-timeout + an election (measured ~1.8x node-timeout).
    assert 3.0 <= m["unavailable_s"] <= 12 and m["promotion_s"] <= m["unavailable_s"] + 0.5
    assert m["wait_1_writes_lost"] == 0
    assert all(w["fail"] == 0 for w in m["writes"].values())
    assert m["acked_writes_lost"] >= 0 and m["pfail_s"] <= m["fail_s"] <= m["promotion_s"]
    assert m["retries_on_dead_shard"] >= 1
    assert min(m["writes"]["node-7001"]["ok"], m["writes"]["node-7002"]["ok"]) > m["writes"]["node-7000"]["ok"]
    r = by_name(report)["rejoin"]["metrics"]
    assert r["rejoin_s"] is not None and r["rejoin_s"] >= 0 and r["restore_s"] > 0


def test_failover_timeline_shows_flags_and_epochs(report):
    s = by_name(report)["primary_failover"]
    events = [(e["event"], e["node"]) for e in s["details"]["timeline"]]
    assert ("fail", "node-7000") in events and ("promoted", "node-7003") in events
    assert ("configEpoch", "node-7003") in events and ("currentEpoch", "cluster") in events
    assert all("t_s" in e for e in s["details"]["timeline"])


def test_fault_scenarios_are_not_in_a_plain_run(report):
    assert not {"pause", "partition", "manual", "chained", "shard_loss"} & {s["name"] for s in report["scenarios"]}


def test_suite_fits_its_time_budget(report):
    assert report["duration_s"] <= 120


def test_nothing_left_running_after_the_suite(report):
    assert valkey_processes(cluster_ports(BASE)) == []


def test_single_scenario_runs_what_it_needs(tmp_path):
    proc = run_app("cluster_test.py", "--backend", "local", "--base-port", str(BASE), "--scenario", "rejoin",
                   "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert [s["name"] for s in load(tmp_path / "r.json")["scenarios"]] == ["primary_failover", "rejoin"]
    assert valkey_processes(cluster_ports(BASE)) == []


# ------------------------------------------------------------------------ bad input
def test_unknown_scenario():
    assert_one_line_error(run_app("cluster_test.py", "--scenario", "nope"), "unknown scenario nope", "choose from")


def test_port_in_use_is_reported_and_nothing_is_left_running():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.3.3", BASE + 2))  # node-7002's own loopback address and port
        s.listen()
        assert_one_line_error(run_app("cluster_test.py", "--backend", "local", "--base-port", str(BASE)),
                              f"127.0.3.3:{BASE + 2}", "already in use")
    assert valkey_processes(cluster_ports(BASE)) == []


def test_bus_port_in_use_is_reported():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.3.5", BASE + 10004))
        s.listen()
        assert_one_line_error(run_app("cluster_test.py", "--backend", "local", "--base-port", str(BASE)),
                              f"127.0.3.5:{BASE + 10004}", "cluster bus")
    assert valkey_processes(cluster_ports(BASE)) == []


@pytest.mark.parametrize("port", ["80", "60000"])
def test_base_port_out_of_range(port):
    assert_one_line_error(run_app("cluster_test.py", "--backend", "local", "--base-port", port), "out of range")


def test_docker_backend_without_an_engine():
    proc = run_app("cluster_test.py", "--backend", "docker", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert_one_line_error(proc, "Docker")


def test_interrupt_stops_everything():
    proc = subprocess.Popen([sys.executable, str(ROOT / "app/cluster_test.py"), "--backend", "local",
                             "--base-port", str(BASE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(valkey_processes(cluster_ports(BASE))) < 6:
        time.sleep(0.05)
    assert len(valkey_processes(cluster_ports(BASE))) == 6
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert valkey_processes(cluster_ports(BASE)) == []
