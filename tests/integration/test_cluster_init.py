"""config/cluster/init.sh against real local nodes: forms, is idempotent, finishes a
half-formed cluster, refuses a foreign one, and fails clearly on a wrong password."""
import os
import subprocess

import pytest

from valkey_lab.cluster import topology as ct
from valkey_lab.util import wait_for
from tests.helpers import valkey_processes

BASE = 7250
PASSWORD = "init-test-password"


@pytest.fixture
def nodes():
    backend = ct.local_backend(PASSWORD, BASE)
    topo = ct.ClusterTopology(backend, PASSWORD)
    try:
        wait_for(lambda: all(topo.client(n).ping() for n in ct.NODES), "nodes up", 10)
        yield backend, topo
    finally:
        topo.close()
        backend.close()
    assert valkey_processes(range(BASE, BASE + 6)) == []


def init(backend, password=PASSWORD, timeout="20"):
    return subprocess.run(["sh", str(ct.INIT_SCRIPT), *(f"{h}:{p}" for h, p in map(backend.address, ct.NODES))],
                          capture_output=True, text=True, timeout=90,
                          env={"PATH": os.environ["PATH"], "VALKEY_PASSWORD": password,
                               "CLUSTER_INIT_TIMEOUT": timeout})


def state(topo):
    """Everything init could change: ids, roles, masters, slots, config epochs."""
    return sorted((n.id, n.role, n.master_id, tuple(n.slots), n.config_epoch) for n in topo.view("node-7000"))


def test_forms_then_changes_nothing(nodes):
    backend, topo = nodes
    first = init(backend)
    assert first.returncode == 0, first.stderr
    assert "formed and healthy; 17 change(s) made" in first.stdout
    # distinct config epochs from the start: no collision for gossip to resolve later
    assert f"config epoch 6 -> 127.0.3.6:{BASE + 5}" in first.stdout
    assert sorted(n.config_epoch for n in topo.view("node-7000") if n.role == "primary") == [1, 2, 3]
    assert topo.layout_problems() == [] and topo.health() == []
    before = state(topo)
    second = init(backend)
    assert second.returncode == 0, second.stderr
    assert "cluster already formed; nothing changed" in second.stdout
    assert "meet" not in second.stdout and "slots " not in second.stdout
    assert state(topo) == before


def test_finishes_a_half_formed_cluster(nodes):
    backend, topo = nodes
    host, port = backend.address("node-7001")
    topo.client("node-7000").execute_command("CLUSTER", "MEET", host, port)
    topo.client("node-7000").execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 5460)
    proc = init(backend)
    assert proc.returncode == 0, proc.stderr
    assert "slots 0-5460" not in proc.stdout and "slots 5461-10922" in proc.stdout
    assert topo.layout_problems() == [] and topo.health() == []


def test_accepts_roles_swapped_by_a_failover(nodes):
    backend, topo = nodes
    assert init(backend).returncode == 0
    topo.manual_failover("node-7003", 20)
    proc = init(backend)
    assert proc.returncode == 0, proc.stderr
    assert "roles swapped by a failover" in proc.stdout and "nothing changed" in proc.stdout
    assert topo.role("node-7003") == "primary"


def test_refuses_a_cluster_formed_differently(nodes):
    backend, topo = nodes
    topo.client("node-7001").execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 100)
    proc = init(backend)
    assert proc.returncode == 1
    assert "owns slots '0-100', expected '5461-10922' or none" in proc.stderr


def test_wrong_password_is_one_clear_line(nodes):
    backend, _ = nodes
    proc = init(backend, password="wrong")
    assert proc.returncode == 1 and "refuses the password" in proc.stderr


def test_gives_up_on_unreachable_nodes_by_its_deadline():
    proc = subprocess.run(["sh", str(ct.INIT_SCRIPT), *(f"127.0.0.1:{p}" for p in range(BASE + 40, BASE + 46))],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "VALKEY_PASSWORD": "x", "CLUSTER_INIT_TIMEOUT": "1"})
    assert proc.returncode == 1 and "timed out after 1s waiting for every node to answer PING" in proc.stderr
