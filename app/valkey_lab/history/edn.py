"""Histories on disk: Jepsen's EDN (read and write) and the lab's JSONL (read).

``read_history(path)`` returns lab records (plain dicts, see ``valkey_lab.history``) whatever
the format: keywords become plain strings (``:ok`` -> ``"ok"``), integer processes are
``kind="client"``, any other process (``:nemesis``) ``kind="nemesis"``, and Jepsen's ``:time``
(nanoseconds) becomes seconds. ``write_edn(records, path)`` writes client and nemesis records
one op per line, as Jepsen does; meta and server records have no EDN equivalent and are left out.

A line that is not a history op raises ``HistoryFormatError`` naming the file and line.
"""
from __future__ import annotations

import bisect
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Optional, Union

EXPECTED_EDN = "expected a map like {:process 0, :type :ok, :f :read, :value 1}"
EXPECTED_JSON = 'expected a JSON object like {"kind": "client", "process": 0, "type": "ok", "f": "read", ...}'
TYPES = ("invoke", "ok", "fail", "info")


class HistoryFormatError(ValueError):
    """A history file that cannot be read; the message starts with ``file:line:``."""

    def __init__(self, path: Union[str, Path, None], line: Optional[int], message: str):
        where = Path(path).name if path is not None else "<history>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}")
        self.path, self.line = path, line


class Keyword(str):
    """An EDN keyword; equal to its name as a plain string."""

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


class Symbol(str):
    def __repr__(self) -> str:
        return str.__str__(self)


class _Tagged:
    def __init__(self, tag: str, value: Any):
        self.tag, self.value = tag, value


# ---------------------------------------------------------------- reading EDN

_TOKEN = re.compile(r'''
    (?P<ws>(?:[\s,]+|;[^\n]*)+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<open>\#\{|[\[({])
  | (?P<close>[\])}])
  | (?P<discard>\#_)
  | (?P<special>\#\#(?:Inf|-Inf|NaN))
  | (?P<tag>\#[A-Za-z][^\s,\[\](){}"]*)
  | (?P<char>\\(?:newline|space|tab|return|formfeed|backspace|u[0-9A-Fa-f]{4}|.))
  | (?P<atom>[^\s,\[\](){}"\\;]+)
''', re.X | re.S)
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_RATIO = re.compile(r"([+-]?\d+)/(\d+)\Z")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_STR_ESC = re.compile(r'\\(u[0-9A-Fa-f]{4}|.)', re.S)
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "formfeed": "\f", "backspace": "\b"}
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}


class _EdnError(Exception):
    def __init__(self, pos: int, message: str):
        super().__init__(message)
        self.pos = pos


def _unescape(body: str, pos: int) -> str:
    def sub(m):
        e = m.group(1)
        if e[0] == "u" and len(e) == 5:
            return chr(int(e[1:], 16))
        if e in _ESCAPES:
            return _ESCAPES[e]
        raise _EdnError(pos, f"bad escape \\{e} in a string")
    return _STR_ESC.sub(sub, body) if "\\" in body else body


def _atom(text: str, pos: int) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        if len(text) == 1:
            raise _EdnError(pos, "empty keyword ':'")
        return Keyword(text[1:])
    if _INT.match(text):
        return int(text.rstrip("N"))
    if _FLOAT.match(text):
        return float(text.rstrip("M"))
    m = _RATIO.match(text)
    if m:
        return int(m.group(1)) / int(m.group(2))
    if text[0].isdigit() or (text[0] in "+-" and len(text) > 1 and text[1].isdigit()):
        raise _EdnError(pos, f"bad number {text}")
    return Symbol(text)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def token(self):
        """Next (kind, text, start) skipping whitespace and comments; None at the end."""
        text = self.text
        while self.pos < len(text):
            m = _TOKEN.match(text, self.pos)
            if m is None:
                c = text[self.pos]
                raise _EdnError(self.pos, "unterminated string" if c == '"' else f"unexpected {c!r}")
            self.pos = m.end()
            kind = m.lastgroup
            if kind != "ws":
                return kind, m.group(), m.start()
        return None

    def form(self, tok=None) -> Any:
        tok = tok or self.token()
        if tok is None:
            raise _EdnError(len(self.text), "unexpected end of input")
        kind, text, start = tok
        if kind == "atom":
            return _atom(text, start)
        if kind == "str":
            return _unescape(text[1:-1], start)
        if kind == "open":
            return self.collection(text, start)
        if kind == "close":
            raise _EdnError(start, f"unexpected {text!r}")
        if kind == "discard":
            self.form()
            return self.form()
        if kind == "special":
            return {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}[text]
        if kind == "tag":
            value = self.form()
            return value if text in ("#inst", "#uuid") or isinstance(value, dict) else _Tagged(text[1:], value)
        if kind == "char":
            body = text[1:]
            return _CHARS.get(body) or (chr(int(body[1:], 16)) if len(body) == 5 and body[0] == "u" else body)
        raise _EdnError(start, f"unexpected {text!r}")  # pragma: no cover

    def collection(self, opener: str, start: int) -> Any:
        closer = _CLOSERS[opener]
        items = []
        while True:
            tok = self.token()
            if tok is None:
                raise _EdnError(start, f"{opener} is never closed")
            if tok[0] == "close":
                if tok[1] != closer:
                    raise _EdnError(tok[2], f"expected {closer!r}, got {tok[1]!r}")
                break
            if tok[0] == "discard":
                self.form()
                continue
            items.append(self.form(tok))
        if opener == "{":
            if len(items) % 2:
                raise _EdnError(start, "a map needs an even number of forms")
            return {_hashable(k): v for k, v in zip(items[::2], items[1::2])}
        if opener == "#{":
            return [v for v in items]
        return items


def _hashable(k: Any) -> Any:
    if isinstance(k, list):
        return tuple(_hashable(v) for v in k)
    if isinstance(k, dict):
        return tuple(sorted(((str(a), str(b)) for a, b in k.items())))
    return k


def loads(text: str) -> Any:
    """One EDN value (keywords stay ``Keyword``; vectors, lists and sets become lists)."""
    p = _Parser(text)
    value = p.form()
    if p.token() is not None:
        raise ValueError("more than one EDN value")
    return value


def _plain(value: Any) -> Any:
    """Keywords and symbols to plain strings, collections to lists and dicts, for lab records."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {(_plain(k) if isinstance(k, str) else _plain_key(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, _Tagged):
        return {"tag": value.tag, "value": _plain(value.value)}
    return value


def _plain_key(k: Any) -> Any:
    return json.dumps(_plain(list(k))) if isinstance(k, tuple) else k


def _snippet(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _record(op: Any, path, line: int, source: str, expected: str) -> dict:
    """A lab record from one parsed op (EDN map or JSON object)."""
    if not isinstance(op, dict):
        raise HistoryFormatError(path, line, f"{expected}, got {_snippet(source)}")
    rec = _plain(op)
    if "process" not in rec or "type" not in rec or "f" not in rec:
        missing = ", ".join(k for k in ("process", "type", "f") if k not in rec)
        raise HistoryFormatError(path, line, f"{expected}, got {_snippet(source)} (no {missing})")
    if rec["type"] not in TYPES:
        raise HistoryFormatError(path, line, f"type must be one of {', '.join(TYPES)}, got {_snippet(source)}")
    p = rec["process"]
    client = isinstance(p, int) and not isinstance(p, bool)
    kind = rec.get("kind") or ("client" if client else "nemesis")
    if kind == "client" and not client:
        raise HistoryFormatError(path, line, f"a client op needs an integer process, got {_snippet(source)}")
    rec["kind"] = kind
    return rec


def _line_of(newlines: list[int], pos: int) -> int:
    return bisect.bisect_right(newlines, pos - 1) + 1


def read_edn(path: Union[str, Path], text: Optional[str] = None) -> list[dict]:
    return read_edn_lines(path, text)[0]


def read_edn_lines(path: Union[str, Path], text: Optional[str] = None) -> tuple[list[dict], list[int]]:
    """Records and the line each starts on. One op map per line, or one vector of them."""
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    newlines = [m.start() for m in re.finditer("\n", text)]
    parser = _Parser(text)
    records, lines = [], []
    depth = 0  # inside a top-level [...] or (...) wrapping the whole history
    try:
        while True:
            tok = parser.token()
            if tok is None:
                if depth == 1:
                    raise _EdnError(len(text), "the history's [ is never closed")
                break
            kind, tok_text, start = tok
            if kind == "open" and tok_text in "[(" and depth == 0 and not records:
                depth = 1
                continue
            if kind == "close" and depth == 1:
                depth = 2  # only whitespace may follow
                continue
            if depth == 2:
                raise _EdnError(start, f"unexpected {_snippet(tok_text)} after the history's closing bracket")
            if kind == "discard":
                parser.form()
                continue
            op = parser.form(tok)
            line = _line_of(newlines, start)
            rec = _record(op, path, line, text[start:parser.pos], EXPECTED_EDN)
            t = rec.get("time")
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                rec["time"] = t / 1e9  # Jepsen's time is in nanoseconds
            records.append(rec)
            lines.append(line)
    except _EdnError as e:
        raise HistoryFormatError(path, _line_of(newlines, e.pos), f"bad EDN: {e}") from None
    return records, lines


# ---------------------------------------------------------------- reading JSONL

def read_jsonl(path: Union[str, Path], text: Optional[str] = None) -> list[dict]:
    return read_jsonl_lines(path, text)[0]


def read_jsonl_lines(path: Union[str, Path], text: Optional[str] = None) -> tuple[list[dict], list[int]]:
    """The lab's history.jsonl: meta, client, nemesis and server records, one per line."""
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    records, lines = [], []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as e:
            raise HistoryFormatError(path, n, f"{EXPECTED_JSON}, got {_snippet(raw)} ({e.msg})") from None
        if not isinstance(rec, dict):
            raise HistoryFormatError(path, n, f"{EXPECTED_JSON}, got {_snippet(raw)}")
        if rec.get("kind") in ("meta", "server") or (rec.get("kind") is not None and "type" not in rec):
            records.append(rec)  # not an op: kept as is, checkers skip it
        else:
            records.append(_record(rec, path, n, raw, EXPECTED_JSON))
        lines.append(n)
    return records, lines


