"""Is a history linearizable? Jepsen EDN or lab JSONL (optionally .gz), register or kv model.

    python app/check.py history.jsonl --model register
    python app/check.py tests/data/jepsen/*.edn --model kv --json reports/check.json --timeout 60

Exit codes: 0 every history is linearizable, 1 one is not, 3 one is undecided (timeout) and
none is invalid, 2 bad input (one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

from valkey_lab.checkers.linearizable import MODELS, HistoryError, check
from valkey_lab.history.edn import HistoryFormatError, read_history_lines, write_edn


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + error
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


class _BadInput(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check.py", description="Check histories for linearizability (Wing-Gong-Lowe search).")
    p.add_argument("histories", nargs="+", metavar="HISTORY", help="history files (.edn Jepsen or .jsonl lab)")
    p.add_argument("--model", choices=MODELS, default="register",
                   help="register: read/write/cas; kv: get/put/append per key (default register)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    p.add_argument("--html", metavar="OUT", help="write the histories and their verdicts as one HTML page to OUT")
    p.add_argument("--timeout", type=float, metavar="S", help="give up on a history after S seconds (verdict unknown)")
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
    return {"path": path, "records": records, "lines": lines}


def _check(loaded: dict, model: str, timeout: Optional[float]) -> dict:
    path = loaded["path"]
    try:
        result = check(loaded["records"], model=model, timeout=timeout)
    except HistoryError as e:
        where = Path(path).name
        if e.index is not None and e.index < len(loaded["lines"]):
            where += f":{loaded['lines'][e.index]}"
        raise _BadInput(f"{where}: {e}") from None
    return {"file": path, "model": model, "valid": result["valid"], "ops": result["ops"],
            "processes": result["processes"], "info": result["info"], "keys": len(result["keys"]),
            "seconds": result["seconds"], "counterexample": result["counterexample"]}


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.timeout is not None and args.timeout <= 0:
        return _fail("--timeout must be positive")
    if args.export_edn and len(args.histories) != 1:
        return _fail("--export-edn takes exactly one history")
    try:
        loaded = [_load(p) for p in args.histories]  # bad input before any work
        if args.export_edn:
            write_edn(loaded[0]["records"], args.export_edn)
        results = [_check(x, args.model, args.timeout) for x in loaded]
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
