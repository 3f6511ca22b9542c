import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from valkey_lab.topology import config

VALUES = {"PORT": 6390, "BIND": "127.0.0.1", "DATA_DIR": "/tmp/x", "ANNOUNCE_HOST": "127.0.0.1",
          "VALKEY_PASSWORD": "p|a&s\\s", "CLUSTER_NODE_TIMEOUT": 4500}


def test_render_replaces_every_placeholder():
    assert config.render("port ${PORT}\nrequirepass ${VALKEY_PASSWORD}\n", VALUES) == \
        "port 6390\nrequirepass p|a&s\\s\n"


def test_render_refuses_a_placeholder_without_value():
    with pytest.raises(KeyError, match="ANNOUNCE_HOST"):
        config.render("replica-announce-ip ${ANNOUNCE_HOST}", {})


def test_sentinel_template_keeps_the_spec_settings_verbatim():
    text = config.template("ha/sentinel.conf")
    for line in ("sentinel monitor myvalkey valkey-master 6379 2",
                 "sentinel down-after-milliseconds myvalkey 2000",
                 "sentinel failover-timeout myvalkey 10000"):
        assert line in text.splitlines()


def test_local_sentinel_monitors_the_local_master():
    text = config.render_file("ha/sentinel.conf", VALUES, monitor=("127.0.0.1", 6390))
    assert "sentinel monitor myvalkey 127.0.0.1 6390 2" in text.splitlines()
    assert "valkey-master" not in text


def test_sentinel_setting_reads_the_template():
    assert config.sentinel_setting("down-after-milliseconds") == "2000"


@pytest.mark.parametrize("template", ["ha/node.conf", "ha/sentinel.conf", "cluster/node.conf"])
def test_docker_entrypoint_renders_like_python(tmp_path, template):
    """Both backends must get the same configuration from one template."""
    env = {k: str(v) for k, v in VALUES.items()}
    env["DATA_DIR"] = str(tmp_path)
    env["REPLICAOF"] = "valkey-master 6379"
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    for exe in ("valkey-server", "valkey-sentinel"):  # print the rendered file instead of running
        (fakebin / exe).write_text('#!/bin/sh\ncat "$1"\n')
        (fakebin / exe).chmod(0o755)
    kind = "sentinel" if "sentinel" in template else "node"
    with config.script_path("docker-entrypoint.sh") as entrypoint, config.script_path(template) as path:
        out = subprocess.run(["sh", str(entrypoint), kind, str(path)],
                             env={**os.environ, **env, "PATH": f"{fakebin}:{os.environ['PATH']}"},
                             capture_output=True, text=True, check=True).stdout
    expected = config.render_file(template, {**VALUES, "DATA_DIR": str(tmp_path)},
                                  replicaof=("valkey-master", 6379) if kind == "node" else None)
    assert out == expected


# -- package data, one source for both backends ------------------------------------------------

def test_templates_are_package_data_beside_the_code():
    import valkey_lab
    assert Path(str(config.CONFIG_DIR)) == Path(valkey_lab.__file__).parent / "config"
    for name in ("ha/node.conf", "ha/sentinel.conf", "cluster/node.conf", "cluster/init.sh",
                 "docker-entrypoint.sh"):
        assert config.resource(name).is_file(), name


@pytest.mark.parametrize("compose", ["docker-compose.ha.yml", "docker-compose.cluster.yml"])
def test_compose_mounts_the_package_config(compose):
    """The containers read the very files the local backend renders, and every file a
    service names under /lab-config exists there."""
    root = Path(__file__).resolve().parents[2]
    text = (root / compose).read_text()
    mounts = set(re.findall(r"\./([\w/.-]+):/lab-config:ro", text))
    assert mounts and all((root / m).resolve() == Path(str(config.CONFIG_DIR)).resolve() for m in mounts)
    for used in set(re.findall(r"/lab-config/([\w/.-]+)", text)):
        assert config.resource(used).is_file(), used


def test_importing_the_topologies_and_the_clis_reads_no_file():
    """Settings are read when a lab is built, not at import: --help needs no template."""
    code = textwrap.dedent("""
        from valkey_lab.topology import config
        def boom(*a, **k):
            raise AssertionError("read at import")
        real, config.template = config.template, boom
        import valkey_lab.ha.topology as ht, valkey_lab.cluster.topology as ct
        import valkey_lab.ha.cli, valkey_lab.cluster.cli, valkey_lab.checkers.cli, valkey_lab.bench_cli
        config.template = real
        assert (ht.DOWN_AFTER_S, ht.FAILOVER_TIMEOUT_S) == (2.0, 10.0)
        assert ht.sentinel_timing() == (2.0, 10.0)
        import os
        os.environ[config.OVERRIDES_ENV] = "ha/sentinel.conf:down-after-milliseconds=1000"
        assert ht.sentinel_timing() == (1.0, 10.0) and ht.DOWN_AFTER_S == 1.0  # read again, not cached
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                   env={**{k: v for k, v in os.environ.items() if k != config.OVERRIDES_ENV},
                        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "app")})


# -- .env: the working directory's, else the checkout's -----------------------------------------

def test_dotenv_of_the_working_directory_wins(tmp_path, monkeypatch):
    from valkey_lab import util
    monkeypatch.delenv("VALKEY_PASSWORD", raising=False)
    (tmp_path / ".env").write_text("# comment\n\nVALKEY_PASSWORD='from-cwd'\nCLUSTER_NODE_TIMEOUT = 4500\n")
    monkeypatch.chdir(tmp_path)
    assert util.dotenv_path() == tmp_path / ".env"
    assert util.password() == "from-cwd" and util.setting("CLUSTER_NODE_TIMEOUT", "3000") == "4500"
    monkeypatch.setenv("VALKEY_PASSWORD", "from-env")
    assert util.password() == "from-env"


def test_dotenv_falls_back_to_the_checkout_then_the_default(tmp_path, monkeypatch):
    from valkey_lab import util
    monkeypatch.delenv("VALKEY_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.setattr(util, "REPO_ROOT", checkout)
    assert util.dotenv_path() is None and util.password() == util.DEFAULT_PASSWORD
    (checkout / ".env").write_text("VALKEY_PASSWORD=from-checkout\n")
    assert util.dotenv_path() == checkout / ".env" and util.password() == "from-checkout"
    monkeypatch.setattr(util, "REPO_ROOT", None)  # installed: no checkout around the package
    assert util.dotenv_path() is None and util.password() == util.DEFAULT_PASSWORD


def test_repo_root_is_the_checkout():
    from valkey_lab import util
    assert util.REPO_ROOT == Path(__file__).resolve().parents[2]
