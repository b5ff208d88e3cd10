#!/usr/bin/env bash
# `npm run bench`: every benchmark of bench/README.md in one run, then the
# table (printed, and written to bench/RESULTS.md). A benchmark that
# errors is reported as failed in the table; the others still run. Slow
# machines get slow numbers, never a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
OUT=bench/out
BIN="$CARGO_TARGET_DIR/bench-release"
# Extra imlogin-server flags for every bench server. By default the abuse
# limits (docs/abuse-limits.md) are raised explicitly: the benchmarks open
# tens of thousands of sockets from a few loopback addresses, far beyond
# what the defaults allow one client IP.
RAISED_LIMITS="--max-sessions-per-ip 1000000 --login-rate-per-ip 100000000 --login-rate-per-account 100000 --api-rate-per-app-key 100000000"
SERVER_ARGS="${IMLOGIN_BENCH_SERVER_ARGS-$RAISED_LIMITS}"
START=$SECONDS

header() {
  printf '\n==> [%3d s] %s\n' $((SECONDS - START)) "$*" >&2
}

# BENCH_STEPS=browser,storm-term,… runs only the steps named (size,
# browser, lossy, flapping, capacity, storm-on, storm-off, storm-term,
# storm-kill, cluster, rolling) and writes the report to
# bench/out/RESULTS.partial.md instead of bench/RESULTS.md.
BENCH_STEPS="${BENCH_STEPS:-}"
wanted() {
  [ -z "$BENCH_STEPS" ] || [[ ",$BENCH_STEPS," == *",$1,"* ]]
}

# Runs a step (its output file is named after it) if BENCH_STEPS wants it;
# on failure, leaves no output file so the table says so.
step() {
  local out=$1
  wanted "$(basename "$out" .json | sed 's/^browser-//')" || return 0
  shift
  if ! "$@" >"$out.tmp"; then
    echo "bench: step failed: $*" >&2
    rm -f "$out.tmp"
    return 0
  fi
  mv "$out.tmp" "$out"
}

set -e
header "dependencies"
if [ ! -x node_modules/.bin/wasm-opt ]; then
  npm ci --no-audit --no-fund
fi
# `npm ci` wipes and reinstalls; skip it when bench/node_modules already
# matches the committed lock file.
if ! cmp -s bench/package-lock.json bench/node_modules/.bench-lock 2>/dev/null; then
  npm ci --prefix bench --no-audit --no-fund
  cp bench/package-lock.json bench/node_modules/.bench-lock
fi

header "build the npm package (pkg/)"
bash scripts/build.sh >&2

header "build imlogin-server and the load generator (profile bench-release)"
cargo build --profile bench-release -p imlogin-server -p imlogin-loadgen >&2
set +e

# Every server process inherits the raised open-files limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
rm -rf "$OUT" && mkdir -p "$OUT"
# The machine may be shared: the 1-, 5- and 15-minute load averages when
# the measurements begin and end go into the results.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

LIMIT_FLAGS=$("$BIN/imlogin-server" --help | grep -Eio -- '--[a-z-]*(limit|rate|per-ip|attempt)[a-z-]*' | sort -u | tr '\n' ' ')
if [ -n "$LIMIT_FLAGS" ]; then
  ABUSE="abuse limits raised explicitly for every bench server: '${SERVER_ARGS:-none}' (IMLOGIN_BENCH_SERVER_ARGS overrides)"
else
  ABUSE="this imlogin-server has no abuse-limit flags yet (the abuse-limits issue is not merged; its RateGate lets every login through), so none were raised"
fi

header "1. size"
step "$OUT/size.json" node bench/size.mjs /dev/stdout

export IMLOGIN_SERVER_BIN="$BIN/imlogin-server" IMLOGIN_SERVER_ARGS="$SERVER_ARGS"
header "2-3. browser on loopback: login latency; reconnect after the network, a restart, a crash (about 3 minutes)"
step "$OUT/browser.json" node bench/browser.mjs /dev/stdout --net loopback

# The same reconnect rounds with Chromium in a network namespace of its
# own (bench/lib/netns.sh), the servers on the host end of its veth pair.
header "2b. browser on a lossy link: 80 ms RTT, 2 % loss (about 2 minutes)"
step "$OUT/browser-lossy.json" bash bench/lib/netns.sh --link lossy --max-seconds 900 -- \
  node bench/browser.mjs /dev/stdout --net lossy
header "2c. browser on a flapping link: the lossy link, down 2 s every 10 s (about 2 minutes)"
step "$OUT/browser-flapping.json" bash bench/lib/netns.sh --link flapping --flap-down-ms 2000 \
  --flap-every-ms 10000 --flap-max 90 --max-seconds 900 -- \
  node bench/browser.mjs /dev/stdout --net flapping

