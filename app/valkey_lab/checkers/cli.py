"""Is a history linearizable? Jepsen EDN or lab JSONL (optionally .gz), register or kv model.

    python app/check.py history.jsonl --model register
    python app/check.py tests/data/jepsen/*.edn --model kv --json reports/check.json --timeout 60
    python app/check.py jepsen/history.edn --independent --init 0 --nil-read unknown

Bounded by default: 60 s and 2 GB per history (``--timeout``, ``--max-memory``); past either
the verdict is "unknown (timeout)" or "unknown (memory)", one line. Exit codes: 0 every
history is linearizable, 1 one is not, 3 one is undecided and none is invalid, 2 bad input
(one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

from valkey_lab.checkers.linearizable import (DEFAULT_MAX_MEMORY, DEFAULT_TIMEOUT, MODELS, NIL_READS, HistoryError,
                                              check)
from valkey_lab.history.edn import HistoryFormatError, loads, read_history_lines, write_edn
from valkey_lab.util import prog

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", re.I)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + error
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


class _BadInput(Exception):
    pass


def parse_size(text: str) -> int:
    """Bytes from "2G", "500M", "1.5g", "64k", "1GB" or a plain number (powers of 1024)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " "))


def _plain(value: Any) -> Any:
    """EDN keywords and symbols as plain strings, all the way down."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def parse_init(text: str, model: str) -> Any:
    """``--init`` is read as EDN, like the history's values (``0``, ``nil``, ``"x"``, ``[1 2]``);
    for kv a bare word or number is the string itself."""
    try:
        value = _plain(loads(text))
    except ValueError:
        raise _BadInput(f"--init: not an EDN value ({text})") from None
    if model != "kv":
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return text.strip()
    raise _BadInput(f"--init: the kv model starts from a string, got {text}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=prog("check.py", "valkey-lab-check"),
                description="Check histories for linearizability (Wing-Gong-Lowe search).")
    p.add_argument("histories", nargs="+", metavar="HISTORY", help="history files (.edn Jepsen or .jsonl lab)")
    p.add_argument("--model", choices=MODELS, default="register",
                   help="register: read/write/cas; kv: get/put/append per key (default register)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    p.add_argument("--html", metavar="OUT", help="write the histories and their verdicts as one HTML page to OUT")
    p.add_argument("--timeout", type=float, metavar="S", default=DEFAULT_TIMEOUT,
                   help=f"give up on a history after S seconds: unknown (timeout) (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--max-memory", metavar="SIZE", default=f"{DEFAULT_MAX_MEMORY >> 30}G",
                   help="give up on a history once the check has grown by SIZE (2G, 500M): unknown (memory); "
                        "shared by the worker processes (default 2G)")
    p.add_argument("--jobs", type=int, metavar="N", default=os.cpu_count() or 1,
                   help="worker processes for the keys of a history (default: the CPUs; 1: no workers)")
    p.add_argument("--all-keys", action="store_true",
                   help="decide every key even after one is not linearizable (default: stop there)")
    p.add_argument("--independent", action="store_true",
                   help="values are Jepsen independent [k v] tuples: check each key k on its own")
    p.add_argument("--init", metavar="VALUE",
                   help="the initial state, as EDN (default nil; the kv model: the empty string)")
    p.add_argument("--nil-read", choices=NIL_READS, default="value",
                   help="unknown: an ok read that returned nil says nothing, as Knossos reads it (default value)")
    p.add_argument("--export-edn", metavar="FILE",
                   help="also write the (one) history as Jepsen EDN to FILE, for Knossos or Elle")
    return p


def _load(path: str) -> dict:
    try:
        records, lines = read_history_lines(path)
    except HistoryFormatError as e:
        raise _BadInput(str(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise _BadInput(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    records, lines, left_out = _without_counters(records, lines)
    return {"path": path, "records": records, "lines": lines, "left_out": left_out}


def _without_counters(records: list, lines: list) -> tuple[list, list, Optional[dict]]:
    """A lab history's INCR counter keys (their INCRs and reads) left out: the register model
    has no INCR; the suites' counter checker judges those keys."""
    counters = sorted({r.get("key") for r in records if r.get("kind") == "client" and r.get("f") == "incr"})
    if not counters:
        return records, lines, None
    drop = set(counters)
    on_counter = [r.get("kind") == "client" and r.get("key") in drop for r in records]
    kept = [(r, n) for r, n, drop in zip(records, lines, on_counter) if not drop]
    ops = sum(drop and r.get("type") == "invoke" for r, drop in zip(records, on_counter))
    return [r for r, _ in kept], [n for _, n in kept], {"keys": counters, "ops": ops}


