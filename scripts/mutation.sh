#!/usr/bin/env bash
# Mutation testing of everything that reads or judges a history (`make mutation`): the
# history model, view and recorder, the generic checkers, and the scenarios' checks of both
# systems (ha/checks.py, cluster/checks.py). Every verdict is a pure function of a history,
# so the unit tests must notice when that code changes.
#
# mutmut 3 wants the mutated package importable from ./, src/ or source/, while the lab keeps
# it in app/. So the run happens in a throw-away stage outside the work tree:
#   STAGE/src/valkey_lab  <- a copy of app/valkey_lab (only MODULES are mutated), and app/*.py
#   STAGE/tests           <- the unit tests and tests/data; those matching TESTS_GLOBS (minus
#                            SKIP_TESTS) are the test set
#   STAGE/tests/conftest.py  <- Hypothesis derandomized; tests that depend on the clock deselected
#   STAGE/setup.cfg       <- the [mutmut] config (so no project config file is needed)
# mutmut runs, for each mutant, only the tests that called the mutated function.
#
# Output: first "files: <the mutated files>" on stdout, last
# "mutants: N, killed: K, timeout: T, survived: S" (a timeout is not a kill; a mutant no
# test reaches counts as survived). Exits 1 if more than MAX_SURVIVED_PCT % survive, more
# than MAX_TIMEOUT_PCT % time out or fewer than MIN_MUTANTS were made; 2 if the run broke.
# The survivors, with their diffs, go to SURVIVORS (default reports/mutation-survivors.txt).
# Env: PYTHON (default python3), JOBS (default: CPUs), MIN_MUTANTS (3000),
# MAX_SURVIVED_PCT (5), MAX_TIMEOUT_PCT (2), FILES (a subset of the files, e.g.
# "ha/checks.py"), KEEP_STAGE=1 keeps the stage (then `cd STAGE && python -m mutmut show NAME`).
set -euo pipefail

