#!/usr/bin/env python3
"""Verify a Valkey master-replica-Sentinel set-up by breaking it.

    python app/ha_test.py                      # docker stack if it runs, else local processes
    python app/ha_test.py --backend local --json report.json
    python app/ha_test.py --scenario failover --scenario consistency
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import cli  # noqa: E402
from lib.ha_fault_scenarios import FAULT_SCENARIOS  # noqa: E402
from lib.ha_scenarios import SCENARIOS, HAContext, watch  # noqa: E402
from lib.ha_topology import (DEFAULT_LOCAL_BASE_PORT, SERVERS, HATopology, docker_backend,  # noqa: E402
                             docker_stack_running, local_backend)
from lib.util import password  # noqa: E402


def server_version(topo: HATopology) -> str:
    for node in SERVERS:
        try:
            info = topo.client(node).info("server")
            return info.get("valkey_version") or info.get("redis_version", "?")
        except Exception:  # noqa: BLE001 - a killed node: ask the next one
            continue
    return "?"


@contextmanager
def open_lab(args):
    pw = password()
    name = args.backend
    if name == "auto":
        name = "docker" if docker_stack_running() else "local"
    backend = local_backend(pw, args.base_port or DEFAULT_LOCAL_BASE_PORT) if name == "local" else docker_backend(pw)
    topo = HATopology(backend, pw)
    try:
        topo.check_reachable()
        ready_s = topo.wait_ready(timeout=60)
        yield HAContext(backend, topo, pw, backend_name=name, valkey_version=server_version(topo), ready_s=ready_s)
    finally:
        topo.close()
        backend.close()


def main(argv=None) -> int:
    return cli.main("ha", "Valkey HA (1 master, 2 replicas, 3 Sentinels): CRUD, failover, discovery, "
                    "retry/backoff, consistency, replica sync, rejoin, quorum safety; with --all also pause, manual, "
                    "chained and partition faults.", SCENARIOS + [replace(s, default=False) for s in FAULT_SCENARIOS],
                    open_lab, argv, watch=watch)


if __name__ == "__main__":
    sys.exit(main())
