"""Render the config templates under config/ for local processes.

The containers render the same files with config/docker-entrypoint.sh; both replace the
same ``${NAME}`` placeholders, so a setting changed in a template changes both backends.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Optional

from valkey_lab.util import REPO_ROOT

CONFIG_DIR = REPO_ROOT / "config"
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


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
    text = render((CONFIG_DIR / relative).read_text(), values)
    if monitor is not None:
        text = re.sub(r"^(sentinel monitor \S+) \S+ \d+ (\d+)$",
                      lambda m: f"{m.group(1)} {monitor[0]} {monitor[1]} {m.group(2)}", text, flags=re.M)
    if replicaof is not None:
        text += f"replicaof {replicaof[0]} {replicaof[1]}\n"
    return text


def sentinel_setting(name: str, relative: str = "ha/sentinel.conf") -> str:
    """A per-master Sentinel setting as the template states it (e.g. down-after-milliseconds)."""
    for line in (CONFIG_DIR / relative).read_text().splitlines():
        parts = line.split()
        if parts[:2] == ["sentinel", name]:
            return parts[-1]
    raise KeyError(name)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
