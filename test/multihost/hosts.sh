#!/usr/bin/env bash
# Simulated machines for the many-hosts test: network namespaces usergen-host1..N, each with a
# veth pair to a bridge in the root namespace. The bridge is 10.77.0.1/24 (where the test's
# PostgreSQL server listens); host i is 10.77.0.(10+i). Needs root (ip netns, ip link).
#   hosts.sh up <n>    create them (after removing any left by a run that was killed)
#   hosts.sh down      remove them
set -euo pipefail

BRIDGE=usergen-br0
PREFIX=usergen-host
SUBNET=10.77.0

down() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^${PREFIX}[0-9]*$" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns delete "$ns"
  done
  # A veth's root end goes with its namespace; the bridge stays until removed.
  ip link delete "$BRIDGE" 2>/dev/null || true
}

up() {
  local n=$1
  down
  ip link add "$BRIDGE" type bridge
  ip addr add "${SUBNET}.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for i in $(seq 1 "$n"); do
    local ns="${PREFIX}${i}" outside="ug-h${i}-a" inside="ug-h${i}-b"
    ip netns add "$ns"
    ip link add "$outside" type veth peer name "$inside"
    ip link set "$outside" master "$BRIDGE"
    ip link set "$outside" up
    ip link set "$inside" netns "$ns"
    ip -n "$ns" addr add "${SUBNET}.$((10 + i))/24" dev "$inside"
    ip -n "$ns" link set "$inside" up
    ip -n "$ns" link set lo up
  done
}

case "${1:-}" in
  up) up "${2:?how many hosts}" ;;
  down) down ;;
  *) echo "usage: $0 up <n> | down" >&2; exit 2 ;;
esac
