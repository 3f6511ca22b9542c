"""Network faults with iptables and tc: real dropped or delayed packets, not a simulation.

Each fault's rules live in a chain of their own (``<base>_<n>``, base one per process, or one
per container namespace), hooked into INPUT and OUTPUT, so healing one fault removes exactly
what it added and healing all removes every chain the lab made; nothing else is touched.

- ``cut``: a partition, every packet between a node and its peers dropped;
- ``one_way``: only one direction (``out``: the node can't send to its peers; ``in``: it
  can't receive from them); TCP then stalls in the other direction too, since its ACKs are lost;
- ``bus``: only the packets of the cluster bus (port + 10000) between a node and its peers;
- ``loss``: a random P % of the packets to and from a node (the ``statistic`` match), on
  all its links, the clients' included. Locally every loopback packet crosses OUTPUT and then
  INPUT, so those rules hook INPUT only, or a packet would face the dice twice;
- ``Shaper``: a rate limit with tc's ``htb`` (the kernel here has no ``netem``: there is no
  added latency, only bandwidth and loss).

Needs root, iptables and tc; without them the fault stops the run with a clear message.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from typing import Optional, Sequence

from valkey_lab.util import LabError

BOTH = ("INPUT", "OUTPUT")


def _run(prefix: Sequence[str], tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*prefix, tool, *(["-w"] if tool == "iptables" else []), *args], capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{tool} {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def _iptables(prefix: Sequence[str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(prefix, "iptables", *args, check=check)


def require(tool: str = "iptables") -> None:
    if shutil.which(tool) is None:
        package = {"tc": "iproute2"}.get(tool, tool)
        raise LabError(f"network faults need {tool} (apt-get install {package})")
    if os.geteuid() != 0:
        raise LabError(f"network faults need root ({tool}): run as root or skip the network fault scenarios")


require_iptables = require


# -- the rules of each fault (pure: unit-tested) ---------------------------------------------------------
def partition_rules(node_ip: str, peer_ips: Sequence[str]) -> list[list[str]]:
    out = []
    for peer in peer_ips:
        out += [["-s", node_ip, "-d", peer, "-j", "DROP"], ["-s", peer, "-d", node_ip, "-j", "DROP"]]
    return out


def one_way_rules(node_ip: str, peer_ips: Sequence[str], direction: str) -> list[list[str]]:
    """``out``: what the node sends to its peers is dropped (it still receives); ``in``: the reverse."""
    if direction not in ("out", "in"):
        raise LabError(f"one_way direction is 'out' (the node can't send) or 'in' (it can't receive), not {direction!r}")
    if direction == "out":
        return [["-s", node_ip, "-d", peer, "-j", "DROP"] for peer in peer_ips]
    return [["-s", peer, "-d", node_ip, "-j", "DROP"] for peer in peer_ips]


def bus_rules(node_ip: str, peer_ips: Sequence[str], bus_ports: Sequence[int]) -> list[list[str]]:
    """Only cluster-bus packets (either port one of ``bus_ports``) between the node and its peers:
    its data port, and its replication links, still work."""
    ports = ",".join(str(p) for p in sorted(set(bus_ports)))
    out = []
    for peer in peer_ips:
        for src, dst in ((node_ip, peer), (peer, node_ip)):
            out.append(["-s", src, "-d", dst, "-p", "tcp", "-m", "multiport", "--ports", ports, "-j", "DROP"])
    return out


def loss_rules(node_ip: str, percent: float) -> list[list[str]]:
    """Each packet to or from the node dropped with probability ``percent`` / 100."""
    if not 0 < percent < 100:
        raise LabError(f"loss is a percentage between 0 and 100, not {percent}")
    p = f"{percent / 100:.4f}"
    dice = ["-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP"]
    return [["-s", node_ip, *dice], ["-d", node_ip, *dice]]


class NetFaults:
    """The iptables faults of one network namespace (``prefix``: nothing for this host, an
    ``nsenter ... -n`` command for a container's): one chain per fault, named ``<chain>_<n>``."""

    def __init__(self, prefix: Sequence[str] = (), chain: Optional[str] = None, loss_hooks: Sequence[str] = BOTH):
        self.prefix = list(prefix)
        self.chain = chain or f"VALKEY_LAB_{os.getpid()}"
        self.loss_hooks = tuple(loss_hooks)
        self.chains: dict[str, tuple] = {}  # active chain -> the hooks it is jumped to from
        self._n = itertools.count(1)

    @property
    def active(self) -> bool:
        return bool(self.chains)

    def add(self, rules: list[list[str]], hooks: Sequence[str] = BOTH) -> str:
        """A new chain with ``rules``, jumped to from ``hooks``; returns its name (heal it with ``remove``)."""
        require()
        name = f"{self.chain}_{next(self._n)}"
        _iptables(self.prefix, "-N", name)
        self.chains[name] = tuple(hooks)
        try:
            for rule in rules:
                _iptables(self.prefix, "-A", name, *rule)
            for hook in hooks:
                _iptables(self.prefix, "-I", hook, "-j", name)
        except LabError:
            self.remove(name)
            raise
        return name

    def remove(self, name: str) -> None:
        hooks = self.chains.pop(name, None)
        if hooks is None:
            return
        for hook in hooks:
            for _ in range(3):  # one jump per hook was inserted; a retried insert may have left two
                if _iptables(self.prefix, "-D", hook, "-j", name, check=False).returncode != 0:
                    break
        _iptables(self.prefix, "-F", name, check=False)
        _iptables(self.prefix, "-X", name, check=False)

    def heal(self) -> None:
        """Remove every chain of this object."""
        for name in list(self.chains):
            self.remove(name)

    # -- the faults ----------------------------------------------------------------------------------
    def cut(self, node_ip: str, peer_ips: list[str]) -> str:
        return self.add(partition_rules(node_ip, peer_ips))

    def one_way(self, node_ip: str, peer_ips: list[str], direction: str) -> str:
        return self.add(one_way_rules(node_ip, peer_ips, direction))

    def bus(self, node_ip: str, peer_ips: list[str], bus_ports: Sequence[int]) -> str:
        return self.add(bus_rules(node_ip, peer_ips, bus_ports))

    def loss(self, node_ip: str, percent: float) -> str:
        return self.add(loss_rules(node_ip, percent), hooks=self.loss_hooks)


Partition = NetFaults  # the name the labs knew it by


def chains_left(base: str, prefix: Sequence[str] = ()) -> list[str]:
    """Chains named ``<base>_*`` in the namespace (a test checks that a run left none)."""
    out = _iptables(prefix, "-S", check=False).stdout
    return sorted({m for m in re.findall(r"^-N (\S+)", out, flags=re.M) if m.startswith(base + "_")})


# -- bandwidth -----------------------------------------------------------------------------------------------
def parse_rate(rate: str) -> int:
    """tc's rate words -> bits per second ("16mbit" -> 16_000_000)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)", rate.strip().lower())
    if not m:
        raise LabError(f"a rate like 16mbit or 800kbit, not {rate!r}")
    return int(float(m.group(1)) * {"bit": 1, "kbit": 10 ** 3, "mbit": 10 ** 6, "gbit": 10 ** 9}[m.group(2)])


class Shaper:
    """Rate limits with tc ``htb`` on one device of one namespace (``dev``: ``lo`` for local
    nodes, a container's ``eth0``). Unclassified packets are not shaped (htb's direct queue),
    so only the packets the filters name are limited. Each ``limit`` is one class with a
    small byte queue (256 KB, so a limited link drops rather than queues for seconds) and
    its filters; the root qdisc is removed with the last one. A device that already has a
    root qdisc the lab did not add is left alone (LabError)."""

    HANDLE = "f14"

    def __init__(self, prefix: Sequence[str] = (), dev: str = "lo"):
        self.prefix, self.dev = list(prefix), dev
        self.classes: dict[str, int] = {}  # token -> class minor (also the filters' prio)
        self._n = itertools.count(10)
        self.root = False

    def _tc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run(self.prefix, "tc", *args, check=check)

    def _ensure_root(self) -> None:
        if self.root:
            return
        require("tc")
        shown = self._tc("qdisc", "show", "dev", self.dev).stdout
        root = next((line for line in shown.splitlines() if " root " in f" {line} "), "")
        if f"htb {self.HANDLE}:" in root:
            self.root = True  # ours, left by a run of this process that broke half-way
            return
        if root and not root.startswith(("qdisc noqueue", "qdisc pfifo_fast", "qdisc fq_codel", "qdisc mq")):
            raise LabError(f"{self.dev} already has a root qdisc the lab did not add ({root.strip()}): "
                           "the bandwidth fault leaves it alone")
        self._tc("qdisc", "replace", "dev", self.dev, "root", "handle", f"{self.HANDLE}:", "htb")
        self.root = True

    def limit(self, rate: str, matches: Sequence[tuple[str, str]]) -> str:
        """Limit the packets matching any of ``matches`` (("src" | "dst", ip)); none: every packet."""
        parse_rate(rate)
        self._ensure_root()
        minor = next(self._n)
        token = f"{self.dev}:{minor}"
        h = self.HANDLE
        try:
            self._tc("class", "add", "dev", self.dev, "parent", f"{h}:", "classid", f"{h}:{minor}", "htb",
                     "rate", rate, "ceil", rate, "burst", "64k", "cburst", "64k", "quantum", "65536")
            self.classes[token] = minor
            self._tc("qdisc", "add", "dev", self.dev, "parent", f"{h}:{minor}", "handle", f"{minor}:", "bfifo",
                     "limit", "262144")
            for way, ip in (matches or [("all", "")]):
                what = ["match", "u32", "0", "0"] if way == "all" else ["match", "ip", way, f"{ip}/32"]
                self._tc("filter", "add", "dev", self.dev, "parent", f"{h}:", "protocol", "ip", "prio",
                         str(minor), "u32", *what, "flowid", f"{h}:{minor}")
        except LabError:
            self.remove(token)
            raise
        return token

    def remove(self, token: str) -> None:
        minor = self.classes.pop(token, None)
        if minor is None:
            return
        h = self.HANDLE
        self._tc("filter", "del", "dev", self.dev, "parent", f"{h}:", "prio", str(minor), check=False)
        self._tc("class", "del", "dev", self.dev, "classid", f"{h}:{minor}", check=False)
        if not self.classes:
            self.heal()

    def heal(self) -> None:
        self.classes.clear()
        if self.root:
            self._tc("qdisc", "del", "dev", self.dev, "root", "handle", f"{self.HANDLE}:", check=False)
            self.root = False

    def ours_left(self) -> bool:
        """True when the device still has the lab's root qdisc (a test checks that none is left)."""
        return f"htb {self.HANDLE}:" in self._tc("qdisc", "show", "dev", self.dev, check=False).stdout


__all__ = ["NetFaults", "Partition", "Shaper", "partition_rules", "one_way_rules", "bus_rules", "loss_rules",
           "parse_rate", "chains_left", "require", "require_iptables"]