def read_history(path: Union[str, Path]) -> list[dict]:
    return read_history_lines(path)[0]


def read_history_lines(path: Union[str, Path]) -> tuple[list[dict], list[int]]:
    """EDN or JSONL by extension (.edn, .jsonl/.json), else by the first character."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".edn":
        return read_edn_lines(path, text)
    if suffix in (".jsonl", ".json", ".ndjson"):
        return read_jsonl_lines(path, text)
    head = text.lstrip()[:2]
    if head.startswith("[") or head.startswith("{:") or head.startswith(";"):
        return read_edn_lines(path, text)
    return read_jsonl_lines(path, text)


# ---------------------------------------------------------------- writing EDN

_KEYWORD = re.compile(r"[A-Za-z*+!_?<>=-][A-Za-z0-9*+!_?<>=./-]*\Z")
_FIRST = ("process", "type", "f", "key", "value", "time", "index")
_SKIP = {"kind"}


def _edn_string(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", out) + '"'


def _is_keyword_name(s: Any) -> bool:
    return isinstance(s, str) and bool(_KEYWORD.match(s)) and s not in ("nil", "true", "false") \
        and not re.match(r"[+-]?\d", s)


def dumps(value: Any) -> str:
    """One value as EDN: str -> string (Keyword -> keyword), list/tuple -> vector, None -> nil."""
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Keyword):
        return ":" + str.__str__(value)
    if isinstance(value, str):
        return _edn_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "##NaN"
        if math.isinf(value):
            return "##Inf" if value > 0 else "##-Inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(dumps(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "#{" + " ".join(dumps(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dump_key(k)} {dumps(v)}" for k, v in value.items()) + "}"
    return _edn_string(str(value))


def _dump_key(k: Any) -> str:
    return ":" + k if _is_keyword_name(k) else dumps(k)


def op_to_edn(rec: dict, index: int) -> str:
    """One Jepsen op line: keywords for process (nemesis), type and f; time in nanoseconds."""
    parts = []
    client = rec.get("kind", "client") == "client"
    for name in _FIRST:
        if name == "index":
            parts.append(f":index {index}")
            continue
        if name not in rec:
            continue
        v = rec[name]
        if name == "process" and not client:
            v = Keyword(v if _is_keyword_name(v) else "nemesis")
        elif name in ("type", "f") and _is_keyword_name(v):
            v = Keyword(v)
        elif name == "time" and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = round(v * 1e9)
        parts.append(f":{name} {dumps(v)}")
    for name, v in rec.items():
        if name not in _FIRST and name not in _SKIP:
            parts.append(f"{_dump_key(name)} {dumps(v)}")
    return "{" + ", ".join(parts) + "}"


def edn_lines(records: Iterable[dict]) -> Iterable[str]:
    index = 0
    for rec in records:
        if rec.get("kind", "client") not in ("client", "nemesis") or "type" not in rec:
            continue
        yield op_to_edn(rec, index)
        index += 1


def write_edn(records: Iterable[dict], path: Union[str, Path]) -> Path:
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        for line in edn_lines(records):
            out.write(line + "\n")
    return path
