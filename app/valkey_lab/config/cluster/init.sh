#!/bin/sh
# Forms the lab's cluster deterministically; used by both backends (the one-shot init service
# of docker-compose.cluster.yml, and app/valkey_lab/cluster/topology.py for local processes).
# Needs only sh + valkey-cli (+ awk, sed, sort, grep, date: busybox has them).
#
#   VALKEY_PASSWORD=... sh app/valkey_lab/config/cluster/init.sh P1 P2 P3 R1 R2 R3
#
# Each argument is HOST:PORT. P1..P3 become the primaries of 0-5460, 5461-10922,
# 10923-16383; Rn becomes the replica of Pn (node-7003 -> node-7000, ...).
# Idempotent: on a formed cluster (the same three shards, roles possibly swapped by a
# failover) it changes nothing and says so; a half-formed one is finished; a cluster formed
# any other way is refused with a clear message. It always ends by waiting, with deadlines,
# for cluster_state:ok on every node, one slot map on every node, and every replica's
# master_link_status:up (a primary killed before its replica's first sync never fails over).
# Exit: 0 formed and healthy, 1 could not (message on stderr), 2 bad usage.
set -eu

if [ $# -ne 6 ]; then
  echo "usage: VALKEY_PASSWORD=... $0 PRIMARY1 PRIMARY2 PRIMARY3 REPLICA1 REPLICA2 REPLICA3 (each HOST:PORT)" >&2
  exit 2
fi
: "${VALKEY_PASSWORD:?init: set VALKEY_PASSWORD}"
TIMEOUT=${CLUSTER_INIT_TIMEOUT:-60}   # seconds, per wait
ADDRS="$*"
RANGES="0-5460 5461-10922 10923-16383"
RESET_HINT=${CLUSTER_RESET_HINT:-reset it: docker-compose -f docker-compose.cluster.yml down -v}

say() { echo "init: $*"; }
die() { echo "init: $*" >&2; exit 1; }

# nth N WORDS...: the Nth word (1-based)
nth() { _n=$1; shift; eval "printf '%s' \"\${$_n}\""; }
addr() { nth "$1" $ADDRS; }
range() { nth "$1" $RANGES; }

# Functions use _-prefixed variables: sh has no locals, and the main part uses plain names.
cli() {  # cli HOST:PORT ARGS... ; the password goes through -a: REDISCLI_AUTH is not read by every valkey-cli
  _c=$1; shift
  valkey-cli -h "${_c%:*}" -p "${_c##*:}" -a "$VALKEY_PASSWORD" --no-auth-warning "$@" | tr -d '\r'
}

# wait_until WHAT CMD...: poll CMD until it succeeds, at most TIMEOUT seconds
wait_until() {
  _what=$1; shift
  _deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@"; do
    [ "$(date +%s)" -lt "$_deadline" ] || die "timed out after ${TIMEOUT}s waiting for $_what"
    sleep 0.2
  done
}

# -- probes ---------------------------------------------------------------------------------
all_answer() {
  for _a in $ADDRS; do
    _out=$(cli "$_a" ping 2>&1) || return 1
    case $_out in
      *NOAUTH*|*WRONGPASS*|*"AUTH failed"*) die "$_a refuses the password: VALKEY_PASSWORD does not match the nodes' requirepass" ;;
      PONG) ;;
      *) return 1 ;;
    esac
  done
}

info_field() { cli "$1" $2 | sed -n "s/^$3://p"; }  # info_field ADDR "cluster info"|"info replication" FIELD

