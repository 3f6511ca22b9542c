"""The compose stacks treated as someone else's deployment: `--backend external --target`
with only the published loopback ports in [nodes] and `docker kill|start|pause|unpause`
as the fault templates (examples/targets/docker-*.toml).

Each stack is brought up under the shared lock /tmp/valkey-lab-docker.lock (the stacks use
fixed ports, and another suite may want them), held for the module. Before each run the
test writes keys of "its own" outside the prefix; after it, every node holds exactly those
keys (none of the lab's is left) and DBSIZE is what it was before.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.docker.conftest import stack
from tests.helpers import ROOT, assert_one_line_error, load, run_app
from valkey_lab.util import DEFAULT_PASSWORD, wait_for

pytestmark = pytest.mark.docker

TARGETS = ROOT / "examples" / "targets"
HA_SERVERS = {"valkey-master": 6380, "valkey-replica1": 6381, "valkey-replica2": 6382}
CLUSTER = {f"node-{7000 + i}": 7000 + i for i in range(6)}
HA_DEFAULT = ["crud", "failover", "discovery", "retry_backoff", "consistency", "replica_sync", "rejoin",
              "quorum_safety"]
CLUSTER_DEFAULT = ["topology", "slot_placement", "moved_redirect", "ask_redirect", "shard_distribution",
                   "primary_failover", "rejoin"]
ENV = {"VALKEY_PASSWORD": DEFAULT_PASSWORD}


@pytest.fixture(scope="module")
def lock(docker_lock):
    """The stacks' lock (tests/docker/conftest.py holds it for the whole Docker session)."""
    yield


def conn(port: int) -> redis.Redis:
    return redis.Redis("127.0.0.1", port, password=DEFAULT_PASSWORD, decode_responses=True, socket_timeout=5)


def keys_by_node(ports: dict) -> dict:
    return {name: sorted(conn(port).scan_iter(count=1000)) for name, port in ports.items()}


def settled(ports: dict, want: dict) -> dict:
    """Every node's keys once replication has caught up (deletes reach replicas asynchronously)."""
    try:
        return wait_for(lambda: keys_by_node(ports), "every node to hold only the user's keys", 30,
                        accept=lambda got: got == want)
    except Exception:  # noqa: BLE001 - show what is there
        return keys_by_node(ports)


# Class-scoped: the HA stack is down before the cluster's comes up (less load on 2 CPUs).
@pytest.fixture(scope="class")
def ha(lock, docker_ready):
    yield from stack("docker-compose.ha.yml", docker_ready)


@pytest.fixture(scope="class")
def cluster(lock, docker_ready):
    for compose in stack("docker-compose.cluster.yml", docker_ready):
        code = subprocess.run(["docker", "wait", "valkey-cluster-init"], capture_output=True, text=True,
                              timeout=180).stdout.strip()
        assert code == "0", compose("logs", "cluster-init", check=False).stdout[-3000:]
        yield compose


def ha_master() -> int:
    host, port = conn(26380).execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", "myvalkey")
    return HA_SERVERS[host]


def seed_ha() -> dict:
    """The user's own data: 5 keys outside the prefix, replicated to both replicas."""
    m = conn(ha_master())
    for i in range(5):
        m.set(f"user:{i}", i)
    assert m.execute_command("WAIT", 2, 5000) == 2
    return {name: [f"user:{i}" for i in range(5)] for name in HA_SERVERS}


def ro_target(src: str, tmp_path: Path) -> Path:
    path = tmp_path / f"ro-{src}"
    path.write_text((TARGETS / src).read_text().replace("allow_faults = true", "allow_faults = false", 1))
    return path


def seed_cluster() -> tuple[dict, dict]:
    """Keys of the user in every shard (written with a cluster client), replicated."""
    rc = redis.RedisCluster("127.0.0.1", 7000, password=DEFAULT_PASSWORD, decode_responses=True,
                            address_remap=lambda addr: ("127.0.0.1", addr[1]))
    try:
        keys = [f"user:{i}" for i in range(12)]
        for i, k in enumerate(keys):
            rc.set(k, i)
        for port in (7000, 7001, 7002):
            conn(port).execute_command("WAIT", 1, 5000)
    finally:
        rc.close()
    want = keys_by_node(CLUSTER)
    assert sorted(k for p in ("node-7000", "node-7001", "node-7002") for k in want[p]) == sorted(keys)
    return want, {n: conn(p).dbsize() for n, p in CLUSTER.items()}


