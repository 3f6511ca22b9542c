"""EDN and JSONL histories: Jepsen's format in and out, the lab's JSONL in, clear errors."""
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valkey_lab.checkers.linearizable import check
from valkey_lab.history.edn import (HistoryFormatError, Keyword, dumps, loads, op_to_edn, read_edn,
                                    read_history, read_history_lines, read_jsonl, write_edn)
from valkey_lab.history.gen import kv_history, register_history

DATA = Path(__file__).resolve().parents[1] / "data"


# ---------------------------------------------------------------- reading EDN values

def test_loads_scalars_and_collections():
    assert loads("nil") is None and loads("true") is True and loads("false") is False
    assert loads("-12") == -12 and loads("7N") == 7 and loads("2.5") == 2.5 and loads("1e3") == 1000.0
    assert loads('"a\\"b\\\\c\\n\\t\\u00e9"') == 'a"b\\c\n\té'
    kw = loads(":ok")
    assert isinstance(kw, Keyword) and kw == "ok" and repr(kw) == ":ok"
    assert loads("[1, 2 , 3]") == [1, 2, 3] and loads("(1 (2))") == [1, [2]]
    assert loads('{:a 1, "b" [2 3] :c {:d nil}}') == {"a": 1, "b": [2, 3], "c": {"d": None}}
    assert sorted(loads('#{"n2" "n3"}')) == ["n2", "n3"]
    assert loads("[1 #_ 2 3 ; a comment\n 4]") == [1, 3, 4]
    assert loads("##Inf") == math.inf and loads("\\a") == "a"
    with pytest.raises(ValueError, match="more than one"):
        loads("1 2")


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=False, allow_infinity=True),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4),
    max_leaves=12))
def test_dumps_then_loads_is_the_identity(value):
    assert loads(dumps(value)) == value


# ---------------------------------------------------------------- reading Jepsen histories

def test_jepsen_lines_become_lab_records(tmp_path):
    path = tmp_path / "history.edn"
    path.write_text(
        '{:process 0, :type :invoke, :f :cas, :value [1 2], :time 1500000000, :index 0}\n'
        '{:type :info, :f :start, :process :nemesis, :value nil, :time 1600000000, :index 1}\n'
        '\n'
        '{:process 3, :type :ok, :f :get, :key "5", :value "x 9 1 y", :index 2}\n'
        '{:process 0, :type :info, :f :cas, :value [1 2], :error [:crash "reset"], :time 2000000000}\n')
    records, lines = read_history_lines(path)
    assert lines == [1, 2, 4, 5]
    assert records[0] == {"process": 0, "type": "invoke", "f": "cas", "value": [1, 2], "time": 1.5, "index": 0,
                          "kind": "client"}
    assert records[1]["kind"] == "nemesis" and records[1]["process"] == "nemesis" and records[1]["f"] == "start"
    assert records[2]["key"] == "5" and records[2]["value"] == "x 9 1 y" and "time" not in records[2]
    assert records[3]["error"] == ["crash", "reset"]
    assert all(type(r["type"]) is str and type(r["f"]) is str for r in records)  # plain strings, not Keyword


def test_a_history_wrapped_in_a_vector_reads_the_same(tmp_path):
    lines = (DATA / "jepsen" / "register-valid.edn").read_text().splitlines()
    wrapped = tmp_path / "wrapped.edn"
    wrapped.write_text("[" + "\n ".join(lines) + "]\n")
    flat = read_edn(DATA / "jepsen" / "register-valid.edn")
    records, where = read_history_lines(wrapped)
    assert records == flat and where == list(range(1, len(lines) + 1))


def test_multi_line_forms_and_tagged_records(tmp_path):
    path = tmp_path / "h.edn"
    path.write_text('; written by hand\n{:process 0,\n :type :invoke,\n :f :write, :value "a\nb"}\n'
                    '#jepsen.history.Op{:process 0, :type :ok, :f :write, :value "a\\nb"}\n')
    records, lines = read_history_lines(path)
    assert lines == [2, 6] and records[0]["value"] == records[1]["value"] == "a\nb"


