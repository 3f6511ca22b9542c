"""The pytest plugin's options and its entry point (the fixtures themselves run in
tests/integration/test_user_project.py, from a fresh venv)."""
import tomllib
from pathlib import Path

import pytest

from valkey_lab import pytest_plugin
from valkey_lab.pytest_plugin import LabOptions, options

ROOT = Path(__file__).resolve().parents[2]


class Config:
    def __init__(self, **opts):
        self.opts = opts

    def getoption(self, name):
        return self.opts.get(name)


def test_defaults_and_environment(monkeypatch):
    for var in ("VALKEY_LAB_BACKEND", "VALKEY_LAB_TARGET", "VALKEY_LAB_HA_PORT", "VALKEY_LAB_CLUSTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    assert options(Config()) == LabOptions("local", (), 6390, 7100)
    monkeypatch.setenv("VALKEY_LAB_HA_PORT", "6250")
    monkeypatch.setenv("VALKEY_LAB_CLUSTER_PORT", "7250")
    assert options(Config()) == LabOptions("local", (), 6250, 7250)
    # An option wins over the environment.
    assert options(Config(**{"--valkey-lab-ha-port": 6300})).ha_port == 6300


def test_bad_options_are_usage_errors(monkeypatch):
    monkeypatch.delenv("VALKEY_LAB_TARGET", raising=False)
    with pytest.raises(pytest.UsageError, match="needs --valkey-lab-target"):
        options(Config(**{"--valkey-lab-backend": "external"}))
    monkeypatch.setenv("VALKEY_LAB_BACKEND", "kubernetes")
    with pytest.raises(pytest.UsageError, match="choose one of local, docker, external"):
        options(Config())
    monkeypatch.setenv("VALKEY_LAB_BACKEND", "local")
    monkeypatch.setenv("VALKEY_LAB_HA_PORT", "six")
    with pytest.raises(pytest.UsageError, match="port"):
        options(Config())


def test_the_plugin_is_registered_for_pytest():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"valkey_lab": "valkey_lab.pytest_plugin"}
    for fixture in ("valkey_sentinel", "valkey_cluster"):
        assert hasattr(pytest_plugin, fixture)


def test_a_missing_valkey_names_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("VALKEY_LAB_BIN", raising=False)
    message = pytest_plugin._missing_binaries("ha")
    assert message.startswith("valkey_sentinel: valkey-server, valkey-sentinel not found")
    assert "apt-get install" in message and "--valkey-lab-backend docker" in message
    assert "valkey-cli" in pytest_plugin._missing_binaries("cluster")


def test_each_fixture_takes_the_target_of_its_topology(tmp_path, monkeypatch):
    ha, cluster = tmp_path / "ha.toml", tmp_path / "c.toml"
    ha.write_text('topology = "ha"\n')
    cluster.write_text('topology = "cluster"\n')
    monkeypatch.setenv("VALKEY_LAB_TARGET", f"{ha}:{cluster}")
    o = options(Config(**{"--valkey-lab-backend": "external"}))
    assert o.target("ha") == str(ha) and o.target("cluster") == str(cluster)
    assert options(Config(**{"--valkey-lab-backend": "external", "--valkey-lab-target": [str(ha)]})).target(
        "cluster") is None