# view ADDR: the node's view of the cluster, one sorted line per node:
# "<id> master|slave <master-id or -> <config-epoch> <slots...>" (migration markers [..] left out).
# The epochs matter: a replica whose view of its primary's epoch is stale gets no votes.
view() {
  cli "$1" cluster nodes | awk 'NF >= 8 {
      role = ($3 ~ /master/) ? "master" : "slave"; s = ""
      for (i = 9; i <= NF; i++) if ($i !~ /^\[/) s = s " " $i
      print $1, role, $4, $7 s }' | sort
}
# epochs_unique ADDR: no two primaries with slots share a config epoch (a collision is being resolved)
epochs_unique() {
  cli "$1" cluster nodes | awk '$3 ~ /master/ && NF >= 9 { if (seen[$7]++) dup = 1 } END { exit dup }'
}
# myself ADDR FIELD: a field of the node's own line of CLUSTER NODES (role|master|slots)
myself() {
  cli "$1" cluster nodes | awk -v f="$2" '$3 ~ /myself/ {
      if (f == "role") print (($3 ~ /master/) ? "master" : "slave")
      else if (f == "master") print $4
      else { s = ""; for (i = 9; i <= NF; i++) if ($i !~ /^\[/) s = s (s == "" ? "" : " ") $i; print s } }'
}
# flagged ADDR: the node sees some node as failing, in handshake or without address
flagged() { cli "$1" cluster nodes | awk '$3 ~ /(^|,)(fail\??|handshake|noaddr)(,|$)/ { f = 1 } END { exit !f }'; }
knows_all() {
  for _a in $ADDRS; do
    [ "$(info_field "$_a" "cluster info" cluster_known_nodes)" = 6 ] || return 1
    cli "$_a" cluster nodes | grep -q handshake && return 1
  done
  return 0
}
all_assigned() {
  for _a in $ADDRS; do [ "$(info_field "$_a" "cluster info" cluster_slots_assigned)" = 16384 ] || return 1; done
}
all_ok() {
  for _a in $ADDRS; do [ "$(info_field "$_a" "cluster info" cluster_state)" = ok ] || return 1; done
}
agree() {  # every node has the same view, none sees a node failing, no epoch collision pending
  _first=""
  for _a in $ADDRS; do
    flagged "$_a" && return 1
    epochs_unique "$_a" || return 1
    _v=$(view "$_a")
    if [ -z "$_first" ]; then _first=$_v; elif [ "$_v" != "$_first" ]; then return 1; fi
  done
}
links_up() {
  for _a in $ADDRS; do
    if [ "$(myself "$_a" role)" = slave ]; then
      [ "$(info_field "$_a" "info replication" master_link_status)" = up ] || return 1
    fi
  done
}

# shard_state I: "ok OWNER_INDEX" when one node of pair I (Pi, Ri) is a primary owning exactly
# range I and the other one its replica; otherwise a description of what is there.
id_of() { nth "$1" $IDS; }
shard_state() {
  _i=$1
  for _pair in "$_i $((_i + 3))" "$((_i + 3)) $_i"; do
    set -- $_pair
    _o=$(addr "$1"); _m=$(addr "$2")
    if [ "$(myself "$_o" role)" = master ] && [ "$(myself "$_o" slots)" = "$(range "$_i")" ] \
       && [ "$(myself "$_m" role)" = slave ] && [ "$(myself "$_m" master)" = "$(id_of "$1")" ]; then
      echo "ok $1"; return
    fi
  done
  echo "not formed"
}

# -- 1. every node answers, with cluster mode on --------------------------------------------
say "nodes: $ADDRS"
wait_until "every node to answer PING" all_answer
for a in $ADDRS; do
  [ "$(info_field "$a" "info cluster" cluster_enabled)" = 1 ] || die "$a is not in cluster mode (cluster-enabled yes missing)"
done
IDS=""
for a in $ADDRS; do IDS="$IDS $(cli "$a" cluster myid)"; done

# -- 2. already formed? -----------------------------------------------------------------------
formed=yes
for i in 1 2 3; do
  case $(shard_state "$i") in
    ok*) ;;
    *) formed=no ;;
  esac
