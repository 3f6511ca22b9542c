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
