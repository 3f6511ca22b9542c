"""--watch uses the terminal's width and tells a local user the exact commands to break a node."""
from rich.console import Console

from valkey_lab.backends import LocalBackend, LocalNode
from valkey_lab.runner.watch import report, status


def test_the_heading_uses_the_terminal_width_and_the_commands_are_copyable():
    console = Console(width=160, record=True)
    rows = [{"node": "valkey-master", "pid": 4242, "kill": "kill -9 4242", "pause": "kill -STOP 4242",
             "resume": "kill -CONT 4242"}]
    title = "Valkey HA on local with a long title that used to wrap at about fifty-five columns"
    console.print(status([], title, [{"node": "valkey-master", "role": "master"}], rows))
    text = console.export_text()
    assert any(title in line for line in text.splitlines())
    assert "kill -9 4242" in text and "kill -STOP 4242" in text and "kill -CONT 4242" in text


def test_the_local_backend_names_each_node_with_its_pid():
    backend = LocalBackend([LocalNode("n1", "server", 6971, "port 6971\nbind 127.0.0.1\nsave \"\"\n")])
    try:
        backend.up()
        pid = backend.procs["n1"].pid
        assert backend.fault_commands("n1") == {"node": "n1", "pid": pid, "kill": f"kill -9 {pid}",
                                                "pause": f"kill -STOP {pid}", "resume": f"kill -CONT {pid}"}
    finally:
        backend.close()
    assert backend.fault_commands("n1")["kill"] == "(not running)"


def test_the_watch_report_is_computed_from_the_records():
    recs = [{"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "k0", "value": "v", "time": 0.0},
            {"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "k0", "value": "v", "time": 0.1},
            {"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "k1", "value": "v", "time": 0.2},
            {"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "k1", "value": "v", "time": 2.0},
            {"kind": "server", "f": "sentinel-event", "node": "s1", "value": {"event": "+sdown", "data": "x"},
             "time": 1.0}]
    rep = report(recs, [])
    assert rep["writes"] == {"ok": 2, "fail": 0, "info": 0}
    assert rep["outages"] == [{"from_s": 0.1, "to_s": 2.0, "seconds": 1.9}]
    assert rep["events"] == [{"t_s": 1.0, "event": "+sdown", "data": "x"}]
