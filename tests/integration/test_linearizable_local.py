"""Jepsen's Redis finding on Valkey, on both topologies: with the master (primary) cut off
while clients still reach it, the register history is not linearizable; the scenario shows
the counterexample, and check.py on the saved history gives the same verdict and the same
counterexample. With a SIGKILL instead, the verdict is reported, whichever it is."""
import json

import pytest

from tests.helpers import load, run_app

BASES = {"ha": 6595, "cluster": 7595}


def run_suite(suite: str, scenario: str, tmp_path):
    script = "ha_test.py" if suite == "ha" else "cluster_test.py"
    proc = run_app(script, "--backend", "local", "--base-port", str(BASES[suite]), "--scenario", scenario,
                   "--history", str(tmp_path / "H"), "--export-edn", str(tmp_path / "history.edn"),
                   "--json", str(tmp_path / "r.json"), "--quiet", timeout=600)
    return proc, load(tmp_path / "r.json")


@pytest.mark.parametrize("suite", ["ha", "cluster"])
def test_a_partitioned_master_is_not_linearizable_and_check_py_agrees(suite, tmp_path):
    proc, report = run_suite(suite, "linearizable_partition", tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    s = report["scenarios"][0]
    assert s["metrics"]["linearizable"] is False and s["details"]["counterexample"]
    assert s["details"]["in_plain_words"] and any("impossible" in line for line in s["details"]["in_plain_words"])
    # One job, as the scenario's check searches: with several invalid keys, worker processes
    # would report whichever key one of them decided first.
    check = run_app("check.py", str(tmp_path / "H" / "history.jsonl"), "--model", "register", "--jobs", "1",
                    "--json", str(tmp_path / "c.json"))
    assert check.returncode == 1, check.stdout[-2000:] + check.stderr[-2000:]
    result = json.loads((tmp_path / "c.json").read_text())["results"][0]
    assert result["valid"] is False and result["counterexample"]["summary"] == s["details"]["counterexample"]
    # The same history as Jepsen EDN (for Knossos or Elle) gets the same verdict.
    edn = run_app("check.py", str(tmp_path / "history.edn"), "--model", "register")
    assert edn.returncode == 1, edn.stdout[-2000:] + edn.stderr[-2000:]


@pytest.mark.parametrize("suite", ["ha", "cluster"])
def test_a_killed_master_gets_a_verdict(suite, tmp_path):
    proc, report = run_suite(suite, "linearizable_kill", tmp_path)
    s = report["scenarios"][0]
    assert proc.returncode == 0, [c for c in s["checks"] if not c["ok"]]
    assert s["metrics"]["linearizable"] in (True, False) and s["metrics"]["register_ops"] > 50
