"""--watch uses the terminal's width and tells a local user the exact commands to break a node."""
from rich.console import Console

from lib.backends import LocalBackend, LocalNode
from lib.history import History
from lib.watch import _status_table


class Source:
    def roles(self):
        return [{"node": "valkey-master", "role": "master"}]

    def events(self):
        return []


class Writer:
    history = History()


def test_the_heading_uses_the_terminal_width_and_the_commands_are_copyable():
    console = Console(width=160, record=True)
    rows = [{"node": "valkey-master", "pid": 4242, "kill": "kill -9 4242", "pause": "kill -STOP 4242",
             "resume": "kill -CONT 4242"}]
    title = "Valkey HA on local with a long title that used to wrap at about fifty-five columns"
    console.print(_status_table(Source(), Writer(), 0.0, title, lambda: rows))
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
