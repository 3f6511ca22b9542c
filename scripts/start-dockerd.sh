#!/usr/bin/env bash
# Starts a Docker engine when none answers (CI and fresh machines have the CLI but no
# engine running). Waits, with a deadline, until `docker info` answers.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd not installed: run 'bash scripts/install-system.sh --docker' as root" >&2; exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "No Docker engine answers; start one (e.g. 'sudo dockerd &') and retry" >&2; exit 2
fi
log=${DOCKERD_LOG:-/var/log/dockerd-lab.log}
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { echo "dockerd started (log: $log)"; exit 0; }
  sleep 0.5
done
echo "dockerd did not answer within 30 s; see $log" >&2
tail -20 "$log" >&2
exit 1
