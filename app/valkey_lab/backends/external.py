"""Nodes the lab does not run: a deployment described by a target file (backends.target).

The lab reaches each node at the address [nodes] gives. Faults come in two sorts:

- **Valkey commands** (SENTINEL FAILOVER, CLUSTER FAILOVER, CLIENT PAUSE, DEBUG SLEEP where the
  server allows it) need no host access: the labs send them; they only need
  ``allow_faults = true``.
- **Everything else** (kill, start, pause, resume, partition, heal) runs the target's command
  template, e.g. ``docker kill {node}`` or ``kubectl delete pod {node}``. No template, no
  fault: the scenario that needs it is skipped with the reason (``FaultRefused``), it neither
  fails nor pretends.

Restarts are the platform's: with no ``start`` template a killed node is back when it answers
again (the scenarios wait for that with their deadlines); the lab never starts a node it did
not stop, and ``restore`` only undoes what the lab itself did.

Safety, enforced here and in the labs' external adapters: nothing destructive without
``allow_faults``; keys only under ``key_prefix`` (``KeyGuard`` deletes them at the end, also
after Ctrl-C or a failure); never FLUSHALL / FLUSHDB / CONFIG SET; the password only from the
environment variable the file names.
"""
from __future__ import annotations

import subprocess
import threading
import time
from typing import Callable, Iterable, Optional, Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.backends.base import READY_TIMEOUT_S, Addr, Backend
from valkey_lab.backends.target import Target
from valkey_lab.util import LabError, WaitTimeout, now, wait_for

# Commands the lab never sends to an external target (checked by the labs' external adapters
# and by the unit tests, which scan the package for them).
FORBIDDEN_COMMANDS = ("FLUSHALL", "FLUSHDB", "CONFIG SET")


class FaultRefused(LabError):
    """What a scenario needs and the external target does not allow or cannot do: the
    scenario is reported as skipped with this reason (neither pass nor fail)."""


# -- what scenarios need, and why a target refuses it ---------------------------------------------
# A scenario method's needs are tokens; the labs' external adapters declare them per method.
NEEDS = {
    "kill": "kills nodes",
    "hold-down": "keeps killed nodes down for a while",
    "pause": "pauses a node (SIGSTOP)",
    "partition": "cuts a node off the network",
    "failover": "a manual failover (SENTINEL FAILOVER / CLUSTER FAILOVER)",
    "reshard": "moves slots between primaries (CLUSTER SETSLOT, MIGRATE)",
    "config-set": "sets min-replicas-to-write with CONFIG SET",
    "host-net": "shapes the nodes' network on their hosts (iptables, tc)",
    "valkey-fault": "a fault made of Valkey commands (DEBUG SLEEP, CLIENT PAUSE)",
    "undeclared": "is not declared safe for external targets (it may break nodes)",
}
TEMPLATED = {"kill": ("kill",), "pause": ("pause", "resume"), "partition": ("partition", "heal")}


def refusal(target: Target, needs: Iterable[str]) -> Optional[str]:
    """Why ``target`` cannot run a scenario that needs ``needs``; None when it can."""
    needs = list(needs)
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"unknown needs {unknown}")
    if "config-set" in needs:
        return f"it {NEEDS['config-set']}, which the lab never runs on an external target"
    if "host-net" in needs:
        return f"it {NEEDS['host-net']}: a target file has no template for that"
    destructive = [n for n in needs if n != "hold-down"]
    if destructive and not target.allow_faults:
        what = "; ".join(NEEDS[n] if n != "undeclared" else "not declared read-only" for n in destructive)
        return f"destructive ({what}) and {target.name} has allow_faults = false"
    for need in needs:
        for kind in TEMPLATED.get(need, ()):
            if target.template(kind) is None:
                return f"it {NEEDS[need]} and {target.name} has no [faults] {kind} template"
    if "hold-down" in needs and target.platform_restarts():
        return (f"it {NEEDS['hold-down']}, and {target.name} has no [faults] start template: the platform restarts "
                "killed nodes by itself, so the lab cannot hold them down")
    return None


