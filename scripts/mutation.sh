#!/usr/bin/env bash
# Mutation testing of the history model and the checkers (`make mutation`): every verdict
# is a pure function of a history, so its unit tests must notice when the code changes.
#
# mutmut 3 wants the mutated package importable from ./, src/ or source/, while the lab keeps
# it in app/. So the run happens in a throw-away stage outside the work tree:
#   STAGE/src/valkey_lab  <- a copy of app/valkey_lab (only the files below are mutated)
#   STAGE/tests/unit      <- only the unit tests of those files (fast)
#   STAGE/setup.cfg       <- the [mutmut] config (so no project config file is needed)
# Last line: "mutants: N, killed: K, survived: S". Exits non-zero if more than
# MAX_SURVIVED_PCT % survive (or fewer than MIN_MUTANTS were made, or the run broke).
# Env: PYTHON (default python3), JOBS (default: CPUs), KEEP_STAGE=1 keeps the stage.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
MAX_SURVIVED_PCT=${MAX_SURVIVED_PCT:-10}
MIN_MUTANTS=${MIN_MUTANTS:-50}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

MODULES=(history/model.py checkers/loss.py checkers/availability.py checkers/topology.py checkers/verdict.py)
TESTS=(test_history_model.py test_loss.py test_availability.py test_topology_checkers.py test_verdict.py test_linearizable_mutants.py)

want=$(sed -n 's/^mutmut==//p' requirements-mutation.txt)
have=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("mutmut"))' 2>/dev/null || true)
if [[ "$have" != "$want" ]]; then
    "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-mutation.txt >&2
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/valkey-lab-mutation.XXXXXX")
if [[ "${KEEP_STAGE:-0}" == 1 ]]; then echo "stage: $STAGE" >&2; else trap 'rm -rf "$STAGE"' EXIT; fi
mkdir -p "$STAGE/src" "$STAGE/tests/unit"
cp -r app/valkey_lab "$STAGE/src/valkey_lab"
find "$STAGE/src" -name __pycache__ -prune -exec rm -rf {} +
touch "$STAGE/tests/__init__.py" "$STAGE/tests/unit/__init__.py"
for t in "${TESTS[@]}"; do cp "tests/unit/$t" "$STAGE/tests/unit/"; done

# [tool:pytest] anchors pytest's rootdir in the stage: the project's pytest.ini (coverage
# options) must not apply, and the tests import valkey_lab from src/ (mutmut's copy).
write_cfg() {
    {
        echo "[tool:pytest]"
        echo "addopts = -p no:cacheprovider"
        echo "pythonpath = src"
        echo
        echo "[mutmut]"
        echo "source_paths = src"
        echo "only_mutate ="
        for m in "${MODULES[@]}"; do echo "    src/valkey_lab/$m"; done
        echo "pytest_add_cli_args_test_selection ="
        for t in "${TESTS[@]}"; do echo "    tests/unit/$t"; done
    } >"$STAGE/setup.cfg"
}
write_cfg

# Another helper's linearizability checker joins once it exists and its tests pass.
if [[ -f app/valkey_lab/checkers/linearizable.py && -f tests/unit/test_linearizable.py ]]; then
    cp tests/unit/test_linearizable.py "$STAGE/tests/unit/"
    if (cd "$STAGE" && "$PYTHON" -m pytest -q tests/unit/test_linearizable.py >/dev/null 2>&1); then
        MODULES+=(checkers/linearizable.py)
        TESTS+=(test_linearizable.py)
        write_cfg
    else
        echo "linearizable.py left out: tests/unit/test_linearizable.py does not pass" >&2
        rm "$STAGE/tests/unit/test_linearizable.py"
    fi
elif [[ -f app/valkey_lab/checkers/linearizable.py ]]; then
    echo "linearizable.py left out: it has no tests/unit/test_linearizable.py yet" >&2
fi
echo "mutating: ${MODULES[*]}" >&2

# A broken baseline would make every mutant look killed.
(cd "$STAGE" && "$PYTHON" -m pytest -q "${TESTS[@]/#/tests/unit/}") >&2

(cd "$STAGE" && "$PYTHON" -m mutmut run --max-children "$JOBS") >"$STAGE/mutmut.log" 2>&1 || {
    tail -n 40 "$STAGE/mutmut.log" >&2
    echo "mutmut run failed (log above)" >&2
    exit 2
}

# Count from mutmut's per-file results. Timeouts count as killed: a mutant that makes the
# tests hang was noticed. Mutants no test reaches count as survived.
cd "$STAGE"
"$PYTHON" - "$MAX_SURVIVED_PCT" "$MIN_MUTANTS" <<'EOF'
import json, sys
from pathlib import Path
from mutmut.stats import status_by_exit_code

max_pct, min_mutants = float(sys.argv[1]), int(sys.argv[2])
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}
killed, survived, unchecked = 0, [], []
for meta in sorted(Path("mutants").rglob("*.py.meta")):
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        if status in KILLED:
            killed += 1
        elif status in SURVIVED:
            survived.append(f"{status}: {name}")
        elif status != "skipped":
            unchecked.append(f"{status}: {name}")
for line in survived + unchecked:
    print("  " + line, file=sys.stderr)
n = killed + len(survived)
if survived:
    print("see one with: KEEP_STAGE=1, then (cd STAGE && mutmut show NAME)", file=sys.stderr)
problems = []
if unchecked:
    problems.append(f"{len(unchecked)} mutants were not checked")
if n < min_mutants:
    problems.append(f"fewer than {min_mutants} mutants: is the stage right?")
if len(survived) * 100 > max_pct * n:
    problems.append(f"more than {max_pct:g} % survived")
for p in problems:
    print("FAIL: " + p, file=sys.stderr)
sys.stderr.flush()
print(f"mutants: {n}, killed: {killed}, survived: {len(survived)}", flush=True)  # the last line
sys.exit(1 if problems else 0)
EOF
