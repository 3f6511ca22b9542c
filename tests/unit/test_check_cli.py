"""``python app/check.py``: verdicts as exit codes, JSON out, one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from check import main  # app/check.py

ROOT = Path(__file__).resolve().parents[2]
JEPSEN = ROOT / "tests" / "data" / "jepsen"
LAB = ROOT / "tests" / "data" / "lab"

# file -> (model, linearizable?, more check.py arguments)
EXPECTED = {
    "register-independent-init0.edn": ("register", True, ["--independent", "--init", "0", "--nil-read", "unknown"]),
    "register-valid.edn": ("register", True),
    "register-info-write-later.edn": ("register", True),
    "register-stale-read.edn": ("register", False),
    "register-cas-overwritten.edn": ("register", False),
    "kv-append-valid.edn": ("kv", True),
    "kv-lost-append.edn": ("kv", False),
}


def test_every_jepsen_data_file_has_an_expected_verdict():
    assert sorted(p.name for p in JEPSEN.glob("*.edn")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_jepsen_histories_give_the_expected_exit_code(name, capsys):
    model, linearizable, *more = EXPECTED[name]
    assert main([str(JEPSEN / name), "--model", model, *(more[0] if more else [])]) == (0 if linearizable else 1)
    out = capsys.readouterr().out
    assert ("NOT linearizable" in out) is not linearizable
    if not linearizable:
        assert "cannot be linearized" in out and "counterexample" in out


def test_the_independent_history_needs_each_of_its_options(capsys):
    path = str(JEPSEN / "register-independent-init0.edn")
    assert main([path, "--independent", "--init", "0"]) == 1  # its nil reads, taken as nil
    assert main([path, "--independent", "--nil-read", "unknown"]) == 1  # reads of 0 nobody wrote
    assert main([path, "--init", "0", "--nil-read", "unknown"]) == 1  # one register of tuples
    assert "hint: every value looks like a Jepsen independent [k v] tuple" in capsys.readouterr().out


@pytest.mark.parametrize("name, code", [("register-failover-ok.jsonl", 0), ("register-lost-write.jsonl", 1)])
def test_lab_histories(name, code):
    assert main([str(LAB / name)]) == code


@pytest.mark.parametrize("name, code", [("cluster-failover.jsonl.gz", 0), ("ha-partition.jsonl.gz", 1)])
def test_histories_recorded_from_real_runs(name, code, capsys):
    path = ROOT / "tests" / "data" / "histories" / name
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    assert main([str(path)]) == code
    out = capsys.readouterr().out
    if code:  # the partition lost an acknowledged write
        assert "cannot be linearized" in out


def test_a_lab_historys_counter_keys_are_left_out_and_said(tmp_path, capsys):
    """INCR is not a register op: the keys a counter lane touched (its INCRs and their final
    read) are left out, in one line; the register keys are still checked."""
    rows = [{"kind": "meta", "suite": "ha"},
            {"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "r", "value": 1, "time": 1.0},
            {"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "r", "value": 1, "time": 1.1},
            {"kind": "client", "process": 1, "type": "invoke", "f": "incr", "key": "n", "value": None, "time": 1.0},
            {"kind": "client", "process": 1, "type": "ok", "f": "incr", "key": "n", "value": 1, "time": 1.2},
            {"kind": "client", "process": 2, "type": "invoke", "f": "read", "key": "n", "value": None, "time": 2.0},
            {"kind": "client", "process": 2, "type": "ok", "f": "read", "key": "n", "value": "1", "time": 2.1},
            {"kind": "client", "process": 2, "type": "invoke", "f": "read", "key": "r", "value": None, "time": 3.0},
            {"kind": "client", "process": 2, "type": "ok", "f": "read", "key": "r", "value": 2, "time": 3.1}]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main([str(path), "--json", str(tmp_path / "r.json")]) == 1  # r: read 2, never written
    out = capsys.readouterr().out
    assert "history.jsonl: left out 2 ops on 1 INCR counter key (n)" in out
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["left_out"] == {"keys": ["n"], "ops": 2}


def test_json_results_and_any_invalid_history_fails_the_run(tmp_path):
    out = tmp_path / "reports" / "check.json"
    files = [JEPSEN / "register-valid.edn", JEPSEN / "register-stale-read.edn"]
    assert main([*map(str, files), "--json", str(out)]) == 1
    results = json.loads(out.read_text())["results"]
    assert [(Path(r["file"]).name, r["model"], r["valid"]) for r in results] == [
        ("register-valid.edn", "register", True), ("register-stale-read.edn", "register", False)]
    assert results[0]["counterexample"] is None and results[0]["ops"] == 9 and results[0]["seconds"] >= 0
    cx = results[1]["counterexample"]
    assert cx["op"] == {"process": 0, "type": "ok", "f": "read", "key": None, "value": 1,
                        "invoke": 0.007, "complete": 0.008, "index": 7}
    assert cx["summary"] == ("p0 read 1 (ok, invoked 0.007s, completed 0.008s) cannot be linearized: p0 write 1 (ok, "
                             "invoked 0.001s, completed 0.002s) sets 1, then p2 write 3 (ok, invoked 0.005s, completed "
                             "0.006s) overwrites it, all before p0 read 1 is invoked, and no other op sets it, so p0 read 1 "
                             "is impossible.")


def test_script_runs_from_the_repo_root_without_path_tricks():
    run = subprocess.run([sys.executable, "app/check.py", str(JEPSEN / "register-cas-overwritten.edn")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "p2 cas 1->3" in run.stdout and run.stderr == ""


def _one_line_error(capsys, *fragments):
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("check.py: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return captured


def test_missing_file_is_bad_input(capsys, tmp_path):
    assert main([str(tmp_path / "nope.edn")]) == 2
    _one_line_error(capsys, "nope.edn")


def test_bad_line_is_bad_input_naming_file_and_line(capsys, tmp_path):
    bad = tmp_path / "history.edn"
    bad.write_text('{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read}\n{:oops 1}\n')
    assert main([str(JEPSEN / "register-valid.edn"), str(bad)]) == 2
    captured = _one_line_error(capsys, "history.edn:3: ", "expected a map like {:process 0", "got {:oops 1}")
    assert captured.out == ""  # nothing is checked before all the input reads


def test_history_the_checker_rejects_is_bad_input_with_its_line(capsys, tmp_path):
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"kind": "meta"}\n'
                   '{"kind": "client", "process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0}\n'
                   '{"kind": "client", "process": 1, "type": "ok", "f": "write", "value": 1, "time": 1}\n')
    assert main([str(bad)]) == 2
    _one_line_error(capsys, "h.jsonl:3: ", "process 1 completes ok write without an open invoke")


def test_model_mismatch_is_bad_input(capsys):
    assert main([str(JEPSEN / "kv-append-valid.edn"), "--model", "register"]) == 2
    _one_line_error(capsys, "kv-append-valid.edn:1: ", "not part of the register model")


@pytest.mark.parametrize("argv, fragment", [
    (["x.edn", "--model", "queue"], "invalid choice: 'queue'"),
    ([], "the following arguments are required"),
    (["x.edn", "--timeout", "soon"], "invalid float value"),
    (["x.edn", "--timeout", "0"], "--timeout must be positive"),
    (["x.edn", "--jobs", "two"], "invalid int value"),
    (["x.edn", "--nil-read", "maybe"], "invalid choice: 'maybe'"),
])
def test_argument_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exit_:
        code = main(argv)
        raise SystemExit(code)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "usage:" not in err


def _hard(path):
    from tests.unit.test_linearizable_classes import hard_register
    from valkey_lab.history.edn import write_edn
    write_edn(hard_register(), path)
    return str(path)


def test_timeout_is_exit_3_unless_another_history_is_invalid(tmp_path, capsys):
    hard = _hard(tmp_path / "hard.edn")
    out = tmp_path / "r.json"
    assert main([hard, "--timeout", "0.2", "--json", str(out)]) == 3
    result = json.loads(out.read_text())["results"][0]
    assert result["valid"] is None and result["reason"] == "timeout"
    assert capsys.readouterr().out.startswith("hard.edn: unknown (timeout)")
    assert main([hard, str(JEPSEN / "register-stale-read.edn"), "--timeout", "0.2"]) == 1
    out = capsys.readouterr().out
    assert "NOT linearizable" in out and "hard.edn: unknown (timeout)" in out


@pytest.mark.parametrize("argv, fragment", [
    (["x.edn", "--max-memory", "lots"], "--max-memory: expected a size like 2G, 500M or 1048576"),
    (["x.edn", "--max-memory", "0"], "--max-memory must be positive"),
    (["x.edn", "--jobs", "0"], "--jobs must be at least 1"),
    (["x.edn", "--init", "[1"], "--init: not an EDN value"),
    (["x.edn", "--model", "kv", "--init", "[1]"], "--init: the kv model starts from a string"),
])
def test_new_option_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "usage:" not in err, err


def test_init_values_are_edn(tmp_path):
    from valkey_lab.checkers.cli import parse_init, parse_size
    assert parse_init("0", "register") == 0 and parse_init("nil", "register") is None
    assert parse_init(":a", "register") == "a" and parse_init('"x y"', "register") == "x y"
    assert parse_init("[1 2]", "register") == [1, 2]
    assert parse_init("abc", "kv") == "abc" and parse_init('"a b"', "kv") == "a b" and parse_init("7", "kv") == "7"
    assert parse_size("2G") == 2 << 30 and parse_size("500M") == 500 << 20 and parse_size("1.5g") == 3 << 29
    assert parse_size("4096") == 4096 and parse_size("64k") == 64 << 10 and parse_size("1GB") == 1 << 30


def test_all_keys_and_jobs_give_the_same_verdicts(tmp_path):
    out = tmp_path / "r.json"
    for jobs in ("1", "2"):
        assert main([str(JEPSEN / "kv-lost-append.edn"), "--model", "kv", "--jobs", jobs, "--all-keys",
                      "--json", str(out)]) == 1
        assert json.loads(out.read_text())["results"][0]["valid"] is False


def test_export_edn_writes_a_history_jepsen_tools_read_back(tmp_path):
    from pathlib import Path

    from valkey_lab.history.edn import read_history
    src = Path(__file__).resolve().parents[1] / "data" / "lab" / "register-lost-write.jsonl"
    out = tmp_path / "h.edn"
    assert main([str(src), "--model", "register", "--export-edn", str(out)]) == 1
    ops = [r for r in read_history(out) if r.get("kind") == "client"]
    assert [(o["process"], o["type"], o["f"], o["value"]) for o in ops][:2] == [(0, "invoke", "write", "v1"),
                                                                             (0, "ok", "write", "v1")]
    assert main([str(out), "--model", "register"]) == 1  # the EDN copy gives the same verdict


def test_export_edn_takes_one_history(tmp_path, capsys):
    src = str(Path(__file__).resolve().parents[1] / "data" / "lab" / "register-lost-write.jsonl")
    assert main([src, src, "--export-edn", str(tmp_path / "x.edn")]) == 2
    assert "exactly one history" in capsys.readouterr().err