def check_command(args: Sequence) -> None:
    """FaultRefused for a command the lab never sends to an external target."""
    words = " ".join(str(a) for a in args[:2]).upper()
    for forbidden in FORBIDDEN_COMMANDS:
        if words == forbidden or words.startswith(forbidden + " ") or words.split(" ")[0] == forbidden:
            raise FaultRefused(f"the lab never runs {forbidden} on an external target")


def require_faults(target: Target, what: str) -> None:
    """FaultRefused unless ``allow_faults``: every fault on an external target starts here."""
    if not target.allow_faults:
        raise FaultRefused(f"{what} refused: destructive, and {target.name} has allow_faults = false")


class ExternalBackend(Backend):
    name = "external"

    def __init__(self, target: Target, password: Optional[str], ready_timeout: float = READY_TIMEOUT_S,
                 runner: Callable[..., subprocess.CompletedProcess] = subprocess.run):
        self.target, self.password, self.ready_timeout = target, password, ready_timeout
        self._run = runner  # injectable: the unit tests record the commands instead of running them
        self._announced: dict[str, Addr] = {}
        self._extra_map: dict[Addr, Addr] = {}
        self._down: set[str] = set()  # killed by the lab, not back yet
        self._paused: set[str] = set()
        self._cut: dict[str, list[str]] = {}
        self._alive: dict[str, tuple[float, bool]] = {}
        self.commands: list[dict] = []  # every template the lab ran: argv, exit code, seconds
        self.relearn: Optional[Callable[[], None]] = None  # the lab's: ask the servers what they announce
        self.sleepers: list[threading.Thread] = []  # DEBUG SLEEP connections in flight
        self._relearnt = 0.0

    # -- names and addresses ---------------------------------------------------------------------
    def nodes(self) -> list[str]:
        return list(self.target.nodes)

    def address(self, node: str) -> Addr:
        return self.target.nodes[node]

    def announced(self, node: str) -> Addr:
        return self._announced.get(node, self.address(node))

    def learn(self, announced: dict[str, Iterable[Addr]]) -> None:
        """What the servers call each node (learnt by the lab from the servers themselves:
        CLUSTER NODES, Sentinel's replies with run ids). The first address of each node is its
        announced one; every address listed maps to the node's [nodes] address. The target's
        [announced] table wins."""
        for node, addrs in announced.items():
            addrs = [(str(h), int(p)) for h, p in addrs]
            if addrs:
                self._announced[node] = addrs[0]
            for addr in addrs:
                self._extra_map[addr] = self.address(node)
        for addr, node in self.target.announced.items():
            self._announced[node] = addr
            self._extra_map[addr] = self.address(node)

    def address_map(self) -> dict[Addr, Addr]:
        return {**self._extra_map, **super().address_map()}

    def _lookup(self, addr: Addr) -> str:
        try:
            return super().node_at(addr)
        except KeyError:
            reachable = self._extra_map.get(addr)
            for node in self.nodes():
                if reachable == self.address(node):
                    return node
            raise

    def node_at(self, addr: Addr) -> str:
        """As Backend's, and an address the servers announce that was not learnt yet (a pod
        restarted with a new IP) makes the lab learn again, at most once a second."""
        addr = (addr[0], int(addr[1]))
        try:
            return self._lookup(addr)
        except KeyError:
            if self.relearn is None or now() - self._relearnt < 1.0:
                raise
            self._relearnt = now()
            try:
                self.relearn()
            except Exception:  # noqa: BLE001 - a node is down right now: the old map stays
                pass
            return self._lookup(addr)

    # -- the fault interface -----------------------------------------------------------------------
    def _template(self, kind: str, node: str, peers: Sequence[str] = ()) -> None:
        require_faults(self.target, f"{kind} of {node}")
        if self.target.template(kind) is None:
            raise FaultRefused(f"{kind} of {node} refused: {self.target.name} has no [faults] {kind} template")
        argv = self.target.command(kind, node, peers)
        # A freeze or thaw may fail for a moment on a loaded host ("unable to freeze"); asking
        # again is harmless. A kill or a start is never repeated: its second run means another thing.
        for attempt in range(3 if kind in ("pause", "resume") else 1):
            if attempt:
                time.sleep(0.5)
            start = now()
            try:
                proc = self._run(argv, capture_output=True, text=True, timeout=self.target.fault_timeout_s,
                                 stdin=subprocess.DEVNULL)
            except FileNotFoundError as exc:
                raise LabError(f"[faults] {kind} of {self.target.name}: {argv[0]} not found (the template runs "
                               "without a shell; install it or write sh -c '...')") from exc
            except subprocess.TimeoutExpired as exc:
                raise LabError(f"[faults] {kind} for {node} did not finish within {self.target.fault_timeout_s:.0f}s: "
                               f"{' '.join(argv)}") from exc
            self.commands.append({"kind": kind, "node": node, "argv": argv, "exit": proc.returncode,
                                  "seconds": round(now() - start, 3)})
            if proc.returncode == 0:
                break
        if proc.returncode != 0:
            tail = ((proc.stderr or "") + (proc.stdout or "")).strip().splitlines()
            raise LabError(f"[faults] {kind} for {node} failed (exit {proc.returncode}): {' '.join(argv)}: "
                           f"{tail[-1] if tail else 'no output'}")

    def _ping(self, node: str) -> bool:
        """Does ``node`` answer PING now (quietly: any error is 'no')."""
        host, port = self.address(node)
        client = redis.Redis(host, port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                             retry=Retry(NoBackoff(), 0))
        try:
            return client.ping() is True
        except Exception:  # noqa: BLE001 - down, restarting, LOADING: not answering
            return False
        finally:
            client.close()

    def kill(self, node: str) -> None:
        """The kill template; returns once ``node`` stops answering (the fault holds)."""
        self._template("kill", node)
        self._down.add(node)
        self._paused.discard(node)
        self._alive.pop(node, None)
        try:
            wait_for(lambda: not self._ping(node), f"{node} to stop answering after the kill template",
                     self.target.fault_timeout_s, interval=0.02)
        except WaitTimeout as exc:
            raise LabError(f"{node} still answers {self.target.fault_timeout_s:.0f}s after [faults] kill of "
                           f"{self.target.name} ran: check the template") from exc

    def start(self, node: str) -> None:
        """Undo the lab's own kill: the start template, or wait for the platform to restart
        ``node``. A node the lab did not kill is left alone (the lab never starts what it did
        not stop)."""
        if node in self._paused:
            self.resume(node)
        if node not in self._down:
            return
        platform = self.target.platform_restarts()
        if not platform:
            self._template("start", node)
        self.wait_answering([node], timeout=self.target.restart_timeout_s if platform else self.ready_timeout)
        self._down.discard(node)
        self._alive.pop(node, None)

    def pause(self, node: str) -> None:
        self._template("pause", node)
        self._paused.add(node)

    def resume(self, node: str) -> None:
        if node in self._paused:
            self._template("resume", node)
            self._paused.discard(node)

    def partition(self, node: str, peers: list[str]) -> None:
        self._template("partition", node, peers)
        self._cut[node] = list(peers)

    def heal(self) -> None:
        for node, peers in list(self._cut.items()):
            self._template("heal", node, peers)
            del self._cut[node]

    # -- faults that need the node's host (iptables, tc): no template for them, so refused -----------
    def _needs_host(self, kind: str, node: str):
        raise FaultRefused(f"{kind} of {node} refused: it needs host access to the node's network (iptables / tc), "
                           f"and a target file has no template for it")

    def loss(self, node: str, *args, **kwargs):
        self._needs_host("packet loss", node)

    def one_way(self, node: str, *args, **kwargs):
        self._needs_host("a one-way partition", node)

    def bus_partition(self, node: str, *args, **kwargs):
        self._needs_host("a cluster-bus partition", node)

    def limit_bandwidth(self, node: str, *args, **kwargs):
        self._needs_host("a bandwidth limit", node)

    def heal_fault(self, token) -> None:
        """Nothing to undo: the host faults above are never applied on an external target."""

    def debug_sleep(self, node: str, seconds: float) -> None:
        """DEBUG SLEEP, a Valkey command (allow_faults): sent from here on a connection of its
        own; a server that refuses it (enable-debug-command no / local) refuses the fault."""
        require_faults(self.target, f"DEBUG SLEEP of {node}")
        host, port = self.address(node)
        outcome: dict = {}

        def sleep() -> None:
            conn = redis.Redis(host, port, password=self.password, socket_timeout=seconds + 30,
                               socket_connect_timeout=5)
            try:
                conn.execute_command("DEBUG", "SLEEP", seconds)
                outcome["ok"] = True
            except Exception as exc:  # noqa: BLE001 - reported below when it came at once
                outcome["error"] = exc
            finally:
                conn.close()
        thread = threading.Thread(target=sleep, name=f"debug-sleep-{node}", daemon=True)
        thread.start()
        thread.join(0.5)
        if "error" in outcome:
            raise FaultRefused(f"DEBUG SLEEP of {node} refused by the server: {outcome['error']}")
        self.sleepers.append(thread)

    def is_running(self, node: str) -> bool:
        """Paused by the lab: no. Killed by the lab: once it answers again (the platform may
        restart it by itself). Anything else: yes (the lab did not touch it; the waits tell)."""
        if node in self._paused:
            return False
        if node not in self._down:
            return True
        t, alive = self._alive.get(node, (0.0, False))
        if now() - t > 0.25:
            alive = self._ping(node)
            self._alive[node] = (now(), alive)
        if alive and self.target.platform_restarts():
            self._down.discard(node)
        return alive

    def process_state(self, node: str) -> str:
        if node in self._paused:
            return "paused by the lab"
        if node in self._down:
            return "killed by the lab" + (", waiting for the platform to restart it"
                                          if self.target.platform_restarts() else "")
        return "not managed by the lab"

    def log(self, node: str) -> str:
        return ""  # the platform keeps the logs (kubectl logs, journalctl, docker logs)

    def fault_commands(self, node: str) -> dict:
        out = {"node": node}
        for kind in ("kill", "pause", "resume", "start"):
            if self.target.template(kind):
                out[kind] = " ".join(self.target.command(kind, node))
        return out

    def advice(self, node: str) -> str:
        host, port = self.address(node)
        return f"check that {node} is up and that {host}:{port} is reachable from here ([nodes] of {self.target.name})"

    def close(self) -> None:
        """Leave the target as the lab found it: heal, resume, start what the lab killed
        (best effort; with no start template the platform restarts it)."""
        for step in (self.heal, *[lambda n=n: self.resume(n) for n in list(self._paused)]):
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        for node in list(self._down):
            try:
                if not self.target.platform_restarts():
                    self.start(node)
            except Exception:  # noqa: BLE001
                pass


