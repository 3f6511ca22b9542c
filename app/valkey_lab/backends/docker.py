"""Nodes as the containers of a compose stack, driven through the Docker SDK.

The app runs on the host and reaches each container through its port published on
127.0.0.1 (so it works on Docker Desktop too); run inside the compose network, it uses
the container names directly. Compose itself (up/down) is the user's or the tests' job.
"""
from __future__ import annotations

import os
import socket
from typing import Optional

from valkey_lab.backends.netfault import Partition
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
        self._partitions: dict[str, Partition] = {}

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
        pid = self._reload(node).attrs["State"]["Pid"]
        cut = self._partitions.setdefault(node, Partition(["nsenter", "-t", str(pid), "-n"], chain="VALKEY_LAB"))
        cut.cut(self._ip(node), [self._ip(p) for p in peers])

    def heal(self) -> None:
        for node, cut in list(self._partitions.items()):
            if self.is_running(node):
                cut.heal()
            del self._partitions[node]

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
