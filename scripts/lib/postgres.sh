# shellcheck shell=bash
# A throwaway PostgreSQL for the server's tests (sourced by scripts/test.sh).
#
# start_test_postgres: unless IMLOGIN_TEST_PG_ADMIN_URL is already set (a
# server you run yourself; the tests create one database per test in it),
# initdb's a fresh cluster in a temporary directory, starts it on 127.0.0.1
# only, on a free port picked now, with trust auth and fsync off (test data
# only), waits until it accepts connections, and exports
#   IMLOGIN_TEST_PG_ADMIN_URL=postgres://postgres@127.0.0.1:PORT/postgres
# An EXIT trap (it replaces any earlier one) stops the cluster and deletes
# the directory. As root, the cluster runs as the `postgres` user (the
# server refuses root); otherwise as the current user. Needs Debian's
# `postgresql` package (.ci/run installs it).

# The directory of initdb/pg_ctl: PG_BIN if set, else Debian's newest.
_imlogin_pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
    return
  fi
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && best=$d
  done
  if [ -z "$best" ]; then
    echo "start_test_postgres: no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    return 1
  fi
  # Debian installs one major version (bookworm: 15); with several, the
  # last in glob order.
  echo "$best"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
_imlogin_pg_free_port() {
  local port i
  for i in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "start_test_postgres: found no free port" >&2
  return 1
}

_imlogin_stop_test_postgres() {
  if [ -n "${_IMLOGIN_PG_DIR:-}" ]; then
    "${_IMLOGIN_PG_AS[@]}" "$_IMLOGIN_PG_BIN/pg_ctl" -D "$_IMLOGIN_PG_DIR/data" \
      stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$_IMLOGIN_PG_DIR"
    _IMLOGIN_PG_DIR=""
  fi
}

start_test_postgres() {
  if [ -n "${IMLOGIN_TEST_PG_ADMIN_URL:-}" ]; then
    echo "PostgreSQL for tests: IMLOGIN_TEST_PG_ADMIN_URL (already set)"
    return 0
  fi
  _IMLOGIN_PG_BIN=$(_imlogin_pg_bin) || return 1
  _IMLOGIN_PG_AS=()
  local tmp=${TMPDIR:-/tmp}
  if [ "$(id -u)" = 0 ]; then
    _IMLOGIN_PG_AS=(runuser -u postgres --)
    tmp=/tmp # the postgres user must reach it
  fi
  _IMLOGIN_PG_DIR=$(mktemp -d "$tmp/imlogin-pg.XXXXXX")
  trap _imlogin_stop_test_postgres EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$_IMLOGIN_PG_DIR"
  fi
  local as=("${_IMLOGIN_PG_AS[@]}") dir=$_IMLOGIN_PG_DIR bin=$_IMLOGIN_PG_BIN
  if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
    --no-locale >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    echo "start_test_postgres: initdb failed" >&2
    return 1
  fi
  local port tries started=""
  for tries in 1 2 3 4 5; do
    port=$(_imlogin_pg_free_port) || return 1
    # -w: pg_ctl waits until the server accepts connections (or -t runs out).
    if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=300" start >/dev/null; then
      started=1
      break
    fi
    echo "start_test_postgres: start on port $port failed (try $tries), retrying" >&2
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
  done
  if [ -z "$started" ]; then
    tail -n 30 "$dir/server.log" >&2 || true
    echo "start_test_postgres: the server did not start" >&2
    return 1
  fi
  local deadline=$((SECONDS + 120))
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$dir/server.log" >&2 || true
      echo "start_test_postgres: not ready within 120 s" >&2
      return 1
    fi
    sleep 0.2
  done
  export IMLOGIN_TEST_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL for tests: $IMLOGIN_TEST_PG_ADMIN_URL ($("$bin/postgres" --version), in $dir)"
}
