"""The HA suite against docker-compose.ha.yml: real containers, real `docker kill`."""
import subprocess

import pytest

from tests.helpers import assert_one_line_error, load, run_app

pytestmark = pytest.mark.docker


# First in the file: the module's stack is not up yet.
def test_no_stack_is_one_clear_line(docker_ready):
    running = subprocess.run(["docker", "ps", "-q", "--filter", "name=^valkey-sentinel1$"],
                             capture_output=True, text=True).stdout.strip()
    if running:
        pytest.skip("an HA stack is running")
    assert_one_line_error(run_app("ha_test.py", "--backend", "docker"), "docker-compose.ha.yml up -d")


def test_compose_publishes_every_port_on_loopback_only(ha_stack):
    out = subprocess.run(["docker", "ps", "--filter", "network=valkey-ha", "--format", "{{.Names}} {{.Ports}}"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 6, out
    for line in out:
        name, ports = line.split(" ", 1)
        assert ports.startswith("127.0.0.1:") and ports.count("->") == 1, line


def test_ha_suite_passes_against_the_compose_stack(ha_stack, tmp_path):
    proc = run_app("ha_test.py", "--backend", "docker", "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = load(tmp_path / "r.json")
    assert report["backend"] == "docker" and report["passed"]
    assert len(report["scenarios"]) == 8
    fo = next(s for s in report["scenarios"] if s["name"] == "failover")["metrics"]
    assert fo["old_master"] != fo["new_master"] and fo["unavailable_s"] >= 2.0


def test_sentinel_logs_show_the_failover(ha_stack):
    logs = ha_stack("logs", "valkey-sentinel1").stdout
    assert "+switch-master" in logs and "+odown" in logs


def test_auto_backend_finds_the_running_stack(ha_stack, tmp_path):
    proc = run_app("ha_test.py", "--scenario", "crud", "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert load(tmp_path / "r.json")["backend"] == "docker"


def test_fault_scenarios_against_the_compose_stack(ha_stack, tmp_path):
    proc = run_app("ha_test.py", "--backend", "docker", "--json", str(tmp_path / "r.json"), "--quiet",
                   "--scenario", "pause", "--scenario", "manual", "--scenario", "chained", "--scenario", "partition")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = load(tmp_path / "r.json")
    assert [s["name"] for s in report["scenarios"]] == ["pause", "manual", "chained", "partition"]
    assert all(s["passed"] for s in report["scenarios"])


def test_wrong_password_is_one_clear_line(ha_stack):
    proc = run_app("ha_test.py", "--backend", "docker", env={"VALKEY_PASSWORD": "not-the-password"})
    assert_one_line_error(proc, "authentication failed", "VALKEY_PASSWORD")


def test_unreachable_sentinels_are_one_clear_line(ha_stack):
    sentinels = ["valkey-sentinel1", "valkey-sentinel2", "valkey-sentinel3"]
    subprocess.run(["docker", "stop", "-t", "1", *sentinels], check=True, capture_output=True)
    try:
        proc = run_app("ha_test.py", "--backend", "docker")
        assert_one_line_error(proc, "no Sentinel answers")
    finally:
        subprocess.run(["docker", "start", *sentinels], check=True, capture_output=True)
