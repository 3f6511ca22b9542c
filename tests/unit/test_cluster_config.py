"""The cluster node template and the init script's usage checks (no server needed)."""
import os
import subprocess

from valkey_lab.topology import config
from valkey_lab.cluster.topology import INIT_SCRIPT, local_nodes

VALUES = {"PORT": 7100, "BIND": "127.0.0.1", "DATA_DIR": ".", "ANNOUNCE_HOST": "127.0.0.1",
          "VALKEY_PASSWORD": "pw", "CLUSTER_NODE_TIMEOUT": 3000}


def settings(text: str) -> dict:
    return {parts[0]: " ".join(parts[1:]) for parts in (line.split() for line in text.splitlines())
            if parts and not parts[0].startswith("#")}


def test_cluster_template_settings():
    conf = settings(config.render_file("cluster/node.conf", VALUES))
    assert conf["cluster-enabled"] == "yes"
    assert conf["cluster-config-file"] == "nodes.conf" and conf["dir"] == "."
    assert conf["cluster-require-full-coverage"] == "no"
    assert conf["cluster-node-timeout"] == "3000"
    assert conf["requirepass"] == conf["masterauth"] == "pw"
    assert conf["repl-diskless-sync-delay"] == "0"  # design notes, section 3
    assert conf["cluster-announce-hostname"] == "127.0.0.1"
    assert conf["cluster-preferred-endpoint-type"] == "hostname"


def test_local_nodes_use_base_port_and_keep_their_names():
    specs = local_nodes("pw", 7200, timeout_ms=1500)
    assert [s.name for s in specs] == [f"node-{7000 + i}" for i in range(6)]
    assert [s.port for s in specs] == list(range(7200, 7206))
    assert all("cluster-node-timeout 1500" in s.config for s in specs)
    assert "port 7203" in specs[3].config


def _init(*args, env=None):
    with config.script_path("cluster/init.sh") as script:
        return subprocess.run(["sh", str(script), *args], capture_output=True, text=True, timeout=30,
                              env={"PATH": os.environ["PATH"], **(env or {})})


def test_init_script_is_the_package_resource():
    assert INIT_SCRIPT.is_file() and INIT_SCRIPT == config.resource("cluster/init.sh")


def test_init_script_usage_error():
    proc = _init("a:1", "b:2", env={"VALKEY_PASSWORD": "pw"})
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_init_script_needs_the_password():
    proc = _init(*[f"127.0.0.1:{p}" for p in range(1, 7)])
    assert proc.returncode != 0 and "VALKEY_PASSWORD" in proc.stderr
