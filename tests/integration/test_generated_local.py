"""The generated tests on the local backend: the faults real networks make (HA: loss, one_way,
bandwidth, hung_master, sentinel_stall, client_pause; cluster: bus_partition, loss), seeded
random schedules that replay, and an unsafe schedule that fails and shrinks. Real processes,
real iptables and tc rules on the lab's own loopback addresses; none is left behind."""
import json
import os
import re
import subprocess

import pytest

from tests.helpers import ha_ports, load, run_app, valkey_processes

HA_BASE, CLUSTER_BASE = 6950, 7950
HA_FAULTS = ["loss", "one_way", "bandwidth", "hung_master", "sentinel_stall", "client_pause"]
CLUSTER_FAULTS = ["bus_partition", "loss"]


def cluster_ports(base: int) -> list[int]:
    return [base + i for i in range(6)] + [base + 10000 + i for i in range(6)]


def lab_rules_left() -> list[str]:
    """iptables chains the lab made (VALKEY_LAB_<pid>_<n>, VALKEY_CLUSTER_<pid>_<n>) whose
    process is gone, or of this test process, and the lab's htb qdisc on lo: what a run left."""
    chains = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    left = []
    for name, pid in re.findall(r"^-N (VALKEY_(?:LAB|CLUSTER)_(\d+)_\d+)$", chains, flags=re.M):
        if int(pid) == os.getpid() or not os.path.exists(f"/proc/{pid}"):
            left.append(name)
    qdisc = subprocess.run(["tc", "qdisc", "show", "dev", "lo"], capture_output=True, text=True).stdout
    return left + [line for line in qdisc.splitlines() if "htb f14:" in line]


def by_name(report: dict) -> dict:
    return {s["name"]: s for s in report["scenarios"]}


def failed(report: dict) -> list:
    return [(s["name"], [c for c in s["checks"] if c["ok"] is not True], s["error"]) for s in report["scenarios"]
            if not s["passed"]]


# -- the new faults --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ha_report(tmp_path_factory):
    import ha_test
    path = tmp_path_factory.mktemp("generated-ha") / "report.json"
    args = ["--backend", "local", "--base-port", str(HA_BASE), "--json", str(path), "--quiet"]
    for name in HA_FAULTS:
        args += ["--scenario", name]
    code = ha_test.main(args)
    data = load(path)
    data["exit_code"] = code
    return data


def test_the_ha_fault_scenarios_pass(ha_report):
    assert not failed(ha_report) and ha_report["exit_code"] == 0
    assert [s["name"] for s in ha_report["scenarios"]] == HA_FAULTS
    assert lab_rules_left() == []
    assert valkey_processes(ha_ports(HA_BASE)) == []


def test_loss_measures_sentinel_and_the_clients_at_each_rate(ha_report):
    rounds = by_name(ha_report)["loss"]["details"]["rounds"]
    assert [r["percent"] for r in rounds] == [10, 30, 60]
    assert rounds[0]["failover_s"] is None  # 10 %: a lossy link, no failover (checked)
    assert rounds[0]["ok_per_s"] < rounds[0]["ok_per_s_before"]  # but the clients feel it


def test_bandwidth_shows_the_limit_on_the_full_resync(ha_report):
    m = by_name(ha_report)["bandwidth"]["metrics"]
    assert m["unlimited_sync_s"] < 5 <= m["replica_sync_s"] and m["master_sync_s"] >= 5
    timeline = by_name(ha_report)["bandwidth"]["details"]["replica_link_over_time"]
    assert [row["link"] for row in timeline][-2:] == ["down", "up"]


def test_the_hung_master_is_demoted_and_refuses_writes(ha_report):
    s = by_name(ha_report)["hung_master"]
    assert any("READONLY" in c["check"] and c["ok"] for c in s["checks"])
    assert s["metrics"]["switch_s"] < s["metrics"]["sleep_s"]


