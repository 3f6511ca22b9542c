"""make bench, HA half, with one failover: the report has every figure and the picture."""
import xml.dom.minidom

from tests.helpers import ha_ports, load, run_app, valkey_processes

BASE = 6890


def test_bench_ha_one_run(tmp_path):
    proc = run_app("bench.py", "--topology", "ha", "--runs", "1", "--base-port", str(BASE),
                   "--json", str(tmp_path / "bench.json"), "--svg-dir", str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = load(tmp_path / "bench.json")
    s = report["ha"]["summary"]
    assert s["runs"] == 1 and s["switch_s"]["p50"] > 0
    assert set(s["clients"]) >= {"lab client", "lab client + WAIT 1", "stock client"}
    for client in s["clients"].values():
        assert client["unavailable_s"]["p50"] >= s["down_after_s"]  # nobody writes without a master
    assert s["clients"]["lab client + WAIT 1"]["lost"] == 0
    assert report["ha"]["ready_s"]["n"] == 3 and report["machine"]["cpus"] >= 1
    assert {g["goal"] for g in report["goals"]} >= {"HA ready <= 2 s (local)"}
    xml.dom.minidom.parse(str(tmp_path / "failover-ha.svg"))
    assert valkey_processes(ha_ports(BASE)) == []
