"""Writing Jepsen EDN (history/edn.py): one op per line, the fields in Jepsen's order, the
nemesis as a keyword process, an index that counts written ops only, strings escaped."""
import pytest

from valkey_lab.history.edn import dumps, edn_lines, op_to_edn, write_edn


def test_a_record_without_kind_is_a_client_op():
    assert op_to_edn({"process": 3, "type": "ok", "f": "read", "value": None}, 0) == (
        "{:process 3, :type :ok, :f :read, :value nil, :index 0}")


def test_the_nemesis_process_is_a_keyword():
    rec = {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill", "value": "n1", "time": 1.5}
    assert op_to_edn(rec, 7) == '{:process :nemesis, :type :info, :f :kill, :value "n1", :time 1500000000, :index 7}'
    assert op_to_edn(dict(rec, process="chaos-monkey"), 0).startswith("{:process :chaos-monkey, ")
    for process in ("1abc", "nil", "a b", 5):
        assert op_to_edn(dict(rec, process=process), 0).startswith("{:process :nemesis, "), process


def test_fields_in_jepsens_order_then_the_rest_without_kind():
    rec = {"note": "x", "time": 2, "kind": "client", "f": "write", "value": [1, 2], "key": "k", "type": "ok",
           "process": 1, "my field": True}
    assert op_to_edn(rec, 3) == ('{:process 1, :type :ok, :f :write, :key "k", :value [1 2], :time 2000000000, '
                                 ':index 3, :note "x", "my field" true}')
    assert op_to_edn({"process": 1, "type": "ok", "f": "bad name", "time": True}, 0) == (
        '{:process 1, :type :ok, :f "bad name", :time true, :index 0}')


def test_a_missing_field_is_skipped_and_the_rest_still_written():
    assert op_to_edn({"type": "ok", "f": "read", "value": 1, "time": 1.0}, 3) == (
        "{:type :ok, :f :read, :value 1, :time 1000000000, :index 3}")


def test_only_client_and_nemesis_ops_are_written_and_counted():
    records = [{"kind": "meta", "x": 1},
               {"process": 0, "type": "invoke", "f": "read"},
               {"kind": "server", "f": "roles", "type": "ok"},
               {"kind": "client", "process": 0, "f": "read"},  # no type: not an op
               {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill"},
               {"kind": "client", "process": 0, "type": "ok", "f": "read"}]
    lines = list(edn_lines(records))
    assert lines == ["{:process 0, :type :invoke, :f :read, :index 0}",
                     "{:process :nemesis, :type :info, :f :kill, :index 1}",
                     "{:process 0, :type :ok, :f :read, :index 2}"]


def test_write_edn_one_line_per_op(tmp_path):
    path = write_edn([{"process": 0, "type": "ok", "f": "read", "value": "é\n"}], tmp_path / "h.edn")
    assert path == tmp_path / "h.edn"
    assert path.read_bytes().decode("utf-8") == '{:process 0, :type :ok, :f :read, :value "é\\n", :index 0}\n'


def test_strings_are_escaped():
    assert dumps('a\\b"c\nd\te\rf\x01') == '"a\\\\b\\"c\\nd\\te\\rf\\u0001"'


@pytest.mark.parametrize("value, edn", [
    (float("nan"), "##NaN"), (float("inf"), "##Inf"), (float("-inf"), "##-Inf"), (0.5, "0.5"),
    ({2, 1}, "#{1 2}"), (frozenset(), "#{}"), (b"x", '"b\'x\'"'),
    ({"ok": 1, "true": 2, "nil": 3, "false": 4, "+1x": 5, "1a": 6, "a b": 7},
     '{:ok 1, "true" 2, "nil" 3, "false" 4, "+1x" 5, "1a" 6, "a b" 7}'),
])
def test_values_and_map_keys_as_edn_reads_them_back(value, edn):
    assert dumps(value) == edn  # a key that would read back as nil, a boolean or a number stays a string
