"""The HA suite as a command (app/ha_test.py is its thin entry point): the scenarios, the
methods that record their histories, the lab, and --watch."""
from __future__ import annotations

from valkey_lab.runner import cli as cli
from valkey_lab.ha.lab import HALab, open_lab
from valkey_lab.runner.run import RunState, Script, run
from valkey_lab.runner.watch import dashboard, report
from valkey_lab.ha import scenarios as ha
from valkey_lab.ha import faults as ha_faults
from valkey_lab.ha.topology import SENTINELS, SERVERS
from valkey_lab.workload.writer import Workload

DESCRIPTION = ("Valkey HA (1 master, 2 replicas, 3 Sentinels): CRUD, failover, discovery, retry/backoff, "
               "consistency, replica sync, rejoin, quorum safety; with --all also pause, manual, chained and "
               "partition faults. Every verdict is computed from the run's recorded history (--history DIR "
               "saves it; --analyze DIR judges it again without any server).")
SCENARIOS = ha.SCENARIOS + ha_faults.FAULT_SCENARIOS
METHODS = {**ha.METHODS, **ha_faults.METHODS}


def node_rows(records: list[dict]) -> list[dict]:
    """The last role sample and Sentinel view in the history, one row per server."""
    roles = next((r["value"] for r in reversed(records) if r.get("f") == "roles"), {"nodes": {}})
    sentinels = next((r["value"] for r in reversed(records) if r.get("f") == "sentinels"), {})
    named = {(v or {}).get("master") for v in sentinels.values()}
    rows = []
    for node in SERVERS:
        state = roles["nodes"].get(node)
        role = "[red]down[/]" if state is None else state["role"] + (
            f" (link {state.get('link')})" if state["role"] == "slave" else "")
        rows.append({"node": node, "role": role, "sentinels' master": "◀" if named == {node} else ""})
    return rows


def watch(lab: HALab, console) -> dict:
    """--watch: write continuously through the lab's client and show the topology live."""
    def show(lab: HALab, state: RunState) -> None:
        dashboard(f"Valkey HA on {lab.backend_name}", console, lab.recorder.records, node_rows,
                  lambda: [lab.backend.fault_commands(n) for n in SERVERS + SENTINELS])
    lane = lab.writer("watch", replicas=1, timeout_ms=200)
    lane.warm_ok = 0  # the user may break things at once: the dashboard comes up immediately
    try:
        run(lab, "watch", workload=Workload([lane]), observers=lab.observers(), schedule=[Script(show)])
    except KeyboardInterrupt:  # Ctrl-C outside the dashboard: the harness has cleaned up; report anyway
        pass
    records = [r for r in lab.recorder.records() if r.get("run") == "watch"]
    changes = [{"at_s": e["time"], "from": e["value"]["from"], "to": e["value"]["to"]}
               for e in records if e.get("kind") == "client-event" and e.get("f") == "master-change"]
    return report(records, changes)


def main(argv=None) -> int:
    return cli.main("ha", DESCRIPTION, SCENARIOS, METHODS, open_lab, argv, watch=watch, random_suite=ha_faults.RANDOM)
