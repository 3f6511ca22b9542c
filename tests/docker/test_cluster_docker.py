"""The cluster suite against docker-compose.cluster.yml: real containers, real `docker kill`,
and the init service run a second time."""
import subprocess

import pytest
import redis

from valkey_lab.util import password, wait_for
from tests.docker.conftest import stack
from tests.helpers import assert_one_line_error, load, run_app

pytestmark = pytest.mark.docker

COMPOSE_FILE = "docker-compose.cluster.yml"
NODES = [f"node-{7000 + i}" for i in range(6)]
SCENARIOS = ["topology", "slot_placement", "moved_redirect", "ask_redirect", "shard_distribution",
             "primary_failover", "rejoin"]


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster_stack(docker_ready):
    for compose in stack(COMPOSE_FILE, docker_ready):
        # `up -d` returns once the init container started; it exits 0 when the cluster is healthy.
        code = docker("wait", "valkey-cluster-init", timeout=180).stdout.strip()
        assert code == "0", compose("logs", "cluster-init", check=False).stdout[-3000:]
        yield compose


def node(port: int) -> redis.Redis:
    return redis.Redis("127.0.0.1", port, password=password(), decode_responses=True, socket_timeout=2)


def cluster_state() -> list:
    """What the init service could change, as every node sees it: ids, roles, masters, slots, epochs."""
    views = []
    for i in range(6):
        lines = node(7000 + i).execute_command("CLUSTER", "NODES").splitlines()
        views.append(sorted(" ".join(p for j, p in enumerate(line.split()) if j not in (1, 2, 4, 5, 7))
                            + (" master" if "master" in line.split()[2] else " slave") for line in lines))
    return views


# First in the file: the module's stack is not up yet.
def test_no_stack_is_one_clear_line(docker_ready):
    running = docker("ps", "-aq", "--filter", "name=^node-7000$").stdout.strip()
    if running:
        pytest.skip("a cluster stack exists")
    assert_one_line_error(run_app("cluster_test.py", "--backend", "docker"), f"{COMPOSE_FILE} up -d")


def test_compose_publishes_every_port_on_loopback_only(cluster_stack):
    out = docker("ps", "--filter", "network=valkey-cluster", "--format", "{{.Names}} {{.Ports}}").stdout.splitlines()
    assert sorted(line.split()[0] for line in out) == NODES, out
    for line in out:
        name, ports = line.split(" ", 1)
        assert ports == f"127.0.0.1:{name[5:]}->{name[5:]}/tcp", line


def test_init_service_formed_the_cluster(cluster_stack):
    logs = cluster_stack("logs", "cluster-init").stdout
    assert "formed and healthy; 17 change(s) made" in logs
    assert "node-7003:7003 replica of node-7000:7000" in logs


def test_nodes_announce_their_container_names(cluster_stack):
    """MOVED names something the app can map: the container name, not an IP."""
    with pytest.raises(redis.exceptions.MovedError) as moved:
        node(7000).get("foo")  # slot 12182 belongs to node-7002
    assert (moved.value.host, moved.value.port) == ("node-7002", 7002)


def test_cluster_suite_passes_against_the_compose_stack(cluster_stack, tmp_path):
    proc = run_app("cluster_test.py", "--backend", "docker", "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = load(tmp_path / "r.json")
    assert report["suite"] == "cluster" and report["backend"] == "docker" and report["passed"]
    assert [s["name"] for s in report["scenarios"]] == SCENARIOS
    by = {s["name"]: s for s in report["scenarios"]}
    fo = by["primary_failover"]["metrics"]
    assert fo["unavailable_s"] >= 1.0 and fo["wait_1_writes_lost"] == 0 and fo["writes"]["node-7001"]["fail"] == 0
    assert by["ask_redirect"]["metrics"]["ask_seen_by_client"] > 0
    assert by["moved_redirect"]["metrics"]["moved_seen_by_client"] > 0
    assert "docker kill" in by["primary_failover"]["details"]["fault"]


def test_init_service_again_changes_nothing(cluster_stack):
    before = cluster_state()
    proc = cluster_stack("run", "--rm", "cluster-init", timeout=180)
    assert "cluster already formed; nothing changed" in proc.stdout, proc.stdout + proc.stderr
    assert "meet " not in proc.stdout and "slots " not in proc.stdout and "replica node" not in proc.stdout
    assert cluster_state() == before


def test_docker_kill_by_hand_then_the_suite_starts_from_a_whole_cluster(cluster_stack, tmp_path):
    assert docker("kill", "node-7000").returncode == 0
    wait_for(lambda: "myself,master" in node(7003).execute_command("CLUSTER", "NODES"),
             "node-7003 to be promoted", 30)
    proc = run_app("cluster_test.py", "--scenario", "topology", "--json", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = load(tmp_path / "r.json")
    assert report["backend"] == "docker"  # auto: a stack with a killed node is still the stack
    assert report["restarted"] == ["node-7000"]
    assert report["restored_layout"] and report["restored_layout"][0].startswith("CLUSTER FAILOVER on node-7000")


def test_wrong_password_is_one_clear_line(cluster_stack):
    proc = run_app("cluster_test.py", "--backend", "docker", env={"VALKEY_PASSWORD": "not-the-password"})
    assert_one_line_error(proc, "authentication failed", "VALKEY_PASSWORD")


FAULTS = ["pause", "partition", "manual", "chained", "shard_loss"]


def test_fault_scenarios_pass_against_the_compose_stack(cluster_stack, tmp_path):
    """docker pause, iptables in node-7000's network namespace (nsenter), docker kill of a
    primary and then of its replica: every fault scenario passes and leaves the layout whole."""
    args = ["--backend", "docker", "--json", str(tmp_path / "r.json"), "--quiet"]
    for name in FAULTS:
        args += ["--scenario", name]
    proc = run_app("cluster_test.py", *args, timeout=900)
    report = load(tmp_path / "r.json")
    failed = [(s["name"], [c for c in s["checks"] if not c["ok"]], s["error"]) for s in report["scenarios"]
              if not s["passed"]]
    assert proc.returncode == 0 and not failed, failed or proc.stderr[-2000:]
    assert [s["name"] for s in report["scenarios"]] == FAULTS
    by = {s["name"]: s for s in report["scenarios"]}
    assert by["partition"]["metrics"]["lost_acked_without_min_replicas"] > 0
    assert by["partition"]["metrics"]["lost_wait_acked_without"] == 0
    assert by["partition"]["metrics"]["lost_wait_acked_with"] == 0
    assert by["manual"]["metrics"]["acked_writes_lost"] == 0 and by["manual"]["metrics"]["moved_on_dead_shard"] > 0
    assert min(by["shard_loss"]["metrics"]["writes_ok_other_shards"].values()) > 0
    rules = subprocess.run(["nsenter", "-t", docker("inspect", "-f", "{{.State.Pid}}", "node-7000").stdout.strip(),
                            "-n", "iptables", "-w", "-S"], capture_output=True, text=True).stdout
    assert "VALKEY_LAB" not in rules
    states = {docker("inspect", "-f", "{{.State.Status}}", n).stdout.strip() for n in NODES}
    assert states == {"running"}
    for i in range(3):
        assert "myself,master" in node(7000 + i).execute_command("CLUSTER", "NODES")  # layout restored

