"""Network partitions with iptables: real dropped packets, not a simulation.

Rules live in a chain of their own (one per process), so healing removes exactly what the
lab added. Needs root and iptables (installed with docker.io); without them the partition
scenario stops with a clear message.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional, Sequence

from valkey_lab.util import LabError


def _iptables(prefix: Sequence[str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*prefix, "iptables", "-w", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"iptables {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def require_iptables() -> None:
    if shutil.which("iptables") is None:
        raise LabError("the partition fault needs iptables (apt-get install iptables)")
    if os.geteuid() != 0:
        raise LabError("the partition fault needs root (iptables): run as root or skip --scenario partition")


class Partition:
    """Drops packets between one address and a set of others, in the network namespace
    that ``prefix`` enters (nothing: this host; nsenter ...: a container's)."""

    def __init__(self, prefix: Sequence[str] = (), chain: Optional[str] = None):
        self.prefix = list(prefix)
        self.chain = chain or f"VALKEY_LAB_{os.getpid()}"
        self.active = False

    def cut(self, node_ip: str, peer_ips: list[str]) -> None:
        require_iptables()
        if not self.active:
            _iptables(self.prefix, "-N", self.chain)
            for hook in ("INPUT", "OUTPUT"):
                _iptables(self.prefix, "-I", hook, "-j", self.chain)
            self.active = True
        for peer in peer_ips:
            _iptables(self.prefix, "-A", self.chain, "-s", node_ip, "-d", peer, "-j", "DROP")
            _iptables(self.prefix, "-A", self.chain, "-s", peer, "-d", node_ip, "-j", "DROP")

    def heal(self) -> None:
        if not self.active:
            return
        for hook in ("INPUT", "OUTPUT"):
            _iptables(self.prefix, "-D", hook, "-j", self.chain, check=False)
        _iptables(self.prefix, "-F", self.chain, check=False)
        _iptables(self.prefix, "-X", self.chain, check=False)
        self.active = False

