"""The harness never races itself: start and close each lab many times while two CPU-bound
processes compete for the two cores. Every start must succeed (readiness is owned by the
start, never by a single probe after it)."""
import argparse
import subprocess
import sys

import pytest

from tests.helpers import ha_ports, valkey_processes

HA_BASE, CLUSTER_BASE = 6690, 7690


@pytest.fixture
def two_cpu_hogs():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _args(base):
    return argparse.Namespace(backend="local", base_port=base)


def test_the_ha_lab_starts_20_times_under_cpu_load(two_cpu_hogs):
    from valkey_lab.ha.lab import open_lab
    from valkey_lab.history.recorder import RunRecorder
    failures = []
    for i in range(20):
        try:
            with open_lab(_args(HA_BASE), RunRecorder()) as lab:
                assert lab.topo.agreed_master() == "valkey-master"
        except Exception as exc:  # noqa: BLE001 - count and report every failed start
            failures.append(f"start {i}: {type(exc).__name__}: {exc}")
    assert failures == []
    assert valkey_processes(ha_ports(HA_BASE)) == []


def test_the_cluster_lab_starts_10_times_under_cpu_load(two_cpu_hogs):
    from valkey_lab.cluster.lab import open_lab
    from valkey_lab.history.recorder import RunRecorder
    failures = []
    for i in range(10):
        try:
            with open_lab(_args(CLUSTER_BASE), RunRecorder()) as lab:
                assert lab.topology.health() == []
        except Exception as exc:  # noqa: BLE001
            failures.append(f"start {i}: {type(exc).__name__}: {exc}")
    assert failures == []
    assert valkey_processes(range(CLUSTER_BASE, CLUSTER_BASE + 6)) == []
