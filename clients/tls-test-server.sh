#!/usr/bin/env bash
# A second voxgate for the clients' TLS tests, with TLS, mutual TLS and bearer tokens on, started
# in the background next to the plaintext one of each client's test.sh (both embedded Tritons
# start at the same time, so the tests wait only for whichever is later).
#
# Sourced by clients/{go,java,typescript}/test.sh:
#
#   source ../tls-test-server.sh
#   tls_server_start "$REPO" "$VOXGATE"     # certificates + tokens, then the server (background)
#   voxgate with-server -- bash ../tls-test-server.sh run -- go test ...
#
# `tls_server_start` writes, into a fresh temporary folder: the files of
# scripts/make_test_certs.py (ca.pem, client.pem/.key, untrusted-client.pem/.key, other-ca.pem,
# server.pem/.key), tokens.txt with two tenants, `token` (tenant "acme", every service) and
# `kiosk.token` (tenant "kiosk", SynthesisService only); then it starts
# `voxgate with-server --tls-cert --tls-key --tls-client-ca --auth-tokens-file` in the
# background (an EXIT trap stops it, and removes the folder). Run as a command,
# `tls-test-server.sh run -- CMD ...` waits until that server is serving and runs CMD with
# VOXGATE_TEST_TLS_ADDR (host:port) and VOXGATE_TEST_TLS_DIR (the folder) in its environment (the
# TLS tests read only those two); the server stops as soon as CMD ends, at the same time as the
# plaintext one.
#
# With VOXGATE_TEST_TLS_ADDR and VOXGATE_TEST_TLS_DIR already set (a server of your own with the
# same files), nothing is started. The Python that runs make_test_certs.py: $VOXGATE_PYTHON, else
# <repo>/.venv/bin/python.

# tls_server_start REPO VOXGATE: see above.
tls_server_start() {
  local repo=$1 voxgate=$2
  if [ -n "${VOXGATE_TEST_TLS_ADDR:-}" ]; then
    if [ -z "${VOXGATE_TEST_TLS_DIR:-}" ]; then
      echo "VOXGATE_TEST_TLS_ADDR is set: set VOXGATE_TEST_TLS_DIR (its certificates and tokens) too" >&2
      return 1
    fi
    return 0
  fi
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-tls-test.XXXXXX")
  TLS_SERVER_DIR=$dir
  trap tls_server_stop EXIT
  "${VOXGATE_PYTHON:-$repo/.venv/bin/python}" "$repo/scripts/make_test_certs.py" "$dir" >/dev/null
  local tenant line
  for tenant in acme kiosk; do
    if [ "$tenant" = kiosk ]; then
      "$voxgate" auth token kiosk --services SynthesisService >>"$dir/tokens.txt" 2>"$dir/made"
    else
      "$voxgate" auth token acme >>"$dir/tokens.txt" 2>"$dir/made"
    fi
    line=$(tail -n 1 "$dir/made")
    echo "${line##* }" >"$dir/$([ "$tenant" = kiosk ] && echo kiosk.token || echo token)"
  done
  rm -f "$dir/made"
  date +%s >"$dir/started"
  # `with-server` runs the command below once the server is serving: it publishes the address,
  # then waits until tls_server_stop asks it to end (or this shell is gone).
  env -u VOXGATE_ADDR "$voxgate" with-server \
    --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" --tls-client-ca "$dir/ca.pem" \
    --auth-tokens-file "$dir/tokens.txt" -- \
    bash -c 'echo "$VOXGATE_ADDR" >"$1/addr.tmp" && mv "$1/addr.tmp" "$1/addr"
             date +%s >"$1/ready"
             while [ ! -e "$1/stop" ] && kill -0 "$2" 2>/dev/null; do
               # The tests have ended: stop now, while the plaintext server stops too.
               if [ -s "$1/tests.pid" ] && ! kill -0 "$(cat "$1/tests.pid")" 2>/dev/null; then break; fi
               sleep 0.3
             done' \
    _ "$dir" "$$" </dev/null &
  TLS_SERVER_PID=$!
  echo "$TLS_SERVER_PID" >"$dir/pid"
  export VOXGATE_TEST_TLS_DIR=$dir
}

# Stops the server of tls_server_start (the EXIT trap) and removes its folder.
tls_server_stop() {
  local dir=${TLS_SERVER_DIR:-}
  [ -n "$dir" ] || return 0
  TLS_SERVER_DIR=
  if [ -n "${TLS_SERVER_PID:-}" ]; then
    local t0=$SECONDS
    touch "$dir/stop"
    # Still starting: SIGTERM makes with-server stop it at once instead of after its start.
    [ -e "$dir/addr" ] || kill -TERM "$TLS_SERVER_PID" 2>/dev/null || true
    wait "$TLS_SERVER_PID" 2>/dev/null || true
    echo "tls-test-server: stopped in $((SECONDS - t0)) s" >&2
  fi
  rm -rf "$dir"
}

# `tls-test-server.sh run -- CMD ...`: waits for the server, then runs CMD.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "${1:-}" != run ]; then
    echo "usage: tls-test-server.sh run -- COMMAND ... (and source it from test.sh)" >&2
    exit 2
  fi
  shift
  [ "${1:-}" = -- ] && shift
  if [ -z "${VOXGATE_TEST_TLS_ADDR:-}" ]; then
    dir=${VOXGATE_TEST_TLS_DIR:?tls-test-server.sh run: VOXGATE_TEST_TLS_DIR is not set (tls_server_start sets it)}
    t0=$(date +%s)
    while [ ! -s "$dir/addr" ]; do
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "tls-test-server: the TLS server did not start (its log is above)" >&2
        exit 125
      fi
      sleep 0.2
    done
    VOXGATE_TEST_TLS_ADDR=$(cat "$dir/addr")
    export VOXGATE_TEST_TLS_ADDR
    echo "tls-test-server: serving at $VOXGATE_TEST_TLS_ADDR, ready $(($(cat "$dir/ready") - $(cat "$dir/started"))) s" \
      "after its start; the tests waited $(($(date +%s) - t0)) s for it" >&2
    echo "$$" >"$dir/tests.pid" # exec keeps the pid: the server stops when the tests end
  fi
  exec "$@"
fi