class TestHA:
    """The HA stack as an external target."""

    def test_ha_suite_on_the_stack_as_an_external_target(self, ha, tmp_path):
        want = seed_ha()
        dbsize = {n: conn(p).dbsize() for n, p in HA_SERVERS.items()}
        proc = run_app("ha_test.py", "--backend", "external", "--target", str(TARGETS / "docker-ha.toml"), "--quiet",
                       "--json", str(tmp_path / "r.json"), env=ENV, timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        report = load(tmp_path / "r.json")
        assert report["backend"] == "external" and report["passed"]
        assert [s["name"] for s in report["scenarios"]] == HA_DEFAULT
        assert all(s["status"] == "pass" for s in report["scenarios"])
        assert report["target"]["file"] == "docker-ha.toml" and report["target"]["key_prefix"] == "valkey-lab:"
        fo = next(s for s in report["scenarios"] if s["name"] == "failover")["metrics"]
        assert fo["old_master"] != fo["new_master"] and fo["unavailable_s"] >= 2.0
        assert "keys under 'valkey-lab:'" in proc.stdout and "DBSIZE 5 before, 5 after" in proc.stdout
        assert settled(HA_SERVERS, want) == want  # no key outside the prefix left, the user's untouched
        assert {n: conn(p).dbsize() for n, p in HA_SERVERS.items()} == dbsize

    def test_ha_without_allow_faults_refuses_each_destructive_scenario_in_one_line(self, ha, tmp_path):
        want = seed_ha()
        proc = run_app("ha_test.py", "--target", str(ro_target("docker-ha.toml", tmp_path)), "--quiet",
                       "--json", str(tmp_path / "r.json"), env=ENV)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        refused = proc.stderr.strip().splitlines()
        assert refused == [f"ha: {m} skipped: destructive (kills nodes) and ro-docker-ha.toml has allow_faults = false"
                           for m in ("failover", "quorum_safety")]
        status = {s["name"]: s["status"] for s in load(tmp_path / "r.json")["scenarios"]}
        assert status == {**{n: "skip" for n in HA_DEFAULT}, "crud": "pass", "replica_sync": "pass"}
        assert settled(HA_SERVERS, want) == want

    def test_ha_seeded_schedule_on_the_external_target(self, ha, tmp_path):
        want = seed_ha()
        proc = run_app("ha_test.py", "--target", str(TARGETS / "docker-ha.toml"), "--schedule", "random", "--seed", "42",
                       "--duration", "40", "--faults", "kill,pause,client_pause,sentinel_stall", "--quiet",
                       "--json", str(tmp_path / "r.json"), env=ENV, timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        report = load(tmp_path / "r.json")
        assert report["passed"] and report["backend"] == "external"
        assert "--target" in report["schedule"]["replay"]
        assert settled(HA_SERVERS, want) == want

    def test_ha_missing_node_and_wrong_password_are_one_line(self, ha, tmp_path):
        moved = tmp_path / "moved.toml"
        moved.write_text((TARGETS / "docker-ha.toml").read_text().replace("127.0.0.1:6382", "127.0.0.1:6399"))
        assert_one_line_error(run_app("ha_test.py", "--target", str(moved), env=ENV),
                              "valkey-replica2 at 127.0.0.1:6399", "does not answer")
        assert_one_line_error(run_app("ha_test.py", "--target", str(TARGETS / "docker-ha.toml"),
                                      env={"VALKEY_PASSWORD": "not-the-password"}),
                              "authentication failed at valkey-master", "$VALKEY_PASSWORD")
        env = {k: v for k, v in os.environ.items() if k != "VALKEY_PASSWORD"}
        proc = subprocess.run([sys.executable, str(ROOT / "app" / "ha_test.py"), "--target",
                               str(TARGETS / "docker-ha.toml")], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert_one_line_error(proc, "password_env names VALKEY_PASSWORD, which is not set")


class TestCluster:
    """The cluster stack as an external target."""

    def test_cluster_suite_on_the_stack_as_an_external_target(self, cluster, tmp_path):
        want, dbsize = seed_cluster()
        proc = run_app("cluster_test.py", "--backend", "external", "--target", str(TARGETS / "docker-cluster.toml"),
                       "--quiet", "--json", str(tmp_path / "r.json"), env=ENV, timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        report = load(tmp_path / "r.json")
        assert report["backend"] == "external" and report["passed"]
        assert [s["name"] for s in report["scenarios"]] == CLUSTER_DEFAULT
        assert all(s["status"] == "pass" for s in report["scenarios"])
        assert report["announced"]["node-7001"] == "node-7001:7001"  # learnt from the node itself
        assert "DBSIZE 12 before, 12 after" in proc.stdout
        assert settled(CLUSTER, want) == want
        assert {n: conn(p).dbsize() for n, p in CLUSTER.items()} == dbsize

    def test_cluster_without_allow_faults_runs_the_read_only_scenarios(self, cluster, tmp_path):
        want, _ = seed_cluster()
        proc = run_app("cluster_test.py", "--target", str(ro_target("docker-cluster.toml", tmp_path)), "--quiet",
                       "--json", str(tmp_path / "r.json"), env=ENV)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert [line.split(" skipped:")[0] for line in proc.stderr.strip().splitlines()] == \
            ["cluster: moved_redirect", "cluster: ask_redirect", "cluster: primary_failover"]
        status = {s["name"]: s["status"] for s in json.loads((tmp_path / "r.json").read_text())["scenarios"]}
        assert status == {"topology": "pass", "slot_placement": "pass", "moved_redirect": "skip", "ask_redirect": "skip",
                          "shard_distribution": "pass", "primary_failover": "skip", "rejoin": "skip"}
        assert settled(CLUSTER, want) == want
