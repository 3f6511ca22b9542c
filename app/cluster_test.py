#!/usr/bin/env python3
"""Verify a 6-node Valkey Cluster (3 primaries + 3 replicas) by using and breaking it.

    docker-compose -f docker-compose.cluster.yml up -d && python app/cluster_test.py
    python app/cluster_test.py --backend local --json report.json    # no Docker: local processes
    python app/cluster_test.py --scenario primary_failover --history H  # save the history
    python app/cluster_test.py --analyze H                            # judge it again, no server
    python app/cluster_test.py --scenario partition --scenario chained   # fault scenarios (or --all)
    python app/cluster_test.py --watch                                # live dashboard; Ctrl-C reports

Exit codes: 0 every verdict valid, 1 one invalid, 2 bad input or environment, 3 unknown (a verdict
lacked its evidence, none invalid), 130 interrupted.
"""
import sys

from valkey_lab.cluster.cli import main

if __name__ == "__main__":
    sys.exit(main())
