"""Key -> slot: CRC16 (XMODEM) and hash tags as the cluster spec defines them, against known values."""
import pytest

from valkey_lab.clients.cluster import key_slot, keys_in_ranges


@pytest.mark.parametrize("key, slot", [("foo", 12182), ("bar", 5061), ("hello", 866), ("", 0)])
def test_known_slots(key, slot):
    assert key_slot(key) == slot


@pytest.mark.parametrize("key, same_as", [
    ("{user1000}.following", "user1000"),
    ("foo{}{bar}", "foo{}{bar}"),        # empty tag: the whole key is hashed
    ("foo{{bar}}zap", "{bar"),           # up to the first } after the first {
    ("foo{bar}{zap}", "bar"),            # only the first tag counts
])
def test_hash_tags(key, same_as):
    assert key_slot(key) == key_slot(same_as)


def test_hash_tagged_keys_share_a_slot():
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers") == key_slot("user1000")


def test_bytes_and_str_agree():
    assert key_slot("ключ") == key_slot("ключ".encode())


def test_keys_in_ranges_are_deterministic_and_in_range():
    ranges = [(0, 5460)]
    keys = keys_in_ranges("lab:x", ranges, 50)
    assert keys == keys_in_ranges("lab:x", ranges, 50)
    assert len(set(keys)) == 50
    assert all(0 <= key_slot(k) <= 5460 for k in keys)
    other = keys_in_ranges("lab:x", [(10923, 16383)], 20)
    assert all(key_slot(k) >= 10923 for k in other) and not set(other) & set(keys)
