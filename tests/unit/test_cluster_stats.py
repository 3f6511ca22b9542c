"""Per-shard statistics and the cluster client's pure parts."""
from collections import Counter, deque

import pytest
from redis.connection import Connection
from redis.exceptions import AskError, MovedError

from valkey_lab.clients.cluster import (_remapper, distribution_rows, expected_counts, key_slot, redirect_counting_connection,
                                shard_of, spread_problems)

SHARDS = [{"primary": "node-7000", "replicas": ["node-7003"], "ranges": [(0, 5460)]},
          {"primary": "node-7001", "replicas": ["node-7004"], "ranges": [(5461, 10922)]},
          {"primary": "node-7002", "replicas": ["node-7005"], "ranges": [(10923, 16383)]}]


def test_shard_of():
    assert shard_of(0, SHARDS) == "node-7000"
    assert shard_of(5461, SHARDS) == "node-7001"
    assert shard_of(16383, SHARDS) == "node-7002"
    assert shard_of(1, [{"primary": "x", "ranges": [(5, 9)]}]) is None


def test_expected_counts_follow_crc16():
    keys = [f"k{i}" for i in range(300)]
    counts = expected_counts(keys, SHARDS)
    assert sum(counts.values()) == 300
    assert counts["node-7000"] == sum(1 for k in keys if key_slot(k) <= 5460)


def test_distribution_rows():
    rows = distribution_rows(SHARDS, {"node-7000": 100, "node-7001": 100, "node-7002": 200},
                             {"node-7003": 100, "node-7004": 99, "node-7005": 200})
    assert [r["primary"] for r in rows] == ["node-7000", "node-7001", "node-7002"]
    assert rows[0] == {"primary": "node-7000", "slot_ranges": "0-5460", "slots": 5461, "keys": 100, "share": 0.25,
                       "expected_share": 0.3333, "replica": "node-7003", "replica_keys": 100}
    assert rows[1]["slots"] == 5462 and rows[1]["replica_keys"] == 99
    assert rows[2]["share"] == 0.5


def test_spread_within_tolerance():
    even = distribution_rows(SHARDS, {"node-7000": 330, "node-7001": 340, "node-7002": 330}, {})
    assert spread_problems(even, 0.05) == []


def test_spread_problems_name_the_shard():
    skewed = distribution_rows(SHARDS, {"node-7000": 0, "node-7001": 400, "node-7002": 600}, {})
    problems = spread_problems(skewed, 0.05)
    assert problems[0] == "node-7000 holds no key"
    assert problems[1].startswith("node-7001 holds 40.0% of the keys, expected 33.3%")
    assert problems[2].startswith("node-7002 holds 60.0%")


def test_remapper_from_a_mapping_and_passthrough():
    remap = _remapper({("node-7001", 7001): ("127.0.0.1", 7001)})
    assert remap(("node-7001", 7001)) == ("127.0.0.1", 7001)
    assert remap(("node-7001", "7001")) == ("127.0.0.1", 7001)
    assert remap(("elsewhere", 1)) == ("elsewhere", 1)
    assert _remapper(None)(("a", 1)) == ("a", 1)


class _Replies(Connection):
    """A connection whose server replies are scripted: exercises read_response's wrapper only."""
    replies: list = []

    def __init__(self):
        self.host, self.port = "127.0.0.1", 7000

    def read_response(self, *args, **kwargs):
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.mark.parametrize("error, kind", [(MovedError("3999 node-7001:7001"), "MOVED"),
                                         (AskError("3999 node-7001:7001"), "ASK")])
def test_redirects_are_counted_and_remapped(error, kind):
    counter, events = Counter(), deque()
    cls = redirect_counting_connection(counter, events, _remapper({("node-7001", 7001): ("127.0.0.1", 17001)}),
                                       base=_Replies)
    conn = cls()
    _Replies.replies = ["OK", error]
    assert conn.read_response() == "OK"
    with pytest.raises(type(error)) as caught:
        conn.read_response()
    assert counter == Counter({kind: 1})
    assert (caught.value.host, caught.value.port, caught.value.node_addr) == ("127.0.0.1", 17001, ("127.0.0.1", 17001))
    assert events[0]["to"] == "node-7001:7001" and events[0]["mapped_to"] == "127.0.0.1:17001"
    assert events[0]["slot"] == 3999 and events[0]["kind"] == kind