def server_mode(info: dict) -> str:
    """'standalone', 'sentinel' or 'cluster', as INFO server says (Valkey: server_mode; Redis: redis_mode)."""
    return str(info.get("server_mode") or info.get("redis_mode") or "?")


def check_nodes(backend: ExternalBackend, modes: dict[str, str]) -> dict[str, dict]:
    """Every node of the target answers, with the password, as what it must be (``modes``:
    node -> 'standalone' / 'sentinel' / 'cluster'); else one LabError line that names the node,
    its address and what to do. Returns each node's INFO server."""
    target, infos = backend.target, {}
    for node, mode in modes.items():
        host, port = backend.address(node)
        where = f"{node} at {host}:{port} ([nodes] of {target.name})"
        conn = redis.Redis(host, port, password=backend.password, socket_timeout=2, socket_connect_timeout=2,
                           decode_responses=True, retry=Retry(NoBackoff(), 0))
        try:
            infos[node] = info = conn.info("server")
        except redis.AuthenticationError as exc:
            var = f"${target.password_env}" if target.password_env else "no password (password_env is not set)"
            raise LabError(f"authentication failed at {where}: {var} is not the deployment's password ({exc})") from exc
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise LabError(f"authentication failed at {where}: the nodes require a password; export it and name "
                               f"its variable with password_env in {target.name}") from exc
            raise LabError(f"{where} answered INFO with an error: {exc}") from exc
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise LabError(f"{where} does not answer ({type(exc).__name__}): check that it is up and reachable "
                           "from here") from exc
        finally:
            conn.close()
        if server_mode(info) != mode:
            raise LabError(f"{where} is a {server_mode(info)} server, not {mode}: check [nodes] in {target.name}")
    return infos


