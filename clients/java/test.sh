#!/usr/bin/env bash
# Builds the voxgate Java client and runs its tests (JUnit 5 via Maven Surefire) against a live
# voxgate: the server at $VOXGATE_ADDR (host:port) when set, else a fresh one that
# `voxgate with-server` starts for the duration of `mvn test` (<repo>/.venv/bin/voxgate, or
# $VOXGATE_BIN). TlsTest and ConnectionOptionsTest use a second voxgate with TLS, mutual TLS and
# tokens on, started at the same time in the background (../tls-test-server.sh). Needs JDK 17+
# and Maven 3.8+; dependencies come from Maven Central. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
# The servers started here run tests' calls side by side, not real-time load: lift the stream
# cap (4 per core by default, docs/security.md) so a parallel test is never refused.
export VOXGATE_MAX_STREAMS="${VOXGATE_MAX_STREAMS:-64}"
VOXGATE="${VOXGATE_BIN:-$REPO/.venv/bin/voxgate}"

if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing a JDK and Maven from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
  else
    echo "java client: JDK 17+ (javac) and Maven 3.8+ are required" >&2
    exit 1
  fi
fi

# The TLS server starts first (its Triton loads while the plaintext one does).
source ../tls-test-server.sh
tls_server_start "$REPO" "$VOXGATE"

with_server=()
if [ -z "${VOXGATE_ADDR:-}" ]; then
  with_server=("$VOXGATE" with-server --)
fi

rm -rf target/surefire-reports
status=0
# (Maven 3.8 prints stray ANSI resets even in batch mode; strip them.)
"${with_server[@]}" bash ../tls-test-server.sh run -- mvn -q -B -Dstyle.color=never test "$@" 2>&1 |
  sed -u 's/\x1b\[[0-9;]*m//g' || status=$?

# One summary line from Surefire's reports (mvn -q hides its own).
shopt -s nullglob
reports=(target/surefire-reports/TEST-*.xml)
if [ ${#reports[@]} -gt 0 ]; then
  awk '
    /<testsuite / {
      for (i = 1; i <= NF; i++) {
        if (match($i, /^(tests|errors|failures|skipped)="[0-9]+"/)) {
          split($i, kv, "\""); key = substr($i, 1, index($i, "=") - 1); n[key] += kv[2]
        }
      }
    }
    END {
      failed = n["errors"] + n["failures"]
      printf "java: %d passed, %d failed, %d skipped\n", n["tests"] - failed - n["skipped"], failed, n["skipped"]
    }' "${reports[@]}"
elif [ "$status" = 0 ]; then
  echo "java client: no test reports were written" >&2
  status=1
fi
exit "$status"