# The capacity steps measure what a node can do, unpaced
# (`--login-capacity 0`); the restart steps pace admissions at a third of
# the login rate measured here (docs/deploy.md): the capacity loop's 32
# workers cost the machine little, while in a storm the 10 000 native
# clients and the 416 answers share the same 2 cores with the server
# (paced at the full rate, the graceful storm's arrivals were not flat:
# bench/README.md).
header "4. server capacity"
step "$OUT/capacity.json" "$BIN/imlogin-loadgen" capacity --server "$BIN/imlogin-server" \
  --server-args "$SERVER_ARGS --login-capacity 0"
MEASURED=$(node -e 'try { const c = require(process.argv[1]); console.log(Math.floor(c.login.perSecond / 3)) } catch { }' \
  "$PWD/$OUT/capacity.json" 2>/dev/null)
PACED_ARGS="$SERVER_ARGS${MEASURED:+ --login-capacity $MEASURED}"

header "4b. device-bound sessions: server CPU per token login, binding login and resume"
step "$OUT/server-binding.json" "$BIN/imlogin-loadgen" binding --server "$BIN/imlogin-server" \
  --seconds 5 --server-args "$SERVER_ARGS --login-capacity 0"

header "5. reconnect storm, jitter on"
step "$OUT/storm-on.json" "$BIN/imlogin-loadgen" storm --server "$BIN/imlogin-server" \
  --jitter on --server-args "$PACED_ARGS"
header "5. reconnect storm, jitter off"
step "$OUT/storm-off.json" "$BIN/imlogin-loadgen" storm --server "$BIN/imlogin-server" \
  --jitter off --server-args "$PACED_ARGS"
header "5. reconnect storm, jitter on, device-bound sessions (reconnects resume with tickets)"
step "$OUT/storm-bound.json" "$BIN/imlogin-loadgen" storm --server "$BIN/imlogin-server" \
  --jitter on --device-binding on --server-args "$PACED_ARGS"
# This restart takes about 3.5 s (stopping with 10 000 sessions 1.2–1.8 s,
# 2 s down, the start): the node is told so, as an operator would
# (docs/deploy.md, --restart-expected-ms).
header "5b. 10 000 sessions through a graceful restart, down 2 s"
step "$OUT/storm-term.json" "$BIN/imlogin-loadgen" storm --server "$BIN/imlogin-server" \
  --stop term --down-ms 2000 --server-args "$PACED_ARGS --restart-expected-ms 3500"
header "5c. 10 000 sessions through a crash (SIGKILL), down 2 s"
step "$OUT/storm-kill.json" "$BIN/imlogin-loadgen" storm --server "$BIN/imlogin-server" \
  --stop kill --down-ms 2000 --server-args "$PACED_ARGS"

# shellcheck source=../scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# `imlogin-loadgen SUBCOMMAND` on a fresh database of one throwaway
# PostgreSQL cluster (started by the first call, stopped on exit).
pg_bench() {
  start_test_postgres >&2 || return 1
  local db="imlogin_$1_$$"
  psql -q "$IMLOGIN_TEST_PG_ADMIN_URL" -c "CREATE DATABASE $db" >&2 || return 1
  "$BIN/imlogin-loadgen" "$1" --server "$BIN/imlogin-server" \
    --database-url "${IMLOGIN_TEST_PG_ADMIN_URL%/*}/$db" --server-args "$2"
}
header "6. two nodes on PostgreSQL: logins/s and cross-node kick latency"
step "$OUT/cluster.json" pg_bench cluster "$SERVER_ARGS --login-capacity 0"
header "7. two nodes on PostgreSQL behind the LBS: rolling restart"
step "$OUT/rolling.json" pg_bench rolling "$PACED_ARGS"

header "8. device binding: autoLogin and login with binding on and off (about 1 minute)"
step "$OUT/binding.json" node bench/binding.mjs /dev/stdout

header "report"
MEM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
node -e '
  const [nproc, cpu, memKb, kernel, rustc, seconds, abuse, loadStart, loadEnd] = process.argv.slice(1);
  console.log(JSON.stringify({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"), nproc: Number(nproc), cpu,
    memory: (memKb / 1048576).toFixed(1) + " GiB", kernel, rustc, node: process.versions.node,
    seconds: Number(seconds), abuseLimits: abuse, loadAverage: { start: loadStart, end: loadEnd },
  }));' "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$MEM_KB" \
  "Linux $(uname -r)" "$(rustc --version | awk '{ print $2 }')" $((SECONDS - START)) "$ABUSE" \
  "$LOAD_START" "$LOAD_END" >"$OUT/meta.json"
if [ -z "$BENCH_STEPS" ]; then
  node bench/report.mjs "$OUT" bench/RESULTS.md
else
  node bench/report.mjs "$OUT" "$OUT/RESULTS.partial.md"
fi
