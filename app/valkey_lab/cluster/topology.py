"""The cluster topology (3 primaries + 3 replicas): how to build it on each backend, how to
read its state, and the admin steps the scenarios use (slot migration, manual failover).

Nodes are named ``node-7000`` ... ``node-7005`` on every backend; locally they listen on
``base_port`` ... ``base_port+5`` (default 7100-7105, clear of the Docker stack's 7000-7005).
Every node in this lab has its own port, so a node named in CLUSTER NODES / MOVED / ASK is
identified by its port (the host part is a container name in Docker, the node's own
127.0.3.x address locally).
Readiness and every wait go through util.wait_for.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Iterable, Optional

import redis

from valkey_lab.topology import config
from valkey_lab.topology.node_clients import NodeClients
from valkey_lab.backends import Backend, DockerBackend, LocalBackend, LocalNode
from valkey_lab.backends.local import port_is_free
from valkey_lab.backends.netfault import Partition
from valkey_lab.util import LabError, now, setting, wait_for

NODES = [f"node-{7000 + i}" for i in range(6)]
PRIMARIES = NODES[:3]
REPLICAS = NODES[3:]
INTERNAL_PORTS = {name: 7000 + i for i, name in enumerate(NODES)}
SLOTS = 16384
# The deterministic layout config/cluster/init.sh creates.
LAYOUT: dict[str, tuple[int, int]] = {"node-7000": (0, 5460), "node-7001": (5461, 10922), "node-7002": (10923, 16383)}
REPLICA_OF = {"node-7003": "node-7000", "node-7004": "node-7001", "node-7005": "node-7002"}
PAIR = {**REPLICA_OF, **{p: r for r, p in REPLICA_OF.items()}}  # shard partner of every node
COMPOSE_FILE = "docker-compose.cluster.yml"
INIT_SCRIPT = config.resource("cluster/init.sh")  # package data; nothing is read at import
DEFAULT_LOCAL_BASE_PORT = 7100
BUS_PORT_OFFSET = 10000  # Valkey's default cluster bus port: port + 10000


def node_timeout_ms() -> int:
    """cluster-node-timeout for local nodes (CLUSTER_NODE_TIMEOUT, as compose reads it)."""
    return int(setting("CLUSTER_NODE_TIMEOUT", "3000"))


# -- pure parsing and layout logic (unit-tested) -------------------------------------------------
Range = tuple[int, int]


def parse_slots(tokens: Iterable[str]) -> tuple[list[Range], list[str]]:
    """Slot tokens of a CLUSTER NODES line -> (ranges, migration markers like '[5->-id]')."""
    ranges, markers = [], []
    for token in tokens:
        if token.startswith("["):
            markers.append(token)
        elif "-" in token:
            lo, hi = token.split("-", 1)
            ranges.append((int(lo), int(hi)))
        else:
            ranges.append((int(token), int(token)))
    return merge_ranges(ranges), markers


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    out: list[Range] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def ranges_from_slots(slots: Iterable[int]) -> list[Range]:
    return merge_ranges((s, s) for s in slots)


def format_ranges(ranges: Iterable[Range]) -> str:
    return ",".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in ranges) or "-"


def slot_count(ranges: Iterable[Range]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


@dataclass
class NodeLine:
    """One line of CLUSTER NODES."""
    id: str
    host: str  # the announced hostname when set, else the IP
    ip: str
    port: int
    flags: list[str]
    master_id: Optional[str]
    config_epoch: int
    link: str
    slots: list[Range] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)

    @property
    def role(self) -> str:
        return "primary" if "master" in self.flags else "replica"

    @property
    def myself(self) -> bool:
        return "myself" in self.flags

    @property
    def failing(self) -> bool:
        return bool({"fail", "fail?", "handshake", "noaddr"} & set(self.flags))


def parse_cluster_nodes(text: str) -> list[NodeLine]:
    """CLUSTER NODES text -> lines. Address format: ip:port@cport[,hostname]."""
    lines = []
    for raw in text.strip().splitlines():
        parts = raw.split()
        if len(parts) < 8:
            continue
        address, _, hostname = parts[1].partition(",")
        hostport = address.split("@", 1)[0]
        ip, _, port = hostport.rpartition(":")
        slots, markers = parse_slots(parts[8:])
        lines.append(NodeLine(id=parts[0], host=hostname or ip, ip=ip, port=int(port),
                              flags=parts[2].split(","), master_id=None if parts[3] == "-" else parts[3],
                              config_epoch=int(parts[6]), link=parts[7], slots=slots, migrations=markers))
    return lines


def view_signature(lines: list[NodeLine]) -> tuple:
    """What every node must agree on: who is primary of which slots, who replicates whom, and
    the config epochs (a replica with a stale view of its primary's epoch gets no votes)."""
    return tuple(sorted((n.id, n.role, n.master_id or "-", n.config_epoch, tuple(n.slots)) for n in lines))


def epoch_collisions(lines: list[NodeLine]) -> list[int]:
    """Config epochs shared by primaries that own slots: gossip is still resolving them."""
    epochs = [n.config_epoch for n in lines if n.role == "primary" and n.slots]
    return sorted({e for e in epochs if epochs.count(e) > 1})


def layout_problems(lines: list[NodeLine], name_of, layout: dict[str, Range] = LAYOUT,
                    replica_of: dict[str, str] = REPLICA_OF) -> list[str]:
    """Every way ``lines`` (one node's view) differs from the deterministic layout; [] when it
    matches: 3 primaries with exactly their ranges, each with exactly its one replica, 16384
    slots covered once. ``name_of(line)`` names a line's node."""
    problems = []
    by_id = {n.id: n for n in lines}
    names = {n.id: name_of(n) for n in lines}
    primaries = {names[n.id]: n for n in lines if n.role == "primary" and n.slots}
    if sorted(primaries) != sorted(layout):
        problems.append(f"primaries with slots are {sorted(primaries)}, expected {sorted(layout)}")
    for name, (lo, hi) in layout.items():
        node = primaries.get(name)
        if node is not None and node.slots != [(lo, hi)]:
            problems.append(f"{name} owns {format_ranges(node.slots)}, expected {lo}-{hi}")
    for replica, primary in replica_of.items():
        line = next((n for n in lines if names[n.id] == replica), None)
        if line is None:
            problems.append(f"{replica} is not in the cluster")
        elif line.role != "replica" or names.get(line.master_id or "") != primary:
            actual = names.get(line.master_id or "", "nothing") if line.role == "replica" else "a primary"
            problems.append(f"{replica} replicates {actual}, expected {primary}")
    for name in layout:
        count = sum(1 for n in lines if n.master_id and by_id.get(n.master_id) and names[n.master_id] == name)
        if name in primaries and count != 1:
            problems.append(f"{name} has {count} replicas, expected 1")
    owned = [r for n in lines for r in n.slots]
    if slot_count(owned) != SLOTS or slot_count(merge_ranges(owned)) != SLOTS:
        problems.append(f"slots owned: {slot_count(merge_ranges(owned))} distinct of {SLOTS}, "
                        f"{slot_count(owned)} with repeats")
    return problems


# -- building the topology ------------------------------------------------------------------------
def node_host(i: int) -> str:
    """The local node ``i``'s own loopback address (the HA lab uses 127.0.1.x / 127.0.2.x)."""
    return f"127.0.3.{i + 1}"


def local_nodes(password: str, base_port: int = DEFAULT_LOCAL_BASE_PORT,
                timeout_ms: Optional[int] = None) -> list[LocalNode]:
    """Node i on 127.0.3.(i+1):base_port+i, cluster bus on +10000.

    Each node has its own loopback address, announces it (MOVED / CLUSTER SLOTS name an
    address the app reaches as is) and uses it as the source of its own connections (cluster
    bus, replication), so a partition can cut one node off by address with iptables while
    the app, on 127.0.0.1, still reaches it.
    """
    timeout_ms = node_timeout_ms() if timeout_ms is None else timeout_ms
    specs = []
    for i, name in enumerate(NODES):
        host = node_host(i)
        values = {"PORT": base_port + i, "BIND": host, "DATA_DIR": ".", "ANNOUNCE_HOST": host,
                  "VALKEY_PASSWORD": password, "CLUSTER_NODE_TIMEOUT": timeout_ms}
        text = config.render_file("cluster/node.conf", values) + f"bind-source-addr {host}\n"
        specs.append(LocalNode(name, "server", base_port + i, text, host))
    return specs


def local_backend(password: str, base_port: int = DEFAULT_LOCAL_BASE_PORT) -> LocalBackend:
    """Six fresh local nodes, not yet formed into a cluster (run_init does that)."""
    if not 1024 <= base_port <= 65535 - BUS_PORT_OFFSET - len(NODES):
        raise LabError(f"--base-port {base_port} out of range: the nodes use it..+5 and their cluster bus "
                       f"ports +{BUS_PORT_OFFSET}; choose 1024..{65535 - BUS_PORT_OFFSET - len(NODES)}")
    if shutil.which("valkey-cli") is None:
        raise LabError("valkey-cli not found (the init script needs it): run 'make deps' or use --backend docker")
    # LocalBackend checks the client ports; the bus ports must be free too or the nodes die.
    busy = [f"{node_host(i)}:{base_port + i + BUS_PORT_OFFSET}" for i in range(len(NODES))
            if not port_is_free(base_port + i + BUS_PORT_OFFSET, node_host(i))]
    if busy:
        raise LabError(f"cluster bus port(s) {', '.join(busy)} already in use: "
                       "stop what listens there or choose other ports (--base-port)")
    backend = LocalBackend(local_nodes(password, base_port), password=password)
    # Its own iptables chain name: a partition of this lab never looks like the HA lab's.
    backend.net = Partition(chain=f"VALKEY_CLUSTER_{os.getpid()}")
    try:
        return backend.up()
    except BaseException:
        backend.close()
        raise


def run_init(addresses: list[tuple[str, int]], password: str, timeout: float = 90.0) -> dict:
    """Run config/cluster/init.sh (the script the compose init service runs) against
    ``addresses`` (primaries first). Returns its output and what it changed."""
    start = now()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "VALKEY_PASSWORD": password,
           "CLUSTER_RESET_HINT": "local nodes start afresh on every run: report this as a bug"}
    try:
        with config.script_path("cluster/init.sh") as script:
            proc = subprocess.run(["sh", str(script), *(f"{h}:{p}" for h, p in addresses)], env=env,
                                  capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"cluster init did not finish within {timeout:.0f}s") from exc
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        raise LabError(f"cluster init failed (exit {proc.returncode}): {lines[-1] if lines else 'no output'}")
    return {"seconds": round(now() - start, 3), "changed": "nothing changed" not in proc.stdout, "output": lines}


