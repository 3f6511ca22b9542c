"""A user's project in CI: examples/user-project copied to a scratch directory, a fresh venv
with the lab's wheel (built as test_install.py builds it) and pytest, and pytest run there.
The package's pytest plugin (entry point pytest11) must provide valkey_sentinel and
valkey_cluster with nothing else installed or imported from the checkout; ports 6250 / 7250
through the plugin's environment variables.
"""
import os
import shutil
import venv
from pathlib import Path

import pytest

from tests.helpers import ROOT, ha_ports, valkey_processes
from tests.integration.test_install import _run, wheel  # noqa: F401 - the session's wheel fixture

HA_PORT, CLUSTER_PORT = int(os.environ.get("LAB_TEST_HA_PORT", "6250")), int(os.environ.get("LAB_TEST_CLUSTER_PORT",
                                                                                            "7250"))
PORTS = ha_ports(HA_PORT) + list(range(CLUSTER_PORT, CLUSTER_PORT + 6)) + \
    list(range(CLUSTER_PORT + 10000, CLUSTER_PORT + 10006))

pytestmark = pytest.mark.skipif(any(shutil.which(b) is None for b in ("valkey-server", "valkey-sentinel",
                                                                       "valkey-cli")),
                                reason="valkey-server / valkey-sentinel / valkey-cli not installed (make deps)")


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory, wheel) -> Path:  # noqa: F811 - the imported fixture
    """A fresh venv (no system site-packages) with the wheel, its dependencies and pytest."""
    env_dir = tmp_path_factory.mktemp("user-venv") / "v"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "pytest"])
    return env_dir / "bin"


def test_the_example_user_project_passes_in_a_fresh_venv(user_venv, tmp_path):
    assert not valkey_processes(PORTS), f"ports {HA_PORT} / {CLUSTER_PORT} are taken; stop that lab first"
    project = tmp_path / "user-project"
    shutil.copytree(ROOT / "examples" / "user-project", project,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "COV_CORE_SOURCE", "COV_CORE_CONFIG",
                        "COV_CORE_DATAFILE", "PYTEST_ADDOPTS")}
    env.update({"PATH": f"{user_venv}:{env.get('PATH', '')}", "TMPDIR": str(tmp_path),
                "VALKEY_LAB_HA_PORT": str(HA_PORT), "VALKEY_LAB_CLUSTER_PORT": str(CLUSTER_PORT)})
    proc = _run([str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"], cwd=project,
                env=env, timeout=900)
    assert "2 passed" in proc.stdout, proc.stdout[-3000:]
    header = _run([str(user_venv / "python"), "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
                   "--fixtures"], cwd=project, env=env).stdout
    assert "valkey_sentinel" in header and "valkey_cluster" in header  # from the installed plugin
    assert valkey_processes(PORTS) == []  # the session's labs stopped with it


def test_a_missing_valkey_is_one_clear_error(user_venv, tmp_path):
    project = tmp_path / "user-project"
    shutil.copytree(ROOT / "examples" / "user-project", project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env.pop("VALKEY_LAB_BIN", None)
    env.update({"PATH": f"{user_venv}:/nonexistent",  # no /usr/bin: no Valkey
                "VALKEY_LAB_HA_PORT": str(HA_PORT), "VALKEY_LAB_CLUSTER_PORT": str(CLUSTER_PORT)})
    import subprocess
    proc = subprocess.run([str(user_venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_orders_failover.py::test_orders_survive_a_sentinel_failover"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "valkey_sentinel: valkey-server, valkey-sentinel not found" in proc.stdout, proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout
