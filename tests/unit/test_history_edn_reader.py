"""The history reader's edges (history/edn.py): what each error says and on which line, the
plain form lab records get, which format a file is read as, and a few values by the exact
form they come back in."""
import gzip
import json

import pytest

from valkey_lab.history.edn import (EXPECTED_EDN, EXPECTED_JSON, HistoryFormatError, Keyword, Symbol, loads,
                                    read_edn, read_edn_lines, read_history, read_history_lines, read_jsonl,
                                    read_jsonl_lines)

OP = "{:process 0, :type :ok, :f :read, :value 1}"


def error_of(fn, *args) -> str:
    with pytest.raises((HistoryFormatError, ValueError)) as e:
        fn(*args)
    return str(e.value)


# -- HistoryFormatError --------------------------------------------------------------------------------
def test_a_format_error_names_the_file_and_line():
    e = HistoryFormatError("/some/dir/h.edn", 3, "bad")
    assert str(e) == "h.edn:3: bad" and e.path == "/some/dir/h.edn" and e.line == 3
    assert str(HistoryFormatError("h.edn", None, "bad")) == "h.edn: bad"
    assert str(HistoryFormatError(None, 2, "bad")) == "<history>:2: bad"
    assert str(HistoryFormatError(None, None, "bad")) == "<history>: bad"


# -- loads: values, errors and their lines ----------------------------------------------------------------
def test_symbols_and_tags():
    assert repr(loads("foo")) == "foo" and isinstance(loads("foo"), Symbol)
    tagged = loads("#my/tag [1 2]")
    assert (tagged.tag, tagged.value) == ("my/tag", [1, 2])
    assert loads('#inst "2020"') == "2020"


def test_unicode_escapes():
    assert loads(r'"\u1234x"') == "\u1234x" and loads(r'"\u0041"') == "A"
    assert error_of(loads, r'"\uZZ"') == r"line 1: bad escape \u in a string"
    assert error_of(loads, r'"\x"') == r"line 1: bad escape \x in a string"


def test_more_than_one_value_says_where():
    assert error_of(loads, "1 2") == "line 1: more than one EDN value"
    assert error_of(loads, "1\n\n2") == "line 3: more than one EDN value"


def test_a_character_no_token_accepts_is_reported_on_its_line():
    assert error_of(loads, "\n#1") == "line 2: unexpected '#'"
    assert error_of(loads, "\n\n  [1 #1]") == "line 3: unexpected '#'"
    assert error_of(loads, '[1\n"abc') == "line 2: unterminated string"


def test_collections_as_map_keys():
    assert loads("{[1 2] 3}") == {(1, 2): 3}
    assert loads("{[1 [2 3]] 4}") == {(1, (2, 3)): 4}
    assert loads("{{:a 1, :b [2]} 3}") == {(("a", "1"), ("b", "[2]")): 3}
    assert loads("{:k 1}") == {"k": 1} and type(next(iter(loads("{:k 1}")))) is Keyword


# -- records: the plain form -------------------------------------------------------------------------------
def test_a_line_the_fast_path_cannot_read_gets_the_plain_form():
    # a nested map: the full parser, with plain=True
    (rec,) = read_edn("h.edn", "{:process 0, :type :ok, :f :read, :value {[1 2] :x, {:a 1} #t/g 5}}\n")
    assert rec["value"] == {"[1, 2]": "x", '[["a", "1"]]': {"tag": "t/g", "value": 5}}
    assert type(rec["type"]) is str and type(rec["f"]) is str and type(rec["value"]["[1, 2]"]) is str
    assert rec["kind"] == "client"


def test_strings_with_escapes_on_the_fast_path():
    (rec,) = read_edn("h.edn", r'{:process 0, :type :ok, :f :read, :value "a\nb\"c"}' + "\n")
    assert rec["value"] == 'a\nb"c'
    (rec,) = read_edn("h.edn", r'{:process 0, :type :ok, :f :read, :value ["x\ty" "z"]}' + "\n")
    assert rec["value"] == ["x\ty", "z"]


def test_read_edn_and_read_jsonl_take_the_text_given():
    assert read_edn("/nonexistent/h.edn", OP)[0]["value"] == 1
    assert read_jsonl("/nonexistent/h.jsonl", json.dumps({"process": 0, "type": "ok", "f": "read"}))[0]["f"] == "read"


# -- _forms: one vector wrapping the history, discards, what may follow -------------------------------------
def test_a_wrapping_vector_that_is_never_closed():
    assert error_of(read_edn, "h.edn", f"[{OP}\n{OP}\n") == (
        "h.edn:3: bad EDN: the history's opening bracket is never closed")


def test_nothing_may_follow_the_wrapping_vector():
    text = f"[{OP}\n{OP}]\n{{:process 1, :type :ok, :f :read, :value 2, :note \"{'x' * 80}\"}}\n"
    assert error_of(read_edn, "h.edn", text) == "h.edn:3: bad EDN: unexpected { after the history's closing bracket"
    text = f"({OP})\n   [1 2]"
    assert error_of(read_edn, "h.edn", text) == "h.edn:2: bad EDN: unexpected [ after the history's closing bracket"


def test_a_list_or_vector_wraps_the_history_only_when_it_comes_first():
    records = read_edn("h.edn", f"({OP} {OP})")
    assert len(records) == 2
    assert error_of(read_edn, "h.edn", f"{OP}\n[1 2]") == f"h.edn:2: {EXPECTED_EDN}, got [1 2]"


def test_discarded_forms_are_skipped_and_reading_goes_on():
    records, lines = read_edn_lines("h.edn", f"#_ {{:a 1}}\n{OP}\n#_[1 2] {OP}\n")
    assert len(records) == 2 and lines == [2, 3]


def test_the_source_of_a_form_in_an_error_is_the_form_as_written():
    text = f"[{OP}\n(1  2\n 3)]"
    assert error_of(read_edn, "h.edn", text) == f"h.edn:2: {EXPECTED_EDN}, got (1 2 3)"
    assert error_of(read_edn, "h.edn", f"[{OP}\n[:a, :b :c]]") == f"h.edn:2: {EXPECTED_EDN}, got [:a, :b :c]"


# -- _record: what is missing, the snippet -----------------------------------------------------------------
def test_missing_fields_are_named():
    got = error_of(read_edn, "h.edn", "{:type :ok, :f :read, :value 1, :x [1 2]}\n")
    assert got == f"h.edn:1: {EXPECTED_EDN}, got {{:type :ok, :f :read, :value 1, :x [1 2]}} (no process)"
    got = error_of(read_edn, "h.edn", "{:process 0, :value 1}\n")
    assert got == f"h.edn:1: {EXPECTED_EDN}, got {{:process 0, :value 1}} (no type, f)"


def test_a_bad_type_lists_the_types():
    got = error_of(read_edn, "h.edn", "{:process 0, :type :done, :f :read}\n")
    assert got == "h.edn:1: type must be one of invoke, ok, fail, info, got {:process 0, :type :done, :f :read}"


def test_long_sources_are_cut_to_70_characters_and_spaces_collapse():
    body = "{:process 0, :type :ok, :value 1, :pad \"" + "x" * 20 + "\"}"
    assert len(body) < 70
    pad = 70 - len(body)
    at_70 = body[:-2] + "x" * pad + body[-2:]
    assert len(at_70) == 70
    assert error_of(read_edn, "h.edn", at_70 + "\n").endswith(f"got {at_70} (no f)")
    at_71 = body[:-2] + "x" * (pad + 1) + body[-2:]
    assert error_of(read_edn, "h.edn", at_71 + "\n").endswith(f"got {at_71[:67]}... (no f)")
    spaced = "{:process   0,\t:type :ok}"
    assert error_of(read_edn, "h.edn", spaced + "\n").endswith("got {:process 0, :type :ok} (no f)")


# -- JSONL ------------------------------------------------------------------------------------------------
def test_jsonl_blank_lines_are_skipped_and_lines_counted():
    text = "\n".join([json.dumps({"kind": "meta", "x": 1}), "", "   ",
                      json.dumps({"process": 0, "type": "ok", "f": "read"}),
                      json.dumps({"kind": "server", "f": "roles"})])
    records, lines = read_jsonl_lines("h.jsonl", text)
    assert lines == [1, 4, 5] and [r["kind"] for r in records] == ["meta", "client", "server"]


def test_jsonl_nemesis_and_client_records_are_checked_others_kept_as_they_are():
    bad_nemesis = json.dumps({"kind": "nemesis", "process": "nemesis", "type": "info"})
    assert error_of(read_jsonl, "h.jsonl", bad_nemesis) == f"h.jsonl:1: {EXPECTED_JSON}, got {bad_nemesis} (no f)"
    assert read_jsonl("h.jsonl", json.dumps({"kind": "harness", "f": 1}))[0] == {"kind": "harness", "f": 1}
    assert error_of(read_jsonl, "h.jsonl", "[1]") == f"h.jsonl:1: {EXPECTED_JSON}, got [1]"


# -- which reader: by extension, gzip, else by the first characters ----------------------------------------
EDN_STARTING_WITH_A_DISCARD = f"#_ {{:skipped 1}}\n{OP}\n"


@pytest.mark.parametrize("name", ["h.edn", "H.EDN"])
def test_an_edn_file_by_its_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text(EDN_STARTING_WITH_A_DISCARD)
    assert read_history(path)[0]["value"] == 1


@pytest.mark.parametrize("name", ["h.jsonl", "h.json", "h.ndjson", "h.JSONL"])
def test_a_json_lines_file_by_its_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("[1]\n")  # would be EDN by its first character
    assert error_of(read_history, path) == f"{name}:1: {EXPECTED_JSON}, got [1]"


@pytest.mark.parametrize("name, text, json_lines", [
    ("h.edn.gz", EDN_STARTING_WITH_A_DISCARD, False),
    ("h.EDN.GZ", EDN_STARTING_WITH_A_DISCARD, False),
    ("h.jsonl.gz", "[1]\n", True),
])
def test_gzipped_files_by_the_extension_under_gz(tmp_path, name, text, json_lines):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()))
    if json_lines:
        assert error_of(read_history, path) == f"{name}:1: {EXPECTED_JSON}, got [1]"
    else:
        assert read_history(path)[0]["value"] == 1


def test_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "h.edn.gz"
    path.write_text(OP)
    assert error_of(read_history, path).startswith("h.edn.gz: not a gzip file (")


@pytest.mark.parametrize("text", [f"\n  \n[{OP}]", f"  {OP}", f"; a comment\n{OP}"])
def test_without_a_known_extension_edn_is_told_by_its_first_characters(tmp_path, text):
    path = tmp_path / "h.txt"
    path.write_text(text)
    records, lines = read_history_lines(path)
    assert records[0]["value"] == 1 and lines == [text.count("\n", 0, text.index(OP)) + 1]


def test_without_a_known_extension_anything_else_is_json_lines(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text(json.dumps({"process": 0, "type": "ok", "f": "read"}) + "\n")
    assert read_history(path)[0]["kind"] == "client"


# -- the path in errors and gzip without a known inner extension --------------------------------------------
def test_errors_through_read_history_name_the_file(tmp_path):
    path = tmp_path / "bad.edn"
    path.write_text("{:process 0, :type :ok}\n")
    assert error_of(read_history, path) == f"bad.edn:1: {EXPECTED_EDN}, got {{:process 0, :type :ok}} (no f)"
    path = tmp_path / "bad.txt"
    path.write_text('{"process": 0}\n')
    assert error_of(read_history, path) == f'bad.txt:1: {EXPECTED_JSON}, got {{"process": 0}} (no type, f)'
    path = tmp_path / "bad2.txt"
    path.write_text("[{:process 0}]\n")
    assert error_of(read_history, path) == f"bad2.txt:1: {EXPECTED_EDN}, got {{:process 0}} (no type, f)"


@pytest.mark.parametrize("name, text", [
    ("h.gz", f"[{OP}]\n"),
    ("h.txt.gz", json.dumps({"process": 0, "type": "ok", "f": "read", "value": 1}) + "\n"),
])
def test_gzip_without_a_known_inner_extension_is_told_by_the_content(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()))
    assert read_history(path)[0]["value"] == 1


@pytest.mark.parametrize("text, value", [
    ("5N", 5), ("-5", -5), ("+5", 5), ("1.5M", 1.5), ("-2.5e1", -25.0), ("3/4", 0.75), ("-3/4", -0.75),
    ("+", Symbol("+")), ("-a", Symbol("-a")), ("nil", None), ("true", True), ("false", False),
    (r"\u0041", "A"), (r"\u1234", "\u1234"), (r"\u", "u"), (r"\newline", "\n"), (r"\space", " "), (r"\a", "a"),
    ("[1 #_ 2]", [1]), ("[#_ 1 2 #_ [3]]", [2]),
    ('#uuid "x"', "x"), ('#inst "2020"', "2020"), ("#my/t {:a 1}", {Keyword("a"): 1}),
    ('["a\\nb" "c"]', ["a\nb", "c"]), ('"a\nb"', "a\nb"), ("##Inf", float("inf")),
])
def test_atoms_by_the_value_they_read_as(text, value):
    got = loads(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, error", [
    ("\n:", "line 2: empty keyword ':'"),
    ("\n+1x", "line 2: bad number +1x"), ("1x", "line 1: bad number 1x"), ("\n\n-2y", "line 3: bad number -2y"),
    ("1/0", "line 1: bad number 1/0"),
    ("\n]", "line 2: unexpected ']'"), ("\n\n##Foo", "line 3: unexpected '#'"),
    ("[1\n }", "line 2: expected ']', got '}'"), ("\n{1\n}", "line 2: a map needs an even number of forms"),
    ("\n{1 2", "line 2: { is never closed"), ("(1\n", "line 1: ( is never closed"),
    ("#_ 1", "line 1: unexpected end of input"), ("\n\n", "line 3: unexpected end of input"),
    ('[1 "a\\q"]', r"line 1: bad escape \q in a string"), ('\n"a\\q"', r"line 2: bad escape \q in a string"),
])
def test_each_error_says_what_and_on_which_line(text, error):
    assert error_of(loads, text) == error


def test_a_vector_key_of_a_lab_record_becomes_its_json():
    recs = read_edn("h.edn", '{:process 0, :type :ok, :f :read, :value {[1 "a"] 2, :b 3}}')
    assert recs[0]["value"] == {'[1, "a"]': 2, "b": 3}
    assert type(next(iter(recs[0]["value"]))) is str


def test_a_one_digit_signed_number_is_a_number():
    assert loads("-5") == -5 and loads("[-5 +7 -]") == [-5, 7, Symbol("-")]
