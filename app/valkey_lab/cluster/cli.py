"""The cluster suite as a command (app/cluster_test.py is its thin entry point)."""
from __future__ import annotations

from valkey_lab.checkers.availability import gaps
from valkey_lab.runner import cli as cli
from valkey_lab.cluster.lab import ClusterLab, open_lab
from valkey_lab.runner.run import RunState, Script, run
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.runner.watch import dashboard, report
from valkey_lab.cluster import scenarios as cluster
from valkey_lab.cluster import faults as cluster_faults
from valkey_lab.cluster.topology import NODES, PAIR

DESCRIPTION = ("Valkey Cluster (node-7000..7005: 3 primaries + 3 replicas): topology, slot placement, MOVED "
               "and ASK redirects, keys per shard, primary failover, rejoin; with --scenario NAME or --all also "
               "the faults pause, partition, manual, chained and shard_loss. Local nodes listen on "
               "127.0.3.1-6, --base-port (default 7100)..+5; the Docker stack on 127.0.0.1:7000-7005. Every "
               "verdict is computed from the run's recorded history (--history DIR, --analyze DIR).")
SCENARIOS = cluster.SCENARIOS + cluster_faults.FAULT_SCENARIOS
METHODS = {**cluster.METHODS, **cluster_faults.METHODS}


def node_rows(records: list[dict]) -> list[dict]:
    """Each node as the last sample of it shows it (its own view of itself)."""
    last: dict[str, dict] = {}
    for s in cluster_events.samples_of(records):
        last[s["viewer"]] = s
    rows = []
    for node in NODES:
        s = last.get(node)
        me = s["nodes"].get(node) if s else None
        rows.append({"node": node, "role": me["role"] if me else "[red]down[/]", "slots": me["slots"] if me else "",
                     "flags seen by others": ",".join(sorted({f for v in last.values() if v["viewer"] != node
                                                              for f in v["nodes"].get(node, {}).get("flags", [])})),
                     "epoch": me["config_epoch"] if me else ""})
    return rows


def watch(lab: ClusterLab, console) -> dict:
    """--watch: one writer per shard, the nodes' roles, flags and epochs live; inject faults by
    hand (docker kill node-7000, kill -9 <pid>); Ctrl-C reports."""
    def show(lab: ClusterLab, state: RunState) -> None:
        dashboard(f"Valkey Cluster on {lab.backend_name}", console, lab.recorder.records, node_rows,
                  lambda: [lab.backend.fault_commands(n) for n in NODES])
    workload = lab.shard_workload()
    for lane in workload.lanes:  # the user may break things at once: the dashboard comes up immediately
        lane.warm_ok = 0
    try:
        run(lab, "watch", workload=workload, observers=lab.observers(), schedule=[Script(show)])
    except KeyboardInterrupt:  # Ctrl-C outside the dashboard: the harness has cleaned up; report anyway
        pass
    records = [r for r in lab.recorder.records() if r.get("run") == "watch"]
    samples = cluster_events.samples_of(records)
    changes = [{"at_s": e["t"], "from": PAIR.get(e["node"]), "to": e["node"]}
               for e in cluster_events.events(samples) if e["event"] == "promoted"]
    rep = report(records, changes)
    # Outages per shard: the other shards keep writing, so a gap only shows shard by shard.
    rep["outages"] = sorted(({"shard": lane.lane, "from_s": g["from"], "to_s": g["to"], "seconds": g["seconds"]}
                             for lane in workload.lanes for g in gaps(records, 0.5, lane=lane.lane)),
                            key=lambda o: o["from_s"])
    rep["writes_by_shard"] = {lane.lane: {s: sum(1 for op in _ops(records) if op.lane == lane.lane and op.type == s)
                                          for s in ("ok", "fail", "info")} for lane in workload.lanes}
    rep["events"] = [{"t_s": e["t_s"], "event": e["event"], "data": e["data"]}
                     for e in cluster_events.relative(cluster_events.events(samples), 0.0)]
    return rep


def _ops(records):
    from valkey_lab.history.model import pair
    return pair(records)


def main(argv=None) -> int:
    return cli.main("cluster", DESCRIPTION, SCENARIOS, METHODS, open_lab, argv, watch=watch,
                    random_suite=cluster_faults.RANDOM)
