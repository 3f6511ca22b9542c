"""Parsing CLUSTER NODES and checking the deterministic layout (pure logic)."""
import pytest

from valkey_lab.cluster.topology import (LAYOUT, epoch_collisions, format_ranges, layout_problems, merge_ranges,
                                  parse_cluster_nodes, parse_slots, ranges_from_slots, slot_count, view_signature)

IDS = {f"node-{7000 + i}": f"{i}" * 40 for i in range(6)}


def line(name, flags, master="-", slots="", epoch=1, link="connected", hostname=True):
    port = int(name.split("-")[1])
    addr = f"172.20.0.{port - 6990}:{port}@{port + 10000}" + (f",{name}" if hostname else "")
    return f"{IDS[name]} {addr} {flags} {IDS.get(master, master)} 0 1700000000000 {epoch} {link} {slots}".rstrip()


def good(myself="node-7000"):
    rows = [("node-7000", "master", "-", "0-5460", 1), ("node-7001", "master", "-", "5461-10922", 2),
            ("node-7002", "master", "-", "10923-16383", 3), ("node-7003", "slave", "node-7000", "", 1),
            ("node-7004", "slave", "node-7001", "", 2), ("node-7005", "slave", "node-7002", "", 3)]
    return "\n".join(line(n, ("myself," if n == myself else "") + f, m, s, epoch=e) for n, f, m, s, e in rows) + "\n"


def name_of(node_line):
    return f"node-{node_line.port}"


def test_parse_a_full_view():
    lines = parse_cluster_nodes(good())
    assert len(lines) == 6
    me = lines[0]
    assert me.myself and me.role == "primary" and me.slots == [(0, 5460)] and me.host == "node-7000"
    assert me.ip == "172.20.0.10" and me.port == 7000 and me.config_epoch == 1 and me.link == "connected"
    replica = lines[3]
    assert replica.role == "replica" and replica.master_id == IDS["node-7000"] and replica.slots == []


def test_host_is_the_ip_without_an_announced_hostname():
    (only,) = parse_cluster_nodes(line("node-7001", "master", hostname=False))
    assert only.host == only.ip == "172.20.0.11"


def test_slots_single_ranges_and_migration_markers():
    ranges, markers = parse_slots(["0-10", "11", "20-30", "[5->-abc]", "[7-<-def]"])
    assert ranges == [(0, 11), (20, 30)]
    assert markers == ["[5->-abc]", "[7-<-def]"]


def test_range_helpers():
    assert merge_ranges([(5, 9), (0, 4), (20, 20)]) == [(0, 9), (20, 20)]
    assert ranges_from_slots([3, 1, 2, 7]) == [(1, 3), (7, 7)]
    assert format_ranges([(0, 5460), (7, 7)]) == "0-5460,7"
    assert format_ranges([]) == "-"
    assert slot_count([(0, 5460), (5461, 10922), (10923, 16383)]) == 16384


def test_failing_flags():
    lines = parse_cluster_nodes(line("node-7000", "master,fail", slots="0-5460") + "\n" +
                                line("node-7001", "master,fail?") + "\n" + line("node-7002", "master"))
    assert [n.failing for n in lines] == [True, True, False]


def test_the_deterministic_layout_has_no_problems():
    assert layout_problems(parse_cluster_nodes(good()), name_of) == []


def test_views_from_different_nodes_agree():
    """'myself', link state and ping times differ between nodes; the map must not."""
    a = parse_cluster_nodes(good("node-7000"))
    b = parse_cluster_nodes(good("node-7004").replace("connected", "disconnected", 1))
    assert view_signature(a) == view_signature(b)


def test_a_moved_slot_changes_the_signature():
    a = parse_cluster_nodes(good())
    b = parse_cluster_nodes(good().replace("0-5460", "0-5459 5460", 1))  # same slots, same signature
    assert view_signature(a) == view_signature(b)
    c = parse_cluster_nodes(good().replace("0-5460", "0-5459", 1).replace("5461-10922", "5460-10922", 1))
    assert view_signature(a) != view_signature(c)


def test_swapped_roles_after_a_failover_are_reported():
    text = good().replace(f"{IDS['node-7000']} 172.20.0.10:7000@17000,node-7000 myself,master - 0 1700000000000 1 "
                          "connected 0-5460",
                          f"{IDS['node-7000']} 172.20.0.10:7000@17000,node-7000 myself,slave {IDS['node-7003']} 0 "
                          "1700000000000 7 connected")
    text = text.replace(f"172.20.0.13:7003@17003,node-7003 slave {IDS['node-7000']} 0 1700000000000 1 connected",
                        "172.20.0.13:7003@17003,node-7003 master - 0 1700000000000 7 connected 0-5460")
    assert "0-5460" in text and " 7 connected 0-5460" in text
    problems = layout_problems(parse_cluster_nodes(text), name_of)
    assert any("primaries with slots are" in p for p in problems)
    assert any("node-7003 replicates a primary" in p for p in problems)


def test_replica_of_the_wrong_primary_is_reported():
    text = good().replace(f"node-7004 slave {IDS['node-7001']}", f"node-7004 slave {IDS['node-7002']}")
    problems = layout_problems(parse_cluster_nodes(text), name_of)
    assert "node-7004 replicates node-7002, expected node-7001" in problems
    assert "node-7001 has 0 replicas, expected 1" in problems
    assert "node-7002 has 2 replicas, expected 1" in problems


@pytest.mark.parametrize("old, new, needle", [
    ("10923-16383", "10923-16000", "slots owned: 16001 distinct"),     # a hole
    ("0-5460", "0-5470", "node-7000 owns 0-5470, expected 0-5460"),    # an overlap
])
def test_slot_coverage_problems(old, new, needle):
    problems = layout_problems(parse_cluster_nodes(good().replace(old, new, 1)), name_of)
    assert any(needle in p for p in problems), problems


def test_a_missing_node_is_reported():
    text = "\n".join(row for row in good().splitlines() if "node-7005" not in row)
    problems = layout_problems(parse_cluster_nodes(text), name_of)
    assert "node-7005 is not in the cluster" in problems


def test_layout_constants_cover_every_slot_once():
    assert slot_count(merge_ranges(LAYOUT.values())) == 16384 == slot_count(LAYOUT.values())


def test_epochs_are_part_of_the_agreement():
    """A node with a stale view of a primary's config epoch does not agree yet."""
    a = parse_cluster_nodes(good())
    stale = parse_cluster_nodes(good().replace("0 1700000000000 1 connected 0-5460", "0 1700000000000 0 connected 0-5460"))
    assert view_signature(a) != view_signature(stale)


def test_epoch_collisions():
    assert epoch_collisions(parse_cluster_nodes(good())) == []
    same = good().replace("0 1700000000000 2 connected 5461-10922", "0 1700000000000 1 connected 5461-10922")
    assert epoch_collisions(parse_cluster_nodes(same)) == [1]
