"""A target file: a deployment the lab does not run itself (Kubernetes, VMs, a managed
service, or the compose stacks treated as someone else's), described in TOML:

    topology = "ha"                    # or "cluster"
    password_env = "VALKEY_PASSWORD"   # the NAME of the variable that holds the password
    allow_faults = true                # required for anything destructive (default false)
    key_prefix = "valkey-lab:"         # every key the lab writes; all are deleted at the end
    [nodes]                            # the lab's node names -> addresses reachable from here
    valkey-master = "10.0.0.5:6379"
    [names]                            # optional: what {node} becomes in a template
    valkey-master = "valkey-node-0"    # (default: the lab's name)
    [announced]                        # optional: addresses the servers announce -> node
    "valkey-node-0.valkey-headless:6379" = "valkey-master"   # (default: learnt from the servers)
    [faults]                           # command templates, run without a shell
    kill = "kubectl delete pod {node} --grace-period=0 --force"
    start = ""                         # empty or absent: the platform restarts it by itself
    pause = "kubectl exec {node} -- kill -STOP 1"
    resume = "kubectl exec {node} -- kill -CONT 1"

Parsing is pure (no server, no environment but the password variable's value); every
problem is a TargetError: one line that names the file and what to change.
"""
from __future__ import annotations

import os
import re
import shlex
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

from valkey_lab.util import LabError

Addr = tuple[str, int]

TOP_KEYS = {"topology", "password_env", "allow_faults", "key_prefix", "nodes", "names", "announced", "faults",
            "settings"}
# Fault templates: (kind, the placeholders it may use). partition/heal get the peers too.
TEMPLATE_FIELDS = {"node", "lab_node", "host", "port"}
TEMPLATES = {"kill": TEMPLATE_FIELDS, "start": TEMPLATE_FIELDS, "pause": TEMPLATE_FIELDS, "resume": TEMPLATE_FIELDS,
             "partition": TEMPLATE_FIELDS | {"peers", "peer_hosts"}, "heal": TEMPLATE_FIELDS | {"peers", "peer_hosts"}}
# Faults made of Valkey commands: no template, only allow_faults.
VALKEY_COMMAND_FAULTS = {"failover": "SENTINEL FAILOVER / CLUSTER FAILOVER",
                         "client-pause": "CLIENT PAUSE", "client_pause": "CLIENT PAUSE",
                         "debug-sleep": "DEBUG SLEEP", "debug_sleep": "DEBUG SLEEP", "hung_master": "DEBUG SLEEP"}
SETTINGS = {"fault_timeout_s": (int, float), "restart_timeout_s": (int, float), "cluster_node_timeout_ms": (int,)}
DEFAULT_PREFIX = "valkey-lab:"
DEFAULT_FAULT_TIMEOUT_S = 60.0  # one template command
DEFAULT_RESTART_TIMEOUT_S = 180.0  # a node the platform restarts (start = "")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# No hash tag braces (the lab's own tags must stay the first braces of a key), no SCAN glob
# characters (the prefix is matched with SCAN MATCH), no whitespace.
PREFIX_FORBIDDEN = set("{}*?[]\\") | set(string.whitespace)


class TargetError(LabError):
    """The target file is missing, unreadable or wrong: one line, exit 2."""


def parse_address(text: object, where: str) -> Addr:
    """'host:port' or '[v6]:port' -> (host, port); TargetError otherwise."""
    if not isinstance(text, str):
        raise TargetError(f"{where} must be a string \"host:port\", not {text!r}")
    value = text.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
    else:
        host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TargetError(f"{where} = {text!r} is not \"host:port\" (e.g. \"10.0.0.5:6379\")")
    return host, int(port)


def template_fields(template: str, where: str = "template") -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TargetError(f"{where} {template!r}: {exc} (write a literal brace as {{{{ or }}}})") from exc


