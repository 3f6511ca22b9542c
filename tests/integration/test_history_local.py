"""History is the truth: a live run saves its history; --analyze judges it again with no
server at all and gives the same verdicts and key metrics; a tampered history is caught."""
import json
import os
import sys
import time

import pytest

from tests.helpers import ROOT, load, run_app

HA_BASE, CLUSTER_BASE = 6590, 7590


def analyze(script: str, history, out) -> tuple:
    """--analyze with no Valkey binary reachable: it cannot start a server even by mistake."""
    env = {**os.environ, "PATH": "/nonexistent"}
    start = time.monotonic()
    proc = run_app(script, "--analyze", str(history), "--json", str(out), "--quiet", env=env, timeout=120)
    return proc, time.monotonic() - start


def verdicts(report: dict, keys: tuple) -> dict:
    return {s["name"]: (s["passed"], [c["ok"] for c in s["checks"]], {k: s["metrics"].get(k) for k in keys})
            for s in report["scenarios"]}


def tamper(history, edit) -> None:
    """Rewrite the history's records with ``edit(records)``."""
    path = history / "history.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    edit(records)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def null_a_final_read(lane: str):
    def edit(records):
        acked = {r["key"]: r["value"] for r in records if r.get("kind") == "client" and r["type"] == "ok"
                 and r.get("lane") == lane and r["f"] == "write" and (r.get("replicated") or 0) >= 1}
        read = next(r for r in records if r.get("kind") == "client" and r["type"] == "ok" and r["f"] == "read"
                    and r["key"] in acked and r["value"] == acked[r["key"]])
        read["value"] = None
    return edit


def fail_an_applied_write(lane: str):
    def edit(records):
        finals = {r["key"]: r["value"] for r in records if r.get("kind") == "client" and r["type"] == "ok"
                  and r["f"] == "read"}
        write = next(r for r in records if r.get("kind") == "client" and r["type"] == "ok" and r["f"] == "write"
                     and r.get("lane") == lane and finals.get(r["key"]) == r["value"])
        write["type"] = "fail"
    return edit


@pytest.fixture(scope="module")
def ha_history(tmp_path_factory):
    import ha_test
    d = tmp_path_factory.mktemp("ha-history")
    code = ha_test.main(["--backend", "local", "--base-port", str(HA_BASE), "--scenario", "failover", "--scenario",
                         "consistency", "--history", str(d / "H"), "--json", str(d / "r.json"), "--quiet"])
    assert code == 0, load(d / "r.json")
    return d


@pytest.fixture(scope="module")
def cluster_history(tmp_path_factory):
    import cluster_test
    d = tmp_path_factory.mktemp("cluster-history")
    code = cluster_test.main(["--backend", "local", "--base-port", str(CLUSTER_BASE), "--scenario",
                              "primary_failover", "--history", str(d / "H"), "--json", str(d / "r.json"), "--quiet"])
    assert code == 0, load(d / "r.json")
    return d


@pytest.mark.parametrize("suite", ["ha", "cluster"])
def test_analyze_gives_the_live_verdicts_within_seconds_without_a_server(suite, request, tmp_path):
    d = request.getfixturevalue(f"{suite}_history")
    script, keys = (("ha_test.py", ("unavailable_s", "switch_s", "lost_wait_1", "lost_plain", "acknowledged"))
                    if suite == "ha" else ("cluster_test.py", ("unavailable_s", "promotion_s", "wait_1_writes_lost",
                                                              "acked_writes_lost")))
    proc, took = analyze(script, d / "H", tmp_path / "r2.json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert took < 20
    live, again = load(d / "r.json"), load(tmp_path / "r2.json")
    assert verdicts(again, keys) == verdicts(live, keys)
    assert any(s["metrics"].get("unavailable_s") for s in again["scenarios"])


@pytest.mark.parametrize("suite,lane", [("ha", "wait1"), ("cluster", "node-7000")])
def test_a_lost_acknowledged_write_is_caught(suite, lane, request, tmp_path):
    d = request.getfixturevalue(f"{suite}_history")
    copy = tmp_path / "H"
    copy.mkdir()
    (copy / "history.jsonl").write_text((d / "H" / "history.jsonl").read_text())
    tamper(copy, null_a_final_read(lane))
    proc, _ = analyze("ha_test.py" if suite == "ha" else "cluster_test.py", copy, tmp_path / "r.json")
    assert proc.returncode == 1, proc.stdout[-2000:]
    failed = [c for s in load(tmp_path / "r.json")["scenarios"] for c in s["checks"] if not c["ok"]]
    assert any("lost" in c["check"] for c in failed), failed


@pytest.mark.parametrize("suite,lane", [("ha", "wait1"), ("cluster", "node-7000")])
def test_a_failed_write_that_was_applied_is_caught(suite, lane, request, tmp_path):
    d = request.getfixturevalue(f"{suite}_history")
    copy = tmp_path / "H"
    copy.mkdir()
    (copy / "history.jsonl").write_text((d / "H" / "history.jsonl").read_text())
    tamper(copy, fail_an_applied_write(lane))
    proc, _ = analyze("ha_test.py" if suite == "ha" else "cluster_test.py", copy, tmp_path / "r.json")
    assert proc.returncode == 1, proc.stdout[-2000:]
    failed = [c for s in load(tmp_path / "r.json")["scenarios"] for c in s["checks"] if not c["ok"]]
    assert any("fail_applied" in json.dumps(c["observed"]) for c in failed), failed


def test_analyze_rejects_a_missing_or_foreign_history(ha_history, tmp_path):
    from tests.helpers import assert_one_line_error
    assert_one_line_error(run_app("ha_test.py", "--analyze", str(tmp_path / "nothing")), "no history")
    assert_one_line_error(run_app("cluster_test.py", "--analyze", str(ha_history / "H")), "ha suite")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "history.jsonl").write_text('{"kind": "meta", "suite": "ha"}\nnot json\n')
    assert_one_line_error(run_app("ha_test.py", "--analyze", str(bad)), "history.jsonl:2")


assert sys.version_info >= (3, 11) and ROOT.exists()
