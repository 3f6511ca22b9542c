from redis.sentinel import Sentinel

from valkey_lab.backends.base import Backend
from valkey_lab.clients.ha import HAClient, RemappingSentinel


class TwoNodes(Backend):
    """A backend whose nodes are named like containers but reached on loopback."""
    def nodes(self):
        return ["valkey-master", "valkey-replica1"]

    def announced(self, node):
        return node, 6379

    def address(self, node):
        return "127.0.0.1", {"valkey-master": 6380, "valkey-replica1": 6381}[node]

    kill = start = pause = resume = is_running = log = lambda self, node: None


def test_remapping_sentinel_maps_announced_names_to_published_ports(monkeypatch):
    monkeypatch.setattr(Sentinel, "discover_master", lambda self, name: ("valkey-replica1", 6379))
    monkeypatch.setattr(Sentinel, "discover_slaves", lambda self, name: [("valkey-master", "6379")])
    sentinel = RemappingSentinel([("127.0.0.1", 1)], remap=TwoNodes().remap)
    assert sentinel.discover_master("myvalkey") == ("127.0.0.1", 6381)
    assert sentinel.discover_slaves("myvalkey") == [("127.0.0.1", 6380)]


def test_unknown_addresses_pass_through_and_node_at_names_them():
    backend = TwoNodes()
    assert backend.remap(("10.0.0.9", 6379)) == ("10.0.0.9", 6379)
    assert backend.node_at(("valkey-master", 6379)) == "valkey-master"
    assert backend.node_at(("127.0.0.1", 6381)) == "valkey-replica1"


def test_client_accepts_a_mapping_and_turns_redis_py_retries_off():
    client = HAClient([("127.0.0.1", 1)], "myvalkey", remap={("a", 1): ("127.0.0.1", 2)})
    assert client.sentinel._remap(("a", 1)) == ("127.0.0.1", 2)
    assert client.redis.connection_pool.connection_kwargs["retry"]._retries == 0
    client.close()


def test_a_switch_event_makes_the_announcing_sentinel_the_first_to_ask():
    client = HAClient([("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3)], "myvalkey", watch_switch=False)
    client._on_switch({"sentinel": "127.0.0.1:3", "data": "myvalkey 10.0.0.1 1 10.0.0.2 2"})
    assert client._stale.is_set() and client._switched.is_set()
    client._forget_master()
    first = client.sentinel.sentinels[0].connection_pool.connection_kwargs
    assert (first["host"], first["port"]) == ("127.0.0.1", 3) and not client._stale.is_set()
    client.close()


# -- follow the promotion (opt-in) ------------------------------------------------------------------
from valkey_lab.clients.promotion import selected_replica  # noqa: E402

SELECTED = "slave 127.0.1.2:6791 127.0.1.2 6791 @ myvalkey 127.0.1.1 6790"


def test_the_selected_replica_is_read_from_the_sentinel_events():
    assert selected_replica("+selected-slave", SELECTED, "myvalkey") == ("127.0.1.2", 6791)
    assert selected_replica("+failover-state-wait-promotion", SELECTED, "myvalkey") == ("127.0.1.2", 6791)
    assert selected_replica("+selected-slave", SELECTED, "other") is None  # another service
    assert selected_replica("+sdown", "master myvalkey 127.0.1.1 6790", "myvalkey") is None
    assert selected_replica("+selected-slave", "garbage", "myvalkey") is None


def _follower(monkeypatch, roles):
    import redis
    answers = iter(roles)
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *a, **k: next(answers))
    events = []
    client = HAClient([("127.0.0.1", 1)], "myvalkey", watch_switch=False, follow_promotion=False,
                      follow_interval=0.001, on_event=events.append)
    client.follow_promotion = True  # without the Sentinel listeners: events are fed by hand
    return client, events


def test_follow_mode_switches_when_the_selected_replica_says_master(monkeypatch):
    client, events = _follower(monkeypatch, [["slave", "127.0.1.1", 6790, "connected", 5]] * 3
                               + [["master", 10, []]])
    client._on_sentinel_event({"event": "+selected-slave", "sentinel": "127.0.0.1:1", "data": SELECTED})
    assert client._switched.wait(2) and client._stale.is_set()
    assert client.sentinel.discover_master("myvalkey") == ("127.0.1.2", 6791)  # before Sentinel names it
    assert client.role_polls == 4 and events[-1]["kind"] == "promotion-followed"
    # Sentinel's +switch-master to the same node: the override ends, nothing more to drop
    client._stale.clear()
    client._on_sentinel_event({"event": "+switch-master", "sentinel": "127.0.0.1:1",
                               "data": "myvalkey 127.0.1.1 6790 127.0.1.2 6791"})
    assert client.sentinel.override is None and not client._stale.is_set()
    client.close()


def test_an_aborted_failover_sends_the_follower_back_to_what_sentinel_names(monkeypatch):
    client, _ = _follower(monkeypatch, [["master", 10, []]])
    client._on_sentinel_event({"event": "+failover-state-wait-promotion", "sentinel": "s", "data": SELECTED})
    assert client._switched.wait(2)
    client._switched.clear()
    client._on_sentinel_event({"event": "-failover-abort-not-elected", "sentinel": "s",
                               "data": "master myvalkey 127.0.1.1 6790"})
    assert client.sentinel.override is None and client._switched.is_set()
    client.close()


def test_the_default_mode_does_not_follow_a_selected_replica():
    client = HAClient([("127.0.0.1", 1)], "myvalkey", watch_switch=False)
    assert client.follow_promotion is False and client.switch_events is None
    client._on_sentinel_event({"event": "+selected-slave", "sentinel": "s", "data": SELECTED})
    assert client._following is None and client.sentinel.override is None
    client.close()
