"""The HA topology (1 master, 2 replicas, 3 Sentinels): how to build it on each backend,
and how to read its state. Readiness and every probe go through util.wait_for."""
from __future__ import annotations

import hashlib
from typing import NamedTuple, Optional

import redis

from valkey_lab.topology import config
from valkey_lab.backends import DockerBackend, LocalBackend, LocalNode
from valkey_lab.topology.node_clients import NodeClients
from valkey_lab.util import LabError, WaitTimeout, now, wait_for

SERVICE = "myvalkey"
SERVERS = ["valkey-master", "valkey-replica1", "valkey-replica2"]
SENTINELS = ["valkey-sentinel1", "valkey-sentinel2", "valkey-sentinel3"]
COMPOSE_FILE = "docker-compose.ha.yml"
DEFAULT_LOCAL_BASE_PORT = 6390  # keeps clear of a Valkey or Redis already on 6379


class SentinelTiming(NamedTuple):
    down_after_s: float
    failover_timeout_s: float


def sentinel_timing() -> SentinelTiming:
    """Sentinel's down-after and failover-timeout in seconds, as config/ha/sentinel.conf
    (or $VALKEY_LAB_SET) states them: read each time a lab asks, never at import, so a lab
    built after a setting changed sees the change."""
    return SentinelTiming(int(config.sentinel_setting("down-after-milliseconds")) / 1000,
                          int(config.sentinel_setting("failover-timeout")) / 1000)


def __getattr__(name: str) -> float:
    """DOWN_AFTER_S and FAILOVER_TIMEOUT_S: sentinel_timing(), read on first use."""
    if name in ("DOWN_AFTER_S", "FAILOVER_TIMEOUT_S"):
        return getattr(sentinel_timing(), name.lower())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def server_host(i: int) -> str:
    return f"127.0.1.{i + 1}"


def sentinel_host(i: int) -> str:
    return f"127.0.2.{i + 1}"


def local_nodes(password: str, base_port: int = DEFAULT_LOCAL_BASE_PORT) -> list[LocalNode]:
    """Servers on base_port..+2, Sentinels on base_port+20000..+2, all from the package's config/ha/.

    Each node gets its own loopback address (servers 127.0.1.x, Sentinels 127.0.2.x) and
    uses it as the source of its own connections, so that a partition can cut one node off
    by address while the app (127.0.0.1) still reaches it.
    """
    specs = []
    master = (server_host(0), base_port)
    for i, name in enumerate(SERVERS):
        host = server_host(i)
        values = {"PORT": base_port + i, "BIND": host, "DATA_DIR": ".", "ANNOUNCE_HOST": host,
                  "VALKEY_PASSWORD": password}
        text = config.render_file("ha/node.conf", values, replicaof=master if i else None)
        specs.append(LocalNode(name, "server", base_port + i, text + f"bind-source-addr {host}\n", host))
    ids = [hashlib.sha1(f"{name}:{base_port}".encode()).hexdigest() for name in SENTINELS]
    for i, name in enumerate(SENTINELS):
        host, port = sentinel_host(i), base_port + 20000 + i
        values = {"PORT": port, "BIND": host, "DATA_DIR": ".", "ANNOUNCE_HOST": host, "VALKEY_PASSWORD": password}
        text = config.render_file("ha/sentinel.conf", values, monitor=master)
        # Pre-seeded peers, as configuration management would write them: otherwise each
        # Sentinel learns the others from hello messages sent every 2 s, and readiness
        # waits one or two of those periods.
        text += f"bind-source-addr {host}\nsentinel myid {ids[i]}\n" + "".join(
            f"sentinel known-sentinel {SERVICE} {sentinel_host(j)} {base_port + 20000 + j} {ids[j]}\n"
            for j in range(len(SENTINELS)) if j != i)
        specs.append(LocalNode(name, "sentinel", port, text, host))
    return specs


def local_backend(password: str, base_port: int = DEFAULT_LOCAL_BASE_PORT) -> LocalBackend:
    """Servers first; Sentinels once both replicas are linked, as in the compose file. A
    Sentinel learns the replicas from the master's INFO, which it re-reads only every 10 s,
    so Sentinels started before the replicas link would make readiness take 10 s longer."""
    backend = LocalBackend(local_nodes(password, base_port), password=password)
    try:
        backend.up(only=SERVERS)
        topo = HATopology(backend, password)
        try:
            wait_for(lambda: all(topo.replication(n).get("master_link_status") == "up" for n in SERVERS[1:]),
                     "the replicas to link to the master", 30)
        finally:
            topo.close()
        backend.up(only=SENTINELS)
        return backend
    except BaseException:
        backend.close()
        raise


