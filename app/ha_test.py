#!/usr/bin/env python3
"""Verify a Valkey master-replica-Sentinel set-up by breaking it.

    python app/ha_test.py                      # docker stack if it runs, else local processes
    python app/ha_test.py --backend local --json report.json
    python app/ha_test.py --scenario failover --scenario consistency --history H
    python app/ha_test.py --analyze H          # the same verdicts from the saved history

Exit codes: 0 every verdict valid, 1 one invalid, 2 bad input or environment, 3 unknown (a verdict
lacked its evidence, none invalid), 130 interrupted.
"""
import sys

from valkey_lab.ha.cli import main

if __name__ == "__main__":
    sys.exit(main())
