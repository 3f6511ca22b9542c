"""Nodes as the containers of a compose stack, driven through the Docker SDK.

The app runs on the host and reaches each container through its port published on
127.0.0.1 (so it works on Docker Desktop too); run inside the compose network, it uses
the container names directly. Compose itself (up/down) is the user's or the tests' job.
"""
from __future__ import annotations

import os
import socket
from typing import Optional

from valkey_lab.backends.netfault import NetFaults, Partition, Shaper, u32_matches
from valkey_lab.util import LabError, wait_for
from valkey_lab.backends.base import READY_TIMEOUT_S, Addr, Backend

LOOPBACK = "127.0.0.1"


def docker_client():
    """A Docker SDK client, or LabError with what to do."""
    try:
        import docker  # imported here: the local backend must not need it
        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except ImportError as exc:
        raise LabError("the Docker SDK is missing: run 'make deps' (pip install -r app/requirements.txt)") from exc
    except Exception as exc:  # noqa: BLE001 - DockerException, connection refused, socket missing
        raise LabError(f"cannot reach the Docker engine ({type(exc).__name__}): start Docker "
                       "(CI: scripts/start-dockerd.sh) or use --backend local") from exc


def inside_network(probe_name: str) -> bool:
    """True when this process runs in a container that resolves the stack's names."""
    if not os.path.exists("/.dockerenv"):
        return False
    try:
        socket.getaddrinfo(probe_name, None)
        return True
    except OSError:
        return False


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, containers: dict[str, int], compose_file: str, client=None,
                 in_network: Optional[bool] = None, password: Optional[str] = None,
                 ready_timeout: float = READY_TIMEOUT_S):
        """``containers``: container name -> the port the node listens on inside it."""
        self.password, self.ready_timeout = password, ready_timeout
        self.client = client or docker_client()
        self.internal = dict(containers)
        self.compose_file = compose_file
        missing = []
        self.containers = {}
        for name in containers:
            try:
                self.containers[name] = self.client.containers.get(name)
            except Exception:  # noqa: BLE001 - docker.errors.NotFound
                missing.append(name)
        if missing:
            raise LabError(f"no container {', '.join(missing)}: start the stack with "
                           f"'docker-compose -f {compose_file} up -d' (or use --backend local)")
        self.in_network = inside_network(next(iter(containers))) if in_network is None else in_network
        self._published = {name: self._published_port(name) for name in containers}
        self._partitions: dict[str, Partition] = {}  # node -> the iptables faults in its namespace
        self._shapers: dict[str, Shaper] = {}  # node -> the tc limits on its eth0

    def _published_port(self, name: str) -> Optional[int]:
        # HostConfig keeps the bindings while a container is stopped; NetworkSettings does not.
        bindings = self.containers[name].attrs["HostConfig"].get("PortBindings") or {}
        for binding in bindings.get(f"{self.internal[name]}/tcp") or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
        return None

    def _reload(self, name: str):
        container = self.containers[name]
        container.reload()
        return container

    # -- the fault interface ---------------------------------------------------------------
    def nodes(self) -> list[str]:
        return list(self.internal)

    def announced(self, node: str) -> Addr:
        return node, self.internal[node]

    def address(self, node: str) -> Addr:
        if self.in_network:
            return self.announced(node)
        port = self._published.get(node)
        if port is None:
            raise LabError(f"container {node} publishes no port {self.internal[node]}: "
                           f"recreate it with 'docker-compose -f {self.compose_file} up -d'")
        return LOOPBACK, port

    def address_map(self) -> dict[Addr, Addr]:
        mapping = super().address_map()
        for node in self.nodes():  # a node that was never told its name is known by its IP
            networks = self.containers[node].attrs.get("NetworkSettings", {}).get("Networks") or {}
            for net in networks.values():
                if net.get("IPAddress"):
                    mapping[(net["IPAddress"], self.internal[node])] = self.address(node)
        return mapping

    def kill(self, node: str) -> None:
        container = self._reload(node)
        if container.status == "paused":
            container.unpause()
        if container.status in ("running", "paused"):
            container.kill()
        # The API answers once the signal is sent; a kill returns once the node is dead, as locally.
        wait_for(lambda: self._reload(node).status != "running", f"{node} to be dead after docker kill", 10,
                 interval=0.01)

    def start(self, node: str) -> None:
        """Start (or unpause) the container and return once the node answers PING."""
        container = self._reload(node)
        if container.status == "paused":
            container.unpause()
        elif container.status != "running":
            container.start()
        self.wait_answering([node])

    def process_state(self, node: str) -> str:
        container = self._reload(node)
        if container.status == "exited":
            return f"exited with code {container.attrs.get('State', {}).get('ExitCode')}"
        return container.status

    def fault_commands(self, node: str) -> dict:
        return {"node": node, "kill": f"docker kill {node}", "pause": f"docker pause {node}",
                "resume": f"docker unpause {node}", "start": f"docker start {node}"}

    def advice(self, node: str) -> str:
        return (f"see 'docker-compose -f {self.compose_file} ps' and "
                f"'docker-compose -f {self.compose_file} logs {node}'")

    def pause(self, node: str) -> None:
        self._reload(node).pause()

    def resume(self, node: str) -> None:
        container = self._reload(node)
        if container.status == "paused":
            container.unpause()

    def _ip(self, node: str) -> str:
        networks = self._reload(node).attrs["NetworkSettings"]["Networks"]
        return next(net["IPAddress"] for net in networks.values() if net.get("IPAddress"))

    def partition(self, node: str, peers: list[str]) -> None:
        """iptables inside ``node``'s network namespace (entered with nsenter from the host):
        packets to and from the peers' container addresses are dropped, while the published
        port, reached through the bridge gateway, still works."""
        self._net(node).cut(self._ip(node), [self._ip(p) for p in peers])

    def _netns(self, node: str) -> list[str]:
        return ["nsenter", "-t", str(self._reload(node).attrs["State"]["Pid"]), "-n"]

    def _net(self, node: str) -> NetFaults:
        """The faults in ``node``'s namespace (a restarted container has a new one: start afresh)."""
        prefix = self._netns(node)
        net = self._partitions.get(node)
        if net is None or net.prefix != prefix:
            net = self._partitions[node] = Partition(prefix, chain="VALKEY_LAB")
        return net

    def heal(self) -> None:
        for node, cut in list(self._partitions.items()):
            if self.is_running(node):
                cut.heal()
            del self._partitions[node]
        for node, shaper in list(self._shapers.items()):
            if self.is_running(node):
                shaper.heal()
            del self._shapers[node]

    # -- network faults beyond a partition: each returns a token that heal_fault undoes ----------
    # The rules go into the containers' own network namespaces (nsenter from the host): a
    # packet to or from a container crosses its INPUT or its OUTPUT once, never both.
    def loss(self, node: str, percent: float) -> tuple:
        """A random ``percent`` % of every packet to or from ``node`` dropped (the clients' too)."""
        from valkey_lab.backends.netfault import loss_rules
        return ("net", [(node, self._net(node).add(loss_rules(self._ip(node), percent)))])

    def one_way(self, node: str, peers: list[str], direction: str) -> tuple:
        return ("net", [(node, self._net(node).one_way(self._ip(node), [self._ip(p) for p in peers], direction))])

    def bus_partition(self, node: str, peers: list[str], offset: int = 10000) -> tuple:
        ports = [self.internal[n] + offset for n in [node, *peers]]
        return ("net", [(node, self._net(node).bus(self._ip(node), [self._ip(p) for p in peers], ports))])

    def limit_bandwidth(self, node: str, rate: str, peers: Optional[list[str]] = None) -> tuple:
        """htb on ``node``'s eth0 (all it sends) and on each running peer's eth0 for what it sends
        to ``node`` (there is no ingress policing in this kernel: the peers shape the way in)."""
        tokens = []
        ip = self._ip(node)
        for n in [node, *[p for p in (peers if peers is not None else self.nodes()) if p != node]]:
            if not self.is_running(n):
                continue
            shaper = self._shapers.get(n)
            if shaper is None or shaper.prefix != self._netns(n):
                shaper = self._shapers[n] = Shaper(self._netns(n), dev="eth0")
            tokens.append((n, shaper.limit(rate, [] if n == node else u32_matches(ip, ways=("dst",)))))
        return ("tc", tokens)

    def heal_fault(self, token: tuple) -> None:
        kind, parts = token
        for node, name in parts:
            if not self.is_running(node):
                continue  # its namespace, and the rules in it, died with it
            holder = (self._partitions if kind == "net" else self._shapers).get(node)
            if holder is not None:
                holder.remove(name)

    def debug_sleep(self, node: str, seconds: float) -> None:
        """``DEBUG SLEEP`` from inside the container (valkey-cli on 127.0.0.1: ``enable-debug-command
        local`` refuses it from anywhere else), detached: the node answers nobody until it ends."""
        self._reload(node).exec_run(["valkey-cli", "-h", "127.0.0.1", "-p", str(self.internal[node]), "-a",
                                     self.password or "", "--no-auth-warning", "DEBUG", "SLEEP", str(seconds)],
                                    detach=True)

    def is_running(self, node: str) -> bool:
        return self._reload(node).status == "running"

    def log(self, node: str) -> str:
        return self.containers[node].logs(tail=20).decode(errors="replace")

    def close(self) -> None:
        # A lab run leaves the stack whole: no partition, nothing killed or paused.
        try:
            self.heal()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        for node in self.nodes():
            try:
                self.start(node)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self.client.close()
