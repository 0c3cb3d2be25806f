#!/usr/bin/env bash
# Installs a tool the deploy checks need, once, and prints its path. Cached under
# ${VOXGATE_CACHE:-$HOME/.cache/voxgate}/tools/<tool>-<version>/ (like scripts/llama-cpp-wheel.sh);
# delete that folder to reinstall.
#
#   deploy/tools.sh kustomize     # kustomize, built from the Go module proxy (~40 s the first time)
#   deploy/tools.sh schemas       # a folder with the Compose Specification's JSON schema and the
#                                 # prometheus-operator ServiceMonitor CRD, from their Go modules
#
# hadolint and kubernetes-validate are Python packages in voxgate's `dev` extra (.venv).
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1  # needs Go >= 1.24 (v5.8.2 needs 1.26, v5.8.3 1.27)
# Schemas for offline validation, read from the Go modules that carry them (checksums verified
# by the Go toolchain against sum.golang.org): compose-go embeds the Compose Specification's
# schema; prometheus-operator's repository holds its CRDs.
COMPOSE_GO=github.com/compose-spec/compose-go/v2@v2.16.2
PROMETHEUS_OPERATOR=github.com/prometheus-operator/prometheus-operator@v0.85.0

cache="${VOXGATE_CACHE:-$HOME/.cache/voxgate}/tools"
tool=${1:?usage: $0 kustomize|schemas}
case "$tool" in
  kustomize)
    bin="$cache/kustomize-$KUSTOMIZE_VERSION/kustomize"
    if [ ! -x "$bin" ]; then
      command -v go >/dev/null 2>&1 || {
        echo "deploy/tools.sh: kustomize needs Go to build (apt-get install golang-go), or set VOXGATE_KUSTOMIZE" >&2
        exit 1
      }
      mkdir -p "$cache"
      build=$(mktemp -d "$cache/.kustomize.XXXXXX")
      trap 'rm -rf "$build"' EXIT
      echo "building kustomize $KUSTOMIZE_VERSION with $(go version | cut -d' ' -f3) (once)..." >&2
      GOBIN="$build" GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
      mkdir -p "$(dirname "$bin")"
      mv "$build/kustomize" "$bin"  # same file system: a parallel run never sees half a binary
    fi
    echo "$bin"
    ;;
  schemas)
    dir="$cache/schemas-${COMPOSE_GO##*@}-${PROMETHEUS_OPERATOR##*@}"
    if [ ! -f "$dir/compose-spec.json" ] || [ ! -f "$dir/monitoring.coreos.com_servicemonitors.yaml" ]; then
      command -v go >/dev/null 2>&1 || { echo "deploy/tools.sh: schemas need Go (the module proxy)" >&2; exit 1; }
      mods=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-gomod.XXXXXX")
      trap 'chmod -R u+w "$mods"; rm -rf "$mods"' EXIT
      module_dir() {  # the unpacked module's folder
        GOMODCACHE="$mods" GOFLAGS=-mod=mod go mod download -json "$1" |
          sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
      }
      echo "fetching schemas from the Go module proxy (once)..." >&2
      compose=$(module_dir "$COMPOSE_GO")
      operator=$(module_dir "$PROMETHEUS_OPERATOR")
      mkdir -p "$dir"
      cp "$compose/schema/compose-spec.json" "$dir/"
      cp "$operator/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$dir/"
    fi
    echo "$dir"
    ;;
  *)
    echo "deploy/tools.sh: unknown tool $tool (known: kustomize, schemas)" >&2
    exit 2
    ;;
esac
