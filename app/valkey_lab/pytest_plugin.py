"""pytest fixtures for failover tests in your own CI: a Sentinel HA lab and a 6-node Cluster,
with real faults, as a pytest plugin (``pip install valkey-lab`` registers it through the
``pytest11`` entry point; nothing to import).

    def test_my_code_survives_a_failover(valkey_sentinel):
        r = valkey_sentinel.redis()            # redis-py, through the Sentinels
        ...                                    # your code writes through r
        fo = valkey_sentinel.failover()        # SIGKILL of the master; returns once a new one is agreed
        assert fo.new_master != fo.old_master  # fo.switch_s: how long the Sentinels took

    def test_my_code_and_a_lost_primary(valkey_cluster):
        kp = valkey_cluster.kill_primary(0)    # the primary of slots 0-5460; returns once its replica took over
        valkey_cluster.start(kp.old_primary)   # back, as the new primary's replica

The labs live for the session (started on first use, stopped at the end); each test gets a
healthy topology: after every test the faults it started are healed, every node is started
again, and the lab waits for its steady state (the cluster also gets its slot layout back).

Options (or environment variables):
  --valkey-lab-backend local|docker|external   VALKEY_LAB_BACKEND   (default local: processes)
  --valkey-lab-target FILE.toml                VALKEY_LAB_TARGET    (external: the deployments; one HA
                                                                     and one cluster file, each fixture
                                                                     takes the one of its topology)
  --valkey-lab-ha-port N                       VALKEY_LAB_HA_PORT   (local: servers N..N+2, Sentinels
                                                                     N+20000..N+20002; default 6390)
  --valkey-lab-cluster-port N                  VALKEY_LAB_CLUSTER_PORT (local: nodes N..N+5, bus +10000;
                                                                     default 7100)
The local backend needs valkey-server, valkey-sentinel and valkey-cli on PATH (or in
$VALKEY_LAB_BIN); the password is $VALKEY_PASSWORD (or .env), else the lab's default.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

BACKENDS = ("local", "docker", "external")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("valkey-lab", "Valkey failure lab fixtures (valkey_sentinel, valkey_cluster)")
    group.addoption("--valkey-lab-backend", choices=BACKENDS, default=None,
                    help="where the fixtures' nodes run: local processes (default), the docker compose stacks, or "
                         "an external deployment (--valkey-lab-target); env VALKEY_LAB_BACKEND")
    group.addoption("--valkey-lab-target", metavar="FILE.toml", action="append", default=None,
                    help="a target file of --valkey-lab-backend external (repeat it for an HA and a cluster "
                         "target: each fixture takes the one of its topology); env VALKEY_LAB_TARGET (several "
                         "joined with ':')")
    group.addoption("--valkey-lab-ha-port", type=int, default=None, metavar="N",
                    help="local HA lab: servers on N..N+2, Sentinels on N+20000..N+20002 (default 6390); "
                         "env VALKEY_LAB_HA_PORT")
    group.addoption("--valkey-lab-cluster-port", type=int, default=None, metavar="N",
                    help="local cluster: nodes on N..N+5, cluster bus +10000 (default 7100); env VALKEY_LAB_CLUSTER_PORT")


@dataclass(frozen=True)
class LabOptions:
    backend: str
    targets: tuple  # target files (external)
    ha_port: int
    cluster_port: int

    def target(self, topology: str) -> Optional[str]:
        """The target file whose ``topology`` is ``topology`` (None: there is none)."""
        import tomllib
        for path in self.targets:
            try:
                if tomllib.loads(Path(path).read_text()).get("topology") == topology:
                    return path
            except (OSError, ValueError):
                return path  # let the lab's parser say what is wrong with it
        return None


def options(config) -> LabOptions:
    def pick(opt: str, env: str, default: Any = None) -> Any:
        value = config.getoption(opt)
        return value if value is not None else os.environ.get(env) or default
    backend = pick("--valkey-lab-backend", "VALKEY_LAB_BACKEND", "local")
    if backend not in BACKENDS:
        raise pytest.UsageError(f"VALKEY_LAB_BACKEND={backend!r}: choose one of {', '.join(BACKENDS)}")
    targets = config.getoption("--valkey-lab-target") or \
        [t for t in os.environ.get("VALKEY_LAB_TARGET", "").split(os.pathsep) if t]
    if backend == "external" and not targets:
        raise pytest.UsageError("--valkey-lab-backend external needs --valkey-lab-target FILE.toml")
    try:
        return LabOptions(backend, tuple(targets), int(pick("--valkey-lab-ha-port", "VALKEY_LAB_HA_PORT", 6390)),
                          int(pick("--valkey-lab-cluster-port", "VALKEY_LAB_CLUSTER_PORT", 7100)))
    except ValueError as exc:
        raise pytest.UsageError(f"valkey-lab port: {exc}") from None


def pytest_report_header(config) -> str:
    o = options(config)
    where = {"local": f"local processes (HA from port {o.ha_port}, cluster from {o.cluster_port})",
             "docker": "the docker compose stacks", "external": f"the deployments in {', '.join(o.targets)}"}[o.backend]
    return f"valkey-lab fixtures: {where}"


# -- the labs, one per session -------------------------------------------------------------------------
def _missing_binaries(kind: str) -> Optional[str]:
    from valkey_lab.backends.local import BIN_ENV, command
    exes = [command("server", "")[0]] + ([command("sentinel", "")[0]] if kind == "ha" else ["valkey-cli"])
    missing = list(dict.fromkeys(exe for exe in exes if shutil.which(exe) is None))
    if not missing:
        return None
    where = f" (${BIN_ENV} is {os.environ[BIN_ENV]})" if os.environ.get(BIN_ENV) else ""
    return (f"valkey_{'sentinel' if kind == 'ha' else 'cluster'}: {', '.join(missing)} not found{where}: the fixture "
            "runs real Valkey processes. Install Valkey (Debian 13 / Ubuntu 24.04: apt-get install valkey-server "
            "valkey-sentinel valkey-tools; this repository: make deps), or set VALKEY_LAB_BIN=DIR, or use "
            "--valkey-lab-backend docker")


def _open(kind: str, o: LabOptions, stack: ExitStack):
    """Start (local) or attach to (docker, external) one lab; pytest.fail with one clear line."""
    from valkey_lab.history.recorder import RunRecorder
    from valkey_lab.util import LabError, WaitTimeout
    if o.backend == "local":
        problem = _missing_binaries(kind)
        if problem:
            pytest.fail(problem, pytrace=False)
    if kind == "ha":
        from valkey_lab.ha.lab import open_lab
        port = o.ha_port
    else:
        from valkey_lab.cluster.lab import open_lab
        port = o.cluster_port
    target = None
    if o.backend == "external":
        target = o.target(kind)
        if target is None:
            pytest.fail(f"valkey_{'sentinel' if kind == 'ha' else 'cluster'}: none of the target files "
                        f"({', '.join(o.targets)}) has topology = \"{kind}\"", pytrace=False)
    args = argparse.Namespace(backend=o.backend, base_port=port, target=target)
    recorder = RunRecorder()
    try:
        lab = stack.enter_context(open_lab(args, recorder))
    except (LabError, WaitTimeout) as exc:
        pytest.fail(f"valkey_{'sentinel' if kind == 'ha' else 'cluster'}: {exc}", pytrace=False)
    recorder.meta(suite=f"pytest-{kind}", backend=lab.backend_name, valkey_version=lab.valkey_version,
                  settings=lab.settings(), scenarios=[])
    return lab


@dataclass(frozen=True)
class Failover:
    """What ``valkey_sentinel.failover()`` saw: the master it killed, the one the Sentinels
    agreed on, and how long that took from the kill (``switch_s``), next to Sentinel's
    down-after and failover-timeout (what the switch is made of)."""
    old_master: str
    new_master: str
    switch_s: float
    down_after_s: float
    failover_timeout_s: float


@dataclass(frozen=True)
class PrimaryKilled:
    """What ``valkey_cluster.kill_primary(shard)`` saw: the primary it killed, the replica that
    took its slots, and how long from the kill until every surviving node agreed on it."""
    shard: int
    slots: tuple
    old_primary: str
    new_primary: str
    promotion_s: float
    node_timeout_s: float


class _LabHandle:
    """What both fixtures share: faults through the lab's nemesis (so they are in the
    history), the history of the current test, and the restore between tests."""

    def __init__(self, lab):
        from valkey_lab.nemesis.fault import Nemesis
        self.lab, self.recorder = lab, lab.recorder
        self.nemesis = Nemesis(lab, lab.recorder)
        self._faults: dict = {}  # (node, kind) -> the Fault that is active
        self._running = None
        self.run: Optional[str] = None

    # -- per test ----------------------------------------------------------------------------
    def _begin(self, name: str) -> None:
        self.run = re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", name)
        self._running = self.recorder.running(self.run)
        self._running.__enter__()

    def _end(self) -> None:
        try:
            self.restore()
        finally:
            if self._running is not None:
                self._running.__exit__(None, None, None)
                self._running = None

    def restore(self) -> None:
        """Heal every fault started here, start and resume every node, and wait for the steady
        state (what runs after each test; call it yourself to start over within one)."""
        try:
            self.nemesis.end_all()
        finally:
            self._faults.clear()
            self.lab.restore()
            self.lab.steady()

    # -- faults ------------------------------------------------------------------------------
    def _start(self, kind: str, target: str, **params) -> list[str]:
        from valkey_lab.nemesis.fault import Fault
        fault = Fault(kind, target, params)
        nodes = self.nemesis.start(fault)
        for node in nodes:
            self._faults[(node, kind)] = fault
        return nodes

    def _end_fault(self, node: str, kind: str, fallback) -> None:
        fault = self._faults.pop((node, kind), None)
        if fault is None:
            fallback(node)
            return
        self.nemesis.end(fault=fault)
        for key in [k for k, f in self._faults.items() if f == fault]:
            del self._faults[key]

    def kill(self, node: str) -> list[str]:
        """SIGKILL (local), ``docker kill``, or the target's kill template; a role works too
        ("master" for HA). Returns the nodes killed."""
        return self._start("kill", node)

    def start(self, node: str) -> None:
        """Start a killed node again; returns once it answers PING."""
        self._end_fault(node, "kill", self.lab.backend.start)

    def pause(self, node: str) -> list[str]:
        """SIGSTOP / ``docker pause``: alive, but silent."""
        return self._start("pause", node)

    def resume(self, node: str) -> None:
        self._end_fault(node, "pause", self.lab.backend.resume)

    def partition(self, node: str) -> list[str]:
        """Drop every packet between ``node`` and its peers (iptables: needs root); the test
        process still reaches it."""
        return self._start("partition", node)

    def heal(self) -> None:
        """End every fault started through the fixture: partitions, pauses and kills."""
        self.nemesis.end_all()
        self._faults.clear()

    # -- what happened -------------------------------------------------------------------------
    @property
    def history(self) -> list[dict]:
        """The current test's history (the lab's records: faults as nemesis ops, the lab
        clients' ops and events, the waits), with the meta record first: hand it to the
        checkers (valkey_lab.checkers, history.view.RunView)."""
        return [r for r in self.recorder.records() if r.get("kind") == "meta" or r.get("run") == self.run]

    def view(self):
        from valkey_lab.history.view import RunView
        return RunView(self.history, self.run or "")

    @property
    def password(self) -> Optional[str]:
        return self.lab.password

    def address(self, node: str) -> tuple[str, int]:
        """Where this process reaches ``node`` (host, port)."""
        return self.lab.backend.address(node)

    def nodes(self) -> list[str]:
        return self.lab.backend.nodes()


class ValkeySentinel(_LabHandle):
    """The ``valkey_sentinel`` fixture: 1 master, 2 replicas, 3 Sentinels (valkey-master,
    valkey-replica1/2, valkey-sentinel1..3; the master's name after a failover is whichever
    node the Sentinels promoted: ask ``master()``)."""

    service = "myvalkey"

    def client(self, **kwargs):
        """The lab's HA client (valkey_lab.clients.ha.HAClient): follows the master, retries
        with backoff, never repeats an ambiguous write."""
        return self.lab.client(**kwargs)

    def sentinel(self, **kwargs):
        """A redis-py ``Sentinel`` for the lab's Sentinels (announced addresses mapped to
        reachable ones)."""
        from valkey_lab.clients.ha import RemappingSentinel
        from valkey_lab.ha.topology import SENTINELS
        pw = self.password
        return RemappingSentinel([self.address(s) for s in SENTINELS], remap=self.lab.backend.remap,
                                 sentinel_kwargs={"password": pw, "socket_timeout": 0.5}, password=pw, **kwargs)

    def redis(self, **kwargs):
        """A plain redis-py client of the master, through the Sentinels (``master_for``): it
        asks them again when its connection breaks."""
        kwargs.setdefault("socket_timeout", 0.5)
        kwargs.setdefault("socket_connect_timeout", 0.5)
        return self.sentinel().master_for(self.service, **kwargs)

    def master(self) -> str:
        """The node every running Sentinel names as master."""
        return self.lab.master()

    def replicas(self) -> list[str]:
        from valkey_lab.ha.topology import SERVERS
        m = self.master()
        return [n for n in SERVERS if n != m]

    def failover(self, timeout: Optional[float] = None) -> Failover:
        """SIGKILL the master; return once every running Sentinel names another node. The old
        master stays down until ``start(old_master)`` or the end of the test."""
        from valkey_lab.ha.lab import NewMaster
        from valkey_lab.runner.run import RunState
        from valkey_lab.util import now
        victims = self.kill("master")
        t_kill = now()
        state = RunState(faulted=[victims], t_fault=t_kill)
        self.lab.new_master(NewMaster(timeout=timeout), state)
        switch_s = round(state.t_new_master - t_kill, 3)
        self.recorder.harness("await", {"condition": "new-master", "seconds": switch_s,
                                        "new_master": state.new_master})
        return Failover(victims[0], state.new_master, switch_s, self.lab.down_after_s, self.lab.failover_timeout_s)


class ValkeyCluster(_LabHandle):
    """The ``valkey_cluster`` fixture: node-7000..7002 primaries of 0-5460, 5461-10922 and
    10923-16383, node-7003..7005 their replicas (the names stay on every backend)."""

    def client(self, **kwargs):
        """The lab's cluster client (valkey_lab.clients.cluster.ClusterClient)."""
        return self.lab.client(**kwargs)

    def redis(self, **kwargs):
        """A plain redis-py ``RedisCluster`` (announced addresses mapped to reachable ones)."""
        import redis
        host, port = self.address(self.lab.topology.running()[0])
        remap = self.lab.backend.address_map()
        kwargs.setdefault("socket_timeout", 0.5)
        kwargs.setdefault("socket_connect_timeout", 0.5)
        return redis.RedisCluster(host, port, password=self.password,
                                  address_remap=lambda addr: remap.get((addr[0], int(addr[1])), addr), **kwargs)

    def primaries(self) -> list[str]:
        """The current primary of each shard, in slot order."""
        return [s["primary"] for s in self.lab.topology.shards()]

    def primary_for(self, key: str) -> str:
        """The node that owns ``key``'s slot now."""
        from valkey_lab.clients.cluster import key_slot
        return self.lab.topology.owner_of(key_slot(key))

    def kill_primary(self, shard: int = 0, timeout: Optional[float] = None) -> PrimaryKilled:
        """SIGKILL the current primary of shard ``shard`` (0: slots 0-5460, 1: 5461-10922,
        2: 10923-16383); return once its replica owns the slots and every surviving node
        agrees. The old primary stays down until ``start(old_primary)`` or the end of the test
        (until then the new primary has no replica: WAIT 1 gets 0)."""
        from valkey_lab.cluster.topology import LAYOUT
        from valkey_lab.util import now, wait_for
        topo = self.lab.topology
        ranges = list(LAYOUT.values())
        if not 0 <= shard < len(ranges):
            raise ValueError(f"shard {shard}: the cluster has shards 0..{len(ranges) - 1}")
        slot = ranges[shard][0]
        victim = topo.owner_of(slot)
        self.kill(victim)
        t_kill = now()
        survivors = [n for n in topo.running() if n != victim]

        def owner():
            owners = {topo.owner_of(slot, n) for n in survivors}
            heir = owners.pop() if len(owners) == 1 else None
            return heir if heir not in (None, victim) and topo.role(heir) == "primary" else None
        heir = wait_for(owner, f"a replica of {victim} to own slot {slot} on every surviving node",
                        timeout or self.lab.failover_deadline_s, interval=0.05)
        promotion_s = round(now() - t_kill, 3)
        self.recorder.harness("await", {"condition": "promoted", "seconds": promotion_s, "new_primary": heir})
        return PrimaryKilled(shard, tuple(ranges[shard]), victim, heir, promotion_s, self.lab.node_timeout_s)

    def failover(self, shard: int = 0, timeout: Optional[float] = None) -> PrimaryKilled:
        """kill_primary(shard): the cluster's failover."""
        return self.kill_primary(shard, timeout)


# -- the fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _valkey_lab_stack():
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def _valkey_sentinel_lab(request, _valkey_lab_stack):
    return ValkeySentinel(_open("ha", options(request.config), _valkey_lab_stack))


@pytest.fixture(scope="session")
def _valkey_cluster_lab(request, _valkey_lab_stack):
    return ValkeyCluster(_open("cluster", options(request.config), _valkey_lab_stack))


@pytest.fixture
def valkey_sentinel(request, _valkey_sentinel_lab) -> ValkeySentinel:
    """The HA lab (started once per session); healthy at the start of each test, restored after it."""
    handle = _valkey_sentinel_lab
    handle._begin(request.node.nodeid)
    try:
        yield handle
    finally:
        handle._end()


@pytest.fixture
def valkey_cluster(request, _valkey_cluster_lab) -> ValkeyCluster:
    """The 6-node cluster (started once per session); healthy, in its slot layout, at the start
    of each test, restored after it."""
    handle = _valkey_cluster_lab
    handle._begin(request.node.nodeid)
    try:
        yield handle
    finally:
        handle._end()


__all__ = ["ValkeySentinel", "ValkeyCluster", "Failover", "PrimaryKilled", "LabOptions", "options"]
