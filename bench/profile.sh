#!/usr/bin/env bash
# Where a login's CPU goes: runs the login loop of `imlogin-loadgen
# logins` (32 in flight, fresh connection + login each) against one
# imlogin-server under `perf record --call-graph dwarf`, then prints the CPU
# time per login of the server, the load generator and (with PostgreSQL)
# the database's processes, the server's time per thread, and its hottest
# functions, self and inclusive. bench/README.md ("Cost of one login") is
# written from it.
#
#   bash bench/profile.sh                       # SQLite, a temporary file
#   bash bench/profile.sh postgres://…/empty_db # one PostgreSQL node
#
# Needs the bench-release binaries (`npm run bench` builds them, or
# `cargo build --profile bench-release -p imlogin-server -p imlogin-loadgen`)
# and `perf` (Debian: linux-perf). PROFILE_SECONDS (default 8) sets the
# length of the measured run; PROFILE_SERVER another server binary (an older
# build, to compare).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="${CARGO_TARGET_DIR:-target}/bench-release"
SECONDS_RUN=${PROFILE_SECONDS:-8}
OUT=$(mktemp -d)
trap '[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$OUT"' EXIT
DB=${1:-sqlite://$OUT/profile.db}
LIMITS="--max-sessions-per-ip 1000000 --login-rate-per-ip 100000000 --login-rate-per-account 100000 --api-rate-per-app-key 100000000"

command -v perf >/dev/null || { echo "profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# CPU ticks used so far by every PostgreSQL process, the exited ones
# included (they are the postmaster's reaped children).
pg_ticks() {
  local t=0 pm p f
  pm=$(pgrep -xo postgres) || { echo 0; return; }
  for p in $(pgrep -x postgres); do
    read -ra f <<<"$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null)" || continue
    t=$((t + f[11] + f[12]))
    [ "$p" = "$pm" ] && t=$((t + f[13] + f[14]))
  done
  echo "$t"
}

RUST_LOG=error "${PROFILE_SERVER:-$BIN/imlogin-server}" --bind 127.0.0.1:0 --database-url "$DB" \
  --app-key bench-app --app-secret bench-secret --test-hooks $LIMITS >"$OUT/server.out" 2>/dev/null &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$OUT/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's|listening on http://||p' "$OUT/server.out")
# Accounts and warm connections first, outside the measurement.
"$BIN/imlogin-loadgen" logins --addr "$ADDR" --seconds 1 >/dev/null 2>&1
PG0=$(pg_ticks)
perf record -q -F 700 --call-graph dwarf,16384 -p "$SERVER" -o "$OUT/perf.data" -- sleep "$SECONDS_RUN" 2>/dev/null &
PERF=$!
"$BIN/imlogin-loadgen" logins --addr "$ADDR" --pid "$SERVER" --seconds "$SECONDS_RUN" >"$OUT/logins.json" 2>/dev/null
wait "$PERF" || true
PG1=$(pg_ticks)
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const pg = (Number(process.argv[3]) - Number(process.argv[2])) * 10_000 / r.login.ok;
  console.log(`${Math.round(r.login.perSecond)} logins/s over ${r.login.seconds.toFixed(1)} s; CPU per login: ` +
    `server ${Math.round(r.serverCpuUsPerLogin)} µs, load generator ${Math.round(r.loadgenCpuUsPerLogin)} µs` +
    (process.argv[4].startsWith("postgres") ? `, PostgreSQL ${Math.round(pg)} µs` : ""));
' "$OUT/logins.json" "$PG0" "$PG1" "$DB"
report() { perf report -i "$OUT/perf.data" --stdio -g none "$@" 2>/dev/null | grep -v -e '^#' -e '^$' || true; }
echo; echo "server CPU by thread and object:"; report --no-children --sort comm,dso >"$OUT/threads.txt"
head -8 "$OUT/threads.txt"
echo; echo "hottest functions (self):"; report --no-children --sort sym >"$OUT/self.txt"
head -25 "$OUT/self.txt"
echo; echo "inclusive shares of the parts of a login (a function and all it calls):"
report --children --sort sym >"$OUT/children.txt"
for part in 'WebSocketUpgrade<F>::on_upgrade::\{\{closure' 'Dispatcher<D,Bs,I,T>::poll_catch' \
  'tungstenite::protocol::WebSocketContext::read$' 'listener::drain' 'journal::commit' \
  'take_loop' 'admission_loop' 'removal_loop' 'sqlite3_step$' 'sqlite3_exec$'; do
  grep -E -m1 "$part" "$OUT/children.txt" || true
done
