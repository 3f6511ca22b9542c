"""Render the config templates for local processes.

The templates are package data, in ``valkey_lab/config/`` (app/valkey_lab/config/ in the
checkout), read through importlib.resources, so an installed package finds them too. The
compose files mount that same directory, and the containers render it with its
docker-entrypoint.sh; both replace the same ``${NAME}`` placeholders, so a setting changed
in a template changes both backends. Nothing here reads a file at import.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterator, Mapping, Optional

CONFIG_DIR: Traversable = files("valkey_lab") / "config"  # a plain directory once installed from a wheel
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
# Settings changed for local processes (the bench's sweeps): "FILE:DIRECTIVE=VALUE" items
# separated by ";", e.g. "ha/sentinel.conf:down-after-milliseconds=1000;cluster/node.conf:
# cluster-ping-interval=100". A Sentinel per-master directive is named without "sentinel".
OVERRIDES_ENV = "VALKEY_LAB_SET"


def overrides(relative: str) -> dict[str, str]:
    """The directives $VALKEY_LAB_SET changes in ``config/<relative>``."""
    out = {}
    for item in filter(None, (i.strip() for i in os.environ.get(OVERRIDES_ENV, "").split(";"))):
        where, _, setting = item.partition(":")
        name, _, value = setting.partition("=")
        if where == relative and name and value:
            out[name.strip()] = value.strip()
    return out


def apply_overrides(text: str, settings: Mapping[str, str]) -> str:
    """Replace each directive's line (``name value`` or ``sentinel name <master> value``);
    append the directives the text lacks."""
    for name, value in settings.items():
        plain = re.compile(rf"^{re.escape(name)} .*$", re.M)
        sentinel = re.compile(rf"^(sentinel {re.escape(name)} \S+) .*$", re.M)
        if sentinel.search(text):
            text = sentinel.sub(lambda m: f"{m.group(1)} {value}", text)
        elif plain.search(text):
            text = plain.sub(lambda m: f"{name} {value}", text)
        else:
            text += f"{name} {value}\n"
    return text


def resource(relative: str) -> Traversable:
    """``config/<relative>`` (e.g. ``ha/sentinel.conf``) as a resource of the package."""
    return CONFIG_DIR.joinpath(*relative.split("/"))


def template(relative: str) -> str:
    """The text of ``config/<relative>``."""
    return resource(relative).read_text(encoding="utf-8")


@contextmanager
def script_path(relative: str) -> Iterator[Path]:
    """A file-system path of ``config/<relative>`` for ``sh`` to run (the file itself when the
    package is a directory, as it is once installed; a temporary copy otherwise)."""
    with as_file(resource(relative)) as path:
        yield Path(path)


def render(template: str, values: Mapping[str, object]) -> str:
    """Replace every ``${NAME}``; a placeholder without a value is an error, not a blank."""
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def render_file(relative: str, values: Mapping[str, object], replicaof: Optional[tuple[str, int]] = None,
                monitor: Optional[tuple[str, int]] = None) -> str:
    """Render ``config/<relative>``.

    ``replicaof`` appends the line the entrypoint appends from $REPLICAOF; ``monitor``
    points Sentinel's monitor line (written for Docker's ``valkey-master 6379``) elsewhere.
    """
    text = apply_overrides(render(template(relative), values), overrides(relative))
    if monitor is not None:
        text = re.sub(r"^(sentinel monitor \S+) \S+ \d+ (\d+)$",
                      lambda m: f"{m.group(1)} {monitor[0]} {monitor[1]} {m.group(2)}", text, flags=re.M)
    if replicaof is not None:
        text += f"replicaof {replicaof[0]} {replicaof[1]}\n"
    return text


def sentinel_setting(name: str, relative: str = "ha/sentinel.conf") -> str:
    """A per-master Sentinel setting as the template states it (e.g. down-after-milliseconds),
    or as $VALKEY_LAB_SET overrides it."""
    if name in overrides(relative):
        return overrides(relative)[name]
    for line in template(relative).splitlines():
        parts = line.split()
        if parts[:2] == ["sentinel", name]:
            return parts[-1]
    raise KeyError(name)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
