#!/usr/bin/env bash
# A network of the benchmark's own: runs COMMAND on this machine while a
# network namespace made for it, joined to this machine by a veth pair with
# a private /30, plays the clients' side of a real link (delay each way,
# random loss, and optionally a link that goes down and up on a schedule).
# Servers listen on the host end ($IMLOGIN_NETNS_HOST_ADDR); clients run
# inside with `ip netns exec "$IMLOGIN_NETNS" …` and reach only that
# address: the namespace has no other route. Everything is removed on exit,
# also when COMMAND or this script fails or is interrupted.
#
#   bash bench/lib/netns.sh [--link lossy|flapping] [--delay-ms 40] [--loss-pct 2]
#        [--flap-down-ms 2000] [--flap-every-ms 10000] [--flap-max 100]
#        [--max-seconds 1800] -- COMMAND [ARG...]
#
# COMMAND gets in its environment:
#   IMLOGIN_NETNS            the namespace's name
#   IMLOGIN_NETNS_HOST_ADDR  the host end's address (bind servers here)
#   IMLOGIN_NETNS_PEER_ADDR  the clients' address inside the namespace
#   IMLOGIN_NETNS_LINK       what the link does, in words
#   IMLOGIN_NETNS_FLAP_LOG   (flapping) a file with one line per change:
#                            "<ms since the epoch> down|up"
#
# The delay and loss are `tc qdisc … netem` on both ends when the kernel has
# sch_netem. Without it (CONFIG_NET_SCH_NETEM unset, as on this project's
# machines) the same link is built in the namespace's own netfilter tables:
# `-m statistic --mode random` drops, and NFQUEUE hands every other packet
# to bench/lib/netem-delay.py, which accepts it after the delay. Needs root,
# iproute2, and for the fallback iptables (installed with apt-get when
# missing and possible) and python3.
#
# Every loop ends by a count or a deadline: COMMAND is stopped after
# --max-seconds, the flapper after --flap-max cycles, the delayer with the
# namespace (or after --max-seconds).
set -euo pipefail

LINK=lossy DELAY_MS=40 LOSS_PCT=2
FLAP_DOWN_MS=2000 FLAP_EVERY_MS=10000 FLAP_MAX=100 MAX_SECONDS=1800
while [ $# -gt 0 ]; do
  case $1 in
    --link) LINK=$2; shift 2 ;;
    --delay-ms) DELAY_MS=$2; shift 2 ;;
    --loss-pct) LOSS_PCT=$2; shift 2 ;;
    --flap-down-ms) FLAP_DOWN_MS=$2; shift 2 ;;
    --flap-every-ms) FLAP_EVERY_MS=$2; shift 2 ;;
    --flap-max) FLAP_MAX=$2; shift 2 ;;
    --max-seconds) MAX_SECONDS=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "netns.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
