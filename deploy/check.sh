#!/usr/bin/env bash
# `make deploy-check`: the images and Kubernetes manifests, checked without Docker or a cluster.
#   1. hadolint on Dockerfile and Dockerfile.triton (deploy/hadolint.yaml);
#   2. kustomize (built once, cached: deploy/tools.sh) for tests/deploy's renders;
#   3. the images' Python packages resolve from PyPI: the façade wheel's dependencies for
#      Python 3.11, the Triton image's lists (deploy/triton/*.txt) for its Python 3.10;
#   4. tests/deploy: COPY sources, the façade entrypoint and healthcheck from a wheel in a fresh
#      venv, compose.yaml, the rendered cpu and gpu overlays validated against the Kubernetes
#      API schemas (kubernetes-validate) and the ServiceMonitor CRD (deploy/tools.sh schemas).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
py="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
step() { printf -- '--- %s (%s)\n' "$1" "$(date +%T)"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}')"
"$VENV/bin/hadolint" --config deploy/hadolint.yaml Dockerfile Dockerfile.triton
echo "Dockerfile, Dockerfile.triton: no findings"

step "ruff on deploy/ (the façade image's health probe)"
"$VENV/bin/ruff" check deploy
"$VENV/bin/ruff" format --check deploy

step "kustomize"
VOXGATE_KUSTOMIZE=${VOXGATE_KUSTOMIZE:-$(deploy/tools.sh kustomize)}
export VOXGATE_KUSTOMIZE
VOXGATE_SCHEMAS=${VOXGATE_SCHEMAS:-$(deploy/tools.sh schemas)}
export VOXGATE_SCHEMAS
"$VOXGATE_KUSTOMIZE" version

step "façade image: the voxgate wheel's dependencies resolve for Python 3.11"
# Built from what Dockerfile's build stage copies, outside the work tree (no build/ left here).
mkdir -p "$work/src"
cp -r pyproject.toml README.md service "$work/src/"
"$py" -m pip wheel -q --no-deps --no-build-isolation -w "$work/wheel" "$work/src" >/dev/null
# (This venv's Python is the image's 3.11; docopt, a dependency of num2words, is an sdist.)
"$py" -m pip install -q --dry-run --ignore-installed --report "$work/facade.json" \
  "$work"/wheel/voxgate-*.whl
"$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["install"]), "packages")' "$work/facade.json"

step "Triton image: deploy/triton/*.txt resolve for Python 3.10 (NGC 24.10)"
for list in requirements requirements-hf; do
  "$py" -m pip install -q --dry-run --ignore-installed --only-binary=:all: \
    --python-version 3.10 --target "$work/$list" --report "$work/$list.json" \
    -r "deploy/triton/$list.txt"
  "$py" -c 'import json, sys; print(sys.argv[2], len(json.load(open(sys.argv[1]))["install"]), "packages")' \
    "$work/$list.json" "$list.txt"
done
"$py" -m pip install -q --dry-run --ignore-installed --only-binary=:all: --no-deps \
  --python-version 3.10 --target "$work/nodeps" -r deploy/triton/requirements-nodeps.txt
echo "requirements-nodeps.txt ok"

step "tests/deploy"
"$py" -m pytest -q -p no:cacheprovider tests/deploy