def test_a_history_as_one_list_with_comments_reads_the_same(tmp_path):
    lines = (DATA / "jepsen" / "register-valid.edn").read_text().splitlines()
    listed = tmp_path / "listed.edn"
    listed.write_text("; a Jepsen history as one list\n(" + "\n ; an op\n ".join(lines) + ") ; the end\n")
    assert read_edn(listed) == read_edn(DATA / "jepsen" / "register-valid.edn")


def test_independent_tuples_read_on_the_fast_path(tmp_path, monkeypatch):
    from valkey_lab.history import edn
    path = tmp_path / "h.edn"
    path.write_text('{:process 0, :type :invoke, :f :read, :value [1 nil]}\n'
                    '{:process 0, :type :ok, :f :read, :value [1 [3 4]], :time 5}\n'
                    '{:process 1, :type :invoke, :f :cas, :value [2 [nil 4]]}\n'
                    '{:process 1, :type :ok, :f :cas, :value [:k [[1 2] "x"]]}\n')
    monkeypatch.setattr(edn, "_forms", lambda text: pytest.fail("fell back to the full parser"))
    records = read_history(path)
    assert [r["value"] for r in records] == [[1, None], [1, [3, 4]], [2, [None, 4]], ["k", [[1, 2], "x"]]]
    assert type(records[3]["value"][0]) is str


@pytest.mark.parametrize("text, line, expected", [
    ('{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :value 1}\n', 2, "expected a map like {:process 0"),
    ('{:process 0, :type :invoke, :f :read}\n[1 2]\n', 2, "expected a map like {:process 0, :type :ok"),
    ('{:process 0, :type :invoke, :f :read}\n\n:foo\n', 3, "got :foo"),
    ('{:process 0, :type :invoke, :f :read, :value "abc}\n', 1, "unterminated string"),
    ('{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read\n', 2, "never closed"),
    ('{:process 0, :type :done, :f :read}\n', 1, "type must be one of"),
    ('{:process 0, :type :ok, :f :read, :value 1x}\n', 1, "bad number 1x"),
    ('{:process 0, :type :ok, :f :read, :value "a\\qb"}\n', 1, "bad escape"),
    ('{:process 0, :type :ok, :f :read :value}\n', 1, "even number"),
])
def test_bad_lines_name_the_file_and_line(tmp_path, text, line, expected):
    path = tmp_path / "history.edn"
    path.write_text(text)
    with pytest.raises(HistoryFormatError) as err:
        read_history(path)
    assert str(err.value).startswith(f"history.edn:{line}: ")
    assert expected in str(err.value) and err.value.line == line


# ---------------------------------------------------------------- the lab's JSONL

def test_lab_jsonl_keeps_every_record_kind():
    records = read_jsonl(DATA / "lab" / "register-failover-ok.jsonl")
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "meta" and "nemesis" in kinds and "server" in kinds
    assert check(records)["valid"] is True


@pytest.mark.parametrize("line, expected", [
    ("{not json", "expected a JSON object like"),
    ("[1, 2]", "expected a JSON object like"),
    ('{"kind": "client", "process": 0, "type": "invoke"}', "(no f)"),
    ('{"kind": "client", "process": "p1", "type": "invoke", "f": "read"}', "needs an integer process"),
])
def test_bad_jsonl_lines_name_the_file_and_line(tmp_path, line, expected):
    path = tmp_path / "history.jsonl"
    path.write_text('{"kind": "meta"}\n' + line + "\n")
    with pytest.raises(HistoryFormatError, match=r"^history\.jsonl:2: ") as err:
        read_history(path)
    assert expected in str(err.value)


def test_read_history_picks_the_format_by_extension_then_content(tmp_path):
    edn_text = (DATA / "jepsen" / "register-stale-read.edn").read_text()
    (tmp_path / "noext").write_text(edn_text)
    jsonl_text = (DATA / "lab" / "register-lost-write.jsonl").read_text()
    (tmp_path / "noext2").write_text(jsonl_text)
    assert read_history(tmp_path / "noext") == read_history(DATA / "jepsen" / "register-stale-read.edn")
    assert read_history(tmp_path / "noext2") == read_history(DATA / "lab" / "register-lost-write.jsonl")