def docker_backend(password: str) -> DockerBackend:
    return DockerBackend({**{s: 6379 for s in SERVERS}, **{s: 26379 for s in SENTINELS}}, COMPOSE_FILE,
                         password=password)


def docker_stack_running() -> bool:
    """True when the HA compose stack's containers exist and its Sentinels run (for --backend auto)."""
    try:
        from valkey_lab.backends.docker import docker_client
        client = docker_client()
    except LabError:
        return False
    try:
        return all(client.containers.get(name).status == "running" for name in SENTINELS)
    except Exception:  # noqa: BLE001 - NotFound
        return False
    finally:
        client.close()


class HATopology(NodeClients):
    """Reads the state of the servers and Sentinels of one backend (never changes it)."""

    def replication(self, node: str) -> dict:
        return self.client(node).info("replication")

    def sentinel_master(self, sentinel: str) -> Optional[str]:
        """The node ``sentinel`` names as master, or None when it cannot be asked."""
        try:
            host, port = self.client(sentinel).execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SERVICE)
        except (redis.ConnectionError, redis.TimeoutError, TypeError):
            return None
        return self.backend.node_at((host, int(port)))

    def agreed_master(self, sentinels: list[str] = SENTINELS) -> Optional[str]:
        """The master every given Sentinel names, or None while they disagree or are silent."""
        views = {self.sentinel_master(s) for s in sentinels}
        return views.pop() if len(views) == 1 and None not in views else None

    def role(self, node: str) -> Optional[str]:
        try:
            return self.replication(node)["role"]
        except (redis.ConnectionError, redis.TimeoutError):
            return None

    def masters(self) -> list[str]:
        """Every running server that says it is a master."""
        return [n for n in SERVERS if self.role(n) == "master"]

    def replica_state(self, node: str, master: str) -> dict:
        """Role, master, link and offset lag of ``node`` as a replica of ``master``."""
        info = self.replication(node)
        master_offset = self.replication(master)["master_repl_offset"]
        named = None
        if info["role"] == "slave":
            named = self.backend.node_at((info["master_host"], int(info["master_port"])))
        return {"node": node, "role": info["role"], "master": named,
                "link": info.get("master_link_status"), "offset": info.get("slave_repl_offset"),
                "lag_bytes": master_offset - info.get("slave_repl_offset", 0) if info["role"] == "slave" else None}

    def in_sync(self, replica: str, master: str) -> bool:
        state = self.replica_state(replica, master)
        return state["role"] == "slave" and state["master"] == master and state["link"] == "up"

    def wait_ready(self, timeout: float = 30.0, master: Optional[str] = None) -> float:
        """Wait until one master, every other server its replica with link up, and every
        Sentinel names that master and knows both replicas and both peer Sentinels.
        Returns the seconds it took."""
        start = now()

        def check():
            current = self.agreed_master()
            if current is None or (master is not None and current != master):
                return False
            for node in SERVERS:
                if node != current and not self.in_sync(node, current):
                    return False
            for sentinel in SENTINELS:
                state = self.client(sentinel).execute_command("SENTINEL MASTER", SERVICE)
                if int(state["num-slaves"]) < 2 or int(state["num-other-sentinels"]) < 2:
                    return False
            return True

        try:
            wait_for(check, "the HA topology to be ready (one master, replicas linked, Sentinels agreeing)",
                     timeout, interval=0.1)
        except WaitTimeout as exc:
            if isinstance(exc.last, redis.AuthenticationError) or "AUTH" in str(exc.last) \
                    or "WRONGPASS" in str(exc.last) or "NOAUTH" in str(exc.last):
                raise LabError("authentication failed: VALKEY_PASSWORD does not match the nodes' password "
                               "(see .env)") from exc
            raise
        return now() - start

    def check_reachable(self) -> None:
        """LabError with a clear line when no Sentinel answers or the password is wrong."""
        self.first_answering(SENTINELS, "Sentinel", COMPOSE_FILE)
