#!/bin/sh
# Entrypoint of every lab container (offline image and official valkey/valkey alike).
#   docker-entrypoint.sh node TEMPLATE      render TEMPLATE, run valkey-server
#   docker-entrypoint.sh sentinel TEMPLATE  render TEMPLATE once, run valkey-sentinel
# Rendering replaces ${PORT} ${BIND} ${DATA_DIR} ${ANNOUNCE_HOST} ${VALKEY_PASSWORD}
# ${CLUSTER_NODE_TIMEOUT}, the same names app/valkey_lab/topology/config.py replaces.
set -eu
kind=$1
template=$2
: "${PORT:?}" "${ANNOUNCE_HOST:?}" "${VALKEY_PASSWORD:?set VALKEY_PASSWORD}"
BIND=${BIND:-0.0.0.0}
DATA_DIR=${DATA_DIR:-/data}
CLUSTER_NODE_TIMEOUT=${CLUSTER_NODE_TIMEOUT:-3000}
mkdir -p "$DATA_DIR"

esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
render() {
  sed -e "s|\${PORT}|$(esc "$PORT")|g" \
      -e "s|\${BIND}|$(esc "$BIND")|g" \
      -e "s|\${DATA_DIR}|$(esc "$DATA_DIR")|g" \
      -e "s|\${ANNOUNCE_HOST}|$(esc "$ANNOUNCE_HOST")|g" \
      -e "s|\${VALKEY_PASSWORD}|$(esc "$VALKEY_PASSWORD")|g" \
      -e "s|\${CLUSTER_NODE_TIMEOUT}|$(esc "$CLUSTER_NODE_TIMEOUT")|g" \
      "$1"
}

case "$kind" in
  node)
    conf="$DATA_DIR/valkey.conf"
    # A restarted node keeps the file Sentinel may have rewritten (CONFIG REWRITE).
    if [ ! -f "$conf" ]; then
      render "$template" >"$conf"
      if [ -n "${REPLICAOF:-}" ]; then printf 'replicaof %s\n' "$REPLICAOF" >>"$conf"; fi
    fi
    exec valkey-server "$conf"
    ;;
  sentinel)
    conf="$DATA_DIR/sentinel.conf"
    [ -f "$conf" ] || render "$template" >"$conf"
    exec valkey-sentinel "$conf"
    ;;
  *)
    echo "docker-entrypoint.sh: unknown kind '$kind' (node|sentinel)" >&2
    exit 2
    ;;
esac
