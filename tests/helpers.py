"""Shared by the test modules: run an app as a user would, look for leftovers, and judge a
history recorded from a real run (tests/data/histories) as --analyze does."""
import gzip
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_app(script: str, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Bad input: exit 2, one line on stderr that says what to do, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


def valkey_processes(ports) -> list[str]:
    """Running valkey-server / valkey-sentinel processes on any of ``ports`` of a loopback
    address (Valkey sets its process title to 'valkey-server 127.0.1.1:PORT')."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    wanted = {str(p) for p in ports}
    found = []
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("valkey-") and len(parts) > 1 and parts[1].startswith("127."):
            if parts[1].rpartition(":")[2] in wanted:
                found.append(line)
    return found


def ha_ports(base: int) -> list[int]:
    return [base + i for i in range(3)] + [base + 20000 + i for i in range(3)]


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


HISTORIES = ROOT / "tests" / "data" / "histories"


@lru_cache(maxsize=None)
def _recorded(name: str) -> tuple:
    with gzip.open(HISTORIES / name, "rt") as f:
        return tuple(f.read().splitlines())


def recorded(name: str, scenarios=None) -> list[dict]:
    """A fresh copy of a recorded history's records (parsed again: cheaper than a deep copy);
    ``scenarios``: judge only these."""
    records = [json.loads(line) for line in _recorded(name) if line.strip()]
    if scenarios is not None:
        records[0]["scenarios"] = list(scenarios)
    return records


def analyze(tmp_path: Path, main, records) -> tuple[int, dict]:
    """``records`` judged by a suite CLI's ``main`` with --analyze: its exit code and report."""
    hist = tmp_path / "h"
    hist.mkdir(exist_ok=True)
    (hist / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    code = main(["--analyze", str(hist), "--json", str(tmp_path / "r.json"), "--quiet"])
    return code, json.loads((tmp_path / "r.json").read_text())


# What the judging itself measures (the linearizability check's own seconds) is not of the run.
CLOCKED = {"checker_s"}


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in CLOCKED}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def judgement(tmp_path: Path, records: list[dict], scenario: str) -> dict:
    """``scenario``'s whole judgement of ``records`` as --analyze reports it (its suite's CLI),
    as JSON would carry it and without the judging's own clock."""
    from valkey_lab.cluster import cli as cluster_cli
    from valkey_lab.ha import cli as ha_cli
    _, report = analyze(tmp_path, cluster_cli.main if records[0]["suite"] == "cluster" else ha_cli.main, records)
    s = next(s for s in report["scenarios"] if s["name"] == scenario)
    got = {k: s.get(k) for k in ("name", "status", "valid", "passed", "checks", "metrics", "details", "error")}
    return stable(json.loads(json.dumps(got, sort_keys=True, default=str)))


def pinned(path: Path, got: dict) -> dict:
    """The judgement pinned at ``path``; written from ``got`` when missing or with
    VALKEY_LAB_REPIN=1 (never on CI: a missing pin there fails)."""
    import pytest
    if os.environ.get("VALKEY_LAB_REPIN") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            pytest.fail(f"{path.name} is not pinned (VALKEY_LAB_REPIN=1 writes it)")
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    return json.loads(path.read_text())
