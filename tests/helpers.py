"""Shared by the test modules: run an app as a user would, and look for leftovers."""
import json
import os
import subprocess
import sys
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
