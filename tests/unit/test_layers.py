"""The layout is the architecture: every import inside the package goes down a floor (or
stays on its own), and no two folders import each other. Drawn from the code itself."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "app" / "valkey_lab"

# Lowest floor first. A folder (or top-level module) may import its own floor and below.
FLOORS = [
    {"util", "history", "clients"},
    {"loop", "generators"},
    {"backends", "nemesis", "workload"},
    {"topology", "report"},
    {"checkers"},
    {"runner"},
    {"bench"},
    {"ha", "cluster"},
    {"bench_cli", "pytest_plugin"},
]
FLOOR = {unit: i for i, units in enumerate(FLOORS) for unit in units}


def unit_of(module: str) -> str:
    """valkey_lab.ha.checks -> ha; valkey_lab.util -> util."""
    return module.split(".")[1]


def package_imports() -> list[tuple[str, str, str]]:
    """(file, importing unit, imported unit) for every valkey_lab import, nested ones too."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        here = ".".join(rel.with_suffix("").parts)
        if here.endswith(".__init__"):
            here = here[: -len(".__init__")]
        if here == "valkey_lab":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("valkey_lab"):
                names = [node.module] if node.module != "valkey_lab" else [f"valkey_lab.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("valkey_lab.")]
            out += [(str(rel), unit_of(here), unit_of(n)) for n in names]
    return out


def test_every_unit_has_a_floor():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert units - set(FLOOR) == set(), "put the new folder on a floor in FLOORS"


def test_no_import_runs_back_up():
    up = [f"{f}: {a} (floor {FLOOR[a]}) imports {b} (floor {FLOOR[b]})"
          for f, a, b in package_imports() if FLOOR[b] > FLOOR[a]]
    assert up == []


def test_no_cycle_between_folders():
    edges = {(a, b) for _, a, b in package_imports() if a != b}
    both = sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges})
    assert both == []
