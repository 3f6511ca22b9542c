"""The package as a user gets it: the wheel built from the repository, installed in a fresh
venv (no --system-site-packages, its dependencies from the configured index), and the
console scripts run from an empty directory with nothing of the checkout in reach.

They must pass on the local backend and leave nothing behind: no Valkey process, no
temporary directory of the lab, no file in the directory they ran in.
"""
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers import ROOT, ha_ports, valkey_processes

# The defaults of the console scripts, as the user types them (no --base-port).
HA_PORTS = ha_ports(6390)
CLUSTER_PORTS = list(range(7100, 7106)) + list(range(17100, 17106))

# Not part of the wheel's source: the checkout's own state.
SKIP_IN_COPY = shutil.ignore_patterns(".git", ".venv", "reports", "build", "dist", "*.egg-info", "__pycache__",
                                      ".pytest_cache", ".hypothesis", ".coverage", "coverage.xml", "docs",
                                      "tests", ".env", "mutants")

# A tiny register history: write 1, read 1, write 2 (info), read 2. Linearizable.
EDN = """[{:index 0, :time 1000000, :type :invoke, :process 0, :f :write, :value 1}
 {:index 1, :time 2000000, :type :ok, :process 0, :f :write, :value 1}
 {:index 2, :time 3000000, :type :invoke, :process 1, :f :write, :value 2}
 {:index 3, :time 4000000, :type :info, :process 1, :f :write, :value 2, :error :timeout}
 {:index 4, :time 5000000, :type :invoke, :process 0, :f :read, :value nil}
 {:index 5, :time 6000000, :type :ok, :process 0, :f :read, :value 1}
 {:index 6, :time 7000000, :type :invoke, :process 0, :f :read, :value nil}
 {:index 7, :time 8000000, :type :ok, :process 0, :f :read, :value 2}]
"""

pytestmark = pytest.mark.skipif(shutil.which("valkey-server") is None or shutil.which("valkey-cli") is None,
                                reason="valkey-server / valkey-cli not installed (make deps)")


def _run(args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)
    assert proc.returncode == 0, (args, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built once per session from a copy of the source (an in-tree build would
    write build/ and *.egg-info into the working tree)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=SKIP_IN_COPY)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)])
    (found,) = (base / "dist").glob("valkey_lab-*.whl")
    return found


@pytest.fixture(scope="session")
def installed(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel and its dependencies; returns its bin directory."""
    env_dir = tmp_path_factory.mktemp("venv") / "v"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)])
    return env_dir / "bin"


@pytest.fixture
def empty(tmp_path) -> dict:
    """An empty working directory and a private TMPDIR; an environment with nothing of the
    checkout (no PYTHONPATH, no VIRTUAL_ENV, the fresh venv first on PATH)."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "VALKEY_LAB_KEEP_DIR", "COV_CORE_SOURCE",
                        "COV_CORE_CONFIG", "COV_CORE_DATAFILE")}
    return {"work": work, "tmp": tmp, "env": env}


def _in(installed: Path, empty: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**empty["env"], "TMPDIR": str(empty["tmp"]), "PATH": f"{installed}:{empty['env'].get('PATH', '')}"}
    return _run([str(installed / args[0]), *args[1:]], cwd=empty["work"], env=env)


def _leftovers(empty: dict) -> list:
    return sorted(str(p.relative_to(empty["work"].parent)) for d in (empty["work"], empty["tmp"])
                  for p in d.rglob("*"))


def _lab_processes(empty: dict) -> list[str]:
    """Processes started inside the private TMPDIR (each node runs in its own directory there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(empty["tmp"])):
                found.append(f"{proc.name}: {cwd}")
    return found


def test_the_wheel_carries_the_configuration(wheel):
    import zipfile
    names = set(zipfile.ZipFile(wheel).namelist())
    for conf in ("ha/node.conf", "ha/sentinel.conf", "cluster/node.conf", "cluster/init.sh", "docker-entrypoint.sh"):
        assert f"valkey_lab/config/{conf}" in names
    assert not any(n.startswith(("config/", "tests/", "app/")) for n in names)
    # Every file of the package, code or data, is in the wheel (package-data in pyproject.toml).
    package = wheel.parent.parent / "src" / "app"
    files = {str(f.relative_to(package)) for f in (package / "valkey_lab").rglob("*") if f.is_file()}
    assert files - names == set()


def test_every_console_script_answers_help(installed, empty):
    for script in ("valkey-lab-ha", "valkey-lab-cluster", "valkey-lab-check", "valkey-lab-bench"):
        out = _in(installed, empty, script, "--help").stdout
        assert "usage:" in out, (script, out)
    assert _leftovers(empty) == []


def test_the_installed_package_runs_from_an_empty_directory(installed, empty):
    assert not valkey_processes(HA_PORTS + CLUSTER_PORTS), "the default ports are taken; stop that lab first"
    ha = _in(installed, empty, "valkey-lab-ha", "--backend", "local", "--scenario", "crud")
    assert "crud" in ha.stdout
    cluster = _in(installed, empty, "valkey-lab-cluster", "--backend", "local", "--scenario", "topology")
    assert "topology" in cluster.stdout
    (empty["work"] / "h.edn").write_text(EDN)
    _in(installed, empty, "valkey-lab-check", "h.edn")

    assert _lab_processes(empty) == []
    assert valkey_processes(HA_PORTS + CLUSTER_PORTS) == []
    assert _leftovers(empty) == ["work/h.edn"]
