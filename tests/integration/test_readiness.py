"""Readiness belongs to the start: a backend's start returns only when the node answers
PING (with AUTH), or raises at its deadline naming the node, its address, whether the
process lives and the end of its log."""
import redis
import pytest

from valkey_lab.backends import LocalBackend, LocalNode
from valkey_lab.backends.base import NodeNotReady

PW = "readiness-pw"
PORT = 6970


def node(name="n1", port=PORT, extra=""):
    conf = f"port {port}\nbind 127.0.0.1\nrequirepass {PW}\nsave \"\"\nappendonly no\n{extra}"
    return LocalNode(name, "server", port, conf)


def test_start_returns_only_when_the_node_answers():
    with LocalBackend([node()], password=PW) as backend:
        backend.up()
        # No polling here: start() already waited.
        assert redis.Redis("127.0.0.1", PORT, password=PW, socket_timeout=0.5).ping() is True
        backend.kill("n1")
        backend.start("n1")
        assert redis.Redis("127.0.0.1", PORT, password=PW, socket_timeout=0.5).ping() is True


def test_a_node_that_dies_at_start_is_named_with_its_exit_code_and_log():
    with LocalBackend([node(extra="this-is-not-a-directive yes\n")], password=PW, ready_timeout=5) as backend:
        with pytest.raises(NodeNotReady) as info:
            backend.up()
    msg = str(info.value)
    assert "n1" in msg and f"127.0.0.1:{PORT}" in msg
    assert "exited with code" in msg
    assert "this-is-not-a-directive" in msg or "Bad directive" in msg  # the end of its log
    assert "docker" not in msg  # advice fits the backend in use
    assert "\n" not in msg


def test_a_wrong_password_is_reported_at_once(monkeypatch):
    with LocalBackend([node()], password="not-the-password", ready_timeout=5) as backend:
        with pytest.raises(Exception) as info:
            backend.up()
    assert "authentication" in str(info.value).lower()