def _check(loaded: dict, args, options: dict) -> dict:
    path = loaded["path"]
    try:
        result = check(loaded["records"], args.model, args.timeout, **options)
    except HistoryError as e:
        where = Path(path).name
        if e.index is not None and e.index < len(loaded["lines"]):
            where += f":{loaded['lines'][e.index]}"
        raise _BadInput(f"{where}: {e}") from None
    return {"file": path, "model": args.model, "valid": result["valid"], "reason": result["reason"],
            "ops": result["ops"], "processes": result["processes"], "info": result["info"],
            "unknown_reads": result["unknown_reads"], "keys": len(result["keys"]),
            "decided_keys": sum(k["valid"] is not None for k in result["keys"]),
            "seconds": result["seconds"], "counterexample": result["counterexample"], "hint": result["hint"],
            **({"left_out": loaded["left_out"]} if loaded.get("left_out") else {})}


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.timeout <= 0:
        return _fail("--timeout must be positive")
    try:
        max_memory = parse_size(args.max_memory)
    except ValueError:
        return _fail(f"--max-memory: expected a size like 2G, 500M or 1048576, got {args.max_memory}")
    if max_memory <= 0:
        return _fail("--max-memory must be positive")
    if args.jobs < 1:
        return _fail("--jobs must be at least 1")
    if args.export_edn and len(args.histories) != 1:
        return _fail("--export-edn takes exactly one history")
    options = {"max_memory": max_memory, "nil_read": args.nil_read, "independent": args.independent,
               "all_keys": args.all_keys, "jobs": args.jobs}
    if args.timeout == float("inf"):
        args.timeout = None
    try:
        if args.init is not None:
            options["init"] = parse_init(args.init, args.model)
        loaded = [_load(p) for p in args.histories]  # bad input before any work
        if args.export_edn:
            write_edn(loaded[0]["records"], args.export_edn)
        results = []
        for x in loaded:
            results.append(_check(x, args, options))
            if not args.html:
                x["records"] = None  # a checked history's records are no longer needed (--html draws them)
    except _BadInput as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"cannot write {args.export_edn}: {e.strerror or e}")
    from rich.console import Console

    from valkey_lab.report.check_render import render
    console = Console() if sys.stdout.isatty() or "COLUMNS" in os.environ else Console(width=120)
    render(results, console)
    if args.json:
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"results": results}, indent=2, default=str) + "\n")
        except OSError as e:
            return _fail(f"cannot write {args.json}: {e.strerror or e}")
    if args.html:
        from valkey_lab.report.html import check_page
        try:
            Path(args.html).parent.mkdir(parents=True, exist_ok=True)
            Path(args.html).write_text(check_page([{"records": x["records"], "result": r}
                                                   for x, r in zip(loaded, results)]), encoding="utf-8")
        except OSError as e:
            return _fail(f"cannot write {args.html}: {e.strerror or e}")
    verdicts = [r["valid"] for r in results]
    return 1 if False in verdicts else (3 if None in verdicts else 0)


def _fail(line: str) -> int:
    sys.stderr.write(f"check.py: {line}".replace("\n", " ") + "\n")
    return 2
