"""Skipped scenarios: reported with their reason, neither pass nor fail, no change to the
exit code; the same skip again from the saved history (--analyze)."""
import argparse
from contextlib import contextmanager

from rich.console import Console

from valkey_lab.backends.external import FaultRefused
from valkey_lab.report import render
from valkey_lab.runner import cli
from valkey_lab.runner.scenario import SKIPPED, Scenario, Skipped, judge, suite_report


def passes(view, r):
    r.check("something held", bool(view.records))


def fails(view, r):
    r.check("something held", False)


SCENARIOS = [Scenario("ro", "read-only", "ro", passes), Scenario("boom", "kills", "boom", passes),
             Scenario("boom_too", "judges boom's run", "boom", passes, needs=("boom",)),
             Scenario("midway", "refused at its fault", "midway", passes),
             Scenario("bad", "fails", "bad", fails, default=False)]


class FakeLab:
    backend_name, valkey_version = "external", "8.0.1"

    def __init__(self, recorder, refused=("boom",)):
        self.recorder, self.refused = recorder, refused

    def settings(self):
        return {}

    def refuses(self, method):
        return f"destructive (kills nodes) and t.toml has allow_faults = false" if method in self.refused else None


def method(name):
    def run(lab):
        with lab.recorder.running(name):
            lab.recorder.harness("steady", {"seconds": 0})
            if name == "midway":
                raise FaultRefused("kill of valkey-master refused: t.toml has no [faults] kill template")
    return run


METHODS = {s.method: method(s.method) for s in SCENARIOS}


def opener(refused=("boom",)):
    @contextmanager
    def open_lab(args, recorder):
        yield FakeLab(recorder, refused)
    return open_lab


def args(tmp_path, *scenarios):
    return argparse.Namespace(backend="external", target="t.toml", scenario=list(scenarios) or None, all=False,
                              json=str(tmp_path / "r.json"), html=None, history=str(tmp_path / "h"), analyze=None,
                              export_edn=None, base_port=None, valkey_bin=None, quiet=True, watch=False)


def run(tmp_path, capsys, *scenarios, refused=("boom",)):
    code = cli.run("ha", args(tmp_path, *scenarios), SCENARIOS, METHODS, opener(refused),
                   console=Console(width=200, record=True))
    return code, capsys.readouterr()


def test_skips_are_reported_with_their_reason_and_keep_the_exit_code(tmp_path, capsys):
    code, out = run(tmp_path, capsys)
    assert code == 0  # ro passed; boom and midway were skipped
    lines = out.err.strip().splitlines()
    assert lines == ["ha: boom skipped: destructive (kills nodes) and t.toml has allow_faults = false",
                     "ha: midway skipped: kill of valkey-master refused: t.toml has no [faults] kill template"]
    import json
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["valid"] is True and report["status"] == "pass"
    by = {s["name"]: s for s in report["scenarios"]}
    assert by["ro"]["status"] == "pass"
    for name in ("boom", "boom_too", "midway"):
        assert by[name]["status"] == "skip" and by[name]["valid"] is None and not by[name]["passed"]
        assert by[name]["skipped"]
    assert report["skipped"]["boom_too"].startswith("destructive")
    assert "SKIP" in out.out


def test_a_skip_does_not_hide_a_failure(tmp_path, capsys):
    code, _ = run(tmp_path, capsys, "bad", "boom")
    assert code == 1


def test_nothing_ran_proves_nothing(tmp_path, capsys):
    code, out = run(tmp_path, capsys, "boom")
    assert code == 3  # unknown: every scenario skipped
    assert "ha: boom skipped" in out.err


def test_analyze_reports_the_same_skips(tmp_path, capsys):
    run(tmp_path, capsys)
    a = args(tmp_path)
    a.analyze, a.json = str(tmp_path / "h"), str(tmp_path / "again.json")
    assert cli.run("ha", a, SCENARIOS, METHODS, opener(), console=Console(width=200)) == 0
    import json
    again = json.loads((tmp_path / "again.json").read_text())
    assert {s["name"]: s["status"] for s in again["scenarios"]} == {"ro": "pass", "boom": "skip", "boom_too": "skip",
                                                                    "midway": "skip"}


def test_judge_and_suite_report():
    records = [{"kind": "harness", "f": SKIPPED, "run": "boom", "value": {"reason": "why"}}]
    result = judge(SCENARIOS[1], records, {})
    assert isinstance(result, Skipped) and result.reason == "why" and result.valid is None
    assert suite_report("ha", "external", "8", [result], 1.0)["valid"] is None
    table = render.summary_table(suite_report("ha", "external", "8", [result], 1.0))
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()  # export_text clears the record
    assert "SKIP" in text and "why" in text


def test_backend_and_target_options(tmp_path, capsys):
    a = args(tmp_path)
    a.target = None
    assert cli.run("ha", a, SCENARIOS, METHODS, opener(), console=Console()) == 2
    assert capsys.readouterr().err.strip() == "ha: --backend external needs --target FILE.toml (see examples/targets/)"
    a = args(tmp_path)
    a.backend = "local"
    assert cli.run("ha", a, SCENARIOS, METHODS, opener(), console=Console()) == 2
    assert "--target is for --backend external" in capsys.readouterr().err
    a = args(tmp_path)
    a.backend = "auto"  # --target alone means external
    assert cli._backend_problem(a) is None and a.backend == "external"
