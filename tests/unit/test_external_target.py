"""Target files (backends/target.py): what a valid file gives, and every bad input as one
line that names the file and what to change."""
from pathlib import Path

import pytest

from valkey_lab.backends.target import TargetError, load_target, parse_address, parse_target

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
HA_NODES = ["valkey-master", "valkey-replica1", "valkey-replica2", "valkey-sentinel1", "valkey-sentinel2",
            "valkey-sentinel3"]
CLUSTER_NODES = [f"node-{7000 + i}" for i in range(6)]

GOOD = """
topology = "ha"
password_env = "MY_VALKEY_PW"
allow_faults = true
key_prefix = "lab-test:"
[nodes]
valkey-master = "10.0.0.5:6379"
valkey-replica1 = "10.0.0.6:6379"
valkey-replica2 = "[fd00::7]:6379"
valkey-sentinel1 = "10.0.0.8:26379"
valkey-sentinel2 = "10.0.0.9:26379"
valkey-sentinel3 = "10.0.0.10:26379"
[names]
valkey-master = "valkey-node-0"
[announced]
"valkey-node-0.valkey-headless:6379" = "valkey-master"
[faults]
kill = "kubectl delete pod {node} --grace-period=0 --force"
start = ""
pause = "kubectl exec {node} -- kill -STOP 1"
resume = "kubectl exec {node} -- kill -CONT 1"
[settings]
restart_timeout_s = 240
"""


