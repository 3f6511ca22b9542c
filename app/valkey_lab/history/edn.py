"""Histories on disk: Jepsen's EDN (read and write) and the lab's JSONL (read).

``read_history(path)`` returns lab records (plain dicts, see ``valkey_lab.history``) whatever
the format (.edn or .jsonl, either optionally gzipped): keywords become plain strings (``:ok`` -> ``"ok"``), integer processes are
``kind="client"``, any other process (``:nemesis``) ``kind="nemesis"``, and Jepsen's ``:time``
(nanoseconds) becomes seconds. ``write_edn(records, path)`` writes client and nemesis records
one op per line, as Jepsen does; meta and server records have no EDN equivalent and are left out.

A line that is not a history op raises ``HistoryFormatError`` naming the file and line.
"""
from __future__ import annotations

import gzip
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

# Each token carries the whitespace (commas, comments) after it, so findall does the scanning
# in C; a gap in the coverage means a character no token accepts.
_TOKEN = re.compile(r"""
    ( "(?:[^"\\]|\\.)*"
    | \#\{ | \#_ | \#\#(?:Inf|-Inf|NaN) | \#[A-Za-z][^\s,\[\](){}"]*
    | [\[\](){}]
    | \\(?:newline|space|tab|return|formfeed|backspace|u[0-9A-Fa-f]{4}|.)
    | [^\s,\[\](){}"\\;\#][^\s,\[\](){}"\\;]*
    )
    ((?:[\s,]+|;[^\n]*)*)
""", re.X | re.S)
_SPACE = re.compile(r"(?:[\s,]+|;[^\n]*)*")
_STR, _OPEN, _CLOSE, _DISCARD, _SPECIAL, _TAG, _CHAR, _ATOM = range(1, 9)
_KIND = {'"': _STR, "[": _OPEN, "(": _OPEN, "{": _OPEN, "]": _CLOSE, ")": _CLOSE, "}": _CLOSE, "\\": _CHAR}
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_RATIO = re.compile(r"([+-]?\d+)/(\d+)\Z")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_STR_ESC = re.compile(r'\\(u[0-9A-Fa-f]{4}|.)', re.S)
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "formfeed": "\f", "backspace": "\b"}
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_SPECIALS = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}


class _EdnError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _kind(tok: str) -> int:
    k = _KIND.get(tok[0])
    if k is not None:
        return k
    if tok[0] == "#":
        c2 = tok[1:2]
        return _OPEN if c2 == "{" else _DISCARD if c2 == "_" else _SPECIAL if c2 == "#" else _TAG
    return _ATOM


def _unescape(body: str, line: int) -> str:
    def sub(m):
        e = m.group(1)
        if e[0] == "u" and len(e) == 5:
            return chr(int(e[1:], 16))
        if e in _ESCAPES:
            return _ESCAPES[e]
        raise _EdnError(line, f"bad escape \\{e} in a string")
    return _STR_ESC.sub(sub, body)


def _atom(text: str, line: int) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        if len(text) == 1:
            raise _EdnError(line, "empty keyword ':'")
        return Keyword(text[1:])
    if _INT.match(text):
        return int(text.rstrip("N"))
    if _FLOAT.match(text):
        return float(text.rstrip("M"))
    m = _RATIO.match(text)
    if m and int(m.group(2)):
        return int(m.group(1)) / int(m.group(2))
    if text[0].isdigit() or (text[0] in "+-" and len(text) > 1 and text[1].isdigit()):
        raise _EdnError(line, f"bad number {text}")
    return Symbol(text)


class _Parser:
    """Recursive descent over the token list; tracks the line of each token. ``plain``:
    keywords become plain strings and tagged values dicts (what lab records want)."""

    def __init__(self, text: str, plain: bool = False):
        lead = _SPACE.match(text).end()
        self.toks = _TOKEN.findall(text, lead)
        if lead + sum(len(a) + len(b) for a, b in self.toks) != len(text):
            self._gap(text, lead)
        self.i = 0
        self.line = text.count("\n", 0, lead) + 1
        self.tok_line = self.line
        self.plain = plain
        self.atoms: dict[str, Any] = {}  # keywords and numbers repeat on every line

    def _gap(self, text: str, pos: int) -> None:
        for m in _TOKEN.finditer(text, pos):
            if m.start() != pos:
                break
            pos = m.end()
        line = text.count("\n", 0, pos) + 1
        raise _EdnError(line, "unterminated string" if text[pos] == '"' else f"unexpected {text[pos]!r}")

    def token(self):
        """(kind, text) of the next token, None at the end; ``tok_line`` is its line."""
        if self.i >= len(self.toks):
            return None
        tok, space = self.toks[self.i]
        self.i += 1
        self.tok_line = self.line
        if "\n" in space:
            self.line += space.count("\n")
        kind = _KIND.get(tok[0]) or _kind(tok)
        if kind == _STR and "\n" in tok:
            self.line += tok.count("\n")
        return kind, tok

    def form(self, tok=None) -> Any:
        tok = tok or self.token()
        if tok is None:
            raise _EdnError(self.line, "unexpected end of input")
        kind, text = tok
        if kind == _ATOM:
            try:
                return self.atoms[text]
            except KeyError:
                value = _atom(text, self.tok_line)
                if self.plain and isinstance(value, str):
                    value = str.__str__(value)
                self.atoms[text] = value
                return value
        if kind == _STR:
            return _unescape(text[1:-1], self.tok_line) if "\\" in text else text[1:-1]
        if kind == _OPEN:
            return self.collection(text)
        if kind == _CLOSE:
            raise _EdnError(self.tok_line, f"unexpected {text!r}")
        if kind == _DISCARD:
            self.form()
            return self.form()
        if kind == _SPECIAL:
            return _SPECIALS[text]  # the token only matches the three specials
        if kind == _TAG:
            value = self.form()
            if text in ("#inst", "#uuid") or isinstance(value, dict):
                return value
            return {"tag": text[1:], "value": value} if self.plain else _Tagged(text[1:], value)
        body = text[1:]  # a character
        return _CHARS.get(body) or (chr(int(body[1:], 16)) if len(body) == 5 and body[0] == "u" else body)

    def collection(self, opener: str) -> Any:
        closer = _CLOSERS[opener]
        line = self.tok_line
        items = []
        toks = self.toks
        form = self.form
        while True:
            if self.i >= len(toks):
                raise _EdnError(line, f"{opener} is never closed")
            tok, space = toks[self.i]
            c = tok[0]
            if c == closer:
                self.i += 1
                if "\n" in space:
                    self.line += space.count("\n")
                break
            tok = self.token()
            if tok[0] == _CLOSE:
                raise _EdnError(self.tok_line, f"expected {closer!r}, got {tok[1]!r}")
            if tok[0] == _DISCARD:
                form()
                continue
            items.append(form(tok))
        if opener == "{":
            if len(items) % 2:
                raise _EdnError(line, "a map needs an even number of forms")
            it = iter(items)
            return {(k if type(k) is str else self._key(k)): v for k, v in zip(it, it)}
        return items

    def _key(self, k: Any) -> Any:
        k = _hashable(k)
        return _plain_key(k) if self.plain else k


def _hashable(k: Any) -> Any:
    if isinstance(k, list):
        return tuple(_hashable(v) for v in k)
    if isinstance(k, dict):
        return tuple(sorted(((str(a), str(b)) for a, b in k.items())))
    return k


def loads(text: str) -> Any:
    """One EDN value (keywords stay ``Keyword``; vectors, lists and sets become lists)."""
    try:
        p = _Parser(text)
        value = p.form()
        if p.token() is not None:
            raise _EdnError(p.line, "more than one EDN value")
    except _EdnError as e:
        raise ValueError(f"line {e.line}: {e}") from None
    return value


def _plain_key(k: Any) -> Any:
    """A vector or map used as a map key, as a JSON string (lab records are JSON)."""
    return json.dumps(k, default=str) if isinstance(k, tuple) else k


