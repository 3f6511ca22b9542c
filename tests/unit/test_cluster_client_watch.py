"""The cluster client's promotion watcher on a fake topology (no server)."""
import threading

from valkey_lab.clients.promotion import ShardWatcher, promotion_shows, shard_owners

A, B, C = ("127.0.3.1", 7000), ("127.0.3.2", 7001), ("127.0.3.4", 7003)


def node(addr, role, health="online"):
    return ["id", f"id-{addr[1]}", "port", addr[1], "ip", addr[0], "endpoint", addr[0], "hostname", addr[0],
            "role", role, "replication-offset", 10, "health", health]


def shards(owner_of_first):
    """Two shards: 0-5460 owned by ``owner_of_first`` (A before the failover, C after), 5461-16383 by B.
    After the failover Valkey lists the dead A in the same shard, still a master, health failed."""
    if owner_of_first == A:
        first = [node(A, "master"), node(C, "replica")]
    else:
        first = [node(A, "master", "failed"), node(C, "master")]
    return [["slots", [0, 5460], "nodes", first], ["slots", [5461, 16383], "nodes", [node(B, "master")]]]


def test_shard_owners_reads_resp2_and_resp3_replies_and_remaps():
    assert shard_owners(shards(A)) == {A: ((0, 5460),), B: ((5461, 16383),)}
    resp3 = [{"slots": [0, 16383], "nodes": [{"endpoint": "node-7000", "port": 7000, "role": "master",
                                               "ip": "10.0.0.2"}]}]
    assert shard_owners(resp3, remap=lambda a: ("127.0.0.1", a[1])) == {("127.0.0.1", 7000): ((0, 16383),)}
    assert shard_owners([["slots", [], "nodes", [node(A, "master")]]]) == {}  # a shard without slots


def test_promotion_shows_when_no_unreachable_node_owns_slots_or_the_owners_changed():
    before, after = shard_owners(shards(A)), shard_owners(shards(C))
    assert not promotion_shows(before, dead={A})
    assert promotion_shows(after, dead={A})
    assert not promotion_shows({}, dead={A})  # an empty reply proves nothing
    assert not promotion_shows(before, dead=(), baseline=before)
    assert promotion_shows(after, dead=(), baseline=before)
    assert not promotion_shows(after, dead=(), baseline=None)


class FakeCluster:
    """CLUSTER SHARDS answers of a cluster whose primary A is dead; C is promoted at ``promote_at``."""

    def __init__(self, promote_at: int):
        self.round, self.promote_at = 0, promote_at
        self.asked = []

    def poll(self, addr):
        self.asked.append(addr)
        if addr == A:
            raise ConnectionError("refused")
        return shards(C if self.round >= self.promote_at else A)

    def candidates(self, dead):
        return [C, B, A]  # the dead primary's replica first


def test_the_watcher_signals_in_the_round_the_replica_says_it_owns_the_slots():
    fake, t = FakeCluster(promote_at=3), [0.0]
    w = ShardWatcher(fake.poll, fake.candidates, clock=lambda: t[0], fanout=1)
    w.dead = {A}
    for r in range(3):
        fake.round = r
        assert not w.check_once()
    fake.round = 3
    assert w.check_once() and w.changed.is_set()
    assert fake.asked == [C] * 4  # only the replica was asked, never the dead primary
    assert w.polls == 4 and w.signals[0]["via"] == "127.0.3.4:7003"
    assert w.wait(0) is True and not w.changed.is_set()  # the client's sleep ends, the event is consumed


def test_without_a_known_dead_node_it_compares_with_the_first_answer():
    fake, t = FakeCluster(promote_at=2), [0.0]
    w = ShardWatcher(fake.poll, fake.candidates, clock=lambda: t[0], fanout=1)
    assert not w.check_once()  # the baseline
    fake.round = 1
    assert not w.check_once()
    fake.round = 2
    assert w.check_once()


def test_a_node_that_does_not_answer_is_skipped_for_a_while():
    t = [0.0]
    asked = []

    def poll(addr):
        asked.append(addr)
        raise TimeoutError("partitioned")
    w = ShardWatcher(poll, lambda dead: [C, B], clock=lambda: t[0], fanout=2, skip_s=1.0)
    w.dead = {A}
    assert not w.check_once() and asked == [C, B] and w.poll_errors == 2
    t[0] = 0.5
    assert not w.check_once() and asked == [C, B]  # both skipped
    t[0] = 1.6
    w.check_once()
    assert asked == [C, B, C, B]


def test_the_thread_runs_only_while_armed_and_stops_after_the_signal():
    fake = FakeCluster(promote_at=0)
    w = ShardWatcher(fake.poll, fake.candidates, interval=0.01, idle_s=5.0)
    w.arm({A})
    assert w.wait(2.0) is True  # woken, not timed out
    w._thread and w._thread.join(1)
    assert w._thread is None  # stopped after signalling; the next retry arms it again
    polls = w.polls
    w.arm({A})
    assert w.wait(2.0) is True and w.polls > polls
    w.close()


def test_an_idle_watcher_stops_polling():
    fake = FakeCluster(promote_at=10 ** 9)
    w = ShardWatcher(fake.poll, fake.candidates, interval=0.01, idle_s=0.05)
    w.arm({A})
    done = threading.Event()
    threading.Thread(target=lambda: (w._thread and w._thread.join(2), done.set())).start()
    assert done.wait(3) and w._thread is None and not w.changed.is_set()
    w.close()


def test_the_client_wakes_its_backoff_and_rereads_the_map(monkeypatch):
    from valkey_lab.clients.cluster import ClusterClient
    from valkey_lab.clients.retry import BackoffPolicy

    initialized = []

    class Manager:
        slots_cache, nodes_cache, startup_nodes = {}, {}, {"127.0.3.1:7000": None}

        def initialize(self, disconnect_startup_nodes_pools=True):
            assert not disconnect_startup_nodes_pools  # the warm connection stays open
            initialized.append(sorted(self.startup_nodes))

    def fake_init(self, *args, **kwargs):
        self.nodes_manager = Manager()
    monkeypatch.setattr("redis.cluster.RedisCluster.__init__", fake_init)
    monkeypatch.setattr("redis.cluster.RedisCluster.close", lambda self: None)
    client = ClusterClient([A], policy=BackoffPolicy(base=5.0, cap=5.0, jitter=0.0, budget=30))
    fake = FakeCluster(promote_at=0)
    client.watcher.poll, client.watcher.candidates = fake.poll, fake.candidates
    client._reachable(A, False)
    calls = []

    def fn(rc):
        calls.append(1)
        if len(calls) == 1:
            raise __import__("redis").ConnectionError("Error 111 connecting to 127.0.3.1:7000. Connection refused.")
        return "OK"
    import time
    start = time.monotonic()
    assert client.call(fn, idempotent=True) == "OK"
    assert time.monotonic() - start < 2.0  # not the 5 s backoff step
    # the slot map re-read after the watcher's signal, before the retry, from the node that showed it
    assert initialized == [["127.0.3.4:7003"]]
    client._reachable(A, True)
    assert client.unreachable == set()
    client.close()