def test_a_stalled_sentinel_tilts_and_a_write_pause_stalls_writes_only(ha_report):
    assert 25 <= by_name(ha_report)["sentinel_stall"]["metrics"]["tilt_s"] <= 40
    m = by_name(ha_report)["client_pause"]["metrics"]
    assert m["write_stall_s"] >= m["pause_s"] - 0.5 and m["reads_during_pause"] > 0


def test_the_cluster_fault_scenarios_pass(tmp_path):
    import cluster_test
    path = tmp_path / "report.json"
    args = ["--backend", "local", "--base-port", str(CLUSTER_BASE), "--json", str(path), "--quiet"]
    for name in CLUSTER_FAULTS:
        args += ["--scenario", name]
    code = cluster_test.main(args)
    report = load(path)
    assert not failed(report) and code == 0
    m = by_name(report)["bus_partition"]["metrics"]
    assert m["acked_after_cut"] > 0 and m["old_primary_last_ok_s"] <= m["promotion_s"]
    assert [r["percent"] for r in by_name(report)["loss"]["details"]["rounds"]] == [10, 30, 60]
    assert lab_rules_left() == []
    assert valkey_processes(cluster_ports(CLUSTER_BASE)) == []


# -- seeded random schedules ----------------------------------------------------------------------------------------
def nemesis_sequence(history_dir) -> list[tuple]:
    with open(os.path.join(history_dir, "history.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return [(r["f"], r["phase"], r["value"], r["params"].get("i")) for r in records if r.get("kind") == "nemesis"]


@pytest.mark.parametrize("suite,base", [("ha", HA_BASE), ("cluster", CLUSTER_BASE)])
def test_a_seed_replays_the_same_nemesis_sequence_and_passes(tmp_path, suite, base):
    runs = []
    for n in (1, 2):
        proc = run_app(f"{suite}_test.py", "--backend", "local", "--base-port", str(base), "--schedule", "random",
                       "--seed", "42", "--duration", "30", "--history", str(tmp_path / f"h{n}"),
                       "--json", str(tmp_path / f"r{n}.json"), "--quiet", timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        runs.append(nemesis_sequence(tmp_path / f"h{n}"))
        report = load(tmp_path / f"r{n}.json")
        assert report["schedule"]["seed"] == 42 and "--seed 42 --duration 30" in report["schedule"]["replay"]
    assert runs[0] == runs[1] and runs[0]
    starts = [s for s in runs[0] if s[1] == "start"]
    assert [s[3] for s in starts] == list(range(len(starts)))  # the plan's faults, in order
    again = run_app(f"{suite}_test.py", "--analyze", str(tmp_path / "h1"), "--quiet")
    assert again.returncode == 0, again.stdout[-3000:]
    assert lab_rules_left() == []


@pytest.mark.timeout(1800)
def test_an_unsafe_schedule_fails_prints_its_replay_and_shrinks(tmp_path):
    """Seed 49, unsafe: the master partitioned, then the quorum lost (two Sentinels killed,
    then the third): a checker fails; the replay command is printed; --shrink finds <= 3 faults
    that still fail (each replay is a full run: a few minutes in all)."""
    proc = run_app("ha_test.py", "--backend", "local", "--base-port", str(HA_BASE), "--schedule", "random",
                   "--seed", "49", "--duration", "20", "--faults", "kill,partition", "--unsafe", "--shrink",
                   "--json", str(tmp_path / "r.json"), "--quiet", timeout=1700)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "replay it with: python app/ha_test.py --backend local --base-port 6950 --schedule random --seed 49 " \
           "--duration 20 --faults kill,partition --unsafe" in proc.stderr
    m = re.search(r"minimal schedule: (\d+) faults", proc.stdout)
    assert m and int(m.group(1)) <= 3, proc.stdout[-3000:]
    shrunk = load(tmp_path / "r.json")["schedule"]["shrunk"]
    assert shrunk["faults"] == int(m.group(1)) and f"--keep {','.join(map(str, shrunk['keep']))}" in shrunk["replay"]
    assert lab_rules_left() == []
    assert valkey_processes(ha_ports(HA_BASE)) == []
