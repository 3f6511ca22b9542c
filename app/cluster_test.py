#!/usr/bin/env python3
"""Verify a 6-node Valkey Cluster (3 primaries + 3 replicas) by using and breaking it.

    docker-compose -f docker-compose.cluster.yml up -d && python app/cluster_test.py
    python app/cluster_test.py --backend local --json report.json    # no Docker: local processes
    python app/cluster_test.py --scenario rejoin                      # runs primary_failover first
    python app/cluster_test.py --scenario partition --scenario chained   # fault scenarios (or --all)
    python app/cluster_test.py --watch                                # live dashboard; Ctrl-C reports

Exit codes: 0 all scenarios passed, 1 a scenario failed, 2 bad input or environment, 130 interrupted.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import cli  # noqa: E402
from lib.cluster_fault_scenarios import FAULT_SCENARIOS  # noqa: E402
from lib.cluster_scenarios import SCENARIOS, open_lab, watch  # noqa: E402

DESCRIPTION = ("Valkey Cluster (node-7000..7005: 3 primaries + 3 replicas): topology, slot placement, MOVED "
               "and ASK redirects, keys per shard, primary failover, rejoin; with --scenario NAME or --all also "
               "the faults pause, partition, manual, chained and shard_loss. Local nodes listen on "
               "127.0.3.1-6, --base-port (default 7100)..+5; the Docker stack on 127.0.0.1:7000-7005.")


def main(argv=None) -> int:
    return cli.main("cluster", DESCRIPTION, SCENARIOS + FAULT_SCENARIOS, open_lab, argv, watch=watch)


if __name__ == "__main__":
    sys.exit(main())
