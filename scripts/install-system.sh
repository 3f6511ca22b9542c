#!/usr/bin/env bash
# Installs what the lab needs from Debian: Valkey (bookworm-backports on Debian 12,
# main on Debian 13+), and with --docker also docker.io + docker-compose (v1) and
# busybox-static for the offline image; and chromium (headless) for the browser test of the
# HTML report (tests/integration/test_html_report.py). Idempotent: installs only what is missing.
set -euo pipefail

want_docker=0
for arg in "$@"; do
  case "$arg" in
    --docker) want_docker=1 ;;
    *) echo "install-system.sh: unknown option '$arg' (use --docker)" >&2; exit 2 ;;
  esac
done

. /etc/os-release
codename="${VERSION_CODENAME:-unknown}"

missing=()
for cmd in valkey-server valkey-sentinel valkey-cli; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
py_pkgs=()
# Debian splits venv/ensurepip out of python3; the Makefile's .venv needs them.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || py_pkgs+=(python3-venv)
# The HTML report's browser test: headless chromium and a font to render text with.
browser_pkgs=()
command -v chromium >/dev/null 2>&1 || browser_pkgs+=(chromium fonts-liberation fonts-dejavu-core)
docker_pkgs=()
if [ "$want_docker" = 1 ]; then
  command -v dockerd >/dev/null 2>&1 || docker_pkgs+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker_pkgs+=(docker-compose)
  dpkg -s busybox-static >/dev/null 2>&1 || docker_pkgs+=(busybox-static)
fi

if [ "${#missing[@]}" = 0 ] && [ "${#docker_pkgs[@]}" = 0 ] && [ "${#py_pkgs[@]}" = 0 ] \
    && [ "${#browser_pkgs[@]}" = 0 ]; then
  exit 0
fi

valkey_apt=""
[ "${#missing[@]}" = 0 ] || valkey_apt="valkey-server valkey-sentinel valkey-tools"

if [ "$(id -u)" != 0 ]; then
  echo "Missing: ${missing[*]} ${py_pkgs[*]} ${docker_pkgs[*]} ${browser_pkgs[*]}. Run as root, or run these first:" >&2
  if [ -n "$valkey_apt" ] && [ "$codename" = bookworm ]; then
    echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' | sudo tee /etc/apt/sources.list.d/bookworm-backports.list" >&2
    echo "  sudo apt-get update && sudo apt-get install -y -t bookworm-backports $valkey_apt" >&2
  elif [ -n "$valkey_apt" ]; then
    echo "  sudo apt-get update && sudo apt-get install -y $valkey_apt" >&2
  fi
  [ "${#py_pkgs[@]}${#docker_pkgs[@]}" = 00 ] || echo "  sudo apt-get install -y ${py_pkgs[*]} ${docker_pkgs[*]}" >&2
  [ "${#browser_pkgs[@]}" = 0 ] || echo "  sudo apt-get install -y --no-install-recommends ${browser_pkgs[*]}" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
# Keep Debian's postinst from starting a system valkey on 6379 (no init system here anyway).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT

target=()
if [ -n "$valkey_apt" ] && [ "$codename" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' \
      >/etc/apt/sources.list.d/bookworm-backports.list
  fi
  target=(-t bookworm-backports)
fi
apt-get update -qq
if [ -n "$valkey_apt" ]; then
  # shellcheck disable=SC2086
  apt-get install -y -qq "${target[@]}" $valkey_apt >/dev/null
fi
if [ "${#py_pkgs[@]}" != 0 ] || [ "${#docker_pkgs[@]}" != 0 ]; then
  apt-get install -y -qq "${py_pkgs[@]}" "${docker_pkgs[@]}" >/dev/null
fi
if [ "${#browser_pkgs[@]}" != 0 ]; then
  apt-get install -y -qq --no-install-recommends "${browser_pkgs[@]}" >/dev/null
fi
echo "installed: ${valkey_apt} ${py_pkgs[*]} ${docker_pkgs[*]} ${browser_pkgs[*]}"
