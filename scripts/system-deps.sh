#!/usr/bin/env bash
# Installs the Debian packages the tests and model build use, when missing (needs root):
# espeak-ng, flite and sox make test speech; cmake and g++ build llama-cpp-python (chat_llm);
# chromium and its chromedriver run the demo page's tests (tests/browser).
set -euo pipefail
need=()
for pair in espeak-ng:espeak-ng flite:flite sox:sox cmake:cmake g++:g++ \
  chromium:chromium chromedriver:chromium-driver; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# libb64-0d: perf_analyzer (bench/perf) links libb64.so.0d.
ldconfig -p 2>/dev/null | grep -q 'libb64\.so\.0d' || need+=(libb64-0d)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${need[*]} - install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
