"""The external backend's safety rules, without a server: nothing destructive without
allow_faults (and no command run), templates or a stated reason, keys only under the prefix
and deleted at the end, never FLUSHALL / FLUSHDB / CONFIG SET."""
import ast
import subprocess
from pathlib import Path

import pytest

from valkey_lab.backends import external as ext
from valkey_lab.backends.external import (ExternalBackend, FaultRefused, KeyGuard, check_command, refusal)
from valkey_lab.backends.target import parse_target
from valkey_lab.cluster import external as cluster_ext
from valkey_lab.cluster import cli as cluster_cli
from valkey_lab.ha import cli as ha_cli
from valkey_lab.ha import external as ha_ext
from valkey_lab.history.recorder import RunRecorder

PACKAGE = Path(__file__).resolve().parents[2] / "app" / "valkey_lab"
HA_NODES = {"valkey-master": "127.0.0.1:6380", "valkey-replica1": "127.0.0.1:6381", "valkey-replica2": "127.0.0.1:6382",
            "valkey-sentinel1": "127.0.0.1:26380", "valkey-sentinel2": "127.0.0.1:26381",
            "valkey-sentinel3": "127.0.0.1:26382"}
CLUSTER_NODES = {f"node-{7000 + i}": f"127.0.0.1:{7000 + i}" for i in range(6)}
DOCKER = {"kill": "docker kill {node}", "start": "docker start {node}", "pause": "docker pause {node}",
          "resume": "docker unpause {node}"}


def target(allow=True, faults=None, topology="ha", prefix="lab-test:"):
    return parse_target({"topology": topology, "allow_faults": allow, "key_prefix": prefix,
                         "nodes": HA_NODES if topology == "ha" else CLUSTER_NODES,
                         "faults": DOCKER if faults is None else faults}, "t.toml")


class Runner:
    """Records the commands instead of running them."""

    def __init__(self, code=0):
        self.calls, self.code = [], code

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, self.code, "", "boom" if self.code else "")


def backend(t, code=0, answers=False):
    b = ExternalBackend(t, "pw", runner=Runner(code))
    b._ping = lambda node: answers  # noqa: E731 - no server: a killed node stops answering at once
    return b


# -- refusals -------------------------------------------------------------------------------------
def test_without_allow_faults_every_destructive_need_is_refused_with_one_line():
    t = target(allow=False)
    for needs in (("kill",), ("pause",), ("failover",), ("reshard",), ("valkey-fault",), ("undeclared",),
                  ("kill", "hold-down")):
        reason = refusal(t, needs)
        assert reason and "allow_faults = false" in reason and "\n" not in reason, needs
    assert refusal(t, ()) is None  # read-only scenarios run


def test_what_no_target_can_do_is_refused_even_with_allow_faults():
    t = target(allow=True)
    assert "CONFIG SET" in refusal(t, ("config-set", "partition"))
    assert "no template" in refusal(t, ("host-net",))


def test_a_fault_without_its_template_is_refused_naming_it():
    t = target(faults={"kill": "docker kill {node}"})
    assert refusal(t, ("kill",)) is None
    assert "no [faults] pause template" in refusal(t, ("pause",))
    assert "no [faults] partition template" in refusal(t, ("partition",))
    # No start template: the platform restarts killed nodes, so nothing can be held down.
    assert "platform restarts" in refusal(t, ("kill", "hold-down"))
    assert refusal(target(), ("kill", "hold-down")) is None


def test_the_backend_runs_no_command_without_allow_faults():
    b = backend(target(allow=False))
    for fault in (b.kill, b.pause):
        with pytest.raises(FaultRefused, match="allow_faults = false"):
            fault("valkey-master")
    with pytest.raises(FaultRefused):
        b.partition("valkey-master", ["valkey-replica1"])
    with pytest.raises(FaultRefused):
        b.debug_sleep("valkey-master", 5)
    assert b._run.calls == []


