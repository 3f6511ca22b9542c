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

Locally several labs share the loopback addresses (every HA lab's servers are 127.0.1.x):
a rule that named addresses only would cut every lab's node at that address. So each rule
also names the lab's own listening ports (``ports``: data, Sentinel and cluster-bus ports):
a packet belongs to a lab when one of its ends is one of the lab's listening ports. In a
container's namespace everything is the lab's, and no port is needed.

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
MULTIPORT_MAX = 15  # iptables' multiport takes at most 15 ports per rule


def scoped(rules: list[list[str]], ports: Optional[Sequence[int]]) -> list[list[str]]:
    """Each rule limited to TCP packets with one end on one of ``ports`` (the lab's listening
    ports), split in rules of at most 15 ports; ``ports`` None: as they are."""
    if not ports:
        return rules
    ports = sorted(set(ports))
    groups = [ports[i:i + MULTIPORT_MAX] for i in range(0, len(ports), MULTIPORT_MAX)]
    out = []
    for rule in rules:
        head, target = rule[:-2], rule[-2:]
        for group in groups:
            out.append([*head, "-p", "tcp", "-m", "multiport", "--ports", ",".join(map(str, group)), *target])
    return out


def partition_rules(node_ip: str, peer_ips: Sequence[str], ports: Optional[Sequence[int]] = None) -> list[list[str]]:
    out = []
    for peer in peer_ips:
        out += [["-s", node_ip, "-d", peer, "-j", "DROP"], ["-s", peer, "-d", node_ip, "-j", "DROP"]]
    return scoped(out, ports)


def one_way_rules(node_ip: str, peer_ips: Sequence[str], direction: str,
                  ports: Optional[Sequence[int]] = None) -> list[list[str]]:
    """``out``: what the node sends to its peers is dropped (it still receives); ``in``: the reverse."""
    if direction not in ("out", "in"):
        raise LabError(f"one_way direction is 'out' (the node can't send) or 'in' (it can't receive), not {direction!r}")
    if direction == "out":
        return scoped([["-s", node_ip, "-d", peer, "-j", "DROP"] for peer in peer_ips], ports)
    return scoped([["-s", peer, "-d", node_ip, "-j", "DROP"] for peer in peer_ips], ports)


def bus_rules(node_ip: str, peer_ips: Sequence[str], bus_ports: Sequence[int]) -> list[list[str]]:
    """Only cluster-bus packets (either port one of ``bus_ports``) between the node and its peers:
    its data port, and its replication links, still work."""
    ports = ",".join(str(p) for p in sorted(set(bus_ports)))
    out = []
    for peer in peer_ips:
        for src, dst in ((node_ip, peer), (peer, node_ip)):
            out.append(["-s", src, "-d", dst, "-p", "tcp", "-m", "multiport", "--ports", ports, "-j", "DROP"])
    return out


def loss_rules(node_ip: str, percent: float, ports: Optional[Sequence[int]] = None) -> list[list[str]]:
    """Each packet to or from the node dropped with probability ``percent`` / 100."""
    if not 0 < percent < 100:
        raise LabError(f"loss is a percentage between 0 and 100, not {percent}")
    p = f"{percent / 100:.4f}"
    rules = []
    for way in ("-s", "-d"):
        for rule in scoped([[way, node_ip, "-j", "DROP"]], ports):
            rules.append([*rule[:-2], "-m", "statistic", "--mode", "random", "--probability", p, *rule[-2:]])
    return rules


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

    # -- the faults (``ports``: the lab's listening ports, when addresses are shared) --------------------
    def cut(self, node_ip: str, peer_ips: list[str], ports: Optional[Sequence[int]] = None) -> str:
        return self.add(partition_rules(node_ip, peer_ips, ports))

    def one_way(self, node_ip: str, peer_ips: list[str], direction: str, ports: Optional[Sequence[int]] = None) -> str:
        return self.add(one_way_rules(node_ip, peer_ips, direction, ports))

    def bus(self, node_ip: str, peer_ips: list[str], bus_ports: Sequence[int]) -> str:
        return self.add(bus_rules(node_ip, peer_ips, bus_ports))  # the bus ports are the lab's own

    def loss(self, node_ip: str, percent: float, ports: Optional[Sequence[int]] = None) -> str:
        return self.add(loss_rules(node_ip, percent, ports), hooks=self.loss_hooks)


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


def u32_matches(ip: str, ports: Optional[Sequence[int]] = None, ways: Sequence[str] = ("src", "dst")
                ) -> list[list[str]]:
    """tc u32 selectors for the packets from / to ``ip`` (``ways``), each with one end on one of
    ``ports`` when given (the lab's listening ports: locally the addresses are shared)."""
    out = []
    for way in ways:
        base = ["match", "ip", way, f"{ip}/32"]
        if not ports:
            out.append(base)
            continue
        for port in sorted(set(ports)):
            for end in ("sport", "dport"):
                out.append([*base, "match", "ip", end, str(port), "0xffff"])
    return out


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

    def limit(self, rate: str, matches: Sequence[Sequence[str]]) -> str:
        """Limit the packets matching any of ``matches`` (each the u32 selectors of one filter,
        see ``u32_matches``); none: every packet."""
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
            for what in (matches or [["match", "u32", "0", "0"]]):
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
           "scoped", "u32_matches", "parse_rate", "chains_left", "require", "require_iptables"]