# Absolute before any cd: `make mutation` passes the relative .venv/bin/python. Symlinks are
# kept as they are (resolving a venv's python would leave the venv).
PYTHON=${PYTHON:-python3}
if [[ "$PYTHON" == */* ]]; then
    PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
else
    PYTHON=$(command -v "$PYTHON" || true)
fi
if [[ -z "$PYTHON" || ! -x "$PYTHON" ]]; then
    echo "mutation.sh: no python at PYTHON=${PYTHON:-?} (give an interpreter with the dev requirements)" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
ROOT=$PWD
MAX_SURVIVED_PCT=${MAX_SURVIVED_PCT:-5}
MAX_TIMEOUT_PCT=${MAX_TIMEOUT_PCT:-2}
MIN_MUTANTS=${MIN_MUTANTS:-3000}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SURVIVORS=${SURVIVORS:-$ROOT/reports/mutation-survivors.txt}

# What is mutated (paths under app/valkey_lab; globs allowed).
MODULES_GLOBS=(history/model.py history/view.py history/recorder.py history/edn.py checkers/*.py
               ha/checks.py cluster/checks.py)
# FILES="ha/checks.py" mutates only those (to work on their survivors; lower MIN_MUTANTS too).
if [[ -n "${FILES:-}" ]]; then read -r -a MODULES_GLOBS <<<"$FILES"; fi
NOT_MUTATED=(checkers/__init__.py checkers/cli.py)
# The tests that judge them (tests/unit; globs, so new test files join by their name).
TESTS_GLOBS=(test_history*.py test_recorder*.py test_journal*.py test_edn*.py test_verdict*.py test_loss*.py
             test_availability*.py test_topology_checkers*.py test_invariants*.py test_scenario*.py
             test_*checks*.py test_linearizable*.py test_recorded_histories*.py test_generated_recorded*.py
             test_tamper*.py test_pinned*.py)
# Out of the set: wall-clock asserts (a mutant must not be killed by a slow machine), and
# test_linearizable_classes.py, issue 13's end-to-end classes through check.py (2,000-op
# histories, worker processes, time and memory budgets: minutes per run).
SKIP_TESTS=(test_linearizable_speed.py '*_speed.py' test_linearizable_classes.py)

shopt -s nullglob
MODULES=()
for g in "${MODULES_GLOBS[@]}"; do
    for f in app/valkey_lab/$g; do
        m=${f#app/valkey_lab/}
        skip=0
        for x in "${NOT_MUTATED[@]}"; do [[ "$m" == $x ]] && skip=1; done
        [[ $skip == 1 || " ${MODULES[*]-} " == *" $m "* ]] || MODULES+=("$m")
    done
done
TESTS=()
for g in "${TESTS_GLOBS[@]}"; do
    for f in tests/unit/$g; do
        t=${f#tests/unit/}
        skip=0
        for x in "${SKIP_TESTS[@]}"; do [[ "$t" == $x ]] && skip=1; done
        [[ $skip == 1 || " ${TESTS[*]-} " == *" $t "* ]] || TESTS+=("$t")
    done
done
shopt -u nullglob
echo "files: ${MODULES[*]/#/app/valkey_lab/}"
echo "tests: ${TESTS[*]/#/tests/unit/}" >&2

want=$(sed -n 's/^mutmut==//p' requirements-mutation.txt)
have=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("mutmut"))' 2>/dev/null || true)
if [[ "$have" != "$want" ]]; then
    "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-mutation.txt >&2
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/valkey-lab-mutation.XXXXXX")
if [[ "${KEEP_STAGE:-0}" == 1 ]]; then echo "stage: $STAGE" >&2; else trap 'rm -rf "$STAGE"' EXIT; fi
mkdir -p "$STAGE/src" "$STAGE/tests/unit"
cp -r app/valkey_lab "$STAGE/src/valkey_lab"
cp app/*.py "$STAGE/src/"  # the spec's entry points (app/check.py ...), which tests import as pytest.ini allows
find "$STAGE/src" -name __pycache__ -prune -exec rm -rf {} +
cp tests/__init__.py tests/helpers.py "$STAGE/tests/"
cp -r tests/data "$STAGE/tests/data"
# Every unit test module is copied (tests import helpers from each other); only TESTS run.
cp tests/unit/*.py "$STAGE/tests/unit/"
[[ -f tests/conftest.py ]] && cp tests/conftest.py "$STAGE/tests/conftest.py"

# Determinism: Hypothesis derandomized (the same examples in every run and every mutant,
# no example database, no deadline, no health check that times the machine), and any test
# whose own body reads the clock, gives a search less than a second to run out, or measures
# the process's memory (which depends on what ran before it in mutmut's process) deselected:
# wall-clock and memory asserts belong in *_speed.py.
cat >>"$STAGE/tests/conftest.py" <<'EOF'

# ---- added by scripts/mutation.sh (the mutation stage only) ----
import inspect as _inspect
import os as _os
import re as _re
from pathlib import Path as _Path

# A test that starts Python in a subprocess (with 'app' on its path, as from the repo root)
# finds the stage's package: src/ next to this tests/ (mutmut's copy while it runs).
_SRC = str(_Path(__file__).resolve().parents[1] / "src")
_os.environ["PYTHONPATH"] = _os.pathsep.join(p for p in (_SRC, _os.environ.get("PYTHONPATH")) if p)

from hypothesis import HealthCheck as _HealthCheck, Phase as _Phase, settings as _settings

# No shrinking: a mutant is killed by the first failing example, a smaller one adds nothing.
_settings.register_profile("mutation", derandomize=True, database=None, deadline=None,
                           suppress_health_check=list(_HealthCheck), print_blob=False,
                           phases=[_Phase.explicit, _Phase.reuse, _Phase.generate])
_settings.load_profile("mutation")

_CLOCK = _re.compile(r"\b(?:time\.time|time\.monotonic|time\.perf_counter|perf_counter|monotonic)\s*\("
                     r"|timeout\s*=\s*0?\.\d*[1-9]|[\"']--timeout[\"'],\s*[\"']0?\.\d*[1-9]"
                     r"|\brss\s*\(|ru_maxrss|tracemalloc")


def pytest_collection_modifyitems(config, items):
    keep, clocked = [], []
    for item in items:
        try:
            source = _inspect.getsource(item.function)
        except (AttributeError, OSError, TypeError):
            source = ""
        (clocked if _CLOCK.search(source) else keep).append(item)
    if clocked:
        config.hook.pytest_deselected(items=clocked)
        items[:] = keep
        import sys
        print("mutation stage: deselected (they depend on the clock or the process's memory): "
              + " ".join(i.nodeid for i in clocked), file=sys.stderr)
EOF

# [tool:pytest] anchors pytest's rootdir in the stage: the project's pytest.ini (coverage
# options) must not apply, and the tests import valkey_lab from src/ (mutmut's copy).
# mutmut starts pytest once per mutant, so its fixed cost counts: the unraisable-exception
# plugin alone runs a full gc.collect() per start (half of it), and coverage and timeouts
# are unused here.
{
    echo "[tool:pytest]"
    echo "addopts = -p no:cacheprovider -p no:unraisableexception -p no:threadexception -p no:pytest_cov -p no:timeout"
    echo "pythonpath = src"
    echo
    echo "[mutmut]"
    echo "source_paths = src"
    echo "only_mutate ="
    for m in "${MODULES[@]}"; do echo "    src/valkey_lab/$m"; done
    echo "pytest_add_cli_args_test_selection ="
    for t in "${TESTS[@]}"; do echo "    tests/unit/$t"; done
} >"$STAGE/setup.cfg"

# A broken baseline would make every mutant look killed.
echo "baseline: the test set on the unmutated code" >&2
if ! (cd "$STAGE" && "$PYTHON" -m pytest -q -p no:randomly "${TESTS[@]/#/tests/unit/}") >"$STAGE/baseline.log" 2>&1; then
    tail -n 40 "$STAGE/baseline.log" >&2
    echo "mutation.sh: the test set fails on the unmutated code (above): fix that first" >&2
    exit 2
fi
tail -n 1 "$STAGE/baseline.log" >&2

# CPU seconds of this shell's finished children: `times` runs in this shell (in a pipe or
# $(...) it would run in a subshell, which has no children), the sum is read from the file.
cpu_seconds() {
    tail -n 1 "$STAGE/times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } print int(n) }'
}
started=$(date +%s)
times >"$STAGE/times"
cpu0=$(cpu_seconds)
# mutmut imported as a module, not run as __main__ (python -m would execute it twice).
(cd "$STAGE" && "$PYTHON" -c 'import sys; from mutmut.__main__ import cli; sys.argv[0] = "mutmut"; cli()' \
    run --max-children "$JOBS") >"$STAGE/mutmut.log" 2>&1 || {
    tail -n 40 "$STAGE/mutmut.log" >&2
    echo "mutation.sh: mutmut run failed (log above)" >&2
    exit 2
}
# Wall time depends on what else the machine runs; CPU time (all workers) much less.
wall_s=$(($(date +%s) - started))
times >"$STAGE/times"
cpu_s=$(($(cpu_seconds) - cpu0))
echo "mutmut run: $((wall_s / 60)) min $((wall_s % 60)) s wall, $((cpu_s / 60)) min CPU, JOBS=$JOBS" >&2

# Count from mutmut's per-file results.
mkdir -p "$(dirname "$SURVIVORS")"
cd "$STAGE"
"$PYTHON" - "$MAX_SURVIVED_PCT" "$MAX_TIMEOUT_PCT" "$MIN_MUTANTS" "$SURVIVORS" <<'EOF'
import json, sys
from collections import Counter
from pathlib import Path
from mutmut.stats import status_by_exit_code

max_survived, max_timeout, min_mutants, out = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
KILLED = {"killed", "segfault", "caught by type check"}
TIMEOUT = {"timeout"}
SURVIVED = {"survived", "no tests", "suspicious"}
killed, timeout, survived, unchecked = 0, [], [], []
per_file: Counter = Counter()
for meta in sorted(Path("mutants").rglob("*.py.meta")):
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        if status in KILLED:
            killed += 1
        elif status in TIMEOUT:
            timeout.append(f"{status}: {name}")
        elif status in SURVIVED:
            survived.append(f"{status}: {name}")
            per_file[str(meta.relative_to("mutants/src"))[:-len(".meta")]] += 1
        elif status != "skipped":
            unchecked.append(f"{status}: {name}")
for line in timeout + survived + unchecked:
    print("  " + line, file=sys.stderr)
for path, n in sorted(per_file.items()):
    print(f"survived in {path}: {n}", file=sys.stderr)
if survived or timeout:
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
        with open(out, "w") as fh:
            for line in survived + timeout:
                name = line.split(": ", 1)[1]
                try:
                    diff = get_diff_for_mutant(name)
                except Exception as e:  # the list matters more than one diff
                    diff = f"(no diff: {e})"
                fh.write(f"# {line}\n{diff}\n\n")
        print(f"survivors and timeouts with their diffs: {out}", file=sys.stderr)
    except Exception as e:
        print(f"could not write {out}: {e}", file=sys.stderr)
n = killed + len(timeout) + len(survived)
problems = []
if unchecked:
    problems.append(f"{len(unchecked)} mutants were not checked")
if n < min_mutants:
    problems.append(f"fewer than {min_mutants} mutants ({n}): is the stage right?")
if len(survived) * 100 > max_survived * n:
    problems.append(f"more than {max_survived:g} % survived ({len(survived) * 100 / n:.1f} %)")
if len(timeout) * 100 > max_timeout * n:
    problems.append(f"more than {max_timeout:g} % timed out ({len(timeout) * 100 / n:.1f} %)")
for p in problems:
    print("FAIL: " + p, file=sys.stderr)
sys.stderr.flush()
print(f"mutants: {n}, killed: {killed}, timeout: {len(timeout)}, survived: {len(survived)}", flush=True)  # the last line
sys.exit(1 if problems else 0)
EOF