case $LINK in lossy | flapping) ;; *) echo "netns.sh: --link lossy|flapping" >&2; exit 2 ;; esac
for n in "$DELAY_MS" "$FLAP_DOWN_MS" "$FLAP_EVERY_MS" "$FLAP_MAX" "$MAX_SECONDS"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "netns.sh: $n is not a whole number" >&2; exit 2; }
done
[[ $LOSS_PCT =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "netns.sh: --loss-pct $LOSS_PCT" >&2; exit 2; }
[ $# -gt 0 ] || { echo "netns.sh: no COMMAND after --" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "netns.sh: needs root (ip netns, veth, tc/iptables)" >&2; exit 1; }
command -v ip >/dev/null || { echo "netns.sh: needs iproute2 (ip)" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "netns: $*" >&2; }
ms_now() { date +%s%3N; }

NS="imlb-$$"
HOST_IF="imlb$$h"
PEER_IF="imlb$$n"
STATE=$(mktemp -d /tmp/imlogin-netns.XXXXXX)
FLAP_PID="" DELAY_PID="" CMD_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$CMD_PID" ] && kill "$CMD_PID" 2>/dev/null && wait "$CMD_PID" 2>/dev/null
  [ -n "$FLAP_PID" ] && kill "$FLAP_PID" 2>/dev/null && wait "$FLAP_PID" 2>/dev/null
  [ -n "$DELAY_PID" ] && kill "$DELAY_PID" 2>/dev/null && wait "$DELAY_PID" 2>/dev/null
  if ip netns list | grep -qw "$NS"; then
    # Whatever COMMAND left running inside the namespace (our own children).
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one pid per word
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    ip netns del "$NS" 2>/dev/null || true
  fi
  ip link del "$HOST_IF" 2>/dev/null || true
  rm -rf "$STATE"
  log "removed namespace $NS and its veth pair"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What an earlier run killed before its cleanup could run left behind: a
# namespace of this script's naming whose creator is gone, and its veth.
for stale in $(ip netns list | awk '/^imlb-[0-9]+( |$)/ { print $1 }'); do
  pid=${stale#imlb-}
  if ! kill -0 "$pid" 2>/dev/null; then
    left=$(ip netns pids "$stale" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one pid per word
    [ -n "$left" ] && kill -9 $left 2>/dev/null
    ip netns del "$stale" 2>/dev/null || true
    ip link del "imlb${pid}h" 2>/dev/null || true
    log "removed $stale, left behind by a run that no longer exists"
  fi
done

# A /30 of 10.200.0.0/16 that no interface of this machine uses yet (another
# run may hold one at the same time): host end .1, namespace end .2.
NET=""
for i in $(seq 0 63); do
  k=$(( ($$ + i * 37) % 250 + 1 ))
  q=$(( ($$ / 250 + i) % 64 * 4 ))
  candidate="10.200.$k.$q"
  if ! ip -4 addr show | grep -q " 10\.200\.$k\.$((q + 1))/" &&
     ! ip -4 route show | grep -q "^10\.200\.$k\.$q/"; then
    NET=$candidate
    break
  fi
done
[ -n "$NET" ] || { echo "netns.sh: no free /30 in 10.200.0.0/16" >&2; exit 1; }
HOST_ADDR="${NET%.*}.$(( ${NET##*.} + 1 ))"
PEER_ADDR="${NET%.*}.$(( ${NET##*.} + 2 ))"

ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$PEER_IF" netns "$NS"
# No IPv6 on the pair: no router solicitations or DAD probes on the link.
sysctl -qw "net.ipv6.conf.$HOST_IF.disable_ipv6=1" 2>/dev/null || true
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$PEER_IF.disable_ipv6=1" 2>/dev/null || true
ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
ip -n "$NS" addr add "$PEER_ADDR/30" dev "$PEER_IF"
ip link set "$HOST_IF" up
ip -n "$NS" link set lo up
ip -n "$NS" link set "$PEER_IF" up

# The pair must be the only way between the two addresses, both ways.
route_dev() { awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'; }
[ "$(ip route get "$PEER_ADDR" | route_dev)" = "$HOST_IF" ] ||
  { echo "netns.sh: $PEER_ADDR is not routed through $HOST_IF" >&2; exit 1; }
[ "$(ip netns exec "$NS" ip route get "$HOST_ADDR" | route_dev)" = "$PEER_IF" ] ||
  { echo "netns.sh: $HOST_ADDR is not routed through $PEER_IF in $NS" >&2; exit 1; }
if ip netns exec "$NS" ip -4 route show | grep -qv "^$NET/30 "; then
  echo "netns.sh: $NS has a route other than $NET/30" >&2
  exit 1
fi

# Delay and loss, each way.
SHAPED=""
if tc qdisc add dev "$HOST_IF" root netem delay "${DELAY_MS}ms" loss "${LOSS_PCT}%" 2>/dev/null; then
  ip netns exec "$NS" tc qdisc add dev "$PEER_IF" root netem delay "${DELAY_MS}ms" loss "${LOSS_PCT}%"
  SHAPED="tc netem"
else
  IPT=""
  for c in iptables-legacy iptables; do command -v "$c" >/dev/null && { IPT=$c; break; }; done
  if [ -z "$IPT" ] && command -v apt-get >/dev/null; then
    log "this kernel has no sch_netem; installing iptables for the NFQUEUE fallback"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >&2 ||
      { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >&2; } || true
    for c in iptables-legacy iptables; do command -v "$c" >/dev/null && { IPT=$c; break; }; done
  fi
  [ -n "$IPT" ] || { echo "netns.sh: the kernel has no sch_netem and iptables is missing (apt-get install iptables)" >&2; exit 1; }
  command -v python3 >/dev/null || { echo "netns.sh: the kernel has no sch_netem and python3 is missing" >&2; exit 1; }
  p=$(awk -v l="$LOSS_PCT" 'BEGIN { printf "%.6f", l / 100 }')
  for rule in "OUTPUT -o $PEER_IF" "INPUT -i $PEER_IF"; do
    # shellcheck disable=SC2086 # the chain and interface match are two words
    ip netns exec "$NS" "$IPT" -w -A $rule -m statistic --mode random --probability "$p" -j DROP
    # shellcheck disable=SC2086
    ip netns exec "$NS" "$IPT" -w -A $rule -j NFQUEUE --queue-num 0
  done
  ip netns exec "$NS" python3 "$HERE/netem-delay.py" --queue 0 --delay-ms "$DELAY_MS" \
    --max-seconds "$((MAX_SECONDS + 60))" --ready-file "$STATE/delay.ready" &
  DELAY_PID=$!
  for _ in $(seq 100); do
    [ -s "$STATE/delay.ready" ] && break
    kill -0 "$DELAY_PID" 2>/dev/null || { echo "netns.sh: netem-delay.py did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$STATE/delay.ready" ] || { echo "netns.sh: netem-delay.py not ready after 10 s" >&2; exit 1; }
  SHAPED="$IPT statistic + NFQUEUE delayer (no sch_netem in this kernel)"
fi
DESC="$((2 * DELAY_MS)) ms RTT ($DELAY_MS ms each way), $LOSS_PCT % loss each way, by $SHAPED"

FLAP_LOG=""
if [ "$LINK" = flapping ]; then
  FLAP_LOG="$STATE/flaps.log"
  : >"$FLAP_LOG"
  DESC="$DESC; the link goes down for $FLAP_DOWN_MS ms every $FLAP_EVERY_MS ms (ip link set down/up, at most $FLAP_MAX times)"
  secs() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }
  (
    trap 'kill $! 2>/dev/null; ip -n "$NS" link set "$PEER_IF" up 2>/dev/null; exit 0' TERM
    up_for=$(secs $((FLAP_EVERY_MS - FLAP_DOWN_MS)))
    down_for=$(secs "$FLAP_DOWN_MS")
    for _ in $(seq "$FLAP_MAX"); do
      sleep "$up_for" & wait $!
      echo "$(ms_now) down" >>"$FLAP_LOG"
      ip -n "$NS" link set "$PEER_IF" down
      sleep "$down_for" & wait $!
      ip -n "$NS" link set "$PEER_IF" up
      echo "$(ms_now) up" >>"$FLAP_LOG"
    done
  ) &
  FLAP_PID=$!
fi

log "namespace $NS: clients at $PEER_ADDR, host end $HOST_ADDR ($HOST_IF); $DESC"
export IMLOGIN_NETNS=$NS IMLOGIN_NETNS_HOST_ADDR=$HOST_ADDR IMLOGIN_NETNS_PEER_ADDR=$PEER_ADDR
export IMLOGIN_NETNS_LINK=$DESC IMLOGIN_NETNS_FLAP_LOG=$FLAP_LOG
# In the background, so that a signal to this script runs the cleanup at
# once (bash runs traps only between foreground commands).
timeout --kill-after=10 "$MAX_SECONDS" "$@" &
CMD_PID=$!
set +e
wait "$CMD_PID"
status=$?
set -e
CMD_PID=""
[ $status = 124 ] && log "COMMAND stopped after $MAX_SECONDS s"
exit $status