def _snippet(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _record(rec: Any, path, line: int, source: str, expected: str) -> dict:
    """A lab record from one parsed op (EDN map or JSON object, already plain)."""
    if not isinstance(rec, dict):
        raise HistoryFormatError(path, line, f"{expected}, got {_snippet(source)}")
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


def read_edn(path: Union[str, Path], text: Optional[str] = None) -> list[dict]:
    return read_edn_lines(path, text)[0]


# The usual Jepsen line is a flat map of keywords to scalars, strings or vectors nested up to
# three deep (Jepsen's independent tuples: [k v], [k [old new]]): read those with two C-level
# regex passes; anything else goes through the full parser.
_SCALAR = r'(?:"(?:[^"\\]|\\.)*"|[^\s,\[\](){}"\\;#]+)'


def _vector(item: str) -> str:
    return rf'\[(?:[\s,]*(?:{item}))*[\s,]*\]'


_VEC2 = _vector(rf'{_SCALAR}|{_vector(_SCALAR)}')
_VALUE = rf'(?:{_SCALAR}|{_vector(rf"{_SCALAR}|{_VEC2}")})'
_PAIR = re.compile(rf':([^\s,\[\](){{}}"\\;#]+)[\s,]+({_VALUE})')
_FLAT = re.compile(rf'[\s,]*\{{(?:[\s,]*:[^\s,\[\](){{}}"\\;#]+[\s,]+{_VALUE})*[\s,]*\}}[\s,]*')
_ITEM = re.compile(rf'{_SCALAR}|{_VEC2}')  # the items of a vector, nested ones whole


def _flat_lines(text: str) -> Optional[list[tuple[dict, int, str]]]:
    """(map, line, source) per line when every non-blank line is one flat op map, else None."""
    atoms: dict[str, Any] = {}

    def value(v: str, line: int) -> Any:
        c = v[0]
        if c == '"':
            return _unescape(v[1:-1], line) if "\\" in v else v[1:-1]
        if c == "[":
            return [value(x, line) for x in _ITEM.findall(v, 1)]
        try:
            return atoms[v]
        except KeyError:
            x = _atom(v, line)
            x = atoms[v] = str.__str__(x) if isinstance(x, str) else x
            return x

    out = []
    for n, raw in enumerate(text.split("\n"), start=1):
        if not raw or raw.isspace():
            continue
        if _FLAT.fullmatch(raw) is None:
            return None
        out.append(({k: value(v, n) for k, v in _PAIR.findall(raw)}, n, raw))
    return out


def read_edn_lines(path: Union[str, Path], text: Optional[str] = None) -> tuple[list[dict], list[int]]:
    """Records and the line each starts on. One op map per line, or one vector of them."""
    if text is None:
        text = Path(path).read_text(encoding="utf-8")  # pragma: no mutate - codec names ignore case
    try:
        ops = _flat_lines(text)
    except _EdnError:
        ops = None  # the full parser says where
    try:
        if ops is None:
            ops = _forms(text)
    except _EdnError as e:
        raise HistoryFormatError(path, e.line, f"bad EDN: {e}") from None
    records, lines = [], []
    for op, line, source in ops:
        rec = _record(op, path, line, source, EXPECTED_EDN)
        t = rec.get("time")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            rec["time"] = t / 1e9  # Jepsen's time is in nanoseconds
        records.append(rec)
        lines.append(line)
    return records, lines


def _forms(text: str) -> list[tuple[Any, int, str]]:
    """(form, line, source) for each top-level form, or each element of one wrapping vector."""
    parser = _Parser(text, plain=True)
    out = []
    depth = 0  # 1: inside a [...] or (...) wrapping the whole history; 2: after it
    while True:
        tok = parser.token()
        if tok is None:
            if depth == 1:
                raise _EdnError(parser.line, "the history's opening bracket is never closed")
            return out
        kind, tok_text = tok
        if kind == _OPEN and tok_text in "[(" and depth == 0 and not out:
            depth = 1
            continue
        if kind == _CLOSE and depth == 1:
            depth = 2
            continue
        if depth == 2:
            raise _EdnError(parser.tok_line, f"unexpected {_snippet(tok_text)} after the history's closing bracket")
        if kind == _DISCARD:
            parser.form()
            continue
        line, first = parser.tok_line, parser.i - 1
        form = parser.form(tok)
        used = parser.toks[first:parser.i]
        out.append((form, line, "".join(a + b for a, b in used[:-1]) + used[-1][0]))


# ---------------------------------------------------------------- reading JSONL

def read_jsonl(path: Union[str, Path], text: Optional[str] = None) -> list[dict]:
    return read_jsonl_lines(path, text)[0]


def read_jsonl_lines(path: Union[str, Path], text: Optional[str] = None) -> tuple[list[dict], list[int]]:
    """The lab's history.jsonl: meta, client, nemesis and server records, one per line."""
    if text is None:
        text = Path(path).read_text(encoding="utf-8")  # pragma: no mutate - codec names ignore case
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
        if rec.get("kind") not in (None, "client", "nemesis"):
            records.append(rec)  # meta, server and other records: kept as is, checkers skip them
        else:
            records.append(_record(rec, path, n, raw, EXPECTED_JSON))
        lines.append(n)
    return records, lines


def read_history(path: Union[str, Path]) -> list[dict]:
    return read_history_lines(path)[0]


def read_history_lines(path: Union[str, Path]) -> tuple[list[dict], list[int]]:
    """EDN or JSONL by extension (.edn, .jsonl/.json, either optionally .gz), else by the
    first character."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gz":
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")  # pragma: no mutate - codec names ignore case
        except (OSError, EOFError) as e:
            raise HistoryFormatError(path, None, f"not a gzip file ({e})") from None
        suffix = Path(path.stem).suffix.lower()
    else:
        text = path.read_text(encoding="utf-8")  # pragma: no mutate - codec names ignore case
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