def write(tmp_path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_line_error(tmp_path, text: str, *needles: str, topology="ha", nodes=HA_NODES) -> str:
    with pytest.raises(TargetError) as info:
        load_target(write(tmp_path, text), topology, nodes)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    for needle in needles:
        assert needle in message, message
    return message


def test_a_good_file(tmp_path):
    t = load_target(write(tmp_path, GOOD), "ha", HA_NODES)
    assert t.topology == "ha" and t.allow_faults and t.key_prefix == "lab-test:"
    assert list(t.nodes) == HA_NODES  # the lab's order
    assert t.nodes["valkey-replica2"] == ("fd00::7", 6379)
    assert t.announced == {("valkey-node-0.valkey-headless", 6379): "valkey-master"}
    assert t.platform_restarts() and t.template("start") is None and t.template("kill")
    assert t.restart_timeout_s == 240
    # {node} is the platform's name when [names] gives one, else the lab's.
    assert t.command("kill", "valkey-master") == ["kubectl", "delete", "pod", "valkey-node-0", "--grace-period=0",
                                                  "--force"]
    assert t.command("pause", "valkey-replica1") == ["kubectl", "exec", "valkey-replica1", "--", "kill", "-STOP",
                                                     "1"]


def test_the_password_comes_only_from_the_named_variable(tmp_path):
    t = load_target(write(tmp_path, GOOD), "ha", HA_NODES)
    assert t.password({"MY_VALKEY_PW": "s3cret"}) == "s3cret"
    with pytest.raises(TargetError, match="MY_VALKEY_PW.*not set"):
        t.password({})
    one_line_error(tmp_path, GOOD.replace('password_env = "MY_VALKEY_PW"', 'password = "s3cret"'),
                   "never put the password in the file", "password_env")
    one_line_error(tmp_path, GOOD.replace('"MY_VALKEY_PW"', '"not a name"'), "password_env must name")
    no_auth = load_target(write(tmp_path, GOOD.replace('password_env = "MY_VALKEY_PW"\n', "")), "ha", HA_NODES)
    assert no_auth.password({}) is None


def test_values_are_quoted_into_templates(tmp_path):
    text = GOOD.replace('valkey-master = "valkey-node-0"', 'valkey-master = "pod with; rm -rf /"')
    t = load_target(write(tmp_path, text), "ha", HA_NODES)
    assert t.command("kill", "valkey-master")[3] == "pod with; rm -rf /"  # one argument, no shell


def test_partition_templates_get_the_peers(tmp_path):
    text = GOOD + 'partition = "cut {node} {peers}"\nheal = "uncut {node} --from {peer_hosts}"\n'
    text = text.replace("[settings]\nrestart_timeout_s = 240\n", "").replace("[faults]", "[settings]\n[faults]")
    t = load_target(write(tmp_path, text), "ha", HA_NODES)
    assert t.command("partition", "valkey-replica1", ["valkey-master", "valkey-sentinel1"]) == \
        ["cut", "valkey-replica1", "valkey-node-0", "valkey-sentinel1"]
    assert t.command("heal", "valkey-replica1", ["valkey-sentinel1"]) == ["uncut", "valkey-replica1", "--from",
                                                                          "10.0.0.8"]


@pytest.mark.parametrize("edit, needles", [
    (lambda s: s.replace('topology = "ha"', 'topology = "sentinel"'), ["topology must be"]),
    (lambda s: s.replace('topology = "ha"', 'topology = "cluster"'), ["describes a cluster deployment",
                                                                       "app/cluster_test.py"]),
    (lambda s: s.replace("allow_faults = true", 'allow_faults = "yes"'), ["allow_faults must be true or false"]),
    (lambda s: s.replace("allow_faults = true", "allow_fault = true"), ["unknown key allow_fault"]),
    (lambda s: s.replace('"lab-test:"', '"lab{x}:"'), ["key_prefix"]),
    (lambda s: s.replace('"lab-test:"', '"lab*"'), ["key_prefix", "glob"]),
    (lambda s: s.replace('"lab-test:"', '""'), ["key_prefix"]),
    (lambda s: s.replace('valkey-replica1 = "10.0.0.6:6379"\n', ""), ["lacks valkey-replica1"]),
    (lambda s: s.replace('valkey-replica1 = "10.0.0.6:6379"', 'valkey-replica9 = "10.0.0.6:6379"'),
     ["valkey-replica9 is not a node of the ha lab"]),
    (lambda s: s.replace('"10.0.0.6:6379"', '"10.0.0.6"'), ["valkey-replica1", "host:port"]),
    (lambda s: s.replace('"10.0.0.6:6379"', '"10.0.0.6:99999"'), ["host:port"]),
    (lambda s: s.replace('"10.0.0.6:6379"', "6379"), ["must be a string"]),
    (lambda s: s.replace('"10.0.0.6:6379"', '"10.0.0.5:6379"'), ["10.0.0.5:6379 for more than one node"]),
    (lambda s: s.replace("[faults]", "[faults]\nreboot = \"ssh {host} reboot\""), ["reboot is not a fault"]),
    (lambda s: s.replace("[faults]", "[faults]\nfailover = \"x\""), ["Valkey command", "SENTINEL FAILOVER",
                                                                     "allow_faults"]),
    (lambda s: s.replace("[faults]", "[faults]\nhung_master = \"x\""), ["DEBUG SLEEP"]),
    (lambda s: s.replace("kill -CONT 1", "kill -CONT {pid}"), ["resume uses {pid}"]),
    (lambda s: s.replace("kill -CONT 1", "kill -CONT {"), ["[faults] resume", "literal brace"]),
    (lambda s: s.replace('resume = "kubectl exec {node} -- kill -CONT 1"\n', ""), ["pause needs resume"]),
    (lambda s: s.replace('kill = "kubectl', 'kill = "\'kubectl'), ["[faults] kill"]),
    (lambda s: s.replace("restart_timeout_s = 240", "restart_timeout_s = -1"), ["positive number"]),
    (lambda s: s.replace("restart_timeout_s = 240", "restart_timeout = 240"), ["restart_timeout is unknown"]),
    (lambda s: s.replace('valkey-master = "valkey-node-0"', 'valkey-masta = "valkey-node-0"'),
     ["[names] valkey-masta is not in [nodes]"]),
    (lambda s: s.replace('= "valkey-master"\n', '= "nobody"\n'), ["[announced]", "nobody"]),
    (lambda s: s + "\n[nodes.oops]\n", ["must be a string"]),
    (lambda s: s.replace("[nodes]", "[nodez]"), ["unknown key nodez"]),
])
def test_bad_input_is_one_line(tmp_path, edit, needles):
    message = one_line_error(tmp_path, edit(GOOD), *needles)
    assert message.startswith("t.toml")


def test_no_nodes_and_no_file_and_not_toml(tmp_path):
    one_line_error(tmp_path, 'topology = "ha"\n', "[nodes] is missing")
    with pytest.raises(TargetError, match="no target file .*nope.toml"):
        load_target(tmp_path / "nope.toml")
    one_line_error(tmp_path, 'topology = "ha"\n[nodes\n', "is not valid TOML")


def test_addresses():
    assert parse_address("h:1", "x") == ("h", 1)
    assert parse_address("[::1]:6379", "x") == ("::1", 6379)
    for bad in ("h", ":1", "h:0", "h:x", "[::1]6379"):
        with pytest.raises(TargetError):
            parse_address(bad, "x")


def test_a_parsed_mapping_needs_no_file():
    t = parse_target({"topology": "cluster", "nodes": {n: f"127.0.0.1:{7000 + i}" for i, n in
                                                       enumerate(CLUSTER_NODES)}}, "c.toml", "cluster", CLUSTER_NODES)
    assert not t.allow_faults and t.key_prefix == "valkey-lab:" and t.faults == {} and t.password_env is None


@pytest.mark.parametrize("name, topology, nodes", [("docker-ha.toml", "ha", HA_NODES),
                                                   ("docker-cluster.toml", "cluster", CLUSTER_NODES),
                                                   ("kubernetes-ha.toml", "ha", HA_NODES),
                                                   ("vm-ssh-ha.toml", "ha", HA_NODES)])
def test_the_shipped_examples_are_valid(name, topology, nodes):
    t = load_target(EXAMPLES / name, topology, nodes)
    text = (EXAMPLES / name).read_text()
    assert "RUN HERE:" in text  # each says whether it was run here
    assert t.password_env and t.key_prefix
    if name.startswith("docker"):
        assert all(h == "127.0.0.1" for h, _ in t.nodes.values())  # published loopback ports only
        assert t.command("kill", nodes[0]) == ["docker", "kill", nodes[0]]
