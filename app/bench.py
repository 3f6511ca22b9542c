#!/usr/bin/env python3
"""Repeated failovers with numbers (see valkey_lab.bench_cli):

    python app/bench.py                        # 5 failovers per topology, local processes
    python app/bench.py --runs 10 --json reports/bench.json --svg-dir reports
"""
import sys

from valkey_lab.bench_cli import main

if __name__ == "__main__":
    sys.exit(main())