def docker_backend(password: str) -> DockerBackend:
    return DockerBackend(dict(INTERNAL_PORTS), COMPOSE_FILE, password=password)


def docker_stack_running() -> bool:
    """True when the cluster compose stack's six node containers exist and some run (for
    --backend auto). One killed by hand (`docker kill node-7000`) still counts: the suite
    starts it again rather than silently switching to local processes."""
    try:
        from valkey_lab.backends.docker import docker_client
        client = docker_client()
    except LabError:
        return False
    try:
        return any([client.containers.get(name).status == "running" for name in NODES])
    except Exception:  # noqa: BLE001 - NotFound
        return False
    finally:
        client.close()


INIT_CONTAINER = "valkey-cluster-init"


def init_service_failure(backend: DockerBackend) -> Optional[str]:
    """The last line the compose init service printed when it exited non-zero, else None."""
    try:
        container = backend.client.containers.get(INIT_CONTAINER)
    except Exception:  # noqa: BLE001 - NotFound: never created, or removed
        return None
    state = container.attrs.get("State", {})
    if state.get("Status") != "exited" or state.get("ExitCode") == 0:
        return None
    lines = container.logs().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit code {state.get('ExitCode')}"


class ClusterTopology(NodeClients):
    """Reads the cluster's state through plain connections to each node, and performs the
    admin steps (slot migration, manual failover). Never goes through the cluster client, so
    it is an independent witness of what the client does."""

    def __init__(self, backend: Backend, password: str, timeout: float = 1.0):
        super().__init__(backend, password, timeout)
        self._by_port = {backend.announced(n)[1]: n for n in backend.nodes()}
        self._by_port.update({backend.address(n)[1]: n for n in backend.nodes()})

    def name_at(self, host: str, port: int) -> str:
        """The node an announced address (MOVED, ASK, CLUSTER NODES) names."""
        try:
            return self._by_port[int(port)]
        except KeyError:
            raise KeyError(f"no lab node at {host}:{port}") from None

    def name_of(self, line: NodeLine) -> str:
        return self.name_at(line.host, line.port)

    # -- probes ------------------------------------------------------------------------------
    def running(self) -> list[str]:
        return [n for n in self.backend.nodes() if self.backend.is_running(n)]

    def view(self, node: str) -> list[NodeLine]:
        # "CLUSTER", "NODES" as two words: redis-py's parser for "CLUSTER NODES" drops fields we need
        return parse_cluster_nodes(self.client(node).execute_command("CLUSTER", "NODES"))

    def me(self, node: str) -> NodeLine:
        return next(line for line in self.view(node) if line.myself)

    def node_id(self, node: str) -> str:
        return self.client(node).execute_command("CLUSTER", "MYID")

    def cluster_info(self, node: str) -> dict:
        text = self.client(node).execute_command("CLUSTER", "INFO")
        return dict(line.split(":", 1) for line in text.strip().splitlines() if ":" in line)

    def info(self, node: str, section: str) -> dict:
        return self.client(node).info(section)

    def valkey_version(self) -> str:
        info = self.info(self.running()[0], "server")
        return str(info.get("valkey_version") or info.get("redis_version"))

    def config_node_timeout_ms(self) -> int:
        return int(self.client(self.running()[0]).config_get("cluster-node-timeout")["cluster-node-timeout"])

    def role(self, node: str) -> Optional[str]:
        """'primary' / 'replica' as the node says of itself; None when it does not answer."""
        try:
            return self.me(node).role
        except (redis.ConnectionError, redis.TimeoutError, StopIteration):
            return None

    def primary_of(self, node: str) -> Optional[str]:
        me = self.me(node)
        if me.master_id is None:
            return None
        line = next((n for n in self.view(node) if n.id == me.master_id), None)
        return self.name_of(line) if line else None

    def owner_of(self, slot: int, viewer: Optional[str] = None) -> str:
        """The primary that owns ``slot`` according to ``viewer`` (default: the first running node)."""
        for line in self.view(viewer or self.running()[0]):
            if line.role == "primary" and any(lo <= slot <= hi for lo, hi in line.slots):
                return self.name_of(line)
        raise KeyError(f"slot {slot} has no owner")

    def shards(self, viewer: Optional[str] = None) -> list[dict]:
        """[{primary, replicas, ranges}] in slot order, as ``viewer`` sees it."""
        lines = self.view(viewer or self.running()[0])
        by_id = {n.id: n for n in lines}
        out = []
        for line in sorted((n for n in lines if n.role == "primary" and n.slots), key=lambda n: n.slots[0]):
            replicas = [self.name_of(n) for n in lines if n.master_id == line.id and n.master_id in by_id]
            out.append({"primary": self.name_of(line), "replicas": sorted(replicas), "ranges": line.slots})
        return out

    def agreed_view(self, nodes: Optional[list[str]] = None, dead: Iterable[str] = ()) -> Optional[list[NodeLine]]:
        """The view every given node (default: every running node) holds, or None while they
        differ, a node does not answer, or one sees a node failing (other than ``dead``)."""
        nodes = nodes if nodes is not None else self.running()
        dead = set(dead)
        first, sig = None, None
        for node in nodes:
            try:
                lines = self.view(node)
            except (redis.ConnectionError, redis.TimeoutError):
                return None
            if any(n.failing and self.name_of(n) not in dead for n in lines):
                return None
            s = view_signature(lines)
            if sig is None:
                first, sig = lines, s
            elif s != sig:
                return None
        return first

    def link_up(self, node: str) -> bool:
        return self.info(node, "replication").get("master_link_status") == "up"

    def health(self, nodes: Optional[list[str]] = None) -> list[str]:
        """Problems that stop the cluster from being healthy; [] when healthy: every node
        answers with cluster_state:ok, all agree on one map with no failing node, and every
        replica's link to its primary is up."""
        nodes = nodes if nodes is not None else self.running()
        problems = []
        for node in nodes:
            try:
                state = self.cluster_info(node).get("cluster_state")
                if state != "ok":
                    problems.append(f"{node}: cluster_state {state}")
                if self.role(node) == "replica" and not self.link_up(node):
                    problems.append(f"{node}: master_link_status not up")
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                problems.append(f"{node}: {type(exc).__name__}")
        if not problems:
            view = self.agreed_view(nodes)
            if view is None:
                problems.append("nodes disagree on the slot map or epochs, or see a failing node")
            elif epoch_collisions(view):
                problems.append(f"config epoch collision pending: {epoch_collisions(view)}")
        return problems

    def layout_problems(self, viewer: Optional[str] = None) -> list[str]:
        return layout_problems(self.view(viewer or self.running()[0]), self.name_of)

    def wait_healthy(self, timeout: float, what: str = "a healthy cluster", layout: bool = False,
                     nodes: Optional[list[str]] = None) -> float:
        """Wait until health() (and, with ``layout``, layout_problems()) is empty; seconds taken."""
        start = now()

        def probe():
            problems = self.health(nodes)
            if not problems and layout:
                problems = self.layout_problems((nodes or self.running())[0])
            return problems

        wait_for(probe, what, timeout, interval=0.1, accept=lambda p: not p)
        return now() - start

    def check_reachable(self) -> None:
        """LabError with one clear line when no node answers or the password is wrong."""
        self.first_answering(self.backend.nodes(), "cluster node", COMPOSE_FILE)

    # -- admin steps -------------------------------------------------------------------------
    def _ok(self, node: str, *args) -> None:
        reply = self.client(node).execute_command(*args)
        if reply not in (True, "OK"):
            raise RuntimeError(f"{' '.join(map(str, args))} on {node}: {reply!r}")

    def begin_migration(self, slot: int, src: str, dst: str) -> None:
        """IMPORTING on the target first, then MIGRATING on the source (the documented order:
        the source only starts answering ASK once the target accepts ASKING)."""
        self._ok(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", self.node_id(src))
        self._ok(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", self.node_id(dst))

    def keys_in_slot(self, node: str, slot: int, count: int = 100000) -> list[str]:
        return self.client(node).execute_command("CLUSTER", "GETKEYSINSLOT", slot, count)

    def count_in_slot(self, node: str, slot: int) -> int:
        return int(self.client(node).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot))

    def migrate_keys(self, slot: int, src: str, dst: str, limit: Optional[int] = None, batch: int = 100) -> list[str]:
        """MIGRATE keys of ``slot`` from ``src`` to ``dst`` (all of them, or ``limit``)."""
        host, port = self.backend.announced(dst)  # as the source node reaches the target
        moved: list[str] = []
        while limit is None or len(moved) < limit:
            want = batch if limit is None else min(batch, limit - len(moved))
            keys = self.keys_in_slot(src, slot, want)
            if not keys:
                break
            reply = self.client(src).execute_command("MIGRATE", host, port, "", 0, 5000,
                                                     "AUTH", self.password, "KEYS", *keys)
            if reply not in (True, "OK"):
                raise RuntimeError(f"MIGRATE of {len(keys)} keys from {src} to {dst}: {reply!r}")
            moved.extend(keys)
        return moved

    def finish_migration(self, slot: int, src: str, dst: str) -> None:
        """SETSLOT NODE on the target, the source, then the other primaries (replicas learn
        it from their primary); the new owner bumps its config epoch."""
        dst_id = self.node_id(dst)
        others = [n for n in self.running() if n not in (src, dst) and self.role(n) == "primary"]
        for node in (dst, src, *others):
            self._ok(node, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)

    def move_slot(self, slot: int, src: str, dst: str, timeout: float = 20.0) -> list[str]:
        """Move ``slot`` with all its keys from ``src`` to ``dst`` and wait until every running
        node agrees. Returns the keys moved."""
        self.begin_migration(slot, src, dst)
        moved = self.migrate_keys(slot, src, dst)
        self.finish_migration(slot, src, dst)
        self.wait_owner(slot, dst, timeout)
        return moved

    def wait_owner(self, slot: int, owner: str, timeout: float) -> None:
        def agreed():
            view = self.agreed_view()
            return view is not None and all(self.owner_of(slot, n) == owner for n in self.running()) \
                and not any(line.migrations for n in self.running() for line in self.view(n) if line.myself)
        wait_for(agreed, f"every node to agree that {owner} owns slot {slot}", timeout, interval=0.05)

    def manual_failover(self, replica: str, timeout: float, mode: Optional[str] = None) -> float:
        """CLUSTER FAILOVER on ``replica`` (coordinated with its primary: no write is lost;
        ``mode`` FORCE: without the primary's agreement, TAKEOVER: without the other primaries'
        votes either); wait until it is primary and every node agrees. Returns the seconds it took."""
        start = now()
        command = ("CLUSTER", "FAILOVER", *([mode.upper()] if mode else []))
        self._ok(replica, *command)
        asked = [now()]

        def promoted() -> bool:
            if self.role(replica) == "primary":
                return self.agreed_view() is not None
            # A manual failover the primary did not take up (e.g. the replica had just
            # re-synced) is silently abandoned after 5 s (CLUSTER_MF_TIMEOUT): ask again.
            if now() - asked[0] > 5.5:
                self._ok(replica, *command)
                asked[0] = now()
            return False
        wait_for(promoted, f"{replica} to become primary after CLUSTER FAILOVER", timeout, interval=0.05)
        return now() - start

    def restore_layout(self, timeout: float) -> list[str]:
        """Give every shard back to its deterministic primary (after a failover swapped roles).
        Returns what it did."""
        done = []
        for primary in LAYOUT:
            if self.role(primary) == "replica" and self.primary_of(primary) == PAIR[primary]:
                took = self.manual_failover(primary, timeout)
                done.append(f"CLUSTER FAILOVER on {primary} ({took:.1f}s)")
        return done

    def table(self, viewer: Optional[str] = None) -> list[dict]:
        """One row per node for the report: id, address, role, slots, replica of, and the
        cluster bus link as the viewer sees it ('ok', 'disconnected', or the failure flags)."""
        lines = self.view(viewer or self.running()[0])
        by_id = {n.id: n for n in lines}
        rows = []
        for line in sorted(lines, key=lambda n: self.name_of(n)):
            master = by_id.get(line.master_id or "")
            flags = [f for f in line.flags if f in ("fail", "fail?", "handshake", "noaddr")]
            rows.append({"node": self.name_of(line), "id": line.id[:8], "address": f"{line.host}:{line.port}",
                         "role": line.role, "slots": format_ranges(line.slots),
                         "replica_of": self.name_of(master) if master else "-",
                         "link": ",".join(flags) or ("ok" if line.link == "connected" else line.link)})
        return rows


__all__ = ["NODES", "PRIMARIES", "REPLICAS", "LAYOUT", "REPLICA_OF", "PAIR", "COMPOSE_FILE",
           "ClusterTopology", "NodeLine", "parse_cluster_nodes", "epoch_collisions", "parse_slots", "layout_problems",
           "local_backend", "local_nodes", "run_init", "docker_backend", "docker_stack_running", "init_service_failure"]