@dataclass(frozen=True)
class Target:
    path: str
    topology: str
    nodes: Mapping[str, Addr]
    password_env: Optional[str] = None
    allow_faults: bool = False
    key_prefix: str = DEFAULT_PREFIX
    faults: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    announced: Mapping[Addr, str] = field(default_factory=dict)
    fault_timeout_s: float = DEFAULT_FAULT_TIMEOUT_S
    restart_timeout_s: float = DEFAULT_RESTART_TIMEOUT_S
    cluster_node_timeout_ms: Optional[int] = None

    @property
    def name(self) -> str:
        return Path(self.path).name

    def password(self, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
        """The password, read only from the variable ``password_env`` names (None: no AUTH)."""
        if self.password_env is None:
            return None
        environ = os.environ if environ is None else environ
        value = environ.get(self.password_env)
        if value is None:
            raise TargetError(f"{self.name}: password_env names {self.password_env}, which is not set: "
                              f"export {self.password_env}=<the deployment's password>")
        return value

    def template(self, kind: str) -> Optional[str]:
        """The command template of ``kind``; None when the file has none (or it is empty)."""
        value = self.faults.get(kind)
        return value if value else None

    def platform_restarts(self) -> bool:
        """No start template: a killed node comes back when the platform restarts it."""
        return self.template("start") is None

    def command(self, kind: str, node: str, peers: Sequence[str] = ()) -> list[str]:
        """The argv of ``kind``'s template for ``node`` (values shell-quoted, then split as a
        shell would, but run without one: write ``sh -c '...'`` for pipes)."""
        template = self.template(kind)
        if template is None:
            raise KeyError(kind)
        host, port = self.nodes[node]
        values = {"node": self.names.get(node, node), "lab_node": node, "host": host, "port": str(port),
                  "peers": " ".join(self.names.get(p, p) for p in peers),
                  "peer_hosts": " ".join(self.nodes[p][0] for p in peers)}
        quoted = {k: shlex.quote(v) if k not in ("peers", "peer_hosts") else
                  " ".join(shlex.quote(x) for x in v.split()) for k, v in values.items()}
        return shlex.split(template.format(**quoted))


def load_target(path: str | os.PathLike, topology: Optional[str] = None,
                node_names: Optional[Sequence[str]] = None) -> Target:
    """Read and validate a target file. ``topology``: the suite's ("ha" / "cluster"), which
    the file must name; ``node_names``: the lab's node names, all of which [nodes] must give."""
    p = Path(path)
    if not p.is_file():
        raise TargetError(f"no target file {p}: give --target FILE.toml (see examples/targets/)")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{p.name} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read {p}: {exc}") from exc
    return parse_target(data, str(p), topology, node_names)


def parse_target(data: Mapping, path: str = "target.toml", topology: Optional[str] = None,
                 node_names: Optional[Sequence[str]] = None) -> Target:
    name = Path(path).name
    if "password" in data:
        raise TargetError(f"{name}: never put the password in the file; export it and name the variable with "
                          "password_env = \"VALKEY_PASSWORD\"")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise TargetError(f"{name}: unknown key {', '.join(unknown)}; the keys are: {', '.join(sorted(TOP_KEYS))}")
    topo = data.get("topology")
    if topo not in ("ha", "cluster"):
        raise TargetError(f"{name}: topology must be \"ha\" or \"cluster\", not {topo!r}")
    if topology is not None and topo != topology:
        other = "app/cluster_test.py" if topo == "cluster" else "app/ha_test.py"
        raise TargetError(f"{name} describes a {topo} deployment, not {topology}: run it with {other}")
    password_env = data.get("password_env")
    if password_env is not None and (not isinstance(password_env, str) or not ENV_NAME.match(password_env)):
        raise TargetError(f"{name}: password_env must name an environment variable (e.g. \"VALKEY_PASSWORD\"), "
                          f"not {password_env!r}")
    allow = data.get("allow_faults", False)
    if not isinstance(allow, bool):
        raise TargetError(f"{name}: allow_faults must be true or false, not {allow!r}")
    prefix = data.get("key_prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix or PREFIX_FORBIDDEN & set(prefix):
        raise TargetError(f"{name}: key_prefix must be a non-empty string without spaces, braces or glob "
                          f"characters (* ? [ ] \\), e.g. \"valkey-lab:\"; not {prefix!r}")

    nodes_raw = data.get("nodes")
    if not isinstance(nodes_raw, Mapping) or not nodes_raw:
        raise TargetError(f"{name}: [nodes] is missing: list each of the lab's nodes as name = \"host:port\"")
    nodes = {str(k): parse_address(v, f"{name}: [nodes] {k}") for k, v in nodes_raw.items()}
    if node_names is not None:
        missing = [n for n in node_names if n not in nodes]
        extra = [n for n in nodes if n not in node_names]
        if extra:
            raise TargetError(f"{name}: [nodes] {', '.join(extra)} is not a node of the {topo} lab; "
                              f"its nodes are {', '.join(node_names)}")
        if missing:
            raise TargetError(f"{name}: [nodes] lacks {', '.join(missing)}: the {topo} lab needs all of "
                              f"{', '.join(node_names)}")
        nodes = {n: nodes[n] for n in node_names}  # the lab's order
    same = sorted({f"{h}:{p}" for h, p in nodes.values() if list(nodes.values()).count((h, p)) > 1})
    if same:
        raise TargetError(f"{name}: [nodes] names {', '.join(same)} for more than one node")

    names_raw = data.get("names", {})
    if not isinstance(names_raw, Mapping) or not all(isinstance(v, str) and v for v in names_raw.values()):
        raise TargetError(f"{name}: [names] maps a node to its platform name (pod, container, host), as strings")
    bad = [k for k in names_raw if k not in nodes]
    if bad:
        raise TargetError(f"{name}: [names] {', '.join(bad)} is not in [nodes]")

    announced_raw = data.get("announced", {})
    if not isinstance(announced_raw, Mapping):
        raise TargetError(f"{name}: [announced] maps \"host:port\" (as the servers announce it) to a node name")
    announced: dict[Addr, str] = {}
    for addr, node in announced_raw.items():
        if node not in nodes:
            raise TargetError(f"{name}: [announced] {addr} = {node!r} is not a node of [nodes]")
        announced[parse_address(addr, f"{name}: [announced] key")] = node

    faults_raw = data.get("faults", {})
    if not isinstance(faults_raw, Mapping):
        raise TargetError(f"{name}: [faults] holds command templates, e.g. kill = \"docker kill {{node}}\"")
    faults: dict[str, str] = {}
    for kind, template in faults_raw.items():
        if kind in VALKEY_COMMAND_FAULTS:
            raise TargetError(f"{name}: [faults] {kind}: that fault is a Valkey command "
                              f"({VALKEY_COMMAND_FAULTS[kind]}) and needs no template, only allow_faults = true")
        if kind not in TEMPLATES:
            raise TargetError(f"{name}: [faults] {kind} is not a fault with a template; they are: "
                              f"{', '.join(TEMPLATES)}")
        if not isinstance(template, str):
            raise TargetError(f"{name}: [faults] {kind} must be a command string (\"\" for none)")
        wrong = template_fields(template, f"{name}: [faults] {kind}") - TEMPLATES[kind]
        if wrong:
            raise TargetError(f"{name}: [faults] {kind} uses {{{', '.join(sorted(wrong))}}}; a template may use "
                              f"{', '.join('{' + f + '}' for f in sorted(TEMPLATES[kind]))}")
        if template.strip():
            try:
                shlex.split(template)
            except ValueError as exc:
                raise TargetError(f"{name}: [faults] {kind}: {exc}") from exc
        faults[kind] = template.strip()
    for kind, undo in (("pause", "resume"), ("partition", "heal")):
        if faults.get(kind) and not faults.get(undo):
            raise TargetError(f"{name}: [faults] {kind} needs {undo} too (a {kind}d node does not come back by "
                              "itself)")

    settings_raw = data.get("settings", {})
    if not isinstance(settings_raw, Mapping):
        raise TargetError(f"{name}: [settings] is a table")
    settings = {}
    for key, value in settings_raw.items():
        if key not in SETTINGS:
            raise TargetError(f"{name}: [settings] {key} is unknown; the settings are: {', '.join(SETTINGS)}")
        if isinstance(value, bool) or not isinstance(value, SETTINGS[key]) or value <= 0:
            raise TargetError(f"{name}: [settings] {key} must be a positive number, not {value!r}")
        settings[key] = value
    return Target(path=path, topology=topo, nodes=nodes, password_env=password_env, allow_faults=allow,
                  key_prefix=prefix, faults=faults, names=dict(names_raw), announced=announced,
                  fault_timeout_s=float(settings.get("fault_timeout_s", DEFAULT_FAULT_TIMEOUT_S)),
                  restart_timeout_s=float(settings.get("restart_timeout_s", DEFAULT_RESTART_TIMEOUT_S)),
                  cluster_node_timeout_ms=settings.get("cluster_node_timeout_ms"))


__all__ = ["Target", "TargetError", "load_target", "parse_target", "parse_address", "TEMPLATES",
           "VALKEY_COMMAND_FAULTS", "DEFAULT_PREFIX"]
