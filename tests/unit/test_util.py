import sys

import pytest

from valkey_lab.clients.retry import acked_write
from valkey_lab.util import hold_for, wait_for, WaitTimeout


def test_acked_write_repeats_short_waits_until_the_replicas_acknowledge():
    calls = []

    def write_and_wait(ms):
        calls.append(ms)
        return 2 if len(calls) == 3 else 0
    assert acked_write(write_and_wait, replicas=2, timeout_ms=5000, socket_timeout_s=0.5) == 2
    assert len(calls) == 3 and all(ms <= 400 for ms in calls)  # never past the socket timeout


def test_acked_write_gives_up_at_its_timeout_with_what_it_got():
    import time
    start = time.monotonic()
    acks = acked_write(lambda ms: (time.sleep(ms / 1000), 1)[1], replicas=2, timeout_ms=300, socket_timeout_s=0.2)
    assert acks == 1 and time.monotonic() - start < 0.6


def test_wait_for_returns_the_accepted_value_and_times_out_with_the_last_one():
    values = iter([1, 2, 3])
    assert wait_for(lambda: next(values), "3", 1, interval=0.001, accept=lambda v: v == 3) == 3
    with pytest.raises(WaitTimeout, match="never"):
        wait_for(lambda: False, "never", 0.05, interval=0.01)


def test_hold_for_reports_the_first_violation():
    values = iter([0, 0, 5, 0])
    assert hold_for(lambda: next(values, 0), 1.0, bad=lambda v: v > 0, interval=0.001) == 5
    assert hold_for(lambda: 0, 0.05, bad=lambda v: v > 0, interval=0.01) is None


def test_a_command_names_itself_as_it_was_run(monkeypatch, capsys):
    """Under its console script (pip install), a CLI's usage and errors say valkey-lab-ha, not ha_test.py."""
    from valkey_lab.checkers import cli as check_cli
    from valkey_lab.ha import cli as ha_cli
    for argv0, main, name in (("/venv/bin/valkey-lab-check", check_cli.main, "valkey-lab-check"),
                              ("app/check.py", check_cli.main, "check.py"),
                              ("/venv/bin/valkey-lab-ha", ha_cli.main, "valkey-lab-ha"),
                              ("app/ha_test.py", ha_cli.main, "ha_test.py")):
        monkeypatch.setattr(sys, "argv", [argv0])
        with pytest.raises(SystemExit) as e:
            main(["--no-such-option"])
        assert e.value.code == 2 and capsys.readouterr().err.startswith(f"{name}: ")
