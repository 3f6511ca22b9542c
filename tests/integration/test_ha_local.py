"""The HA suite on the local backend: real valkey-server / valkey-sentinel processes,
real SIGKILLs. Runs the app in-process (for coverage) and as a user would (exit codes)."""
import socket

import pytest

from tests.helpers import ROOT, assert_one_line_error, ha_ports, load, run_app, valkey_processes

SCENARIOS = ["crud", "failover", "discovery", "retry_backoff", "consistency", "replica_sync", "rejoin",
             "quorum_safety"]
BASE = 6490  # away from the default 6390, so a user's own local run does not collide


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import ha_test
    path = tmp_path_factory.mktemp("ha") / "report.json"
    code = ha_test.main(["--backend", "local", "--base-port", str(BASE), "--json", str(path), "--quiet"])
    data = load(path)
    data["exit_code"] = code
    return data


def test_every_scenario_passes_and_the_suite_exits_0(report):
    failed = [(s["name"], [c for c in s["checks"] if not c["ok"]], s["error"]) for s in report["scenarios"]
              if not s["passed"]]
    assert not failed
    assert report["exit_code"] == 0 and report["passed"]
    assert [s["name"] for s in report["scenarios"]] == SCENARIOS


def test_report_shape_and_metrics(report):
    assert report["suite"] == "ha" and report["backend"] == "local" and report["valkey_version"][0].isdigit()
    by = {s["name"]: s for s in report["scenarios"]}
    fo = by["failover"]["metrics"]
    assert 0 < fo["switch_s"] < 15 and 0 < fo["unavailable_s"] < 20 and fo["old_master"] != fo["new_master"]
    assert by["consistency"]["metrics"]["lost_wait_1"] == 0 and by["consistency"]["metrics"]["acknowledged"] > 0
    assert by["retry_backoff"]["metrics"]["retries"] >= 1
    assert by["quorum_safety"]["metrics"]["held_without_promotion_s"] >= 6
    events = [e["event"] for e in by["failover"]["details"]["timeline"]]
    assert "+sdown" in events and "+odown" in events and "+switch-master" in events


def test_suite_fits_its_time_budget(report):
    assert report["duration_s"] <= 90


def test_nothing_left_running_after_the_suite(report):
    assert valkey_processes(ha_ports(BASE)) == []


def test_single_scenario_runs_what_it_needs(tmp_path):
    proc = run_app("ha_test.py", "--backend", "local", "--base-port", str(BASE), "--scenario", "discovery",
                   "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [s["name"] for s in load(tmp_path / "r.json")["scenarios"]] == ["failover", "discovery"]
    assert valkey_processes(ha_ports(BASE)) == []


# ------------------------------------------------------------------------ bad input
def test_unknown_scenario():
    assert_one_line_error(run_app("ha_test.py", "--scenario", "nope"), "unknown scenario nope", "choose from")


def test_unknown_option():
    assert_one_line_error(run_app("ha_test.py", "--frobnicate"), "unrecognized arguments")


def test_port_in_use_is_reported_and_nothing_is_left_running():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.1.2", BASE + 1))  # valkey-replica1's own loopback address and port
        s.listen()
        assert_one_line_error(run_app("ha_test.py", "--backend", "local", "--base-port", str(BASE)),
                              f"127.0.1.2:{BASE + 1}", "already in use")
    assert valkey_processes(ha_ports(BASE)) == []


def test_docker_backend_without_a_stack_or_engine():
    """Either no engine answers or no HA stack runs: both are one clear line."""
    proc = run_app("ha_test.py", "--backend", "docker", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert_one_line_error(proc, "Docker")


def test_interrupt_stops_everything(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    proc = subprocess.Popen([sys.executable, str(ROOT / "app/ha_test.py"), "--backend", "local", "--base-port",
                             str(BASE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(valkey_processes(ha_ports(BASE))) < 6:
        time.sleep(0.05)
    assert len(valkey_processes(ha_ports(BASE))) == 6
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert valkey_processes(ha_ports(BASE)) == []


# ------------------------------------------------------------------ faults beyond a kill
@pytest.fixture(scope="module")
def fault_report(tmp_path_factory):
    import ha_test
    path = tmp_path_factory.mktemp("ha-faults") / "report.json"
    code = ha_test.main(["--backend", "local", "--base-port", str(BASE), "--json", str(path), "--quiet",
                         "--scenario", "pause", "--scenario", "manual", "--scenario", "chained",
                         "--scenario", "partition"])
    data = load(path)
    data["exit_code"] = code
    return data


def test_fault_scenarios_pass(fault_report):
    failed = [(s["name"], [c for c in s["checks"] if not c["ok"]], s["error"]) for s in fault_report["scenarios"]
              if not s["passed"]]
    assert not failed and fault_report["exit_code"] == 0
    assert [s["name"] for s in fault_report["scenarios"]] == ["pause", "manual", "chained", "partition"]


def test_partition_reports_loss_without_and_with_min_replicas(fault_report):
    m = next(s for s in fault_report["scenarios"] if s["name"] == "partition")["metrics"]
    assert m["lost_acked_without_min_replicas"] > m["lost_acked_with_min_replicas"]
    assert m["lost_wait_acked_without"] == 0 and m["lost_wait_acked_with"] == 0


def test_no_partition_rule_is_left_behind(fault_report):
    import subprocess
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert "VALKEY_LAB" not in rules
    assert valkey_processes(ha_ports(BASE)) == []


def test_watch_reports_a_failover_injected_by_hand_and_stops_cleanly(tmp_path):
    """--watch: the user SIGKILLs the master from outside; Ctrl-C prints what was seen."""
    import json
    import signal
    import subprocess
    import sys

    import redis

    from valkey_lab.util import password, wait_for
    report = tmp_path / "watch.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "app/ha_test.py"), "--backend", "local", "--base-port",
                             str(BASE), "--watch", "--json", str(report)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sentinel = redis.Redis("127.0.2.1", BASE + 20000, password=password(), socket_timeout=0.5, decode_responses=True)
    try:
        first = wait_for(lambda: sentinel.sentinel_get_master_addr_by_name("myvalkey"), "the watched lab", 30)
        master = redis.Redis(first[0], first[1], password=password(), socket_timeout=0.5)
        wait_for(lambda: master.dbsize() >= 10, "the dashboard's writer to be writing", 60)
        master.close()
        victim = next(line.split()[0] for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                      text=True).stdout.splitlines() if f"valkey-server {first[0]}:{first[1]}" in line)
        subprocess.run(["kill", "-9", victim], check=True)  # the user's fault, from another terminal
        wait_for(lambda: sentinel.sentinel_get_master_addr_by_name("myvalkey"), "a new master", 20,
                 accept=lambda addr: tuple(addr) != tuple(first))
        wait_for(lambda: proc.poll() is None, "the dashboard to keep running", 1)
    finally:
        sentinel.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    data = json.loads(report.read_text())
    assert data["mode"] == "watch" and len(data["master_changes"]) == 1
    assert any(e["event"] == "+switch-master" for e in data["events"])
    assert data["outages"] and data["outages"][0]["seconds"] >= 2.0
    assert "outages" in out and valkey_processes(ha_ports(BASE)) == []