def test_host_network_faults_are_refused_on_an_external_target():
    b = backend(target())
    for method, args in (("loss", (30,)), ("one_way", ([], "out")), ("bus_partition", ([],)),
                         ("limit_bandwidth", ("8mbit",))):
        with pytest.raises(FaultRefused, match="host access"):
            getattr(b, method)("valkey-master", *args)
    assert b._run.calls == []


def test_templates_run_and_the_lab_undoes_only_what_it_did():
    b = backend(target())
    b.start("valkey-replica1")  # never stopped by the lab: left alone
    b.resume("valkey-replica1")
    assert b._run.calls == []
    b.kill("valkey-master")
    assert b._run.calls == [["docker", "kill", "valkey-master"]]
    assert not b.is_running("valkey-master") and b.is_running("valkey-replica1")
    b.wait_answering = lambda nodes, timeout=None: None  # noqa: E731
    b.start("valkey-master")
    assert b._run.calls[-1] == ["docker", "start", "valkey-master"] and b.is_running("valkey-master")
    b.pause("valkey-replica2")
    assert not b.is_running("valkey-replica2")
    b.close()  # resumes what the lab paused
    assert b._run.calls[-1] == ["docker", "unpause", "valkey-replica2"]


def test_a_platform_restart_is_waited_for_not_done():
    b = backend(target(faults={"kill": "kubectl delete pod {node}", "start": ""}))
    b.kill("valkey-master")
    waited = []
    b.wait_answering = lambda nodes, timeout=None: waited.append((nodes, timeout))  # noqa: E731
    b.start("valkey-master")
    assert b._run.calls == [["kubectl", "delete", "pod", "valkey-master"]]  # no start command
    assert waited == [(["valkey-master"], b.target.restart_timeout_s)]
    b.kill("valkey-replica1")
    b._ping = lambda node: True  # noqa: E731 - the platform brought it back
    assert b.is_running("valkey-replica1")


def test_a_failing_template_is_one_line():
    b = backend(target(), code=1)
    with pytest.raises(ext.LabError) as info:
        b.kill("valkey-master")
    assert "[faults] kill for valkey-master failed (exit 1): docker kill valkey-master: boom" == str(info.value)


def test_forbidden_commands():
    for args in (("FLUSHALL",), ("flushdb", "ASYNC"), ("CONFIG", "SET", "save", ""), ("config", "set")):
        with pytest.raises(FaultRefused, match="never runs"):
            check_command(args)
    for args in (("CONFIG", "GET", "maxmemory"), ("CLIENT", "PAUSE", 100), ("DEBUG", "SLEEP", 1)):
        check_command(args)


def test_the_package_never_sends_flush_and_sets_config_only_where_external_labs_refuse():
    """FLUSHALL / FLUSHDB appear nowhere; CONFIG SET only inside ``min_replicas`` (which the
    external labs override to refuse) and ``command`` (which they override to check)."""
    flush, config_set = [], []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "external.py":
            continue
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                        node.value.upper() in ("FLUSHALL", "FLUSHDB"):
                    flush.append(f"{path.name}:{fn.name}")
                if isinstance(node, ast.Attribute) and node.attr in ("flushall", "flushdb"):
                    flush.append(f"{path.name}:{fn.name}")
                if isinstance(node, ast.Attribute) and node.attr == "config_set":
                    config_set.append(fn.name)
    assert flush == []
    assert set(config_set) <= {"min_replicas"}
    assert ha_ext.ExternalHALab.min_replicas is not ha_ext.HALab.min_replicas
    assert cluster_ext.ExternalClusterLab.min_replicas is not cluster_ext.ClusterLab.min_replicas


# -- the labs: keys under the prefix, faults gated, no CONFIG SET ---------------------------------------
def ha_lab(allow=True):
    b = backend(target(allow=allow))
    return ha_ext.ExternalHALab(b, None, "pw", RunRecorder(), backend_name="external", target=b.target)


def cluster_lab(allow=True):
    b = backend(target(allow=allow, topology="cluster"))
    return cluster_ext.ExternalClusterLab(b, None, "pw", "8.0.1", 3000, RunRecorder(), target=b.target)


