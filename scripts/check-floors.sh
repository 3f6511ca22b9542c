#!/usr/bin/env bash
# Installs the LOWEST versions app/requirements.txt allows into a scratch venv and runs the
# unit tests and one real HA scenario with them: the floors written there are checked, not guessed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d /tmp/valkey-lab-floors.XXXXXX)
trap 'rm -rf "$venv"' EXIT
floors=$(sed -n 's/^\([a-z0-9-]*\)>=\([0-9.]*\).*/\1==\2/p' app/requirements.txt)
echo "floors: $(echo $floors)"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check $floors pytest hypothesis
"$venv/bin/python" -m pytest -q -p no:cacheprovider -o addopts='' tests/unit
"$venv/bin/python" app/ha_test.py --backend local --base-port 6590 --scenario crud --quiet
"$venv/bin/python" app/cluster_test.py --backend local --base-port 7590 --scenario topology --quiet
echo "floors OK: $(echo $floors)"
