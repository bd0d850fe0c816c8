#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: loopback only, trust
# authentication, a temporary folder, TLS when openssl is available.
#
#   eval "$(bash scripts/ci-postgres.sh start)"   # exports LATCHKEY_TEST_POSTGRES_URL (and _DIR, _CA, _BIN)
#   npm test                                      # the PostgreSQL tests now run
#   bash scripts/ci-postgres.sh stop              # stops it and removes the folder
#
# `start [--no-tls]` prints only `export` lines on stdout (progress goes to
# stderr). `stop [DIR]` takes the folder from LATCHKEY_TEST_POSTGRES_DIR when
# not given. `halt [DIR]` stops the server but keeps the cluster, `resume
# [DIR]` starts it again on the same port (outage tests).
# Needs PostgreSQL's server binaries (Debian: apt-get install -y postgresql);
# set PG_BINDIR to pick a version. As root, the cluster runs as the
# `postgres` user (initdb refuses root); otherwise as the current user.
set -euo pipefail

log() { printf 'ci-postgres: %s\n' "$*" >&2; }

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then printf '%s\n' "$PG_BINDIR"; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$newest" && -x "$newest/initdb" ]]; then printf '%s\n' "$newest"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  log 'no PostgreSQL server binaries found (Debian: apt-get install -y postgresql; or set PG_BINDIR)'
  exit 1
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A CA and a server certificate for 127.0.0.1/localhost, so tests can check verified TLS.
make_tls() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=latchkey test CA' \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key"
}

# Starts the server of the cluster in DIR with the options `start` saved.
run_server() {
  local dir="$1" port="$2" options="$3" bindir="$4"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $options" start >/dev/null
}

start() {
  local bindir dir port tls_opts='' ca='' tls=1
  [[ "${1:-}" == --no-tls ]] && tls=0
  bindir=$(find_bindir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-postgres-XXXXXX")
  chmod 700 "$dir"
  if [[ $tls == 1 ]] && command -v openssl >/dev/null 2>&1; then
    make_tls "$dir/tls"
    tls_opts="-c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
    ca="$dir/tls/ca.crt"
  fi
  [[ "$(id -u)" == 0 ]] && chown -R postgres: "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >/dev/null
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if run_server "$dir" "$port" "$tls_opts" "$bindir"; then
      printf 'port=%q\noptions=%q\nbindir=%q\n' "$port" "$tls_opts" "$bindir" >"$dir/cluster.env"
      log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, folder $dir"
      printf 'export LATCHKEY_TEST_POSTGRES_URL=%q\n' "postgres://postgres@127.0.0.1:$port/postgres"
      printf 'export LATCHKEY_TEST_POSTGRES_DIR=%q\n' "$dir"
      printf 'export LATCHKEY_TEST_POSTGRES_BIN=%q\n' "$bindir"
      [[ -n "$ca" ]] && printf 'export LATCHKEY_TEST_POSTGRES_CA=%q\n' "$ca"
      return 0
    fi
    log "start on port $port failed (attempt $attempt); see $dir/postgres.log"
  done
  rm -rf "$dir"
  exit 1
}

# The cluster folder from the argument or LATCHKEY_TEST_POSTGRES_DIR; empty if there is none.
cluster_dir() {
  local dir="${1:-${LATCHKEY_TEST_POSTGRES_DIR:-}}"
  [[ -n "$dir" && -f "$dir/cluster.env" ]] && printf '%s\n' "$dir"
  return 0
}

halt() {
  local dir
  dir=$(cluster_dir "${1:-}")
  [[ -z "$dir" ]] && { log 'no cluster folder to halt'; exit 1; }
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

resume() {
  local dir
  dir=$(cluster_dir "${1:-}")
  [[ -z "$dir" ]] && { log 'no cluster folder to resume'; exit 1; }
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  run_server "$dir" "$port" "$options" "$bindir"
}

stop() {
  local dir
  dir=$(cluster_dir "${1:-}")
  if [[ -z "$dir" ]]; then
    log "no cluster folder to stop (${1:-${LATCHKEY_TEST_POSTGRES_DIR:-LATCHKEY_TEST_POSTGRES_DIR is unset}})"
    return 0
  fi
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  halt) halt "${2:-}" ;;
  resume) resume "${2:-}" ;;
  *)
    printf 'usage: %s start [--no-tls] | stop [DIR] | halt [DIR] | resume [DIR]\n' "$0" >&2
    exit 2
    ;;
esac