done
changed=0
if [ "$formed" = yes ]; then
  for i in 1 2 3; do
    o=$(shard_state "$i"); o=${o#ok }
    note=""; [ "$o" = "$i" ] || note=" (roles swapped by a failover: $(addr "$o") is the primary)"
    say "shard $(range "$i"): already formed$note"
  done
  say "cluster already formed; nothing changed"
else
  # -- 3. refuse what this script would not have made --------------------------------------
  for a in $ADDRS; do
    n=$(info_field "$a" "cluster info" cluster_known_nodes)
    [ "$n" -le 6 ] || die "$a knows $n nodes, not the lab's 6: not this lab's cluster ($RESET_HINT)"
  done
  for i in 1 2 3; do
    for j in "$i" $((i + 3)); do
      s=$(myself "$(addr "$j")" slots)
      [ -z "$s" ] || [ "$s" = "$(range "$i")" ] || \
        die "$(addr "$j") owns slots '$s', expected '$(range "$i")' or none: the cluster was formed differently ($RESET_HINT)"
    done
  done

  # -- 4. distinct config epochs, then CLUSTER MEET --------------------------------------------
  # A fresh node (knows only itself, epoch 0) gets epoch = its position, as
  # `valkey-cli --cluster create` does: without it all primaries start at epoch 0 and the
  # collisions are resolved by gossip for seconds after the cluster looks ready.
  j=0
  for a in $ADDRS; do
    j=$((j + 1))
    if [ "$(info_field "$a" "cluster info" cluster_known_nodes)" = 1 ] && \
       [ "$(info_field "$a" "cluster info" cluster_current_epoch)" = 0 ]; then
      out=$(cli "$a" cluster set-config-epoch "$j")
      [ "$out" = OK ] || die "CLUSTER SET-CONFIG-EPOCH $j on $a: $out"
      say "config epoch $j -> $a"; changed=$((changed + 1))
    fi
  done
  # MEET by IP: MEET takes no hostname; the IP is the one the node answers on.
  first=$(addr 1)
  for j in 2 3 4 5 6; do
    a=$(addr "$j")
    if ! cli "$first" cluster nodes | grep -q "^$(id_of "$j") "; then
      ip=$(cli "$a" client info | sed -n 's/.* laddr=\([^ ]*\):[0-9]* .*/\1/p')
      [ -n "$ip" ] || die "cannot tell the IP of $a"
      out=$(cli "$first" cluster meet "$ip" "${a##*:}")
      [ "$out" = OK ] || die "CLUSTER MEET $ip ${a##*:} from $first: $out"
      say "meet $a ($ip)"; changed=$((changed + 1))
    fi
  done
  wait_until "every node to know all 6 nodes" knows_all

  # -- 5. slots ------------------------------------------------------------------------------
  for i in 1 2 3; do
    p=$(addr "$i"); r=$(addr $((i + 3)))
    if [ -z "$(myself "$p" slots)" ] && [ -z "$(myself "$r" slots)" ]; then
      set -- $(range "$i" | tr '-' ' ')
      out=$(cli "$p" cluster addslotsrange "$1" "$2")
      [ "$out" = OK ] || die "CLUSTER ADDSLOTSRANGE $1 $2 on $p: $out"
      say "slots $1-$2 -> $p"; changed=$((changed + 1))
    fi
  done
  wait_until "every node to see all 16384 slots assigned" all_assigned

  # -- 6. replicas ---------------------------------------------------------------------------
  for i in 1 2 3; do
    p=$i; r=$((i + 3))
    [ "$(myself "$(addr "$r")" slots)" = "$(range "$i")" ] && { p=$r; r=$i; }  # swapped by a failover
    pa=$(addr "$p"); ra=$(addr "$r"); pid=$(id_of "$p")
    case "$(myself "$ra" role) $(myself "$ra" master)" in
      "slave $pid") ;;
      "master -")
        out=$(cli "$ra" cluster replicate "$pid")
        [ "$out" = OK ] || die "CLUSTER REPLICATE on $ra: $out"
        say "replica $ra -> $pa"; changed=$((changed + 1)) ;;
      *) die "$ra replicates $(myself "$ra" master), expected $pa ($pid): the cluster was formed differently ($RESET_HINT)" ;;
    esac
  done
fi

# -- 7. healthy: the same map everywhere, state ok, replicas linked ---------------------------
wait_until "all nodes to agree on one slot map" agree
wait_until "cluster_state:ok on every node" all_ok
wait_until "master_link_status:up on every replica" links_up
for i in 1 2 3; do
  case $(shard_state "$i") in ok*) ;; *) die "shard $(range "$i") is not one primary + its replica after forming" ;; esac
done
for j in 1 2 3 4 5 6; do
  a=$(addr "$j")
  if [ "$(myself "$a" role)" = master ]; then
    say "  $a primary of $(myself "$a" slots)"
  else
    m=$(myself "$a" master); k=1
    for id in $IDS; do [ "$id" = "$m" ] && break; k=$((k + 1)); done
    say "  $a replica of $(addr "$k")"
  fi
done
if [ "$changed" -eq 0 ]; then
  say "healthy; nothing changed"
else
  say "formed and healthy; $changed change(s) made"
fi
