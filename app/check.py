#!/usr/bin/env python3
"""Is a history linearizable? Jepsen EDN or lab JSONL (optionally .gz), register or kv model.

    python app/check.py H/history.jsonl --model register
    python app/check.py tests/data/jepsen/*.edn --model kv --json reports/check.json --timeout 60

Exit codes: 0 every history is linearizable, 1 one is not, 3 one is undecided (timeout) and
none is invalid, 2 bad input (one line on stderr).
"""
import sys

from valkey_lab.checkers.cli import main

if __name__ == "__main__":
    sys.exit(main())