# -- keys: only under the prefix, all deleted at the end ---------------------------------------------
def scan_prefix(conn: redis.Redis, prefix: str, count: int = 1000) -> list:
    return list(conn.scan_iter(match=f"{prefix}*", count=count))


def delete_prefix(conn: redis.Redis, prefix: str, batch: int = 500) -> int:
    """UNLINK every key under ``prefix`` on ``conn``'s node; how many were deleted."""
    keys = scan_prefix(conn, prefix)
    deleted = 0
    for i in range(0, len(keys), batch):
        part = keys[i:i + batch]
        pipe = conn.pipeline(transaction=False)
        for key in part:  # one key per command: a cluster node refuses a multi-key UNLINK across slots
            pipe.unlink(key)
        deleted += sum(int(x) for x in pipe.execute(raise_on_error=False) if isinstance(x, int))
    return deleted


class KeyGuard:
    """Counts the keys of the nodes that take writes before the run, deletes every key under
    the prefix at the end (and leftovers of an earlier interrupted run at the start), and says
    what it found. ``writable()`` gives (name, connection) of each master / primary now."""

    def __init__(self, prefix: str, writable: Callable[[], list[tuple[str, redis.Redis]]]):
        self.prefix, self.writable = prefix, writable
        self.before: dict[str, int] = {}
        self.report: dict = {"key_prefix": prefix}

    def begin(self) -> dict:
        leftovers = 0
        for name, conn in self.writable():
            leftovers += delete_prefix(conn, self.prefix)
            self.before[name] = conn.dbsize()
        self.report.update({"leftovers_deleted": leftovers, "dbsize_before": sum(self.before.values())})
        return self.report

    def end(self, attempts: int = 3, pause: float = 1.0) -> dict:
        deleted, problems, after = 0, [], {}
        for attempt in range(attempts):
            problems = []
            try:
                nodes = self.writable()
            except Exception as exc:  # noqa: BLE001 - no master / primary agreed yet
                problems = [f"{type(exc).__name__}: {exc}"]
                nodes = []
            for name, conn in nodes:
                try:
                    deleted += delete_prefix(conn, self.prefix)
                    after[name] = conn.dbsize()
                except redis.RedisError as exc:
                    problems.append(f"{name}: {type(exc).__name__}: {exc}")
            if not problems:
                break
            time.sleep(pause)
        self.report.update({"deleted": deleted, "dbsize_after": sum(after.values()) if not problems else None,
                            "problems": problems})
        return self.report

    def line(self) -> str:
        r = self.report
        if r.get("problems"):
            return (f"keys under {self.prefix!r}: could not delete them all ({'; '.join(r['problems'])[:300]}); "
                    "run again to delete the leftovers")
        return (f"keys under {self.prefix!r}: {r.get('deleted', 0)} deleted"
                + (f" (and {r['leftovers_deleted']} left by an earlier run)" if r.get("leftovers_deleted") else "")
                + f"; DBSIZE {r.get('dbsize_before')} before, {r.get('dbsize_after')} after")


__all__ = ["ExternalBackend", "FaultRefused", "KeyGuard", "NEEDS", "refusal", "require_faults", "check_command",
           "check_nodes", "server_mode", "delete_prefix", "scan_prefix", "FORBIDDEN_COMMANDS"]