def test_gzipped_histories_and_unknown_record_kinds(tmp_path):
    import gzip
    lines = ['{"kind": "meta"}', '{"kind": "harness", "f": "steady", "time": 0.1}',
             '{"kind": "client-event", "type": "retry", "time": 0.2}',
             '{"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "k", "value": "v", "time": 1}',
             '{"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "k", "value": "v", "time": 2}']
    (tmp_path / "h.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    records = read_history(tmp_path / "h.jsonl.gz")
    assert [r["kind"] for r in records] == ["meta", "harness", "client-event", "client", "client"]
    edn = (DATA / "jepsen" / "kv-lost-append.edn").read_bytes()
    (tmp_path / "h.edn.gz").write_bytes(gzip.compress(edn))
    assert read_history(tmp_path / "h.edn.gz") == read_history(DATA / "jepsen" / "kv-lost-append.edn")
    (tmp_path / "bad.jsonl.gz").write_text("not gzip")
    with pytest.raises(HistoryFormatError, match=r"^bad\.jsonl\.gz: not a gzip file"):
        read_history(tmp_path / "bad.jsonl.gz")


# ---------------------------------------------------------------- writing EDN

def test_client_and_nemesis_ops_are_written_jepsen_style(tmp_path):
    records = [
        {"kind": "meta", "suite": "ha"},
        {"kind": "client", "process": 3, "type": "ok", "f": "write", "key": "k", "value": "v \"1\"", "time": 1.5,
         "lane": "w", "replicated": None},
        {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill", "phase": "start",
         "value": ["n1"], "params": {"signal": "KILL"}, "time": 2.0},
        {"kind": "server", "f": "roles", "node": "n1", "value": {}, "time": 2.5},
    ]
    path = write_edn(records, tmp_path / "out.edn")
    assert path.read_text().splitlines() == [
        '{:process 3, :type :ok, :f :write, :key "k", :value "v \\"1\\"", :time 1500000000, :index 0, '
        ':lane "w", :replicated nil}',
        '{:process :nemesis, :type :info, :f :kill, :value ["n1"], :time 2000000000, :index 1, '
        ':phase "start", :params {:signal "KILL"}}',
    ]
    assert op_to_edn({"kind": "client", "process": 0, "type": "invoke", "f": "read", "key": None,
                      "value": None}, 7) == "{:process 0, :type :invoke, :f :read, :key nil, :value nil, :index 7}"


def _ops(records):
    return [(r["kind"], r["process"], r["type"], r["f"], r.get("key"), r.get("value"), round(r["time"], 9))
            for r in records if r.get("kind") in ("client", "nemesis")]


@pytest.mark.parametrize("make, model", [(register_history, "register"), (kv_history, "kv")])
def test_lab_to_edn_and_back_gives_the_same_ops(tmp_path, make, model):
    history = make(300, 6, 0.1, seed=5)
    history.insert(0, {"kind": "meta", "model": model})
    history.insert(50, {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "partition",
                        "phase": "start", "value": {"n1": ["n2", "n3"]}, "params": {}, "time": history[50]["time"]})
    write_edn(history, tmp_path / "h.edn")
    back = read_history(tmp_path / "h.edn")
    assert _ops(back) == _ops(history)
    assert check(back, model=model)["valid"] is check(history, model=model)["valid"] is True


def test_every_jepsen_data_file_reads_and_round_trips(tmp_path):
    for path in sorted((DATA / "jepsen").glob("*.edn")):
        records = read_history(path)
        assert records, path
        write_edn(records, tmp_path / path.name)
        assert _strip(read_history(tmp_path / path.name)) == _strip(records), path


def _strip(records):
    return [{k: v for k, v in r.items() if k != "index"} for r in records]


def test_json_of_records_read_from_edn_is_plain(tmp_path):
    records = read_history(DATA / "jepsen" / "register-valid.edn")
    text = json.dumps(records)  # keywords came back as plain strings
    assert '"process": "nemesis"' in text
