import os
import subprocess

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
    text = (config.CONFIG_DIR / "ha/sentinel.conf").read_text()
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
    out = subprocess.run(["sh", str(config.CONFIG_DIR / "docker-entrypoint.sh"), kind,
                          str(config.CONFIG_DIR / template)],
                         env={**os.environ, **env, "PATH": f"{fakebin}:{os.environ['PATH']}"},
                         capture_output=True, text=True, check=True).stdout
    expected = config.render_file(template, {**VALUES, "DATA_DIR": str(tmp_path)},
                                  replicaof=("valkey-master", 6379) if kind == "node" else None)
    assert out == expected