@pytest.mark.parametrize("make", [ha_lab, cluster_lab])
def test_every_key_the_labs_make_is_under_the_prefix(make):
    lab = make()
    assert lab.key("crud", "s").startswith("lab-test:lab:")
    assert lab.key(f"{{user-{lab.run_id}}}", "name").startswith("lab-test:")


@pytest.mark.parametrize("make", [ha_lab, cluster_lab])
def test_the_labs_refuse_faults_and_config_set(make):
    lab = make(allow=False)
    with pytest.raises(FaultRefused, match="allow_faults = false"):
        lab.resolve("valkey-master" if lab.name == "ha" else "node-7000")
    with pytest.raises(FaultRefused, match="CONFIG SET"):
        lab.min_replicas(1)
    lab.min_replicas(0, strict=False)  # the restore's reset: nothing to undo, no server touched
    with pytest.raises(FaultRefused, match="never runs CONFIG SET"):
        make(allow=True).command("n", "CONFIG", "SET", "min-replicas-to-write", 1)
    with pytest.raises(FaultRefused, match="allow_faults = false"):
        lab.command("n", "CLIENT", "PAUSE", 1000, "WRITE")


def test_every_scenario_is_declared_and_the_read_only_ones_run_without_allow_faults():
    ha, cluster = ha_lab(allow=False), cluster_lab(allow=False)
    for suite, lab, needs in ((ha_cli, ha, ha_ext.METHOD_NEEDS), (cluster_cli, cluster, cluster_ext.METHOD_NEEDS)):
        methods = {s.method for s in suite.SCENARIOS} - {"random"}  # generated: checked fault by fault
        assert methods - set(needs) == set(), "declare what the new scenario needs of an external target"
        runs = sorted(m for m in methods if lab.refuses(m) is None)
        refused = {m: lab.refuses(m) for m in methods if lab.refuses(m) is not None}
        assert all("\n" not in r for r in refused.values())
        if suite is ha_cli:
            assert runs == ["crud", "replica_sync"]
        else:
            assert runs == ["shard_distribution", "slot_placement", "topology"]
    assert "allow_faults = false" in ha.refuses("random")  # undeclared: only with allow_faults
    assert ha_lab(allow=True).refuses("random") is None


# -- KeyGuard -------------------------------------------------------------------------------------
class FakeNode:
    def __init__(self, keys):
        self.keys = set(keys)

    def scan_iter(self, match, count):
        assert match.endswith("*")
        return [k for k in sorted(self.keys) if k.startswith(match[:-1])]

    def pipeline(self, transaction=False):
        node, ops = self, []

        class Pipe:
            def unlink(self, key):
                ops.append(key)

            def execute(self, raise_on_error=True):
                out = [int(k in node.keys) for k in ops]
                node.keys -= set(ops)
                return out
        return Pipe()

    def dbsize(self):
        return len(self.keys)


def test_key_guard_deletes_only_the_prefix_and_says_so():
    node = FakeNode({"user:1", "user:2", "lab-test:old"})
    guard = KeyGuard("lab-test:", lambda: [("m", node)])
    assert guard.begin() == {"key_prefix": "lab-test:", "leftovers_deleted": 1, "dbsize_before": 2}
    node.keys |= {f"lab-test:lab:x:{i}" for i in range(1200)}
    report = guard.end()
    assert node.keys == {"user:1", "user:2"}
    assert report["deleted"] == 1200 and report["dbsize_after"] == 2 and report["problems"] == []
    assert guard.line() == ("keys under 'lab-test:': 1200 deleted (and 1 left by an earlier run); "
                            "DBSIZE 2 before, 2 after")


def test_key_guard_says_when_it_could_not_delete():
    def no_master():
        raise RuntimeError("no master agreed")
    guard = KeyGuard("p:", no_master)
    guard.end(attempts=2, pause=0)
    assert "could not delete" in guard.line() and "run again" in guard.line()
